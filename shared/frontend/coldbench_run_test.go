package frontend_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkColdBuildCompileThenCopy measures the commonest multi-stage shape on a cold cache: a build stage
// that works (RUN, 2 s here) and a final stage on another image (a 2 MiB layer, 1 s at the upstream's
// 2 MiB/s) that only receives the result (COPY --from), built directly and through the ecr-ptc frontend.
// It checks where a first build through the cache could lose time: BuildKit pulls the final base while
// the build stage runs (both builds take about the RUN's 2 s plus overhead), so the cache's fetch from
// the upstream is hidden the same way. Same shaping as BenchmarkColdBuild; rounds use new bytes.
//
//	go test ./shared/frontend -run '^$' -bench BenchmarkColdBuildCompileThenCopy -benchtime 3x
func BenchmarkColdBuildCompileThenCopy(b *testing.B) {
	w, args, timed := coldWorld(b)
	dockerfile := func(syntax, tag string) string {
		return fmt.Sprintf("# syntax=%s\nFROM busybox:static AS build\nRUN sleep 2 && echo %s > /app\nFROM coldbase:%s\nCOPY --from=build /app /app\n", syntax, tag, tag)
	}
	var ratios, directs []float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		tags := [2]string{fmt.Sprintf("c%d-direct", i), fmt.Sprintf("c%d-cache", i)}
		for _, tag := range tags {
			seedRandom(b, w, "library/coldbase", tag, 2<<20)
		}
		b.StartTimer()
		d := timed(build{dockerfile: dockerfile(w.stock, tags[0]), noOutput: true})
		c := timed(build{dockerfile: dockerfile(w.frontend, tags[1]), args: args, noOutput: true})
		b.Logf("round %d: direct %s, through the cache %s", i, d.Round(time.Millisecond), c.Round(time.Millisecond))
		directs, ratios = append(directs, d.Seconds()), append(ratios, float64(c)/float64(d))
	}
	b.ReportMetric(medianOf(ratios), "cache/direct")
	b.ReportMetric(medianOf(directs)*1000, "direct-median-ms")
	b.Logf("compile then copy into a cold base: median ratio to direct: through the cache %.2f (goal ≤ 1.1)", medianOf(ratios))
}
