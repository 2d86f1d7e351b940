// Package freshness tells whether the pull-through cache serves a tag's current upstream digest, and
// forces a re-import when it does not. ECR re-checks a cached tag upstream at most about once every 24
// hours (reference: "a moved tag can be served stale for a day"), and has no refresh API: deleting the
// cached tag (BatchDeleteImage) and pulling it through again re-imports it.
//
// Reading is free of side effects: the cached digest comes from DescribeImages (which never imports),
// the upstream digest from a registry HEAD, which Docker Hub does not count against its pull limit.
package freshness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Verdict is the outcome for one image.
type Verdict string

// Verdicts.
const (
	Fresh        Verdict = "fresh"         // the cache (and the lock, if any) has the upstream tag's current digest
	Stale        Verdict = "stale"         // the cache serves an older digest than upstream has now
	LockedBehind Verdict = "locked-behind" // the lock pins an older digest than upstream has now
	Unknown      Verdict = "unknown"       // cannot tell (not cached yet, upstream unreachable, no tag)
)

// Item is one image to check.
type Item struct {
	Ref        string // the reference as the Dockerfiles use it, normalised: docker.io/library/node:20
	Repository string // the cache repository: docker-hub/library/node
	Tag        string // the tag ("" for a digest-only reference)
	Digest     string // the digest the reference itself pins, if any
	Locked     string // the digest the lock pins, if any
	Upstream   string // where to HEAD the tag: host[:port]/path:tag (an endpoint override applied)
}

// Result is the check of one Item.
type Result struct {
	Ref            string     `json:"ref"`
	Repository     string     `json:"repository"`
	Tag            string     `json:"tag,omitempty"`
	CachedDigest   string     `json:"cachedDigest,omitempty"`
	CachedAt       *time.Time `json:"cachedAt,omitempty"` // imagePushedAt: when this digest entered the cache
	LastPulledAt   *time.Time `json:"lastPulledAt,omitempty"`
	UpstreamDigest string     `json:"upstreamDigest,omitempty"`
	LockedDigest   string     `json:"lockedDigest,omitempty"`
	Verdict        Verdict    `json:"verdict"`
	Reason         string     `json:"reason"`
}

// DescribeImagesAPI is the one ECR call Check needs.
type DescribeImagesAPI interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// Head returns the digest an upstream reference names now.
type Head func(ctx context.Context, ref string) (string, error)

// Cached is what the cache holds under a tag.
type Cached struct {
	Digest       string
	PushedAt     *time.Time
	LastPulledAt *time.Time
}

// LookupCached reads repository:tag from the cache without importing it; ok is false when the
// repository or tag does not exist.
func LookupCached(ctx context.Context, client DescribeImagesAPI, repository, tag string) (c Cached, ok bool, err error) {
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repository), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	var noRepo *types.RepositoryNotFoundException
	var noImage *types.ImageNotFoundException
	switch {
	case errors.As(err, &noRepo), errors.As(err, &noImage):
		return Cached{}, false, nil
	case err != nil:
		return Cached{}, false, fmt.Errorf("ECR DescribeImages %s:%s: %w", repository, tag, err)
	case len(out.ImageDetails) == 0:
		return Cached{}, false, nil
	}
	d := out.ImageDetails[0]
	return Cached{Digest: aws.ToString(d.ImageDigest), PushedAt: d.ImagePushedAt, LastPulledAt: d.LastRecordedPullTime}, true, nil
}

// Check gives each item its verdict. An ECR error other than "not cached" fails the whole check (the
// credentials or the region are wrong); upstream errors make that item unknown.
func Check(ctx context.Context, client DescribeImagesAPI, head Head, items []Item) ([]Result, error) {
	out := make([]Result, 0, len(items))
	for _, it := range items {
		r := Result{Ref: it.Ref, Repository: it.Repository, Tag: it.Tag, LockedDigest: it.Locked}
		if it.Tag == "" {
			r.Verdict, r.Reason = Fresh, "pinned by digest: it cannot move"
			out = append(out, r)
			continue
		}
		c, cached, err := LookupCached(ctx, client, it.Repository, it.Tag)
		if err != nil {
			return nil, err
		}
		if cached {
			r.CachedDigest, r.CachedAt, r.LastPulledAt = c.Digest, c.PushedAt, c.LastPulledAt
		}
		up, herr := head(ctx, it.Upstream)
		if herr == nil {
			r.UpstreamDigest = up
		}
		r.Verdict, r.Reason = verdict(it, r, cached, herr)
		out = append(out, r)
	}
	return out, nil
}

func verdict(it Item, r Result, cached bool, herr error) (Verdict, string) {
	switch {
	case herr != nil:
		return Unknown, "cannot read the upstream tag: " + herr.Error()
	case it.Digest != "" && it.Digest != r.UpstreamDigest:
		return LockedBehind, "the Dockerfile pins " + Short(it.Digest) + " but the tag now names " + Short(r.UpstreamDigest)
	case it.Locked != "" && it.Locked != r.UpstreamDigest:
		return LockedBehind, "the lock pins " + Short(it.Locked) + " but the tag now names " + Short(r.UpstreamDigest) + ": review and run `ecr-ptc lock` after `ecr-ptc refresh`"
	case !cached:
		return Unknown, "not in the cache yet: the first pull will import the current digest"
	case r.CachedDigest != r.UpstreamDigest:
		return Stale, "the cache serves " + Short(r.CachedDigest) + " but the tag now names " + Short(r.UpstreamDigest) + " upstream; ECR re-checks a tag about once a day (run `ecr-ptc refresh " + it.Ref + " --yes` to re-import now)"
	case it.Locked != "":
		return Fresh, "the cache and the lock have the upstream digest"
	}
	return Fresh, "the cache has the upstream digest"
}

// Short abbreviates a digest for tables: sha256:0123456789ab.
func Short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// RegistryHead returns a Head that asks the upstream registry with a HEAD request (anonymous, or with the
// keychain's credentials). insecure lists registry hosts to reach over plain http (loopback stand-ins).
func RegistryHead(keychain authn.Keychain, transport http.RoundTripper, insecure func(host string) bool) Head {
	if keychain == nil {
		keychain = authn.NewMultiKeychain()
	}
	return func(ctx context.Context, ref string) (string, error) {
		var opts []name.Option
		if r, err := name.ParseReference(ref); err == nil && insecure != nil && insecure(r.Context().RegistryStr()) {
			opts = append(opts, name.Insecure)
		}
		r, err := name.ParseReference(ref, opts...)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid reference: %v", ref, err)
		}
		ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)}
		if transport != nil {
			ropts = append(ropts, remote.WithTransport(transport))
		}
		desc, err := remote.Head(r, ropts...)
		if err != nil {
			return "", headError(err)
		}
		return desc.Digest.String(), nil
	}
}

// headError keeps one line of the registry's answer.
func headError(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("the upstream registry refused the request (HTTP %d): the image does not exist or needs credentials (docker login to the upstream)", te.StatusCode)
		case http.StatusNotFound:
			return errors.New("the tag does not exist upstream (HTTP 404)")
		case http.StatusTooManyRequests:
			return errors.New("the upstream registry answered 429 Too Many Requests")
		}
		return fmt.Errorf("the upstream registry answered HTTP %d", te.StatusCode)
	}
	return err
}

// Failing reports whether any result is stale or locked behind (for --fail-on-stale).
func Failing(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Verdict == Stale || r.Verdict == LockedBehind {
			n++
		}
	}
	return n
}

// BatchDeleteImageAPI is the ECR call Delete needs.
type BatchDeleteImageAPI interface {
	BatchDeleteImage(ctx context.Context, in *ecr.BatchDeleteImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error)
}

// DeleteTag removes repository:tag from the cache so that the next pull re-imports it (ECR deletes the
// image with its last tag).
func DeleteTag(ctx context.Context, client BatchDeleteImageAPI, repository, tag string) error {
	out, err := client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repository), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	if err != nil {
		return fmt.Errorf("ECR BatchDeleteImage %s:%s: %w", repository, tag, err)
	}
	for _, f := range out.Failures {
		if f.FailureCode == types.ImageFailureCodeImageNotFound {
			continue // already gone: the pull imports it either way
		}
		return fmt.Errorf("ECR BatchDeleteImage %s:%s: %s: %s", repository, tag, f.FailureCode, aws.ToString(f.FailureReason))
	}
	return nil
}
