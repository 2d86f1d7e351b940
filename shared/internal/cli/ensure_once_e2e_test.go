package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// setup --ensure-rules scans the Dockerfiles once and lists the rules once (issue 13): the rules it
// creates join the listing it has, and map the images in the same run. A run that finds every rule in
// place lists them once and creates nothing.
func TestE2ESetupEnsureRulesListsOnce(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	src := w.dockerfile("FROM quay.io/coreos/etcd:v3.5.0\nFROM alpine:3.20\n")
	envFile := filepath.Join(w.dir, "ecr-ptc.env")
	w.files = append(w.files, envFile)
	setup := func() (run, map[string]int) {
		t.Helper()
		before := w.stats().ECRRequests
		r := w.run("setup", src, "--all-stages", "--ensure-rules", "--credential-arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/all",
			"--probe-cache", "0", "--env-file", envFile)
		after := w.stats().ECRRequests
		for k, v := range before {
			after[k] -= v
		}
		if r.code != 0 {
			t.Fatalf("%+v", r)
		}
		return r, after
	}
	r, calls := setup()
	if calls["DescribePullThroughCacheRules"] != 1 || calls["CreatePullThroughCacheRule"] != 2 {
		t.Errorf("first setup: %v, want the rules listed once and two created", calls)
	}
	for _, want := range []string{`rule "quay" for quay.io: created`, `rule "docker-hub" for registry-1.docker.io: created`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	// The rules created in this run map the images: both are served by the cache, none is left out.
	for _, want := range []string{"quay.io=quay", "docker.io=docker-hub"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the env file's ECR_PTC_RULES lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(r.stdout, "no pull-through cache rule") {
		t.Errorf("an image was left without the rule this run created:\n%s", r.stdout)
	}
	_, calls = setup()
	if calls["DescribePullThroughCacheRules"] != 1 || calls["CreatePullThroughCacheRule"] != 0 {
		t.Errorf("second setup: %v, want the rules listed once and none created", calls)
	}
	w.done()
}
