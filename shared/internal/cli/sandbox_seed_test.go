package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
)

// `sandbox --seed` publishes a user's own image names on a stand-in, so that their Dockerfiles resolve
// through the emulated cache: setup warms myorg/base:1 like any Docker Hub image (reference: a cold pull
// through the cache imports the upstream image).
func TestSandboxSeedFlag(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sandbox.env")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var sbOut, sbErr bytes.Buffer
	go func() {
		done <- cli.Main(ctx, []string{"sandbox", "--with-rules", "--seed", "docker-hub/myorg/base:1", "--env-file", envFile},
			cli.Env{Stdin: strings.NewReader(""), Stdout: &sbOut, Stderr: &sbErr, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("sandbox exit %d: %s", code, sbErr.String())
		}
	}()
	var data []byte
	for start := time.Now(); time.Since(start) < 30*time.Second && len(data) == 0; time.Sleep(20 * time.Millisecond) {
		data, _ = os.ReadFile(envFile)
	}
	vars := map[string]string{"DOCKER_CONFIG": filepath.Join(dir, "docker"), "HOME": dir}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	// The SDK reads its endpoints and credentials from the process environment.
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	app := filepath.Join(dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "Dockerfile"), []byte("FROM myorg/base:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ecrptc(t, "", vars, "setup", app, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"outcome": "warmed"`) || !strings.Contains(r.stdout, "docker-hub/myorg/base:1") {
		t.Fatalf("setup of a seeded image: %+v", r)
	}
	for _, c := range []struct{ seed, want string }{{"nope", "is not UPSTREAM/REPOSITORY:TAG"}, {"nowhere/x:1", "no upstream stand-in"}} {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), []string{"sandbox", "--seed", c.seed, "--", "true"}, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != 2 || !strings.Contains(first, c.want) {
			t.Errorf("--seed %q: exit %d, %q; want 2 and a sentence with %q", c.seed, code, errb.String(), c.want)
		}
	}
}
