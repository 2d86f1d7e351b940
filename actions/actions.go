// Package actions is ecr-ptc's GitHub Actions front door: it masks secrets with ::add-mask::, sets step
// outputs and job environment variables, annotates fallbacks and writes the step summary, all through
// sethvargo/go-githubactions. The composite action at the repository root (action.yml) runs `ecr-ptc setup
// --ci github`, which hands the report to this Door.
package actions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/sethvargo/go-githubactions"
)

// Door speaks GitHub Actions' workflow commands and environment files.
type Door struct {
	getenv func(string) string
	w      io.Writer // the step's stdout, where the runner reads workflow commands

	mu     sync.Mutex
	masked map[string]bool
}

var _ ciplatform.Platform = (*Door)(nil)

// New returns the GitHub Door; getenv is the process environment and w the step's stdout.
func New(getenv func(string) string, w io.Writer) *Door {
	return &Door{getenv: getenv, w: w, masked: map[string]bool{}}
}

// Name is what --ci takes.
func (d *Door) Name() string { return "github" }

// Detect reports whether this runs in a GitHub Actions job.
func (d *Door) Detect(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// IDToken fetches a new GitHub Actions OIDC token for every attempt, when the job can request one
// (ACTIONS_ID_TOKEN_REQUEST_URL), or on GitHub without a token file, where a missing permission is then
// explained.
func (d *Door) IDToken(getenv ciplatform.Getenv, req ciplatform.TokenRequest) *ciplatform.IDToken {
	if getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" && (getenv("GITHUB_ACTIONS") != "true" || req.HaveTokenFile) {
		return nil
	}
	a := d.action(getenv)
	return &ciplatform.IDToken{Source: "GitHub Actions OIDC", Kind: "github-oidc", Fetch: func(ctx context.Context) (string, error) {
		tok, err := a.GetIDToken(ctx, req.Audience)
		var missing *githubactions.EnvMissingError
		if errors.As(err, &missing) {
			return "", &awscreds.Error{Op: "get a GitHub OIDC token", Msg: missing.Name + " is not set", Hint: "add `permissions: id-token: write` to the job (or workflow) so GitHub issues OIDC tokens"}
		}
		var failed *githubactions.RequestFailedError
		if errors.As(err, &failed) {
			return "", httpStatusError{status: failed.StatusCode}
		}
		return tok, err
	}}
}

// httpStatusError lets awscreds retry a token endpoint's 429 and 5xx.
type httpStatusError struct{ status int }

func (e httpStatusError) Error() string {
	return fmt.Sprintf("the GitHub token endpoint answered HTTP %d", e.status)
}
func (e httpStatusError) HTTPStatus() int { return e.status }

// SessionName names the session after the run and its attempt.
func (d *Door) SessionName(getenv ciplatform.Getenv) string {
	if getenv("GITHUB_RUN_ID") == "" {
		return ""
	}
	return awscreds.SessionName("ecr-ptc-gh-" + getenv("GITHUB_RUN_ID") + "-" + cmp.Or(getenv("GITHUB_RUN_ATTEMPT"), "1"))
}

// TempDir is $RUNNER_TEMP, which the runner empties after each job.
func (d *Door) TempDir(getenv ciplatform.Getenv) string { return getenv("RUNNER_TEMP") }

func (d *Door) action(getenv func(string) string) *githubactions.Action {
	if getenv == nil {
		getenv = d.getenv
	}
	return githubactions.New(githubactions.WithWriter(d.w), githubactions.WithGetenv(getenv))
}

// Mask issues ::add-mask:: once per secret, line by line as the runner matches them. Values too short to
// be a secret (the registry user name "AWS") and 12-digit account IDs are never masked: masking them
// would blank out every registry host in the log and make GitHub drop outputs that contain them.
func (d *Door) Mask(secret string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// go-githubactions panics when stdout is gone; there is then no log left to protect.
	defer func() { _ = recover() }()
	a := d.action(nil)
	for _, line := range strings.Split(secret, "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 8 || isAccountID(line) || d.masked[line] {
			continue
		}
		d.masked[line] = true
		a.AddMask(line)
	}
}

func isAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

// totalsKeys are the exports that are counts, not build arguments.
var totalsKeys = map[string]bool{"ECR_PTC_HITS": true, "ECR_PTC_MISSES": true, "ECR_PTC_WARMED": true, "ECR_PTC_FALLBACKS": true, "ECR_PTC_UNCHANGED": true, "ECR_PTC_ERRORS": true}

// maxAnnotations bounds the ::warning:: and ::error:: lines; GitHub shows ten of each per step.
const maxAnnotations = 10

// Publish sets the step outputs (registry, rules, build-args, hits, misses, warmed, fallbacks, images,
// report; unchanged and errors too, which action.yml does not re-export), exports the values to later steps (GITHUB_ENV, with
// ECR_PTC_REPORT naming the JSON report), annotates fallbacks and errors, and appends the summary table
// to GITHUB_STEP_SUMMARY unless the input `summary` is "false".
func (d *Door) Publish(_ context.Context, p ciplatform.Publication) (err error) {
	getenv := ciplatform.OrGetenv(p.Getenv, d.getenv)
	a := d.action(getenv)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	r := p.Report
	reportPath := ""
	if p.ReportJSON != "" {
		if reportPath, err = filepath.Abs(p.ReportJSON); err != nil {
			return err
		}
	}
	env := append([]string(nil), p.Exports...)
	if reportPath != "" {
		env = append(env, "ECR_PTC_REPORT="+reportPath)
	}
	// Everything is checked before either file is written: a bad value leaves neither half-done.
	var outputs, envs []fileVar
	if getenv("GITHUB_OUTPUT") != "" {
		var buildArgs []string
		vals := map[string]string{}
		for _, kv := range p.Exports {
			k, v, _ := strings.Cut(kv, "=")
			if strings.ContainsAny(kv, "\n\r") {
				return fmt.Errorf("refusing to set the output build-args: the value of %s has a line break", clipName(k))
			}
			vals[k] = v
			if !totalsKeys[k] && v != "" {
				buildArgs = append(buildArgs, kv)
			}
		}
		t := r.Totals
		outputs = append(outputs,
			fileVar{name: "registry", value: r.Registry},
			fileVar{name: "rules", value: vals["ECR_PTC_RULES"]},
			fileVar{name: "build-args", value: strings.Join(buildArgs, "\n"), multiline: true})
		for _, o := range []struct {
			name string
			n    int
		}{{"images", t.Images}, {"hits", t.Hits}, {"misses", t.Misses}, {"warmed", t.Warmed}, {"fallbacks", t.Fallbacks}, {"unchanged", t.Unchanged}, {"errors", t.Errors}} {
			outputs = append(outputs, fileVar{name: o.name, value: fmt.Sprint(o.n)})
		}
		outputs = append(outputs, fileVar{name: "report", value: reportPath})
		for _, v := range outputs {
			if err := checkFileVar(false, v); err != nil {
				return err
			}
		}
	}
	if getenv("GITHUB_ENV") != "" {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			// Only ecr-ptc's own names: nothing read from a file may pick the variable (BASH_ENV, PATH…).
			if !strings.HasPrefix(k, "ECR_PTC_") {
				return fmt.Errorf("refusing to export %q: ecr-ptc exports only ECR_PTC_* variables", clipName(k))
			}
			fv := fileVar{name: k, value: v}
			if err := checkFileVar(true, fv); err != nil {
				return err
			}
			envs = append(envs, fv)
		}
	}
	if len(outputs) > 0 {
		if err := writeFileCommands(getenv("GITHUB_OUTPUT"), false, outputs); err != nil {
			return err
		}
	}
	if len(envs) > 0 {
		if err := writeFileCommands(getenv("GITHUB_ENV"), true, envs); err != nil {
			return err
		}
	}
	annotate(a, r)
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" && getenv("INPUT_SUMMARY") != "false" {
		if err := d.summary(a, path, r, reportPath); err != nil {
			return err
		}
	}
	return nil
}

// annotate turns fallbacks and errors into annotations, which GitHub shows on the run page.
func annotate(a *githubactions.Action, r *report.Report) {
	var warned, errored int
	for _, im := range r.Images {
		switch {
		case im.Outcome == report.Fallback && warned < maxAnnotations:
			warned++
			a.WithFieldsMap(map[string]string{"title": "ecr-ptc: FALLBACK"}).Warningf("%s is pulled from its public registry, not the cache: %s", annotationText(im.Ref), annotationText(im.Reason))
		case im.Outcome == report.Error && errored < maxAnnotations:
			errored++
			a.WithFieldsMap(map[string]string{"title": "ecr-ptc: ERROR"}).Errorf("%s could not be checked: %s", annotationText(im.Ref), annotationText(im.Reason))
		}
	}
}

// annotationText keeps a reference or reason (from a metadata file: untrusted) on one line and without
// "::", which runners that parse annotations loosely (act) would read as the start of the message.
func annotationText(s string) string {
	return strings.ReplaceAll(report.TextCell(s), "::", ": :")
}

// summary appends the markdown table, within what is left of the step's 1 MiB.
func (d *Door) summary(a *githubactions.Action, path string, r *report.Report, reportPath string) error {
	used := int64(0)
	if fi, err := os.Stat(path); err == nil {
		used = fi.Size()
	}
	budget := min(int64(report.DefaultMarkdownBytes), report.GitHubSummaryLimit-used-4096)
	if budget < 2048 {
		a.Warningf("the step summary is nearly %d KiB already; the ecr-ptc table is left out (the JSON report has it)", report.GitHubSummaryLimit>>10)
		return nil
	}
	var b strings.Builder
	details := ""
	if reportPath != "" {
		details = "The JSON report with every image is at " + reportPath + " on the runner (the report output of the action)."
	}
	if err := report.WriteMarkdown(&b, r, report.MarkdownOptions{MaxBytes: int(budget), Details: details}); err != nil {
		return err
	}
	a.AddStepSummary(b.String())
	return nil
}
