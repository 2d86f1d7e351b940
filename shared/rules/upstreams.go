package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Upstream is a registry kind ECR's pull-through cache supports.
type Upstream struct {
	Name          string   // the name users type: "docker-hub", "quay", ...
	Aliases       []string // other accepted names
	Enum          string   // ECR's UpstreamRegistry value
	URL           string   // upstreamRegistryUrl ECR expects; "" when it varies per registry (ACR, ECR)
	RefHost       string   // host as it appears in image references ("docker.io" for Docker Hub)
	DefaultPrefix string   // the prefix ecr-ptc proposes when it creates the rule
	// NeedsCredential: the rule needs a Secrets Manager secret named ecr-pullthroughcache/...
	NeedsCredential bool
}

// upstreams follows the reference: Docker Hub is exactly registry-1.docker.io; ECR Public, Quay and
// registry.k8s.io need no credential; Docker Hub, GHCR, ACR, GitLab and Chainguard need one.
var upstreams = []Upstream{
	{Name: "docker-hub", Aliases: []string{"dockerhub", "docker", "docker.io"}, Enum: "docker-hub", URL: imageref.DockerHubUpstreamURL, RefHost: imageref.DockerHub, DefaultPrefix: "docker-hub", NeedsCredential: true},
	{Name: "ecr-public", Aliases: []string{"public.ecr.aws"}, Enum: "ecr-public", URL: "public.ecr.aws", RefHost: "public.ecr.aws", DefaultPrefix: "ecr-public"},
	{Name: "quay", Aliases: []string{"quay.io"}, Enum: "quay", URL: "quay.io", RefHost: "quay.io", DefaultPrefix: "quay"},
	{Name: "k8s", Aliases: []string{"registry.k8s.io", "kubernetes"}, Enum: "k8s", URL: "registry.k8s.io", RefHost: "registry.k8s.io", DefaultPrefix: "k8s"},
	{Name: "github", Aliases: []string{"ghcr", "ghcr.io", "github-container-registry"}, Enum: "github-container-registry", URL: "ghcr.io", RefHost: "ghcr.io", DefaultPrefix: "github", NeedsCredential: true},
	{Name: "gitlab", Aliases: []string{"registry.gitlab.com", "gitlab-container-registry"}, Enum: "gitlab-container-registry", URL: "registry.gitlab.com", RefHost: "registry.gitlab.com", DefaultPrefix: "gitlab", NeedsCredential: true},
	{Name: "chainguard", Aliases: []string{"cgr.dev"}, Enum: "chainguard", URL: "cgr.dev", RefHost: "cgr.dev", DefaultPrefix: "chainguard", NeedsCredential: true},
	{Name: "azure", Aliases: []string{"acr", "azurecr", "azure-container-registry"}, Enum: "azure-container-registry", DefaultPrefix: "azure", NeedsCredential: true},
	{Name: "ecr", Aliases: []string{"ecr-private"}, Enum: "ecr", DefaultPrefix: "ecr"},
}

// Upstreams lists every supported upstream kind.
func Upstreams() []Upstream { return append([]Upstream(nil), upstreams...) }

// Names lists the names users may type for upstreams.
func Names() []string {
	var out []string
	for _, u := range upstreams {
		out = append(out, u.Name)
	}
	return out
}

// Enums lists ECR's UpstreamRegistry values.
func Enums() []string {
	var out []string
	for _, u := range upstreams {
		out = append(out, u.Enum)
	}
	sort.Strings(out)
	return out
}

// ByName finds an upstream by name, alias or host, case-insensitively.
func ByName(name string) (Upstream, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, u := range upstreams {
		if n == u.Name || n == u.Enum || (u.URL != "" && n == u.URL) {
			return u, true
		}
		for _, a := range u.Aliases {
			if n == a {
				return u, true
			}
		}
	}
	return Upstream{}, false
}

// ByEnum finds an upstream by ECR's UpstreamRegistry value.
func ByEnum(enum string) (Upstream, bool) {
	for _, u := range upstreams {
		if u.Enum == enum {
			return u, true
		}
	}
	return Upstream{}, false
}

// ForHost finds the upstream kind a registry host belongs to: fixed hosts, "*.azurecr.io", and private
// ECR hosts.
func ForHost(host string) (Upstream, bool) {
	h := imageref.CanonicalHost(host)
	for _, u := range upstreams {
		if u.RefHost != "" && h == u.RefHost {
			return u, true
		}
	}
	if strings.HasSuffix(h, ".azurecr.io") {
		u, _ := ByEnum("azure-container-registry")
		u.URL, u.RefHost = h, h
		return u, true
	}
	if reg, ok := imageref.ParseECRHost(h); ok {
		// A rule names an ECR upstream by its standard host (the API model's upstreamRegistryUrl syntax),
		// whichever host (FIPS, dual-stack) the reference used.
		u, _ := ByEnum("ecr")
		u.URL, u.RefHost = reg.Host(), h
		return u, true
	}
	return Upstream{}, false
}

// Defaults is the rule set ecr-ptc assumes when no rules are given: every fixed-host upstream under its
// default prefix. ACR and ECR-to-ECR rules name a specific registry and are never assumed.
func Defaults() Set {
	var s Set
	for _, u := range upstreams {
		if u.URL == "" {
			continue
		}
		s.Rules = append(s.Rules, Rule{ECRRepositoryPrefix: u.DefaultPrefix, UpstreamRegistryURL: u.URL, UpstreamRegistry: u.Enum})
	}
	return s
}

// ParseSpec reads the compact form "UPSTREAM=PREFIX[,UPSTREAM=PREFIX...]" used by build args and flags,
// e.g. "docker.io=docker-hub,ghcr.io=github". UPSTREAM is a host or an upstream name; an ECR upstream may
// carry the rule's upstreamRepositoryPrefix after a slash ("444455556666.dkr.ecr.us-west-2.amazonaws.com/team=team-cache").
func ParseSpec(spec string) (Set, error) {
	var s Set
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		up, prefix, ok := strings.Cut(part, "=")
		up, prefix = strings.TrimSpace(up), strings.TrimSpace(prefix)
		if !ok || up == "" || prefix == "" {
			return Set{}, fmt.Errorf("rule %q is not of the form UPSTREAM=PREFIX (e.g. docker.io=docker-hub)", part)
		}
		if err := ValidatePrefix(prefix); err != nil {
			return Set{}, fmt.Errorf("rule %q: %v", part, err)
		}
		r := Rule{ECRRepositoryPrefix: prefix}
		if host, upPrefix, ok := strings.Cut(up, "/"); ok {
			if err := ValidatePrefix(upPrefix); err != nil {
				return Set{}, fmt.Errorf("rule %q: upstream%s", part, strings.TrimPrefix(err.Error(), "ecr"))
			}
			up, r.UpstreamRepositoryPrefix = host, upPrefix
		}
		if u, ok := ByName(up); ok && u.URL != "" {
			r.UpstreamRegistryURL, r.UpstreamRegistry = u.URL, u.Enum
		} else if u, ok := ForHost(up); ok {
			r.UpstreamRegistryURL, r.UpstreamRegistry = u.URL, u.Enum
		} else if strings.ContainsAny(up, ".:") {
			r.UpstreamRegistryURL = up
		} else {
			return Set{}, fmt.Errorf("rule %q: unknown upstream %q (use a registry host or one of %s)", part, up, strings.Join(Names(), ", "))
		}
		if err := r.Validate(); err != nil {
			return Set{}, fmt.Errorf("rule %q: %v", part, err)
		}
		s.Rules = append(s.Rules, r)
	}
	if err := s.checkDuplicates(); err != nil {
		return Set{}, err
	}
	return s, nil
}

// Spec renders s in the compact form ParseSpec reads.
func (s Set) Spec() string {
	var parts []string
	for _, r := range s.Rules {
		up := r.UpstreamHost()
		if p := r.UpstreamPrefix(); p != "" {
			up += "/" + p
		}
		parts = append(parts, up+"="+r.ECRRepositoryPrefix)
	}
	return strings.Join(parts, ",")
}
