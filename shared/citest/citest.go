// Package citest is what the tests of the CI front doors (actions, gitlab, codebuild) share: the sandbox as
// a CI job sees it, the real ecr-ptc binary, external tools that must not be skipped in CI, JSON-schema
// validation of CI files, and the scan for leaked secrets. Only tests import it. It lives outside
// shared/internal because the doors' tests (actions/, gitlab/, codebuild/) sit outside shared/, and it
// takes its own TB rather than importing testing, so that no non-test file links the test framework.
package citest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Setenv(key, value string)
	TempDir() string
}

// InCI reports whether the tests run in CI, where nothing may be skipped for a missing tool.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of an external tool, or skips the test with how to install it; in CI a missing
// tool fails the test instead.
func Need(t TB, tool, install string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s is not installed, and CI must run this test: %s", tool, install)
	}
	t.Skipf("%s is not installed; install it to run this test: %s", tool, install)
	return ""
}

// RepoRoot is the directory of the module's go.mod.
func RepoRoot(t TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/ecr-ptc/ecr-ptc\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/ecr-ptc/ecr-ptc above the test's directory")
		}
		dir = parent
	}
}

// SchemasDir is ../shared/schemas beside the repository, where the upstream CI schemas live (in CI the
// repository is cloned with shared/ beside it).
func SchemasDir(t TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "schemas")
	if _, err := os.Stat(filepath.Join(dir, "github-action.json")); err != nil {
		if InCI() {
			t.Fatalf("the CI schemas are missing at %s: CI must have shared/ beside the repository", dir)
		}
		t.Skipf("the CI schemas are not at %s (shared/ beside the repository); skipping schema validation", dir)
	}
	return dir
}

// Schema compiles a JSON schema file.
func Schema(t TB, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// YAMLDocs decodes every YAML document of a file into JSON-compatible values.
func YAMLDocs(t TB, path string) []any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// A JSON round trip turns YAML's types into the ones the validator knows.
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var j any
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, j)
	}
}

// Validate checks one decoded document against a schema, naming the file in the failure.
func Validate(t TB, s *jsonschema.Schema, doc any, where string) {
	t.Helper()
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s does not validate: %v", where, err)
	}
}

// Binary builds the real ecr-ptc command into a temporary directory.
func Binary(t TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ecr-ptc")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./shared/cmd/ecr-ptc")
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// World is a running sandbox and the environment a CI job has with it.
type World struct {
	SB  *sandbox.Sandbox
	Dir string
	env map[string]string
}

// Start starts a sandbox with the docker-hub, github and quay rules and returns the world; the sandbox
// stops with the test.
func Start(t TB) *World {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Config{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	for _, n := range []string{"docker-hub", "github", "quay"} {
		up, _ := rules.ByName(n)
		r := rules.Rule{ECRRepositoryPrefix: up.DefaultPrefix, UpstreamRegistryURL: up.URL, UpstreamRegistry: up.Enum}
		if up.NeedsCredential {
			r.CredentialArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/" + n
		}
		sb.Store.PutRule(r)
	}
	w := &World{SB: sb, Dir: t.TempDir(), env: map[string]string{}}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		w.env[k] = v
	}
	w.env["HOME"] = w.Dir
	w.env["DOCKER_CONFIG"] = filepath.Join(w.Dir, "docker")
	// Keep the machine's own AWS setup out of the SDK's default chain.
	w.env["AWS_CONFIG_FILE"] = filepath.Join(w.Dir, "aws-config")
	w.env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(w.Dir, "aws-credentials")
	w.env["AWS_EC2_METADATA_DISABLED"] = "true"
	return w
}

// Set changes the job's environment; an empty value removes the variable.
func (w *World) Set(kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(w.env, kv[i])
			continue
		}
		w.env[kv[i]] = kv[i+1]
	}
}

// Apply mirrors the job's environment into the process for in-process runs (the AWS SDK reads the
// process environment itself); t.Setenv restores it after the test.
func (w *World) Apply(t TB) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "ACTIONS_") || k == "CODEBUILD_BUILD_ID" || k == "GITLAB_CI" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range w.env {
		t.Setenv(k, v)
	}
}

// Getenv reads the job's environment.
func (w *World) Getenv(k string) string { return w.env[k] }

// WithoutStaticKeys leaves the web identity or the container credentials as the only way in.
func (w *World) WithoutStaticKeys() { w.Set("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "") }

// Environ is the environment for a child process: the machine's PATH, HOME-independent Go settings, and
// the job's variables, with every AWS and CI variable of the machine left out.
func (w *World) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "GITLAB_") || strings.HasPrefix(k, "CI_") ||
			strings.HasPrefix(k, "CODEBUILD_") || strings.HasPrefix(k, "ACTIONS_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "ECR_PTC_") ||
			k == "HOME" || k == "DOCKER_CONFIG" || k == "REGISTRY_AUTH_FILE" {
			continue
		}
		out = append(out, kv)
	}
	// Go keeps its caches where the machine has them, not under the job's HOME.
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		if os.Getenv(k) == "" {
			if v, err := exec.Command("go", "env", k).Output(); err == nil {
				out = append(out, k+"="+strings.TrimSpace(string(v)))
			}
		}
	}
	for k, v := range w.env {
		out = append(out, k+"="+v)
	}
	return out
}

// Secrets is every secret the sandbox issued so far.
func (w *World) Secrets() []string { return w.SB.Secrets() }

// NoSecrets fails when text holds any secret the sandbox issued, in the clear or base64-encoded.
func (w *World) NoSecrets(t TB, text, where string) {
	t.Helper()
	for _, s := range w.SB.Secrets() {
		if len(s) < 8 {
			continue
		}
		if strings.Contains(text, s) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte("AWS:"+s))) {
			t.Errorf("%s contains a secret (%.6s…)", where, s)
		}
	}
}

// NoSecretsInFiles scans files (and every file under directories) for secrets. Executables are skipped:
// ecr-ptc itself embeds the sandbox's fixed fake keys.
func (w *World) NoSecretsInFiles(t TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err == nil && !bytes.HasPrefix(data, []byte("\x7fELF")) {
				w.NoSecrets(t, string(data), path)
			}
			return nil
		})
	}
}

// DockerLogin returns the ECR password the Docker config under dir holds for the sandbox registry, and
// fails unless it is a valid login with user AWS in a 0600 file.
func (w *World) DockerLogin(t TB, configJSON string) string {
	t.Helper()
	fi, err := os.Stat(configJSON)
	if err != nil {
		t.Fatalf("no Docker config: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", configJSON, fi.Mode().Perm())
	}
	var doc struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	data, _ := os.ReadFile(configJSON)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(doc.Auths[w.SB.RegistryHost].Auth)
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || !w.SB.Store.ValidToken(pass) {
		t.Fatalf("%s holds no valid ECR login for %s", configJSON, w.SB.RegistryHost)
	}
	return pass
}

// Dockerfile writes a Dockerfile under the world's src/ directory and returns the directory.
func (w *World) Dockerfile(t TB, name, body string) string {
	t.Helper()
	p := filepath.Join(w.Dir, "src", name, "Dockerfile")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p)
}

// Run runs a command with the world's environment in dir and returns its combined output.
func (w *World) Run(t TB, dir string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = w.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out.String(), err
}
