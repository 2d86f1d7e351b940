package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/actions"
	"github.com/ecr-ptc/ecr-ptc/codebuild"
	"github.com/ecr-ptc/ecr-ptc/gitlab"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
)

const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

type run struct {
	code           int
	stdout, stderr string
}

// ecrptc runs the command line in-process with a fixed environment.
func ecrptc(t *testing.T, stdin string, env map[string]string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv:    func(k string) string { return env[k] },
		Build:     cli.Build{Version: "v1.2.3", Commit: "abc1234"},
		Platforms: platforms(func(k string) string { return env[k] }),
	})
	return run{code, out.String(), errb.String()}
}

func examples(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../../examples")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionAndHelp(t *testing.T) {
	r := ecrptc(t, "", nil, "--version")
	want := "ecr-ptc v1.2.3 (commit abc1234, " + runtime.Version()
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("--version = %+v", r)
	}
	if r := ecrptc(t, "", nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("version = %+v", r)
	}
	for _, args := range [][]string{{"--help"}, {"map", "--help"}, {"scan", "--help"}, {"rewrite", "--help"}, {}} {
		r := ecrptc(t, "", nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestMap(t *testing.T) {
	r := ecrptc(t, "", nil, "map", "--registry", reg, "node:20", "quay.io/coreos/etcd:v3.5", "scratch", "mcr.microsoft.com/dotnet/sdk:8.0")
	want := reg + "/docker-hub/library/node:20\n" + reg + "/quay/coreos/etcd:v3.5\nscratch\nmcr.microsoft.com/dotnet/sdk:8.0\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("got %+v", r)
	}
	// The registry may come from the environment.
	if r := ecrptc(t, "", map[string]string{"ECR_PTC_REGISTRY": reg}, "map", "alpine"); r.stdout != reg+"/docker-hub/library/alpine:latest\n" {
		t.Fatalf("env registry: %+v", r)
	}
}

func TestMapJSON(t *testing.T) {
	r := ecrptc(t, "", nil, "map", "--registry", reg, "--rules", filepath.Join(examples(t), "rules.json"), "--json", "alpine:3.20", "quay.io/a/b", "Bad:Ref")
	if r.code != 1 {
		t.Fatalf("an invalid input must exit 1: %+v", r)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d objects", len(got))
	}
	for _, k := range []string{"input", "output", "rewritten", "reason"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("object lacks %q: %v", k, got[0])
		}
	}
	if got[0]["output"] != reg+"/docker-hub/library/alpine:3.20" || got[0]["rewritten"] != true {
		t.Errorf("alpine: %v", got[0])
	}
	if got[1]["rewritten"] != false || !strings.Contains(got[1]["reason"].(string), "ecr-ptc rules ensure --upstream quay") {
		t.Errorf("quay has no rule in examples/rules.json: %v", got[1])
	}
	if got[2]["error"] == nil || got[2]["output"] != "Bad:Ref" {
		t.Errorf("invalid: %v", got[2])
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"map"},                                // no refs
		{"map", "alpine"},                      // no registry
		{"map", "--bogus", "alpine"},           // unknown flag
		{"nosuchcommand"},                      // unknown command
		{"scan", "--build-arg", "=x", "."},     // bad build arg
		{"scan", "--build-arg", "1A=x", "."},   // bad build arg name
		{"rewrite", "--registry", reg, "junk"}, // positional args
		{"map", "--registry", reg, "--rules", "a.json", "--rule", "docker.io=x1", "alpine"},
	} {
		r := ecrptc(t, "", nil, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || !strings.HasPrefix(r.stderr, "ecr-ptc: ") {
			t.Errorf("%v: stderr is not one sentence plus the help hint: %q", args, r.stderr)
		}
	}
}

func TestBadRulesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.json")
	os.WriteFile(bad, []byte("{\n  \"pullThroughCacheRules\": [\n    {\"ecrRepositoryPrefix\": \"x\"}\n  ]\n}\n"), 0o644)
	r := ecrptc(t, "", nil, "map", "--registry", reg, "--rules", bad, "alpine")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, bad+": rule 1:") {
		t.Fatalf("got %+v", r)
	}
	r = ecrptc(t, "", nil, "map", "--registry", reg, "--rules", filepath.Join(dir, "missing.json"), "alpine")
	if r.code != 1 || !strings.Contains(r.stderr, "missing.json: no such file or directory") {
		t.Fatalf("got %+v", r)
	}
}

func TestScanExamples(t *testing.T) {
	r := ecrptc(t, "", nil, "scan", examples(t), "--json", "--registry", reg, "--rules", filepath.Join(examples(t), "rules.json"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var uses []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &uses); err != nil {
		t.Fatal(err)
	}
	found := map[string]map[string]any{}
	for _, u := range uses {
		for _, k := range []string{"file", "line", "instruction", "stage", "ref"} {
			if _, ok := u[k]; !ok {
				t.Errorf("use lacks %q: %v", k, u)
			}
		}
		found[u["instruction"].(string)+" "+u["ref"].(string)] = u
	}
	for key, out := range map[string]string{
		"syntax docker.io/docker/dockerfile:1":                   reg + "/docker-hub/docker/dockerfile:1",
		"FROM docker.io/library/node:20-bookworm-slim":           reg + "/docker-hub/library/node:20-bookworm-slim",
		"COPY --from ghcr.io/tini-org/tini:v0.19.0":              reg + "/github/tini-org/tini:v0.19.0",
		"RUN --mount public.ecr.aws/docker/library/busybox:1.36": reg + "/ecr-public/docker/library/busybox:1.36",
		"FROM docker.io/library/golang:1.23-alpine":              reg + "/docker-hub/library/golang:1.23-alpine",
		"FROM gcr.io/distroless/static-debian12:nonroot":         "gcr.io/distroless/static-debian12:nonroot",
		"FROM docker.io/library/python:3.12-slim":                reg + "/docker-hub/library/python:3.12-slim",
	} {
		u, ok := found[key]
		if !ok {
			t.Errorf("scan did not report %s; got %v", key, keys(found))
			continue
		}
		if u["output"] != out {
			t.Errorf("%s: output %v, want %s", key, u["output"], out)
		}
	}
	// The test stage is not needed by the default target (runtime).
	for _, u := range uses {
		if u["stage"] == "test" {
			t.Errorf("stage test reported without --target test: %v", u)
		}
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestScanBuildArgAndTarget(t *testing.T) {
	df := filepath.Join(examples(t), "node-app", "Dockerfile")
	r := ecrptc(t, "", nil, "scan", "-f", df, "--build-arg", "NODE_VERSION=22", "--target", "test", "--json")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.stdout, `"ref": "docker.io/library/node:22-bookworm-slim"`) || strings.Contains(r.stdout, "tini") {
		t.Fatalf("--target test needs deps (node:22) only: %s", r.stdout)
	}
	// A build arg taken from the environment, as docker build --build-arg NAME does.
	r = ecrptc(t, "", map[string]string{"NODE_VERSION": "18"}, "scan", "-f", df, "--build-arg", "NODE_VERSION", "--json")
	if !strings.Contains(r.stdout, "node:18-bookworm-slim") {
		t.Fatalf("%+v", r)
	}
}

func TestScanBadDockerfile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "Dockerfile")
	bad := filepath.Join(dir, "bad.Dockerfile")
	os.WriteFile(good, []byte("FROM alpine:3.20\n"), 0o644)
	os.WriteFile(bad, []byte("FROM alpine\nFROM a b\n"), 0o644)
	r := ecrptc(t, "", nil, "scan", dir)
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, bad+":2: ") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("stderr = %q, want one line with %s:2", r.stderr, bad)
	}
	if !strings.Contains(r.stdout, "docker.io/library/alpine:3.20") {
		t.Errorf("the good Dockerfile is still reported: %q", r.stdout)
	}
	r = ecrptc(t, "", nil, "scan", "-f", filepath.Join(dir, "nope"))
	if r.code != 1 || !strings.Contains(r.stderr, "nope: no such file or directory") {
		t.Errorf("%+v", r)
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	src := "# syntax=docker/dockerfile:1\nARG V=20\n# keep me\nFROM node:${V} AS build\nRUN echo hi \\\n  there\nFROM gcr.io/distroless/static\nCOPY --from=build /x /x\n"
	in := filepath.Join(dir, "Dockerfile")
	os.WriteFile(in, []byte(src), 0o640)
	out := filepath.Join(dir, "Dockerfile.ecr")
	r := ecrptc(t, "", nil, "rewrite", "-f", in, "-o", out, "--registry", reg)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	got, _ := os.ReadFile(out)
	want := "# syntax=" + reg + "/docker-hub/docker/dockerfile:1\nARG V=20\n# keep me\nFROM " + reg + "/docker-hub/library/node:${V} AS build\nRUN echo hi \\\n  there\nFROM gcr.io/distroless/static\nCOPY --from=build /x /x\n"
	if string(got) != want {
		t.Fatalf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(r.stderr, ":4: FROM node:${V} -> ") {
		t.Errorf("changes on stderr: %q", r.stderr)
	}
	// Idempotent: rewriting the output changes nothing, and stdin works.
	r = ecrptc(t, string(got), nil, "rewrite", "-f", "-", "--registry", reg, "-q")
	if r.code != 0 || r.stdout != string(got) || r.stderr != "" {
		t.Fatalf("second rewrite: %+v", r)
	}
	// In place keeps the mode.
	r = ecrptc(t, "", nil, "rewrite", "-f", in, "-o", in, "--registry", reg, "-q")
	fi, _ := os.Stat(in)
	if r.code != 0 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("in place: %+v mode %v", r, fi.Mode())
	}
}

func TestRewriteBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "Dockerfile")
	os.WriteFile(in, []byte("FROM alpine\nBOGUS instruction\n"), 0o644)
	out := filepath.Join(dir, "out")
	r := ecrptc(t, "", nil, "rewrite", "-f", in, "-o", out, "--registry", reg)
	if r.code != 1 || !strings.Contains(r.stderr, in+":2: ") {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("the output file was written")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftovers: %v", entries)
	}
	r = ecrptc(t, "", nil, "rewrite", "-f", in, "--build-arg", "bad arg=1", "--registry", reg)
	if r.code != 2 {
		t.Fatalf("bad --build-arg: %+v", r)
	}
}

// platforms are the CI platforms the main hands the command line, with GitHub's workflow commands
// discarded: a test reads the command's own output.
func platforms(getenv func(string) string) []ciplatform.Platform {
	return []ciplatform.Platform{actions.New(getenv, io.Discard), gitlab.New(getenv, io.Discard), codebuild.New(getenv, io.Discard)}
}
