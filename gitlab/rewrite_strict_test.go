package gitlab_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// TestGitLabRewriteStrictUnrewritten runs the component's setup job in mode rewrite with strict: true on a
// Dockerfile whose quay.io image rewrite cannot point at the cache (ARG REG also used inside the stage):
// ecr-ptc-report.json says unchanged with file:line and the reason, and the strict check fails the job
// (issue 15).
func TestGitLabRewriteStrictUnrewritten(t *testing.T) {
	gcl := needGitLabCILocal(t)
	root := citest.RepoRoot(t)
	w := jobWorld(t, withBinary(t))

	f := startForge(t, root, "v0.1.0")
	dir := project(t, root, f, exampleCI(t, root, "kaniko.gitlab-ci.yml"))
	ci, _ := os.ReadFile(filepath.Join(dir, ".gitlab-ci.yml"))
	strict := strings.Replace(string(ci), "      mode: rewrite\n", "      mode: rewrite\n      strict: true\n", 1)
	if strict == string(ci) {
		t.Fatal("the kaniko example has no mode: rewrite input to add strict to")
	}
	df := "ARG REG=quay.io\nFROM ${REG}/coreos/etcd:v3.5.0\nARG REG\nRUN echo \"pulling from $REG\"\n"
	for name, body := range map[string]string{".gitlab-ci.yml": strict, "app/Dockerfile": df} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qam", "strict")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
	w.NoSecrets(t, out, "the gitlab-ci-local output")
	if err == nil || !strings.Contains(out, "left pointing at their original registry") {
		t.Errorf("the strict setup job did not fail on the image rewrite left at quay.io: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "ecr-ptc-report.json"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 1 || rep.Images[0].Outcome != report.Unchanged ||
		!strings.HasPrefix(rep.Images[0].Reason, "rewrite left app/Dockerfile:2 pointing at the original registry: ARG REG is also used inside stage") ||
		rep.Totals.Unchanged != 1 {
		t.Errorf("report: %s\n%s", data, out)
	}
}
