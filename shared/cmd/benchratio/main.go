// Command benchratio reads `go test -bench` output and prints the median of each benchmark and the
// ratios asked for, so that `make bench` shows numbers a person can compare at a glance.
//
//	go test -bench . -count 5 | benchratio 'BenchmarkSetup/images=10:BenchmarkSetup/images=1'
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Stdin, os.Stdout, os.Args[1:])) }

var (
	line   = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)
	metric = regexp.MustCompile(`([\d.]+) (\S+)`)
)

func run(in io.Reader, out io.Writer, ratios []string) int {
	samples := map[string][]float64{}
	extra := map[string][]float64{} // "name unit" → custom metric samples (b.ReportMetric)
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		if _, ok := samples[m[1]]; !ok {
			order = append(order, m[1])
		}
		samples[m[1]] = append(samples[m[1]], v)
		for _, mm := range metric.FindAllStringSubmatch(m[4], -1) {
			if mm[2] == "B/op" || mm[2] == "allocs/op" {
				continue
			}
			if x, err := strconv.ParseFloat(mm[1], 64); err == nil {
				extra[m[1]+" "+mm[2]] = append(extra[m[1]+" "+mm[2]], x)
			}
		}
	}
	medians := map[string]float64{}
	for _, name := range order {
		medians[name] = median(samples[name])
		fmt.Fprintf(out, "%-50s median %12s over %d runs\n", name, time.Duration(medians[name]).Round(10*time.Microsecond), len(samples[name]))
		for k, v := range extra {
			if name2, unit, _ := strings.Cut(k, " "); name2 == name {
				fmt.Fprintf(out, "%-50s median %12.1f %s\n", "", median(v), unit)
			}
		}
	}
	code := 0
	for _, r := range ratios {
		a, b, ok := strings.Cut(r, ":")
		if !ok || medians[a] == 0 || medians[b] == 0 {
			fmt.Fprintf(out, "ratio %s: missing samples\n", r)
			code = 1
			continue
		}
		fmt.Fprintf(out, "ratio %s / %s = %.2f\n", a, b, medians[a]/medians[b])
	}
	return code
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
