package actions_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// The scheduled freshness workflow (docs/examples/github/cache-freshness.yml) is a valid workflow that
// runs on a cron schedule, checks with `ecr-ptc stale --fail-on-stale` and opens or updates an issue.
// (TestActionlint lints it too.)
func TestCacheFreshnessWorkflow(t *testing.T) {
	root := citest.RepoRoot(t)
	f := filepath.Join(root, "docs", "examples", "github", "cache-freshness.yml")
	schema := citest.Schema(t, filepath.Join(citest.SchemasDir(t), "github-workflow.json"))
	docs := citest.YAMLDocs(t, f)
	citest.Validate(t, schema, docs[0], f)
	wf := docs[0].(map[string]any)
	on, _ := wf["on"].(map[string]any)
	sched, _ := on["schedule"].([]any)
	if len(sched) != 1 || sched[0].(map[string]any)["cron"] == "" {
		t.Fatalf("no cron schedule: %v", on)
	}
	perms, _ := wf["permissions"].(map[string]any)
	if perms["id-token"] != "write" || perms["issues"] != "write" {
		t.Errorf("permissions: %v", perms)
	}
	var runs strings.Builder
	for _, s := range wf["jobs"].(map[string]any)["stale"].(map[string]any)["steps"].([]any) {
		if r, ok := s.(map[string]any)["run"].(string); ok {
			runs.WriteString(r)
		}
	}
	for _, want := range []string{"ecr-ptc stale . --lock ecr-ptc.lock.json --fail-on-stale", "gh issue create", "gh issue comment", `exit "$code"`} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("the workflow does not run %q", want)
		}
	}
}
