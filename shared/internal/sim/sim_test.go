package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/sim"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func start(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub",
		CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub"})
	return sb
}

func targets(sb *sandbox.Sandbox) (direct, cache sim.Target) {
	counter := func() (int, int) {
		s := sb.Stats.Snapshot()
		return s.UpstreamManifestGets["docker-hub"], s.UpstreamRateLimited
	}
	pw, _ := sb.Store.IssueToken(12 * time.Hour)
	direct = sim.Target{Host: sb.Upstreams["docker-hub"], Counter: counter}
	cache = sim.Target{Host: sb.RegistryHost, Prefix: "docker-hub", Username: "AWS", Password: pw, Counter: counter}
	return direct, cache
}

// The seed promise, measured: 200 builds in dev/stage/prod of Dockerfiles using five Docker Hub images,
// against an upstream that allows 100 pulls per window (Docker Hub's anonymous limit; reference:
// "Docker Hub answers pulls with ratelimit-limit / ratelimit-remaining headers and 429
// TOOMANYREQUESTS"). Direct, builds fail once the limit is passed; through the cache, none fail, the
// upstream sees each image once (plus its platform manifests), and every environment builds on the same
// digests even when the upstream moves a tag mid-run (the cache re-checks tags about once a day).
func TestRateLimitSimulation(t *testing.T) {
	opts := sim.Options{Builds: 200, MoveTagAfter: 100}

	sb := start(t, sandbox.Config{RateLimit: 100})
	direct, _ := targets(sb)
	d := sim.Run(context.Background(), sb, "direct", direct, opts)

	// The same upstream without a limit (a paid account): no failures, but builds after the tag moved
	// get other bytes than the builds before them.
	sb = start(t, sandbox.Config{RateLimit: -1})
	direct, _ = targets(sb)
	u := sim.Run(context.Background(), sb, "direct, no limit", direct, opts)

	sb = start(t, sandbox.Config{RateLimit: 100})
	_, cache := targets(sb)
	c := sim.Run(context.Background(), sb, "cache", cache, opts)
	t.Logf("\n%s", sim.Table(d, u, c))
	if u.Consistent {
		t.Errorf("direct without a limit: the moved tag should show as different digests")
	}

	if d.FailedBuilds == 0 || d.RateLimited == 0 {
		t.Errorf("direct: %d failed builds, %d 429s; the limit should bite", d.FailedBuilds, d.RateLimited)
	}
	if c.FailedBuilds != 0 {
		t.Errorf("cache: %d failed builds (%s)", c.FailedBuilds, c.FirstError)
	}
	if got := sb.Stats.Snapshot().UpstreamFetches; got != 5 {
		t.Errorf("cache: %d upstream image fetches, want 5", got)
	}
	// Reference: "Multi-arch: the whole index is imported" — each image's index and its two platform
	// manifests, once.
	if c.UpstreamFetches != 15 {
		t.Errorf("cache: the upstream served %d manifests, want 15 (5 indexes + 10 children)", c.UpstreamFetches)
	}
	if !c.Consistent {
		t.Errorf("cache: environments resolved different digests: %v", c.Digests)
	}
}

// Latency: the upstream shaped like the internet (80 ms a request, 2 MiB/s), the cache like the same
// region (2 ms). Prints the median base-image pull time of a build each way; no timing is asserted.
func TestLatencySimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the latency simulation takes a few seconds")
	}
	cfg := sandbox.Config{RateLimit: -1, UpstreamLatency: 80 * time.Millisecond, UpstreamBandwidth: 2 << 20, CacheLatency: 2 * time.Millisecond}
	opts := sim.Options{Builds: 12, Parallel: 3}
	sb := start(t, cfg)
	layer := make([]byte, 1<<20) // a 1 MiB layer, so bandwidth matters as it does for real base images
	for i := range layer {
		layer[i] = byte(i * 7)
	}
	for _, img := range []string{"library/node:20", "library/python:3.12-slim"} {
		repo, tag, _ := cut(img)
		if _, err := sb.SeedImage("docker-hub", repo, tag, []string{"linux/amd64", "linux/arm64"}, tarOf("big", layer)); err != nil {
			t.Fatal(err)
		}
	}
	opts.Images = []string{"library/node:20", "library/python:3.12-slim"}
	direct, cache := targets(sb)
	d := sim.Run(context.Background(), sb, "direct", direct, opts)
	sim.Run(context.Background(), sb, "warm-up", cache, sim.Options{Builds: 1, Images: opts.Images}) // fill the cache
	c := sim.Run(context.Background(), sb, "cache", cache, opts)
	t.Logf("\n%s", sim.Table(d, c))
	if d.FailedBuilds+c.FailedBuilds != 0 {
		t.Fatalf("failures: %s %s", d.FirstError, c.FirstError)
	}
	if c.PullTime > 0 {
		t.Logf("base-image pull time, direct / cache = %.1f", float64(d.PullTime)/float64(c.PullTime))
	}
}
