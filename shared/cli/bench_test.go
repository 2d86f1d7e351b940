package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// benchImages are ten distinct images the Docker Hub stand-in holds.
var benchImages = []string{"alpine:3.20", "alpine:latest", "node:20", "node:22", "node:20-bookworm-slim",
	"node:22-bookworm-slim", "golang:1.23-alpine", "python:3.12-slim", "busybox:1.36", "debian:bookworm-slim"}

// BenchmarkSetup runs `ecr-ptc setup` on a cold cache with 1 and with 10 images, the upstream 50 ms away
// and the cache 2 ms away: warming in parallel should make 10 images cost little more than 1.
// `make bench` prints the ratio.
func BenchmarkSetup(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			var df strings.Builder
			for _, img := range benchImages[:n] {
				fmt.Fprintf(&df, "FROM %s\n", img)
			}
			for b.Loop() {
				b.StopTimer()
				w := newWorld(b, sandbox.Config{UpstreamLatency: 50 * time.Millisecond, CacheLatency: 2 * time.Millisecond})
				w.ruleDefaults("docker-hub")
				src := w.dockerfile(df.String())
				b.StartTimer()
				if r := w.run("setup", src, "--all-stages"); r.code != 0 {
					b.Fatalf("%+v", r)
				}
				b.StopTimer()
				if got := w.stats().UpstreamFetches; got != n {
					b.Fatalf("%d upstream fetches, want %d", got, n)
				}
				b.StartTimer()
			}
		})
	}
}
