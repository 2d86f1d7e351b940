package gitlab_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// TestGitLabRewriteBuildArgs runs the component's setup job in mode rewrite with build-args under
// gitlab-ci-local: the rewritten Dockerfile pins an ARG-built base image to its cache reference and the
// dotenv report carries ECR_PTC_MAPPED_BUILD_ARGS, image-valued args pointed at the cache (issue 15).
func TestGitLabRewriteBuildArgs(t *testing.T) {
	gcl := needGitLabCILocal(t)
	root := citest.RepoRoot(t)
	w := jobWorld(t, withBinary(t))
	host := w.SB.RegistryHost

	f := startForge(t, root, "v0.1.0")
	dir := project(t, root, f, exampleCI(t, root, "kaniko.gitlab-ci.yml"))
	ci, _ := os.ReadFile(filepath.Join(dir, ".gitlab-ci.yml"))
	withArgs := strings.Replace(string(ci), "      mode: rewrite\n", "      mode: rewrite\n      build-args: BASE=quay.io/coreos/etcd:v3.5.0 REG=quay.io VERSION=1\n", 1)
	df := "ARG BASE=alpine:3.20\nARG REG=ghcr.io\nFROM ${BASE} AS base\nFROM ${REG}/prometheus/prometheus:v2.53.0\nCOPY --from=base / /b\n"
	for name, body := range map[string]string{".gitlab-ci.yml": withArgs, "app/Dockerfile": df} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qam", "build args")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
	w.NoSecrets(t, out, "the gitlab-ci-local output")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rewritten, err := os.ReadFile(filepath.Join(dir, ".ecr-ptc", "rewritten", "app", "Dockerfile"))
	if err != nil || !strings.Contains(string(rewritten), "FROM "+host+"/quay/coreos/etcd:v3.5.0 AS base\n") ||
		!strings.Contains(string(rewritten), "FROM "+host+"/quay/prometheus/prometheus:v2.53.0\n") {
		t.Errorf("rewritten Dockerfile: %v\n%s\n%s", err, rewritten, out)
	}
	env, err := os.ReadFile(filepath.Join(dir, "ecr-ptc.env"))
	want := "ECR_PTC_MAPPED_BUILD_ARGS=BASE=" + host + "/quay/coreos/etcd:v3.5.0 REG=" + host + "/quay VERSION=1\n"
	if err != nil || !strings.Contains(string(env), want) {
		t.Errorf("dotenv lacks %q: %v\n%s\n%s", want, err, env, out)
	}
	w.NoSecretsInFiles(t, filepath.Join(dir, ".ecr-ptc"), filepath.Join(dir, "ecr-ptc.env"))
}
