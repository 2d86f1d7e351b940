package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/cachecost"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func cacheReport(t *testing.T, w *world) cachecost.Report {
	t.Helper()
	r := w.run("cache", "report", "--json", "--unpulled-days", "30")
	var rep cachecost.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil {
		t.Fatalf("cache report: %+v %v", r, err)
	}
	return rep
}

// hasRow reports whether a table line has exactly these fields.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func repoOf(rep cachecost.Report, name string) (cachecost.Repository, bool) {
	for _, r := range rep.Repositories {
		if r.Name == name {
			return r, true
		}
	}
	return cachecost.Repository{}, false
}

// ECR user guide: lifecycle policies (untagged + sinceImagePushed, any + sinceImagePulled) expire images;
// repository creation templates with appliedFor PULL_THROUGH_CACHE apply to repositories the cache
// creates after them, never to existing ones. The sandbox applies policies on its clock.
func TestE2ECacheReportAndLifecycle(t *testing.T) {
	// The sandbox clock starts three days ago, so that the report (on the real clock) sees old images.
	var offset atomic.Int64
	offset.Store(int64(-72 * time.Hour))
	w := newWorld(t, sandbox.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	w.ruleDefaults("docker-hub", "github")
	src := w.dockerfile("FROM node:20\nFROM alpine:3.20\n")
	// setup warms each index and the build platform's manifest.
	if r := w.run("setup", src, "--all-stages"); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	// node:20 moves and a day passes: the re-check leaves the old digest untagged.
	if _, err := w.sb.MoveTag("docker-hub", "library/node", "20"); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(-47 * time.Hour))
	if r := w.run("lock", src, "--all-stages", "-o", filepath.Join(w.dir, "ecr-ptc.lock.json")); r.code != 0 {
		t.Fatalf("lock after the move: %+v", r)
	}

	rep := cacheReport(t, w)
	node, ok := repoOf(rep, "docker-hub/library/node")
	if !ok || len(rep.Repositories) != 2 || node.Images < 2 || node.Untagged < 1 || node.Bytes <= 0 || node.Lifecycle || node.MonthlyCost <= 0 || node.Savings <= 0 || node.CreatedAt == nil || node.LastPull == nil || rep.WithoutPolicy != 2 {
		t.Fatalf("report before the policy: %+v", rep)
	}
	r := w.run("cache", "report")
	if r.code != 0 || !strings.Contains(r.stdout, "REPOSITORY") || !strings.Contains(r.stdout, "docker-hub/library/node") || !strings.Contains(r.stdout, "TOTAL") || !strings.Contains(r.stderr, "no lifecycle policy") {
		t.Fatalf("cache report table: %+v", r)
	}
	r = w.run("cache", "report", "--markdown")
	if r.code != 0 || !strings.Contains(r.stdout, "| Repository | Rule |") || !strings.Contains(r.stdout, "| `docker-hub/library/alpine` |") {
		t.Fatalf("cache report --markdown: %+v", r)
	}

	// Dry run: a diff, nothing changed.
	args := []string{"cache", "lifecycle", "--expire-untagged-days", "1", "--expire-unpulled-days", "30"}
	r = w.run(args...)
	if r.code != 0 || !hasRow(r.stdout, "repository", "docker-hub/library/node", "create") || !hasRow(r.stdout, "template", "docker-hub", "create") ||
		!hasRow(r.stdout, "+", `"rules":`, "[") || !strings.Contains(r.stderr, "dry run") || !strings.Contains(r.stderr, "created after them") || !strings.Contains(r.stderr, "tags on repository creation templates") {
		t.Fatalf("lifecycle dry run: %+v", r)
	}
	if rep := cacheReport(t, w); rep.WithoutPolicy != 2 {
		t.Fatalf("the dry run changed something: %+v", rep)
	}
	// Apply, then again: idempotent.
	if r = w.run(append(args, "--apply")...); r.code != 0 || !strings.Contains(r.stderr, "applied 4 change(s)") {
		t.Fatalf("lifecycle --apply: %+v", r)
	}
	r = w.run(append(args, "--apply", "--json")...)
	var plan struct {
		Changes []cachecost.Change `json:"changes"`
		Notes   []string           `json:"notes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || r.code != 0 || len(plan.Changes) != 4 || len(plan.Notes) != 2 {
		t.Fatalf("second apply: %+v %v", r, err)
	}
	for _, c := range plan.Changes {
		if c.Action != cachecost.Unchanged {
			t.Errorf("not idempotent: %+v", c)
		}
	}
	// A changed number is an update shown as a diff.
	r = w.run("cache", "lifecycle", "--expire-untagged-days", "2", "--expire-unpulled-days", "30")
	if r.code != 0 || !strings.Contains(r.stdout, "update") || !hasRow(r.stdout, "-", `"countNumber":`, "1") || !hasRow(r.stdout, "+", `"countNumber":`, "2") {
		t.Fatalf("update diff: %+v", r)
	}

	// A day later the policy has expired the untagged digest; a repository created now gets the policy
	// from the template.
	offset.Store(int64(-22 * time.Hour))
	other := w.dockerfile("FROM ghcr.io/actions/runner:2.317.0\n") // replaces the first Dockerfile
	if r := w.run("setup", other); r.code != 0 {
		t.Fatalf("setup ghcr: %+v", r)
	}
	rep = cacheReport(t, w)
	node, _ = repoOf(rep, "docker-hub/library/node")
	runner, ok := repoOf(rep, "github/actions/runner")
	// What is left untagged are the current index's platform manifests: ECR imports the whole index
	// (AWS user guide, pull-through-cache considerations) and lists its children untagged, and a lifecycle
	// policy expires them only with their index.
	if node.Untagged != node.Images-1 || !node.Lifecycle || !ok || !runner.Lifecycle || rep.WithoutPolicy != 0 {
		t.Fatalf("after expiry and a new repository: %+v", rep)
	}

	// The admin policy covers the new actions.
	r = w.run("iam-policy", "--for", "admin")
	for _, a := range []string{"ecr:BatchDeleteImage", "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:CreateRepositoryCreationTemplate", "ecr:UpdateRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates"} {
		if !strings.Contains(r.stdout, a) {
			t.Errorf("iam-policy --for admin lacks %s", a)
		}
	}
	w.done()
}

func TestE2ECacheBadInput(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cache", "report", "--price-per-gb-month", "-1"}, 2, "must be a price"},
		{[]string{"cache", "report", "--price-per-gb-month", "NaN"}, 2, "must be a price"},
		{[]string{"cache", "report", "--unpulled-days", "0"}, 2, "between 1 and 3650"},
		{[]string{"cache", "report", "--json", "--markdown"}, 2, "not both"},
		{[]string{"cache", "report"}, 1, "no pull-through cache rules"},
		{[]string{"cache", "lifecycle"}, 2, "give --expire-untagged-days"},
		{[]string{"cache", "lifecycle", "--expire-untagged-days", "-1"}, 2, "between 1 and 3650"},
		{[]string{"cache", "lifecycle", "--expire-untagged-days", "0", "--expire-unpulled-days", "0"}, 2, "nothing to expire"},
		{[]string{"cache", "lifecycle", "--expire-untagged-days", "1", "--rules", filepath.Join(w.dir, "nope.json")}, 1, "cannot read the rules file"},
	} {
		r := w.run(c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || len(lines) > 2 || r.stdout != "" {
			t.Errorf("%v: %+v", c.args, r)
		}
	}
}
