package rules_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

func TestParseCLIOutput(t *testing.T) {
	// The shape `aws ecr describe-pull-through-cache-rules` prints, timestamps and all.
	doc := `{
    "pullThroughCacheRules": [
        {
            "ecrRepositoryPrefix": "dockerhub-public",
            "upstreamRegistryUrl": "registry-1.docker.io",
            "createdAt": "2024-03-11T09:12:44.120000+00:00",
            "registryId": "123456789012",
            "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
            "upstreamRegistry": "docker-hub",
            "updatedAt": "2024-03-11T09:12:44.120000+00:00"
        }
    ],
    "nextToken": null
}`
	s, err := rules.Parse("rules.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := s.ForHost("index.docker.io")
	if len(got) != 1 || got[0].ECRRepositoryPrefix != "dockerhub-public" || got[0].RegistryID != "123456789012" {
		t.Fatalf("ForHost = %+v", got)
	}
	if s.ForHost("quay.io") != nil {
		t.Fatal("quay.io has no rule")
	}
}

func TestParseArray(t *testing.T) {
	s, err := rules.Parse("r.json", []byte(`[{"ecrRepositoryPrefix":"q","upstreamRegistryUrl":"quay.io"}]`))
	if err == nil {
		t.Fatalf("a 1-character prefix must be refused (ECR: 2-30 characters), got %+v", s)
	}
	s, err = rules.Parse("r.json", []byte(`[{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"https://quay.io/"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules[0].UpstreamHost() != "quay.io" {
		t.Fatalf("host = %q", s.Rules[0].UpstreamHost())
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"":                                       "empty",
		"{":                                      "line 1: invalid JSON: the document ends",
		"{\n\"pullThroughCacheRules\": [\n{,}]}": "line 3: invalid JSON",
		`{"rules": []}`:                          `no "pullThroughCacheRules" key`,
		`{"pullThroughCacheRules": {}}`:          "must be a",
		`{"pullThroughCacheRules": [{"upstreamRegistryUrl":"quay.io"}]}`:                                                                                         `rule 1: "ecrRepositoryPrefix" is missing`,
		`{"pullThroughCacheRules": [{"ecrRepositoryPrefix":"quay"}]}`:                                                                                            `rule 1: "upstreamRegistryUrl" is missing`,
		`{"pullThroughCacheRules": [{"ecrRepositoryPrefix":"Quay","upstreamRegistryUrl":"quay.io"}]}`:                                                            "lowercase",
		`{"pullThroughCacheRules": [{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"quay.io","upstreamRegistry":"nope"}]}`:                                  "not one ECR knows",
		`{"pullThroughCacheRules": [{"ecrRepositoryPrefix":"aa","upstreamRegistryUrl":"quay.io"},{"ecrRepositoryPrefix":"aa","upstreamRegistryUrl":"ghcr.io"}]}`: "two rules use the prefix",
		`{"pullThroughCacheRules": []} {}`: "unexpected data",
	}
	for in, want := range cases {
		_, err := rules.Parse("bad.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "bad.json: ") {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestParseSpec(t *testing.T) {
	s, err := rules.ParseSpec("docker.io=docker-hub, registry-1.docker.io=hub2,ghcr.io=github,quay=q-io,myacr.azurecr.io=acr")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.ForHost("docker.io")); got != 2 {
		t.Fatalf("docker.io and registry-1.docker.io both name Docker Hub; got %d rules", got)
	}
	if r := s.ForHost("quay.io"); len(r) != 1 || r[0].UpstreamRegistry != "quay" {
		t.Fatalf("quay: %+v", r)
	}
	if r := s.ForHost("myacr.azurecr.io"); len(r) != 1 || r[0].UpstreamRegistry != "azure-container-registry" {
		t.Fatalf("acr: %+v", r)
	}
	if got, want := s.Spec(), "docker.io=docker-hub,docker.io=hub2,ghcr.io=github,quay.io=q-io,myacr.azurecr.io=acr"; got != want {
		t.Errorf("Spec() = %q, want %q", got, want)
	}
	for _, bad := range []string{"docker.io", "=x", "docker.io=", "nowhere=xx", "docker.io=X", "docker.io=ROOT"} {
		if _, err := rules.ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func TestUpstreams(t *testing.T) {
	for name, enum := range map[string]string{"docker-hub": "docker-hub", "dockerhub": "docker-hub", "ghcr": "github-container-registry", "quay.io": "quay", "k8s": "k8s", "gitlab": "gitlab-container-registry", "chainguard": "chainguard", "ecr-public": "ecr-public", "azure": "azure-container-registry", "ecr": "ecr"} {
		u, ok := rules.ByName(name)
		if !ok || u.Enum != enum {
			t.Errorf("ByName(%q) = %+v, %v", name, u, ok)
		}
	}
	if u, ok := rules.ForHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com"); !ok || u.Enum != "ecr" {
		t.Errorf("private ECR host: %+v", u)
	}
	for _, h := range []string{"mcr.microsoft.com", "gcr.io", "localhost:5000"} {
		if _, ok := rules.ForHost(h); ok {
			t.Errorf("%s is not an upstream ECR supports", h)
		}
	}
	// Credential needs follow the reference: Docker Hub, GHCR, ACR, GitLab, Chainguard need a secret.
	for _, u := range rules.Upstreams() {
		want := map[string]bool{"docker-hub": true, "github-container-registry": true, "azure-container-registry": true, "gitlab-container-registry": true, "chainguard": true}[u.Enum]
		if u.NeedsCredential != want {
			t.Errorf("%s NeedsCredential = %v", u.Name, u.NeedsCredential)
		}
	}
}

// Rule fields added in 2025 (reference): upstreamRepositoryPrefix defaults to ROOT and may be printed as
// "ROOT" on every rule (unverified), so it means "no prefix" on any rule; a real prefix is for ECR-to-ECR
// rules only and settable only when ecrRepositoryPrefix is not ROOT; customRoleArn is ECR-to-ECR's
// credential.
func TestRuleFields2025(t *testing.T) {
	const ecrURL = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
	const role = "arn:aws:iam::123456789012:role/ecr-to-ecr"
	ok := []struct {
		doc        string
		upPrefix   string // UpstreamPrefix()
		customRole string
	}{
		{`[{"ecrRepositoryPrefix":"docker-hub","upstreamRegistryUrl":"registry-1.docker.io","upstreamRegistry":"docker-hub","credentialArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/dh","upstreamRepositoryPrefix":"ROOT"}]`, "", ""},
		{`[{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"quay.io","upstreamRepositoryPrefix":"ROOT"}]`, "", ""},
		{`[{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"quay.io"}]`, "", ""},
		{`[{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"` + ecrURL + `","upstreamRegistry":"ecr","customRoleArn":"` + role + `","upstreamRepositoryPrefix":"shared"}]`, "shared", role},
		{`[{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"` + ecrURL + `","customRoleArn":"` + role + `","upstreamRepositoryPrefix":"team/shared/"}]`, "team/shared", role},
		{`[{"ecrRepositoryPrefix":"ROOT","upstreamRegistryUrl":"` + ecrURL + `","upstreamRegistry":"ecr","customRoleArn":"` + role + `","upstreamRepositoryPrefix":"ROOT"}]`, "", role},
		{`[{"ecrRepositoryPrefix":"ROOT","upstreamRegistryUrl":"` + ecrURL + `","upstreamRegistry":"ecr","customRoleArn":"` + role + `"}]`, "", role},
		// The upstream's dual-stack host is the same ECR registry.
		{`[{"ecrRepositoryPrefix":"mirror","upstreamRegistryUrl":"210987654321.dkr-ecr.eu-west-1.on.aws","customRoleArn":"` + role + `","upstreamRepositoryPrefix":"xy"}]`, "xy", role},
	}
	for _, c := range ok {
		s, err := rules.Parse("rules.json", []byte(c.doc))
		if err != nil {
			t.Errorf("Parse(%s) = %v", c.doc, err)
			continue
		}
		if r := s.Rules[0]; r.UpstreamPrefix() != c.upPrefix || r.CustomRoleArn != c.customRole {
			t.Errorf("Parse(%s): upstream prefix %q, role %q", c.doc, r.UpstreamPrefix(), r.CustomRoleArn)
		}
	}
	for doc, want := range map[string]string{
		`[{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"quay.io","upstreamRepositoryPrefix":"prometheus"}]`:                             "ECR-to-ECR rules only",
		`[{"ecrRepositoryPrefix":"ROOT","upstreamRegistryUrl":"quay.io"}]`:                                                                     "ECR-to-ECR rules only",
		`[{"ecrRepositoryPrefix":"ROOT","upstreamRegistryUrl":"` + ecrURL + `","upstreamRepositoryPrefix":"shared"}]`:                          "other than ROOT",
		`[{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"` + ecrURL + `","upstreamRepositoryPrefix":"Shared"}]`:                       "upstreamRepositoryPrefix",
		`[{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"` + ecrURL + `","upstreamRepositoryPrefix":"x"}]`:                            "2 to 30",
		`[{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"` + ecrURL + `","upstreamRegistry":"quay","upstreamRepositoryPrefix":"xx"}]`: "ECR-to-ECR rules only",
	} {
		if _, err := rules.Parse("rules.json", []byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
}

// An ECR upstream is found by any of its hosts (reference, "Registry hosts"); the rule with the longest
// upstreamRepositoryPrefix comes first.
func TestForHostECRAliases(t *testing.T) {
	s, err := rules.Parse("rules.json", []byte(`[
		{"ecrRepositoryPrefix":"all","upstreamRegistryUrl":"210987654321.dkr.ecr.eu-west-1.amazonaws.com","upstreamRepositoryPrefix":"ROOT"},
		{"ecrRepositoryPrefix":"team","upstreamRegistryUrl":"210987654321.dkr.ecr.eu-west-1.amazonaws.com","upstreamRepositoryPrefix":"team"}]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"210987654321.dkr.ecr.eu-west-1.amazonaws.com", "210987654321.dkr.ecr-fips.eu-west-1.amazonaws.com", "210987654321.dkr-ecr.eu-west-1.on.aws"} {
		got := s.ForHost(h)
		if len(got) != 2 || got[0].ECRRepositoryPrefix != "team" {
			t.Errorf("ForHost(%s) = %+v", h, got)
		}
	}
	if got := s.ForHost("210987654321.dkr.ecr.us-east-1.amazonaws.com"); got != nil {
		t.Errorf("another region is another registry: %+v", got)
	}
}

// The compact form carries an ECR-to-ECR rule's upstreamRepositoryPrefix, so ECR_PTC_RULES and --rule
// express every rule mapping needs (reference, "Rule fields added in 2025").
func TestSpecUpstreamPrefix(t *testing.T) {
	const spec = "docker.io=docker-hub,444455556666.dkr.ecr.us-west-2.amazonaws.com/team=team-cache,444455556666.dkr.ecr.us-west-2.amazonaws.com=ROOT"
	s, err := rules.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ForHost("444455556666.dkr-ecr.us-west-2.on.aws"); len(got) != 2 || got[0].UpstreamPrefix() != "team" || got[0].ECRRepositoryPrefix != "team-cache" || got[1].ECRRepositoryPrefix != "ROOT" {
		t.Fatalf("ForHost = %+v", got)
	}
	if s.Spec() != spec {
		t.Errorf("Spec() = %q, want %q", s.Spec(), spec)
	}
	for _, bad := range []string{"quay.io/prometheus=quay", "444455556666.dkr.ecr.us-west-2.amazonaws.com/T=x1", "444455556666.dkr.ecr.us-west-2.amazonaws.com/=x1", "444455556666.dkr.ecr.us-west-2.amazonaws.com/team=ROOT"} {
		if _, err := rules.ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}
