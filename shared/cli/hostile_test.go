package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
