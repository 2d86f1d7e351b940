package sandbox_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Reference: "STS AssumeRoleWithWebIdentity: DurationSeconds 900 up to the role's MaxSessionDuration
// (default 3600, at most 43200); above it STS answers ValidationError '... exceeds the
// MaxSessionDuration set for this role'" (STS API reference, DurationSeconds).
func TestRolesMaxSessionDuration(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{
		"ci":   {},                                  // IAM's default: 1 h
		"long": {MaxSessionDuration: 4 * time.Hour}, // raised by the account
	}})
	ctx := context.Background()
	tok, err := sb.MintToken(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	anon := stsClient(t, sb, aws.AnonymousCredentials{}, 1)
	assume := func(role string, seconds int32) error {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + role), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok)}
		if seconds != 0 {
			in.DurationSeconds = aws.Int32(seconds)
		}
		_, err := anon.AssumeRoleWithWebIdentity(ctx, in)
		return err
	}
	for _, c := range []struct {
		role    string
		seconds int32
		ok      bool
	}{
		{"ci", 0, true}, {"ci", 3600, true}, {"ci", 3601, false}, {"ci", 43200, false},
		{"long", 4 * 3600, true}, {"long", 4*3600 + 1, false},
	} {
		err := assume(c.role, c.seconds)
		if c.ok && err != nil {
			t.Errorf("%s for %d s: %v", c.role, c.seconds, err)
		}
		if !c.ok {
			wantCode(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	// IAM refuses a MaxSessionDuration outside 1–12 h.
	if _, err := sandbox.Start(ctx, sandbox.Config{NoSeed: true, Roles: map[string]sandbox.RoleTrust{"x": {MaxSessionDuration: 13 * time.Hour}}}); err == nil {
		t.Error("a 13 h MaxSessionDuration was accepted")
	}
}

// roleSession assumes role with a sandbox token and returns the registry password its
// GetAuthorizationToken gives.
func roleSession(t *testing.T, sb *sandbox.Sandbox, role string) string {
	t.Helper()
	ctx := context.Background()
	tok, err := sb.MintToken(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := stsClient(t, sb, aws.AnonymousCredentials{}, 1).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + role), RoleSessionName: aws.String("build"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	creds := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	auth, err := ecrClient(t, sb, creds, 1).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(auth.AuthorizationData[0].AuthorizationToken))
	_, pw, _ := strings.Cut(string(raw), ":")
	return pw
}

// registryGet GETs a manifest from the cache registry with a password and returns the status and the
// error's code and message.
func registryGet(t *testing.T, sb *sandbox.Sandbox, pw, repo, ref string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+sb.RegistryHost+"/v2/"+repo+"/manifests/"+ref, nil)
	req.SetBasicAuth("AWS", pw)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if len(body.Errors) > 0 {
		return resp.StatusCode, body.Errors[0].Code, body.Errors[0].Message
	}
	return resp.StatusCode, "", ""
}

// Reference: "The pulling identity needs ecr:BatchImportUpstreamImage, and ecr:CreateRepository for a
// new repository, on top of the usual ecr:GetAuthorizationToken, ecr:BatchGetImage,
// ecr:GetDownloadUrlForLayer." A role without them is refused a cold pull (403 DENIED with IAM's text;
// the exact answer is unverified, docs/aws-facts.md) while cached images still pull.
func TestRolesFirstPullPermissions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Config{Roles: map[string]sandbox.RoleTrust{
		"ci":           {},
		"ci-pull-only": {Denied: []string{sandbox.ActionBatchImportUpstreamImage, sandbox.ActionCreateRepository}},
		"ci-no-create": {Denied: []string{sandbox.ActionCreateRepository}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub",
		CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub"})
	full, pullOnly, noCreate := roleSession(t, sb, "ci"), roleSession(t, sb, "ci-pull-only"), roleSession(t, sb, "ci-no-create")

	denied := func(pw, repo, tag, action string) {
		t.Helper()
		status, code, msg := registryGet(t, sb, pw, repo, tag)
		want := "User: arn:aws:sts::123456789012:assumed-role/"
		if status != http.StatusForbidden || code != "DENIED" || !strings.HasPrefix(msg, want) ||
			!strings.Contains(msg, "is not authorized to perform: "+action+" on resource: arn:aws:ecr:us-east-1:123456789012:repository/"+repo) {
			t.Fatalf("%s:%s: %d %s %q, want 403 DENIED naming %s", repo, tag, status, code, msg, action)
		}
	}
	ok := func(pw, repo, tag string) {
		t.Helper()
		if status, code, msg := registryGet(t, sb, pw, repo, tag); status != http.StatusOK {
			t.Fatalf("%s:%s: %d %s %q", repo, tag, status, code, msg)
		}
	}
	denied(pullOnly, "docker-hub/library/alpine", "3.20", sandbox.ActionBatchImportUpstreamImage)
	denied(noCreate, "docker-hub/library/alpine", "3.20", sandbox.ActionCreateRepository)
	if _, exists := sb.Store.Repository("docker-hub/library/alpine"); exists {
		t.Fatal("a refused pull created the repository")
	}
	ok(full, "docker-hub/library/alpine", "3.20")       // the cold pull by a role with the actions
	ok(pullOnly, "docker-hub/library/alpine", "3.20")   // cached: pull permissions suffice
	ok(noCreate, "docker-hub/library/alpine", "latest") // a new tag in an existing repository: no CreateRepository needed
	denied(pullOnly, "docker-hub/library/alpine", "does-not-matter", sandbox.ActionBatchImportUpstreamImage)
}
