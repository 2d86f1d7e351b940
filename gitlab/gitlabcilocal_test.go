package gitlab_test

// The GitLab examples for real under gitlab-ci-local (--force-shell-executor, no Docker) against the
// sandbox: the component's ecr-ptc-setup job with an OIDC token minted by the sandbox issuer (what
// id_tokens would hold), then ecr-ptc-report. The build jobs themselves need a container engine and are
// not run. The examples run as written: their include: component is fetched from a loopback GitLab
// mirror (forge_test.go), as GitLab resolves it.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// exampleCI reads an example CI file of gitlab/examples.
func exampleCI(t *testing.T, root, example string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "gitlab", "examples", example))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// project lays out a user's GitLab project group/app on the forge's instance: ci as .gitlab-ci.yml (its
// includes pointed at the forge) and an app/ Dockerfile, committed in a git repository whose origin is
// on the forge (gitlab-ci-local reads both; components come from the origin's instance).
func project(t *testing.T, root string, f *forge, ci string) string {
	t.Helper()
	dir := t.TempDir()
	app, _ := os.ReadFile(filepath.Join(root, "actions", "testdata", "selftest", "web", "Dockerfile"))
	for name, body := range map[string][]byte{".gitlab-ci.yml": []byte(f.Localize(ci)), "app/Dockerfile": app} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "example"}, {"remote", "add", "origin", f.Origin("group/app")}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestGitLabCILocal(t *testing.T) {
	gcl := needGitLabCILocal(t)
	root := citest.RepoRoot(t)
	w := jobWorld(t, withBinary(t))
	host := w.SB.RegistryHost
	f := startForge(t, root, "v0.1.0")

	t.Run("docker-in-docker", func(t *testing.T) {
		dir := project(t, root, f, exampleCI(t, root, "docker-in-docker.gitlab-ci.yml"))
		out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup", "ecr-ptc-report")
		w.NoSecrets(t, out, "the gitlab-ci-local output")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		env, err := os.ReadFile(filepath.Join(dir, "ecr-ptc.env"))
		if err != nil {
			t.Fatalf("no dotenv report: %v\n%s", err, out)
		}
		for _, want := range []string{"ECR_PTC_REGISTRY=" + host + "\n", "ECR_PTC_RULES=docker.io=docker-hub", "BUILDKIT_SYNTAX=" + host + "/github/ecr-ptc/frontend:v0.1.0\n", "ECR_PTC_WARMED=4\n"} {
			if !strings.Contains(string(env), want) {
				t.Errorf("the dotenv report lacks %q:\n%s", want, env)
			}
		}
		junit, err := os.ReadFile(filepath.Join(dir, "ecr-ptc-junit.xml"))
		if err != nil || strings.Count(string(junit), "<testcase ") != 4 || !strings.Contains(string(junit), `name="docker.io/library/node:22"`) {
			t.Errorf("JUnit report: %v\n%s", err, junit)
		}
		if _, err := os.Stat(filepath.Join(dir, "ecr-ptc-build-junit.xml")); err != nil {
			t.Errorf("ecr-ptc-report wrote no JUnit report: %v", err)
		}
		// gitlab-ci-local shows each section_start/section_end pair as "<name> took <time>".
		for _, section := range []string{"ecr_ptc_install", "ecr_ptc_setup", "ecr_ptc_reports", "ecr_ptc_mode"} {
			if !strings.Contains(out, section+" took") {
				t.Errorf("no collapsible section %s in the log", section)
			}
		}
		if !strings.Contains(out, "credentials: gitlab-oidc") || !strings.Contains(out, "MISS→warmed") {
			t.Errorf("the log does not show the OIDC login and the report:\n%s", out)
		}
		if n := w.SB.Stats.Snapshot().STSRequests["AssumeRoleWithWebIdentity"]; n == 0 {
			t.Error("the id_token was not exchanged with STS")
		}
		w.NoSecretsInFiles(t, filepath.Join(dir, "ecr-ptc.env"), filepath.Join(dir, "ecr-ptc-junit.xml"), filepath.Join(dir, "ecr-ptc-report.json"),
			filepath.Join(dir, ".gitlab-ci-local", "output"), filepath.Join(dir, ".gitlab-ci-local", "artifacts"))
		w.DockerLogin(t, filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json"))
	})

	t.Run("kaniko-rewrite", func(t *testing.T) {
		dir := project(t, root, f, exampleCI(t, root, "kaniko.gitlab-ci.yml"))
		out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
		w.NoSecrets(t, out, "the gitlab-ci-local output")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		rewritten, err := os.ReadFile(filepath.Join(dir, ".ecr-ptc", "rewritten", "app", "Dockerfile"))
		if err != nil || !strings.Contains(string(rewritten), "FROM "+host+"/docker-hub/library/node:${NODE_VERSION}") || !strings.Contains(string(rewritten), "FROM "+host+"/docker-hub/library/alpine:3.20") {
			t.Errorf("rewritten Dockerfile: %v\n%s\n%s", err, rewritten, out)
		}
		w.NoSecretsInFiles(t, filepath.Join(dir, ".ecr-ptc"), filepath.Join(dir, ".gitlab-ci-local", "output"))
	})

	// The classic template with include: project from the mirror and ECR_PTC_* variables, as written.
	t.Run("classic-project", func(t *testing.T) {
		dir := project(t, root, f, exampleCI(t, root, "classic.gitlab-ci.yml"))
		out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
		w.NoSecrets(t, out, "the gitlab-ci-local output")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		env, err := os.ReadFile(filepath.Join(dir, "ecr-ptc.env"))
		if err != nil || !strings.Contains(string(env), "ECR_PTC_REGISTRY="+host+"\n") {
			t.Errorf("no dotenv report naming the registry (%v):\n%s\n%s", err, env, out)
		}
	})
}
