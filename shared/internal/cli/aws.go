package cli

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/spf13/cobra"
)

// regionPattern accepts every AWS region name (us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1).
var regionPattern = regexp.MustCompile(`^[a-z]{2,5}(-[a-z]+)+-\d{1,2}$`)

// awsFlags choose the region and where credentials come from.
type awsFlags struct {
	region        string
	roleARN       string
	audience      string
	sessionName   string
	duration      time.Duration
	sessionPolicy string
	idTokenVar    string
	timeout       time.Duration
}

func (f *awsFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.region, "region", "", "AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, or the profile's)")
	fl.StringVar(&f.roleARN, "role-arn", "", "IAM role to assume with the CI job's OIDC token (default $ECR_PTC_ROLE_ARN)")
	fl.StringVar(&f.audience, "audience", awscreds.DefaultAudience, "audience of the GitHub Actions OIDC token")
	fl.StringVar(&f.sessionName, "role-session-name", "", "role session name (default: one naming the CI run)")
	fl.DurationVar(&f.duration, "role-duration", 0, "role session duration, 15m–12h (default: STS's, 1h)")
	fl.StringVar(&f.sessionPolicy, "session-policy", "", "an inline session policy (JSON) to narrow the role")
	fl.StringVar(&f.idTokenVar, "id-token-var", "ECR_PTC_ID_TOKEN", "GitLab: the variable named in the job's id_tokens that holds the OIDC token")
	fl.DurationVar(&f.timeout, "aws-timeout", 30*time.Second, "timeout of each AWS API request (the SDK retries within its own limits)")
}

// credSource says where the credentials came from, for logs (never the secrets).
type credSource = pipeline.CredSource

// loadAWS builds the SDK configuration. Sources, in order: a role assumed with a web identity — GitHub
// Actions OIDC, a GitLab id_tokens variable, AWS_WEB_IDENTITY_TOKEN_FILE — then the SDK's default chain
// (environment, profile, container credentials as on CodeBuild, instance role), whose providers refresh
// themselves. A role with no web identity is assumed with the default chain's credentials.
func (f *awsFlags) loadAWS(ctx context.Context, env Env) (aws.Config, credSource, error) {
	region := cmp.Or(f.region, env.getenv("AWS_REGION"), env.getenv("AWS_DEFAULT_REGION"))
	if region != "" && !regionPattern.MatchString(region) {
		return aws.Config{}, credSource{}, usagef("%q is not an AWS region (e.g. us-east-1, eu-west-2)", region)
	}
	if !argName.MatchString(f.idTokenVar) {
		// It is named in messages and read from the environment: a variable name, nothing else.
		return aws.Config{}, credSource{}, usagef("--id-token-var %q is not a variable name (letters, digits, _)", clipArg(f.idTokenVar))
	}
	timeout := f.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// The SDK sets no request timeout of its own: a hung endpoint must not hang the build.
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(timeout)), config.WithRetryer(ecrx.NewRetryer)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, credSource{}, fmt.Errorf("cannot load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, credSource{}, usagef("no AWS region: pass --region or set AWS_REGION")
	}
	role := cmp.Or(f.roleARN, env.getenv("ECR_PTC_ROLE_ARN"))
	tokenFile := env.getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	// The SDK's own pair (EKS IRSA, self-hosted runners): the token file goes with AWS_ROLE_ARN, whatever
	// CI platform the runner is on.
	irsa := role == "" && tokenFile != "" && env.getenv("AWS_ROLE_ARN") != ""
	if irsa {
		role = env.getenv("AWS_ROLE_ARN")
	}
	if role == "" {
		return cfg, credSource{Kind: "default-chain", Detail: defaultChainHint(env)}, nil
	}
	return f.assumeRole(env, cfg, role, tokenFile, irsa)
}

// assumeRole makes cfg assume role with a web identity — the token file of EKS's pair, the CI
// platform's OIDC token, a token file — or, with none, with the default chain's credentials.
func (f *awsFlags) assumeRole(env Env, cfg aws.Config, role, tokenFile string, irsa bool) (aws.Config, credSource, error) {
	w := awscreds.WebIdentity{RoleARN: role, SessionName: f.session(env), Duration: f.duration, Policy: f.sessionPolicy}
	var src credSource
	platformToken := ciplatform.IDTokenFor(env.Platforms, env.getenv, ciplatform.TokenRequest{Audience: f.audience, Variable: f.idTokenVar, HaveTokenFile: tokenFile != ""})
	switch {
	case irsa:
		w.Token, w.Source = awscreds.FileToken(tokenFile), "token file "+tokenFile
		src = credSource{Kind: "token-file", Detail: role}
	case platformToken != nil:
		w.Token, w.Source = maskedToken(env, platformToken.Fetch), platformToken.Source
		src = credSource{Kind: platformToken.Kind, Detail: role}
	case tokenFile != "":
		w.Token, w.Source = awscreds.FileToken(tokenFile), "token file "+tokenFile
		src = credSource{Kind: "token-file", Detail: role}
	default:
		// No web identity: chain from the default credentials (a profile, CodeBuild's role).
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = w.SessionName
			if f.duration > 0 {
				o.Duration = f.duration
			}
		}))
		return cfg, credSource{Kind: "assume-role", Detail: role}, nil
	}
	cfg.Credentials = awscreds.NewProvider(sts.NewFromConfig(cfg), w)
	return cfg, src, nil
}

// session is the role session name: given, or one that identifies the CI run in CloudTrail.
func (f *awsFlags) session(env Env) string {
	if f.sessionName != "" {
		return awscreds.SessionName(f.sessionName)
	}
	return ciplatform.SessionName(env.Platforms, env.getenv)
}

func defaultChainHint(env Env) string {
	switch {
	case env.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || env.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "":
		return "container credentials, e.g. CodeBuild's service role"
	case env.getenv("AWS_ACCESS_KEY_ID") != "":
		return "environment"
	case env.getenv("AWS_PROFILE") != "":
		return "profile " + env.getenv("AWS_PROFILE")
	}
	return ""
}

// credentialsError explains a failure to get credentials in one sentence.
func credentialsError(err error, src credSource) error { return pipeline.CredentialsError(err, src) }
