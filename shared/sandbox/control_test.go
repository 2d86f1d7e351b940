package sandbox_test

// Tests of the control plane (ECR API, SigV4, STS, OIDC issuer) with the real aws-sdk-go-v2 clients.
// Each test names the AWS fact it emulates (reference: ../shared/reference/ecr-pull-through-cache.md;
// model: ../shared/reference/aws-models/ecr-2015-09-21.service-2.json).

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

const (
	testAccount = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/ci"
	secretArn   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
	westECR     = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
)

// clock is a movable sandbox clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time                     { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration)            { c.offset.Add(int64(d)) }
func newClock(offset time.Duration) *clock          { c := &clock{}; c.Advance(offset); return c }
func (c *clock) config() func() time.Time           { return c.Now }
func fastBackoff(int, error) (time.Duration, error) { return 5 * time.Millisecond, nil }

// lazySandbox is a sandbox several tests share (each sandbox costs an RSA key).
type lazySandbox struct {
	once sync.Once
	sb   *sandbox.Sandbox
	err  error
}

func (l *lazySandbox) get(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	l.once.Do(func() { l.sb, l.err = sandbox.Start(context.Background(), sandbox.Config{NoSeed: true}) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.sb
}

// shared serves the tests that neither inject faults nor need a special Config; faults serves the ECR
// and STS fault tests, whose faults ("ecr:*", "sts:*", "oidc:jwks") hit only their own service.
var shared, faults lazySandbox

var runs atomic.Int64

func sharedSandbox(t *testing.T) *sandbox.Sandbox { return shared.get(t) }
func faultsSandbox(t *testing.T) *sandbox.Sandbox { return faults.get(t) }

func startSandbox(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	cfg.NoSeed = true
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = sb.Close() })
	return sb
}

// awsConfig loads an SDK config the usual way, with the given credentials (nil: the sandbox's static
// key), no shared files, and the standard retryer with a short backoff so that tests stay fast.
func awsConfig(t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider, maxAttempts int) aws.Config {
	t.Helper()
	if creds == nil {
		creds = credentials.NewStaticCredentialsProvider(sb.AccessKeyID, sb.SecretAccessKey, "")
	}
	if maxAttempts == 0 {
		maxAttempts = 3
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(sb.Region),
		config.WithCredentialsProvider(creds),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.Backoff = retry.BackoffDelayerFunc(fastBackoff)
			})
		}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func ecrClient(t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider, maxAttempts int) *ecr.Client {
	return ecr.NewFromConfig(awsConfig(t, sb, creds, maxAttempts), func(o *ecr.Options) { o.BaseEndpoint = aws.String(sb.ECREndpoint) })
}

func stsClient(t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider, maxAttempts int) *sts.Client {
	return sts.NewFromConfig(awsConfig(t, sb, creds, maxAttempts), func(o *sts.Options) { o.BaseEndpoint = aws.String(sb.STSEndpoint) })
}

// apiCode returns the AWS error code of err ("" if it is no API error).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	if !strings.Contains(ae.ErrorMessage(), msgPart) {
		t.Fatalf("%s message %q does not contain %q", code, ae.ErrorMessage(), msgPart)
	}
}

// Reference: "GetAuthorizationToken: base64 of AWS:<password>, valid 12 h, proxyEndpoint https://<registry>"
// (the sandbox registry is plain http on loopback). Model: registryIds are [0-9]{12}.
func TestControlGetAuthorizationToken(t *testing.T) {
	t.Parallel()
	sb := sharedSandbox(t)
	c := ecrClient(t, sb, nil, 0)
	ctx := context.Background()
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AuthorizationData) != 1 {
		t.Fatalf("authorizationData: %+v", out.AuthorizationData)
	}
	ad := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" || password == "" {
		t.Fatalf("token decodes to %q, want AWS:<password>", raw)
	}
	if !sb.Store.ValidToken(password) {
		t.Error("the password is not a token the registry accepts")
	}
	if ttl := time.Until(aws.ToTime(ad.ExpiresAt)); ttl < 12*time.Hour-time.Minute || ttl > 12*time.Hour+time.Minute {
		t.Errorf("token valid for %v, want 12h", ttl)
	}
	if got := aws.ToString(ad.ProxyEndpoint); got != "http://"+sb.RegistryHost {
		t.Errorf("proxyEndpoint %q, want http://%s", got, sb.RegistryHost)
	}

	// registryIds is deprecated in the SDK (the token works for every registry) but still in the model.
	//lint:ignore SA1019 the sandbox still answers the deprecated member
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: []string{testAccount}}); err != nil {
		t.Errorf("own registry id: %v", err)
	}
	var inv *ecrtypes.InvalidParameterException
	//lint:ignore SA1019 the sandbox still answers the deprecated member
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: []string{"12345"}}); !errors.As(err, &inv) {
		t.Errorf("malformed registry id: got %v, want InvalidParameterException", err)
	}
	//lint:ignore SA1019 the sandbox still answers the deprecated member
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: []string{"210987654321"}}); !errors.As(err, &inv) {
		t.Errorf("another registry: got %v, want InvalidParameterException", err)
	}
}

// Reference "Rules", "Upstream URLs", "Credentials", "Prefix", "API errors to handle"; model:
// CreatePullThroughCacheRule's constraints and errors; unsupported-upstream text from goharbor/harbor#20174,
// missing-credential answer from aws-controllers-k8s/community#2589.
func TestControlPullThroughCacheRules(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{BatchGetImageImports: true})
	c := ecrClient(t, sb, nil, 0)
	ctx := context.Background()

	created, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("docker-hub"), UpstreamRegistryUrl: aws.String("registry-1.docker.io"), CredentialArn: aws.String(secretArn),
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.UpstreamRegistry != ecrtypes.UpstreamRegistryDockerHub || aws.ToString(created.RegistryId) != testAccount || created.CreatedAt == nil {
		t.Errorf("created: %+v", created)
	}
	if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io"),
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("describe", func(t *testing.T) {
		out, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.PullThroughCacheRules) != 2 {
			t.Fatalf("rules: %+v", out.PullThroughCacheRules)
		}
		r := out.PullThroughCacheRules[0]
		if aws.ToString(r.EcrRepositoryPrefix) != "docker-hub" || aws.ToString(r.UpstreamRegistryUrl) != "registry-1.docker.io" || aws.ToString(r.CredentialArn) != secretArn {
			t.Errorf("rule: %+v", r)
		}
		one, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"quay/"}})
		if err != nil || len(one.PullThroughCacheRules) != 1 || aws.ToString(one.PullThroughCacheRules[0].UpstreamRegistryUrl) != "quay.io" {
			t.Errorf("by prefix: %+v, %v", one, err)
		}
		var nf *ecrtypes.PullThroughCacheRuleNotFoundException
		if _, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"nope"}}); !errors.As(err, &nf) {
			t.Errorf("unknown prefix: got %v, want PullThroughCacheRuleNotFoundException", err)
		}
		// Model: maxResults/nextToken pagination.
		var prefixes []string
		p := ecr.NewDescribePullThroughCacheRulesPaginator(c, &ecr.DescribePullThroughCacheRulesInput{MaxResults: aws.Int32(1)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.PullThroughCacheRules {
				prefixes = append(prefixes, aws.ToString(r.EcrRepositoryPrefix))
			}
		}
		if strings.Join(prefixes, ",") != "docker-hub,quay" {
			t.Errorf("paginated prefixes %v", prefixes)
		}
	})

	t.Run("errors", func(t *testing.T) {
		create := func(prefix, url, cred string) error {
			in := &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix), UpstreamRegistryUrl: aws.String(url)}
			if cred != "" {
				in.CredentialArn = aws.String(cred)
			}
			_, err := c.CreatePullThroughCacheRule(ctx, in)
			return err
		}
		// Reference: PullThroughCacheRuleAlreadyExistsException for a prefix in use.
		var exists *ecrtypes.PullThroughCacheRuleAlreadyExistsException
		if err := create("docker-hub", "registry-1.docker.io", secretArn); !errors.As(err, &exists) {
			t.Errorf("duplicate: got %v, want PullThroughCacheRuleAlreadyExistsException", err)
		}
		// Reference: Docker Hub is exactly registry-1.docker.io; other hosts are unsupported.
		var unsupported *ecrtypes.UnsupportedUpstreamRegistryException
		for _, url := range []string{"harbor.example.com", "docker.io"} {
			if err := create("other", url, secretArn); !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "is invalid") {
				t.Errorf("%s: got %v, want UnsupportedUpstreamRegistryException", url, err)
			}
		}
		// Reference: Docker Hub needs a Secrets Manager secret.
		if err := create("dh2", "registry-1.docker.io", ""); !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "requires authentication") {
			t.Errorf("no credential: got %v, want UnsupportedUpstreamRegistryException (requires authentication)", err)
		}
		var noSecret *ecrtypes.SecretNotFoundException
		if err := create("dh2", "registry-1.docker.io", secretArn+"-missing"); !errors.As(err, &noSecret) {
			t.Errorf("missing secret: got %v, want SecretNotFoundException", err)
		}
		// Reference: the secret must be in the rule's account and region.
		var noAccess *ecrtypes.UnableToAccessSecretException
		if err := create("dh2", "registry-1.docker.io", strings.Replace(secretArn, "us-east-1", "eu-west-1", 1)); !errors.As(err, &noAccess) {
			t.Errorf("other region's secret: got %v, want UnableToAccessSecretException", err)
		}
		// Model: CredentialArn's pattern requires the ecr-pullthroughcache/ name prefix.
		var invalid *ecrtypes.ValidationException
		if err := create("dh2", "registry-1.docker.io", "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-credentials"); !errors.As(err, &invalid) {
			t.Errorf("secret name: got %v, want ValidationException", err)
		}
		// Model / reference: prefix of 2–30 characters matching the pattern.
		for _, prefix := range []string{"Docker_Hub", "x", "a-very-long-prefix-over-thirty-chars"} {
			if err := create(prefix, "quay.io", ""); !errors.As(err, &invalid) {
				t.Errorf("prefix %q: got %v, want ValidationException", prefix, err)
			}
		}
		// Reference: ROOT is for ECR-to-ECR rules only.
		var badParam *ecrtypes.InvalidParameterException
		if err := create("ROOT", "quay.io", ""); !errors.As(err, &badParam) {
			t.Errorf("ROOT for quay: got %v, want InvalidParameterException", err)
		}
	})

	t.Run("validate", func(t *testing.T) {
		// Reference: ValidatePullThroughCacheRule returns isValid + failure. A rule is valid in the
		// sandbox when its upstream has a stand-in.
		out, err := c.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub")})
		if err != nil {
			t.Fatal(err)
		}
		_, standIn := sb.Upstreams["docker-hub"]
		if out.IsValid != standIn || (out.IsValid != (aws.ToString(out.Failure) == "")) {
			t.Errorf("docker-hub (stand-in %v): isValid %v, failure %q", standIn, out.IsValid, aws.ToString(out.Failure))
		}
		// Reference: ECR-to-ECR uses another private ECR host (and an IAM role, not a secret); no
		// stand-in exists for one.
		if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
			EcrRepositoryPrefix: aws.String("ecr-west"), UpstreamRegistryUrl: aws.String(westECR),
		}); err != nil {
			t.Fatal(err)
		}
		out, err = c.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("ecr-west")})
		if err != nil || out.IsValid || aws.ToString(out.Failure) == "" {
			t.Errorf("ECR upstream (no stand-in): %+v, %v", out, err)
		}
		var nf *ecrtypes.PullThroughCacheRuleNotFoundException
		if _, err := c.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope")}); !errors.As(err, &nf) {
			t.Errorf("unknown: got %v, want PullThroughCacheRuleNotFoundException", err)
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		newArn := strings.Replace(secretArn, "AbCdEf", "GhIjKl", 1)
		up, err := c.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub"), CredentialArn: aws.String(newArn)})
		if err != nil || aws.ToString(up.CredentialArn) != newArn || up.UpdatedAt == nil {
			t.Fatalf("update: %+v, %v", up, err)
		}
		del, err := c.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub")})
		if err != nil || aws.ToString(del.UpstreamRegistryUrl) != "registry-1.docker.io" || aws.ToString(del.CredentialArn) != newArn {
			t.Fatalf("delete: %+v, %v", del, err)
		}
		var nf *ecrtypes.PullThroughCacheRuleNotFoundException
		if _, err := c.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub")}); !errors.As(err, &nf) {
			t.Errorf("delete again: got %v, want PullThroughCacheRuleNotFoundException", err)
		}
	})

	t.Run("imports", func(t *testing.T) {
		// Reference: whether BatchGetImage by tag imports through the cache is unverified
		// (Config.BatchGetImageImports); digest pulls never fill a cold cache; an upstream failure is a
		// BatchGetImage failure code (model ImageFailureCode: UpstreamUnavailable when the upstream
		// cannot be reached). The ecr-west rule's upstream has no stand-in.
		dgst := "sha256:" + strings.Repeat("cd", 32)
		out, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("ecr-west/team/pause"), ImageIds: []ecrtypes.ImageIdentifier{
			{ImageTag: aws.String("3.9")}, {ImageDigest: aws.String(dgst)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		codes := map[string]ecrtypes.ImageFailureCode{}
		for _, f := range out.Failures {
			codes[aws.ToString(f.ImageId.ImageTag)+aws.ToString(f.ImageId.ImageDigest)] = f.FailureCode
		}
		if len(out.Images) != 0 || codes["3.9"] != ecrtypes.ImageFailureCodeUpstreamUnavailable || codes[dgst] != ecrtypes.ImageFailureCodeImageNotFound {
			t.Errorf("images %+v, failures %v", out.Images, codes)
		}
		var noRepo *ecrtypes.RepositoryNotFoundException
		if _, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("norule/x"),
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1")}}}); !errors.As(err, &noRepo) {
			t.Errorf("no rule, no repository: got %v, want RepositoryNotFoundException", err)
		}
	})

	t.Run("quota", func(t *testing.T) {
		// ECR service quota: pull through cache rules per registry (50); LimitExceededException,
		// which the Go SDK retries as throttling (reference) before giving it back.
		for i := len(sb.Store.Rules()); i < 50; i++ {
			if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
				EcrRepositoryPrefix: aws.String(fmt.Sprintf("quay%02d", i)), UpstreamRegistryUrl: aws.String("quay.io"),
			}); err != nil {
				t.Fatal(err)
			}
		}
		var limit *ecrtypes.LimitExceededException
		if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
			EcrRepositoryPrefix: aws.String("quay-over"), UpstreamRegistryUrl: aws.String("quay.io"),
		}); !errors.As(err, &limit) {
			t.Fatalf("51st rule: got %v, want LimitExceededException", err)
		}
	})
}

// Reference "Hit reporting": RepositoryNotFoundException means a certain cold miss; model:
// ImageNotFoundException for an image id that is not there; ECR's message texts.
func TestControlDescribeImages(t *testing.T) {
	t.Parallel()
	sb := sharedSandbox(t)
	c := ecrClient(t, sb, nil, 0)
	ctx := context.Background()
	repo := fmt.Sprintf("describe%d/library/alpine", runs.Add(1)) // the shared sandbox outlives -count runs
	digest := "sha256:" + strings.Repeat("ab", 32)

	var noRepo *ecrtypes.RepositoryNotFoundException
	_, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("3.20")}}})
	if !errors.As(err, &noRepo) || aws.ToString(noRepo.Message) != "The repository with name '"+repo+"' does not exist in the registry with id '"+testAccount+"'" {
		t.Fatalf("missing repository: got %v", err)
	}

	sb.Store.EnsureRepository(repo, "")
	sb.Store.PutImage(repo, "3.20", sandbox.Image{Digest: digest, MediaType: "application/vnd.oci.image.index.v1+json", Manifest: []byte(`{"schemaVersion":2}`), Size: 3_600_000})
	sb.Store.PutImage(repo, "3", sandbox.Image{Digest: digest, MediaType: "application/vnd.oci.image.index.v1+json", Manifest: []byte(`{"schemaVersion":2}`), Size: 3_600_000})

	var noImage *ecrtypes.ImageNotFoundException
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("3.21")}}})
	if !errors.As(err, &noImage) || !strings.Contains(aws.ToString(noImage.Message), "{imageDigest:null, imageTag:'3.21'} does not exist within the repository with name '"+repo+"'") {
		t.Fatalf("missing tag: got %v", err)
	}

	out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("3.20")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageDetails) != 1 {
		t.Fatalf("details: %+v", out.ImageDetails)
	}
	d := out.ImageDetails[0]
	if aws.ToString(d.ImageDigest) != digest || strings.Join(d.ImageTags, ",") != "3,3.20" || aws.ToInt64(d.ImageSizeInBytes) != 3_600_000 ||
		aws.ToString(d.ImageManifestMediaType) != "application/vnd.oci.image.index.v1+json" || d.ImagePushedAt == nil || d.LastRecordedPullTime != nil {
		t.Errorf("detail: %+v", d)
	}

	// DescribeRepositories: model shapes, RepositoryNotFoundException for a named missing repository.
	repos, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if err != nil || len(repos.Repositories) != 1 || aws.ToString(repos.Repositories[0].RepositoryArn) != "arn:aws:ecr:us-east-1:"+testAccount+":repository/"+repo {
		t.Errorf("describe repositories: %+v, %v", repos, err)
	}
	if _, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo + "-nope"}}); !errors.As(err, &noRepo) {
		t.Errorf("missing repository: got %v", err)
	}

	// BatchGetImage: the manifest for a stored tag, ImageNotFound failure for a missing one (model
	// ImageFailureCode), RepositoryNotFoundException without the repository; it records a pull.
	got, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("3.20")}, {ImageTag: aws.String("3.21")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 1 || aws.ToString(got.Images[0].ImageManifest) != `{"schemaVersion":2}` || aws.ToString(got.Images[0].ImageId.ImageDigest) != digest {
		t.Errorf("images: %+v", got.Images)
	}
	if len(got.Failures) != 1 || got.Failures[0].FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
		t.Errorf("failures: %+v", got.Failures)
	}
	if _, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo + "-nope"),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1")}}}); !errors.As(err, &noRepo) {
		t.Errorf("BatchGetImage missing repository: got %v", err)
	}
	out, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
	if err != nil || len(out.ImageDetails) != 1 || out.ImageDetails[0].LastRecordedPullTime == nil {
		t.Errorf("after BatchGetImage: %+v, %v", out, err)
	}
}

// SigV4: a request signed with the wrong secret is InvalidSignatureException, an unknown access key
// UnrecognizedClientException (STS: SignatureDoesNotMatch, InvalidClientTokenId).
func TestControlSignatureRefused(t *testing.T) {
	t.Parallel()
	sb := sharedSandbox(t)
	ctx := context.Background()
	wrongSecret := credentials.NewStaticCredentialsProvider(sb.AccessKeyID, "not-the-secret", "")
	unknownKey := credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", sb.SecretAccessKey, "")

	_, err := ecrClient(t, sb, wrongSecret, 0).DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
	wantCode(t, err, "InvalidSignatureException", "signature we calculated does not match")
	_, err = ecrClient(t, sb, unknownKey, 0).DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
	wantCode(t, err, "UnrecognizedClientException", "security token included in the request is invalid")
	_, err = stsClient(t, sb, wrongSecret, 0).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "SignatureDoesNotMatch", "signature we calculated does not match")
	_, err = stsClient(t, sb, unknownKey, 0).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId", "security token included in the request is invalid")

	// An unsigned request.
	req, _ := http.NewRequest(http.MethodPost, sb.ECREndpoint, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

// STS AssumeRoleWithWebIdentity with a token of the account's OIDC provider gives temporary credentials
// (ASIA..., session token) that sign ECR and STS calls; GetCallerIdentity names the assumed role.
func TestControlAssumeRoleWithWebIdentity(t *testing.T) {
	t.Parallel()
	clk := newClock(0)
	sb := startSandbox(t, sandbox.Config{Now: clk.config()})
	ctx := context.Background()
	tok, err := sb.MintToken(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	anon := stsClient(t, sb, aws.AnonymousCredentials{}, 0)
	out, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("build-42"), WebIdentityToken: aws.String(tok), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), sandbox.SessionKeyPrefix) || !strings.HasPrefix(aws.ToString(cr.SessionToken), "sandbox-fake-") ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+testAccount+":assumed-role/ci/build-42" ||
		aws.ToString(out.SubjectFromWebIdentityToken) != "repo:example/app:ref:refs/heads/main" ||
		aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.Provider) != sb.OIDCIssuer {
		t.Fatalf("output: %+v %+v %+v", out, out.AssumedRoleUser, cr)
	}
	if d := time.Until(aws.ToTime(cr.Expiration)); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("expiration in %v, want 15m", d)
	}
	session := credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	if _, err := ecrClient(t, sb, session, 0).DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{}); err != nil {
		t.Errorf("ECR with the session: %v", err)
	}
	id, err := stsClient(t, sb, session, 0).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(id.Account) != testAccount ||
		!strings.HasSuffix(aws.ToString(id.UserId), ":build-42") {
		t.Errorf("GetCallerIdentity: %+v, %v", id, err)
	}
	static, err := stsClient(t, sb, nil, 0).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(static.Arn) != "arn:aws:iam::"+testAccount+":user/sandbox" {
		t.Errorf("GetCallerIdentity, static key: %+v, %v", static, err)
	}

	// Temporary credentials need their session token, and stop working when they expire.
	noToken := credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "")
	_, err = ecrClient(t, sb, noToken, 0).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	wantCode(t, err, "UnrecognizedClientException", "invalid")
	clk.Advance(16 * time.Minute)
	_, err = ecrClient(t, sb, session, 1).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	wantCode(t, err, "ExpiredTokenException", "expired")
	_, err = stsClient(t, sb, session, 1).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken", "expired")

	// SigV4: the sandbox clock is now 16 minutes ahead of the client's, more than the 5 minutes a
	// signature may be off ("Signature expired", reference "clock skew"). The SDK reads the Date header,
	// corrects its signing time and retries (aws/retry clock skew correction).
	_, err = ecrClient(t, sb, nil, 1).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	wantCode(t, err, "InvalidSignatureException", "Signature expired")
	_, err = stsClient(t, sb, nil, 1).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "SignatureDoesNotMatch", "Signature expired")
	if _, err := ecrClient(t, sb, nil, 3).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		t.Errorf("with skew correction: %v", err)
	}
}

// STS's refusals (reference "STS AssumeRoleWithWebIdentity": AccessDenied, "Incorrect token audience",
// "No OpenIDConnect provider found", ValidationError, ExpiredTokenException).
func TestControlAssumeRoleRefused(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{
		"ci": {Subjects: []string{"repo:example/app:*"}},
	}})
	ctx := context.Background()
	anon := stsClient(t, sb, aws.AnonymousCredentials{}, 1)
	assume := func(role, session, tok string, duration int32) error {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(tok)}
		if duration != 0 {
			in.DurationSeconds = aws.Int32(duration)
		}
		_, err := anon.AssumeRoleWithWebIdentity(ctx, in)
		return err
	}
	mint := func(claims map[string]any, ttl time.Duration) string {
		tok, err := sb.MintToken(claims, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(nil, time.Hour)
	if err := assume(testRole, "ok", good, 0); err != nil {
		t.Fatalf("trusted subject: %v", err)
	}

	var invalid *ststypes.InvalidIdentityTokenException
	err := assume(testRole, "s1", mint(map[string]any{"aud": "https://github.com/example"}, time.Hour), 0)
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "Incorrect token audience") {
		t.Errorf("wrong audience: %v", err)
	}

	// A token from another issuer, signed with another key.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "foreign"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	foreign := foreignToken(t, signer, "https://token.actions.githubusercontent.com")
	if err := assume(testRole, "s1", foreign, 0); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com") {
		t.Errorf("foreign issuer: %v", err)
	}
	// The sandbox issuer's URL, but another key: the signature does not verify against its JWKS.
	if err := assume(testRole, "s1", foreignToken(t, signer, sb.OIDCIssuer), 0); !errors.As(err, &invalid) {
		t.Errorf("bad signature: %v", err)
	}

	var expired *ststypes.ExpiredTokenException
	if err := assume(testRole, "s1", mint(nil, -time.Minute), 0); !errors.As(err, &expired) {
		t.Errorf("expired token: %v", err)
	}

	for _, name := range []string{"x", "has space", strings.Repeat("n", 65)} {
		wantCode(t, assume(testRole, name, good, 0), "ValidationError", "roleSessionName")
	}
	wantCode(t, assume(testRole, "s1", good, 600), "ValidationError", "durationSeconds")
	wantCode(t, assume(testRole, "s1", good, 43201), "ValidationError", "durationSeconds")

	for _, c := range []struct{ name, role, tok string }{
		{"subject not trusted", testRole, mint(map[string]any{"sub": "repo:other/app:ref:refs/heads/main"}, time.Hour)},
		{"role not trusted", "arn:aws:iam::123456789012:role/other", good},
		{"other account", "arn:aws:iam::210987654321:role/ci", good},
	} {
		wantCode(t, assume(c.role, "s1", c.tok, 0), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
}

// foreignToken signs a token with a key the sandbox issuer does not publish.
func foreignToken(t *testing.T, signer jose.Signer, issuer string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": issuer, "aud": "sts.amazonaws.com", "sub": "repo:example/app:ref:refs/heads/main",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Reference: retry IDPCommunicationError (the STS client's retryer does:
// finalizeSTSRetryableErrors), and InvalidIdentityToken only when it says "Couldn't retrieve
// verification key" (here: the issuer's JWKS answers 500).
func TestControlSTSFaults(t *testing.T) {
	t.Parallel()
	sb := faultsSandbox(t)
	ctx := context.Background()
	tok, err := sb.MintToken(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(testRole), RoleSessionName: aws.String("retry"), WebIdentityToken: aws.String(tok)}

	before := sb.Stats.Snapshot().STSRequests["AssumeRoleWithWebIdentity"]
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultIDP, Count: 1})
	if _, err := stsClient(t, sb, aws.AnonymousCredentials{}, 3).AssumeRoleWithWebIdentity(ctx, in); err != nil {
		t.Fatalf("after one IDPCommunicationError: %v", err)
	}
	if n := sb.Stats.Snapshot().STSRequests["AssumeRoleWithWebIdentity"] - before; n != 2 {
		t.Errorf("STS requests %d, want 2 (one retry)", n)
	}

	one := stsClient(t, sb, aws.AnonymousCredentials{}, 1)
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultIDP, Count: 1})
	var idp *ststypes.IDPCommunicationErrorException
	if _, err := one.AssumeRoleWithWebIdentity(ctx, in); !errors.As(err, &idp) {
		t.Errorf("no retries: got %v, want IDPCommunicationError", err)
	}
	sb.Faults.Add(sandbox.Fault{Target: "oidc:jwks", Kind: sandbox.FaultServerError, Count: 1})
	_, err = one.AssumeRoleWithWebIdentity(ctx, in)
	wantCode(t, err, "InvalidIdentityToken", "Couldn't retrieve verification key")
	sb.Faults.Add(sandbox.Fault{Target: "sts:*", Kind: sandbox.FaultThrottle, Count: 1})
	_, err = one.AssumeRoleWithWebIdentity(ctx, in)
	wantCode(t, err, "Throttling", "Rate exceeded")
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultServerError, Count: 1})
	var re interface{ HTTPStatusCode() int }
	if _, err = one.AssumeRoleWithWebIdentity(ctx, in); apiCode(err) != "InternalFailure" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("5xx fault: %v", err)
	}
	sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultExpiredToken, Count: 1})
	var expired *ststypes.ExpiredTokenException
	if _, err := one.AssumeRoleWithWebIdentity(ctx, in); !errors.As(err, &expired) {
		t.Errorf("expired-token fault: got %v", err)
	}
}

// ECR faults: ThrottlingException is retried by the SDK's standard retryer (DefaultThrottleErrorCodes);
// a held request ends with the client's context deadline.
func TestControlECRFaults(t *testing.T) {
	t.Parallel()
	sb := faultsSandbox(t)
	ctx := context.Background()
	c := ecrClient(t, sb, nil, 3)

	before := sb.Stats.Snapshot().ECRRequests["DescribePullThroughCacheRules"]
	sb.Faults.Add(sandbox.Fault{Target: "ecr:DescribePullThroughCacheRules", Kind: sandbox.FaultThrottle, Count: 1})
	if _, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{}); err != nil {
		t.Fatalf("after one ThrottlingException: %v", err)
	}
	if n := sb.Stats.Snapshot().ECRRequests["DescribePullThroughCacheRules"] - before; n != 2 {
		t.Errorf("ECR requests %d, want 2 (one retry)", n)
	}

	one := ecrClient(t, sb, nil, 1)
	sb.Faults.Add(sandbox.Fault{Target: "ecr:*", Kind: sandbox.FaultServerError, Count: 1})
	var server *ecrtypes.ServerException
	if _, err := one.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); !errors.As(err, &server) {
		t.Errorf("5xx fault: got %v, want ServerException", err)
	}
	sb.Faults.Add(sandbox.Fault{Target: "ecr:GetAuthorizationToken", Kind: sandbox.FaultLimitExceeded, Count: 1})
	var limit *ecrtypes.LimitExceededException
	if _, err := one.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); !errors.As(err, &limit) {
		t.Errorf("limit fault: got %v, want LimitExceededException", err)
	}

	sb.Faults.Add(sandbox.Fault{Target: "ecr:DescribeImages", Kind: sandbox.FaultTimeout, Count: 1})
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.DescribeImages(tctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("held/repo")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held request: got %v, want the context deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("held request took %v", d)
	}

	// An unknown operation (AWS JSON protocol).
	_, err = ecr.NewFromConfig(awsConfig(t, sb, nil, 1), func(o *ecr.Options) { o.BaseEndpoint = aws.String(sb.ECREndpoint) }).
		ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("x/y")})
	wantCode(t, err, "UnknownOperationException", "ListImages")
}

// Reference "GitHub OIDC": GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com with
// "Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" → {"value": "<jwt>"}; the token works with STS.
func TestControlGitHubTokenEndpoint(t *testing.T) {
	t.Parallel()
	sb := sharedSandbox(t) // its only fault, oidc:token, hits no other test
	if !strings.Contains(sb.GitHubTokenURL, "?") {
		t.Fatalf("GitHubTokenURL %q has no query string to append &audience= to", sb.GitHubTokenURL)
	}
	get := func(bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, sb.GitHubTokenURL+"&audience=sts.amazonaws.com", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("without bearer: %d, want 401", code)
	}
	if code, _ := get("wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong bearer: %d, want 401", code)
	}
	code, body := get(sb.GitHubRequestToken)
	if code != http.StatusOK {
		t.Fatalf("with bearer: %d %s", code, body)
	}
	var doc struct {
		Count int    `json:"count"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Value == "" {
		t.Fatalf("body %s: %v", body, err)
	}
	if _, err := stsClient(t, sb, aws.AnonymousCredentials{}, 1).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String(doc.Value),
	}); err != nil {
		t.Errorf("AssumeRoleWithWebIdentity with the GitHub token: %v", err)
	}
	sb.Faults.Add(sandbox.Fault{Target: "oidc:token", Kind: sandbox.FaultServerError, Count: 1})
	if code, _ := get(sb.GitHubRequestToken); code != http.StatusInternalServerError {
		t.Errorf("5xx fault: %d, want 500", code)
	}
}

// aws-sdk-go-v2 honours AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_STS (reference "Testing without AWS"):
// Sandbox.Env is all a default config needs.
func TestControlEnvEndpoints(t *testing.T) {
	sb := sharedSandbox(t)
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != testAccount {
		t.Fatalf("GetCallerIdentity via the environment: %+v, %v", id, err)
	}
	if _, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Fatalf("GetAuthorizationToken via the environment: %v", err)
	}
}
