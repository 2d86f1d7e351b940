package report

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/lock"
)

// Exports are the report's non-secret KEY=VALUE values for later build steps, in the names `ecr-ptc setup
// --env-file` uses: the registry, the rules spec (when known) and the totals.
func Exports(r *Report, rulesSpec string) []string {
	kv := []string{"ECR_PTC_REGISTRY=" + r.Registry}
	if rulesSpec != "" {
		kv = append(kv, "ECR_PTC_RULES="+rulesSpec)
	}
	// A lock enforced by setup travels on to the build (the frontend reads ECR_PTC_LOCK).
	var pins lock.File
	for _, im := range r.Images {
		if im.Locked && im.Digest != "" {
			pins.Images = append(pins.Images, lock.Entry{Ref: im.Ref, Digest: im.Digest})
		}
	}
	if len(pins.Images) > 0 {
		kv = append(kv, "ECR_PTC_LOCK="+pins.BuildArg())
	}
	t := r.Totals
	return append(kv,
		fmt.Sprintf("ECR_PTC_HITS=%d", t.Hits),
		fmt.Sprintf("ECR_PTC_MISSES=%d", t.Misses),
		fmt.Sprintf("ECR_PTC_WARMED=%d", t.Warmed),
		fmt.Sprintf("ECR_PTC_FALLBACKS=%d", t.Fallbacks),
		fmt.Sprintf("ECR_PTC_UNCHANGED=%d", t.Unchanged),
		fmt.Sprintf("ECR_PTC_ERRORS=%d", t.Errors),
	)
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkEnv validates KEY=VALUE pairs before anything is written, so a bad one leaves no half file.
func checkEnv(kvs []string) error {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return fmt.Errorf("%q is not KEY=VALUE with KEY made of letters, digits and _", kv)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("the value of %s has a line break, which env files cannot hold", k)
		}
	}
	return nil
}

// WriteDotenv writes KEY=VALUE lines as GitLab's `artifacts: reports: dotenv` reads them: values as they
// are (GitLab does not unquote), one per line.
func WriteDotenv(w io.Writer, kvs []string) error {
	if err := checkEnv(kvs); err != nil {
		return err
	}
	var b strings.Builder
	for _, kv := range kvs {
		b.WriteString(kv + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteShellEnv writes KEY=VALUE lines that a POSIX shell can source (`set -a; . ./ecr-ptc.env; set +a`),
// quoting values only when they need it; CodeBuild's exported-variables then pick them up.
func WriteShellEnv(w io.Writer, kvs []string) error {
	if err := checkEnv(kvs); err != nil {
		return err
	}
	var b strings.Builder
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString(k + "=" + ShellQuote(v) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ShellQuote quotes v for POSIX shells when it holds anything but plain characters.
func ShellQuote(v string) string {
	if strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@,+%") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
