package actions_test

// The action with a real release: nektos/act runs a workflow that uses the action (-P
// ubuntu-latest=-self-hosted, no Docker) against a loopback server that serves the snapshot release in
// dist/ (`make release-snapshot`) as GitHub Releases does (/v<version>/<asset>), with actions/checksums.txt
// generated from that snapshot's checksums.txt. Go is not on the job's PATH, so a build from source would
// fail: the action downloads, verifies, caches, and never builds. A tampered archive fails the step.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// pathWithoutGo is the machine's PATH less every directory that holds a go command.
func pathWithoutGo() string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func TestActReleaseDownload(t *testing.T) {
	act := citest.Need(t, "act", "go install github.com/nektos/act@v0.2.89")
	citest.Need(t, "git", "apt-get install git")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the snapshot has linux/amd64 and linux/arm64 archives; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	snap := citest.SnapshotDist(t)
	root := citest.RepoRoot(t)
	asset := "ecr-ptc_" + snap.Version + "_linux_" + runtime.GOARCH + ".tar.gz"
	if snap.Checksums[asset] == "" {
		t.Fatalf("the snapshot's checksums.txt has no %s", asset)
	}

	// GitHub Releases on loopback: /v<version>/<asset> from dist/, optionally tampered with.
	var tamper atomic.Bool
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/v"+snap.Version+"/")
		if _, ok := snap.Checksums[name]; !ok || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join(snap.Dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		downloads.Add(1)
		if tamper.Load() {
			data[len(data)/2] ^= 0xff
		}
		w.Write(data)
	}))
	defer srv.Close()

	// The repository that uses the action: action.yml as committed, checksums.txt from the snapshot.
	ws := t.TempDir()
	action, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(snap.Checksums))
	for n := range snap.Checksums {
		names = append(names, n)
	}
	sort.Strings(names)
	sums := "# generated from the snapshot release\n"
	for _, n := range names {
		sums += snap.Checksums[n] + "  " + n + "\n"
	}
	app, _ := os.ReadFile(filepath.Join(root, "actions", "testdata", "selftest", "web", "Dockerfile"))
	workflow := `name: release-download
on: push
jobs:
  use:
    runs-on: ubuntu-latest
    steps:
      # act copies the local repository into its workspace for the checkout (no network).
      - uses: actions/checkout@v4
      - id: ptc
        uses: ./
        with:
          # uses: ./ builds from source unless a version is named: name the snapshot's.
          version: v` + snap.Version + `
          role-to-assume: arn:aws:iam::123456789012:role/ci
          aws-region: us-east-1
          dockerfiles: app
      - name: The released ecr-ptc is on PATH
        shell: bash
        run: |
          command -v ecr-ptc
          ecr-ptc --version
          if command -v go; then echo "go is on the job's PATH"; exit 1; fi
`
	for name, body := range map[string]string{"action.yml": string(action), "actions/checksums.txt": sums, "app/Dockerfile": string(app),
		".github/workflows/release-download.yml": workflow} {
		p := filepath.Join(ws, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "use"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	w := citest.Start(t)
	w.WithoutStaticKeys()
	w.Set("ACTIONS_ID_TOKEN_REQUEST_URL", w.SB.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.SB.GitHubRequestToken, "PATH", pathWithoutGo())
	// act's host executor keeps RUNNER_TOOL_CACHE at <action cache path>/tool_cache.
	runAct := func(actionCache string) (string, error) {
		return w.Run(t, ws, act, "push", "-W", ".github/workflows/release-download.yml", "-P", "ubuntu-latest=-self-hosted",
			"--action-cache-path", actionCache, "--env", "ECR_PTC_RELEASES="+srv.URL)
	}
	// act prints each script before it runs it: "| " marks what the steps printed.
	built := "| building ecr-ptc from"

	actionCache := filepath.Join(w.Dir, "act-cache")
	out, err := runAct(actionCache)
	w.NoSecrets(t, out, "the act log")
	if err != nil || !strings.Contains(out, "Job succeeded") {
		t.Fatalf("act: %v\n%s", err, tail(out, 80))
	}
	for _, want := range []string{"| ecr-ptc " + snap.Version + " downloaded and verified (sha256 " + snap.Checksums[asset] + ")",
		"| ecr-ptc " + snap.Version + " (commit ", "MISS→warmed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the act log lacks %q:\n%s", want, tail(out, 80))
		}
	}
	if strings.Contains(out, built) || downloads.Load() != 1 {
		t.Errorf("want one download and no build from source; %d downloads:\n%s", downloads.Load(), tail(out, 80))
	}
	if _, err := os.Stat(filepath.Join(actionCache, "tool_cache", "ecr-ptc", snap.Version, "linux-"+runtime.GOARCH, asset)); err != nil {
		t.Errorf("the archive is not in the tool cache: %v", err)
	}

	t.Run("tool cache reused and verified", func(t *testing.T) {
		out, err := runAct(actionCache)
		if err != nil || !strings.Contains(out, "Job succeeded") || !strings.Contains(out, "| ecr-ptc "+snap.Version+" from the tool cache (checksum verified)") || downloads.Load() != 1 {
			t.Errorf("%v, %d downloads:\n%s", err, downloads.Load(), tail(out, 60))
		}
	})

	t.Run("tampered archive fails the step", func(t *testing.T) {
		tamper.Store(true)
		defer tamper.Store(false)
		out, err := runAct(filepath.Join(w.Dir, "act-cache-tampered"))
		if err == nil || strings.Contains(out, "Job succeeded") || !strings.Contains(out, "::error title=ecr-ptc::"+asset+" does not match its committed checksum") {
			t.Errorf("a tampered archive did not fail the job: %v\n%s", err, tail(out, 60))
		}
		if strings.Contains(out, built) {
			t.Error("a tampered archive led to a build from source")
		}
	})
}
