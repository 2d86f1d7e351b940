package sandbox

// The sandbox's OpenID Connect issuer: discovery document, JWKS, a token minter, and a GitHub
// Actions-style token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN).

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Default claims of a minted token: the audience STS expects for web identity federation
// (reference: "GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com") and a GitHub-style subject.
const (
	defaultAudience = "sts.amazonaws.com"
	defaultSubject  = "repo:example/app:ref:refs/heads/main"
	// githubDefaultAudience is what GitHub puts in aud when the request names no audience: the URL of
	// the repository owner.
	githubDefaultAudience = "https://github.com/example"
	// githubTokenTTL: GitHub's ID tokens are short-lived; the sandbox gives them 5 minutes.
	githubTokenTTL = 5 * time.Minute
)

type oidcIssuer struct {
	d            *deps
	key          *rsa.PrivateKey
	kid          string
	signer       jose.Signer
	requestToken string
	requests     atomic.Int64 // GitHub token requests served, reported as "count"
	mintedMu     sync.Mutex
	minted       []string // every token signed, for secret audits
}

func newOIDCIssuer(d *deps) (*oidcIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: cannot generate the OIDC signing key: %w", err)
	}
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	o := &oidcIssuer{d: d, key: key, kid: hex.EncodeToString(sum[:8])}
	o.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: o.kid, Algorithm: string(jose.RS256), Use: "sig"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("sandbox: cannot create the OIDC signer: %w", err)
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	o.requestToken = "sandbox-actions-" + hex.EncodeToString(b)
	return o, nil
}

// githubTokenURL is ACTIONS_ID_TOKEN_REQUEST_URL: it already carries a query string, so clients append
// "&audience=..." (reference: GitHub OIDC).
func (o *oidcIssuer) githubTokenURL() string {
	return o.d.issuerURL + "/github/token?api-version=2.0"
}

// githubRequestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN, the bearer the token endpoint requires.
func (o *oidcIssuer) githubRequestToken() string { return o.requestToken }

// mint signs an RS256 JWT. Defaults: iss (the issuer URL), aud sts.amazonaws.com, sub, iat, nbf, jti,
// exp = now+ttl (ttl 0 means one hour; a negative ttl mints an expired token). claims override them;
// time.Time values become NumericDate seconds.
func (o *oidcIssuer) mint(claims map[string]any, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = time.Hour
	}
	now := o.d.cfg.Now()
	c := map[string]any{
		"iss": o.d.issuerURL,
		"aud": defaultAudience,
		"sub": defaultSubject,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"jti": newRequestID(),
	}
	for k, v := range claims {
		if t, ok := v.(time.Time); ok {
			v = t.Unix()
		}
		c[k] = v
	}
	tok, err := jwt.Signed(o.signer).Claims(c).Serialize()
	if err == nil {
		o.mintedMu.Lock()
		o.minted = append(o.minted, tok)
		o.mintedMu.Unlock()
	}
	return tok, err
}

func (o *oidcIssuer) handler() http.Handler {
	mux := http.NewServeMux()
	// OpenID Connect Discovery 1.0: what STS (and go-oidc) read to find the JWKS.
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSONDoc(w, map[string]any{
			"issuer":                                o.d.issuerURL,
			"jwks_uri":                              o.d.issuerURL + "/.well-known/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public", "pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "actor", "event_name", "workflow", "run_id"},
			"scopes_supported":                      []string{"openid"},
		})
	})
	mux.HandleFunc("GET /.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		if o.fault(w, r, "oidc:jwks") {
			return
		}
		writeJSONDoc(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &o.key.PublicKey, KeyID: o.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	})
	// GitHub Actions' token request: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=X with
	// "Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" → {"count": N, "value": "<jwt>"}.
	mux.HandleFunc("GET /github/token", func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(bearer), []byte(o.requestToken)) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials: the request token is missing or wrong"}` + "\n"))
			return
		}
		if o.fault(w, r, "oidc:token") {
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			aud = githubDefaultAudience
		}
		run := o.requests.Add(1)
		tok, err := o.mint(map[string]any{
			"aud":                aud,
			"ref":                "refs/heads/main",
			"ref_type":           "branch",
			"repository":         "example/app",
			"repository_owner":   "example",
			"actor":              "example-user",
			"event_name":         "push",
			"workflow":           "build",
			"job_workflow_ref":   "example/app/.github/workflows/build.yml@refs/heads/main",
			"run_id":             fmt.Sprint(1000 + run),
			"runner_environment": "github-hosted",
		}, githubTokenTTL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// GitHub's answer carries the token in "value" and its length in "count".
		writeJSONDoc(w, map[string]any{"count": len(tok), "value": tok})
	})
	return mux
}

// fault applies an injected fault on an issuer endpoint and reports whether it answered.
func (o *oidcIssuer) fault(w http.ResponseWriter, r *http.Request, target string) bool {
	f, ok := o.d.faults.Take(target)
	if !ok {
		return false
	}
	switch f.Kind {
	case FaultTimeout:
		hold(r.Context())
		http.Error(w, "sandbox: request held by a timeout fault", http.StatusGatewayTimeout)
	case FaultThrottle, FaultTooMany:
		http.Error(w, "sandbox: too many requests (injected fault)", http.StatusTooManyRequests)
	default:
		http.Error(w, "sandbox: internal server error (injected fault)", http.StatusInternalServerError)
	}
	return true
}

func writeJSONDoc(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
