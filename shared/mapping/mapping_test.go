package mapping_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testRules is a real-world mix of prefix namings, read from the shape `aws ecr
// describe-pull-through-cache-rules` prints.
func testRules(t testing.TB) rules.Set {
	t.Helper()
	data, err := os.ReadFile("testdata/describe-pull-through-cache-rules.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rules.Parse("describe-pull-through-cache-rules.json", data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMap(t *testing.T) {
	m := mapping.New("https://"+reg+"/", mapping.WithRules(testRules(t)))
	cases := []struct {
		in, out string
		kind    mapping.Kind
		reason  string // substring
	}{
		// Docker Hub official images: ECR needs library/ in the path (reference: "Docker Hub official images need library/").
		{"alpine", reg + "/docker.io/library/alpine:latest", mapping.Cached, `rule "docker.io"`},
		{"alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"library/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"docker.io/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"docker.io/library/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"index.docker.io/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"registry-1.docker.io/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.Cached, ""},
		{"registry-1.docker.io/library/alpine", reg + "/docker.io/library/alpine:latest", mapping.Cached, ""},
		// User images keep their namespace.
		{"bitnami/redis:7.2", reg + "/docker.io/bitnami/redis:7.2", mapping.Cached, ""},
		{"grafana/grafana-oss/sub:1", reg + "/docker.io/grafana/grafana-oss/sub:1", mapping.Cached, ""},
		// Digests: kept; tag@digest keeps both; no :latest is added next to a digest.
		{"alpine@" + dgst, reg + "/docker.io/library/alpine@" + dgst, mapping.Cached, ""},
		{"alpine:3.20@" + dgst, reg + "/docker.io/library/alpine:3.20@" + dgst, mapping.Cached, ""},
		// Every upstream of the reference, under this account's prefixes.
		{"public.ecr.aws/docker/library/node:20", reg + "/aws/docker/library/node:20", mapping.Cached, ""},
		{"quay.io/prometheus/prometheus:v2.53.0", reg + "/quay-io/prometheus/prometheus:v2.53.0", mapping.Cached, ""},
		{"registry.k8s.io/pause:3.9", reg + "/k8s/pause:3.9", mapping.Cached, ""},
		{"ghcr.io/actions/runner:2.317.0", reg + "/github/actions/runner:2.317.0", mapping.Cached, ""},
		{"GHCR.IO/actions/runner", reg + "/github/actions/runner:latest", mapping.Cached, ""},
		{"registry.gitlab.com/gitlab-org/gitlab-runner:alpine", reg + "/gitlab/gitlab-org/gitlab-runner:alpine", mapping.Cached, ""},
		{"cgr.dev/chainguard/static:latest", reg + "/chainguard/chainguard/static:latest", mapping.Cached, ""},
		{"myacr.azurecr.io/team/app:1", reg + "/acr/team/app:1", mapping.Cached, ""},
		// ECR-to-ECR with an upstreamRepositoryPrefix: only matching repositories.
		{"210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1", reg + "/central/base:1", mapping.Cached, ""},
		{"210987654321.dkr.ecr.eu-west-1.amazonaws.com/other/base:1", "210987654321.dkr.ecr.eu-west-1.amazonaws.com/other/base:1", mapping.NoRule, "upstreamRepositoryPrefix"},
		// Unsupported upstreams and local registries stay unchanged.
		{"mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/sdk:8.0", mapping.Unsupported, "does not support mcr.microsoft.com"},
		{"gcr.io/distroless/static", "gcr.io/distroless/static", mapping.Unsupported, "does not support gcr.io"},
		{"localhost/app:1", "localhost/app:1", mapping.Local, "local or private registry"},
		{"localhost:5000/app:1", "localhost:5000/app:1", mapping.Local, ""},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app", mapping.Local, ""},
		{"registry.example.com:5000/app", "registry.example.com:5000/app", mapping.Local, ""},
		// Already on the cache registry: never rewritten (rewrite is idempotent).
		{reg + "/docker.io/library/alpine:3.20", reg + "/docker.io/library/alpine:3.20", mapping.AlreadyHere, "already"},
		{strings.ToUpper(reg[:3]) + reg[3:] + "/x/y", strings.ToUpper(reg[:3]) + reg[3:] + "/x/y", mapping.AlreadyHere, ""},
		// Invalid and special.
		{"Alpine:3.20", "Alpine:3.20", mapping.Invalid, "lowercase"},
		{"alpine:bad tag", "alpine:bad tag", mapping.Invalid, ""},
		{"", "", mapping.Invalid, "empty"},
		{"https://docker.io/alpine", "https://docker.io/alpine", mapping.Invalid, "scheme"},
		{"alpine@sha256:abc", "alpine@sha256:abc", mapping.Invalid, "digest"},
		{"scratch", "scratch", mapping.ScratchKind, "empty image"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got := m.Map(c.in)
			if got.Output != c.out || got.Kind != c.kind {
				t.Fatalf("Map(%q) = %q (%s: %s), want %q (%s)", c.in, got.Output, got.Kind, got.Reason, c.out, c.kind)
			}
			if got.Rewritten != (c.kind == mapping.Cached) {
				t.Errorf("Rewritten = %v", got.Rewritten)
			}
			if !strings.Contains(got.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", got.Reason, c.reason)
			}
			if (got.Error != "") != (c.kind == mapping.Invalid) {
				t.Errorf("error = %q", got.Error)
			}
		})
	}
}

func TestMapNoRule(t *testing.T) {
	s, err := rules.ParseSpec("docker.io=docker-hub")
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.New(reg, mapping.WithRules(s))
	got := m.Map("quay.io/coreos/etcd:v3.5")
	if got.Kind != mapping.NoRule || got.Output != "quay.io/coreos/etcd:v3.5" {
		t.Fatalf("got %+v", got)
	}
	if want := "no pull-through cache rule for quay.io; create one with `ecr-ptc rules ensure --upstream quay`"; got.Reason != want {
		t.Errorf("reason = %q, want %q", got.Reason, want)
	}
	got = m.Map("ghcr.io/o/r")
	if !strings.Contains(got.Reason, "--credential-arn") || !strings.Contains(got.Reason, "ecr-pullthroughcache/") {
		t.Errorf("GHCR needs a secret; reason = %q", got.Reason)
	}
}

func TestDefaults(t *testing.T) {
	m := mapping.New(reg)
	for in, want := range map[string]string{
		"node:20":                     reg + "/docker-hub/library/node:20",
		"public.ecr.aws/x/y:1":        reg + "/ecr-public/x/y:1",
		"ghcr.io/o/r:1":               reg + "/github/o/r:1",
		"registry.k8s.io/pause:3.9":   reg + "/k8s/pause:3.9",
		"myacr.azurecr.io/team/app:1": "myacr.azurecr.io/team/app:1", // ACR rules name one registry: never assumed
	} {
		if got := m.Map(in).Output; got != want {
			t.Errorf("Map(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoRegistry(t *testing.T) {
	got := mapping.New("").Map("alpine")
	if got.Kind != mapping.NoRegistry || got.Output != "alpine" || !strings.Contains(got.Reason, "--registry") {
		t.Fatalf("got %+v", got)
	}
}

func TestRootPrefix(t *testing.T) {
	s := rules.Set{Rules: []rules.Rule{{ECRRepositoryPrefix: "ROOT", UpstreamRegistryURL: "210987654321.dkr.ecr.eu-west-1.amazonaws.com", UpstreamRegistry: "ecr"}}}
	got := mapping.New(reg, mapping.WithRules(s)).Map("210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/app:1")
	if got.Output != reg+"/team/app:1" {
		t.Fatalf("got %q", got.Output)
	}
}

func TestRepositoryNameLimit(t *testing.T) {
	// ECR RepositoryName: max 256 characters (service model).
	long := "u/" + strings.Repeat("a", 250)
	got := mapping.New(reg).Map(long + ":1")
	if got.Kind != mapping.TooLong || got.Output != long+":1" || !strings.Contains(got.Reason, "256") {
		t.Fatalf("got %+v", got)
	}
}

func FuzzMap(f *testing.F) {
	for _, s := range []string{"alpine", "alpine:3.20@" + dgst, "ghcr.io/o/r", "localhost:5000/x", reg + "/a/b", "scratch", "Alpine", "a/b/c:d"} {
		f.Add(s)
	}
	m := mapping.New(reg, mapping.WithRules(testRules(f)))
	f.Fuzz(func(t *testing.T, in string) {
		got := m.Map(in)
		if got.Input != in {
			t.Fatalf("input changed")
		}
		// The JSON fields are the typed refs' strings: nothing is reassembled or parsed again.
		if got.Source.String() != got.Ref && (got.Ref != "" || !got.Source.IsZero()) {
			t.Fatalf("Source %q, Ref %q", got.Source, got.Ref)
		}
		if got.Rewritten && got.Cache.String() != got.Output {
			t.Fatalf("Cache %q, Output %q", got.Cache, got.Output)
		}
		if byTag, ok := got.Plan().ByTag(); ok && (byTag.Digest != "" || byTag.Tag != got.Cache.Tag) {
			t.Fatalf("ByTag %q of %q", byTag, got.Cache)
		}
		if !got.Rewritten {
			if got.Output != in {
				t.Fatalf("unchanged result has output %q", got.Output)
			}
			return
		}
		if !strings.HasPrefix(got.Output, reg+"/") {
			t.Fatalf("rewritten output %q not on the cache registry", got.Output)
		}
		// A cache ref maps to itself: rewriting is idempotent.
		if again := m.Map(got.Output); again.Output != got.Output || again.Rewritten {
			t.Fatalf("Map(%q) = %+v, not idempotent", got.Output, again)
		}
		if got.Reason == "" {
			t.Fatalf("no reason")
		}
	})
}

// ECR-to-ECR rules (reference, "Rule fields added in 2025"): the cache path is
// <registry>/<ecrRepositoryPrefix>/<upstream path with upstreamRepositoryPrefix replaced>; a path outside
// the upstreamRepositoryPrefix is not covered; ROOT, absent or "ROOT" upstream prefixes cover every path.
// The upstream registry is matched on any of its hosts (reference, "Registry hosts").
func TestMapECRToECR(t *testing.T) {
	const up = "444455556666.dkr.ecr.us-west-2.amazonaws.com"
	const role = "arn:aws:iam::123456789012:role/ecr-to-ecr"
	s, err := rules.Parse("rules.json", []byte(`{"pullThroughCacheRules": [
		{"ecrRepositoryPrefix":"team-cache","upstreamRegistryUrl":"`+up+`","upstreamRegistry":"ecr","customRoleArn":"`+role+`","upstreamRepositoryPrefix":"team"},
		{"ecrRepositoryPrefix":"prod-ecr","upstreamRegistryUrl":"`+up+`","upstreamRegistry":"ecr","customRoleArn":"`+role+`","upstreamRepositoryPrefix":"ROOT"},
		{"ecrRepositoryPrefix":"docker-hub","upstreamRegistryUrl":"registry-1.docker.io","upstreamRegistry":"docker-hub","upstreamRepositoryPrefix":"ROOT",
		 "credentialArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/dh"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.New(reg, mapping.WithRules(s))
	for in, want := range map[string]string{
		// The most specific rule (longest upstreamRepositoryPrefix) wins; the prefix is replaced.
		up + "/team/app:1":     reg + "/team-cache/app:1",
		up + "/team/sub/app:1": reg + "/team-cache/sub/app:1",
		up + "/teamx/app:1":    reg + "/prod-ecr/teamx/app:1", // "teamx" is not under "team/"
		up + "/other/app:1":    reg + "/prod-ecr/other/app:1",
		"444455556666.dkr-ecr.us-west-2.on.aws/team/app:1":          reg + "/team-cache/app:1",
		"444455556666.dkr.ecr-fips.us-west-2.amazonaws.com/x/app:2": reg + "/prod-ecr/x/app:2",
		// "ROOT" printed on a Docker Hub rule means no upstream prefix.
		"node:20": reg + "/docker-hub/library/node:20",
	} {
		got := m.Map(in)
		if got.Output != want || got.Kind != mapping.Cached {
			t.Errorf("Map(%q) = %q (%s: %s), want %q", in, got.Output, got.Kind, got.Reason, want)
			continue
		}
		if got.Rule == nil || (got.Rule.UpstreamRegistry == "ecr" && got.Rule.CustomRoleArn != role) {
			t.Errorf("Map(%q): the rule and its customRoleArn must come with the result: %+v", in, got.Rule)
		}
	}
	// Only a rule with an upstream prefix: other paths are not covered.
	only, _ := rules.Parse("r.json", []byte(`[{"ecrRepositoryPrefix":"team-cache","upstreamRegistryUrl":"`+up+`","upstreamRepositoryPrefix":"team"}]`))
	got := mapping.New(reg, mapping.WithRules(only)).Map(up + "/other/app:1")
	if got.Kind != mapping.NoRule || got.Rewritten || !strings.Contains(got.Reason, "upstreamRepositoryPrefix") {
		t.Errorf("a path outside the upstream prefix: %+v", got)
	}
	// Another region of the upstream account is another registry.
	if got := m.Map("444455556666.dkr.ecr.us-east-1.amazonaws.com/team/app:1"); got.Kind != mapping.NoRule {
		t.Errorf("another region: %+v", got)
	}
}

// One registry answers on several hosts (reference, "Registry hosts"): a ref on the cache registry's FIPS or
// dual-stack host is already on the cache registry, not an ECR upstream needing an ECR-to-ECR rule (issue
// 10, point 5); and so is a ref on the standard host when the registry was given as another host.
func TestMapCacheRegistryHosts(t *testing.T) {
	for _, registry := range []string{reg, "123456789012.dkr-ecr.us-east-1.on.aws", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"} {
		m := mapping.New(registry)
		for _, host := range []string{reg, "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "123456789012.dkr-ecr.us-east-1.on.aws", "123456789012.dkr-ecr-fips.us-east-1.on.aws"} {
			in := host + "/docker-hub/library/node:20"
			got := m.Map(in)
			if got.Kind != mapping.AlreadyHere || got.Output != in || got.Rewritten {
				t.Errorf("registry %s: Map(%q) = %+v, want already", registry, in, got)
			}
		}
		if got := m.Map("node:20"); got.Output != registry+"/docker-hub/library/node:20" {
			t.Errorf("registry %s: node:20 → %s; the cache ref keeps the registry host as given", registry, got.Output)
		}
	}
	// Same account, other region or partition: another registry.
	m := mapping.New(reg)
	for _, in := range []string{"123456789012.dkr.ecr.us-west-2.amazonaws.com/app:1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1"} {
		if got := m.Map(in); got.Kind == mapping.AlreadyHere {
			t.Errorf("Map(%q) = already; it is another registry", in)
		}
	}
}

// Refs already on the cache registry (issue 10, point 7): under a rule's prefix they name the upstream
// image they stand for, so they are probed and warmed like any other; a Docker Hub path without library/
// is one the cache can never fill (reference: "Docker Hub official images need library/ ... ECR does not
// add it") and comes with the path to use.
func TestMapAlreadyOnCache(t *testing.T) {
	m := mapping.New(reg, mapping.WithRules(testRules(t)))
	cases := []struct {
		in          string
		kind        mapping.Kind
		upstreamRef string
		fix         string
	}{
		{reg + "/docker.io/library/node:20", mapping.AlreadyHere, "docker.io/library/node:20", ""},
		{reg + "/docker.io/bitnami/redis:7", mapping.AlreadyHere, "docker.io/bitnami/redis:7", ""},
		{reg + "/docker.io/library/node", mapping.AlreadyHere, "docker.io/library/node:latest", ""},
		{reg + "/docker.io/library/node@" + dgst, mapping.AlreadyHere, "docker.io/library/node@" + dgst, ""},
		{reg + "/quay-io/prometheus/prometheus:v2", mapping.AlreadyHere, "quay.io/prometheus/prometheus:v2", ""},
		{reg + "/central/base:1", mapping.AlreadyHere, "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1", ""},
		{"123456789012.dkr-ecr.us-east-1.on.aws/k8s/pause:3.9", mapping.AlreadyHere, "registry.k8s.io/pause:3.9", ""},
		{reg + "/docker.io/node:20", mapping.WrongPath, "docker.io/library/node:20", reg + "/docker.io/library/node:20"},
		{reg + "/docker.io/docker.io/library/node:20", mapping.WrongPath, "docker.io/library/node:20", reg + "/docker.io/library/node:20"},
		{reg + "/docker.io/index.docker.io/node:20", mapping.WrongPath, "docker.io/library/node:20", reg + "/docker.io/library/node:20"},
		{reg + "/docker.io/node:20@" + dgst, mapping.WrongPath, "docker.io/library/node:20@" + dgst, reg + "/docker.io/library/node:20@" + dgst},
		{reg + "/not-a-prefix/app:1", mapping.AlreadyHere, "", ""},
	}
	for _, c := range cases {
		got := m.Map(c.in)
		if got.Kind != c.kind || got.UpstreamRef != c.upstreamRef || got.Fix != c.fix || got.Output != c.in || got.Rewritten {
			t.Errorf("Map(%q) = kind %s, upstream %q, fix %q, output %q; want %s, %q, %q", c.in, got.Kind, got.UpstreamRef, got.Fix, got.Output, c.kind, c.upstreamRef, c.fix)
		}
		if c.upstreamRef != "" && (got.Repository == "" || got.Rule == nil) {
			t.Errorf("Map(%q): a ref under a rule names its repository and rule: %+v", c.in, got)
		}
		if c.kind == mapping.WrongPath && !strings.Contains(got.Reason, "library/") {
			t.Errorf("Map(%q): reason %q must name library/", c.in, got.Reason)
		}
	}
	// Defaults (no rules file): the standard docker-hub prefix.
	got := mapping.New(reg).Map(reg + "/docker-hub/node:20")
	if got.Kind != mapping.WrongPath || got.Fix != reg+"/docker-hub/library/node:20" {
		t.Errorf("default rules: %+v", got)
	}
}

// No rule for an ECR upstream named by its dual-stack host: the fix names the standard host, the
// upstreamRegistryUrl syntax of CreatePullThroughCacheRule (API model).
func TestNoRuleECRUpstreamHost(t *testing.T) {
	got := mapping.New(reg).Map("444455556666.dkr-ecr.us-west-2.on.aws/team/app:1")
	if got.Kind != mapping.NoRule || !strings.Contains(got.Reason, "--upstream ecr --upstream-url 444455556666.dkr.ecr.us-west-2.amazonaws.com`") {
		t.Errorf("got %+v", got)
	}
}
