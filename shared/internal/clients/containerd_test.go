package clients_test

// Node mirrors with the runtime nodes run: Debian's containerd 1.6 and its ctr. ecr-ptc writes the
// hosts.toml files, doctor checks them, ctr pulls through the sandbox with credentials from the
// credential helper, and when the cache fails containerd falls back to the upstream.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func TestContainerdMirror(t *testing.T) {
	needRoot(t, "containerd")
	for _, tool := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(tool); err != nil {
			if citest.InCI() {
				t.Fatalf("%s missing: apt-get install containerd", tool)
			}
			t.Skipf("%s missing: apt-get install containerd", tool)
		}
	}
	w, bin := helperWorld(t, 0)
	reg := w.SB.RegistryHost
	sock := startContainerd(t)

	hostsDir := filepath.Join(w.Dir, "certs.d")
	out, err := w.Run(t, w.Dir, bin, "mirror-config", "--format", "containerd", "--rule", "docker.io=docker-hub", "--rule", "quay.io=quay", "--dir", hostsDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = w.Run(t, w.Dir, bin, "doctor", "--containerd-hosts", hostsDir, "--rule", "docker.io=docker-hub", "--rule", "quay.io=quay")
	if err != nil || strings.Count(out, "✓ containerd hosts") != 2 {
		t.Fatalf("doctor --containerd-hosts: %v\n%s", err, out)
	}

	// ctr has no credential-helper support: the helper's answer goes to --user (on ctr's command line,
	// where other local users can see it in ps; ctr also offers it to every host it tries).
	helper := exec.Command(filepath.Join(filepath.SplitList(w.Getenv("PATH"))[0], "docker-credential-ecr-ptc"), "get")
	helper.Env, helper.Stdin = w.Environ(), strings.NewReader(reg)
	raw, err := helper.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	var cred struct{ Username, Secret string }
	if err := json.Unmarshal(raw, &cred); err != nil {
		t.Fatal(err)
	}
	ctr := func(args ...string) (string, error) {
		all := append([]string{"--address", sock, "--namespace", "ecrptc", "image", "pull", "--snapshotter", "native",
			"--hosts-dir", hostsDir, "--user", cred.Username + ":" + cred.Secret}, args...)
		b, err := exec.Command("ctr", all...).CombinedOutput()
		return string(b), err
	}

	// docker.io through the cache: the name stays docker.io, the bytes come from the cache.
	out, err = ctr("docker.io/library/alpine:3.20")
	w.NoSecrets(t, out, "ctr output")
	if err != nil {
		t.Fatalf("ctr pull through the mirror: %v\n%s", err, out)
	}
	if _, ok := w.SB.Store.Repository("docker-hub/library/alpine"); !ok {
		t.Error("the pull did not go through the cache (no docker-hub/library/alpine repository)")
	}

	// Without credentials the cache refuses the pull; containerd then tries the upstream.
	anon, err := exec.Command("ctr", "--address", sock, "--namespace", "ecrptc", "image", "pull", "--snapshotter", "native",
		"--hosts-dir", hostsDir, "quay.io/coreos/etcd:v3.5.0").CombinedOutput()
	if err == nil {
		t.Errorf("an anonymous pull through the cache succeeded:\n%s", anon)
	}

	// Fallback: the Docker Hub stand-in plays the upstream (this machine has no route to docker.io), with
	// the hosts.toml ecr-ptc wrote for docker.io and only its server line changed. With the cache failing,
	// containerd pulls from the upstream.
	up := w.SB.Upstreams["docker-hub"]
	gen, err := os.ReadFile(filepath.Join(hostsDir, "docker.io", "hosts.toml"))
	if err != nil {
		t.Fatal(err)
	}
	fbDir := filepath.Join(w.Dir, "certs-fallback")
	hostDir := filepath.Join(fbDir, strings.Replace(up, ":", "_", 1)+"_")
	os.MkdirAll(hostDir, 0o755)
	fb := strings.Replace(string(gen), `server = "https://registry-1.docker.io"`, fmt.Sprintf("server = %q", "http://"+up), 1)
	if fb == string(gen) {
		t.Fatalf("unexpected hosts.toml:\n%s", gen)
	}
	os.WriteFile(filepath.Join(hostDir, "hosts.toml"), []byte(fb), 0o644)
	hostsDir = fbDir
	out, err = ctr(up + "/library/node:20")
	if err != nil {
		t.Fatalf("ctr pull with a working cache: %v\n%s", err, out)
	}
	if _, ok := w.SB.Store.Repository("docker-hub/library/node"); !ok {
		t.Error("the pull did not go through the cache first")
	}
	w.SB.Faults.Add(sandbox.Fault{Target: "registry", Kind: sandbox.FaultServerError})
	defer w.SB.Faults.Clear()
	out, err = ctr(up + "/library/busybox:1.36")
	if err != nil {
		t.Fatalf("ctr did not fall back to the upstream when the cache failed: %v\n%s", err, out)
	}
	if _, ok := w.SB.Store.Repository("docker-hub/library/busybox"); ok {
		t.Error("busybox came through the failing cache")
	}
	list, _ := exec.Command("ctr", "--address", sock, "--namespace", "ecrptc", "image", "ls", "-q").CombinedOutput()
	for _, want := range []string{"docker.io/library/alpine:3.20", up + "/library/node:20", up + "/library/busybox:1.36"} {
		if !strings.Contains(string(list), want) {
			t.Errorf("containerd lacks %s:\n%s", want, list)
		}
	}
}

// startContainerd runs containerd on a private root, state and socket, CRI disabled; the test stops it.
func startContainerd(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ecrptc-c")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "c.sock")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644)
	logf, _ := os.Create(filepath.Join(dir, "containerd.log"))
	cmd := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd log (tail):\n%s", tailLines(string(b), 30))
		}
		unmountUnder(dir)
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command("ctr", "--address", sock, "version").Run() != nil {
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd exited:\n%s", tailLines(string(b), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return sock
}
