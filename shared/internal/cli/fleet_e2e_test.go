package cli_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Two jobs on one runner whose ECR_PTC_TOKEN_CACHE is a runner-scoped directory, same identity: the
// first logs in, lists the rules and probes each repository once (12 images in 3 repositories: 1 + 1 + 3
// calls); the second reuses the token, the rules (rulescache.go) and the probe hits, and asks ECR nothing.
// With --probe-cache 0 the rules and the probes are asked again.
func TestE2ERunnerScopedCaches(t *testing.T) {
	w := newWorld(t, sandbox.Config{NoSeed: true})
	w.ruleDefaults("docker-hub")
	w.set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.dir, "runner-cache"))
	var df strings.Builder
	for i := range 12 {
		repo, tag := fmt.Sprintf("svc%d", i%3), fmt.Sprintf("v%d", i)
		fmt.Fprintf(&df, "FROM %s:%s\n", repo, tag)
		w.sb.Store.EnsureRepository("docker-hub/library/"+repo, "")
		w.sb.Store.PutImage("docker-hub/library/"+repo, tag, sandbox.Image{Digest: "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i+1), 32),
			MediaType: "application/vnd.oci.image.manifest.v1+json", Manifest: []byte(`{"schemaVersion":2}`), Size: 1000})
	}
	src := w.dockerfile(df.String())
	calls := func(args ...string) map[string]int {
		t.Helper()
		before := w.stats().ECRRequests
		r := w.run(append([]string{"setup", src, "--all-stages"}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "12 hit") {
			t.Fatalf("%+v", r)
		}
		after := w.stats().ECRRequests
		for k, v := range before {
			after[k] -= v
			if after[k] == 0 {
				delete(after, k)
			}
		}
		return after
	}
	if got := calls(); sum(got) != 5 || got["DescribeImages"] != 3 {
		t.Fatalf("first job: %v, want login, rules and 3 DescribeImages", got)
	}
	if got := calls(); sum(got) != 0 {
		t.Fatalf("second job: %v, want no call", got)
	}
	if got := calls("--probe-cache", "0"); got["DescribeImages"] != 3 || got["DescribePullThroughCacheRules"] != 1 || got["GetAuthorizationToken"] != 0 {
		t.Fatalf("--probe-cache 0: %v, want the rules, 3 DescribeImages and the cached token", got)
	}
	w.done()
}

// Jobs of one runner logging in together (a fan-out) ask ECR for one token: the first takes the entry's
// lock and fetches it, the others wait and find it cached. Reference: GetAuthorizationToken is throttled
// per account as a token bucket (user guide, "Amazon ECR service quotas": 20/s, burst 200).
func TestE2EConcurrentLoginsShareOneToken(t *testing.T) {
	w := newWorld(t, sandbox.Config{NoSeed: true})
	w.set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.dir, "runner-cache"))
	before := w.stats().ECRRequests["GetAuthorizationToken"]
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = w.run("login").code
		}()
	}
	wg.Wait()
	if got := w.stats().ECRRequests["GetAuthorizationToken"] - before; got != 1 || slices.Max(codes) != 0 {
		t.Fatalf("6 concurrent logins: %d GetAuthorizationToken calls (want 1), exits %v", got, codes)
	}
	w.done()
}
