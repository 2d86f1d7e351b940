package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// BenchmarkStartup is `ecr-ptc --version` as a process: what every CI step pays before doing anything.
func BenchmarkStartup(b *testing.B) {
	bin := buildBinaryB(b)
	for b.Loop() {
		if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkSetupPeakRSS runs `ecr-ptc setup` as a process on ten images (cold cache) and reports its
// peak resident set size.
func BenchmarkSetupPeakRSS(b *testing.B) {
	bin := buildBinaryB(b)
	var df strings.Builder
	for _, img := range benchImages {
		fmt.Fprintf(&df, "FROM %s\n", img)
	}
	var peak int64
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, sandbox.Config{})
		w.ruleDefaults("docker-hub")
		src := w.dockerfile(df.String())
		cmd := exec.Command(bin, "setup", src, "--all-stages")
		cmd.Env = os.Environ()
		b.StartTimer()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peak {
			peak = ru.Maxrss // KiB on Linux
		}
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
}

func buildBinaryB(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ecr-ptc")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../../cmd/ecr-ptc").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
