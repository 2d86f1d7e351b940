package actions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// fileVar is one NAME=VALUE for GITHUB_ENV or GITHUB_OUTPUT.
type fileVar struct {
	name, value string
	multiline   bool // a list, one item per line (build-args); every other value is one line
}

var (
	outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// writeFileCommands appends vars to the runner's env or output file in the heredoc form, with a fresh
// random delimiter per value as @actions/core does: go-githubactions (v1.4.0) uses one fixed delimiter,
// so a value holding it and a line break could add any variable (BASH_ENV: code execution in every later
// step). Names are checked, single-line values must have no line break, no value may hold its delimiter,
// and nothing is written unless every value passes.
func writeFileCommands(path string, env bool, vars []fileVar) error {
	var b strings.Builder
	for _, v := range vars {
		if err := checkFileVar(env, v); err != nil {
			return err
		}
		delim, err := delimiter()
		if err != nil {
			return err
		}
		if strings.Contains(v.name, delim) || strings.Contains(v.value, delim) {
			return fmt.Errorf("the value of %s holds its own delimiter", v.name)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", v.name, delim, v.value, delim)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cannot open the runner's file: %v", err.(*os.PathError).Err)
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkFileVar refuses what could end a heredoc early or be read as another command.
func checkFileVar(env bool, v fileVar) error {
	kind, pattern := "output", outputName
	if env {
		kind, pattern = "variable", envName
	}
	if !pattern.MatchString(v.name) {
		return fmt.Errorf("refusing to set the %s %q: not a valid name", kind, clipName(v.name))
	}
	if strings.ContainsAny(v.value, "\r\x00") || (!v.multiline && strings.Contains(v.value, "\n")) {
		return fmt.Errorf("refusing to set the %s %s: its value has a line break or NUL", kind, v.name)
	}
	return nil
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// delimiter is a fresh random heredoc delimiter, like @actions/core's ghadelimiter_<uuid>.
func delimiter() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "ghadelimiter_" + hex.EncodeToString(b[:]), nil
}
