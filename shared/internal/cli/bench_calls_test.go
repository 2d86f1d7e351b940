package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// BenchmarkSetupCalls counts the ECR API calls one warm `ecr-ptc setup` makes, from the sandbox's
// counters, for 1, 10 and 100 images in 1, 4 and 40 cache repositories (the monorepo shape of the fleet
// simulation): login, rules, and one DescribeImages per repository — at most repositories + 3. The
// probe cache is off (--probe-cache 0), so every repository is asked. Before issue 16 setup sent one
// DescribeImages per image: images + 2. `make bench` prints the ecr-calls/op metric.
func BenchmarkSetupCalls(b *testing.B) {
	for _, c := range []struct{ images, repos int }{{1, 1}, {10, 4}, {100, 40}} {
		b.Run(fmt.Sprintf("images=%d", c.images), func(b *testing.B) {
			w := newWorld(b, sandbox.Config{NoSeed: true})
			w.ruleDefaults("docker-hub")
			var df strings.Builder
			for i := range c.images {
				repo, tag := fmt.Sprintf("app%02d", i%c.repos), fmt.Sprintf("v%d", i)
				fmt.Fprintf(&df, "FROM %s:%s\n", repo, tag)
				w.sb.Store.EnsureRepository("docker-hub/library/"+repo, "")
				w.sb.Store.PutImage("docker-hub/library/"+repo, tag, sandbox.Image{Digest: "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i), 32),
					MediaType: "application/vnd.oci.image.manifest.v1+json", Manifest: []byte(`{"schemaVersion":2}`), Size: 1000})
			}
			src := w.dockerfile(df.String())
			var calls int
			for b.Loop() {
				b.StopTimer()
				before := sum(w.stats().ECRRequests)
				b.StartTimer()
				r := w.run("setup", src, "--all-stages", "--probe-cache", "0")
				b.StopTimer()
				if r.code != 0 || !strings.Contains(r.stdout, "hit") {
					b.Fatalf("%+v", r)
				}
				calls = sum(w.stats().ECRRequests) - before
				if calls > c.repos+3 {
					b.Fatalf("%d ECR calls for %d images in %d repositories: more than repositories + 3 (%v)", calls, c.images, c.repos, w.stats().ECRRequests)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(calls), "ecr-calls/op")
			b.ReportMetric(float64(c.repos), "repositories")
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
