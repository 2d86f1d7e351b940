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

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
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
// kept in the tool cache and verified again on reuse; a ref that pins no release, `version: source` and
// `uses: ./` build from source; a mismatch (downloaded or cached), an unpinned explicit version and an
// unreachable server fail the step quickly.
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

	type result struct {
		bin, out string
		err      error
	}
	run := func(t *testing.T, version, checksums, url string, extra ...string) result {
		t.Helper()
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "action", "actions"), 0o755)
		os.WriteFile(filepath.Join(dir, "action", "actions", "checksums.txt"), []byte(checksums), 0o644)
		outputs := filepath.Join(dir, "outputs")
		cmd := exec.Command("bash", "-c", download.Run)
		cmd.Env = append(os.Environ(), "ECR_PTC_VERSION="+version, "ECR_PTC_RELEASES="+url, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
			"GITHUB_ACTION_PATH="+filepath.Join(dir, "action"), "GITHUB_WORKSPACE="+filepath.Join(dir, "workspace"),
			"GITHUB_OUTPUT="+outputs, "RUNNER_TEMP="+dir, "RUNNER_TOOL_CACHE="+toolCache)
		for _, e := range extra {
			cmd.Env = append(cmd.Env, strings.ReplaceAll(e, "@dir", dir))
		}
		o, err := cmd.CombinedOutput()
		data, _ := os.ReadFile(outputs)
		return result{strings.TrimPrefix(strings.TrimSpace(string(data)), "bin="), string(o), err}
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(asset))
	pinned := "# comment\n" + strings.Repeat("1", 64) + "  ecr-ptc_9.9.8_linux_amd64.tar.gz\n" + sum + "  ecr-ptc_9.9.9_linux_amd64.tar.gz\n"

	toolCache = t.TempDir()
	t.Run("verified", func(t *testing.T) {
		// No version: the newest release the checksums pin.
		r := run(t, "", pinned, srv.URL)
		if r.err != nil || r.bin == "" {
			t.Fatalf("%v, no bin output:\n%s", r.err, r.out)
		}
		if o, err := exec.Command(r.bin).Output(); err != nil || string(o) != "released ecr-ptc\n" {
			t.Fatalf("the installed binary: %v %q", err, o)
		}
		before := hits.Load()
		r2 := run(t, "v9.9.9", pinned, srv.URL)
		if r2.err != nil || r2.bin == "" || hits.Load() != before || !strings.Contains(r2.out, "from the tool cache (checksum verified)") {
			t.Errorf("the second run did not use the verified tool cache: %v\n%s", r2.err, r2.out)
		}
		// A tampered tool cache fails the step, once per check: on every reuse.
		cached := filepath.Join(toolCache, "ecr-ptc", "9.9.9", "linux-amd64", "ecr-ptc_9.9.9_linux_amd64.tar.gz")
		if err := os.WriteFile(cached, append(releaseAsset(t), 0), 0o644); err != nil {
			t.Fatal(err)
		}
		r3 := run(t, "v9.9.9", pinned, srv.URL)
		if r3.err == nil || r3.bin != "" || !strings.Contains(r3.out, "::error title=ecr-ptc::the tool cache's") {
			t.Errorf("a tampered tool cache was used: %v\n%s", r3.err, r3.out)
		}
	})
	for name, c := range map[string]struct {
		version, checksums, url, say string
		extra                        []string
		fails                        bool
	}{
		"not released":  {"", "# none yet\n", srv.URL, "pins no ecr-ptc release yet; building from source", nil, false},
		"source":        {"source", pinned, srv.URL, "building ecr-ptc from the action's source", nil, false},
		"uses ./":       {"", pinned, srv.URL, "workspace's own checkout", []string{"GITHUB_WORKSPACE=@dir"}, false},
		"not pinned":    {"v1.2.3", pinned, srv.URL, "ecr-ptc 1.2.3 is not pinned in actions/checksums.txt", nil, true},
		"mismatch":      {"v9.9.9", strings.Repeat("0", 64) + "  ecr-ptc_9.9.9_linux_amd64.tar.gz\n", srv.URL, "does not match its committed checksum", nil, true},
		"unreachable":   {"v9.9.9", pinned, dead, "cannot download", nil, true},
		"two checksums": {"v9.9.9", pinned + pinned, srv.URL, "no single checksum", nil, true},
	} {
		t.Run(name, func(t *testing.T) {
			toolCache = t.TempDir()
			start := time.Now()
			r := run(t, c.version, c.checksums, c.url, c.extra...)
			if r.bin != "" || (r.err != nil) != c.fails || !strings.Contains(r.out, c.say) {
				t.Errorf("bin %q, err %v, output:\n%s", r.bin, r.err, r.out)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s; a failed download must be quick", d)
			}
		})
	}
}

var toolCache string

// Issue 11: a path found by a dockerfiles glob (a directory named --registry=evil.example.com) must never
// reach ecr-ptc where it could be read as a flag: directories go after --, files as --file=PATH.
func TestActionPathsCannotBeFlags(t *testing.T) {
	root := citest.RepoRoot(t)
	for _, f := range []string{"action.yml", "templates/ecr-ptc.yml", "gitlab/ecr-ptc.gitlab-ci.yml", "actions/report/action.yml"} {
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
	tmpl, _ := os.ReadFile(filepath.Join(root, "templates/ecr-ptc.yml"))
	if strings.Contains(string(tmpl), `"$[[ inputs.role-arn ]]"`) || strings.Contains(string(tmpl), `"$[[ inputs.aws-region ]]"`) {
		t.Error("the GitLab template pastes role-arn or aws-region into a script instead of passing them as variables")
	}
}
