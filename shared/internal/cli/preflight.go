package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// checkPathArgs refuses a path argument that starts with '-': a directory named
// "--registry=evil.example.com" in a repository must never become a flag, and a script that forgot
// "--" gets one sentence instead of a changed meaning. "-" alone (stdin/stdout) is allowed.
func checkPathArgs(flag string, paths ...string) error {
	for _, p := range paths {
		if p != "-" && strings.HasPrefix(p, "-") {
			what := "the path argument"
			if flag != "" {
				what = flag
			}
			return usagef("%s %q starts with '-'; write ./%s so it cannot be taken for a flag", what, clipArg(p), clipArg(p))
		}
	}
	return nil
}

// checkWritable proves, before anything is changed, that an output file can be written: its
// directory exists and takes a new file, and the path itself is not a directory. The probe file is
// removed at once.
func checkWritable(flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if err := checkPathArgs(flag, path); err != nil {
		return err
	}
	if err := checkOutputDir(flag, path); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("cannot write %s %s: it is a directory", flag, clipArg(path))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".ecr-ptc-probe-*")
	if err != nil {
		return usagef("cannot write %s %s: the directory %s does not take new files", flag, clipArg(path), filepath.Dir(path))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// clipArg shortens an argument for an error message.
func clipArg(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// maxMessage bounds an error message: a 120 KB reference or a binary Dockerfile line must not be
// echoed whole.
const maxMessage = 600

// printable keeps an error message one short printable line: control characters (line breaks,
// terminal escapes, NUL) are shown escaped and the message is cut at maxMessage bytes.
func printable(s string) string {
	if len(s) > maxMessage {
		n := maxMessage
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
	}
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unprintable(r rune) bool {
	return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError || r == '\u2028' || r == '\u2029'
}

// maxInputFile bounds the JSON files ecr-ptc reads (rules, locks, reports, build metadata): real ones are
// KiBs; a path to /dev/zero or a FIFO must end in one sentence, not exhausted memory or a hang.
const maxInputFile = 64 << 20
