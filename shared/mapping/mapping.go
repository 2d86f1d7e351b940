// Package mapping says which ECR pull-through cache reference serves an image reference, or why the
// reference stays as it is: a Mapper parses each reference once into typed source and cache references,
// applies the digest lock (WithPins), and a Result's Plan is the one judge of how to ask the cache for a
// pinned reference (by tag, then confirm the digest) that setup, the warmer and the frontend share.
package mapping

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// MaxRepositoryName is ECR's RepositoryName length limit (service model: max 256).
const MaxRepositoryName = 256

// Result is the mapping of one input reference.
type Result struct {
	Input     string `json:"input"`
	Output    string `json:"output"`    // the cache ref, or Input unchanged
	Rewritten bool   `json:"rewritten"` // Output is a cache ref
	Reason    string `json:"reason"`    // why, in a sentence a person can act on
	Error     string `json:"error,omitempty"`
	// Ref is the input normalised in full ("docker.io/library/alpine:latest"); empty when invalid.
	Ref string `json:"ref,omitempty"`
	// Upstream is the upstream registry host of Ref when a rule serves it.
	Upstream string `json:"upstream,omitempty"`
	// Repository is the cache repository name in the registry ("docker-hub/library/alpine").
	Repository string `json:"repository,omitempty"`
	// Prefix is the matched rule's ecrRepositoryPrefix.
	Prefix string `json:"prefix,omitempty"`
	// Tag and Digest of the cache ref (the input's, with "latest" added when neither was given).
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Kind classifies Reason for programs: see the Kind constants.
	Kind Kind `json:"kind"`
	// Pinned: Digest (and Output's digest) come from the digest lock, not from the input.
	Pinned bool `json:"pinned,omitempty"`
	// UpstreamRef is the upstream image the cache ref stands for ("docker.io/library/node:20"), for a
	// ref mapped through a rule and for a ref already on the cache registry under a rule's prefix.
	UpstreamRef string `json:"upstreamRef,omitempty"`
	// Fix is the cache ref to use instead of a wrong cache path (Kind WrongPath).
	Fix string `json:"fix,omitempty"`
	// Rule is the rule that serves the ref, when one does.
	Rule *rules.Rule `json:"-"`

	// Source is the input parsed once and normalised, with the default tag (Ref is its string); zero when
	// the input is invalid or scratch.
	Source imageref.Ref `json:"-"`
	// Cache is the cache reference that serves Source: Output's typed form for a Cached result (pinned by
	// the lock when Pinned), Source itself when it is already on the cache registry under a rule's prefix
	// (AlreadyHere with Rule set, WrongPath); zero otherwise. Its ByTag and ByDigest forms are what a
	// probe, a warm or a build asks the cache for (see Plan).
	Cache imageref.Ref `json:"-"`
	// Lock is the digest the lock (WithPins) pins Source to, whatever the Kind; "" when unlocked. A lock
	// holds wherever the image is pulled from; Pinned says it also pinned the cache reference.
	Lock string `json:"-"`
}

// Kind is the machine-readable class of a Result.
type Kind string

// Kinds of results.
const (
	Cached      Kind = "cached"        // served by the cache: Output is the cache ref
	AlreadyHere Kind = "already"       // already on the cache registry
	NoRule      Kind = "no-rule"       // a supported upstream without a rule
	Unsupported Kind = "unsupported"   // an upstream ECR's pull-through cache cannot serve
	Local       Kind = "local"         // a local or private registry (localhost, host:port)
	ScratchKind Kind = "scratch"       // the empty image
	Invalid     Kind = "invalid"       // not a valid reference
	NoRegistry  Kind = "no-registry"   // no cache registry was configured
	TooLong     Kind = "name-too-long" // the cache repository name would break ECR's limit
	WrongPath   Kind = "wrong-path"    // on the cache registry, under a rule, at a path the cache cannot fill
)

// Mapper maps references onto one cache registry with its rules.
type Mapper struct {
	registry string
	rules    rules.Set
	pins     func(ref string) (digest string, ok bool)
}

// Option configures a Mapper.
type Option func(*Mapper)

// WithRules sets the rules; without it the rules.Defaults() prefixes apply.
func WithRules(s rules.Set) Option { return func(m *Mapper) { m.rules = s } }

// WithPins applies the digest lock, the one way every front door applies it (the CLI and the frontend
// pass lock.File.Lookup): a pinned reference maps to its cache reference with the pinned digest, tag kept
// — the cache serves a digest it holds after the tag moves — and every result names its locked digest
// (Result.Lock). pin is given the normalised reference ("docker.io/library/node:20").
func WithPins(pin func(ref string) (digest string, ok bool)) Option {
	return func(m *Mapper) { m.pins = pin }
}

// New returns a Mapper for the cache registry host[:port] (a URL scheme and trailing slash are dropped).
func New(registry string, opts ...Option) *Mapper {
	m := &Mapper{registry: NormalizeRegistry(registry), rules: rules.Defaults()}
	for _, o := range opts {
		o(m)
	}
	return m
}

// NormalizeRegistry strips a scheme, trailing slashes and case from a registry host (ecrhost.Normalize).
func NormalizeRegistry(s string) string { return ecrhost.Normalize(s) }

// Registry is the cache registry host.
func (m *Mapper) Registry() string { return m.registry }

// Rules is the rule set in use.
func (m *Mapper) Rules() rules.Set { return m.rules }

// Map maps one reference.
func (m *Mapper) Map(input string) Result {
	res := Result{Input: input, Output: input}
	if input == imageref.Scratch {
		res.Kind, res.Reason = ScratchKind, "scratch is the empty image; nothing is pulled"
		return res
	}
	ref, err := imageref.Parse(input)
	if err != nil {
		res.Kind, res.Error, res.Reason = Invalid, err.Error(), err.Error()
		return res
	}
	ref = ref.WithDefaultTag()
	res.Source, res.Ref = ref, ref.String()
	if m.pins != nil {
		if d, ok := m.pins(res.Ref); ok {
			res.Lock = d
		}
	}
	if m.registry == "" {
		res.Kind, res.Reason = NoRegistry, "no cache registry given; pass --registry ACCOUNT.dkr.ecr.REGION.amazonaws.com"
		return res
	}
	if ecrhost.SameRegistry(ref.Host, m.registry) {
		// Any host of the cache registry (FIPS, dual-stack) is the cache registry, not an ECR upstream.
		return m.onCache(res, ref)
	}
	up, supported := rules.ForHost(ref.Host)
	candidates := m.rules.ForHost(ref.Host)
	if len(candidates) == 0 {
		switch {
		case supported:
			res.Kind, res.Reason = NoRule, noRuleReason(ref.Host, up)
		case isLocal(ref.Host):
			res.Kind, res.Reason = Local, fmt.Sprintf("%s is a local or private registry, not an upstream ECR can cache; pulled directly", ref.Host)
		default:
			res.Kind, res.Reason = Unsupported, fmt.Sprintf("ECR's pull-through cache does not support %s (it supports Docker Hub, ECR Public, Quay, registry.k8s.io, GHCR, GitLab, Chainguard, Azure Container Registry and ECR); pulled directly", ref.Host)
		}
		return res
	}
	for _, r := range candidates {
		path, ok := cachePath(r, ref.Repository)
		if !ok {
			continue
		}
		if len(path) > MaxRepositoryName {
			res.Kind, res.Reason = TooLong, fmt.Sprintf("the cache repository %q would be %d characters, over ECR's limit of %d; pulled directly", path, len(path), MaxRepositoryName)
			return res
		}
		res.Rewritten, res.Kind = true, Cached
		res.Upstream, res.Repository, res.Prefix = ref.Host, path, strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
		res.UpstreamRef, res.Rule = res.Ref, &r
		res.Cache = imageref.Ref{Host: m.registry, Repository: path, Tag: ref.Tag, Digest: ref.Digest}
		if res.Lock != "" {
			res.Cache, res.Pinned = res.Cache.WithDigest(res.Lock), true
		}
		res.Tag, res.Digest, res.Output = res.Cache.Tag, res.Cache.Digest, res.Cache.String()
		res.Reason = fmt.Sprintf("served by the pull-through cache rule %q for %s", res.Prefix, r.UpstreamRegistryURL)
		if res.Pinned {
			res.Reason += ", pinned by the digest lock to " + res.Digest
		}
		return res
	}
	res.Kind = NoRule
	res.Reason = fmt.Sprintf("no pull-through cache rule for %s covers %s (the rules for that host have an upstreamRepositoryPrefix that does not match)", ref.Host, ref.Repository)
	return res
}

// onCache describes a ref already on the cache registry. Under a rule's prefix it is a cache ref like any
// other — probed and warmed — and it names the upstream image it stands for; a path the cache can never
// fill (a Docker Hub official image without library/, which ECR does not add: reference) is WrongPath,
// with the ref to use instead.
func (m *Mapper) onCache(res Result, ref imageref.Ref) Result {
	res.Kind, res.Reason = AlreadyHere, "already on the cache registry"
	r, rest, ok := m.ruleForCachePath(ref.Repository)
	if !ok {
		res.Reason += " (no pull-through cache rule's prefix covers " + ref.Repository + ")"
		return res
	}
	res.Rule, res.Prefix, res.Upstream = &r, strings.TrimSuffix(r.ECRRepositoryPrefix, "/"), r.UpstreamHost()
	res.Cache, res.Repository, res.Tag, res.Digest = ref, ref.Repository, ref.Tag, ref.Digest
	upRepo := rest
	if up := r.UpstreamPrefix(); up != "" {
		upRepo = up + "/" + rest
	}
	res.UpstreamRef = withName(ref, res.Upstream, upRepo).String()
	res.Reason = fmt.Sprintf("already on the cache registry, under the pull-through cache rule %q for %s", res.Prefix, r.UpstreamRegistryURL)
	if res.Upstream != imageref.DockerHub {
		return res
	}
	// Docker Hub names are namespace/name: a one-segment path is an official image missing library/, and a
	// first segment with a dot is a registry host (Docker Hub namespaces have none) written into the path.
	fixed := rest
	if first, after, found := strings.Cut(fixed, "/"); found && imageref.IsDockerHub(first) {
		fixed = after
	}
	if !strings.Contains(fixed, "/") {
		fixed = "library/" + fixed
	}
	if fixed == rest {
		return res
	}
	path, _ := cachePath(r, fixed)
	res.Kind = WrongPath
	res.Fix = withName(ref, ref.Host, path).String()
	res.UpstreamRef = withName(ref, imageref.DockerHub, fixed).String()
	res.Reason = fmt.Sprintf("the cache cannot fill %s: ECR asks Docker Hub for %q, which does not exist (official images need library/, and ECR does not add it); use %s", ref.Repository, rest, res.Fix)
	return res
}

// withName is ref (its tag and digest) under another host and repository.
func withName(ref imageref.Ref, host, repo string) imageref.Ref {
	ref.Host, ref.Repository = host, repo
	return ref
}

// ruleForCachePath finds the rule whose ecrRepositoryPrefix a cache repository path is under (the longest
// prefix; a ROOT rule covers every path) and the path after the prefix.
func (m *Mapper) ruleForCachePath(repo string) (rules.Rule, string, bool) {
	var best rules.Rule
	bestLen, rest, found := -1, "", false
	for _, r := range m.rules.Rules {
		p := strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
		switch {
		case p == rules.Root && bestLen < 0:
			best, bestLen, rest, found = r, 0, repo, true
		case p != rules.Root && len(p) > bestLen && strings.HasPrefix(repo, p+"/"):
			best, bestLen, rest, found = r, len(p), strings.TrimPrefix(repo, p+"/"), true
		}
	}
	return best, rest, found
}

// cachePath is the repository path in the cache registry for an upstream repository under rule r.
// ECR does not add "library/" for Docker Hub: imageref has already put it in the path.
func cachePath(r rules.Rule, repo string) (string, bool) {
	if up := r.UpstreamPrefix(); up != "" {
		rest, ok := strings.CutPrefix(repo, up+"/")
		if !ok {
			return "", false
		}
		repo = rest
	}
	prefix := strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
	if prefix == rules.Root {
		return repo, true
	}
	return prefix + "/" + repo, true
}

func noRuleReason(host string, up rules.Upstream) string {
	cmd := "ecr-ptc rules ensure --upstream " + up.Name
	if up.URL == "" || up.Enum == "azure-container-registry" || up.Enum == "ecr" {
		cmd += " --upstream-url " + cmp.Or(up.URL, host)
	}
	if up.NeedsCredential {
		cmd += " --credential-arn arn:aws:secretsmanager:REGION:ACCOUNT:secret:ecr-pullthroughcache/" + up.Name
		return fmt.Sprintf("no pull-through cache rule for %s; create one with `%s` (%s needs a Secrets Manager secret named ecr-pullthroughcache/...)", host, cmd, host)
	}
	return fmt.Sprintf("no pull-through cache rule for %s; create one with `%s`", host, cmd)
}

// isLocal reports hosts that are registries of one's own: localhost, loopback, a host with a port, or a
// single-label name.
func isLocal(host string) bool {
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		return true
	}
	return h == "localhost" || strings.HasPrefix(h, "127.") || strings.HasPrefix(h, "[") || !strings.Contains(h, ".")
}
