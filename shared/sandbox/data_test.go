package sandbox

// Tests of the data plane (cache registry and upstream stand-ins) with real registry clients:
// go-containerregistry's remote package and containerd's docker resolver (the client the product warms
// the cache through). Each test names the fact of ../shared/reference/ecr-pull-through-cache.md it
// emulates. Run: go test -race -shuffle=on ./shared/sandbox/ -run Data

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dataClock is a movable clock for Config.Now.
type dataClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dataClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dataClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type dataEnv struct {
	t     *testing.T
	s     *Sandbox
	pw    string
	clock *dataClock
	ctx   context.Context
}

// dataRules are rules as real accounts name them (reference: "Prefix naming varies widely").
var dataRules = []rules.Rule{
	{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub"},
	{ECRRepositoryPrefix: "github", UpstreamRegistryURL: "ghcr.io", UpstreamRegistry: "github-container-registry"},
	{ECRRepositoryPrefix: "quay", UpstreamRegistryURL: "quay.io", UpstreamRegistry: "quay"},
	{ECRRepositoryPrefix: "k8s", UpstreamRegistryURL: "registry.k8s.io", UpstreamRegistry: "k8s"}, // no stand-in
}

func dataStart(t *testing.T, cfg Config) *dataEnv {
	t.Helper()
	clock := &dataClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = s.Close() })
	for _, r := range dataRules {
		if _, ok := s.Store.PutRule(r); !ok {
			t.Fatalf("rule %s not stored", r.ECRRepositoryPrefix)
		}
	}
	// Long enough to outlive the 24 h tag refresh the tests step over (ECR tokens last 12 h).
	pw, _ := s.Store.IssueToken(72 * time.Hour)
	tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(tcancel)
	return &dataEnv{t: t, s: s, pw: pw, clock: clock, ctx: tctx}
}

func (e *dataEnv) ref(s string) name.Reference {
	e.t.Helper()
	r, err := name.ParseReference(e.s.RegistryHost+"/"+s, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// opts are go-containerregistry options for the cache: ECR's Basic credentials, and no client retries
// so that every request the test makes is one request the sandbox sees.
func (e *dataEnv) opts(extra ...remote.Option) []remote.Option {
	return append([]remote.Option{
		remote.WithAuth(&authn.Basic{Username: "AWS", Password: e.pw}),
		remote.WithContext(e.ctx),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}, extra...)
}

func (e *dataEnv) get(s string) (*remote.Descriptor, error) {
	return remote.Get(e.ref(s), e.opts()...)
}

func (e *dataEnv) mustGet(s string) *remote.Descriptor {
	e.t.Helper()
	d, err := e.get(s)
	if err != nil {
		e.t.Fatalf("pull %s through the cache: %v", s, err)
	}
	return d
}

// upstreamDigest asks a stand-in directly (HEAD: never a Docker Hub pull).
func (e *dataEnv) upstreamDigest(upstream, repoTag string) string {
	e.t.Helper()
	r, err := name.ParseReference(e.s.Upstreams[upstream]+"/"+repoTag, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	opts := []remote.Option{remote.WithContext(e.ctx)}
	if upstream == "ecr" { // the private-ECR stand-in wants the role its policy allows
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: "AWS", Password: e.s.UpstreamECRRoleArn()}))
	}
	d, err := remote.Head(r, opts...)
	if err != nil {
		e.t.Fatalf("HEAD %s on %s: %v", repoTag, upstream, err)
	}
	return d.Digest.String()
}

// raw sends a request and returns the response with its body read.
func (e *dataEnv) raw(method, url string, auth bool) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	if auth {
		req.SetBasicAuth("AWS", e.pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *dataEnv) stats() StatsSnapshot { return e.s.Stats.Snapshot() }

func dataErrorBody(t *testing.T, b []byte) (code, message string) {
	t.Helper()
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("not an OCI error body: %q", b)
	}
	return body.Errors[0].Code, body.Errors[0].Message
}

func dataStatus(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// Reference: "GetAuthorizationToken: base64 of AWS:<password>, valid 12 h" — registry requests carry
// HTTP Basic AWS:<password>; without it ECR answers 401 with a Basic challenge.
func TestDataUnauthenticated(t *testing.T) {
	e := dataStart(t, Config{})
	base := "http://" + e.s.RegistryHost
	for _, path := range []string{"/v2/", "/v2/docker-hub/library/alpine/manifests/3.20"} {
		resp, b := e.raw(http.MethodGet, base+path, false)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s without credentials: %d, want 401", path, resp.StatusCode)
		}
		want := fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, e.s.RegistryHost)
		if got := resp.Header.Get("WWW-Authenticate"); got != want {
			t.Fatalf("WWW-Authenticate = %q, want %q", got, want)
		}
		if code, _ := dataErrorBody(t, b); code != "DENIED" {
			t.Fatalf("code %q, want DENIED", code)
		}
	}
	if resp, _ := e.raw(http.MethodGet, base+"/v2/", true); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ with a token: %d, want 200", resp.StatusCode)
	}
	// A password that is not a token.
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, base+"/v2/", nil)
	req.SetBasicAuth("AWS", "not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad password: %d, want 401", resp.StatusCode)
	}
	// An expired token gets ECR's expiry message.
	e.s.Store.ExpireTokens()
	resp2, b := e.raw(http.MethodGet, base+"/v2/", true)
	_, msg := dataErrorBody(t, b)
	if resp2.StatusCode != http.StatusUnauthorized || msg != "Your authorization token has expired. Reauthenticate and try again." {
		t.Fatalf("expired token: %d %q", resp2.StatusCode, msg)
	}
	if n := e.stats().UnauthorizedRequests; n != 4 {
		t.Fatalf("UnauthorizedRequests = %d, want 4", n)
	}
}

// Reference: "First pull creates the repository" and the cache serves later pulls itself
// ("Tags are re-checked upstream at most about once every 24 hours").
func TestDataColdTagPullThenHit(t *testing.T) {
	e := dataStart(t, Config{})
	want := e.upstreamDigest("docker-hub", "library/alpine:3.20")
	d := e.mustGet("docker-hub/library/alpine:3.20")
	if d.Digest.String() != want {
		t.Fatalf("cache digest %s, upstream %s", d.Digest, want)
	}
	st := e.stats()
	if st.UpstreamFetches != 1 || st.UpstreamFetchesBy["docker-hub"] != 1 || st.CacheMisses != 1 || st.RepositoriesCreated != 1 {
		t.Fatalf("after the cold pull: %+v", st)
	}
	repo, ok := e.s.Store.Repository("docker-hub/library/alpine")
	if !ok || repo.Rule != "docker-hub" {
		t.Fatalf("repository not created by the rule: %+v %v", repo, ok)
	}
	// imageSizeInBytes of an index is its largest child's layers (reference); the children came with it.
	idx, err := d.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var largest int64
	for _, c := range im.Manifests {
		child, err := idx.Image(c.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := child.Manifest()
		var n int64
		for _, l := range m.Layers {
			n += l.Size
		}
		largest = max(largest, n)
	}
	img, _ := e.s.Store.LookupImage("docker-hub/library/alpine", "3.20")
	if img.Size != largest || largest == 0 {
		t.Fatalf("Size = %d, want the largest child's %d", img.Size, largest)
	}

	before := e.stats().UpstreamFetches
	if d2 := e.mustGet("docker-hub/library/alpine:3.20"); d2.Digest != d.Digest {
		t.Fatalf("second pull %s, first %s", d2.Digest, d.Digest)
	}
	st = e.stats()
	if st.UpstreamFetches != before || st.CacheHits < 1 {
		t.Fatalf("second pull went upstream: %+v", st)
	}
	// HEAD on the tag (containerd's resolve) is a hit too.
	if _, err := remote.Head(e.ref("docker-hub/library/alpine:3.20"), e.opts()...); err != nil {
		t.Fatal(err)
	}
	if st2 := e.stats(); st2.UpstreamFetches != before {
		t.Fatalf("HEAD went upstream: %+v", st2)
	}
	// tags/list lists what the cache holds.
	tags, err := remote.List(e.ref("docker-hub/library/alpine:3.20").Context(), e.opts()...)
	if err != nil || len(tags) != 1 || tags[0] != "3.20" {
		t.Fatalf("tags/list = %v, %v", tags, err)
	}
}

// Many builds starting at once (a CI fan-out) must not stampede the upstream: one import per
// repository and tag, and one fetch per blob. (ECR's behaviour under concurrency is not documented; a
// pull-through cache that shields the upstream is the point of the reference's rate-limit facts.)
func TestDataConcurrentColdPullsSingleFlight(t *testing.T) {
	e := dataStart(t, Config{UpstreamLatency: 20 * time.Millisecond})
	const n = 50
	var wg sync.WaitGroup
	digests := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := e.get("docker-hub/library/node:20")
			if err == nil {
				digests[i] = d.Digest.String()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("pull %d: %v", i, errs[i])
		}
		if digests[i] != digests[0] {
			t.Fatalf("pull %d got %s, pull 0 %s", i, digests[i], digests[0])
		}
	}
	st := e.stats()
	if st.UpstreamFetches != 1 || st.RepositoriesCreated != 1 {
		t.Fatalf("50 concurrent cold pulls: %d upstream fetches, %d repositories, want 1 and 1", st.UpstreamFetches, st.RepositoriesCreated)
	}

	// Concurrent pulls of one platform's layers: each blob fetched upstream once.
	img, err := remote.Image(e.ref("docker-hub/library/node:20"), e.opts(remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	var lwg sync.WaitGroup
	lerrs := make(chan error, n*len(layers))
	for range n {
		for _, l := range layers {
			lwg.Add(1)
			go func() {
				defer lwg.Done()
				rc, err := l.Compressed()
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				if err != nil {
					lerrs <- err
				}
			}()
		}
	}
	lwg.Wait()
	close(lerrs)
	for err := range lerrs {
		t.Fatal(err)
	}
	if got := e.stats().UpstreamBlobFetches; got != len(layers) {
		t.Fatalf("UpstreamBlobFetches = %d, want %d (one per layer)", got, len(layers))
	}
	// And again, all from the cache.
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if got := e.stats().UpstreamBlobFetches; got != len(layers) {
		t.Fatalf("cached blobs fetched again: %d", got)
	}
}

// Reference: "Multi-arch: the whole index is imported" (AWS user guide, pull through cache
// considerations) — the first pull of a multi-arch tag brings the index and every image it references,
// each fetched upstream once; the children are then served by digest without going upstream.
func TestDataMultiArchIndexImportsChildren(t *testing.T) {
	e := dataStart(t, Config{})
	idxDesc := e.mustGet("github/tini-org/tini:v0.19.0")
	idx, err := idxDesc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("index has %d children, want 2", len(im.Manifests))
	}
	if n := len(e.s.Store.Images("github/tini-org/tini")); n != 3 {
		t.Fatalf("repository holds %d images after the tag pull, want 3 (the index and its 2 children)", n)
	}
	st := e.stats()
	if st.UpstreamFetches != 1 || st.UpstreamChildFetches != 2 || st.UpstreamManifestGets["github"] != 3 {
		t.Fatalf("after the tag pull: %+v", st)
	}
	for _, c := range im.Manifests {
		d := e.mustGet("github/tini-org/tini@" + c.Digest.String())
		img, err := d.Image()
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := img.Layers()
		if got := dataFileIn(t, ls[0], "etc/sandbox-image"); !strings.Contains(got, "tini-org/tini:v0.19.0 "+c.Platform.OS+"/"+c.Platform.Architecture) {
			t.Fatalf("child %s layer names %q", c.Platform, got)
		}
	}
	st = e.stats()
	if st.UpstreamManifestGets["github"] != 3 || st.UpstreamChildFetches != 2 || st.CacheHits != 2 {
		t.Fatalf("children by digest went upstream: %+v", st)
	}
	// A re-check that finds the tag unmoved fetches the index only.
	e.clock.Advance(25 * time.Hour)
	e.mustGet("github/tini-org/tini:v0.19.0")
	if st := e.stats(); st.UpstreamManifestGets["github"] != 4 || st.UpstreamChildFetches != 2 {
		t.Fatalf("after the re-check: %+v", st)
	}
}

// Reference: "to cache one architecture only, pull that architecture's own digest or tag" — a tag naming
// one platform's manifest imports that manifest alone.
func TestDataSingleArchTagImportsOnlyItself(t *testing.T) {
	e := dataStart(t, Config{})
	if _, err := e.s.SeedImage("github", "tini-org/tini", "v0.19.0-amd64", []string{"linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("github/tini-org/tini:v0.19.0-amd64")
	if n := len(e.s.Store.Images("github/tini-org/tini")); n != 1 {
		t.Fatalf("repository holds %d images, want 1", n)
	}
	if st := e.stats(); st.UpstreamChildFetches != 0 || st.UpstreamManifestGets["github"] != 1 {
		t.Fatalf("single-arch pull: %+v", st)
	}
}

func dataFileIn(t *testing.T, l v1.Layer, file string) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in layer: %v", file, err)
		}
		if h.Name == file {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}

// Reference: "Digest pulls do not fill a cold cache (aws/containers-roadmap#2837): a first pull by digest,
// and by tag@digest (clients send only the digest), comes back as not found. Warm by tag first."
func TestDataDigestPullsOnColdCache(t *testing.T) {
	e := dataStart(t, Config{})
	dg := e.upstreamDigest("docker-hub", "library/python:3.12-slim")

	// By digest, cold: not found, and nothing asked upstream.
	_, err := e.get("docker-hub/library/python@" + dg)
	if dataStatus(err) != http.StatusNotFound {
		t.Fatalf("cold digest pull: %v, want 404", err)
	}
	resp, b := e.raw(http.MethodGet, "http://"+e.s.RegistryHost+"/v2/docker-hub/library/python/manifests/"+dg, true)
	if code, _ := dataErrorBody(t, b); resp.StatusCode != http.StatusNotFound || code != "MANIFEST_UNKNOWN" {
		t.Fatalf("cold digest: %d %s", resp.StatusCode, code)
	}
	// tag@digest: the client sends only the digest, so it is the same cold miss.
	ref := e.ref("docker-hub/library/python:3.12-slim@" + dg)
	if _, ok := ref.(name.Digest); !ok {
		t.Fatalf("%s is not a digest reference", ref)
	}
	if _, err := remote.Get(ref, e.opts()...); dataStatus(err) != http.StatusNotFound {
		t.Fatalf("cold tag@digest pull: %v, want 404", err)
	}
	st := e.stats()
	if st.DigestColdMisses != 3 || st.UpstreamFetches != 0 {
		t.Fatalf("cold digest pulls: %+v", st)
	}

	// Warm by tag, then the pinned digest is served (the workaround the reference gives).
	if d := e.mustGet("docker-hub/library/python:3.12-slim"); d.Digest.String() != dg {
		t.Fatalf("tag resolves to %s, pinned %s", d.Digest, dg)
	}
	if d, err := remote.Get(ref, e.opts()...); err != nil || d.Digest.String() != dg {
		t.Fatalf("tag@digest after warming: %v", err)
	}
	if st := e.stats(); st.UpstreamFetches != 1 {
		t.Fatalf("UpstreamFetches = %d, want 1", st.UpstreamFetches)
	}
	// Real ECR does not import on a digest pull, and neither does a digest outside every cached index.
	_, err = e.get("docker-hub/library/python@sha256:" + strings.Repeat("0", 64))
	if dataStatus(err) != http.StatusNotFound {
		t.Fatalf("unknown digest: %v", err)
	}
}

// Reference: "Docker Hub official images need library/ in the cached path; ECR does not add it. A wrong
// path, or an image that does not exist upstream, comes back as the misleading 'authentication to the
// upstream registry failed' error" — docker shows it as "denied: The authentication to the upstream
// registry failed. Verify that the credentials ..." (containers-roadmap#2211, #2354): code DENIED; the
// HTTP status 403 is unverified (docs/aws-facts.md).
func TestDataMissingLibraryIsMisleadingAuthError(t *testing.T) {
	e := dataStart(t, Config{})
	// The Docker Hub stand-in answers both with 401; GHCR's stand-in answers 404: all the same to the client.
	for _, path := range []string{"docker-hub/alpine/manifests/3.20", "docker-hub/library/does-not-exist/manifests/1", "github/no/such-image/manifests/1"} {
		resp, b := e.raw(http.MethodGet, "http://"+e.s.RegistryHost+"/v2/"+path, true)
		code, msg := dataErrorBody(t, b)
		if resp.StatusCode != http.StatusForbidden || code != "DENIED" || !strings.HasPrefix(msg, "The authentication to the upstream registry failed. Verify that the credentials") {
			t.Fatalf("%s: %d %s %q", path, resp.StatusCode, code, msg)
		}
	}
	if _, ok := e.s.Store.Repository("docker-hub/alpine"); ok {
		t.Fatal("a failed pull created the repository")
	}
	// The stand-in itself answers the unknown repository like Docker Hub: 401 with a Bearer challenge.
	resp, b := e.raw(http.MethodGet, "http://"+e.s.Upstreams["docker-hub"]+"/v2/alpine/manifests/3.20", false)
	if code, _ := dataErrorBody(t, b); resp.StatusCode != http.StatusUnauthorized || code != "UNAUTHORIZED" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("stand-in unknown repo: %d %s %q", resp.StatusCode, code, resp.Header.Get("WWW-Authenticate"))
	}
	// BatchGetImage's import path reports it as an access failure.
	_, err := pullThrough(e.ctx, e.s.d, "docker-hub/alpine", "3.20")
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Code != UpstreamCodeAccessDenied || ue.StatusCode != http.StatusUnauthorized {
		t.Fatalf("pullThrough: %#v", err)
	}
}

// Reference: "Cached path: <registry>/<ecrRepositoryPrefix>/<upstream repository path>" — with no rule
// for the prefix and no repository, ECR answers name unknown.
func TestDataNoRuleIsNameUnknown(t *testing.T) {
	e := dataStart(t, Config{})
	resp, b := e.raw(http.MethodGet, "http://"+e.s.RegistryHost+"/v2/dockerhub/library/alpine/manifests/3.20", true)
	code, msg := dataErrorBody(t, b)
	want := "The repository with name 'dockerhub/library/alpine' does not exist in the registry with id '123456789012'"
	if resp.StatusCode != http.StatusNotFound || code != "NAME_UNKNOWN" || msg != want {
		t.Fatalf("no rule: %d %s %q", resp.StatusCode, code, msg)
	}
	_, err := pullThrough(e.ctx, e.s.d, "dockerhub/library/alpine", "3.20")
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Code != UpstreamCodeImageNotFound || !errors.Is(err, ErrNoPullThroughRule) {
		t.Fatalf("pullThrough without a rule: %#v", err)
	}
	// A rule whose upstream has no stand-in fails like an unreachable upstream.
	_, err = e.get("k8s/pause:3.9")
	if dataStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("rule without a stand-in: %v, want 503", err)
	}
	_, err = pullThrough(e.ctx, e.s.d, "k8s/pause", "3.9")
	if !errors.As(err, &ue) || ue.Code != UpstreamCodeUnavailable {
		t.Fatalf("pullThrough to an unreachable upstream: %#v", err)
	}
}

// Reference: "Docker Hub answers pulls with ratelimit-limit / ratelimit-remaining headers and 429
// TOOMANYREQUESTS." Only manifest GETs count; HEAD does not.
func TestDataDockerHubRateLimit(t *testing.T) {
	e := dataStart(t, Config{RateLimit: 3})
	url := "http://" + e.s.Upstreams["docker-hub"] + "/v2/library/alpine/manifests/3.20"
	resp, _ := e.raw(http.MethodHead, url, false)
	if got := resp.Header.Get("ratelimit-limit"); got != "3;w=21600" {
		t.Fatalf("ratelimit-limit = %q", got)
	}
	if got := resp.Header.Get("ratelimit-remaining"); got != "3;w=21600" {
		t.Fatalf("HEAD used a pull: ratelimit-remaining = %q", got)
	}
	if got := resp.Header.Get("docker-ratelimit-source"); got != "127.0.0.1" {
		t.Fatalf("docker-ratelimit-source = %q", got)
	}
	for i := 2; i >= 0; i-- {
		resp, _ := e.raw(http.MethodGet, url, false)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ratelimit-remaining") != fmt.Sprintf("%d;w=21600", i) {
			t.Fatalf("GET: %d, remaining %q, want %d", resp.StatusCode, resp.Header.Get("ratelimit-remaining"), i)
		}
	}
	resp, b := e.raw(http.MethodGet, url, false)
	code, msg := dataErrorBody(t, b)
	if resp.StatusCode != http.StatusTooManyRequests || code != "TOOMANYREQUESTS" || !strings.HasPrefix(msg, "You have reached your pull rate limit.") {
		t.Fatalf("past the limit: %d %s %q", resp.StatusCode, code, msg)
	}
	if n := e.stats().UpstreamRateLimited; n != 1 {
		t.Fatalf("UpstreamRateLimited = %d", n)
	}
	// The window rolls.
	e.clock.Advance(6*time.Hour + time.Second)
	if resp, _ := e.raw(http.MethodGet, url, false); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

// The point of the cache (reference: Docker Hub's 429 TOOMANYREQUESTS): many builds pull through it
// while the upstream sees one import; past the upstream's limit a cold pull reports the upstream's 429.
func TestDataCacheShieldsFromRateLimit(t *testing.T) {
	e := dataStart(t, Config{RateLimit: 3})
	for i := range 20 {
		img, err := remote.Image(e.ref("docker-hub/library/busybox:1.36"), e.opts(remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}))...)
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if _, err := img.ConfigFile(); err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	st := e.stats()
	if st.UpstreamFetches != 1 || st.UpstreamRateLimited != 0 {
		t.Fatalf("20 builds: %+v", st)
	}
	// The import used the allowance: the index and its two platform manifests (reference: the whole
	// index is imported).
	resp, _ := e.raw(http.MethodHead, "http://"+e.s.Upstreams["docker-hub"]+"/v2/library/busybox/manifests/1.36", false)
	if got := resp.Header.Get("ratelimit-remaining"); got != "0;w=21600" {
		t.Fatalf("remaining after the import = %q", got)
	}
	// Builds of the cached image still work; a new image cannot be imported.
	if _, err := e.get("docker-hub/library/busybox:1.36"); err != nil {
		t.Fatal(err)
	}
	respC, b := e.raw(http.MethodGet, "http://"+e.s.RegistryHost+"/v2/docker-hub/library/debian/manifests/bookworm-slim", true)
	code, msg := dataErrorBody(t, b)
	if respC.StatusCode != http.StatusTooManyRequests || code != "TOOMANYREQUESTS" || !strings.Contains(msg, "upstream registry returned 429 Too Many Requests") || !strings.Contains(msg, "registry-1.docker.io") {
		t.Fatalf("cold pull past the upstream limit: %d %s %q", respC.StatusCode, code, msg)
	}
	_, err := pullThrough(e.ctx, e.s.d, "docker-hub/library/debian", "bookworm-slim")
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Code != UpstreamCodeTooManyRequests {
		t.Fatalf("pullThrough past the limit: %#v", err)
	}
}

// Reference: "Tags are re-checked upstream at most about once every 24 hours: a moved tag can be served
// stale for a day."
func TestDataTagRefresh(t *testing.T) {
	e := dataStart(t, Config{})
	old := e.mustGet("docker-hub/library/alpine:latest").Digest.String()
	moved, err := e.s.MoveTag("docker-hub", "library/alpine", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if moved == old || e.upstreamDigest("docker-hub", "library/alpine:latest") != moved {
		t.Fatalf("MoveTag: old %s new %s", old, moved)
	}
	e.clock.Advance(23 * time.Hour)
	if got := e.mustGet("docker-hub/library/alpine:latest").Digest.String(); got != old {
		t.Fatalf("within the refresh window: %s, want the cached %s", got, old)
	}
	if n := e.stats().UpstreamFetches; n != 1 {
		t.Fatalf("UpstreamFetches within the window = %d", n)
	}
	e.clock.Advance(2 * time.Hour)
	if got := e.mustGet("docker-hub/library/alpine:latest").Digest.String(); got != moved {
		t.Fatalf("after the refresh window: %s, want %s", got, moved)
	}
	if n := e.stats().UpstreamFetches; n != 2 {
		t.Fatalf("UpstreamFetches after the refresh = %d, want 2", n)
	}
	// Both stay in the repository, each index with its two children (the whole index is imported): the
	// old one untagged.
	if n := len(e.s.Store.Images("docker-hub/library/alpine")); n != 6 {
		t.Fatalf("repository holds %d images", n)
	}
	if tags := e.s.Store.TagsOf("docker-hub/library/alpine", old); len(tags) != 0 {
		t.Fatalf("old image still tagged %v", tags)
	}
}

// A cache that cannot re-check a tag keeps serving what it has (a refresh is a re-check, not an
// eviction; the reference's 24 h re-check implies the cached copy remains valid meanwhile).
func TestDataStaleServeWhenUpstreamFailsAtRefresh(t *testing.T) {
	e := dataStart(t, Config{})
	old := e.mustGet("quay/prometheus/prometheus:v2.53.0").Digest.String()
	if _, err := e.s.MoveTag("quay", "prometheus/prometheus", "v2.53.0"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)
	e.s.Faults.Add(Fault{Target: "upstream:quay", Kind: FaultTooMany})
	if got := e.mustGet("quay/prometheus/prometheus:v2.53.0").Digest.String(); got != old {
		t.Fatalf("stale serve: %s, want %s", got, old)
	}
	e.s.Faults.Clear()
	e.s.Faults.Add(Fault{Target: "upstream:*", Kind: FaultServerError})
	if got := e.mustGet("quay/prometheus/prometheus:v2.53.0").Digest.String(); got != old {
		t.Fatalf("stale serve on 5xx: %s, want %s", got, old)
	}
	st := e.stats()
	if st.UpstreamFetches != 3 || st.UpstreamRateLimited != 1 {
		t.Fatalf("%+v", st)
	}
	e.s.Faults.Clear()
	if got := e.mustGet("quay/prometheus/prometheus:v2.53.0").Digest.String(); got == old {
		t.Fatal("refresh after the upstream recovered still serves the old digest")
	}
}

// Injected faults on the cache (ECR 500s and throttling) and on the upstream during a cold miss
// (reference: BatchGetImage failure codes UpstreamTooManyRequests, UpstreamUnavailable).
func TestDataFaults(t *testing.T) {
	e := dataStart(t, Config{})
	e.s.Faults.Add(Fault{Target: "registry", Kind: FaultServerError, Count: 1})
	if _, err := e.get("docker-hub/library/golang:1.23-alpine"); dataStatus(err) != http.StatusInternalServerError {
		t.Fatalf("registry 5xx fault: %v", err)
	}
	e.s.Faults.Add(Fault{Target: "registry", Kind: FaultThrottle, Count: 1})
	if _, err := e.get("docker-hub/library/golang:1.23-alpine"); dataStatus(err) != http.StatusTooManyRequests {
		t.Fatalf("registry throttle fault: %v", err)
	}
	if st := e.stats(); st.UpstreamFetches != 0 {
		t.Fatalf("faulted requests went upstream: %+v", st)
	}

	e.s.Faults.Add(Fault{Target: "upstream:docker-hub", Kind: FaultTooMany, Count: 1})
	resp, b := e.raw(http.MethodGet, "http://"+e.s.RegistryHost+"/v2/docker-hub/library/golang/manifests/1.23-alpine", true)
	code, msg := dataErrorBody(t, b)
	if resp.StatusCode != http.StatusTooManyRequests || code != "TOOMANYREQUESTS" || !strings.Contains(msg, "upstream registry returned 429 Too Many Requests") {
		t.Fatalf("upstream 429 on a cold miss: %d %s %q", resp.StatusCode, code, msg)
	}
	if _, ok := e.s.Store.Repository("docker-hub/library/golang"); ok {
		t.Fatal("a failed import created the repository")
	}
	e.s.Faults.Add(Fault{Target: "upstream:docker-hub", Kind: FaultServerError, Count: 1})
	if _, err := e.get("docker-hub/library/golang:1.23-alpine"); dataStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("upstream 5xx on a cold miss: %v", err)
	}
	// The faults are used up: the pull goes through.
	e.mustGet("docker-hub/library/golang:1.23-alpine")
	st := e.stats()
	if st.UpstreamFetches != 3 || st.UpstreamRateLimited != 1 || st.CacheMisses != 3 {
		t.Fatalf("%+v", st)
	}

	// A held upstream request ends when the client gives up.
	e.s.Faults.Add(Fault{Target: "upstream:github", Kind: FaultTimeout, Count: 1})
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := remote.Get(e.ref("github/actions/runner:2.317.0"), append(e.opts(), remote.WithContext(ctx))...); err == nil {
		t.Fatal("a held upstream request succeeded")
	}
}

// The product warms the cache through containerd's resolver: resolve (HEAD), fetch the index, a
// platform manifest and a layer, answering ECR's Basic challenge (reference: GetAuthorizationToken).
func TestDataContainerdResolver(t *testing.T) {
	e := dataStart(t, Config{})
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(docker.MatchAllHosts),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(func(string) (string, string, error) {
				return "AWS", e.pw, nil
			}))),
		),
	})
	ref := e.s.RegistryHost + "/docker-hub/library/node:22-bookworm-slim"
	name, desc, err := resolver.Resolve(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.upstreamDigest("docker-hub", "library/node:22-bookworm-slim"); desc.Digest.String() != want {
		t.Fatalf("resolved %s, upstream %s", desc.Digest, want)
	}
	fetcher, err := resolver.Fetcher(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(d ocispec.Descriptor) []byte {
		rc, err := fetcher.Fetch(e.ctx, d)
		if err != nil {
			t.Fatalf("fetch %s: %v", d.Digest, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest.String() != sha256Digest(b) {
			t.Fatalf("fetched %s has digest %s", d.Digest, sha256Digest(b))
		}
		return b
	}
	var index ocispec.Index
	if err := json.Unmarshal(fetch(desc), &index); err != nil {
		t.Fatal(err)
	}
	var child ocispec.Descriptor
	for _, m := range index.Manifests {
		if m.Platform != nil && m.Platform.Architecture == "amd64" {
			child = m
		}
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(fetch(child), &manifest); err != nil {
		t.Fatal(err)
	}
	fetch(manifest.Config)
	layer := fetch(manifest.Layers[0])
	if !bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		t.Fatal("layer is not gzip")
	}
	st := e.stats()
	if st.UpstreamFetches != 1 || st.UpstreamBlobFetches != 2 {
		t.Fatalf("%+v", st)
	}
}

// Latency and bandwidth shaping make the upstream look like the internet and the cache like the same
// region. Timings are logged, never asserted.
func TestDataShaping(t *testing.T) {
	e := dataStart(t, Config{UpstreamLatency: 15 * time.Millisecond, UpstreamBandwidth: 256 << 10, CacheLatency: 2 * time.Millisecond})
	pull := func() time.Duration {
		start := time.Now()
		img, err := remote.Image(e.ref("docker-hub/library/debian:bookworm-slim"), e.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := img.Layers()
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, rc)
			rc.Close()
		}
		return time.Since(start)
	}
	cold, warm := pull(), pull()
	t.Logf("cold pull %v (through the shaped upstream), warm pull %v (cache only)", cold, warm)
}

// Seeded content is deterministic (stable digests across starts), and SeedImage adds images with extra
// layers, one platform making a plain manifest.
func TestDataSeedImageAndDeterminism(t *testing.T) {
	e := dataStart(t, Config{})
	e2 := dataStart(t, Config{})
	for _, img := range SeededImages() {
		rt := img.Repository + ":" + img.Tag
		if a, b := e.upstreamDigest(img.Upstream, rt), e2.upstreamDigest(img.Upstream, rt); a != b {
			t.Fatalf("%s %s differs between starts: %s %s", img.Upstream, rt, a, b)
		}
	}
	extra := tarOf(map[string]string{"bin/hello": "#!/bin/sh\necho hello\n"})
	dg, err := e.s.SeedImage("github", "example/app", "1.0", []string{"linux/amd64"}, extra)
	if err != nil {
		t.Fatal(err)
	}
	d := e.mustGet("github/example/app:1.0")
	if d.Digest.String() != dg || !strings.Contains(string(d.MediaType), "manifest") || strings.Contains(string(d.MediaType), "index") {
		t.Fatalf("seeded single-platform image: %s %s, want %s", d.Digest, d.MediaType, dg)
	}
	img, err := d.Image()
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	if got := dataFileIn(t, ls[len(ls)-1], "bin/hello"); !strings.Contains(got, "echo hello") {
		t.Fatalf("extra layer content %q", got)
	}
	if _, err := e.s.SeedImage("nowhere", "x", "1", nil); err == nil {
		t.Fatal("SeedImage to an unknown upstream succeeded")
	}
	// NoSeed starts empty.
	e3 := dataStart(t, Config{NoSeed: true})
	if _, err := e3.get("docker-hub/library/alpine:3.20"); dataStatus(err) != http.StatusForbidden {
		t.Fatalf("NoSeed: %v", err)
	}
}
