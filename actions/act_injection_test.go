package actions_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// Issue 11, under act: a build metadata file can neither add a variable to GITHUB_ENV (the fixed
// heredoc delimiter of go-githubactions, broken out of by a digest) nor run workflow commands through
// a reason printed in the text table.
func TestActInjection(t *testing.T) {
	act := citest.Need(t, "act", "go install github.com/nektos/act@v0.2.89")
	citest.Need(t, "go", "Go 1.26 on PATH")
	root := citest.RepoRoot(t)
	bin := citest.Binary(t)
	dir := t.TempDir()
	const delim = "_GitHubActionsFileCommandDelimeter_"
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// setup's report: node:20 is locked, so its digest travels on in ECR_PTC_LOCK.
	write("report.json", `{"registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "images": [{"ref": "docker.io/library/node:20", "outcome": "hit", "locked": true, "digest": "sha256:`+strings.Repeat("a", 64)+`"}]}`)
	digest := "sha256:x\n" + delim + "\nPWNED<<" + delim + "\nyes"
	meta := func(im string) string {
		return `{"frontend.ecr-ptc.report": {"version": 1, "images": [` + im + `]}}`
	}
	write("digest.json", meta(`{"ref": "node:20", "digest": `+strconv.Quote(digest)+`, "outcome": "fallback", "reason": "x"}`))
	write("reason.json", meta(`{"ref": "node:20", "outcome": "fallback", "reason": `+strconv.Quote("x\n::add-mask::pwned-by-reason\n  ::set-output name=evil::yes\n::warning::pwned-by-reason")+`}`))

	w := citest.Start(t)
	out, err := w.Run(t, root, act, "push",
		"-W", "actions/testdata/injection/workflow.yml",
		"-P", "ubuntu-latest=-self-hosted",
		"--action-cache-path", filepath.Join(w.Dir, "act-cache"),
		"--env", "ECR_PTC="+bin, "--env", "ATTACK_DIR="+dir,
		"--json")
	if err != nil || !strings.Contains(out, "ATTACK-CHECK-PASSED") || !strings.Contains(out, "Job succeeded") {
		t.Fatalf("act: %v\n%s", err, tail(out, 60))
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		var e actEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		// The reason may appear inside ecr-ptc's own annotation and the summary table, escaped; it must
		// never be a command of its own.
		injected := e.Command == "add-mask" && strings.Contains(e.Arg, "pwned") || e.Name == "evil" ||
			(e.Command == "warning" || e.Command == "error") && strings.HasPrefix(e.Arg, "pwned")
		if injected {
			t.Errorf("a reason ran a workflow command: %s", sc.Text())
		}
	}
	if !strings.Contains(out, "is not sha256: and 64 lowercase hex digits") {
		t.Errorf("the hostile digest was not refused with its sentence:\n%s", tail(out, 40))
	}
}
