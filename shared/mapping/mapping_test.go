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
