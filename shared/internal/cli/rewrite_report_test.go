package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// A registry ARG also used inside the stage cannot be rewritten (golden varrepo-stage): the build pulls
// that image from quay.io although the cache serves it. rewrite --report-json says so in the report
// setup wrote, and report --strict fails on it.
func TestE2ERewriteReportJSONMarksUnrewritten(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub", "github", "quay")
	rep := filepath.Join(w.dir, "ecr-ptc-report.json")
	envFile := filepath.Join(w.dir, "ecr-ptc.env")
	w.files = append(w.files, rep, envFile)
	src := w.dockerfile(`ARG REG=quay.io
FROM ${REG}/coreos/etcd:v3.5.0
ARG REG
RUN echo "pulling from $REG"
COPY --from=ghcr.io/tini-org/tini:v0.19.0 /tini /tini
FROM mcr.microsoft.com/dotnet/runtime:8.0
`)
	r := w.run("setup", src, "--report-json", rep, "--env-file", envFile, "--all-stages")
	if r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	env, _ := os.ReadFile(envFile)
	rules := regexp.MustCompile(`(?m)^ECR_PTC_RULES=(.*)$`).FindStringSubmatch(string(env))
	if rules == nil {
		t.Fatalf("no ECR_PTC_RULES in %s", env)
	}
	if r := w.run("report", "--report-json", rep, "--ci", "none", "--strict"); r.code != 0 {
		t.Fatalf("report --strict fails before the rewrite: %+v", r)
	}

	dockerfile := filepath.Join(src, "Dockerfile")
	r = w.run("rewrite", "-f", dockerfile, "-o", dockerfile, "--registry", w.sb.RegistryHost, "--rule", rules[1], "--report-json", rep)
	if r.code != 0 {
		t.Fatalf("rewrite: %+v", r)
	}
	got := map[string]report.Image{}
	for _, im := range readReport(t, rep).Images {
		got[im.Ref] = im
	}
	etcd := got["quay.io/coreos/etcd:v3.5.0"]
	wantReason := "rewrite left " + dockerfile + ":2 pointing at the original registry: ARG REG is also used inside stage"
	if etcd.Outcome != report.Unchanged || !strings.HasPrefix(etcd.Reason, wantReason) || etcd.CacheRef == "" {
		t.Errorf("etcd: %+v, want unchanged with reason %q… and its cache ref kept", etcd, wantReason)
	}
	if tini := got["ghcr.io/tini-org/tini:v0.19.0"]; tini.Outcome != report.Warmed {
		t.Errorf("tini, rewritten, is %+v; want it warmed as setup said", tini)
	}
	if dotnet := got["mcr.microsoft.com/dotnet/runtime:8.0"]; dotnet.Outcome != report.Unchanged || strings.Contains(dotnet.Reason, "rewrite left") {
		t.Errorf("dotnet, which the cache does not serve, is %+v; want it as setup left it", dotnet)
	}
	if tot := readReport(t, rep).Totals; tot.Unchanged != 2 || tot.Warmed != 1 || tot.Images != 3 {
		t.Errorf("totals not re-tallied: %+v", tot)
	}
	if data, _ := os.ReadFile(dockerfile); !strings.Contains(string(data), "FROM ${REG}/coreos/etcd:v3.5.0") {
		t.Errorf("the FROM was rewritten after all:\n%s", data)
	}

	r = w.run("report", "--report-json", rep, "--ci", "none", "--strict")
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 3 images the cache serves are left pointing at their original registry") {
		t.Errorf("report --strict after the rewrite: %+v", r)
	}
	r = w.run("report", "--report-json", rep, "--ci", "none")
	if r.code != 0 || !strings.Contains(r.stdout, "rewrite left ") {
		t.Errorf("report (text) does not show the reason: %+v", r)
	}

	// Rewriting again (the file is now rewritten) keeps the report as it is.
	before, _ := os.ReadFile(rep)
	if r := w.run("rewrite", "-f", dockerfile, "-o", dockerfile, "--registry", w.sb.RegistryHost, "--rule", rules[1], "--report-json", rep); r.code != 0 {
		t.Fatalf("second rewrite: %+v", r)
	}
	if after, _ := os.ReadFile(rep); string(after) != string(before) {
		t.Errorf("a second rewrite changed the report:\n%s\nwas\n%s", after, before)
	}
	w.done()
}

// A missing or invalid report: one sentence, a nonzero exit, and neither the output nor the report written.
func TestRewriteReportJSONBadInput(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM alpine:3.20\n"), 0o644)
	notReport := filepath.Join(dir, "not-a-report.json")
	os.WriteFile(notReport, []byte("FROM alpine\n"), 0o644)
	const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	for _, c := range []struct {
		name, report, want string
		code               int
	}{
		{"missing", filepath.Join(dir, "nope.json"), "cannot read the report: " + filepath.Join(dir, "nope.json") + ": no such file or directory", 1},
		{"not JSON", notReport, notReport + " is not an ecr-ptc report", 1},
		{"a directory", dir, "is a directory", 1},
		{"starts with -", "-r.json", "starts with '-'", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.Dockerfile")
			before, _ := os.ReadFile(c.report)
			r := ecrptc(t, "", nil, "rewrite", "-f", df, "-o", out, "--registry", reg, "--rule", "docker.io=docker-hub", "--report-json="+c.report)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "ecr-ptc: ") != 1 {
				t.Errorf("got %+v, want exit %d and one line with %q", r, c.code, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("the output was written")
			}
			if after, _ := os.ReadFile(c.report); string(after) != string(before) {
				t.Errorf("the report changed")
			}
		})
	}
}
