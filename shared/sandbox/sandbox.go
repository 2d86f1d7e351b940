package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config tunes a sandbox. The zero value is a usable default.
type Config struct {
	AccountID string // default 123456789012
	Region    string // default us-east-1
	// Now is the clock every component uses (tests move it to pass the tag refresh window).
	Now func() time.Time
	// AccessKeyID and SecretAccessKey are the static credentials the sandbox accepts besides the
	// ones its STS issues; defaults are fixed sandbox values.
	AccessKeyID, SecretAccessKey string
	// TagRefresh is how long a cached tag is served before it is re-checked upstream (ECR: ~24 h).
	TagRefresh time.Duration
	// RateLimit is the Docker Hub stand-in's pulls (manifest GETs) per RateWindow per client;
	// 0 means 100 per 6 h like anonymous Docker Hub. Negative disables the limit.
	RateLimit  int
	RateWindow time.Duration
	// UpstreamLatency and UpstreamBandwidth (bytes/s, 0 = unlimited) shape every upstream stand-in
	// like the internet; CacheLatency shapes the cache data plane like the same region.
	UpstreamLatency   time.Duration
	UpstreamBandwidth int64
	CacheLatency      time.Duration
	// NoSeed starts the upstream stand-ins empty.
	NoSeed bool
	// BatchGetImageImports makes BatchGetImage by tag pull a missing image through the cache. Whether
	// real ECR does this is unverified (reference), so it is off by default.
	BatchGetImageImports bool
	// RootUpstreamPrefixOnEveryRule makes DescribePullThroughCacheRules print upstreamRepositoryPrefix
	// "ROOT" on rules that are not ECR-to-ECR too. Whether AWS does is unverified (reference), so parsers
	// are tested both ways; off by default.
	RootUpstreamPrefixOnEveryRule bool
	// Roles restricts which subjects may assume which roles; nil trusts every role of the account for
	// any token the sandbox issuer signed with audience sts.amazonaws.com.
	Roles map[string]RoleTrust
	// RateLimits enforces ECR's API rate quotas as token buckets (ratelimit.go); nil: no limits.
	RateLimits *RateLimits
}

// RoleTrust is the part of an IAM role's trust policy the sandbox's STS checks, and the role's settings
// the sandbox emulates (roles.go).
type RoleTrust struct {
	Audience string   // default sts.amazonaws.com
	Subjects []string // allowed "sub" values; "*" suffix matches a prefix; empty allows any
	// MaxSessionDuration bounds AssumeRoleWithWebIdentity's DurationSeconds (IAM: default 1 h, 1–12 h).
	MaxSessionDuration time.Duration
	// Denied lists IAM actions the role's policies do not allow, e.g. ecr:BatchImportUpstreamImage and
	// ecr:CreateRepository (a first pull through a rule needs both; cached images still pull).
	Denied []string
}

func (c *Config) defaults() {
	if c.AccountID == "" {
		c.AccountID = "123456789012"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AccessKeyID == "" {
		c.AccessKeyID = "AKIASANDBOXEXAMPLE01"
	}
	if c.SecretAccessKey == "" {
		c.SecretAccessKey = "sandbox/secret/key/not/a/real/one/EXAMPLE"
	}
	if c.TagRefresh == 0 {
		c.TagRefresh = 24 * time.Hour
	}
	if c.RateLimit == 0 {
		c.RateLimit = 100
	}
	if c.RateWindow == 0 {
		c.RateWindow = 6 * time.Hour
	}
}

// deps is what every component of one sandbox shares.
type deps struct {
	cfg    Config
	store  *Store
	faults *Faults
	stats  *Stats
	// Base URLs, set once the listeners exist and before any request is served.
	ecrURL, stsURL, issuerURL, registryHost string
	creds                                   *credentials         // control plane: keys it accepts (sts.go)
	oidc                                    *oidcIssuer          // control plane: the token issuer (oidc.go)
	upstreams                               map[string]*upstream // data plane: stand-ins by upstream registry URL host (upstream.go)
	owners                                  tokenOwners          // registry passwords → who got them (roles.go)
}

// Sandbox is a running emulation. Its fields are the addresses clients use.
type Sandbox struct {
	Store  *Store
	Faults *Faults
	Stats  *Stats

	ECREndpoint string // http://127.0.0.1:port, for AWS_ENDPOINT_URL_ECR
	STSEndpoint string // http://127.0.0.1:port, for AWS_ENDPOINT_URL_STS
	OIDCIssuer  string // http://127.0.0.1:port, the issuer URL in tokens
	// GitHubTokenURL and GitHubRequestToken are ACTIONS_ID_TOKEN_REQUEST_URL and
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN for a GitHub-style token request.
	GitHubTokenURL, GitHubRequestToken string
	RegistryHost                       string            // 127.0.0.1:port, the cache registry (ECR_PTC_REGISTRY)
	Upstreams                          map[string]string // stand-in name (docker-hub, github, quay, ecr-public) → 127.0.0.1:port
	StatsURL                           string            // JSON stats (ECR_PTC_SANDBOX_STATS)
	StatsToken                         string            // bearer token the stats and faults endpoint needs (ECR_PTC_SANDBOX_TOKEN)
	AccessKeyID, SecretAccessKey       string
	Region, AccountID                  string

	d         *deps
	servers   []*http.Server
	closed    chan struct{}
	closeOnce sync.Once
}

// Start listens on loopback ports and serves every component until Close or ctx ends.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	cfg.defaults()
	if err := checkRoles(cfg); err != nil {
		return nil, err
	}
	d := &deps{cfg: cfg, store: NewStore(cfg.AccountID, cfg.Region, cfg.Now), faults: &Faults{}, stats: &Stats{}}
	sb := &Sandbox{Store: d.store, Faults: d.faults, Stats: d.stats, Upstreams: map[string]string{},
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, Region: cfg.Region, AccountID: cfg.AccountID, d: d}

	listen := func() (net.Listener, string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", fmt.Errorf("sandbox: cannot listen on loopback: %w", err)
		}
		return l, l.Addr().String(), nil
	}
	type service struct {
		l net.Listener
		h func() http.Handler // built after every address is known
	}
	var services []service
	fail := func(err error) (*Sandbox, error) {
		for _, s := range services {
			s.l.Close()
		}
		return nil, err
	}

	// Upstream stand-ins first: the data plane resolves rules to them.
	ups, err := newUpstreams(d)
	if err != nil {
		return fail(err)
	}
	d.upstreams = map[string]*upstream{}
	for _, u := range ups {
		l, addr, err := listen()
		if err != nil {
			return fail(err)
		}
		u.host = addr
		d.upstreams[u.url] = u
		sb.Upstreams[u.name] = addr
		services = append(services, service{l, u.handler})
	}

	var addrs [5]string
	var ls [5]net.Listener
	for i := range ls {
		if ls[i], addrs[i], err = listen(); err != nil {
			return fail(err)
		}
		services = append(services, service{l: ls[i]})
	}
	d.ecrURL, d.stsURL, d.issuerURL, d.registryHost = "http://"+addrs[0], "http://"+addrs[1], "http://"+addrs[2], addrs[3]
	statsURL := "http://" + addrs[4] + "/stats"
	// Faults and counters change what the sandbox does: another local user must not reach them.
	sb.StatsToken = "sandbox-control-" + randomAlnum(24)

	if d.creds, err = newCredentials(d); err != nil {
		return fail(err)
	}
	if d.oidc, err = newOIDCIssuer(d); err != nil {
		return fail(err)
	}
	n := len(services)
	services[n-5].h = func() http.Handler { return newECRHandler(d) }
	services[n-4].h = func() http.Handler { return newSTSHandler(d) }
	services[n-3].h = func() http.Handler { return d.oidc.handler() }
	services[n-2].h = func() http.Handler { return newRegistryHandler(d) }
	services[n-1].h = func() http.Handler { return requireToken(sb.StatsToken, newStatsHandler(d)) }

	for _, s := range services {
		srv := &http.Server{Handler: s.h(), ReadHeaderTimeout: 10 * time.Second}
		sb.servers = append(sb.servers, srv)
		go func(l net.Listener) { _ = srv.Serve(l) }(s.l)
	}
	sb.ECREndpoint, sb.STSEndpoint, sb.OIDCIssuer, sb.RegistryHost, sb.StatsURL = d.ecrURL, d.stsURL, d.issuerURL, d.registryHost, statsURL
	sb.GitHubTokenURL, sb.GitHubRequestToken = d.oidc.githubTokenURL(), d.oidc.githubRequestToken()
	sb.closed = make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sb.Close()
		case <-sb.closed:
		}
	}()
	return sb, nil
}

// Close stops every server; it may be called more than once.
func (s *Sandbox) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		for _, srv := range s.servers {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := srv.Shutdown(ctx); err != nil {
				// Requests still held (timeout faults): cut them off.
				errs = append(errs, err)
				srv.Close()
			}
			cancel()
		}
		close(s.closed)
	})
	return errors.Join(errs...)
}

// MintToken signs an OIDC token with the sandbox issuer, as GitLab's id_tokens or a token file would
// hold; claims override the defaults (iss, iat, exp, sub "repo:example/app:ref:refs/heads/main",
// aud "sts.amazonaws.com").
func (s *Sandbox) MintToken(claims map[string]any, ttl time.Duration) (string, error) {
	return s.d.oidc.mint(claims, ttl)
}

// Env is the environment a shell or test needs to use the sandbox, as KEY=VALUE pairs in a fixed order.
func (s *Sandbox) Env() []string {
	env := []string{
		"AWS_ENDPOINT_URL_ECR=" + s.ECREndpoint,
		"AWS_ENDPOINT_URL_STS=" + s.STSEndpoint,
		"AWS_ENDPOINT_URL_ECR_PUBLIC=" + s.ECREndpoint,
		"AWS_REGION=" + s.Region,
		"AWS_ACCESS_KEY_ID=" + s.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretAccessKey,
		"ECR_PTC_REGISTRY=" + s.RegistryHost,
		"ECR_PTC_SANDBOX=1",
		"ECR_PTC_SANDBOX_OIDC_ISSUER=" + s.OIDCIssuer,
		"ECR_PTC_SANDBOX_STATS=" + s.StatsURL,
		"ECR_PTC_SANDBOX_TOKEN=" + s.StatsToken,
	}
	for _, name := range []string{"docker-hub", "github", "quay", "ecr-public"} {
		if addr, ok := s.Upstreams[name]; ok {
			env = append(env, "ECR_PTC_SANDBOX_UPSTREAM_"+envName(name)+"="+addr)
		}
	}
	return append(env, s.upstreamECREnv()...)
}

func envName(upstream string) string {
	switch upstream {
	case "docker-hub":
		return "DOCKERHUB"
	case "github":
		return "GHCR"
	case "ecr-public":
		return "ECRPUBLIC"
	default:
		return "QUAY"
	}
}

// newStatsHandler serves the counters as JSON, and lets scripts inject and clear faults:
// GET /stats, POST /faults (a Fault as JSON), DELETE /faults, POST /stats/reset.
func newStatsHandler(d *deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d.stats.Snapshot())
	})
	mux.HandleFunc("POST /stats/reset", func(w http.ResponseWriter, r *http.Request) { d.stats.Reset() })
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d.faults.List())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Target == "" || f.Kind == "" {
			http.Error(w, `a fault is {"target": "...", "kind": "...", "count": N}`, http.StatusBadRequest)
			return
		}
		d.faults.Add(f)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) { d.faults.Clear() })
	registerMoveTagControl(mux, d) // movetag.go
	return mux
}
