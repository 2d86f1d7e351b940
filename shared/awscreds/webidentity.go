// Package awscreds turns a CI job's identity into AWS credentials: an OIDC token (a TokenFunc: the CI
// platform's own, from shared/ciplatform; a GitLab id_token value; a token file) exchanged with STS
// AssumeRoleWithWebIdentity, with retries that fetch a fresh token for every attempt, credentials that
// refresh themselves for long builds, and errors that say how to fix the setup.
package awscreds

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TokenFunc returns a fresh OIDC token on every call (GitHub's tokens are short-lived and single
// use is the safe assumption).
type TokenFunc func(ctx context.Context) (string, error)

// STSAPI is the STS call this package needs.
type STSAPI interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

// WebIdentity configures one role assumption.
type WebIdentity struct {
	RoleARN     string
	SessionName string        // sanitised with SessionName; default "ecr-ptc"
	Duration    time.Duration // 900 s–12 h; 0 lets STS choose (1 h)
	Policy      string        // optional session policy JSON
	Token       TokenFunc
	// Source names where tokens come from, for messages ("GitHub Actions OIDC", "GitLab id_token
	// ECR_PTC_ID_TOKEN", "token file /path").
	Source string
	// Timeout bounds all attempts together (default 2 minutes); MaxAttempts bounds their number
	// (default 5).
	Timeout     time.Duration
	MaxAttempts int
	// Backoff computes the delay before a retry; default: the SDK's exponential backoff with full
	// jitter, capped at 10 s (STS's transient errors clear in seconds).
	Backoff retry.BackoffDelayer
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Identity is who the assumed session is.
type Identity struct {
	AssumedRoleARN string
	Subject        string // the token's sub, as STS saw it
	Audience       string
	Provider       string
	Expiration     time.Time
}

// Error is a terminal failure to assume the role, with what to do about it.
type Error struct {
	Op   string // what failed, e.g. "assume role arn:aws:iam::1:role/ci"
	Code string // the AWS error code, when there is one
	Msg  string // the service's message, token-free
	Hint string // the fix
	Err  error
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Msg
	if e.Code != "" && !strings.Contains(e.Msg, e.Code) {
		s = e.Op + ": " + e.Code + ": " + e.Msg
	}
	if e.Hint != "" {
		s += " — " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

var sessionNameChars = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName makes s a valid STS role session name: 2–64 characters of [\w+=,.@-].
func SessionName(s string) string {
	s = sessionNameChars.ReplaceAllString(s, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	for len(s) < 2 {
		s += "-"
	}
	return s
}

// Assume exchanges a fresh token for credentials, retrying what STS documents as transient.
func Assume(ctx context.Context, client STSAPI, w WebIdentity) (aws.Credentials, Identity, error) {
	w.defaults()
	op := "assume role " + w.RoleARN
	if err := w.validate(); err != nil {
		return aws.Credentials{}, Identity{}, &Error{Op: op, Msg: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()

	var last error
	expiredRetried := false
	for attempt := 1; attempt <= w.MaxAttempts; attempt++ {
		token, err := w.Token(ctx)
		if err != nil {
			last = err
			if ctx.Err() != nil || !transientTokenError(err) {
				return aws.Credentials{}, Identity{}, &Error{Op: op, Msg: "cannot get a token from " + w.Source + ": " + err.Error(), Err: err}
			}
		} else {
			out, err := client.AssumeRoleWithWebIdentity(ctx, w.input(token), func(o *sts.Options) {
				// One SDK attempt per token: a retry must carry a fresh token.
				o.RetryMaxAttempts = 1
			})
			if err == nil {
				return credentialsFrom(out, w)
			}
			last = err
			switch classify(err) {
			case terminal:
				return aws.Credentials{}, Identity{}, w.explain(op, err, token)
			case expiredToken:
				// The token expired between minting and use: one new token is worth a try.
				if expiredRetried {
					return aws.Credentials{}, Identity{}, w.explain(op, err, token)
				}
				expiredRetried = true
			}
		}
		if attempt == w.MaxAttempts {
			break
		}
		delay, _ := w.Backoff.BackoffDelay(attempt, last)
		if err := w.Sleep(ctx, delay); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return aws.Credentials{}, Identity{}, &Error{Op: op, Msg: fmt.Sprintf("gave up after %s: %s", w.Timeout, redact(errMessage(last))), Hint: "STS or the token endpoint kept failing; retry the job, or raise the timeout", Err: last}
	}
	return aws.Credentials{}, Identity{}, &Error{Op: op, Msg: fmt.Sprintf("gave up after %d attempts: %s", w.MaxAttempts, redact(errMessage(last))), Hint: "STS or the token endpoint kept failing; retry the job", Err: last}
}

func (w *WebIdentity) defaults() {
	if w.SessionName == "" {
		w.SessionName = "ecr-ptc"
	}
	w.SessionName = SessionName(w.SessionName)
	if w.Timeout == 0 {
		w.Timeout = 2 * time.Minute
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = 5
	}
	if w.Backoff == nil {
		w.Backoff = retry.NewExponentialJitterBackoff(10 * time.Second)
	}
	if w.Sleep == nil {
		w.Sleep = sleep
	}
	if w.Source == "" {
		w.Source = "the OIDC provider"
	}
}

func (w *WebIdentity) validate() error {
	if w.RoleARN == "" {
		return errors.New("no role to assume was given")
	}
	if !strings.HasPrefix(w.RoleARN, "arn:") || !strings.Contains(w.RoleARN, ":role/") {
		return fmt.Errorf("%q is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", w.RoleARN)
	}
	if w.Duration != 0 && (w.Duration < 15*time.Minute || w.Duration > 12*time.Hour) {
		return fmt.Errorf("the session duration %s is outside STS's 15m–12h range", w.Duration)
	}
	if w.Token == nil {
		return errors.New("no token source")
	}
	return nil
}

func (w *WebIdentity) input(token string) *sts.AssumeRoleWithWebIdentityInput {
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(w.RoleARN),
		RoleSessionName:  aws.String(w.SessionName),
		WebIdentityToken: aws.String(token),
	}
	if w.Duration != 0 {
		in.DurationSeconds = aws.Int32(int32(w.Duration / time.Second))
	}
	if w.Policy != "" {
		in.Policy = aws.String(w.Policy)
	}
	return in
}

func credentialsFrom(out *sts.AssumeRoleWithWebIdentityOutput, w WebIdentity) (aws.Credentials, Identity, error) {
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
		return aws.Credentials{}, Identity{}, &Error{Op: "assume role " + w.RoleARN, Msg: "STS answered without credentials"}
	}
	creds := aws.Credentials{
		AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: aws.ToString(c.SessionToken),
		Source: "ecr-ptc web identity (" + w.Source + ")",
	}
	if c.Expiration != nil {
		creds.CanExpire, creds.Expires = true, *c.Expiration
	}
	id := Identity{Subject: aws.ToString(out.SubjectFromWebIdentityToken), Audience: aws.ToString(out.Audience), Provider: aws.ToString(out.Provider), Expiration: creds.Expires}
	if out.AssumedRoleUser != nil {
		id.AssumedRoleARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	return creds, id, nil
}

type class int

const (
	terminal class = iota
	transient
	expiredToken
)

// classify follows the reference: retry IDPCommunicationError, InvalidIdentityToken only when the
// verification key could not be fetched, throttling, 5xx and timeouts; a new token once on
// ExpiredTokenException; everything else is terminal.
func classify(err error) class {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "IDPCommunicationError", "Throttling", "ThrottlingException", "RequestLimitExceeded", "InternalFailure", "ServiceUnavailable":
			return transient
		case "InvalidIdentityToken":
			if strings.Contains(ae.ErrorMessage(), "Couldn't retrieve verification key") {
				return transient
			}
			return terminal
		case "ExpiredTokenException", "ExpiredToken":
			return expiredToken
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return transient
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return transient
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) && ae == nil {
		// A transport failure the SDK wrapped (connection refused, reset).
		return transient
	}
	return terminal
}

// transientTokenError: token endpoints fail transiently with 5xx and network errors.
func transientTokenError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) {
		return se.HTTPStatus() >= 500 || se.HTTPStatus() == 429
	}
	msg := err.Error()
	for _, s := range []string{"status 5", "status: 5", "StatusCode:5", "connection reset", "connection refused", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// explain turns a terminal STS error into one actionable sentence. The token itself never appears;
// its claims (subject, audience, issuer) do, since the fix is usually in the trust policy.
func (w *WebIdentity) explain(op string, err error, token string) error {
	code, msg := "", errMessage(err)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	claims := peekClaims(token)
	e := &Error{Op: op, Code: code, Msg: redact(msg), Err: err}
	switch {
	case code == "AccessDenied":
		e.Hint = fmt.Sprintf("the trust policy of %s does not allow subject %q (audience %q, issuer %s); add a condition for that sub or fix the role name", w.RoleARN, claims.Sub, claims.aud(), claims.Iss)
	case strings.Contains(msg, "Incorrect token audience"):
		e.Hint = fmt.Sprintf("the token's audience is %q; request the audience the IAM OIDC provider lists (default sts.amazonaws.com)", claims.aud())
	case strings.Contains(msg, "No OpenIDConnect provider found"):
		e.Hint = fmt.Sprintf("create an IAM OIDC identity provider for %s in the role's account", claims.Iss)
	case code == "ExpiredTokenException" || code == "ExpiredToken":
		e.Hint = "the token expired before STS saw it; check the runner's clock and retry"
	case strings.Contains(msg, "Signature expired") || code == "RequestTimeTooSkewed" || strings.Contains(msg, "not yet valid"):
		e.Hint = "the machine's clock is off; sync it (e.g. with NTP) and retry"
	case code == "ValidationError" && strings.Contains(msg, "MaxSessionDuration"):
		// Reference: DurationSeconds may not exceed the role's MaxSessionDuration (default 1 h).
		e.Hint = fmt.Sprintf("the requested session duration (%s) is longer than the MaxSessionDuration of %s (IAM's default is 1 h): raise the role's maximum session duration (up to 12 h) or ask for a shorter session", durationText(w.Duration), w.RoleARN)
	case code == "ValidationError":
		e.Hint = "check the role ARN, session name (2–64 of [\\w+=,.@-]) and duration (900 s up to the role's MaxSessionDuration, at most 43200 s)"
	case code == "InvalidIdentityToken":
		e.Hint = "STS rejected the token; check that it comes from the OIDC provider the role trusts"
	}
	return e
}

type claims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud any    `json:"aud"`
}

func (c claims) aud() string {
	switch a := c.Aud.(type) {
	case string:
		return a
	case []any:
		var s []string
		for _, x := range a {
			s = append(s, fmt.Sprint(x))
		}
		return strings.Join(s, ",")
	}
	return ""
}

// peekClaims reads a JWT's payload without verifying it, for messages only.
func peekClaims(token string) claims {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err == nil {
		_ = json.Unmarshal(data, &c)
	}
	return c
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// redact removes anything shaped like a JWT from a message: services sometimes echo input.
func redact(s string) string { return jwtPattern.ReplaceAllString(s, "[token]") }

func errMessage(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Provider is a refreshable aws.CredentialsProvider that assumes the role again, with a fresh token,
// whenever the SDK's credentials cache finds the session about to expire: long builds never hold a
// one-hour snapshot.
type Provider struct {
	Client STSAPI
	Config WebIdentity
}

// Retrieve implements aws.CredentialsProvider.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, _, err := Assume(ctx, p.Client, p.Config)
	return creds, err
}

// NewProvider wraps the web identity exchange in the SDK's credentials cache, which refreshes five
// minutes before expiry.
func NewProvider(client STSAPI, w WebIdentity) aws.CredentialsProvider {
	return aws.NewCredentialsCache(&Provider{Client: client, Config: w}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 5 * time.Minute
	})
}

// durationText names a requested session duration; 0 lets STS choose its default.
func durationText(d time.Duration) string {
	if d == 0 {
		return "STS's default, 1h"
	}
	return d.String()
}
