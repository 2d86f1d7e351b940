package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/freshness"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func staleResults(t *testing.T, out string) map[string]freshness.Result {
	t.Helper()
	var rs []freshness.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("stale --json: %v\n%s", err, out)
	}
	m := map[string]freshness.Result{}
	for _, r := range rs {
		m[r.Ref] = r
	}
	return m
}

// Reference: "Tags are re-checked upstream at most about once every 24 hours: a moved tag can be served
// stale for a day"; Docker Hub does not count HEAD requests as pulls; ECR has no refresh API, and
// BatchDeleteImage of the last tag deletes the image, so the next pull re-imports it.
func TestE2EStaleAndRefresh(t *testing.T) {
	var offset atomic.Int64
	w := newWorld(t, sandbox.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM node:20\nFROM alpine:3.20\n")
	lockPath := filepath.Join(w.dir, "ecr-ptc.lock.json")
	w.files = append(w.files, lockPath)
	if r := w.run("lock", src, "--all-stages", "-o", lockPath); r.code != 0 {
		t.Fatalf("lock: %+v", r)
	}
	data, _ := os.ReadFile(lockPath)
	lf, _ := lock.Parse(lockPath, data)
	locked, _ := lf.Lookup("docker.io/library/node:20")

	before := w.stats()
	r := w.run("stale", src, "--all-stages", "--lock", lockPath, "--json", "--fail-on-stale")
	if r.code != 0 {
		t.Fatalf("stale right after lock: %+v", r)
	}
	got := staleResults(t, r.stdout)
	if n := got["docker.io/library/node:20"]; n.Verdict != freshness.Fresh || n.CachedDigest != locked || n.UpstreamDigest != locked || n.CachedAt == nil {
		t.Fatalf("node after lock: %+v", n)
	}
	after := w.stats()
	if after.UpstreamManifestGets["docker-hub"] != before.UpstreamManifestGets["docker-hub"] || after.UpstreamHeads["docker-hub"] < before.UpstreamHeads["docker-hub"]+2 {
		t.Fatalf("stale must HEAD, not GET: gets %v→%v heads %v→%v", before.UpstreamManifestGets, after.UpstreamManifestGets, before.UpstreamHeads, after.UpstreamHeads)
	}
	if after.UpstreamFetches != before.UpstreamFetches || after.CacheMisses != before.CacheMisses {
		t.Fatalf("stale imported something: %+v → %+v", before, after)
	}

	// The tag moves upstream: the cache still serves the old digest, the lock pins it.
	r = w.run("sandbox", "move-tag", "docker-hub", "library/node:20")
	moved := strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, " ")+1:])
	if r.code != 0 || !strings.HasPrefix(moved, "sha256:") || moved == locked {
		t.Fatalf("sandbox move-tag: %+v", r)
	}
	r = w.run("stale", src, "--all-stages", "--lock", lockPath, "--fail-on-stale")
	if r.code != 1 || !strings.Contains(r.stdout, "locked-behind") || !strings.Contains(r.stdout, "VERDICT") || !strings.Contains(r.stderr, "1 image(s) stale or locked behind") {
		t.Fatalf("stale --lock after the move: %+v", r)
	}
	r = w.run("stale", src, "--all-stages", "--json")
	got = staleResults(t, r.stdout)
	if n := got["docker.io/library/node:20"]; r.code != 0 || n.Verdict != freshness.Stale || n.UpstreamDigest != moved || n.CachedDigest != locked {
		t.Fatalf("stale without the lock: %+v %+v", r, n)
	}
	if a := got["docker.io/library/alpine:3.20"]; a.Verdict != freshness.Fresh {
		t.Fatalf("alpine: %+v", a)
	}
	// The lock alone (no PATH) checks what it pins.
	if r := w.run("stale", "--lock", lockPath, "--json"); r.code != 0 || len(staleResults(t, r.stdout)) != 2 {
		t.Fatalf("stale --lock alone: %+v", r)
	}

	// refresh: a dry run by default, refused when the lock pins the cached digest, then done.
	r = w.run("refresh", "node:20")
	if r.code != 0 || !strings.Contains(r.stdout, "would-refresh") || !strings.Contains(r.stdout, locked) || !strings.Contains(r.stderr, "dry run") {
		t.Fatalf("refresh dry run: %+v", r)
	}
	r = w.run("refresh", "node:20", "--yes", "--lock", lockPath)
	if r.code != 1 || !strings.Contains(r.stdout, "refused") || !strings.Contains(r.stderr, "nothing was deleted") {
		t.Fatalf("refresh of a locked digest: %+v", r)
	}
	if r := w.run("stale", src, "--all-stages", "--json"); staleResults(t, r.stdout)["docker.io/library/node:20"].CachedDigest != locked {
		t.Fatal("a dry run or a refusal changed the cache")
	}
	r = w.run("refresh", w.sb.RegistryHost+"/docker-hub/library/node:20", "--yes", "--json", "--lock", lockPath, "--allow-locked")
	var plans []struct{ Ref, OldDigest, NewDigest, Action string }
	if err := json.Unmarshal([]byte(r.stdout), &plans); err != nil || r.code != 0 || len(plans) != 1 || plans[0].OldDigest != locked || plans[0].NewDigest != moved || plans[0].Action != "refreshed" {
		t.Fatalf("refresh --yes: %+v %+v", r, plans)
	}
	r = w.run("stale", src, "--all-stages", "--json", "--fail-on-stale")
	if n := staleResults(t, r.stdout)["docker.io/library/node:20"]; r.code != 0 || n.Verdict != freshness.Fresh || n.CachedDigest != moved {
		t.Fatalf("stale after refresh: %+v %+v", r, n)
	}
	w.done()
}

// Bad input gets one sentence and a nonzero exit, and nothing is changed.
func TestE2EFreshnessBadInput(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stale", "--upstream-endpoint", "docker.io"}, 2, "expected HOST=ADDR"},
		{[]string{"stale", "--lock", filepath.Join(w.dir, "missing.json")}, 1, "cannot read the lock file"},
		{[]string{"stale", filepath.Join(w.dir, "nowhere")}, 1, "cannot search"},
		{[]string{"refresh"}, 2, "requires at least 1 arg"},
		{[]string{"refresh", "node@sha256:" + strings.Repeat("a", 64)}, 1, "pinned by digest"},
		{[]string{"refresh", "localhost:5000/app:1"}, 1, "the cache does not serve it"},
		{[]string{"refresh", "Not A Ref"}, 1, "the cache does not serve it"},
		{[]string{"sandbox", "move-tag", "docker-hub", "library/node"}, 2, "is not REPOSITORY:TAG"},
		{[]string{"sandbox", "move-tag", "nope", "library/node:20"}, 1, "no upstream stand-in"},
		{[]string{"sandbox", "move-tag", "docker-hub", "library/node:404"}, 1, "has no library/node:404 to move"},
	} {
		r := w.run(c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || len(lines) > 2 {
			t.Errorf("%v: %+v", c.args, r)
		}
	}
}

// Unknown verdicts: an image the cache has not imported yet (stale must not import it: DescribeImages
// only), and an upstream that cannot answer (Docker Hub answers a missing repository 401).
func TestE2EStaleUnknown(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM busybox:1.36\nFROM example/missing:1\n")
	r := w.run("stale", src, "--all-stages", "--json", "--fail-on-stale")
	got := staleResults(t, r.stdout)
	if b := got["docker.io/library/busybox:1.36"]; r.code != 0 || b.Verdict != freshness.Unknown || !strings.Contains(b.Reason, "not in the cache yet") || b.UpstreamDigest == "" {
		t.Fatalf("busybox: %+v %+v", r, b)
	}
	if m := got["docker.io/example/missing:1"]; m.Verdict != freshness.Unknown || !strings.Contains(m.Reason, "cannot read the upstream tag") {
		t.Fatalf("missing: %+v", m)
	}
	if st := w.stats(); st.RepositoriesCreated != 0 || st.UpstreamFetches != 0 {
		t.Fatalf("stale imported something: %+v", st)
	}
	w.done()
}
