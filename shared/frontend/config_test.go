package frontend

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name     string
		opts     map[string]string
		registry string
		fromSrc  bool
		strict   bool
		disabled bool
		rules    string // Spec() of the rules, when checked
		err      string
	}{
		{name: "nothing", opts: map[string]string{}, rules: "docker.io=docker-hub,public.ecr.aws=ecr-public,quay.io=quay,registry.k8s.io=k8s,ghcr.io=github,registry.gitlab.com=gitlab,cgr.dev=chainguard"},
		{name: "registry and rules", opts: map[string]string{"build-arg:ECR_PTC_REGISTRY": "https://" + reg + "/", "build-arg:ECR_PTC_RULES": "registry-1.docker.io=dockerhub-public, ghcr.io=gh"},
			registry: reg, rules: "docker.io=dockerhub-public,ghcr.io=gh"},
		{name: "strict and disable", opts: map[string]string{"build-arg:ECR_PTC_STRICT": "1", "build-arg:ECR_PTC_DISABLE": "true"}, strict: true, disabled: true},
		{name: "empty values are false", opts: map[string]string{"build-arg:ECR_PTC_STRICT": "", "build-arg:ECR_PTC_DISABLE": " "}},
		{name: "the frontend pulled from ECR names the cache", opts: map[string]string{"source": reg + "/docker-hub/ecrptc/frontend:1"}, registry: reg, fromSrc: true},
		{name: "an explicit registry wins over the source", opts: map[string]string{"source": reg + "/x/fe:1", "build-arg:ECR_PTC_REGISTRY": "127.0.0.1:5000"}, registry: "127.0.0.1:5000"},
		{name: "a frontend from elsewhere names nothing", opts: map[string]string{"source": "docker.io/ecrptc/frontend:1"}},
		{name: "bad bool", opts: map[string]string{"build-arg:ECR_PTC_STRICT": "yes please"}, err: `ECR_PTC_STRICT="yes please": expected true or false`},
		{name: "bad rules", opts: map[string]string{"build-arg:ECR_PTC_RULES": "docker.io"}, err: "build arg ECR_PTC_RULES: rule \"docker.io\" is not of the form UPSTREAM=PREFIX"},
		{name: "empty rules", opts: map[string]string{"build-arg:ECR_PTC_RULES": ","}, err: "names no rule"},
		{name: "registry with a path", opts: map[string]string{"build-arg:ECR_PTC_REGISTRY": reg + "/docker-hub"}, err: "without a path"},
		// Issue 11: a registry build arg cannot inject a line or a TOML table.
		{name: "registry with a newline", opts: map[string]string{"build-arg:ECR_PTC_REGISTRY": "x\n[registry.evil]"}, err: "control or non-ASCII character"},
		{name: "registry with a quote", opts: map[string]string{"build-arg:ECR_PTC_REGISTRY": `x"]#`}, err: "build arg ECR_PTC_REGISTRY"},
		{name: "a typo is an error, not a silent bypass", opts: map[string]string{"build-arg:ECR_PTC_REGSITRY": reg}, err: "unknown build arg ECR_PTC_REGSITRY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(c.opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Registry != c.registry || cfg.RegistryFromSource != c.fromSrc || cfg.Strict != c.strict || cfg.Disabled != c.disabled {
				t.Errorf("cfg = %+v", cfg)
			}
			if c.rules != "" && cfg.Rules.Spec() != c.rules {
				t.Errorf("rules = %s, want %s", cfg.Rules.Spec(), c.rules)
			}
		})
	}
}

func TestStockOpts(t *testing.T) {
	in := map[string]string{"build-arg:ECR_PTC_REGISTRY": reg, "build-arg:ECR_PTC_RULES": "docker.io=x1", "build-arg:NODE": "20", "context:base": "docker-image://alpine", "source": "fe:1"}
	out := stockOpts(in)
	if len(out) != 4 || out["build-arg:NODE"] != "20" || out["context:base"] == "" || out["cmdline"] != "fe:1" {
		t.Errorf("stockOpts = %v", out)
	}
	if _, ok := in["cmdline"]; ok {
		t.Error("stockOpts changed its input")
	}
	// BuildKit's own cmdline (from `# syntax=` or BUILDKIT_SYNTAX) is kept.
	if out := stockOpts(map[string]string{"cmdline": "fe:1 --flag"}); out["cmdline"] != "fe:1 --flag" {
		t.Errorf("cmdline = %q", out["cmdline"])
	}
}

func TestSameFrontend(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{"source": reg + "/docker-hub/ecrptc/frontend:1"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]bool{
		reg + "/docker-hub/ecrptc/frontend:2": true,  // another tag of the same image
		"ecrptc/frontend:1":                   true,  // the same image, named upstream
		"docker/dockerfile:1":                 false, // another frontend
		"docker.io/docker/dockerfile:1.7":     false,
	} {
		if got := sameFrontend(ref, cfg); got != want {
			t.Errorf("sameFrontend(%q) = %v, want %v", ref, got, want)
		}
	}
	if sameFrontend("docker/dockerfile:1", Config{}) {
		t.Error("no source: nothing is the same")
	}
}
