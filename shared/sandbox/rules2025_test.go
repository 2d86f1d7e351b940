package sandbox_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Reference, "Rule fields added in 2025": upstreamRepositoryPrefix (default ROOT; settable only when
// ecrRepositoryPrefix is not ROOT) and customRoleArn (ECR-to-ECR; updatable). The model: customRoleArn is
// "the IAM role to be assumed by Amazon ECR to authenticate to the ECR upstream registry. This role must
// be in the same account as the registry". ECR-to-ECR rules then serve the upstream private registry's
// <acct>.dkr.ecr.<region>.amazonaws.com/team/app:1 through the cache, with the upstream prefix mapped.
func TestRules2025ECRToECR(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	client := ecrClient(t, sb, nil, 1)
	host, role := sandbox.UpstreamECRHost(), sb.UpstreamECRRoleArn()
	if host != "210987654321.dkr.ecr.us-west-2.amazonaws.com" || role != "arn:aws:iam::123456789012:role/ecr-ptc-sandbox-upstream" {
		t.Fatalf("stand-in %s, role %s", host, role)
	}
	create := func(prefix, upstreamPrefix, customRole string) (*ecr.CreatePullThroughCacheRuleOutput, error) {
		in := &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix), UpstreamRegistryUrl: aws.String(host), UpstreamRegistry: types.UpstreamRegistryEcr}
		if upstreamPrefix != "" {
			in.UpstreamRepositoryPrefix = aws.String(upstreamPrefix)
		}
		if customRole != "" {
			in.CustomRoleArn = aws.String(customRole)
		}
		return client.CreatePullThroughCacheRule(ctx, in)
	}

	// The ROOT constraint, and the role's account.
	_, err = create("ROOT", "team", role)
	wantCode(t, err, "ValidationException", "upstreamRepositoryPrefix can be set only when ecrRepositoryPrefix is not ROOT")
	_, err = create("ecr-team", "team", "arn:aws:iam::210987654321:role/ecr-ptc-sandbox-upstream")
	wantCode(t, err, "InvalidParameterException", "same account")
	_, err = client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io"), CustomRoleArn: aws.String(role)})
	wantCode(t, err, "InvalidParameterException", "customRoleArn is supported only for an upstream registry of type ecr")

	out, err := create("ecr-team", "team", role)
	if err != nil || aws.ToString(out.UpstreamRepositoryPrefix) != "team" || aws.ToString(out.CustomRoleArn) != role {
		t.Fatalf("create ecr-team: %+v %v", out, err)
	}
	if out, err := create("ROOT", "", role); err != nil || aws.ToString(out.UpstreamRepositoryPrefix) != "ROOT" {
		t.Fatalf("create ROOT: %+v %v", out, err)
	}
	if _, err := create("prod", "", role); err != nil {
		t.Fatal(err)
	}

	// Pulls: ecr-team/app → team/app (upstream prefix), prod/team/app → team/app (upstream ROOT),
	// team/app → team/app (the ROOT rule covers names no other rule does).
	pw, _ := sb.Store.IssueToken(time.Hour)
	want := upstreamECRDigest(t, sb, "team/app:1")
	for _, repo := range []string{"ecr-team/app", "prod/team/app", "team/app"} {
		status, code, msg := registryGet(t, sb, pw, repo, "1")
		if status != http.StatusOK {
			t.Fatalf("%s:1: %d %s %s", repo, status, code, msg)
		}
		img, ok := sb.Store.LookupImage(repo, "1")
		if !ok || img.Digest != want {
			t.Fatalf("%s:1 cached as %s, upstream %s", repo, img.Digest, want)
		}
		if n := len(sb.Store.Images(repo)); n != 3 {
			t.Fatalf("%s holds %d images, want the index and its 2 children", repo, n)
		}
	}
	// A whole image (config and layers, fetched upstream as the rule's role) through the cache.
	ref, err := name.ParseReference(sb.RegistryHost+"/ecr-team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: pw}), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v", err)
	}
	for _, l := range layers {
		if _, err := l.Compressed(); err != nil {
			t.Fatalf("layer through the cache: %v", err)
		}
	}
	if st := sb.Stats.Snapshot(); st.UpstreamBlobFetches == 0 {
		t.Fatalf("no blob came from the upstream registry: %+v", st)
	}

	rules, err := client.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.PullThroughCacheRules {
		if aws.ToString(r.CustomRoleArn) != role || r.UpstreamRegistry != types.UpstreamRegistryEcr || aws.ToString(r.UpstreamRepositoryPrefix) == "" {
			t.Errorf("described rule %+v", r)
		}
	}

	// UpdatePullThroughCacheRule changes the role; a role the upstream's policy does not allow gets the
	// upstream authentication failure on a cold pull (reference: DENIED), and fails validation.
	other := "arn:aws:iam::123456789012:role/other"
	up, err := client.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-team"), CustomRoleArn: aws.String(other)})
	if err != nil || aws.ToString(up.CustomRoleArn) != other {
		t.Fatalf("update: %+v %v", up, err)
	}
	if status, code, msg := registryGet(t, sb, pw, "ecr-team/app", "2"); status != http.StatusForbidden || code != "DENIED" || !strings.Contains(msg, "authentication to the upstream registry failed") {
		t.Fatalf("pull with a role the upstream refuses: %d %s %q", status, code, msg)
	}
	v, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-team")})
	if err != nil || v.IsValid || !strings.Contains(aws.ToString(v.Failure), other) {
		t.Fatalf("validate with the wrong role: %+v %v", v, err)
	}
	_, err = client.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-team"),
		CredentialArn: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x")})
	wantCode(t, err, "InvalidParameterException", "customRoleArn, not a secret")
	if _, err := client.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-team"), CustomRoleArn: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	if status, code, msg := registryGet(t, sb, pw, "ecr-team/app", "2"); status != http.StatusOK {
		t.Fatalf("pull after the role was restored: %d %s %q", status, code, msg)
	}
	if v, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-team")}); err != nil || !v.IsValid {
		t.Fatalf("validate: %+v %v", v, err)
	}
	// The sandbox exports what clients need for such rules.
	env := strings.Join(sb.Env(), "\n")
	for _, w := range []string{"ECR_PTC_SANDBOX_UPSTREAM_ECR=127.0.0.1:", "ECR_PTC_SANDBOX_UPSTREAM_ECR_HOST=" + host, "ECR_PTC_SANDBOX_UPSTREAM_ECR_ROLE_ARN=" + role} {
		if !strings.Contains(env, w) {
			t.Errorf("Env lacks %s", w)
		}
	}
}

// Reference: whether DescribePullThroughCacheRules prints upstreamRepositoryPrefix ROOT on rules that are
// not ECR-to-ECR is unverified; Config.RootUpstreamPrefixOnEveryRule gives clients both answers.
func TestRules2025RootOnEveryRule(t *testing.T) {
	t.Parallel()
	for _, every := range []bool{false, true} {
		sb := startSandbox(t, sandbox.Config{RootUpstreamPrefixOnEveryRule: every})
		client := ecrClient(t, sb, nil, 1)
		ctx := context.Background()
		if _, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io")}); err != nil {
			t.Fatal(err)
		}
		out, err := client.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
		if err != nil {
			t.Fatal(err)
		}
		got := aws.ToString(out.PullThroughCacheRules[0].UpstreamRepositoryPrefix)
		if (every && got != "ROOT") || (!every && got != "") {
			t.Errorf("RootUpstreamPrefixOnEveryRule=%v: upstreamRepositoryPrefix %q", every, got)
		}
	}
}

// upstreamECRDigest asks the private-ECR stand-in directly, as the role its policy allows.
func upstreamECRDigest(t *testing.T, sb *sandbox.Sandbox, repoTag string) string {
	t.Helper()
	r, err := name.ParseReference(sb.Upstreams["ecr"]+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithAuth(&authn.Basic{Username: "AWS", Password: sb.UpstreamECRRoleArn()}))
	if err != nil {
		t.Fatal(err)
	}
	// Without credentials the stand-in answers like ECR: 401 with a Basic challenge.
	if _, err := remote.Head(r); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("anonymous HEAD on the private registry: %v", err)
	}
	return d.Digest.String()
}
