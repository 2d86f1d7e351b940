package frontend_test

// The frontend under Docker Engine's embedded BuildKit: Debian's docker.io (20.10), with dockerd started
// by the test on private paths and socket, `DOCKER_BUILDKIT=1 docker build` and `# syntax=`. Docker's
// classic image store answers ResolveImageConfig for an image it already holds with no digest (moby's
// builder does so on purpose), so every case runs with the images absent and again after `docker pull`.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// dockerEngine is one dockerd with its CLI.
type dockerEngine struct {
	cli  string
	env  []string
	sock string
}

// needsDocker skips (locally) or fails (in CI) without Debian's docker.io.
func needsDocker(tb testing.TB) (dockerd, cli string) {
	tb.Helper()
	dockerd, err := exec.LookPath("dockerd")
	cli = os.Getenv("ECR_PTC_DOCKER")
	if cli == "" {
		// Debian's CLI pairs with its dockerd; a newer CLI on the PATH needs the buildx plugin to build.
		cli = "/usr/bin/docker"
	}
	if _, serr := os.Stat(cli); err != nil || serr != nil {
		msg := "the Docker Engine end-to-end test needs dockerd and its docker CLI (apt-get install -y docker.io)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return dockerd, cli
}

// startDockerd starts dockerd on private paths: no iptables, no bridge (builds run with --network
// none); Docker Hub goes to the recording proxy as dockerd's registry mirror, so a fallback's direct
// pulls are seen. Loopback registries are insecure (plain http) for dockerd by default.
func (w *world) startDockerd(dockerd, cli string) *dockerEngine {
	w.tb.Helper()
	d := filepath.Join(w.dir, "dk")
	for _, sub := range []string{"data", "exec"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			w.tb.Fatal(err)
		}
	}
	sock := filepath.Join(d, "docker.sock")
	cmd := exec.Command(dockerd, "--data-root", filepath.Join(d, "data"), "--exec-root", filepath.Join(d, "exec"),
		"-H", "unix://"+sock, "--pidfile", filepath.Join(d, "docker.pid"), "--iptables=false", "--bridge=none",
		"--registry-mirror", "http://"+w.proxies["docker-hub"].host())
	cmd.Stdout, cmd.Stderr = w.logWriter(), w.logWriter()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "TMPDIR=" + w.dir}
	if err := cmd.Start(); err != nil {
		w.tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.tb.Cleanup(func() {
		// dockerd stops the containerd it started itself.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		unmountUnder(d)
		if w.tb.Failed() {
			w.tb.Logf("dockerd log (tail):\n%s", tail(w.bkLogString(), 60))
		}
	})
	e := &dockerEngine{cli: cli, sock: sock,
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "DOCKER_CONFIG=" + filepath.Join(w.dir, "docker"), "DOCKER_HOST=unix://" + sock, "DOCKER_BUILDKIT=1"}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := e.run("version", "--format", "{{.Server.Version}}")
		if err == nil {
			w.tb.Logf("dockerd %s", strings.TrimSpace(out))
			return e
		}
		select {
		case <-done:
			w.tb.Fatalf("dockerd exited:\n%s", tail(w.bkLogString(), 40))
		default:
		}
		if time.Now().After(deadline) {
			w.tb.Fatalf("dockerd did not become ready: %v %s\n%s", err, out, tail(w.bkLogString(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *dockerEngine) run(args ...string) (string, error) {
	cmd := exec.Command(e.cli, args...)
	cmd.Env = e.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// build runs `docker build --progress=plain --network none` of dockerfile with build args, writing the
// result's filesystem to a directory (returned).
func (w *world) dockerBuild(e *dockerEngine, dockerfile string, args map[string]string) (string, string, error) {
	w.tb.Helper()
	ctxDir, err := os.MkdirTemp(w.dir, "dctx-")
	if err != nil {
		w.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		w.tb.Fatal(err)
	}
	out := filepath.Join(ctxDir, "out")
	a := []string{"build", "--progress=plain", "--network", "none", "--output", "type=local,dest=" + out}
	for _, k := range sortedKeys(args) {
		a = append(a, "--build-arg", k+"="+args[k])
	}
	text, err := e.run(append(a, ctxDir)...)
	w.noSecrets(text, "docker build's output")
	return text, out, err
}

func TestE2EDockerEngine(t *testing.T) {
	dockerd, cli := needsDocker(t)
	w := newWorldFor(t, sandbox.Config{RateLimit: -1}, false)
	e := w.startDockerd(dockerd, cli)
	reg := w.sb.RegistryHost
	syntax := "# syntax=" + w.frontend + "\n"
	cfg := map[string]string{"ECR_PTC_REGISTRY": reg}
	with := func(kv ...string) map[string]string {
		out := map[string]string{"ECR_PTC_REGISTRY": reg}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	pinned := w.upstreamDigest("docker-hub", "library/python:3.12-slim")
	cacheRef := reg + "/docker-hub/library/python:3.12-slim"
	summaryStep := func(t *testing.T, out, want string) {
		t.Helper()
		if !regexp.MustCompile(`(?m)^#\d+ ` + regexp.QuoteMeta(want)).MatchString(out) {
			t.Errorf("no summary step %q in docker build's progress:\n%s", want, out)
		}
	}
	builtFrom := func(t *testing.T, dir, want string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, "etc/sandbox-image"))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("etc/sandbox-image = %q (%v), want %q", data, err, want)
		}
	}

	for _, state := range []string{"absent", "already local"} {
		if state == "already local" {
			// The cache ref in Docker's image store: moby's builder then answers it without a digest.
			if out, err := e.run("pull", cacheRef); err != nil {
				t.Fatalf("docker pull %s: %v\n%s", cacheRef, err, out)
			}
		}
		t.Run(state+": tag@digest pin kept and served from the cache", func(t *testing.T) {
			w.resetCounters()
			out, dir, err := w.dockerBuild(e, syntax+"FROM python:3.12-slim@"+pinned+"\n", cfg)
			if err != nil {
				t.Fatalf("docker build: %v\n%s", err, out)
			}
			if testing.Verbose() {
				t.Logf("%s", out)
			}
			summaryStep(t, out, "ecr-ptc: 1 image — 1 via the cache")
			if strings.Contains(out, "FALLBACK") {
				t.Errorf("a fallback:\n%s", out)
			}
			builtFrom(t, dir, "library/python:3.12-slim")
			w.noDirectPulls(t)
		})
		t.Run(state+": ECR_PTC_LOCK right passes, wrong fails naming the image", func(t *testing.T) {
			w.resetCounters()
			out, _, err := w.dockerBuild(e, syntax+"FROM python:3.12-slim\n", with("ECR_PTC_LOCK", "docker.io/library/python:3.12-slim="+pinned))
			if err != nil {
				t.Fatalf("a right lock failed: %v\n%s", err, out)
			}
			summaryStep(t, out, "ecr-ptc: 1 image — 1 via the cache")
			w.noDirectPulls(t)
			out, _, err = w.dockerBuild(e, syntax+"FROM python:3.12-slim\n", with("ECR_PTC_LOCK", "docker.io/library/python:3.12-slim=sha256:"+strings.Repeat("0", 64)))
			if err == nil || !strings.Contains(out, "ECR_PTC_LOCK locks docker.io/library/python:3.12-slim") {
				t.Errorf("a wrong lock must fail naming the image: %v\n%s", err, tail(out, 20))
			}
		})
		t.Run(state+": a cache miss falls back and the build succeeds", func(t *testing.T) {
			w.resetCounters()
			// A prefix no rule in the registry has: the cache answers not found, as a cache without the
			// image's rule does; Docker Hub is dockerd's mirror, the recording proxy.
			out, dir, err := w.dockerBuild(e, syntax+"FROM alpine:3.20\n", with("ECR_PTC_RULES", "docker.io=nohub"))
			if err != nil {
				t.Fatalf("the fallback failed the build: %v\n%s", err, out)
			}
			if testing.Verbose() {
				t.Logf("%s", out)
			}
			if !strings.Contains(out, "FALLBACK to the original registry") {
				t.Errorf("no FALLBACK step:\n%s", out)
			}
			summaryStep(t, out, "ecr-ptc: 1 image — 0 via the cache, 1 FALLBACK (docker.io/library/alpine:3.20: ")
			builtFrom(t, dir, "registry-1.docker.io/library/alpine:3.20")
			w.directPullsOnly(t, "docker-hub", "library/alpine")
		})
	}
}
