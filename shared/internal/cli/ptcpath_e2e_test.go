package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Refs already on the cache registry are probed and warmed like any other (issue 10, point 7): a Dockerfile
// written with the cache path gets MISS→warmed, then HIT; a Docker Hub path without library/ (reference:
// "Docker Hub official images need library/ in the cached path ... ECR does not add it") is an error with
// the path to use, not UNCHANGED.
func TestE2EAlreadyOnCache(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	reg := w.sb.RegistryHost
	src := w.dockerfile("FROM " + reg + "/docker-hub/library/alpine:3.20\nFROM " + reg + "/docker-hub/library/node:20 AS b\nFROM scratch\nCOPY --from=b / /\n")
	cold := filepath.Join(w.dir, "cold.json")
	w.files = append(w.files, cold)
	r := w.run("setup", src, "--report-json", cold, "--all-stages")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	rep := readReport(t, cold)
	if rep.Totals.Warmed != 2 || rep.Totals.Unchanged != 0 {
		t.Fatalf("cold totals %+v: %+v", rep.Totals, rep.Images)
	}
	for _, im := range rep.Images {
		if im.CacheRef == "" || im.Upstream != "docker.io" || im.Digest == "" {
			t.Errorf("an image already on the cache: %+v", im)
		}
	}
	warm := filepath.Join(w.dir, "warm.json")
	w.files = append(w.files, warm)
	if r := w.run("setup", src, "--report-json", warm, "--all-stages"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if rep := readReport(t, warm); rep.Totals.Hits != 2 {
		t.Errorf("warm totals %+v", rep.Totals)
	}

	// A wrong cache path: one error, with the path to use; nothing is pulled for it.
	before := w.stats().UpstreamFetches
	src = w.dockerfile("FROM " + reg + "/docker-hub/node:22\n")
	bad := filepath.Join(w.dir, "bad.json")
	w.files = append(w.files, bad)
	r = w.run("setup", src, "--report-json", bad)
	if r.code != 1 {
		t.Fatalf("a wrong cache path must fail setup: %+v", r)
	}
	rep = readReport(t, bad)
	if len(rep.Images) != 1 || rep.Images[0].Outcome != report.Error || !strings.Contains(rep.Images[0].Reason, "use "+reg+"/docker-hub/library/node:22") {
		t.Fatalf("wrong path: %+v", rep.Images)
	}
	if got := w.stats().UpstreamFetches; got != before {
		t.Errorf("the wrong path went upstream %d times", got-before)
	}
	// map and scan say so too.
	r = w.run("map", reg+"/docker-hub/node:22", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"kind": "wrong-path"`) || !strings.Contains(r.stdout, `"fix": "`+reg+`/docker-hub/library/node:22"`) {
		t.Errorf("map: %+v", r)
	}
	w.done()
}

// A pull through the cache that fails on the PTC path gets the path/upstream/credential hint, never "log
// in again" (reference, "Registry error bodies": ECR answers a wrong path or an image missing upstream with
// DENIED "authentication to the upstream registry failed"). The sandbox's status for it is 404 today and
// DENIED/403 once issue 10's sandbox half lands: the hint is right for both.
func TestE2EMissingUpstreamHint(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM docker.io/library/doesnotexist:1\n")
	out := filepath.Join(w.dir, "r.json")
	w.files = append(w.files, out)
	r := w.run("setup", src, "--report-json", out)
	if r.code != 1 {
		t.Fatalf("%+v", r)
	}
	rep := readReport(t, out)
	if len(rep.Images) != 1 || rep.Images[0].Outcome != report.Error {
		t.Fatalf("%+v", rep.Images)
	}
	reason := rep.Images[0].Reason
	for _, want := range []string{"docker.io/library/doesnotexist:1 exists upstream", "library/", `the rule "docker-hub"'s secret`} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	for _, bad := range []string{"ecr-ptc login", "log in again"} {
		if strings.Contains(reason, bad) {
			t.Errorf("reason %q says %q", reason, bad)
		}
	}
	w.done()
}

// The cache registry's FIPS and dual-stack hosts are the cache registry (reference, "Registry hosts"):
// mapping leaves their refs alone instead of asking for an ECR-to-ECR rule, and iam-policy takes any host
// for its account, region and partition.
func TestHostForms(t *testing.T) {
	r := ecrptc(t, "", nil, "map", "--registry", reg, "--json", "123456789012.dkr-ecr.us-east-1.on.aws/docker-hub/library/node:20", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/docker-hub/library/node:20")
	if r.code != 0 || strings.Count(r.stdout, `"kind": "already"`) != 2 || strings.Contains(r.stdout, "ECR-to-ECR") {
		t.Errorf("map: %+v", r)
	}
	r = ecrptc(t, "", nil, "iam-policy", "--registry", "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn", "--prefix", "docker-hub")
	if r.code != 0 || !strings.Contains(r.stdout, "arn:aws-cn:ecr:cn-north-1:123456789012:repository/docker-hub/*") || strings.Contains(r.stderr, "--account") {
		t.Errorf("iam-policy: %+v", r)
	}
	if r := ecrptc(t, "", nil, "iam-policy", "--registry", "ghcr.io"); r.code != 2 {
		t.Errorf("iam-policy --registry ghcr.io: %+v", r)
	}
}

// Live rules with the 2025 fields (reference, "Rule fields added in 2025"): an upstreamRepositoryPrefix of
// "ROOT" on a Docker Hub rule (whether ECR prints it is unverified) is "no prefix", and an ECR-to-ECR rule
// with an upstreamRepositoryPrefix and customRoleArn maps <acct>.dkr.ecr.<region>.amazonaws.com/team/app:1
// to <cache>/<ecrRepositoryPrefix>/app:1 in setup (live rules), map and scan (rules file) and the exported
// ECR_PTC_RULES; setup warms it through the sandbox's private-ECR stand-in (another account and region,
// reached with the rule's customRoleArn).
func TestE2EECRToECRRules(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	up := sandbox.UpstreamECRHost()
	customRole := w.sb.UpstreamECRRoleArn()
	w.sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub",
		CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub", UpstreamRepositoryPrefix: "ROOT"})
	w.sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "team-cache", UpstreamRegistryURL: up, UpstreamRegistry: "ecr", CustomRoleArn: customRole, UpstreamRepositoryPrefix: "team"})
	src := w.dockerfile("FROM " + up + "/team/app:1 AS app\nFROM " + up + "/other/app:1 AS other\nFROM node:20\nCOPY --from=app / /\nCOPY --from=other / /\n")
	out, envFile := filepath.Join(w.dir, "r.json"), filepath.Join(w.dir, "ecr-ptc.env")
	w.files = append(w.files, out, envFile)
	r := w.run("setup", src, "--report-json", out, "--env-file", envFile)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	got := map[string]report.Image{}
	for _, im := range readReport(t, out).Images {
		got[im.Ref] = im
	}
	reg := w.sb.RegistryHost
	if im := got[up+"/team/app:1"]; im.CacheRef != reg+"/team-cache/app:1" || im.Outcome != report.Warmed {
		t.Errorf("ECR-to-ECR: %+v", im)
	}
	if im := got[up+"/other/app:1"]; im.Outcome != report.Unchanged || !strings.Contains(im.Reason, "upstreamRepositoryPrefix") {
		t.Errorf("outside the upstream prefix: %+v", im)
	}
	if im := got["docker.io/library/node:20"]; im.CacheRef != reg+"/docker-hub/library/node:20" {
		t.Errorf("ROOT upstream prefix on a Docker Hub rule: %+v", im)
	}
	env, _ := os.ReadFile(envFile)
	if !strings.Contains(string(env), up+"/team=team-cache") {
		t.Errorf("ECR_PTC_RULES must carry the upstream prefix: %s", env)
	}

	// The same rules as `aws ecr describe-pull-through-cache-rules` prints them, for map and scan.
	rulesFile := filepath.Join(w.dir, "rules.json")
	os.WriteFile(rulesFile, []byte(`{"pullThroughCacheRules":[{"ecrRepositoryPrefix":"team-cache","upstreamRegistryUrl":"`+up+`","upstreamRegistry":"ecr","customRoleArn":"`+customRole+`","upstreamRepositoryPrefix":"team"},
		{"ecrRepositoryPrefix":"docker-hub","upstreamRegistryUrl":"registry-1.docker.io","upstreamRegistry":"docker-hub","upstreamRepositoryPrefix":"ROOT"}]}`), 0o644)
	dual := strings.Replace(strings.Replace(up, ".dkr.ecr.", ".dkr-ecr.", 1), ".amazonaws.com", ".on.aws", 1)
	r = w.run("map", "--rules", rulesFile, up+"/team/app:1", dual+"/team/sub/app:2", "node:20")
	if want := reg + "/team-cache/app:1\n" + reg + "/team-cache/sub/app:2\n" + reg + "/docker-hub/library/node:20\n"; r.code != 0 || r.stdout != want {
		t.Errorf("map = %+v, want %q", r, want)
	}
	r = w.run("scan", src, "--rules", rulesFile, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"output": "`+reg+`/team-cache/app:1"`) {
		t.Errorf("scan: %+v", r)
	}
	w.done()
}

// rewrite turns a wrong cache path into the one the cache can fill (reference: Docker Hub official images
// need library/), and leaves a right one alone.
func TestRewriteFixesWrongCachePath(t *testing.T) {
	in := "FROM " + reg + "/docker-hub/node:20 AS a\nFROM " + reg + "/docker-hub/library/alpine:3.20\n"
	r := ecrptc(t, in, nil, "rewrite", "-f", "-", "--registry", reg)
	want := "FROM " + reg + "/docker-hub/library/node:20 AS a\nFROM " + reg + "/docker-hub/library/alpine:3.20\n"
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "-> "+reg+"/docker-hub/library/node:20") {
		t.Fatalf("%+v", r)
	}
}
