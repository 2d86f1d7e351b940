package frontend_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
)

// BenchmarkFrontend compares a warm build through our frontend with the same build through the stock
// Dockerfile frontend packaged the same way (a static binary in a one-layer image on the same loopback
// registry), on the same buildkitd, alternating the two. It reports the median ratio (goal: at most
// 1.05) and the size of both images as pulled.
//
//	go test ./shared/frontend -run '^$' -bench BenchmarkFrontend -benchtime 20x
func BenchmarkFrontend(b *testing.B) {
	w := newWorld(b)
	// The same pulls both ways: the stock frontend gets the Dockerfile pointed at the cache (as
	// `ecr-ptc rewrite` writes it), so both authenticate to the same registry and the difference is the
	// frontend's.
	dockerfile := "FROM %s\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy.txt\n"
	files := map[string]string{"hello.txt": "hello\n"}
	args := map[string]string{"ECR_PTC_REGISTRY": w.sb.RegistryHost}
	ours := build{dockerfile: "# syntax=" + w.frontend + "\n" + fmt.Sprintf(dockerfile, "busybox:static"), files: files, args: args, noOutput: true}
	stock := build{dockerfile: "# syntax=" + w.stock + "\n" + fmt.Sprintf(dockerfile, w.sb.RegistryHost+"/docker-hub/library/busybox:static"), files: files, noOutput: true}
	// Warm both: images pulled, frontend images unpacked, build steps cached.
	for _, bb := range []build{ours, stock, ours, stock} {
		if r := w.build(bb); r.err != nil {
			b.Fatalf("warm-up build failed: %v\n%s", r.err, r.out)
		}
	}
	timed := func(bb build) time.Duration {
		start := time.Now()
		r := w.build(bb)
		d := time.Since(start)
		if r.err != nil {
			b.Fatalf("build failed: %v\n%s", r.err, r.out)
		}
		return d
	}
	var ratios []float64
	var oursTotal, stockTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var o, s time.Duration
		if i%2 == 0 {
			o, s = timed(ours), timed(stock)
		} else {
			s, o = timed(stock), timed(ours)
		}
		oursTotal += o
		stockTotal += s
		ratios = append(ratios, float64(o)/float64(s))
	}
	b.StopTimer()
	sort.Float64s(ratios)
	median := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		median = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	b.ReportMetric(median, "median-ratio")
	b.ReportMetric(float64(oursTotal.Milliseconds())/float64(b.N), "ours-ms/build")
	b.ReportMetric(float64(stockTotal.Milliseconds())/float64(b.N), "stock-ms/build")
	oursSize := imageSize(b, filepath.Join(w.bin, "ecr-ptc-frontend"), "/bin/ecr-ptc-frontend")
	stockSize := imageSize(b, filepath.Join(w.bin, "dockerfile-frontend"), "/bin/dockerfile-frontend")
	b.ReportMetric(float64(oursSize), "ours-image-bytes")
	b.ReportMetric(float64(stockSize), "stock-image-bytes")
	b.Logf("warm build, %d alternating pairs: median ours/stock = %.3f (goal ≤ 1.05); images as pulled (linux/%s): ours %d bytes, stock %d bytes",
		b.N, median, runtime.GOARCH, oursSize, stockSize)
}

func imageSize(b *testing.B, binary, path string) int64 {
	b.Helper()
	if _, err := os.Stat(binary); err != nil {
		b.Fatal(err)
	}
	idx, err := frontendimage.Build(frontendimage.Spec{Binaries: map[string]string{"linux/" + runtime.GOARCH: binary}, Path: path})
	if err != nil {
		b.Fatal(err)
	}
	sizes, err := frontendimage.Size(idx)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range sizes {
		return n
	}
	return 0
}
