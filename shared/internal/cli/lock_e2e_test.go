package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Reference: "Tags are re-checked upstream at most about once every 24 hours: a moved tag can be served
// stale for a day." The lock keeps every environment on the locked bytes across that refresh, and a
// moved tag shows as a diff.
func TestE2ELockAcrossTagRefresh(t *testing.T) {
	var offset atomic.Int64
	w := newWorld(t, sandbox.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM node:20\nFROM alpine:3.20\n")
	lockPath := filepath.Join(w.dir, "ecr-ptc.lock.json")
	w.files = append(w.files, lockPath)

	r := w.run("lock", src, "--all-stages", "-o", lockPath)
	if r.code != 0 || !strings.Contains(r.stdout, "+ docker.io/library/node:20 sha256:") {
		t.Fatalf("lock: %+v", r)
	}
	data, _ := os.ReadFile(lockPath)
	lf, err := lock.Parse(lockPath, data)
	if err != nil || len(lf.Images) != 2 {
		t.Fatalf("%v %s", err, data)
	}
	locked, _ := lf.Lookup("docker.io/library/node:20")
	if r := w.run("lock", src, "--all-stages", "-o", lockPath, "--check"); r.code != 0 || r.stdout != "" {
		t.Fatalf("--check right after lock: %+v", r)
	}

	// Upstream publishes a new node:20, and a day passes: the cache re-checks the tag.
	moved, err := w.sb.MoveTag("docker-hub", "library/node", "20")
	if err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(25 * time.Hour))
	r = w.run("lock", src, "--all-stages", "-o", lockPath, "--check")
	if r.code != 1 || !strings.Contains(r.stdout, "~ docker.io/library/node:20 "+locked+" -> "+moved) || !strings.Contains(r.stderr, "out of date") {
		t.Fatalf("--check after the tag moved: %+v", r)
	}
	after, _ := os.ReadFile(lockPath)
	if string(after) != string(data) {
		t.Fatal("--check wrote the lock file")
	}

	// setup --lock still serves the locked digest, which the cache holds.
	rep := filepath.Join(w.dir, "report.json")
	envFile := filepath.Join(w.dir, "env")
	w.files = append(w.files, rep, envFile)
	r = w.run("setup", src, "--all-stages", "--lock", lockPath, "--report-json", rep, "--env-file", envFile)
	if r.code != 0 {
		t.Fatalf("setup --lock: %+v", r)
	}
	got := readReport(t, rep)
	for _, im := range got.Images {
		if im.Ref == "docker.io/library/node:20" && (im.Outcome != report.Hit || im.Digest != locked || !im.Locked) {
			t.Errorf("locked node: %+v", im)
		}
	}
	env, _ := os.ReadFile(envFile)
	if !strings.Contains(string(env), "ECR_PTC_LOCK=docker.io/library/alpine:3.20=sha256:") {
		t.Errorf("env file lacks ECR_PTC_LOCK: %s", env)
	}

	// rewrite --lock pins literal references to the locked digest.
	r = w.run("rewrite", "-f", filepath.Join(src, "Dockerfile"), "--lock", lockPath, "-q")
	if r.code != 0 || !strings.Contains(r.stdout, "FROM "+w.sb.RegistryHost+"/docker-hub/library/node:20@"+locked+"\n") {
		t.Fatalf("rewrite --lock: %+v", r)
	}

	// Accepting the change: lock writes the new digest and shows the diff.
	r = w.run("lock", src, "--all-stages", "-o", lockPath)
	if r.code != 0 || !strings.Contains(r.stdout, "-> "+moved) {
		t.Fatalf("relock: %+v", r)
	}
	w.done()
}
