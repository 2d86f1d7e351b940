// Package codebuild is ecr-ptc's AWS CodeBuild front door: it writes a JUnit report for a report group
// (reports: file-format: JUNITXML), an env file of non-secret values for `env: exported-variables`, and
// plain log lines. Credentials need nothing from it: `ecr-ptc setup` takes CodeBuild's container
// credentials (the service role) through the AWS SDK's default chain.
package codebuild

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// Default file names, relative to $CODEBUILD_SRC_DIR, where buildspec `reports:` and commands look.
const (
	DefaultJUnit   = "ecr-ptc-reports/junit.xml"
	DefaultEnvFile = "ecr-ptc.env"
)

// Door speaks CodeBuild.
type Door struct {
	getenv func(string) string
	w      io.Writer // the build log
}

var _ ciplatform.Platform = (*Door)(nil)

// New returns the CodeBuild Door; getenv is the process environment and w the build log.
func New(getenv func(string) string, w io.Writer) *Door {
	return &Door{getenv: getenv, w: w}
}

// Name is what --ci takes.
func (d *Door) Name() string { return "codebuild" }

// Detect reports whether this runs in a CodeBuild build.
func (d *Door) Detect(getenv func(string) string) bool { return getenv("CODEBUILD_BUILD_ID") != "" }

// Mask does nothing: CodeBuild hides only the values of Parameter Store and Secrets Manager variables and
// has no command to mask a value at run time. ecr-ptc never prints a secret, and the tests check it.
func (d *Door) Mask(string) {}

// IDToken is none: CodeBuild's credentials are its service role, through the default chain.
func (d *Door) IDToken(ciplatform.Getenv, ciplatform.TokenRequest) *ciplatform.IDToken { return nil }

// SessionName names the session after the build number.
func (d *Door) SessionName(getenv ciplatform.Getenv) string {
	if getenv("CODEBUILD_BUILD_NUMBER") == "" {
		return ""
	}
	return awscreds.SessionName("ecr-ptc-cb-" + getenv("CODEBUILD_BUILD_NUMBER"))
}

// TempDir is none that ecr-ptc relies on.
func (d *Door) TempDir(ciplatform.Getenv) string { return "" }

// Publish writes the JUnit report ($ECR_PTC_JUNIT, default ecr-ptc-reports/junit.xml) and the env file
// ($ECR_PTC_ENV_FILE, default ecr-ptc.env; shell syntax, to source before exported-variables are read),
// both under $CODEBUILD_SRC_DIR unless absolute, and says in the log what each is for.
func (d *Door) Publish(_ context.Context, p ciplatform.Publication) error {
	getenv := ciplatform.OrGetenv(p.Getenv, d.getenv)
	dir := cmp.Or(getenv("CODEBUILD_SRC_DIR"), ".")
	junitPath := inDir(dir, cmp.Or(getenv("ECR_PTC_JUNIT"), DefaultJUnit))
	envPath := inDir(dir, cmp.Or(getenv("ECR_PTC_ENV_FILE"), DefaultEnvFile))
	kvs := append([]string(nil), p.Exports...)
	if p.ReportJSON != "" {
		if abs, err := filepath.Abs(p.ReportJSON); err == nil {
			kvs = append(kvs, "ECR_PTC_REPORT="+abs)
		}
	}
	var junit, env bytes.Buffer
	if err := report.WriteJUnit(&junit, p.Report, report.JUnitOptions{Suite: "ecr-ptc pull-through cache " + getenv("CODEBUILD_BUILD_ID")}); err != nil {
		return err
	}
	if err := report.WriteShellEnv(&env, kvs); err != nil {
		return err
	}
	if err := ciplatform.WriteFiles(ciplatform.File{Path: junitPath, Data: junit.Bytes(), What: "the JUnit report"}, ciplatform.File{Path: envPath, Data: env.Bytes(), What: "the env file"}); err != nil {
		return err
	}
	t := p.Report.Totals
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	keys := ciplatform.Keys(kvs)
	fmt.Fprintf(d.w, "[ecr-ptc] %s\n", report.Summary(t))
	fmt.Fprintf(d.w, "[ecr-ptc] JUnit report for a report group (file-format: JUNITXML): %s — %d test cases, %d failed (FALLBACK), %d skipped (UNCHANGED), %d errors\n", rel(junitPath), t.Images, t.Fallbacks, t.Unchanged, t.Errors)
	fmt.Fprintf(d.w, "[ecr-ptc] variables for exported-variables in %s (source it: set -a; . ./%s; set +a): %s\n", rel(envPath), rel(envPath), strings.Join(keys, " "))
	for _, im := range ciplatform.Fallbacks(p.Report) {
		fmt.Fprintf(d.w, "[ecr-ptc] FALLBACK %s: %s\n", im.Ref, im.Reason)
	}
	return nil
}

// inDir resolves a report path against the source directory, unless it is absolute.
func inDir(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
