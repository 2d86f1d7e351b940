package frontend_test

// The end-to-end harness: a real buildkitd (built from the pinned buildkit module, the go.mod tool
// directive) with Debian's runc, on a private socket and root; the sandbox as the ECR pull-through cache;
// the frontend image pushed to a loopback registry; recording proxies in front of the sandbox's upstream
// stand-ins so that every pull that did not go through the cache is seen. Everything it starts, it stops.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

const buildkitVersion = "v0.34.2" // the go.mod pin; stamped into the binaries so versions read right

// needs skips (locally) or fails (in CI, where no end-to-end test may skip) when the machine lacks what
// a real buildkitd needs.
func needs(tb testing.TB) {
	tb.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (buildkitd runs rootful here)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		missing = append(missing, "runc (apt-get install -y runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing = append(missing, "a static /bin/busybox (apt-get install -y busybox-static)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the BuildKit end-to-end tests need " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// world is one buildkitd, one sandbox and the frontend images, shared by the cases of a test.
type world struct {
	tb       testing.TB
	dir      string // short: unix socket paths are limited to 108 bytes
	bin      string
	bkd      string // the buildkitd binary: the pinned one, or ECR_PTC_BUILDKITD's
	bkVer    semver // its release
	sock     string
	sb       *sandbox.Sandbox
	token    string
	feHost   string
	frontend string // our frontend image, on the loopback frontend registry
	stock    string // the stock Dockerfile frontend packaged the same way (benchmarks)
	proxies  map[string]*recorder
	env      []string // buildctl's environment
	bkLog    *bytes.Buffer
	mu       sync.Mutex
}

// recorder is a reverse proxy in front of an upstream stand-in that logs each request: buildkitd's
// mirrors send the direct (non-cache) pulls through it.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

// pulls are the manifest and blob requests (not the /v2/ version checks).
func (r *recorder) pulls() []string {
	var out []string
	for _, l := range r.log() {
		if strings.Contains(l, "/manifests/") || strings.Contains(l, "/blobs/") {
			out = append(out, l)
		}
	}
	return out
}

func newRecorder(target string) *recorder {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		rp.ServeHTTP(w, req)
	}))
	return r
}

var buildLock sync.Mutex

// buildBinaries builds buildkitd, buildctl and the frontends once into a cache directory; go build skips
// the link when a binary is up to date, so later runs cost about a second.
func buildBinaries(tb testing.TB) string {
	tb.Helper()
	buildLock.Lock()
	defer buildLock.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ecr-ptc", "buildkit-e2e-"+runtime.GOARCH)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	// Two test processes (tests and benchmarks) may build at once.
	defer lockDir(tb, dir)()

	// go test puts its own GOROOT/bin first on the PATH of the test process.
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("no go command on PATH: %v", err)
	}
	ldflags := "-s -w -X github.com/moby/buildkit/version.Version=" + buildkitVersion
	run := func(env []string, args ...string) {
		cmd := exec.Command(goBin, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(nil, "build", "-ldflags", ldflags, "-o", dir+"/", "github.com/moby/buildkit/cmd/buildkitd", "github.com/moby/buildkit/cmd/buildctl")
	static := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH}
	tags := "netgo osusergo static_build"
	run(static, "build", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", filepath.Join(dir, "ecr-ptc-frontend"), "github.com/ecr-ptc/ecr-ptc/buildkit-frontend")
	run(static, "build", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", filepath.Join(dir, "dockerfile-frontend"), "github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend")
	return dir
}

// lockDir takes the binaries' cache directory for this process (tests and benchmarks may build at
// once) and returns the unlock.
func lockDir(tb testing.TB, dir string) func() {
	tb.Helper()
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		tb.Fatal(err)
	}
	return func() {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	}
}

// buildxVersion is the docker buildx release that pairs with BuildKit v0.34.2 (its go.mod requires it).
// It is built from its own module, not a go.mod tool line: its dependencies would move ours.
const buildxVersion = "v0.38.2"

// buildBuildx builds docker buildx from the module proxy into the binaries' cache directory (go install
// skips the link when it is up to date); only the buildx case needs it.
func buildBuildx(tb testing.TB, dir string) string {
	tb.Helper()
	buildLock.Lock()
	defer buildLock.Unlock()
	defer lockDir(tb, dir)()
	cmd := exec.Command("go", "install", "-ldflags", "-s -w", "github.com/docker/buildx/cmd/buildx@"+buildxVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go install buildx@%s: %v\n%s", buildxVersion, err, out)
	}
	return filepath.Join(dir, "buildx")
}

func newWorld(tb testing.TB) *world { return newWorldFor(tb, sandbox.Config{RateLimit: -1}, true) }

// newWorldFor is newWorld with the sandbox's configuration (shaping for the cold-build benchmark); without
// withBuildkitd no buildkitd is started (the Docker Engine test runs dockerd's embedded BuildKit instead).
func newWorldFor(tb testing.TB, cfg sandbox.Config, withBuildkitd bool) *world {
	tb.Helper()
	needs(tb)
	w := &world{tb: tb, bkLog: &bytes.Buffer{}, proxies: map[string]*recorder{}}
	w.bin = buildBinaries(tb)
	w.bkd, w.bkVer = buildkitdUnderTest(tb, w.bin)
	dir, err := os.MkdirTemp("", "ecrptc-bk-")
	if err != nil {
		tb.Fatal(err)
	}
	w.dir = dir
	tb.Cleanup(func() { removeAll(dir) })

	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); sb.Close() })
	w.sb = sb
	// The account's rules: Docker Hub, GHCR and ECR Public, but none for Quay (the no-rule fallback case).
	for _, n := range []string{"docker-hub", "github", "ecr-public"} {
		up, _ := rules.ByName(n)
		r := rules.Rule{ECRRepositoryPrefix: up.DefaultPrefix, UpstreamRegistryURL: up.URL, UpstreamRegistry: up.Enum}
		if up.NeedsCredential {
			r.CredentialArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/" + n
		}
		sb.Store.PutRule(r)
	}
	w.token, _ = sb.Store.IssueToken(12 * time.Hour)
	for name, addr := range sb.Upstreams {
		rec := newRecorder(addr)
		tb.Cleanup(rec.srv.Close)
		w.proxies[name] = rec
	}

	// A static busybox in an image so that RUN steps really execute under runc.
	if _, err := sb.SeedImage("docker-hub", "library/busybox", "static", []string{"linux/" + runtime.GOARCH}, busyboxLayer(tb)); err != nil {
		tb.Fatal(err)
	}

	// The frontend images on a loopback registry of their own.
	feReg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nopLogger())))
	tb.Cleanup(feReg.Close)
	feHost := strings.TrimPrefix(feReg.URL, "http://")
	w.frontend = feHost + "/ecr-ptc/frontend:test"
	w.stock = feHost + "/stock/dockerfile:test"
	w.pushFrontend(filepath.Join(w.bin, "ecr-ptc-frontend"), "/bin/ecr-ptc-frontend", w.frontend,
		// Also published "upstream" on GHCR, so it can be pulled through the cache like any image.
		sb.Upstreams["github"]+"/ecrptc/frontend:test")
	w.pushFrontend(filepath.Join(w.bin, "dockerfile-frontend"), "/bin/dockerfile-frontend", w.stock)

	// buildctl's session answers registry auth from this Docker config: AWS:<token> for the cache, as
	// `ecr-ptc login` writes it.
	dockerDir := filepath.Join(dir, "docker")
	if _, err := authfile.Write(filepath.Join(dockerDir, "config.json"), []authfile.Credential{{Host: sb.RegistryHost, Username: "AWS", Password: w.token}}); err != nil {
		tb.Fatal(err)
	}
	w.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + dockerDir}

	w.feHost = feHost
	if withBuildkitd {
		w.sock = w.startBuildkitd("bk", w.registryConfig(feHost))
	}
	return w
}

// semver is a BuildKit release as [major, minor, patch].
type semver [3]int

func (v semver) atLeast(o semver) bool {
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

func (v semver) String() string { return fmt.Sprintf("v%d.%d.%d", v[0], v[1], v[2]) }

// policiesOnResolve is the first release seen to apply the source policies a frontend sends with a
// resolve (the fallback's progress step then replaces the failed cache attempt's).
var policiesOnResolve = semver{0, 34, 0}

// buildkitdUnderTest is the buildkitd the end-to-end tests run: ECR_PTC_BUILDKITD names another release
// (`make test-compat` builds older ones from the module proxy), else the pinned one. Its release comes
// from `buildkitd --version`.
func buildkitdUnderTest(tb testing.TB, bin string) (string, semver) {
	tb.Helper()
	path := filepath.Join(bin, "buildkitd")
	if p := os.Getenv("ECR_PTC_BUILDKITD"); p != "" {
		path = p
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		tb.Fatalf("%s --version: %v\n%s", path, err, out)
	}
	m := regexp.MustCompile(`\bv(\d+)\.(\d+)\.(\d+)\b`).FindStringSubmatch(string(out))
	if m == nil {
		tb.Fatalf("%s --version does not name a release: %q", path, out)
	}
	var v semver
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	tb.Logf("buildkitd %s (%s)", v, path)
	return path, v
}

func (w *world) pushFrontend(binary, path string, refs ...string) {
	w.tb.Helper()
	// Fast compression: the size that matters is measured by the benchmark and make frontend-sizes.
	idx, err := frontendimage.Build(frontendimage.Spec{Binaries: map[string]string{"linux/" + runtime.GOARCH: binary}, Path: path, CompressionLevel: gzip.BestSpeed})
	if err != nil {
		w.tb.Fatal(err)
	}
	for _, ref := range refs {
		if err := frontendimage.Push(context.Background(), idx, ref, nil); err != nil {
			w.tb.Fatal(err)
		}
	}
}

// ecrHost is a private ECR registry name that buildkitd mirrors to the sandbox's registry, so that a
// frontend pulled "from ECR" can be tested offline.
const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// registryConfig is the [registry] part of the main buildkitd.toml: the upstream registries' names go to
// the recording proxies as mirrors (these are the direct pulls, the ones a fallback makes), the ECR name
// to the sandbox, and every loopback registry is plain http.
func (w *world) registryConfig(feHost string) string {
	var cfg strings.Builder
	upstreamHosts := map[string]string{"docker-hub": "docker.io", "github": "ghcr.io", "quay": "quay.io", "ecr-public": "public.ecr.aws"}
	names := make([]string, 0, len(w.proxies))
	for n := range w.proxies {
		names = append(names, n)
	}
	sort.Strings(names)
	insecure := []string{w.sb.RegistryHost, feHost}
	for _, n := range names {
		fmt.Fprintf(&cfg, "[registry.%q]\n  mirrors = [%q]\n", upstreamHosts[n], w.proxies[n].host())
		insecure = append(insecure, w.proxies[n].host())
	}
	fmt.Fprintf(&cfg, "[registry.%q]\n  mirrors = [%q]\n", ecrHost, w.sb.RegistryHost)
	for _, h := range insecure {
		fmt.Fprintf(&cfg, "[registry.%q]\n  http = true\n  insecure = true\n", h)
	}
	return cfg.String()
}

// startBuildkitd starts a buildkitd named name with the given [registry] configuration and returns its
// socket; cleanup stops its whole process group and detaches what it left mounted.
func (w *world) startBuildkitd(name, registryConfig string) string {
	w.tb.Helper()
	sock := filepath.Join(w.dir, name+".sock")
	root := filepath.Join(w.dir, name+"-root")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "root = %q\n[grpc]\n  address = [%q]\n", root, "unix://"+sock)
	// snapshotter auto: overlayfs where the kernel allows it, else native. No GC during a test run.
	cfg.WriteString("[worker.oci]\n  enabled = true\n  snapshotter = \"auto\"\n  gc = false\n[worker.containerd]\n  enabled = false\n")
	cfg.WriteString(registryConfig)
	cfgPath := filepath.Join(w.dir, name+".toml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		w.tb.Fatal(err)
	}
	cmd := exec.Command(w.bkd, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = w.logWriter(), w.logWriter()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "TMPDIR=" + w.dir}
	if err := cmd.Start(); err != nil {
		w.tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.tb.Cleanup(func() {
		// The whole process group: buildkitd and any runc it left.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		unmountUnder(root)
		if w.tb.Failed() {
			w.tb.Logf("buildkitd %s log (tail):\n%s", name, tail(w.bkLogString(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(w.bin, "buildctl"), "--addr", "unix://"+sock, "debug", "workers").CombinedOutput()
		if err == nil && strings.Contains(string(out), "linux/") {
			return sock
		}
		select {
		case <-done:
			w.tb.Fatalf("buildkitd exited:\n%s", w.bkLogString())
		default:
		}
		if time.Now().After(deadline) {
			w.tb.Fatalf("buildkitd did not become ready: %v %s\n%s", err, out, w.bkLogString())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct{ w *world }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	return l.w.bkLog.Write(p)
}

func (w *world) logWriter() lockedWriter { return lockedWriter{w} }

func (w *world) bkLogString() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bkLog.String()
}

// unmountUnder detaches mounts buildkitd left under root (after a kill), so the directory can go.
func unmountUnder(root string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
			mps = append(mps, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mps)))
	for _, mp := range mps {
		_ = syscall.Unmount(mp, syscall.MNT_DETACH)
	}
}

func removeAll(dir string) {
	unmountUnder(dir)
	_ = os.RemoveAll(dir)
}

// busyboxLayer is a layer with Debian's static busybox at /bin/busybox and the applets a test uses.
func busyboxLayer(tb testing.TB) []byte {
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755, ModTime: mt})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(data)), ModTime: mt})
	_, _ = tw.Write(data)
	for _, a := range []string{"sh", "cat", "echo", "ls", "mkdir", "cp", "uname", "test", "["} {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mt})
	}
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mt})
	_ = tw.Close()
	return buf.Bytes()
}

// build is one buildctl build.
type build struct {
	dockerfile string
	files      map[string]string // more files in the context
	args       map[string]string // build args
	opts       map[string]string // other frontend options (context:..., platform)
	gateway    string            // when set, run this frontend image directly (--frontend gateway.v0)
	noOutput   bool
	rawjson    bool   // --progress rawjson instead of plain
	sock       string // another buildkitd than the world's
}

type result struct {
	out    string // buildctl's output (plain progress)
	err    error
	dir    string // the built filesystem (--output type=local)
	meta   map[string]json.RawMessage
	report report.FrontendReport
	// policies: the daemon applies the source policies sent with a resolve, so a fallback ends the cache
	// attempt's progress step (else the attempt ends ERROR and a FALLBACK step follows).
	policies bool
}

func (w *world) build(b build) result {
	w.tb.Helper()
	ctxDir, err := os.MkdirTemp(w.dir, "ctx-")
	if err != nil {
		w.tb.Fatal(err)
	}
	files := map[string]string{"Dockerfile": b.dockerfile}
	for k, v := range b.files {
		files[k] = v
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(body), 0o644); err != nil {
			w.tb.Fatal(err)
		}
	}
	out := filepath.Join(ctxDir, "out")
	metaFile := filepath.Join(ctxDir, "metadata.json")
	progress := "plain"
	if b.rawjson {
		progress = "rawjson"
	}
	sock := w.sock
	if b.sock != "" {
		sock = b.sock
	}
	args := []string{"--addr", "unix://" + sock, "build", "--progress", progress,
		"--local", "context=" + ctxDir, "--local", "dockerfile=" + ctxDir, "--metadata-file", metaFile}
	if b.gateway != "" {
		args = append(args, "--frontend", "gateway.v0", "--opt", "source="+b.gateway)
	} else {
		args = append(args, "--frontend", "dockerfile.v0")
	}
	if !b.noOutput {
		args = append(args, "--output", "type=local,dest="+out)
	}
	for _, k := range sortedKeys(b.args) {
		args = append(args, "--opt", "build-arg:"+k+"="+b.args[k])
	}
	for _, k := range sortedKeys(b.opts) {
		args = append(args, "--opt", k+"="+b.opts[k])
	}
	cmd := exec.Command(filepath.Join(w.bin, "buildctl"), args...)
	cmd.Env = w.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	o := append(stderr.Bytes(), stdout.Bytes()...)
	r := result{out: string(o), err: err, dir: out, policies: w.bkVer.atLeast(policiesOnResolve)}
	w.noSecrets(r.out, "buildctl's output")
	if data, rerr := os.ReadFile(metaFile); rerr == nil {
		w.noSecrets(string(data), "the metadata file")
		if jerr := json.Unmarshal(data, &r.meta); jerr != nil {
			w.tb.Fatalf("metadata file: %v\n%s", jerr, data)
		}
		if rep, ok := r.meta[report.MetadataKey]; ok {
			// buildctl decoded the base64 value and embedded the JSON object.
			if jerr := json.Unmarshal(rep, &r.report); jerr != nil {
				w.tb.Fatalf("report: %v\n%s", jerr, rep)
			}
			// The contract `ecr-ptc report` reads.
			if _, perr := report.ParseMetadata(data); perr != nil {
				w.tb.Errorf("ecr-ptc report cannot read the metadata file: %v", perr)
			}
		}
	}
	return r
}

// noSecrets fails when text holds a secret the sandbox handed out (the registry token above all).
func (w *world) noSecrets(text, where string) {
	w.tb.Helper()
	for _, s := range append(w.sb.Secrets(), w.token) {
		if len(s) >= 8 && strings.Contains(text, s) {
			w.tb.Errorf("%s contains a secret (%.6s…)", where, s)
		}
	}
}

// relogin issues a new ECR token and writes it to the Docker config, as `ecr-ptc login` would after the
// old one expired.
func (w *world) relogin() {
	w.token, _ = w.sb.Store.IssueToken(12 * time.Hour)
	if _, err := authfile.Write(filepath.Join(w.dir, "docker", "config.json"), []authfile.Credential{{Host: w.sb.RegistryHost, Username: "AWS", Password: w.token}}); err != nil {
		w.tb.Fatal(err)
	}
}

func (w *world) resetCounters() {
	w.sb.Stats.Reset()
	for _, p := range w.proxies {
		p.reset()
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
