// Package imageref normalises container image references the way Docker clients and BuildKit do, with
// every Docker Hub alias folded into one host, and recognises Amazon ECR registry hosts.
package imageref

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/distribution/reference"
	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
)

// DockerHub is the canonical host of Docker Hub in normalised references.
const DockerHub = "docker.io"

// DockerHubUpstreamURL is the host an ECR pull-through cache rule names for Docker Hub.
const DockerHubUpstreamURL = "registry-1.docker.io"

// Scratch is the reserved empty base image; it is never pulled.
const Scratch = "scratch"

// dockerHubAliases are the host names that all mean Docker Hub.
var dockerHubAliases = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// IsDockerHub reports whether host names Docker Hub.
func IsDockerHub(host string) bool { return dockerHubAliases[strings.ToLower(host)] }

// CanonicalHost folds Docker Hub aliases into DockerHub and lower-cases the host; other hosts keep their
// port.
func CanonicalHost(host string) string {
	if IsDockerHub(host) {
		return DockerHub
	}
	return strings.ToLower(host)
}

// Ref is a parsed, normalised image reference.
type Ref struct {
	Host       string // canonical registry host, "docker.io" for Docker Hub
	Repository string // repository path on that host, "library/alpine" for official images
	Tag        string // may be empty
	Digest     string // may be empty
}

// InvalidError reports a reference that cannot be parsed.
type InvalidError struct {
	Input  string
	Reason string
}

func (e *InvalidError) Error() string {
	// A reference comes from a file: name it, cut short, never echo it whole.
	return fmt.Sprintf("invalid image reference %s: %s", clipQuote(e.Input), e.Reason)
}

// Parse normalises s: a missing host means Docker Hub, one-segment Docker Hub names gain "library/",
// and every Docker Hub alias becomes "docker.io". Tag and digest are kept as given; neither is added.
func Parse(s string) (Ref, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Ref{}, &InvalidError{Input: s, Reason: "it is empty"}
	}
	if in != s {
		return Ref{}, &InvalidError{Input: s, Reason: "it has surrounding spaces"}
	}
	// registry-1.docker.io is not folded by distribution/reference; rewrite it first so that
	// "registry-1.docker.io/alpine" gains "library/" like "docker.io/alpine" does.
	if host, rest, ok := strings.Cut(in, "/"); ok && strings.EqualFold(host, DockerHubUpstreamURL) {
		in = DockerHub + "/" + rest
	}
	named, err := reference.ParseNormalizedNamed(in)
	if err != nil {
		return Ref{}, &InvalidError{Input: s, Reason: describe(err, s)}
	}
	r := Ref{Host: CanonicalHost(reference.Domain(named)), Repository: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	return r, nil
}

// describe turns distribution/reference's terse errors into a sentence a person can act on.
func describe(err error, s string) string {
	switch {
	case errors.Is(err, reference.ErrNameContainsUppercase), strings.Contains(err.Error(), "must be lowercase"):
		return "repository names must be lowercase"
	case errors.Is(err, reference.ErrNameTooLong):
		return fmt.Sprintf("the name is longer than %d characters", reference.RepositoryNameTotalLengthMax)
	case errors.Is(err, reference.ErrDigestInvalidFormat):
		return "the digest is not a valid sha256 digest"
	case strings.Contains(s, "://"):
		return "a reference has no URL scheme; drop the https:// part"
	case errors.Is(err, reference.ErrNameEmpty):
		return "the repository name is empty"
	case errors.Is(err, reference.ErrTagInvalidFormat):
		return "the tag is not valid"
	default:
		return "it is not of the form [host[:port]/]name[:tag][@digest]"
	}
}

// Name is host/repository.
func (r Ref) Name() string { return r.Host + "/" + r.Repository }

// String is the full normalised reference with tag and digest as parsed.
func (r Ref) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// ByTag is r without its digest: the form that fills a pull-through cache (a pull by digest does not:
// aws/containers-roadmap#2837). It is r unchanged when r has no digest.
func (r Ref) ByTag() Ref {
	r.Digest = ""
	return r
}

// ByDigest is r without its tag: what a client sends for name:tag@digest (only the digest).
func (r Ref) ByDigest() Ref {
	r.Tag = ""
	return r
}

// WithDigest is r pinned to d, its tag kept so people can read it; an empty d drops the pin.
func (r Ref) WithDigest(d string) Ref {
	r.Digest = d
	return r
}

// IsZero reports the zero Ref (no reference).
func (r Ref) IsZero() bool { return r == Ref{} }

// WithDefaultTag returns r with tag "latest" when it has neither tag nor digest, as every client does.
func (r Ref) WithDefaultTag() Ref {
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r
}

// Normalize parses s and returns the normalised reference with the default tag added, the form in which
// BuildKit resolves an image ("alpine" → "docker.io/library/alpine:latest").
func Normalize(s string) (string, error) {
	r, err := Parse(s)
	if err != nil {
		return "", err
	}
	return r.WithDefaultTag().String(), nil
}

// ECRRegistry describes a private ECR registry host (see shared/ecrhost, the one host parser).
type ECRRegistry = ecrhost.Registry

// ParseECRHost reports whether host (without port) is a private ECR registry and, if so, its account,
// region and partition: standard, FIPS and dual-stack hosts in every partition (ecrhost.Parse).
func ParseECRHost(host string) (ECRRegistry, bool) { return ecrhost.Parse(host) }

// ECRHost is the standard registry host of a private ECR registry in the region's partition.
func ECRHost(accountID, region string) string { return ecrhost.HostFor(accountID, region) }

// IsLoopbackHost reports whether a registry host[:port] is this machine (localhost or a loopback IP),
// where registries speak plain HTTP.
func IsLoopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
