package sandbox

// Signature Version 4 verification for the ECR and STS APIs. The signature is recomputed with the SDK's
// own signer (aws/signer/v4) over a copy of the request that holds only what the client signed, and
// compared with the one the client sent.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's X-Amz-Date may be from the service clock (AWS SigV4: requests older
// or newer than 5 minutes are refused with "Signature expired" / "Signature not yet current").
const maxSkew = 5 * time.Minute

// identity is who signed a request.
type identity struct {
	AccessKeyID string
	Arn         string // arn:aws:iam::ACCT:user/sandbox or arn:aws:sts::ACCT:assumed-role/ROLE/SESSION
	UserID      string // AIDA... for the user, AROA...:SESSION for an assumed role
	Account     string
}

// session is a set of temporary credentials the sandbox's STS issued.
type session struct {
	identity
	Secret, Token string
	Expires       time.Time
	RoleArn       string
	Subject       string
}

// credentials holds the keys the sandbox accepts: the static pair from Config and the sessions its
// STS issued. It is safe for concurrent use.
type credentials struct {
	d        *deps
	mu       sync.Mutex
	static   session
	sessions map[string]*session // by access key id
}

func newCredentials(d *deps) (*credentials, error) {
	c := &credentials{d: d, sessions: map[string]*session{}}
	c.static = session{
		identity: identity{
			AccessKeyID: d.cfg.AccessKeyID,
			Arn:         "arn:aws:iam::" + d.cfg.AccountID + ":user/sandbox",
			UserID:      "AIDA" + stableID(d.cfg.AccountID+"/user/sandbox", 17),
			Account:     d.cfg.AccountID,
		},
		Secret: d.cfg.SecretAccessKey,
	}
	return c, nil
}

// issue creates temporary credentials for an assumed role. They are shaped like STS's (a 20-character
// key ID, a 40-character secret, a long opaque token) but unmistakably fake — never ASIA…/IQoJ…: a
// sandbox key pasted into a log or a ticket must not pass for, or be scanned as, a real AWS one.
func (c *credentials) issue(id identity, roleArn, subject string, ttl time.Duration) *session {
	s := &session{identity: id, RoleArn: roleArn, Subject: subject, Expires: c.d.cfg.Now().Add(ttl).Truncate(time.Second)}
	s.AccessKeyID = SessionKeyPrefix + randomAlnum(20-len(SessionKeyPrefix))
	s.Secret = "sandbox-fake-secret-" + randomAlnum(20)
	s.Token = "sandbox-fake-session-token-" + randomBase64(180)
	c.mu.Lock()
	c.sessions[s.AccessKeyID] = s
	c.mu.Unlock()
	return s
}

func (c *credentials) lookup(akid string) (session, bool) {
	if akid == c.static.AccessKeyID {
		return c.static, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[akid]
	if !ok {
		return session{}, false
	}
	return *s, true
}

// authFailure classifies why a request was refused; each API maps it to its own error code.
type authFailure int

const (
	authMissing      authFailure = iota + 1 // no Authorization header
	authIncomplete                          // Authorization header not a SigV4 one
	authUnknownKey                          // access key or session token not known
	authExpiredToken                        // temporary credentials past their expiration
	authBadSignature                        // signature does not match, wrong scope
	authSkew                                // X-Amz-Date too far from the service clock
)

type authError struct {
	Kind authFailure
	Msg  string
}

func (e *authError) Error() string { return e.Msg }

// Messages AWS sends for these failures (the same text on every SigV4 service).
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

const amzDateFormat = "20060102T150405Z"

// verify checks the SigV4 Authorization header of r (whose body has been read into body) for service
// and returns the signer's identity.
func (c *credentials) verify(r *http.Request, body []byte, service string) (identity, *authError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return identity{}, &authError{authMissing, "Missing Authentication Token"}
	}
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(authz, alg) {
		return identity{}, &authError{authIncomplete, "Authorization header requires the AWS4-HMAC-SHA256 algorithm"}
	}
	fields := authFields(authz)
	cred, signedHeaders, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedHeaders == "" || sig == "" {
		return identity{}, &authError{authIncomplete, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=" + authz}
	}
	scope := strings.Split(cred, "/") // AKID/yyyymmdd/region/service/aws4_request
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return identity{}, &authError{authIncomplete, "Credential should be of the form AKID/date/region/service/aws4_request, not " + cred}
	}
	akid, day, region, svc := scope[0], scope[1], scope[2], scope[3]

	s, ok := c.lookup(akid)
	if !ok {
		return identity{}, &authError{authUnknownKey, msgInvalidToken}
	}
	// Temporary credentials are valid only with their own session token; long-term keys never carry one.
	tok := r.Header.Get("X-Amz-Security-Token")
	if subtle.ConstantTimeCompare([]byte(s.Token), []byte(tok)) != 1 {
		return identity{}, &authError{authUnknownKey, msgInvalidToken}
	}
	now := c.d.cfg.Now()
	if !s.Expires.IsZero() && !now.Before(s.Expires) {
		return identity{}, &authError{authExpiredToken, msgExpiredToken}
	}

	dateHdr := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse(amzDateFormat, dateHdr)
	if err != nil {
		return identity{}, &authError{authIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + authz}
	}
	// AWS SigV4: the signature is refused when its time is more than 5 minutes off.
	if signedAt.Before(now.Add(-maxSkew)) {
		return identity{}, &authError{authSkew, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			dateHdr, now.Add(-maxSkew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))}
	}
	if signedAt.After(now.Add(maxSkew)) {
		return identity{}, &authError{authSkew, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			dateHdr, now.Add(maxSkew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))}
	}
	if day != signedAt.Format("20060102") {
		return identity{}, &authError{authBadSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + day + "' != '" + signedAt.Format("20060102") + "', from '" + dateHdr + "'."}
	}
	if svc != service {
		return identity{}, &authError{authBadSignature, "Credential should be scoped to correct service: '" + service + "'. "}
	}
	// STS also answers on its global endpoint, signed for us-east-1; ECR Public lives only in us-east-1.
	if region != c.d.cfg.Region && !((service == "sts" || service == "ecr-public") && region == "us-east-1") {
		return identity{}, &authError{authBadSignature, "Credential should be scoped to a valid region. "}
	}

	// Rebuild the request with exactly the headers the client signed, and sign it again.
	re, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.EscapedPath(), nil)
	if err != nil {
		return identity{}, &authError{authIncomplete, "cannot rebuild the request: " + err.Error()}
	}
	re.URL.RawQuery = r.URL.RawQuery
	re.Host = r.Host
	signedToken := false
	for _, h := range strings.Split(signedHeaders, ";") {
		switch h {
		case "host":
		case "x-amz-security-token":
			signedToken = true
		case "content-length":
			re.ContentLength = int64(len(body))
			if v := r.Header.Get("Content-Length"); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					re.ContentLength = n
				}
			}
		default:
			if vs := r.Header.Values(h); len(vs) > 0 {
				re.Header[http.CanonicalHeaderKey(h)] = vs
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.Secret}
	if signedToken {
		creds.SessionToken = s.Token
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), svc, region, signedAt); err != nil {
		return identity{}, &authError{authIncomplete, "cannot sign the request: " + err.Error()}
	}
	want := authFields(re.Header.Get("Authorization"))
	if want["SignedHeaders"] != signedHeaders || subtle.ConstantTimeCompare([]byte(want["Signature"]), []byte(sig)) != 1 {
		return identity{}, &authError{authBadSignature, msgBadSignature}
	}
	return s.identity, nil
}

// authFields splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." into its fields.
func authFields(authz string) map[string]string {
	fields := map[string]string{}
	_, rest, _ := strings.Cut(authz, " ")
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	return fields
}

// stableID derives n uppercase alphanumerics from seed, for ids AWS keeps stable (AIDA..., AROA...).
func stableID(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return alnum(sum[:], n)
}

// SessionKeyPrefix starts every access key ID the sandbox's STS issues.
const SessionKeyPrefix = "FAKESBX"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return alnum(b, n)
}

func alnum(b []byte, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out bytes.Buffer
	for i := 0; i < n; i++ {
		out.WriteByte(chars[int(b[i%len(b)]+byte(i/len(b)))%len(chars)])
	}
	return out.String()
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
