package sandbox

// The cache registry data plane: the OCI distribution API (pull side) of an ECR registry with
// pull-through cache rules, on plain http on loopback. Every behaviour cites the fact it follows in
// ../shared/reference/ecr-pull-through-cache.md:
//
//   - "Cached path: <registry>/<ecrRepositoryPrefix>/<upstream repository path>[:tag|@digest]" — a
//     repository name is split by the longest matching rule prefix (Store.RuleFor); the rest is the
//     upstream path, fetched as is: "ECR does not add [library/]".
//   - "First pull creates the repository."
//   - "Tags are re-checked upstream at most about once every 24 hours" (Config.TagRefresh).
//   - "Digest pulls do not fill a cold cache (aws/containers-roadmap#2837)": a digest that is not stored
//     is not found, even when the upstream has it.
//   - "Multi-arch: the whole index is imported": the first pull of a tag naming an index imports the
//     index and every manifest it references (each fetched upstream once); pulling one architecture's
//     own tag imports only that manifest. Whether ECR stores a partial index when one child fails is
//     unverified: the sandbox stores nothing and reports the child's failure.
//   - "A wrong path, or an image that does not exist upstream, comes back as the misleading
//     'authentication to the upstream registry failed' error."
//   - "DescribeImages.imageSizeInBytes for an index is the largest child manifest."
//   - "GetAuthorizationToken: base64 of AWS:<password>, valid 12 h" — registry requests use HTTP Basic
//     with user AWS and that password.
//
// Status and error choices (ECR's exact answers are unverified unless the reference says so):
//
//	no token / bad token     401 DENIED "Not Authorized", WWW-Authenticate: Basic realm="http://<host>/",service="ecr.amazonaws.com"
//	expired token            401 DENIED "Your authorization token has expired. Reauthenticate and try again."
//	no rule, no repository   404 NAME_UNKNOWN "The repository with name '<name>' does not exist in the registry with id '<acct>'"
//	manifest not stored      404 MANIFEST_UNKNOWN "Requested image not found" (also the cold digest pull)
//	upstream 401/403/404     403 DENIED "The authentication to the upstream registry failed. Verify that the credentials ..."
//	                         (reference, containers-roadmap#2211/#2354: code DENIED with ECR's text; the 403 is
//	                         unverified — DENIED normally rides on 403 — see docs/aws-facts.md); blobs alike
//	upstream 429             429 TOOMANYREQUESTS "upstream registry returned 429 Too Many Requests: <upstream>/<path>: ..."
//	upstream 5xx/unreachable 503 UNAVAILABLE "upstream registry unavailable: ..."
//	injected faults          "registry" target: 5xx → 500 UNKNOWN, throttle → 429 TOOMANYREQUESTS "Rate exceeded",
//	                         timeout → held until the client gives up (at most 30 s), then 504
//	pushes and other calls   405 UNSUPPORTED (the sandbox emulates pulls only)
//
// Counters: CacheHits counts manifest requests answered without contacting the upstream, CacheMisses
// those that contacted it (an import, a refresh — even one that then served the stale copy — or a wait
// on another request's import) or failed. UpstreamFetches counts the manifest GETs that import a tag or
// re-check it; the child-manifest GETs of an index import count in UpstreamChildFetches (the Docker Hub
// stand-in sees and rate-limits them, as Docker Hub counts one pull per architecture).

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Codes of UpstreamError: the first three are BatchGetImage's ImageFailureCode values for pull-through
// failures (ECR service model, ImageFailureCode enum), ImageNotFound is its plain not-found code.
const (
	UpstreamCodeTooManyRequests = "UpstreamTooManyRequests" // the upstream answered 429
	UpstreamCodeAccessDenied    = "UpstreamAccessDenied"    // the upstream answered 401, 403 or 404 (the reference's misleading authentication failure)
	UpstreamCodeUnavailable     = "UpstreamUnavailable"     // 5xx, unreachable, timed out, or no stand-in for the rule's upstream
	UpstreamCodeImageNotFound   = "ImageNotFound"           // nothing to pull: no rule, or a digest not cached (see Err)
)

// MsgUpstreamAuthFailed is ECR's registry error text for a pull through a rule that the upstream refused
// or did not find (reference: containers-roadmap#2211, #2354; the part after "Verify that the
// credentials" is as those threads quote it, not checked on a live account).
const MsgUpstreamAuthFailed = "The authentication to the upstream registry failed. Verify that the credentials for the upstream registry are valid and try again."

// ErrNoPullThroughRule is wrapped by an UpstreamError (Code ImageNotFound) when no pull-through cache
// rule covers the repository: there is no upstream to pull from.
var ErrNoPullThroughRule = errors.New("no pull through cache rule matches the repository")

// ErrDigestNotCached is wrapped by an UpstreamError (Code ImageNotFound) for a digest that is not
// stored: digest pulls do not fill a cold cache (reference,
// aws/containers-roadmap#2837).
var ErrDigestNotCached = errors.New("a digest that is not cached cannot be pulled through the cache")

// UpstreamError is why a pull through the cache failed. pullThrough (BatchGetImage's import path) and
// the registry data plane return it; the control plane maps Code to a BatchGetImage failure code as is.
type UpstreamError struct {
	Code       string // one of the UpstreamCode* constants
	Upstream   string // upstreamRegistryUrl of the rule, e.g. registry-1.docker.io
	Rule       string // ecrRepositoryPrefix of the rule ("" without a rule)
	Repository string // the ECR repository, e.g. docker-hub/library/alpine
	Path       string // the upstream repository path, e.g. library/alpine
	Reference  string // tag or digest
	StatusCode int    // the upstream's HTTP status; 0 when it did not answer
	Message    string // the upstream's error message, if any
	Err        error  // the underlying error
}

// Error reads like ECR's failure reasons: what was pulled, then why.
func (e *UpstreamError) Error() string {
	what := e.Repository + refSuffix(e.Reference)
	if e.Upstream != "" {
		what = e.Upstream + "/" + e.Path + refSuffix(e.Reference)
	}
	switch e.Code {
	case UpstreamCodeTooManyRequests:
		return "upstream registry returned 429 Too Many Requests: " + what + ": " + cmp.Or(e.Message, "rate limited")
	case UpstreamCodeAccessDenied:
		return fmt.Sprintf("failed to pull %s through pull through cache rule '%s': authentication to the upstream registry failed%s", what, e.Rule, e.detail())
	case UpstreamCodeUnavailable:
		return "upstream registry unavailable: " + what + e.detail()
	default:
		return fmt.Sprintf("%s: %s%s", e.Code, what, e.detail())
	}
}

// detail is the upstream's answer in parentheses, or the underlying error.
func (e *UpstreamError) detail() string {
	switch {
	case e.StatusCode != 0 && e.Message != "":
		return fmt.Sprintf(" (upstream answered %d %s: %s)", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
	case e.StatusCode != 0:
		return fmt.Sprintf(" (upstream answered %d %s)", e.StatusCode, http.StatusText(e.StatusCode))
	case e.Err != nil:
		return fmt.Sprintf(" (%v)", e.Err)
	case e.Message != "":
		return " (" + e.Message + ")"
	}
	return ""
}

func (e *UpstreamError) Unwrap() error { return e.Err }

func refSuffix(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return "@" + ref
	}
	if ref == "" {
		return ""
	}
	return ":" + ref
}

// regError is an answer of the data plane that is not an upstream failure.
type regError struct {
	status        int
	code, message string
}

func (e *regError) Error() string { return e.code + ": " + e.message }

func errNameUnknown(d *deps, repo string) *regError {
	return &regError{http.StatusNotFound, "NAME_UNKNOWN",
		fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", repo, d.cfg.AccountID)}
}

var errImageNotFound = &regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found"}

// registryResponse is how the data plane answers err.
func registryResponse(err error, blob bool) (status int, code, message string) {
	var re *regError
	if errors.As(err, &re) {
		return re.status, re.code, re.message
	}
	var ue *UpstreamError
	if !errors.As(err, &ue) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout, "UNAVAILABLE", "request cancelled: " + err.Error()
		}
		return http.StatusInternalServerError, "UNKNOWN", err.Error()
	}
	switch ue.Code {
	case UpstreamCodeTooManyRequests:
		return http.StatusTooManyRequests, "TOOMANYREQUESTS", ue.Error()
	case UpstreamCodeAccessDenied:
		// Reference: docker shows "denied: The authentication to the upstream registry failed. Verify
		// that the credentials ..." (containers-roadmap#2211, #2354) for a wrong path or an image missing
		// upstream: code DENIED. The HTTP status is unverified; DENIED rides on 403 in the distribution
		// spec, so 403 it is.
		return http.StatusForbidden, "DENIED", MsgUpstreamAuthFailed
	case UpstreamCodeImageNotFound:
		if errors.Is(ue, ErrNoPullThroughRule) {
			return http.StatusNotFound, "NAME_UNKNOWN", ue.Error()
		}
		return errImageNotFound.status, errImageNotFound.code, errImageNotFound.message
	default:
		return http.StatusServiceUnavailable, "UNAVAILABLE", ue.Error()
	}
}

func newRegistryHandler(d *deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := sleepCtx(ctx, d.cfg.CacheLatency); err != nil {
			return
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if r.URL.Path != "/v2" && !strings.HasPrefix(r.URL.Path, "/v2/") {
			writeRegistryError(w, http.StatusNotFound, "UNSUPPORTED", "not a registry API path")
			return
		}
		if !authorizeRegistry(d, w, r) {
			return
		}
		ctx = withPuller(ctx, d, r)
		if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
			// The version check: 200 once authorised.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "{}")
			return
		}
		name, kind, ref := parseDistributionPath(r.URL.Path)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeRegistryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the sandbox registry emulates pulls only")
			return
		}
		if name == "" {
			writeRegistryError(w, http.StatusNotFound, "UNSUPPORTED", "the sandbox registry serves /v2/<name>/manifests/<ref>, /v2/<name>/blobs/<digest> and /v2/<name>/tags/list")
			return
		}
		// Faults hit repository requests, not the version check (so a client's ping does not use one up).
		if f, ok := d.faults.Take("registry"); ok {
			switch f.Kind {
			case FaultServerError:
				writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", "internal server error (injected fault)")
				return
			case FaultThrottle, FaultTooMany:
				writeRegistryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "Rate exceeded")
				return
			case FaultTimeout:
				hold(ctx)
				writeRegistryError(w, http.StatusGatewayTimeout, "UNAVAILABLE", "timed out (injected fault)")
				return
			}
		}
		if !d.cfg.RateLimits.Allow(registryOp(kind)) {
			writeRegistryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "Rate exceeded")
			return
		}
		switch kind {
		case "manifests":
			serveManifest(ctx, d, w, r, name, ref)
		case "blobs":
			serveBlob(ctx, d, w, r, name, ref)
		case "tags":
			serveTags(d, w, r, name)
		}
	})
}

// authorizeRegistry checks ECR's HTTP Basic credentials (user AWS, a GetAuthorizationToken password) and
// answers 401 when they are missing, unknown or expired.
func authorizeRegistry(d *deps, w http.ResponseWriter, r *http.Request) bool {
	user, pw, ok := r.BasicAuth()
	if ok && user == "AWS" && d.store.ValidToken(pw) {
		return true
	}
	d.stats.Update(func(s *StatsSnapshot) { s.UnauthorizedRequests++ })
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, d.registryHost))
	msg := "Not Authorized"
	if ok && user == "AWS" && tokenExpired(d.store, pw) {
		msg = "Your authorization token has expired. Reauthenticate and try again."
	}
	writeRegistryError(w, http.StatusUnauthorized, "DENIED", msg)
	return false
}

// tokenExpired reports whether pw is a token the store issued that has expired.
func tokenExpired(s *Store, pw string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[pw]
	return ok && !s.now().Before(exp)
}

func isDigestRef(ref string) bool { return strings.Contains(ref, ":") }

func validDigest(ref string) bool {
	h, ok := strings.CutPrefix(ref, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

func serveManifest(ctx context.Context, d *deps, w http.ResponseWriter, r *http.Request, repo, ref string) {
	if isDigestRef(ref) && !validDigest(ref) {
		writeRegistryError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("invalid digest %q", ref))
		return
	}
	img, hit, err := resolveManifest(ctx, d, repo, ref)
	d.stats.Update(func(s *StatsSnapshot) {
		if err == nil && hit {
			s.CacheHits++
		} else {
			s.CacheMisses++
		}
	})
	if err != nil {
		status, code, msg := registryResponse(err, false)
		writeRegistryError(w, status, code, msg)
		return
	}
	w.Header().Set("Content-Type", img.MediaType)
	w.Header().Set("Docker-Content-Digest", img.Digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(img.Manifest)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(img.Manifest)
		d.store.MarkPulled(repo, img.Digest)
	}
}

func serveBlob(ctx context.Context, d *deps, w http.ResponseWriter, r *http.Request, repo, dgst string) {
	if !validDigest(dgst) {
		writeRegistryError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("invalid digest %q", dgst))
		return
	}
	data, err := resolveBlob(ctx, d, repo, dgst)
	if err != nil {
		status, code, msg := registryResponse(err, true)
		writeRegistryError(w, status, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", dgst)
	w.Header().Set("Accept-Ranges", "bytes")
	// ServeContent sets Content-Length, answers HEAD without a body and serves Range requests.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func serveTags(d *deps, w http.ResponseWriter, r *http.Request, repo string) {
	if _, ok := d.store.Repository(repo); !ok {
		e := errNameUnknown(d, repo)
		writeRegistryError(w, e.status, e.code, e.message)
		return
	}
	seen := map[string]bool{}
	tags := []string{}
	for _, img := range d.store.Images(repo) {
		for _, t := range d.store.TagsOf(repo, img.Digest) {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	sort.Strings(tags)
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 0 && n < len(tags) {
		tags = tags[:n]
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, repo, n, tags[len(tags)-1]))
	}
	body, _ := json.Marshal(map[string]any{"name": repo, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// pullThrough is the import path BatchGetImage uses when Config.BatchGetImageImports is on: it returns
// repo:tag (or repo@digest) from the cache, importing it from the upstream like a registry pull would.
// Errors are *UpstreamError: Code is the BatchGetImage failure code; errors.Is(err, ErrNoPullThroughRule)
// or ErrDigestNotCached tell the two ImageNotFound cases without an upstream answer apart. It does not
// count CacheHits/CacheMisses (those are registry manifest requests).
func pullThrough(ctx context.Context, d *deps, repo, tag string) (Image, error) {
	img, _, err := resolveManifest(ctx, d, repo, tag)
	if err == nil {
		return img, nil
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return Image{}, ue
	}
	var re *regError
	if errors.As(err, &re) {
		rule, path, _ := d.store.RuleFor(repo)
		e := &UpstreamError{Code: UpstreamCodeImageNotFound, Upstream: rule.UpstreamRegistryURL, Rule: trimPrefix(rule.ECRRepositoryPrefix),
			Repository: repo, Path: path, Reference: tag, Message: re.message, Err: re}
		if re.code == "NAME_UNKNOWN" {
			e.Err = ErrNoPullThroughRule
		}
		return Image{}, e
	}
	return Image{}, &UpstreamError{Code: UpstreamCodeUnavailable, Repository: repo, Reference: tag, Err: err}
}

// resolveManifest finds repo:ref in the cache or pulls it through; hit reports that no upstream request
// was made for it.
func resolveManifest(ctx context.Context, d *deps, repo, ref string) (img Image, hit bool, err error) {
	if isDigestRef(ref) {
		return resolveDigest(ctx, d, repo, ref)
	}
	return resolveTag(ctx, d, repo, ref)
}

// tagFresh reports whether repo:tag was resolved upstream within the refresh window.
func tagFresh(d *deps, repo, tag string) bool {
	checked := d.store.TagCheckedAt(repo, tag)
	return !checked.IsZero() && d.cfg.Now().Sub(checked) < d.cfg.TagRefresh
}

// pullResult is what a single-flight import hands to every waiter.
type pullResult struct {
	img Image
	hit bool
}

func resolveTag(ctx context.Context, d *deps, repo, tag string) (Image, bool, error) {
	cached, have := d.store.LookupImage(repo, tag)
	rule, path, hasRule := d.store.RuleFor(repo)
	if have && (!hasRule || tagFresh(d, repo, tag)) {
		return cached, true, nil
	}
	if !hasRule {
		if _, ok := d.store.Repository(repo); ok {
			return Image{}, false, errImageNotFound
		}
		return Image{}, false, errNameUnknown(d, repo)
	}
	u := upstreamFor(d, rule.Rule)
	if u == nil {
		err := &UpstreamError{Code: UpstreamCodeUnavailable, Upstream: rule.UpstreamRegistryURL, Rule: trimPrefix(rule.ECRRepositoryPrefix),
			Repository: repo, Path: path, Reference: tag, Err: fmt.Errorf("cannot reach %s: the sandbox has no stand-in for it", rule.UpstreamRegistryURL)}
		if have {
			return cached, false, nil
		}
		return Image{}, false, err
	}
	// A pull that would import needs the import actions (reference, "First pull creates the repository";
	// roles.go); without them a cached copy is still served.
	if denied := importDenied(ctx, d, repo); denied != nil {
		if have {
			return cached, false, nil
		}
		return Image{}, false, denied
	}
	v, err := u.flights.do(ctx, "tag\x00"+repo+"\x00"+tag, func(fctx context.Context) (any, error) {
		// Another import may have finished between the check above and this flight.
		if img, ok := d.store.LookupImage(repo, tag); ok && tagFresh(d, repo, tag) {
			return pullResult{img, true}, nil
		}
		img, err := importTag(fctx, d, u, rule, repo, path, tag)
		return pullResult{img, false}, err
	})
	if err != nil {
		if have && ctx.Err() == nil {
			// The re-check failed (429, 5xx, unreachable, gone): keep serving the cached copy.
			return cached, false, nil
		}
		return Image{}, false, err
	}
	res := v.(pullResult)
	return res.img, res.hit, nil
}

// importTag fetches path:tag from the upstream and stores it under repo:tag, creating the repository.
func importTag(ctx context.Context, d *deps, u *upstream, rule RuleRecord, repo, path, tag string) (Image, error) {
	uerr := func(err error) error { return upstreamError(u, rule, repo, path, tag, err) }
	p, err := u.clientFor(rule.Rule)
	if err != nil {
		return Image{}, uerr(err)
	}
	ref, err := name.NewTag(u.host+"/"+path+":"+tag, name.Insecure)
	if err != nil {
		return Image{}, uerr(err)
	}
	d.stats.Update(func(s *StatsSnapshot) { s.UpstreamFetches++; s.UpstreamFetchesBy[u.name]++ })
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return Image{}, uerr(err)
	}
	img := Image{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Manifest: desc.Manifest}
	img.Size = manifestSize(img)
	// An index comes with every image it references (reference: "Multi-arch: the whole index is
	// imported"), each child fetched upstream once; the import stores nothing unless all arrive.
	children, err := importChildren(ctx, d, u, rule, repo, path, img)
	if err != nil {
		return Image{}, err
	}
	for _, c := range children {
		img.Size = max(img.Size, c.Size) // reference: imageSizeInBytes of an index is its largest child
	}
	ensureRepository(d, repo, rule)
	for _, c := range children {
		d.store.PutImage(repo, "", c)
	}
	d.store.PutImage(repo, tag, img)
	if stored, ok := d.store.LookupImage(repo, img.Digest); ok {
		return stored, nil
	}
	return img, nil
}

// importChildren fetches the manifests an index references that repo does not hold yet (a re-check
// that finds the tag unmoved fetches nothing). Nested indexes are followed. Child fetches count in
// UpstreamChildFetches: UpstreamFetches stays one per image.
func importChildren(ctx context.Context, d *deps, u *upstream, rule RuleRecord, repo, path string, img Image) ([]Image, error) {
	if !isIndexType(img.MediaType) {
		return nil, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(img.Manifest))
	if err != nil {
		return nil, upstreamError(u, rule, repo, path, img.Digest, fmt.Errorf("upstream index is not valid: %w", err))
	}
	p, err := u.clientFor(rule.Rule)
	if err != nil {
		return nil, upstreamError(u, rule, repo, path, img.Digest, err)
	}
	var out []Image
	for _, m := range idx.Manifests {
		dgst := m.Digest.String()
		if _, ok := d.store.LookupImage(repo, dgst); ok {
			continue
		}
		ref, err := name.NewDigest(u.host+"/"+path+"@"+dgst, name.Insecure)
		if err != nil {
			return nil, upstreamError(u, rule, repo, path, dgst, err)
		}
		d.stats.Update(func(s *StatsSnapshot) { s.UpstreamChildFetches++ })
		desc, err := p.Get(ctx, ref)
		if err != nil {
			return nil, upstreamError(u, rule, repo, path, dgst, err)
		}
		if sha256Digest(desc.Manifest) != dgst {
			return nil, upstreamError(u, rule, repo, path, dgst, fmt.Errorf("upstream manifest does not match digest %s", dgst))
		}
		child := Image{Digest: dgst, MediaType: cmp.Or(string(desc.MediaType), string(m.MediaType)), Manifest: desc.Manifest}
		child.Size = manifestSize(child)
		grand, err := importChildren(ctx, d, u, rule, repo, path, child)
		if err != nil {
			return nil, err
		}
		for _, g := range grand {
			child.Size = max(child.Size, g.Size)
		}
		out = append(out, grand...)
		out = append(out, child)
	}
	return out, nil
}

func resolveDigest(ctx context.Context, d *deps, repo, dgst string) (Image, bool, error) {
	if img, ok := d.store.LookupImage(repo, dgst); ok {
		return img, true, nil
	}
	rule, path, hasRule := d.store.RuleFor(repo)
	if !hasRule {
		if _, ok := d.store.Repository(repo); ok {
			return Image{}, false, errImageNotFound
		}
		return Image{}, false, errNameUnknown(d, repo)
	}
	// Digest pulls do not fill a cold cache (reference, aws/containers-roadmap#2837); an index's children
	// arrived with it, so a digest that is not stored is not served.
	d.stats.Update(func(s *StatsSnapshot) { s.DigestColdMisses++ })
	return Image{}, false, &UpstreamError{Code: UpstreamCodeImageNotFound, Upstream: rule.UpstreamRegistryURL, Rule: trimPrefix(rule.ECRRepositoryPrefix),
		Repository: repo, Path: path, Reference: dgst, Err: ErrDigestNotCached}
}

// ensureRepository creates repo on its first pull through rule (reference: "First pull creates the
// repository").
func ensureRepository(d *deps, repo string, rule RuleRecord) {
	if d.store.EnsureRepository(repo, trimPrefix(rule.ECRRepositoryPrefix)) {
		d.stats.Update(func(s *StatsSnapshot) { s.RepositoriesCreated++ })
		d.store.applyCreationTemplate(repo, "PULL_THROUGH_CACHE") // cacheadmin.go
	}
}

func isIndexType(mt string) bool {
	return types.MediaType(mt) == types.OCIImageIndex || types.MediaType(mt) == types.DockerManifestList
}

// manifestSize is what DescribeImages reports as imageSizeInBytes for an image manifest: its layers,
// config excluded. An index counts 0 here; importTag sets it to its largest child's.
func manifestSize(img Image) int64 {
	if isIndexType(img.MediaType) {
		return 0
	}
	m, err := v1.ParseManifest(bytes.NewReader(img.Manifest))
	if err != nil {
		return 0 // not an image manifest we understand (an artifact): no layers to count
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// resolveBlob returns a blob from the registry-wide layer storage, pulling it through the repository's
// rule when missing.
func resolveBlob(ctx context.Context, d *deps, repo, dgst string) ([]byte, error) {
	rule, path, hasRule := d.store.RuleFor(repo)
	// The first manifest pull creates the repository; before it, a blob request names a repository that
	// does not exist (ECR: NAME_UNKNOWN), rule or not.
	if _, repoExists := d.store.Repository(repo); !repoExists {
		return nil, errNameUnknown(d, repo)
	}
	if data, ok := d.store.Blob(dgst); ok {
		return data, nil
	}
	if !hasRule {
		return nil, &regError{http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry"}
	}
	u := upstreamFor(d, rule.Rule)
	if u == nil {
		return nil, &UpstreamError{Code: UpstreamCodeUnavailable, Upstream: rule.UpstreamRegistryURL, Rule: trimPrefix(rule.ECRRepositoryPrefix),
			Repository: repo, Path: path, Reference: dgst, Err: fmt.Errorf("cannot reach %s: the sandbox has no stand-in for it", rule.UpstreamRegistryURL)}
	}
	v, err := u.flights.do(ctx, "blob\x00"+dgst, func(fctx context.Context) (any, error) {
		if data, ok := d.store.Blob(dgst); ok {
			return data, nil
		}
		uerr := func(err error) error { return upstreamError(u, rule, repo, path, dgst, err) }
		p, err := u.clientFor(rule.Rule)
		if err != nil {
			return nil, uerr(err)
		}
		ref, err := name.NewDigest(u.host+"/"+path+"@"+dgst, name.Insecure)
		if err != nil {
			return nil, uerr(err)
		}
		d.stats.Update(func(s *StatsSnapshot) { s.UpstreamBlobFetches++ })
		l, err := p.Layer(fctx, ref)
		if err != nil {
			return nil, uerr(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, uerr(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return nil, uerr(err)
		}
		if sha256Digest(data) != dgst {
			return nil, uerr(fmt.Errorf("upstream blob does not match digest %s", dgst))
		}
		d.store.PutBlob(dgst, data)
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// upstreamFor finds the stand-in for a rule's upstreamRegistryUrl (Docker Hub's host names are one host,
// reference: "Normalise docker.io, index.docker.io and registry-1.docker.io as one host"); nil when the
// sandbox has none, which the cache reports like an unreachable upstream.
func upstreamFor(d *deps, r rules.Rule) *upstream {
	want := r.UpstreamHost()
	for url, u := range d.upstreams {
		if imageref.CanonicalHost(url) == want {
			return u
		}
	}
	return nil
}

// upstreamError classifies a failed upstream request.
func upstreamError(u *upstream, rule RuleRecord, repo, path, ref string, err error) error {
	e := &UpstreamError{Code: UpstreamCodeUnavailable, Upstream: rule.UpstreamRegistryURL, Rule: trimPrefix(rule.ECRRepositoryPrefix),
		Repository: repo, Path: path, Reference: ref, Err: err}
	var te *transport.Error
	if errors.As(err, &te) {
		e.StatusCode = te.StatusCode
		if len(te.Errors) > 0 {
			e.Message = te.Errors[0].Message
		}
		switch {
		case te.StatusCode == http.StatusTooManyRequests:
			e.Code = UpstreamCodeTooManyRequests
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || te.StatusCode == http.StatusNotFound:
			// Reference: "A wrong path, or an image that does not exist upstream, comes back as the
			// misleading 'authentication to the upstream registry failed' error."
			e.Code = UpstreamCodeAccessDenied
		}
	}
	return e
}

// client is the cache's registry client for this upstream: a real OCI client (go-containerregistry),
// anonymous, without retries (one upstream request per fetch, so counts and faults are exact).
func (u *upstream) client() (*remote.Puller, error) {
	u.clientOnce.Do(func() {
		u.puller, u.pullerErr = remote.NewPuller(u.pullerOptions()...)
	})
	return u.puller, u.pullerErr
}

// pullerOptions are the cache's client settings, on a transport of their own.
func (u *upstream) pullerOptions() []remote.Option {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return []remote.Option{
		remote.WithTransport(tr),
		remote.WithUserAgent("ecr-ptc-sandbox-pull-through-cache"),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
}

// flightGroup runs one fetch per key at a time and hands its result to every request that asked for it
// meanwhile (50 concurrent pulls of one cold tag make one upstream request). The fetch runs on its own
// context, cancelled when every waiting request has gone, and bounded to two minutes.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	ctx     context.Context
	cancel  context.CancelFunc
}

func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f, ok := g.m[key]
	if !ok || f.ctx.Err() != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		f = &flight{done: make(chan struct{}), ctx: fctx, cancel: cancel}
		g.m[key] = f
		go func() {
			val, err := fn(fctx)
			g.mu.Lock()
			if g.m[key] == f {
				delete(g.m, key)
			}
			g.mu.Unlock()
			f.val, f.err = val, err
			close(f.done)
			cancel()
		}()
	}
	f.waiters++
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}
