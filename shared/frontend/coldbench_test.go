package frontend_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// BenchmarkColdBuild measures a first build of a Dockerfile using 5 images (a 1 MiB layer each) with the
// upstream shaped like the internet (80 ms a request, 2 MiB/s) and the cache like the same region (2 ms):
//   - direct: the stock Dockerfile frontend pulling from the upstream itself;
//   - cache: our frontend, the cache cold, each image pulled through it during the build;
//   - warm+cache: `setup`'s parallel warm (ecr.Warmer, all 5 at once) and then the same build, timed together.
//
// Every round uses new image contents, so neither buildkitd nor the cache holds them; both frontend images
// are pulled once before (their cost is the warm benchmark's). Reports the median ratios to direct
// (goal: ≤ 1.1).
//
//	go test ./shared/frontend -run '^$' -bench BenchmarkColdBuild -benchtime 3x
func BenchmarkColdBuild(b *testing.B) {
	w, args, timed := coldWorld(b)
	// dockerfile uses 5 images, tagged tag: four stages copied into the fifth.
	dockerfile := func(syntax, tag string) string {
		var d strings.Builder
		fmt.Fprintf(&d, "# syntax=%s\n", syntax)
		for i := 1; i <= 4; i++ {
			fmt.Fprintf(&d, "FROM cold%d:%s AS s%d\n", i, tag, i)
		}
		fmt.Fprintf(&d, "FROM cold5:%s\n", tag)
		for i := 1; i <= 4; i++ {
			fmt.Fprintf(&d, "COPY --from=s%d /layer /s%d\n", i, i)
		}
		return d.String()
	}
	seed := func(tag string) {
		for i := 1; i <= 5; i++ {
			seedRandom(b, w, fmt.Sprintf("library/cold%d", i), tag, 1<<20)
		}
	}
	warmer := &ecr.Warmer{Auths: []ecr.Auth{{Host: w.sb.RegistryHost, ProxyEndpoint: "http://" + w.sb.RegistryHost, Username: "AWS", Password: w.token}}, Concurrency: 10}
	var cacheRatios, warmRatios []float64
	var directs, caches, warms []float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		tags := [3]string{fmt.Sprintf("r%d-direct", i), fmt.Sprintf("r%d-cache", i), fmt.Sprintf("r%d-warm", i)}
		for _, t := range tags {
			seed(t)
		}
		b.StartTimer()
		d := timed(build{dockerfile: dockerfile(w.stock, tags[0]), noOutput: true})
		c := timed(build{dockerfile: dockerfile(w.frontend, tags[1]), args: args, noOutput: true})
		start := time.Now()
		var reqs []ecr.WarmRequest
		for k := 1; k <= 5; k++ {
			reqs = append(reqs, ecr.WarmRequest{Ref: imageref.Ref{Host: w.sb.RegistryHost, Repository: fmt.Sprintf("docker-hub/library/cold%d", k), Tag: tags[2]}, Platforms: []string{"linux/" + runtime.GOARCH}})
		}
		for _, res := range warmer.Warm(context.Background(), reqs) {
			if res.Outcome != ecr.Warmed {
				b.Fatalf("warm %s: %s %s", res.Ref, res.Outcome, res.Reason)
			}
		}
		wc := time.Since(start) + timed(build{dockerfile: dockerfile(w.frontend, tags[2]), args: args, noOutput: true})
		b.Logf("round %d: direct %s, through the cache %s, warm + build %s", i, d.Round(time.Millisecond), c.Round(time.Millisecond), wc.Round(time.Millisecond))
		directs, caches, warms = append(directs, d.Seconds()), append(caches, c.Seconds()), append(warms, wc.Seconds())
		cacheRatios = append(cacheRatios, float64(c)/float64(d))
		warmRatios = append(warmRatios, float64(wc)/float64(d))
	}
	b.ReportMetric(medianOf(cacheRatios), "cache/direct")
	b.ReportMetric(medianOf(warmRatios), "warm+cache/direct")
	b.ReportMetric(medianOf(directs)*1000, "direct-median-ms")
	b.ReportMetric(medianOf(caches)*1000, "cache-median-ms")
	b.ReportMetric(medianOf(warms)*1000, "warm+cache-median-ms")
	b.Logf("cold first build, 5 images: median ratio to direct: through the cache %.2f, warm + build %.2f (goal ≤ 1.1)", medianOf(cacheRatios), medianOf(warmRatios))
}

// coldWorld is the cold-build benchmarks' world: the upstream shaped like the internet (80 ms a request,
// 2 MiB/s), the cache like the same region (2 ms), and both frontend images pulled once before, so that
// only the images under test are cold. It returns the frontend's build args and a timer of one build.
func coldWorld(b *testing.B) (*world, map[string]string, func(build) time.Duration) {
	w := newWorldFor(b, sandbox.Config{RateLimit: -1, UpstreamLatency: 80 * time.Millisecond, UpstreamBandwidth: 2 << 20, CacheLatency: 2 * time.Millisecond}, true)
	args := map[string]string{"ECR_PTC_REGISTRY": w.sb.RegistryHost}
	prime := "FROM busybox:static\n"
	for _, bb := range []build{{dockerfile: "# syntax=" + w.frontend + "\n" + prime, args: args, noOutput: true}, {dockerfile: "# syntax=" + w.stock + "\n" + prime, noOutput: true}} {
		if r := w.build(bb); r.err != nil {
			b.Fatalf("priming build failed: %v\n%s", r.err, r.out)
		}
	}
	timed := func(bb build) time.Duration {
		start := time.Now()
		if r := w.build(bb); r.err != nil {
			b.Fatalf("build failed: %v\n%s", r.err, r.out)
		}
		return time.Since(start)
	}
	return w, args, timed
}

// seedRandom publishes repo:tag on the Docker Hub stand-in with one layer of size random bytes:
// incompressible, and new in every round, so neither buildkitd nor the cache holds it.
func seedRandom(b *testing.B, w *world, repo, tag string, size int) {
	layer := make([]byte, size)
	_, _ = rand.Read(layer)
	if _, err := w.sb.SeedImage("docker-hub", repo, tag, []string{"linux/" + runtime.GOARCH}, tarOf("layer", layer)); err != nil {
		b.Fatal(err)
	}
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// tarOf is an uncompressed tar with one file, a layer for SeedImage.
func tarOf(name string, data []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	return b.Bytes()
}
