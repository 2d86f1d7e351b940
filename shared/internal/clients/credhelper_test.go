package clients_test

// The credential helper with the clients that run it: Debian's docker.io 20.10 (the docker CLI runs
// docker-credential-ecr-ptc and hands the login to dockerd) and buildctl against a real buildkitd (the
// client-side session reads config.json and runs the helper). The sandbox's registry refuses anonymous
// pulls, and issues short-lived tokens here so that a token expires in the middle of the run.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// debianDocker is Debian's docker.io CLI; another docker may be first on PATH.
const debianDocker = "/usr/bin/docker"

func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if citest.InCI() {
		t.Fatalf("%s needs root", what)
	}
	t.Skipf("%s needs root", what)
}

// helperWorld is a sandbox, ecr-ptc linked as docker-credential-ecr-ptc on PATH, and a Docker config
// pointing the sandbox registry at the helper (written by login --helper).
func helperWorld(t *testing.T, ttl time.Duration) (*citest.World, string) {
	t.Helper()
	w := citest.Start(t)
	bin := citest.Binary(t)
	links := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(links, "docker-credential-ecr-ptc")); err != nil {
		t.Fatal(err)
	}
	w.Set("PATH", links+string(os.PathListSeparator)+os.Getenv("PATH"), "ECR_PTC_TOKEN_CACHE", filepath.Join(w.Dir, "tokens"))
	w.SB.Store.SetTokenTTL(ttl)
	// A password some earlier login left: --helper removes it.
	cfgPath := filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json")
	os.MkdirAll(filepath.Dir(cfgPath), 0o700)
	os.WriteFile(cfgPath, []byte(`{"auths":{"`+w.SB.RegistryHost+`":{"auth":"QVdTOm9sZA=="},"other.example":{"auth":"eDp5"}}}`), 0o600)
	out, err := w.Run(t, w.Dir, bin, "login", "--helper", "--ci", "none")
	w.NoSecrets(t, out, "login --helper output")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	data, _ := os.ReadFile(cfgPath)
	var doc struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredHelpers map[string]string          `json:"credHelpers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.CredHelpers[w.SB.RegistryHost] != "ecr-ptc" || doc.Auths[w.SB.RegistryHost] != nil || doc.Auths["other.example"] == nil {
		t.Fatalf("config.json after login --helper:\n%s", data)
	}
	w.NoSecretsInFiles(t, cfgPath)
	return w, bin
}

// TestCredentialHelperProtocol drives the helper as Docker does: argv[0] docker-credential-ecr-ptc, the
// server on stdin, the answer on stdout.
func TestCredentialHelperProtocol(t *testing.T) {
	w, bin := helperWorld(t, 0)
	helper := filepath.Join(filepath.SplitList(w.Getenv("PATH"))[0], "docker-credential-ecr-ptc")
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(helper, args...)
		cmd.Env = w.Environ()
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		return string(out), err
	}
	out, err := run(w.SB.RegistryHost+"\n", "get")
	if err != nil {
		t.Fatalf("get: %v %s", err, out)
	}
	var got struct{ ServerURL, Username, Secret string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Username != "AWS" || !w.SB.Store.ValidToken(got.Secret) || got.ServerURL != w.SB.RegistryHost {
		t.Fatalf("get answered %v (err %v)", got.ServerURL, err)
	}
	// The same through the subcommand, from the token cache.
	before := w.SB.Stats.Snapshot().ECRRequests["GetAuthorizationToken"]
	cmd := exec.Command(bin, "credential-helper", "get")
	cmd.Env, cmd.Stdin = w.Environ(), strings.NewReader("https://"+w.SB.RegistryHost+"/v2/")
	if b, err := cmd.Output(); err != nil || !strings.Contains(string(b), `"Username":"AWS"`) {
		t.Fatalf("credential-helper get: %v", err)
	}
	if after := w.SB.Stats.Snapshot().ECRRequests["GetAuthorizationToken"]; after != before {
		t.Errorf("the second get called ECR (%d → %d): the token cache was not used", before, after)
	}
	for _, c := range []struct{ stdin, action, want string }{
		{"registry.example.com", "get", "credentials not found in native keychain"},
		{`{"ServerURL":"x","Username":"u","Secret":"s"}`, "store", "stores no credentials"},
		{"x", "erase", "stores no credentials"},
	} {
		out, err := run(c.stdin, c.action)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s %q: %v %q", c.action, c.stdin, err, out)
		}
	}
	if out, err := run("", "list"); err != nil || !strings.Contains(out, w.SB.RegistryHost) {
		t.Errorf("list: %v %s", err, out)
	}
	// Docker runs the helper without flags: on a GitHub runner its default cache is a 0700 directory of its
	// own beside the action's 0755 work directory $RUNNER_TEMP/ecr-ptc, which the token cache refuses.
	runnerTemp := filepath.Join(w.Dir, "runner-temp")
	os.MkdirAll(filepath.Join(runnerTemp, "ecr-ptc"), 0o755)
	w.Set("ECR_PTC_TOKEN_CACHE", "", "RUNNER_TEMP", runnerTemp)
	if out, err := run(w.SB.RegistryHost+"\n", "get"); err != nil || !strings.Contains(out, `"Username":"AWS"`) {
		t.Errorf("get with the default cache beside the action's work directory: %v %s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(runnerTemp, "ecr-ptc-tokens")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the default token cache: %v %v", fi, err)
	}
	w.Set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.Dir, "tokens"), "RUNNER_TEMP", "")
	// A registry already sent to another helper is not taken silently.
	cfgPath := filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json")
	os.WriteFile(cfgPath, []byte(`{"credHelpers":{"`+w.SB.RegistryHost+`":"ecr-login"}}`), 0o600)
	out, err = w.Run(t, w.Dir, bin, "login", "--helper", "--ci", "none")
	if err == nil || !strings.Contains(out, "docker-credential-ecr-login") || !strings.Contains(out, "--replace-helper") {
		t.Errorf("shadowing another helper: %v\n%s", err, out)
	}
	if out, err = w.Run(t, w.Dir, bin, "login", "--helper", "--replace-helper", "--ci", "none"); err != nil {
		t.Errorf("--replace-helper: %v\n%s", err, out)
	}
}

// TestCredentialHelperDocker pulls through the sandbox with Debian's docker.io: config.json holds no
// password, the docker CLI gets each login from the helper, and a token that expired between two pulls
// is replaced by a new one.
func TestCredentialHelperDocker(t *testing.T) {
	needRoot(t, "dockerd")
	for _, tool := range []string{"dockerd", debianDocker} {
		if _, err := exec.LookPath(tool); err != nil {
			if citest.InCI() {
				t.Fatalf("%s missing: apt-get install docker.io", tool)
			}
			t.Skipf("%s missing: apt-get install docker.io", tool)
		}
	}
	const ttl = 12 * time.Second
	w, _ := helperWorld(t, ttl)
	sock := startDockerd(t)
	docker := func(args ...string) string {
		t.Helper()
		out, err := w.Run(t, w.Dir, debianDocker, append([]string{"-H", "unix://" + sock}, args...)...)
		w.NoSecrets(t, out, "docker output")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	if v := docker("version", "--format", "{{.Client.Version}}"); !strings.HasPrefix(strings.TrimSpace(v), "20.10") {
		t.Logf("docker CLI version %s (Debian's is 20.10)", strings.TrimSpace(v))
	}
	docker("pull", w.SB.RegistryHost+"/docker-hub/library/alpine:3.20")
	first := w.SB.Stats.Snapshot().ECRRequests["GetAuthorizationToken"]
	time.Sleep(ttl + time.Second) // every token issued so far has expired
	docker("pull", w.SB.RegistryHost+"/docker-hub/library/busybox:1.36")
	if n := w.SB.Stats.Snapshot().ECRRequests["GetAuthorizationToken"]; n <= first {
		t.Errorf("no new token after the old one expired (%d GetAuthorizationToken calls)", n)
	}
	if out := docker("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "busybox:1.36") || !strings.Contains(out, "alpine:3.20") {
		t.Errorf("images: %s", out)
	}
	cfg, _ := os.ReadFile(filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json"))
	if strings.Contains(string(cfg), `"auth"`) && strings.Contains(string(cfg), w.SB.RegistryHost+`": {`) {
		t.Errorf("config.json holds a login for the registry:\n%s", cfg)
	}
	w.NoSecretsInFiles(t, w.Getenv("DOCKER_CONFIG"))
}

// startDockerd starts dockerd on private paths and a unix socket; the test stops it.
func startDockerd(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ecrptc-d") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "docker.sock")
	logf, _ := os.Create(filepath.Join(dir, "dockerd.log"))
	cmd := exec.Command("dockerd", "--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
		"-H", "unix://"+sock, "--pidfile", filepath.Join(dir, "docker.pid"), "--iptables=false", "--bridge=none",
		"--storage-driver=vfs")
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
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Logf("dockerd log (tail):\n%s", tailLines(string(b), 40))
		}
		unmountUnder(dir)
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := exec.Command(debianDocker, "-H", "unix://"+sock, "info").Run(); err == nil {
			return sock
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Fatalf("dockerd exited:\n%s", tailLines(string(b), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dockerd did not become ready in 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCredentialHelperBuildctl builds with buildctl against a real buildkitd: the client's session
// answers buildkitd's auth requests from config.json, which names the helper.
func TestCredentialHelperBuildctl(t *testing.T) {
	needRoot(t, "buildkitd")
	w, _ := helperWorld(t, 0)
	bk := buildkitBinaries(t)
	dir, err := os.MkdirTemp("", "ecrptc-bk")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bk.sock")
	root := filepath.Join(dir, "root")
	cfg := fmt.Sprintf("root = %q\n[grpc]\n  address = [%q]\n[worker.oci]\n  enabled = true\n  snapshotter = \"native\"\n  gc = false\n[worker.containerd]\n  enabled = false\n[registry.%q]\n  http = true\n",
		root, "unix://"+sock, w.SB.RegistryHost)
	os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte(cfg), 0o644)
	logf, _ := os.Create(filepath.Join(dir, "buildkitd.log"))
	cmd := exec.Command(filepath.Join(bk, "buildkitd"), "--config", filepath.Join(dir, "buildkitd.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}
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
			b, _ := os.ReadFile(filepath.Join(dir, "buildkitd.log"))
			t.Logf("buildkitd log (tail):\n%s", tailLines(string(b), 40))
		}
		unmountUnder(dir)
		os.RemoveAll(dir)
	})
	buildctl := filepath.Join(bk, "buildctl")
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command(buildctl, "--addr", "unix://"+sock, "debug", "workers").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("buildkitd did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	src := w.Dockerfile(t, "helper", "FROM "+w.SB.RegistryHost+"/docker-hub/library/alpine:3.20\nCOPY Dockerfile /Dockerfile\n")
	before := w.SB.Stats.Snapshot().UnauthorizedRequests
	out, err := w.Run(t, src, buildctl, "--addr", "unix://"+sock, "build", "--frontend", "dockerfile.v0",
		"--local", "context=.", "--local", "dockerfile=.", "--progress", "plain")
	w.NoSecrets(t, out, "buildctl output")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "alpine:3.20") {
		t.Errorf("the build did not resolve the image:\n%s", out)
	}
	t.Logf("registry requests answered 401 before a login was sent: %d", w.SB.Stats.Snapshot().UnauthorizedRequests-before)
}

// buildkitBinaries builds buildkitd and buildctl from the go.mod tool directive into the cache the
// frontend tests use (go build relinks only when something changed).
func buildkitBinaries(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ecr-ptc", "buildkit-e2e-"+runtime.GOARCH)
	os.MkdirAll(dir, 0o755)
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	cmd := exec.Command("go", "build", "-ldflags", "-s -w -X github.com/moby/buildkit/version.Version=v0.34.2", "-o", dir+"/",
		"github.com/moby/buildkit/cmd/buildkitd", "github.com/moby/buildkit/cmd/buildctl")
	cmd.Dir = citest.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build buildkitd: %v\n%s", err, out)
	}
	return dir
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// unmountUnder detaches whatever a daemon left mounted under dir.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mps = append(mps, f[4])
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mps[i], syscall.MNT_DETACH)
	}
}
