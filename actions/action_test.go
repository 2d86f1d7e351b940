package actions_test

// Static proof for action.yml, actions/report/action.yml and the workflows: the upstream schemas,
// actionlint (with shellcheck on every run: script when it is installed), shellcheck on the composite's
// extracted scripts, and the download step run for real against a loopback release server.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/actions/citest"
	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

var actionFiles = []string{"action.yml", "actions/report/action.yml"}

// workflows are every GitHub workflow in the repository: the self-test and the documented examples.
func workflows(t *testing.T) []string {
	root := citest.RepoRoot(t)
	var out []string
	for _, pat := range []string{".github/workflows/*.yml", "docs/examples/github/*.yml"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		out = append(out, m...)
	}
	if len(out) < 3 {
		t.Fatalf("found only %d workflows", len(out))
	}
	return out
}

func TestActionAndWorkflowsMatchSchemas(t *testing.T) {
	dir := citest.SchemasDir(t)
	root := citest.RepoRoot(t)
	action := citest.Schema(t, filepath.Join(dir, "github-action.json"))
	for _, f := range actionFiles {
		docs := citest.YAMLDocs(t, filepath.Join(root, f))
		citest.Validate(t, action, docs[0], f)
	}
	// The validator does reject: an action without runs.
	docs := citest.YAMLDocs(t, filepath.Join(root, "action.yml"))
	delete(docs[0].(map[string]any), "runs")
	if action.Validate(docs[0]) == nil {
		t.Error("the schema accepted an action without runs")
	}
	workflow := citest.Schema(t, filepath.Join(dir, "github-workflow.json"))
	for _, f := range workflows(t) {
		docs := citest.YAMLDocs(t, f)
		citest.Validate(t, workflow, docs[0], f)
	}
}

// actionlint checks action.yml through the workflows that use it (`uses: ./`), as it only lints actions
// that a workflow references.
func TestActionlint(t *testing.T) {
	root := citest.RepoRoot(t)
	var out bytes.Buffer
	opts := &actionlint.LinterOptions{}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
	} else if citest.InCI() {
		t.Fatal("shellcheck is not installed, and CI must run it: apt-get install shellcheck")
	}
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The project root is where `uses: ./` finds action.yml.
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	lint := func(rel string, data []byte) []*actionlint.Error {
		t.Helper()
		errs, err := l.Lint(filepath.Join(root, rel), data, proj)
		if err != nil {
			t.Fatal(err)
		}
		return errs
	}
	// It does read action.yml: an input the action does not have is an error.
	bad := []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          no-such-input: x\n")
	if errs := lint(".github/workflows/bad.yml", bad); len(errs) == 0 {
		t.Error("actionlint accepted an input action.yml does not declare")
	}
	for _, f := range workflows(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, e := range lint(rel, data) {
			t.Errorf("%s", e.Error())
		}
	}
}

// step is the part of a composite step the tests read.
type step struct {
	ID  string            `yaml:"id"`
	Run string            `yaml:"run"`
	Env map[string]string `yaml:"env"`
}

func steps(t *testing.T, file string) []step {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(citest.RepoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs struct {
			Steps []step `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Runs.Steps
}

// Every run: script of the composites, extracted, through shellcheck. They hold no ${{ }} expressions:
// inputs reach them as environment variables (no script injection), so they are plain bash.
func TestShellcheckCompositeScripts(t *testing.T) {
	sc := citest.Need(t, "shellcheck", "apt-get install shellcheck")
	for _, f := range actionFiles {
		for i, s := range steps(t, f) {
			if s.Run == "" {
				continue
			}
			if strings.Contains(s.Run, "${{") {
				t.Errorf("%s step %d (%s): an expression in run:; pass it through env:", f, i, s.ID)
			}
			cmd := exec.Command(sc, "--shell=bash", "--severity=style", "-")
			cmd.Stdin = strings.NewReader("#!/usr/bin/env bash\n" + s.Run)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s step %d (%s):\n%s", f, i, s.ID, out)
			}
		}
	}
}

// releaseAsset is a tar.gz with an ecr-ptc that prints its name, like a release's.
func releaseAsset(t *testing.T) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte("#!/bin/sh\necho released ecr-ptc\n")
	tw.WriteHeader(&tar.Header{Name: "ecr-ptc", Mode: 0o755, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// The download step, extracted from action.yml and run with bash: a pinned checksum that matches is
// installed into the tool cache and reused; a missing checksum, a mismatch and an unreachable server all
// end quickly in "build from source" without failing the step.
func TestActionDownloadStep(t *testing.T) {
	citest.Need(t, "curl", "apt-get install curl")
	var download step
	for _, s := range steps(t, "action.yml") {
		if s.ID == "download" {
			download = s
		}
	}
	if download.Run == "" {
		t.Fatal("no download step in action.yml")
	}
	asset := releaseAsset(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/v9.9.9/ecr-ptc_9.9.9_linux_amd64.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(asset)
	}))
	defer srv.Close()
	// A port nothing listens on, for the unreachable case.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()

	failOK := false
	run := func(t *testing.T, checksums, url string) (bin string, out string) {
		t.Helper()
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "action", "actions"), 0o755)
		os.WriteFile(filepath.Join(dir, "action", "actions", "checksums.txt"), []byte(checksums), 0o644)
		outputs := filepath.Join(dir, "outputs")
		cmd := exec.Command("bash", "-c", download.Run)
		cmd.Env = append(os.Environ(), "ECR_PTC_VERSION=v9.9.9", "ECR_PTC_RELEASES="+url, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
			"GITHUB_ACTION_PATH="+filepath.Join(dir, "action"), "GITHUB_OUTPUT="+outputs, "RUNNER_TEMP="+dir, "RUNNER_TOOL_CACHE="+toolCache)
		o, err := cmd.CombinedOutput()
		if err != nil && !failOK {
			t.Fatalf("the download step failed: %v\n%s", err, o)
		}
		if err == nil && failOK {
			t.Fatalf("the download step succeeded:\n%s", o)
		}
		data, _ := os.ReadFile(outputs)
		return strings.TrimPrefix(strings.TrimSpace(string(data)), "bin="), string(o)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(asset))
	pinned := "# comment\n" + sum + "  ecr-ptc_9.9.9_linux_amd64.tar.gz\n"

	toolCache = t.TempDir()
	t.Run("verified", func(t *testing.T) {
		bin, out := run(t, pinned, srv.URL)
		if bin == "" {
			t.Fatalf("no bin output:\n%s", out)
		}
		if o, err := exec.Command(bin).Output(); err != nil || string(o) != "released ecr-ptc\n" {
			t.Fatalf("the installed binary: %v %q", err, o)
		}
		before := hits.Load()
		if bin2, _ := run(t, pinned, srv.URL); bin2 != bin || hits.Load() != before {
			t.Errorf("the second run downloaded again instead of using the tool cache")
		}
		// Issue 11: a tampered binary in the tool cache is replaced from the verified archive; a
		// tampered archive fails the step.
		os.WriteFile(bin, []byte("#!/bin/sh\necho tampered\n"), 0o755)
		if bin3, _ := run(t, pinned, srv.URL); bin3 != bin {
			t.Fatalf("bin %q", bin3)
		}
		if o, _ := exec.Command(bin).Output(); string(o) != "released ecr-ptc\n" {
			t.Errorf("the tool cache's tampered binary ran: %q", o)
		}
		archive := filepath.Join(filepath.Dir(bin), "ecr-ptc_9.9.9_linux_amd64.tar.gz")
		os.WriteFile(archive, []byte("tampered"), 0o644)
		failOK = true
		defer func() { failOK = false }()
		if _, out := run(t, pinned, srv.URL); !strings.Contains(out, "::error") || !strings.Contains(out, "does not match its committed checksum") {
			t.Errorf("a tampered archive in the tool cache: %s", out)
		}
	})
	toolCache = t.TempDir()
	for name, c := range map[string]struct{ checksums, url, say string }{
		"not released": {"# none yet\n", srv.URL, "building from source"},
		"unreachable":  {pinned, dead, "cannot download"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			bin, out := run(t, c.checksums, c.url)
			if bin != "" || !strings.Contains(out, c.say) {
				t.Errorf("bin %q, output:\n%s", bin, out)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s; a failed download must be quick", d)
			}
		})
	}
}

var toolCache string

// Issue 11: a downloaded release that does not match its committed checksum fails the step.
func TestActionDownloadMismatchFails(t *testing.T) {
	citest.Need(t, "curl", "apt-get install curl")
	var download step
	for _, s := range steps(t, "action.yml") {
		if s.ID == "download" {
			download = s
		}
	}
	asset := releaseAsset(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(asset) }))
	defer srv.Close()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "action", "actions"), 0o755)
	os.WriteFile(filepath.Join(dir, "action", "actions", "checksums.txt"), []byte(strings.Repeat("0", 64)+"  ecr-ptc_9.9.9_linux_amd64.tar.gz\n"), 0o644)
	outputs := filepath.Join(dir, "outputs")
	cmd := exec.Command("bash", "-c", download.Run)
	cmd.Env = append(os.Environ(), "ECR_PTC_VERSION=v9.9.9", "ECR_PTC_RELEASES="+srv.URL, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
		"GITHUB_ACTION_PATH="+filepath.Join(dir, "action"), "GITHUB_OUTPUT="+outputs, "RUNNER_TEMP="+dir, "RUNNER_TOOL_CACHE="+t.TempDir())
	o, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(o), "::error title=ecr-ptc::ecr-ptc_9.9.9_linux_amd64.tar.gz does not match its committed checksum") {
		t.Errorf("a mismatching download: %v\n%s", err, o)
	}
	if data, _ := os.ReadFile(outputs); strings.Contains(string(data), "bin=") {
		t.Errorf("a mismatching download was installed: %s", data)
	}
}

// Issue 11: a path found by a dockerfiles glob (a directory named --registry=evil.example.com) must never
// reach ecr-ptc where it could be read as a flag: directories go after --, files as --file=PATH.
func TestActionPathsCannotBeFlags(t *testing.T) {
	root := citest.RepoRoot(t)
	for _, f := range []string{"action.yml", "gitlab/templates/ecr-ptc.yml", "gitlab/ecr-ptc.gitlab-ci.yml", "actions/report/action.yml"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			l := strings.TrimSpace(line)
			for _, bad := range []string{`args+=(-f "$f")`, `set -- "$@" -f "$p"`, `rewrite -f "$f"`, `-o "$f"`, `--metadata-file "$f"`, `--list-files "$f"`, `--list-files "$p"`, `"${args[@]}" "${paths[@]}"`, `else set -- "$@" "$p"; fi`} {
				if strings.Contains(l, bad) {
					t.Errorf("%s:%d passes a path where it could be a flag: %s", f, i+1, l)
				}
			}
		}
	}
	data, _ := os.ReadFile(filepath.Join(root, "action.yml"))
	if !strings.Contains(string(data), `run "${args[@]}" -- "${paths[@]}"`) {
		t.Error("action.yml does not pass the directories after --")
	}
	tmpl, _ := os.ReadFile(filepath.Join(root, "gitlab/templates/ecr-ptc.yml"))
	if strings.Contains(string(tmpl), `"$[[ inputs.role-arn ]]"`) || strings.Contains(string(tmpl), `"$[[ inputs.aws-region ]]"`) {
		t.Error("the GitLab template pastes role-arn or aws-region into a script instead of passing them as variables")
	}
}
