package sandbox

// The upstream stand-ins: four real OCI registries (go-containerregistry's in-memory pkg/registry), one
// per upstream registry a pull-through cache rule can name, wrapped in middleware that adds what the real
// upstream does on top of the distribution API: Docker Hub's pull rate limit and its "unauthorized" answer
// for repositories that do not exist, injected faults, and internet-like latency and bandwidth.
//
// Facts emulated (../shared/reference/ecr-pull-through-cache.md):
//   - "Upstream URLs: Docker Hub is exactly registry-1.docker.io; ... quay.io; ... ghcr.io" — the url each
//     stand-in answers for.
//   - "Docker Hub answers pulls with ratelimit-limit / ratelimit-remaining headers and 429 TOOMANYREQUESTS."
//   - "A wrong path, or an image that does not exist upstream, comes back as the misleading 'authentication
//     to the upstream registry failed' error" — because Docker Hub answers an unknown repository with
//     401 UNAUTHORIZED, which the cache reports as an authentication failure.

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// upstream is one stand-in registry, and the cache's client state for it.
type upstream struct {
	name string // docker-hub, github, quay, ecr-public
	url  string // the upstreamRegistryUrl it stands in for: registry-1.docker.io, ghcr.io, quay.io
	host string // 127.0.0.1:port, set by Start

	d     *deps
	inner http.Handler                // the ggcr in-memory registry, without middleware
	blobs ggcrregistry.BlobPutHandler // its blob store, filled directly by seeding

	mu    sync.Mutex
	pulls map[string][]time.Time // Docker Hub rate limit: manifest GET times by client IP
	seeds map[string]seedSpec    // repo:tag → how it was seeded (MoveTag re-seeds from it)

	// The cache side (registry.go): a go-containerregistry client for this upstream, single-flight
	// imports and the child manifests fetched at import time for the index size.
	clientOnce sync.Once
	puller     *remote.Puller
	pullerErr  error
	flights    flightGroup
	roles      roleClients // per customRoleArn, for an ECR upstream (upstream_ecr.go)

	// authorize, when set, checks a request's credentials before anything else (the ECR stand-in).
	authorize func(w http.ResponseWriter, r *http.Request) bool
}

// newUpstreams builds the stand-ins (Docker Hub, GHCR, Quay, ECR Public), seeded unless d.cfg.NoSeed.
func newUpstreams(d *deps) ([]*upstream, error) {
	ups := []*upstream{
		newUpstream(d, "docker-hub", "registry-1.docker.io"),
		newUpstream(d, "github", "ghcr.io"),
		newUpstream(d, "quay", "quay.io"),
		newUpstream(d, "ecr-public", "public.ecr.aws"),
		newECRUpstream(d),
	}
	if !d.cfg.NoSeed {
		byName := map[string]*upstream{}
		for _, u := range ups {
			byName[u.name] = u
		}
		for _, s := range seededImages {
			if _, err := byName[s.Upstream].seed(s.Repository, s.Tag, seedSpec{platforms: defaultPlatforms, oci: s.OCI}); err != nil {
				return nil, fmt.Errorf("sandbox: seeding %s %s:%s: %w", s.Upstream, s.Repository, s.Tag, err)
			}
		}
	}
	return ups, nil
}

func newUpstream(d *deps, name, url string) *upstream {
	quiet := log.New(io.Discard, "", 0)
	blobs := ggcrregistry.NewInMemoryBlobHandler()
	return &upstream{
		name: name, url: url, d: d,
		inner: ggcrregistry.New(ggcrregistry.Logger(quiet), ggcrregistry.WithBlobHandler(blobs)),
		blobs: blobs.(ggcrregistry.BlobPutHandler),
		pulls: map[string][]time.Time{}, seeds: map[string]seedSpec{},
	}
}

func (u *upstream) isDockerHub() bool { return u.name == "docker-hub" }

// handler serves the stand-in: latency, faults, Docker Hub behaviour and bandwidth around the real registry.
func (u *upstream) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := sleepCtx(ctx, u.d.cfg.UpstreamLatency); err != nil {
			return
		}
		if bps := u.d.cfg.UpstreamBandwidth; bps > 0 {
			w = &throttledWriter{ResponseWriter: w, ctx: ctx, bps: bps}
		}
		if u.isDockerHub() {
			// Every Docker Hub response carries the client's current allowance.
			u.rateHeaders(w, remoteIP(r))
		}
		switch {
		case r.URL.Path == "/token":
			// Docker Hub's auth.docker.io stand-in, for clients that follow the Bearer challenge of the
			// 401 below: anonymous tokens, which grant nothing more than no token does.
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"token":"sandbox-anonymous","access_token":"sandbox-anonymous","expires_in":300}`)
			return
		case u.authorize != nil && !u.authorize(w, r):
			return
		case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
			// The version check answers 200: the stand-ins serve anonymous pulls without Docker Hub's token
			// dance, and a version check is never a pull, so faults and the rate limit leave it alone.
			u.inner.ServeHTTP(w, r)
			return
		}

		if f, ok := u.d.faults.Take("upstream:" + u.name); ok {
			switch f.Kind {
			case FaultTooMany:
				u.tooManyRequests(w)
				return
			case FaultServerError:
				writeRegistryError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "service unavailable (injected fault)")
				return
			case FaultTimeout:
				hold(ctx)
				writeRegistryError(w, http.StatusGatewayTimeout, "UNAVAILABLE", "upstream timed out (injected fault)")
				return
			}
		}

		name, kind, _ := parseDistributionPath(r.URL.Path)
		if u.isDockerHub() && name != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if !u.repositoryExists(name) {
				// Docker Hub answers a repository that does not exist (or that the caller may not see) as
				// unauthorized, never as not found.
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="registry.docker.io",scope="repository:%s:pull",error="insufficient_scope"`, r.Host, name))
				writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
				return
			}
			// Only manifest GETs count as pulls; HEAD requests do not (Docker Hub's documented way to check
			// the allowance without using it).
			if kind == "manifests" && r.Method == http.MethodGet {
				if !u.countPull(remoteIP(r)) {
					u.tooManyRequests(w)
					return
				}
				u.rateHeaders(w, remoteIP(r))
			}
		}
		if kind == "manifests" && r.Method == http.MethodGet {
			u.d.stats.Update(func(s *StatsSnapshot) { s.UpstreamManifestGets[u.name]++ })
		}
		if kind == "manifests" && r.Method == http.MethodHead {
			u.d.stats.Update(func(s *StatsSnapshot) { s.UpstreamHeads[u.name]++ })
		}
		u.inner.ServeHTTP(w, r)
	})
}

// tooManyRequests answers like Docker Hub past its pull rate limit.
func (u *upstream) tooManyRequests(w http.ResponseWriter) {
	u.d.stats.Update(func(s *StatsSnapshot) { s.UpstreamRateLimited++ })
	if !u.isDockerHub() {
		writeRegistryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests")
		return
	}
	writeRegistryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS",
		"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit")
}

// rateHeaders sets Docker Hub's ratelimit headers for ip. A negative RateLimit is an unlimited
// (paid) account: Docker Hub sends no ratelimit headers then.
func (u *upstream) rateHeaders(w http.ResponseWriter, ip string) {
	limit := u.d.cfg.RateLimit
	if limit < 0 {
		return
	}
	window := int(u.d.cfg.RateWindow.Seconds())
	u.mu.Lock()
	used := len(u.prune(ip))
	u.mu.Unlock()
	w.Header().Set("ratelimit-limit", fmt.Sprintf("%d;w=%d", limit, window))
	w.Header().Set("ratelimit-remaining", fmt.Sprintf("%d;w=%d", max(limit-used, 0), window))
	w.Header().Set("docker-ratelimit-source", ip)
}

// countPull records a pull by ip in the rolling window and reports whether it is within the limit.
func (u *upstream) countPull(ip string) bool {
	limit := u.d.cfg.RateLimit
	if limit < 0 {
		return true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.prune(ip)) >= limit {
		return false
	}
	u.pulls[ip] = append(u.pulls[ip], u.d.cfg.Now())
	return true
}

// prune drops pulls older than the window; u.mu must be held.
func (u *upstream) prune(ip string) []time.Time {
	cutoff := u.d.cfg.Now().Add(-u.d.cfg.RateWindow)
	kept := u.pulls[ip][:0]
	for _, t := range u.pulls[ip] {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	u.pulls[ip] = kept
	return kept
}

// repositoryExists asks the in-memory registry directly (no middleware, no network) whether it holds
// any manifest in name.
func (u *upstream) repositoryExists(name string) bool {
	req := httptest.NewRequest(http.MethodGet, "/v2/"+name+"/tags/list?n=1", nil)
	rec := httptest.NewRecorder()
	u.inner.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseDistributionPath splits /v2/<name>/(manifests|blobs)/<ref> and /v2/<name>/tags/list, parsing
// from the right because name may contain slashes. kind is "manifests", "blobs" or "tags"; name is ""
// for anything else (the version check, uploads, the catalog).
func parseDistributionPath(p string) (name, kind, ref string) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", ""
	}
	parts := strings.Split(rest, "/")
	n := len(parts)
	if n < 3 {
		return "", "", ""
	}
	switch {
	case parts[n-2] == "tags" && parts[n-1] == "list":
		kind = "tags"
	case parts[n-2] == "manifests" && parts[n-1] != "":
		kind, ref = "manifests", parts[n-1]
	case parts[n-2] == "blobs" && parts[n-1] != "" && parts[n-1] != "uploads":
		kind, ref = "blobs", parts[n-1]
	default:
		return "", "", ""
	}
	name = strings.Join(parts[:n-2], "/")
	if name == "" {
		return "", "", ""
	}
	return name, kind, ref
}

// registryError is the OCI distribution error body.
type registryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeRegistryError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(struct {
		Errors []registryError `json:"errors"`
	}{[]registryError{{Code: code, Message: message}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
