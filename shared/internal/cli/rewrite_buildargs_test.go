package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRewriteVariableRepositories covers the three images issue 15 found uncached, and the mapped
// build-args file.
func TestRewriteVariableRepositories(t *testing.T) {
	dir := t.TempDir()
	src := "ARG REG=quay.io\nARG BASE=alpine:3\nARG PRIVATE=registry.example.com\n" +
		"FROM ${REG}/prometheus/node-exporter:v1.8.0 AS exporter\n" +
		"FROM ${MISSING_BASE:-amazonlinux:2023} AS al\n" +
		"FROM ${PRIVATE}/team/app:1 AS private\n" +
		"FROM ${BASE}\n"
	in := filepath.Join(dir, "Dockerfile")
	os.WriteFile(in, []byte(src), 0o644)
	out := filepath.Join(dir, "Dockerfile.ecr")
	argsOut := filepath.Join(dir, "build-args")

	// Without build args: defaults are rewritten in place, variables kept.
	r := ecrptc(t, "", nil, "rewrite", "-f", in, "-o", out, "--registry", reg)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	got, _ := os.ReadFile(out)
	for _, want := range []string{
		"ARG REG=" + reg + "/quay\n",
		"ARG BASE=" + reg + "/docker-hub/library/alpine:3\n",
		"FROM ${MISSING_BASE:-" + reg + "/docker-hub/library/amazonlinux:2023} AS al\n",
		"ARG PRIVATE=registry.example.com\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("rewrite lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(r.stderr, "rewrite: 3 rewritten, 0 unchanged") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// With the build's args: BASE pinned, and the build-args file maps it.
	r = ecrptc(t, "", nil, "rewrite", "-f", in, "-o", out, "--registry", reg,
		"--build-arg", "BASE=quay.io/prometheus/busybox:glibc", "--build-arg", "VERSION=1.2", "--build-args-out", argsOut)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	got, _ = os.ReadFile(out)
	if !strings.Contains(string(got), "\nFROM "+reg+"/quay/prometheus/busybox:glibc\n") {
		t.Errorf("BASE not pinned:\n%s", got)
	}
	args, _ := os.ReadFile(argsOut)
	if want := "BASE=" + reg + "/quay/prometheus/busybox:glibc\nVERSION=1.2\n"; string(args) != want {
		t.Errorf("build args file:\n%s\nwant\n%s", args, want)
	}
	if !strings.Contains(r.stderr, "build-arg BASE=quay.io/prometheus/busybox:glibc -> BASE="+reg) || !strings.Contains(r.stderr, "pinned") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// A build arg with a line break cannot go into the file: one sentence, nothing written.
	os.Remove(argsOut)
	r = ecrptc(t, "", nil, "rewrite", "-f", in, "--registry", reg, "--build-arg", "X=a\nb", "--build-args-out", argsOut)
	if r.code == 0 || !strings.Contains(r.stderr, "line break") {
		t.Errorf("%+v", r)
	}
	if _, err := os.Stat(argsOut); !os.IsNotExist(err) {
		t.Error("the build-args file was written")
	}
}
