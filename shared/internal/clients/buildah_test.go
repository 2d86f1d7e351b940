package clients_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// TestRewriteBuildah builds a rewritten Dockerfile with Debian's buildah: the three images issue 15
// found uncached (a registry ARG, a default inside ${VAR:-default}, and a base image given with
// --build-arg) must all come through the sandbox. The machine has no route to quay.io or Docker Hub, so
// a reference left pointing upstream fails the build. buildah reads the login from the containers auth
// file, whose credHelpers entry (login --helper --auth-file) runs docker-credential-ecr-ptc.
func TestRewriteBuildah(t *testing.T) {
	needRoot(t, "buildah (vfs storage, chroot isolation)")
	if _, err := exec.LookPath("buildah"); err != nil {
		if citest.InCI() {
			t.Fatal("buildah missing: apt-get install buildah")
		}
		t.Skip("buildah missing: apt-get install buildah")
	}
	w := citest.Start(t)
	bin := citest.Binary(t)
	links := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(links, "docker-credential-ecr-ptc")); err != nil {
		t.Fatal(err)
	}
	w.Set("PATH", links+string(os.PathListSeparator)+os.Getenv("PATH"), "ECR_PTC_TOKEN_CACHE", filepath.Join(w.Dir, "tokens"))
	if _, err := w.SB.SeedImage("docker-hub", "library/amazonlinux", "2023", []string{"linux/amd64", "linux/arm64"}); err != nil {
		t.Fatal(err)
	}
	authFile := filepath.Join(w.Dir, "auth.json")
	if out, err := w.Run(t, w.Dir, bin, "login", "--helper", "--no-docker-config", "--auth-file", authFile, "--ci", "none"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	src := w.Dockerfile(t, "buildah", "ARG REG=quay.io\nARG BASE=alpine:3.20\n"+
		"FROM ${REG}/prometheus/prometheus:v2.53.0 AS exporter\n"+
		"FROM ${MISSING_BASE:-amazonlinux:2023} AS al\n"+
		"FROM ${BASE}\nCOPY --from=exporter / /exporter\nCOPY --from=al / /al\n")
	argsFile := filepath.Join(w.Dir, "build-args")
	out, err := w.Run(t, src, bin, "rewrite", "-f", "Dockerfile", "-o", "Dockerfile.ecr",
		"--build-arg", "BASE=quay.io/coreos/etcd:v3.5.0", "--build-args-out", argsFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Two FROMs and the REG default in the file, and BASE in the build args.
	if !strings.Contains(out, "rewrite: 4 rewritten, 0 unchanged") {
		t.Errorf("rewrite:\n%s", out)
	}
	args, _ := os.ReadFile(argsFile)
	buildArgs := []string{}
	for _, l := range strings.Fields(string(args)) {
		buildArgs = append(buildArgs, "--build-arg", l)
	}
	store := t.TempDir()
	buildah := append([]string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs",
		"build", "--isolation", "chroot", "--tls-verify=false", "--authfile", authFile, "--pull-always", "-f", "Dockerfile.ecr", "-t", "ecr-ptc-buildah-test"}, buildArgs...)
	before := w.SB.Stats.Snapshot().UnauthorizedRequests
	out, err = w.Run(t, src, "buildah", append(buildah, ".")...)
	w.NoSecrets(t, out, "buildah output")
	t.Cleanup(func() {
		exec.Command("buildah", "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs", "rmi", "-a", "-f").Run()
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"/quay/prometheus/prometheus:v2.53.0", "/docker-hub/library/amazonlinux:2023", "/quay/coreos/etcd:v3.5.0"} {
		if !strings.Contains(out, w.SB.RegistryHost+want) {
			t.Errorf("buildah did not pull %s from the cache:\n%s", want, out)
		}
	}
	t.Logf("401s before buildah sent a login: %d", w.SB.Stats.Snapshot().UnauthorizedRequests-before)
	w.NoSecretsInFiles(t, authFile, argsFile)
}
