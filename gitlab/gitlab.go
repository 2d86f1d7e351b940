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

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/cli"
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

var _ cli.Door = (*Door)(nil)

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
func (d *Door) Publish(_ context.Context, p cli.Publication) error {
	getenv := p.Getenv
	if getenv == nil {
		getenv = d.getenv
	}
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
	if err := writeReport(dotenvPath, env.Bytes()); err != nil {
		return fmt.Errorf("cannot write the dotenv report: %v", err)
	}
	if err := writeReport(junitPath, junit.Bytes()); err != nil {
		return fmt.Errorf("cannot write the JUnit report: %v", err)
	}
	var keys []string
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	t := p.Report.Totals
	fmt.Fprintf(d.w, "wrote %s (artifacts: reports: dotenv): %s\n", dotenvPath, strings.Join(keys, " "))
	fmt.Fprintf(d.w, "wrote %s (artifacts: reports: junit): %d test cases, %d failed (FALLBACK), %d skipped (UNCHANGED), %d errors\n", junitPath, t.Images, t.Fallbacks, t.Unchanged, t.Errors)
	for _, im := range p.Report.Images {
		if im.Outcome == report.Fallback {
			fmt.Fprintf(d.w, "FALLBACK %s: %s\n", im.Ref, im.Reason)
		}
	}
	return nil
}

// writeReport replaces a report file, creating its directory, so that no step ever reads half of one.
func writeReport(path string, data []byte) error { return atomicfile.WriteAll(path, data, 0o644) }
