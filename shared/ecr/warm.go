package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// WarmOutcome is what warming one image did.
type WarmOutcome string

// Warm outcomes.
const (
	Warmed         WarmOutcome = "warmed"          // pulled through the cache: it is cached now
	DigestMismatch WarmOutcome = "digest-mismatch" // the tag resolves to another digest than the pinned one
	CannotWarm     WarmOutcome = "cannot-warm"     // a digest-only reference the cache cannot fetch
	WarmFailed     WarmOutcome = "failed"
)

// WarmRequest asks for one cache reference to be pulled through.
type WarmRequest struct {
	Ref       imageref.Ref // the cache ref, parsed once where it was mapped
	Platforms []string     // platform manifests to make sure of ("linux/arm64"); none: the index only
	// Path says what Ref stands for (upstream image, rule), so a failure gets the right hint.
	Path pullhint.Path
	// Locked: Ref's digest comes from the digest lock (mapping.Plan), which a mismatch then names.
	Locked bool
}

// WarmResult reports one request.
type WarmResult struct {
	Ref       string        `json:"ref"`
	Outcome   WarmOutcome   `json:"outcome"`
	Digest    string        `json:"digest,omitempty"`
	Platforms []string      `json:"platforms,omitempty"` // platform manifests now cached
	Reason    string        `json:"reason,omitempty"`
	Duration  time.Duration `json:"duration"`

	path pullhint.Path
}

// WarmEvent reports progress for a display.
type WarmEvent struct {
	Ref     string
	Done    bool
	Result  WarmResult // set when Done
	Started time.Time
}

// warmAttempts bounds retries of transient registry failures (429, 5xx) for one image.
const warmAttempts = 3

// warmWithRetries retries an image whose pull failed transiently — an upstream hiccup should not fail a
// build that a second try would serve — and logs in again once when the registry refuses the token (it
// expired during a long run, or was revoked).
func (w *Warmer) warmWithRetries(ctx context.Context, r WarmRequest) WarmResult {
	relogged := false
	for attempt := 1; ; attempt++ {
		resolver, gen := w.current()
		res, err := warmOne(ctx, resolver, r)
		if err == nil {
			return res
		}
		if registryStatus(err) == http.StatusUnauthorized && w.Relogin != nil && !relogged {
			relogged = true
			if rerr := w.relogin(ctx, gen); rerr != nil {
				res.Reason = "the cache refused the login and logging in again failed: " + rerr.Error()
				return res
			}
			attempt--
			continue
		}
		if !transientRegistryError(err) || attempt == warmAttempts {
			return res
		}
		select {
		case <-ctx.Done():
			return res
		case <-time.After(w.retryDelay() * time.Duration(attempt)):
		}
	}
}

// current is the resolver for the current login and its generation.
func (w *Warmer) current() (remotes.Resolver, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil {
		w.cur = w.resolver()
	}
	return w.cur, w.gen
}

// relogin replaces the login once per generation, however many pulls hit the expired token at once.
func (w *Warmer) relogin(ctx context.Context, gen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen != gen {
		return nil
	}
	auths, err := w.Relogin(ctx)
	if err != nil {
		return err
	}
	w.Auths = auths
	w.cur = w.resolver()
	w.gen++
	return nil
}

// Warmer pulls images through the cache registry with containerd's registry client, using the ECR
// login, several at a time.
type Warmer struct {
	Auths       []Auth
	Concurrency int // default 4
	HTTPClient  *http.Client
	Progress    func(WarmEvent) // called from several goroutines, one call at a time
	// RetryDelay is the pause before the first retry of a transient failure (default 500 ms; it grows
	// linearly).
	RetryDelay time.Duration
	// Relogin, when set, gets fresh logins after the registry refused the current ones (HTTP 401).
	Relogin func(ctx context.Context) ([]Auth, error)

	mu  sync.Mutex
	cur remotes.Resolver
	gen int
}

func (w *Warmer) retryDelay() time.Duration {
	if w.RetryDelay > 0 {
		return w.RetryDelay
	}
	return 500 * time.Millisecond
}

// Warm resolves every request through the cache; results come back in request order.
func (w *Warmer) Warm(ctx context.Context, reqs []WarmRequest) []WarmResult {
	n := w.Concurrency
	if n <= 0 {
		n = 4
	}
	results := make([]WarmResult, len(reqs))
	var progressMu sync.Mutex
	report := func(e WarmEvent) {
		if w.Progress != nil {
			progressMu.Lock()
			w.Progress(e)
			progressMu.Unlock()
		}
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			report(WarmEvent{Ref: r.Ref.String(), Started: start})
			res := w.warmWithRetries(ctx, r)
			res.Duration = time.Since(start)
			results[i] = res
			report(WarmEvent{Ref: r.Ref.String(), Done: true, Result: res, Started: start})
		}()
	}
	wg.Wait()
	return results
}

func (w *Warmer) resolver() remotes.Resolver {
	creds := map[string]Auth{}
	for _, a := range w.Auths {
		creds[a.Host] = a
	}
	// A registry's other hosts (FIPS, dual-stack) use its login.
	for _, a := range w.Auths {
		if k := ecrhost.Key(a.Host); k != a.Host {
			if _, ok := creds[k]; !ok {
				creds[k] = a
			}
		}
	}
	lookup := func(host string) (Auth, bool) {
		if a, ok := creds[host]; ok {
			return a, true
		}
		a, ok := creds[ecrhost.Key(host)]
		return a, ok
	}
	client := w.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	authorizer := docker.NewDockerAuthorizer(
		docker.WithAuthClient(client),
		docker.WithAuthCreds(func(host string) (string, string, error) {
			if a, ok := lookup(host); ok {
				return a.Username, a.Password, nil
			}
			return "", "", nil
		}))
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithAuthorizer(authorizer),
		docker.WithClient(client),
		docker.WithPlainHTTP(func(host string) (bool, error) {
			if a, ok := lookup(host); ok {
				return a.Insecure(), nil
			}
			return docker.MatchLocalhost(host)
		}))
	return docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
}

func warmOne(ctx context.Context, resolver remotes.Resolver, r WarmRequest) (WarmResult, error) {
	ref := r.Ref
	res := WarmResult{Ref: ref.String(), path: r.Path}
	// The one judge of pins: fetch by tag (digest pulls do not fill a cold cache: reference,
	// aws/containers-roadmap#2837), then confirm the digest.
	plan := mapping.PlanFor(ref, r.Locked)
	byTag, ok := plan.ByTag()
	if !ok {
		name, desc, err := resolver.Resolve(ctx, res.Ref)
		if errdefs.IsNotFound(err) {
			res.Outcome, res.Reason = CannotWarm, plan.NotHeld("")
			return res, nil
		}
		if err != nil {
			res.Outcome, res.Reason = WarmFailed, registryError(err, res.path)
			return res, err
		}
		res.Digest = desc.Digest.String()
		return fetchPlatforms(ctx, resolver, name, desc, r.Platforms, res)
	}
	name, desc, err := resolver.Resolve(ctx, byTag.String())
	if err != nil {
		res.Outcome, res.Reason = WarmFailed, registryError(err, res.path)
		return res, err
	}
	res.Digest = desc.Digest.String()
	if reason, ok := plan.Judge(res.Digest); !ok {
		res.Outcome, res.Reason = DigestMismatch, reason
		return res, nil
	}
	return fetchPlatforms(ctx, resolver, name, desc, r.Platforms, res)
}

// fetchPlatforms GETs the manifest (a HEAD may not import) and, for an index, each requested platform's
// manifest. ECR imports an index with every child (reference: "Multi-arch: the whole index is
// imported"), so the child GETs are cache hits; they check that the image has each platform.
func fetchPlatforms(ctx context.Context, resolver remotes.Resolver, name string, desc ocispec.Descriptor, plats []string, res WarmResult) (WarmResult, error) {
	fetcher, err := resolver.Fetcher(ctx, name)
	if err != nil {
		res.Outcome, res.Reason = WarmFailed, registryError(err, res.path)
		return res, err
	}
	body, err := fetchAll(ctx, fetcher, desc)
	if err != nil {
		res.Outcome, res.Reason = WarmFailed, registryError(err, res.path)
		return res, err
	}
	res.Outcome = Warmed
	if !isIndex(desc.MediaType) || len(plats) == 0 {
		return res, nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		res.Outcome, res.Reason = WarmFailed, "the cache returned an index that is not valid JSON"
		return res, nil
	}
	for _, p := range plats {
		spec, err := platforms.Parse(p)
		if err != nil {
			res.Outcome, res.Reason = WarmFailed, fmt.Sprintf("platform %q: %v", p, err)
			return res, nil
		}
		m := platforms.OnlyStrict(spec)
		found := false
		for _, child := range idx.Manifests {
			if child.Platform == nil || !m.Match(*child.Platform) {
				continue
			}
			if _, err := fetchAll(ctx, fetcher, child); err != nil {
				res.Outcome, res.Reason = WarmFailed, fmt.Sprintf("platform %s: %s", p, registryError(err, res.path))
				return res, err
			}
			res.Platforms = append(res.Platforms, platforms.Format(spec))
			found = true
			break
		}
		if !found {
			res.Outcome, res.Reason = WarmFailed, fmt.Sprintf("the image has no %s manifest", p)
			return res, nil
		}
	}
	return res, nil
}

func fetchAll(ctx context.Context, f remotes.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 8<<20))
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// warmError keeps containerd's message short and free of URLs with credentials.
func warmError(err error) string {
	switch {
	case errdefs.IsNotFound(err):
		return pullhint.Hint(pullhint.Failure{Status: http.StatusNotFound}, pullhint.Path{})
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	// One line: containerd sometimes wraps registry bodies with newlines.
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
