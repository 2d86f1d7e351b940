// Package gitlab is ecr-ptc's GitLab CI front door: it writes the dotenv report (artifacts: reports:
// dotenv) that hands the registry and build arguments to later jobs, a JUnit report (artifacts: reports:
// junit) with one test case per image, and collapsible log sections. The CI/CD component, in the
// repository's root templates/ where GitLab looks for components, runs `ecr-ptc setup --ci gitlab`, which
// hands the report to this Door.
package gitlab

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// Default file names, relative to the job's working directory, the project directory where GitLab starts
// every job and where artifacts must live.
const (
	DefaultDotenv = "ecr-ptc.env"
	DefaultJUnit  = "ecr-ptc-junit.xml"
)

// maxDotenv is GitLab's limit on a dotenv report (5 KiB); a larger one fails the job's artifact upload.
const maxDotenv = 5 << 10

// Door speaks GitLab CI.
type Door struct {
	getenv func(string) string
	w      io.Writer // the job log
	now    func() time.Time
}

var _ ciplatform.Platform = (*Door)(nil)

// New returns the GitLab Door; getenv is the process environment and w the job log.
func New(getenv func(string) string, w io.Writer) *Door {
	return &Door{getenv: getenv, w: w, now: time.Now}
}

// Name is what --ci takes.
func (d *Door) Name() string { return "gitlab" }

// Detect reports whether this runs in a GitLab CI job.
func (d *Door) Detect(getenv func(string) string) bool { return getenv("GITLAB_CI") == "true" }

// Mask does nothing: GitLab masks only CI/CD variables declared as masked, and has no command to mask a
// value at run time. ecr-ptc never prints a secret, and the tests check that it does not.
func (d *Door) Mask(string) {}

// IDToken is the job's id_tokens variable req.Variable: one token per job, read when set, or on GitLab
// without a token file, where an empty variable is then explained.
func (d *Door) IDToken(getenv ciplatform.Getenv, req ciplatform.TokenRequest) *ciplatform.IDToken {
	if getenv(req.Variable) == "" && (getenv("GITLAB_CI") != "true" || req.HaveTokenFile) {
		return nil
	}
	return &ciplatform.IDToken{Fetch: awscreds.StaticToken(req.Variable, getenv(req.Variable)), Source: "GitLab id_token $" + req.Variable, Kind: "gitlab-oidc"}
}

// SessionName names the session after the job.
func (d *Door) SessionName(getenv ciplatform.Getenv) string {
	if getenv("CI_JOB_ID") == "" {
		return ""
	}
	return awscreds.SessionName("ecr-ptc-gl-" + getenv("CI_JOB_ID"))
}

// TempDir is none: a GitLab job's directories outlive it on shell runners.
func (d *Door) TempDir(ciplatform.Getenv) string { return "" }

// SectionStart writes the escape line that opens a collapsible log section; name is [a-z0-9_.-].
func SectionStart(w io.Writer, now time.Time, name, header string, collapsed bool) {
	opt := ""
	if collapsed {
		opt = "[collapsed=true]"
	}
	fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s%s\r\x1b[0K%s\n", now.Unix(), name, opt, header)
}

// SectionEnd closes the section SectionStart opened.
func SectionEnd(w io.Writer, now time.Time, name string) {
	fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", now.Unix(), name)
}

// Publish writes the dotenv report ($ECR_PTC_DOTENV, default ecr-ptc.env) with the exports and
// ECR_PTC_REPORT, and the JUnit report ($ECR_PTC_JUNIT, default ecr-ptc-junit.xml), both in
// the working directory unless given as absolute paths, inside a collapsible log section. Both are
// rendered and checked before either is written.
func (d *Door) Publish(_ context.Context, p ciplatform.Publication) error {
	getenv := ciplatform.OrGetenv(p.Getenv, d.getenv)
	// The working directory, not $CI_PROJECT_DIR: the two are the same on GitLab, and runners that
	// emulate it locally (gitlab-ci-local's shell executor) only set the variable.
	dotenvPath := filepath.Clean(cmp.Or(getenv("ECR_PTC_DOTENV"), DefaultDotenv))
	junitPath := filepath.Clean(cmp.Or(getenv("ECR_PTC_JUNIT"), DefaultJUnit))

	kvs := append([]string(nil), p.Exports...)
	if p.ReportJSON != "" {
		// Later jobs see the report where `artifacts: paths` put it: relative to the project.
		rel := p.ReportJSON
		if abs, err := filepath.Abs(p.ReportJSON); err == nil {
			if wd, err := os.Getwd(); err == nil {
				if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
					rel = r
				}
			}
		}
		kvs = append(kvs, "ECR_PTC_REPORT="+rel)
	}
	var env, junit bytes.Buffer
	if err := report.WriteDotenv(&env, kvs); err != nil {
		return err
	}
	if env.Len() > maxDotenv {
		return fmt.Errorf("the dotenv report would be %d bytes; GitLab accepts at most %d", env.Len(), maxDotenv)
	}
	if err := report.WriteJUnit(&junit, p.Report, report.JUnitOptions{}); err != nil {
		return err
	}
	SectionStart(d.w, d.now(), "ecr_ptc_reports", "ecr-ptc: reports for GitLab", true)
	defer SectionEnd(d.w, d.now(), "ecr_ptc_reports")
	if err := ciplatform.WriteFiles(ciplatform.File{Path: dotenvPath, Data: env.Bytes(), What: "the dotenv report"}, ciplatform.File{Path: junitPath, Data: junit.Bytes(), What: "the JUnit report"}); err != nil {
		return err
	}
	keys := ciplatform.Keys(kvs)
	t := p.Report.Totals
	fmt.Fprintf(d.w, "wrote %s (artifacts: reports: dotenv): %s\n", dotenvPath, strings.Join(keys, " "))
	fmt.Fprintf(d.w, "wrote %s (artifacts: reports: junit): %d test cases, %d failed (FALLBACK), %d skipped (UNCHANGED), %d errors\n", junitPath, t.Images, t.Fallbacks, t.Unchanged, t.Errors)
	for _, im := range ciplatform.Fallbacks(p.Report) {
		fmt.Fprintf(d.w, "FALLBACK %s: %s\n", im.Ref, im.Reason)
	}
	return nil
}
