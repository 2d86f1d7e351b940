package awscreds_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

const role = "arn:aws:iam::123456789012:role/ci"

// stsClient is the real SDK client on the sandbox's STS endpoint (unsigned call: no credentials needed).
func stsClient(t *testing.T, cfg sandbox.Config) (*sandbox.Sandbox, *sts.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.STSEndpoint), Credentials: aws.AnonymousCredentials{}})
	return sb, client
}

// countingToken mints a new token per call and counts the calls.
func countingToken(sb *sandbox.Sandbox, n *atomic.Int32, claims map[string]any) awscreds.TokenFunc {
	return func(context.Context) (string, error) {
		n.Add(1)
		return sb.MintToken(claims, time.Hour)
	}
}

func noWait(context.Context, time.Duration) error { return nil }

// Reference: retry IDPCommunicationError, fetching a fresh OIDC token for every attempt.
func TestFreshTokenPerAttempt(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{})
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultIDP, Count: 2})
	var n atomic.Int32
	creds, id, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: role, SessionName: "gh run/42", Token: countingToken(sb, &n, nil), Sleep: noWait})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("tokens fetched: %d, want 3 (one per attempt)", n.Load())
	}
	if !strings.HasPrefix(creds.AccessKeyID, sandbox.SessionKeyPrefix) || !creds.CanExpire || creds.SessionToken == "" {
		t.Errorf("credentials: %+v", creds)
	}
	if id.AssumedRoleARN != "arn:aws:sts::123456789012:assumed-role/ci/gh-run-42" {
		t.Errorf("identity: %+v", id)
	}
}

// Reference: on ExpiredTokenException get a new token once.
func TestExpiredTokenRetriedOnce(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{})
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultExpiredToken, Count: 1})
	var n atomic.Int32
	if _, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: role, Token: countingToken(sb, &n, nil), Sleep: noWait}); err != nil {
		t.Fatal(err)
	}
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultExpiredToken, Count: 5})
	n.Store(0)
	_, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: role, Token: countingToken(sb, &n, nil), Sleep: noWait})
	var ae *awscreds.Error
	if !errors.As(err, &ae) || ae.Code != "ExpiredTokenException" || n.Load() != 2 {
		t.Fatalf("err = %v after %d tokens", err, n.Load())
	}
}

// Reference: AccessDenied, wrong audience and a foreign issuer are terminal, with a fix-it hint that
// names the role and subject; the token never appears.
func TestTerminalErrorsExplain(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{"ci": {Subjects: []string{"repo:org/app:*"}}}})
	cases := []struct {
		claims map[string]any
		role   string
		want   []string
	}{
		{nil, role, []string{"AccessDenied", role, `"repo:example/app:ref:refs/heads/main"`, "trust policy"}},
		{map[string]any{"aud": "sigstore", "sub": "repo:org/app:x"}, role, []string{"Incorrect token audience", `audience is "sigstore"`}},
		{map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:org/app:x"}, role, []string{"No OpenIDConnect provider", "create an IAM OIDC identity provider for https://token.actions.githubusercontent.com"}},
	}
	for _, c := range cases {
		var n atomic.Int32
		var tok string
		tf := func(ctx context.Context) (string, error) {
			n.Add(1)
			var err error
			tok, err = sb.MintToken(c.claims, time.Hour)
			return tok, err
		}
		_, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: c.role, Token: tf, Sleep: noWait})
		if err == nil {
			t.Fatalf("%v: no error", c.claims)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", c.claims, err, w)
			}
		}
		if strings.Contains(err.Error(), tok) {
			t.Errorf("the error contains the token")
		}
		if n.Load() != 1 {
			t.Errorf("terminal errors must not retry: %d tokens", n.Load())
		}
	}
}

// Reference: "DurationSeconds 900 up to the role's MaxSessionDuration (default 3600 ...); above it STS
// answers ValidationError". The hint gives the fix — raise the role's MaxSessionDuration or ask for
// less — and never mentions role chaining, which web identity sessions are not.
func TestDurationAboveRoleMaximum(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{NoSeed: true, Roles: map[string]sandbox.RoleTrust{"ci": {MaxSessionDuration: 2 * time.Hour}}})
	var n atomic.Int32
	_, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: role, Duration: 3 * time.Hour, Token: countingToken(sb, &n, nil), Sleep: noWait})
	if err == nil {
		t.Fatal("a 3 h session on a 2 h role was granted")
	}
	for _, w := range []string{"ValidationError", "MaxSessionDuration", "3h0m0s", role, "raise the role's maximum session duration", "ask for a shorter session"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "chain") {
		t.Errorf("the hint mentions role chaining: %q", err)
	}
	if n.Load() != 1 {
		t.Errorf("a ValidationError must not retry: %d tokens", n.Load())
	}
	if _, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{RoleARN: role, Duration: 2 * time.Hour, Token: countingToken(sb, &n, nil), Sleep: noWait}); err != nil {
		t.Errorf("2 h on a 2 h role: %v", err)
	}
}

// A global timeout bounds every attempt together.
func TestGlobalTimeout(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{})
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultServerError})
	var n atomic.Int32
	_, _, err := awscreds.Assume(context.Background(), client, awscreds.WebIdentity{
		RoleARN: role, Token: countingToken(sb, &n, nil), Timeout: 2 * time.Second, MaxAttempts: 100,
		Backoff: retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 50 * time.Millisecond, nil }),
	})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() < 2 {
		t.Errorf("only %d attempts", n.Load())
	}
}

func TestValidation(t *testing.T) {
	for _, w := range []awscreds.WebIdentity{
		{RoleARN: ""},
		{RoleARN: "ci-role", Token: func(context.Context) (string, error) { return "", nil }},
		{RoleARN: role, Duration: time.Minute, Token: func(context.Context) (string, error) { return "", nil }},
	} {
		if _, _, err := awscreds.Assume(context.Background(), nil, w); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
}

func TestSessionName(t *testing.T) {
	for in, want := range map[string]string{
		"ecr-ptc":                         "ecr-ptc",
		"a":                               "a-",
		"gh run/42 attempt#1":             "gh-run-42-attempt-1",
		strings.Repeat("x", 80):           strings.Repeat("x", 64),
		"user@example.com,team=ops+build": "user@example.com,team=ops+build",
	} {
		if got := awscreds.SessionName(in); got != want {
			t.Errorf("SessionName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The provider re-assumes (with a new token) whenever the SDK's cache needs credentials again.
func TestProviderRefreshes(t *testing.T) {
	sb, client := stsClient(t, sandbox.Config{})
	var n atomic.Int32
	p := &awscreds.Provider{Client: client, Config: awscreds.WebIdentity{RoleARN: role, Token: countingToken(sb, &n, nil)}}
	cache := aws.NewCredentialsCache(p)
	if _, err := cache.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	cache.Invalidate()
	if _, err := cache.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("tokens: %d, want 2", n.Load())
	}
}
