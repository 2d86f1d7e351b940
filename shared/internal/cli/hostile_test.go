package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/actions"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Issue 11: the token cache is a directory, not a credential. A cached entry is reused only after the
// caller's own credentials proved its identity (no OIDC token: no login), only for the registries of
// that identity (a planted host is ignored), and only from a directory that is the user's alone.
func TestE2ETokenCacheTrustsNoFile(t *testing.T) {
	w := newWorld(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{"ci": {Subjects: []string{"repo:example/app:*"}}}})
	w.withoutStaticKeys()
	cache := filepath.Join(w.dir, "tokens")
	w.set("GITHUB_ACTIONS", "true", "ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken, "GITHUB_RUN_ID", "42",
		"ECR_PTC_TOKEN_CACHE", cache)
	if r := w.run("login", "--role-arn", role); r.code != 0 {
		t.Fatalf("first login: %+v", r)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the cache directory: %v %v", fi, err)
	}
	before := w.stats().ECRRequests["GetAuthorizationToken"]
	if r := w.run("login", "--role-arn", role, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"cached": true`) {
		t.Fatalf("second login did not reuse the cache: %+v", r)
	}
	if got := w.stats().ECRRequests["GetAuthorizationToken"] - before; got != 0 {
		t.Errorf("GetAuthorizationToken called %d times with a valid cache entry", got)
	}

	// No OIDC token at all: the cache must not stand in for the login.
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	w.apply()
	if r := w.run("login", "--role-arn", role); r.code == 0 {
		t.Fatalf("login succeeded from the cache with no OIDC token: %+v", r)
	}
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken)

	// A planted host in the identity's own entry is not a registry of that identity.
	entries, _ := filepath.Glob(filepath.Join(cache, "ecr-token-*.json"))
	if len(entries) == 0 {
		t.Fatal("no cache entry")
	}
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		evil := strings.ReplaceAll(string(data), w.sb.RegistryHost, "evil.example.com")
		if err := os.WriteFile(e, []byte(evil), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before = w.stats().ECRRequests["GetAuthorizationToken"]
	r := w.run("login", "--role-arn", role, "--json")
	if r.code != 0 || strings.Contains(r.stdout, "evil.example.com") || strings.Contains(r.stdout, `"cached": true`) {
		t.Fatalf("a planted host was used: %+v", r)
	}
	if got := w.stats().ECRRequests["GetAuthorizationToken"] - before; got != 1 {
		t.Errorf("GetAuthorizationToken called %d times after a planted entry, want 1", got)
	}
	data, _ := os.ReadFile(filepath.Join(w.env["DOCKER_CONFIG"], "config.json"))
	if strings.Contains(string(data), "evil.example.com") {
		t.Error("the Docker config names the planted host")
	}

	// A directory others can write to is refused in one sentence.
	shared := filepath.Join(w.dir, "shared-tokens")
	os.MkdirAll(shared, 0o777)
	os.Chmod(shared, 0o777)
	r = w.run("login", "--role-arn", role, "--token-cache", shared)
	if r.code == 0 || !strings.Contains(r.stderr, "must be a directory owned by you with mode 0700") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("a 0777 token cache: %+v", r)
	}
	w.done()
}

// Issue 11: discovery reads only regular files inside the scanned tree. A Dockerfile.x symlink to a
// secret outside the tree, to /proc/self/environ or to /dev/zero is never read or echoed; a symlink
// that stays inside the tree is followed.
func TestDiscoveryStaysInTheTree(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	outside := filepath.Join(w.dir, "secret.txt")
	os.WriteFile(outside, []byte("FROM alpine\nRUN echo TOPSECRETPASSWORD\n"), 0o600)
	src := filepath.Join(w.dir, "repo")
	os.MkdirAll(filepath.Join(src, "app"), 0o755)
	os.WriteFile(filepath.Join(src, "app", "Dockerfile"), []byte("FROM alpine:3.20\n"), 0o644)
	os.Symlink(outside, filepath.Join(src, "Dockerfile.secret"))
	os.Symlink("/proc/self/environ", filepath.Join(src, "Dockerfile.env"))
	os.Symlink("/dev/zero", filepath.Join(src, "Dockerfile.zero"))
	os.Symlink(filepath.Join(src, "app", "Dockerfile"), filepath.Join(src, "Dockerfile.inside"))
	os.Symlink(filepath.Dir(outside), filepath.Join(src, "outside-dir"))
	t.Setenv("ECR_PTC_CANARY", "CANARYVALUE42")

	r := w.run("scan", src, "--list-files")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	files := strings.Fields(r.stdout)
	want := []string{filepath.Join(src, "Dockerfile.inside"), filepath.Join(src, "app", "Dockerfile")}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("found %v, want %v", files, want)
	}
	r = w.run("scan", src)
	for _, leak := range []string{"TOPSECRETPASSWORD", "CANARYVALUE42", "secret.txt"} {
		if strings.Contains(r.stdout+r.stderr, leak) {
			t.Errorf("scan printed %q: %+v", leak, r)
		}
	}
	// A relative -f from a glob that leads out of the tree is refused, in one sentence.
	wd, _ := os.Getwd()
	os.Chdir(src)
	defer os.Chdir(wd)
	r = w.run("scan", "-f", "Dockerfile.secret")
	if r.code == 0 || !strings.Contains(r.stderr, "symlink to outside") || strings.Contains(r.stderr, "TOPSECRET") {
		t.Errorf("-f symlink out of the tree: %+v", r)
	}
}

// Issue 11: on GitHub the OIDC token and the STS session credentials are masked by every command that
// uses them, not only login and setup: warm, lock and doctor too.
func TestGitHubMasksInEveryCommand(t *testing.T) {
	w := newWorld(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{"ci": {Subjects: []string{"repo:example/app:*"}}}})
	w.withoutStaticKeys()
	w.ruleDefaults("docker-hub")
	w.set("GITHUB_ACTIONS", "true", "ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken, "GITHUB_RUN_ID", "42")
	src := w.dockerfile("FROM alpine:3.20\n")
	lockFile := filepath.Join(w.dir, "ecr-ptc.lock.json")
	for _, args := range [][]string{
		{"warm", src, "--role-arn", role},
		{"lock", src, "--role-arn", role, "-o", lockFile},
		{"doctor", "--role-arn", role},
	} {
		var stdout, stderr strings.Builder
		getenv := func(k string) string { return w.env[k] }
		before := map[string]bool{}
		for _, s := range w.sb.Secrets() {
			before[s] = true
		}
		cli.Main(context.Background(), args, cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: getenv,
			Platforms: []ciplatform.Platform{actions.New(getenv, &stdout)}})
		masked := map[string]bool{}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if m, ok := strings.CutPrefix(line, "::add-mask::"); ok {
				masked[m] = true
			}
		}
		// Every secret issued during the command (OIDC token, STS secret key and session token) is masked.
		n := 0
		for _, s := range w.sb.Secrets() {
			if before[s] || len(s) < 8 {
				continue
			}
			n++
			if !masked[s] {
				t.Errorf("%s: a secret issued during the command was not masked (%.6s…)", args[0], s)
			}
		}
		if n < 3 {
			t.Errorf("%s: %d secrets issued; want the OIDC token and the session's secret key and token (stderr %.500s)", args[0], n, stderr.String())
		}
	}
}
