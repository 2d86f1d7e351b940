package sandbox

// The sandbox's STS: the AWS query protocol (form-encoded POST, XML answers) with
// AssumeRoleWithWebIdentity, verified for real against the sandbox issuer, and GetCallerIdentity.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

const stsVersion = "2011-06-15"

// STS's limits on AssumeRoleWithWebIdentity input (STS API reference; reference: "Session name 2–64
// chars of [\w+=,.@-]; duration 900–43200 s").
var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)

const (
	minSessionDuration     = 900
	maxSessionDuration     = 43200
	defaultSessionDuration = 3600
)

type stsAPI struct{ d *deps }

func newSTSHandler(d *deps) http.Handler { return &stsAPI{d: d} }

func (s *stsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	setCommonHeaders(w, s.d, reqID)
	fail := func(e *apiError) { writeQueryError(w, e, reqID) }

	body, err := readBody(r)
	if err != nil {
		fail(newAPIError(http.StatusBadRequest, "MalformedInput", "cannot read the request body: %v", err))
		return
	}
	params := url.Values{}
	if r.Method == http.MethodPost {
		if params, err = url.ParseQuery(string(body)); err != nil {
			fail(newAPIError(http.StatusBadRequest, "MalformedInput", "the request body is not form-encoded: %v", err))
			return
		}
	}
	for k, v := range r.URL.Query() { // the query protocol also accepts GET with the parameters in the URL
		params[k] = append(params[k], v...)
	}
	action, version := params.Get("Action"), params.Get("Version")
	s.d.stats.Update(func(st *StatsSnapshot) { st.STSRequests[action]++ })
	if action == "" || version != stsVersion {
		if version == "" {
			version = "NO_VERSION_SPECIFIED"
		}
		fail(newAPIError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version))
		return
	}

	// AssumeRoleWithWebIdentity is not signed: the web identity token is the credential (STS API
	// reference; the SDK sends it anonymously). Everything else needs SigV4.
	var who identity
	if action != "AssumeRoleWithWebIdentity" {
		id, aerr := s.d.creds.verify(r, body, "sts")
		if aerr != nil {
			fail(stsAuthError(aerr))
			return
		}
		who = id
	}

	if f, ok := s.d.faults.Take("sts:" + action); ok {
		if e := stsFault(r.Context(), f, action); e != nil {
			fail(e)
			return
		}
		if r.Context().Err() != nil {
			return
		}
	}

	switch action {
	case "AssumeRoleWithWebIdentity":
		out, e := s.assumeRoleWithWebIdentity(r.Context(), params)
		if e != nil {
			fail(e)
			return
		}
		out.Xmlns, out.Metadata.RequestID = stsXMLNS, reqID
		writeQueryXML(w, out)
	case "GetCallerIdentity":
		out := getCallerIdentityResponse{Xmlns: stsXMLNS}
		out.Result.Arn, out.Result.UserID, out.Result.Account = who.Arn, who.UserID, who.Account
		out.Metadata.RequestID = reqID
		writeQueryXML(w, out)
	default:
		fail(newAPIError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version))
	}
}

// stsAuthError maps a SigV4 failure to the query-protocol error STS answers with.
func stsAuthError(e *authError) *apiError {
	switch e.Kind {
	case authMissing:
		return newAPIError(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	case authIncomplete:
		return newAPIError(http.StatusBadRequest, "IncompleteSignature", "%s", e.Msg)
	case authUnknownKey:
		return newAPIError(http.StatusForbidden, "InvalidClientTokenId", "%s", e.Msg)
	case authExpiredToken:
		return newAPIError(http.StatusForbidden, "ExpiredToken", "%s", e.Msg)
	default: // bad signature and clock skew ("Signature expired: ...") are both SignatureDoesNotMatch
		return newAPIError(http.StatusForbidden, "SignatureDoesNotMatch", "%s", e.Msg)
	}
}

// stsFault turns an injected fault into STS's error, or holds the request (FaultTimeout) and returns
// nil so that it proceeds once the hold ends (or is abandoned when the client has gone).
func stsFault(ctx context.Context, f Fault, action string) *apiError {
	switch f.Kind {
	case FaultThrottle:
		return newAPIError(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case FaultServerError:
		return newAPIError(http.StatusInternalServerError, "InternalFailure", "An internal error occurred (injected fault)")
	case FaultIDP:
		// STS API reference, IDPCommunicationError: the IdP could not be reached; the SDK retries it.
		return newAPIError(http.StatusBadRequest, "IDPCommunicationError", "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached. Try the request again. (injected fault)")
	case FaultExpiredToken:
		if action == "AssumeRoleWithWebIdentity" {
			return newAPIError(http.StatusBadRequest, "ExpiredTokenException", "Token expired (injected fault)")
		}
		return newAPIError(http.StatusForbidden, "ExpiredToken", "%s", msgExpiredToken)
	case FaultTimeout:
		hold(ctx)
	}
	return nil
}

// --- AssumeRoleWithWebIdentity ---

type assumeRoleWithWebIdentityResponse struct {
	XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		SubjectFromWebIdentityToken string `xml:"SubjectFromWebIdentityToken"`
		Audience                    string `xml:"Audience"`
		AssumedRoleUser             struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		Provider string `xml:"Provider"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

// validationErrors collects constraint violations into STS's ValidationError text
// ("N validation error(s) detected: Value ... at '...' failed to satisfy constraint: ...").
type validationErrors []string

func (v *validationErrors) add(value any, field, constraint string) {
	val := "null"
	if value != nil {
		val = fmt.Sprintf("'%v'", value)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, field, constraint))
}

func (v validationErrors) err(code string) *apiError {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return newAPIError(http.StatusBadRequest, code, "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

func (s *stsAPI) assumeRoleWithWebIdentity(ctx context.Context, p url.Values) (*assumeRoleWithWebIdentityResponse, *apiError) {
	d := s.d
	roleArn, sessionName, token := p.Get("RoleArn"), p.Get("RoleSessionName"), p.Get("WebIdentityToken")

	// Model constraints first, as STS checks its input before anything else.
	var ve validationErrors
	if !p.Has("RoleArn") {
		ve.add(nil, "roleArn", "Member must not be null")
	} else if len(roleArn) < 20 || len(roleArn) > 2048 {
		ve.add(roleArn, "roleArn", "Member must have length greater than or equal to 20")
	}
	switch {
	case !p.Has("RoleSessionName"):
		ve.add(nil, "roleSessionName", "Member must not be null")
	case len(sessionName) < 2:
		ve.add(sessionName, "roleSessionName", "Member must have length greater than or equal to 2")
	case len(sessionName) > 64:
		ve.add(sessionName, "roleSessionName", "Member must have length less than or equal to 64")
	case !sessionNamePattern.MatchString(sessionName):
		ve.add(sessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if !p.Has("WebIdentityToken") {
		ve.add(nil, "webIdentityToken", "Member must not be null")
	} else if len(token) < 4 {
		ve.add("*** Sensitive Data Redacted ***", "webIdentityToken", "Member must have length greater than or equal to 4")
	}
	duration := defaultSessionDuration
	if v := p.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			ve.add(v, "durationSeconds", "Member must be an integer")
		case n < minSessionDuration:
			ve.add(n, "durationSeconds", "Member must have value greater than or equal to 900")
		case n > maxSessionDuration:
			ve.add(n, "durationSeconds", "Member must have value less than or equal to 43200")
		default:
			duration = n
		}
	}
	if e := ve.err("ValidationError"); e != nil {
		return nil, e
	}
	account, roleName, ok := parseRoleArn(roleArn)
	if !ok {
		return nil, newAPIError(http.StatusBadRequest, "ValidationError", "Request ARN is invalid")
	}

	claims, e := s.verifyWebIdentity(ctx, token)
	if e != nil {
		return nil, e
	}

	// The role's trust policy: only roles of this account, and (when Config.Roles is set) only the
	// listed roles for their audience and subjects.
	denied := newAPIError(http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if account != d.cfg.AccountID {
		return nil, denied
	}
	aud := claims.audienceFor(defaultAudience)
	if d.cfg.Roles != nil {
		trust, ok := roleTrust(d.cfg, roleArn, roleName)
		if !ok {
			return nil, denied
		}
		want := trust.Audience
		if want == "" {
			want = defaultAudience
		}
		if !claims.hasAudience(want) {
			return nil, denied
		}
		aud = want
		if !subjectAllowed(trust.Subjects, claims.Subject) {
			return nil, denied
		}
	}

	// The role's MaxSessionDuration bounds the session (reference; roles.go).
	if limit := roleMaxSession(d.cfg, roleArn, roleName); time.Duration(duration)*time.Second > limit {
		return nil, newAPIError(http.StatusBadRequest, "ValidationError", "%s", msgDurationExceedsMax)
	}

	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, sessionName)
	roleID := "AROA" + stableID(roleArn, 17)
	sess := d.creds.issue(identity{Arn: arn, UserID: roleID + ":" + sessionName, Account: account}, roleArn, claims.Subject, time.Duration(duration)*time.Second)

	out := &assumeRoleWithWebIdentityResponse{}
	res := &out.Result
	res.SubjectFromWebIdentityToken = claims.Subject
	res.Audience = aud
	res.AssumedRoleUser.Arn = arn
	res.AssumedRoleUser.AssumedRoleID = roleID + ":" + sessionName
	res.Credentials.AccessKeyID = sess.AccessKeyID
	res.Credentials.SecretAccessKey = sess.Secret
	res.Credentials.SessionToken = sess.Token
	res.Credentials.Expiration = sess.Expires.UTC().Format(time.RFC3339)
	// STS API reference: for OpenID Connect tokens, Provider is the token's iss.
	res.Provider = claims.Issuer
	return out, nil
}

// parseRoleArn splits arn:aws:iam::ACCOUNT:role[/path]/NAME.
func parseRoleArn(arn string) (account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "iam" || parts[3] != "" {
		return "", "", false
	}
	if len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "" {
		return "", "", false
	}
	res, ok := strings.CutPrefix(parts[5], "role/")
	if !ok || res == "" || strings.HasSuffix(res, "/") {
		return "", "", false
	}
	return parts[4], res[strings.LastIndex(res, "/")+1:], true
}

func subjectAllowed(allowed []string, sub string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(sub, p) || a == sub {
			return true
		}
	}
	return false
}

// webIdentityClaims is what STS reads from a verified token.
type webIdentityClaims struct {
	Issuer   string
	Subject  string
	Audience []string
}

func (c webIdentityClaims) hasAudience(a string) bool {
	for _, x := range c.Audience {
		if x == a {
			return true
		}
	}
	return false
}

// audienceFor returns want when the token names it, else the token's first audience.
func (c webIdentityClaims) audienceFor(want string) string {
	if c.hasAudience(want) || len(c.Audience) == 0 {
		return want
	}
	return c.Audience[0]
}

// providerAudiences is the sandbox IAM OIDC provider's client ID list: sts.amazonaws.com plus every
// audience a configured role trusts.
func (s *stsAPI) providerAudiences() []string {
	out := []string{defaultAudience}
	for _, t := range s.d.cfg.Roles {
		if t.Audience != "" {
			out = append(out, t.Audience)
		}
	}
	return out
}

// idpTransport records how talking to the identity provider went, so that an unreachable provider
// (IDPCommunicationError) can be told from one that answered badly (InvalidIdentityToken).
type idpTransport struct {
	mu        sync.Mutex
	netErr    error
	badStatus int
}

func (t *idpTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.netErr = err
	} else if resp.StatusCode != http.StatusOK {
		t.badStatus = resp.StatusCode
	}
	return resp, err
}

func (t *idpTransport) result() (status int, netErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.badStatus, t.netErr
}

// Message STS gives when it cannot get the provider's signing keys (reference: retry InvalidIdentityToken
// only when it says "Couldn't retrieve verification key").
const msgNoVerificationKey = "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"

// verifyWebIdentity checks the token the way STS does with an IAM OIDC provider: the issuer must be a
// provider of the account (the sandbox has one, its own issuer), the signature must verify against the
// keys fetched from the issuer's JWKS over HTTP (discovery, then jwks_uri), the token must be
// unexpired, and its audience must be in the provider's client ID list.
func (s *stsAPI) verifyWebIdentity(ctx context.Context, raw string) (webIdentityClaims, *apiError) {
	d := s.d
	invalid := func(format string, args ...any) *apiError {
		return newAPIError(http.StatusBadRequest, "InvalidIdentityToken", format, args...)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return webIdentityClaims{}, invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return webIdentityClaims{}, invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	// IAM OIDC providers are registered per issuer URL; a token from any other issuer has none.
	if unverified.Iss != d.issuerURL {
		return webIdentityClaims{}, invalid("No OpenIDConnect provider found in your account for %s", unverified.Iss)
	}

	tr := &idpTransport{}
	octx := oidc.ClientContext(ctx, &http.Client{Transport: tr, Timeout: 10 * time.Second})
	idpErr := func(err error) *apiError {
		status, netErr := tr.result()
		var ne net.Error
		switch {
		case netErr != nil || errors.As(err, &ne):
			return newAPIError(http.StatusBadRequest, "IDPCommunicationError", "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached. Try the request again.")
		case status != 0:
			return invalid(msgNoVerificationKey)
		}
		return nil
	}
	provider, err := oidc.NewProvider(octx, d.issuerURL)
	if err != nil {
		if e := idpErr(err); e != nil {
			return webIdentityClaims{}, e
		}
		return webIdentityClaims{}, invalid(msgNoVerificationKey)
	}
	verifier := provider.Verifier(&oidc.Config{SkipClientIDCheck: true, Now: d.cfg.Now, SupportedSigningAlgs: []string{oidc.RS256}})
	tok, err := verifier.Verify(octx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return webIdentityClaims{}, newAPIError(http.StatusBadRequest, "ExpiredTokenException",
				"Token expired: current date/time %d must be before the expiration date/time %d", d.cfg.Now().Unix(), expired.Expiry.Unix())
		}
		if e := idpErr(err); e != nil {
			return webIdentityClaims{}, e
		}
		// The signature (or another JWT check) failed against the provider's keys.
		return webIdentityClaims{}, invalid("The web identity token could not be verified with the keys of %s: %v", d.issuerURL, err)
	}
	c := webIdentityClaims{Issuer: tok.Issuer, Subject: tok.Subject, Audience: tok.Audience}
	for _, a := range s.providerAudiences() {
		if c.hasAudience(a) {
			return c, nil
		}
	}
	return webIdentityClaims{}, invalid("Incorrect token audience")
}
