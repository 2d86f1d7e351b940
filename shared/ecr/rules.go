package ecr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// DescribeRulesAPI lists pull-through cache rules.
type DescribeRulesAPI interface {
	DescribePullThroughCacheRules(ctx context.Context, in *ecr.DescribePullThroughCacheRulesInput, optFns ...func(*ecr.Options)) (*ecr.DescribePullThroughCacheRulesOutput, error)
}

// CreateRuleAPI creates a pull-through cache rule.
type CreateRuleAPI interface {
	CreatePullThroughCacheRule(ctx context.Context, in *ecr.CreatePullThroughCacheRuleInput, optFns ...func(*ecr.Options)) (*ecr.CreatePullThroughCacheRuleOutput, error)
}

// ValidateRuleAPI validates a pull-through cache rule.
type ValidateRuleAPI interface {
	ValidatePullThroughCacheRule(ctx context.Context, in *ecr.ValidatePullThroughCacheRuleInput, optFns ...func(*ecr.Options)) (*ecr.ValidatePullThroughCacheRuleOutput, error)
}

// ListRules returns every rule of the registry, following pagination.
func ListRules(ctx context.Context, client DescribeRulesAPI) (rules.Set, error) {
	var set rules.Set
	p := ecr.NewDescribePullThroughCacheRulesPaginator(client, &ecr.DescribePullThroughCacheRulesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return rules.Set{}, apiError("ECR DescribePullThroughCacheRules", err)
		}
		for _, r := range page.PullThroughCacheRules {
			set.Rules = append(set.Rules, fromAPI(r))
		}
	}
	return set, nil
}

func fromAPI(r types.PullThroughCacheRule) rules.Rule {
	return rules.Rule{
		ECRRepositoryPrefix:      aws.ToString(r.EcrRepositoryPrefix),
		UpstreamRegistryURL:      aws.ToString(r.UpstreamRegistryUrl),
		UpstreamRegistry:         string(r.UpstreamRegistry),
		CredentialArn:            aws.ToString(r.CredentialArn),
		CustomRoleArn:            aws.ToString(r.CustomRoleArn),
		UpstreamRepositoryPrefix: aws.ToString(r.UpstreamRepositoryPrefix),
		RegistryID:               aws.ToString(r.RegistryId),
	}
}

// Want describes a rule to ensure: an upstream, and optionally its prefix, URL and credential.
type Want struct {
	Upstream      string // a name rules.ByName knows: docker-hub, quay, github, ...
	URL           string // required for azure and ecr; else the upstream's fixed host
	Prefix        string // default: the upstream's default prefix
	CredentialArn string // required where the upstream needs a credential
	CustomRoleArn string // ECR-to-ECR
}

// Rule turns w into the rule to create, or says what is missing.
func (w Want) Rule() (rules.Rule, error) {
	up, ok := rules.ByName(w.Upstream)
	if !ok {
		if u, ok2 := rules.ForHost(w.Upstream); ok2 {
			up, ok = u, true
		}
	}
	if !ok {
		return rules.Rule{}, fmt.Errorf("unknown upstream %q; use one of %s", w.Upstream, strings.Join(rules.Names(), ", "))
	}
	r := rules.Rule{ECRRepositoryPrefix: w.Prefix, UpstreamRegistryURL: w.URL, UpstreamRegistry: up.Enum, CredentialArn: w.CredentialArn, CustomRoleArn: w.CustomRoleArn}
	if r.ECRRepositoryPrefix == "" {
		r.ECRRepositoryPrefix = up.DefaultPrefix
	}
	if r.UpstreamRegistryURL == "" {
		r.UpstreamRegistryURL = up.URL
	}
	if reg, ok := ecrhost.Parse(r.UpstreamRegistryURL); ok && up.Enum == "ecr" {
		// ECR takes an ECR upstream by its standard host, whichever of its hosts was given.
		r.UpstreamRegistryURL = reg.Host()
	}
	if r.UpstreamRegistryURL == "" {
		return rules.Rule{}, fmt.Errorf("upstream %s needs its registry host (--upstream-url, e.g. myregistry.azurecr.io)", up.Name)
	}
	if up.NeedsCredential && r.CredentialArn == "" {
		return rules.Rule{}, fmt.Errorf("upstream %s needs a Secrets Manager secret whose name starts with ecr-pullthroughcache/, holding username and accessToken; pass its ARN with --credential-arn", up.Name)
	}
	return r, rules.ValidatePrefix(r.ECRRepositoryPrefix)
}

// EnsureAction is what Ensure did for one rule.
type EnsureAction string

// Ensure outcomes.
const (
	Created EnsureAction = "created"
	Existed EnsureAction = "exists" // a rule for the upstream was already there (maybe under another prefix)
)

// EnsureResult reports one ensured rule.
type EnsureResult struct {
	Rule   rules.Rule   `json:"rule"`
	Action EnsureAction `json:"action"`
}

// EnsureAPI is what Ensure calls.
type EnsureAPI interface {
	DescribeRulesAPI
	CreateRuleAPI
}

// ConflictError: the prefix is taken by a rule for another upstream.
type ConflictError struct {
	Prefix   string
	Existing rules.Rule
	Want     rules.Rule
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("the prefix %q is already used by a rule for %s, not %s; choose another --prefix", e.Prefix, e.Existing.UpstreamRegistryURL, e.Want.UpstreamRegistryURL)
}

// Ensure makes sure a rule serves want's upstream, against the rules the caller listed (one listing
// serves many wants). A rule already serving that upstream (whatever its prefix) is kept. Otherwise the
// rule is created; PullThroughCacheRuleAlreadyExistsException — a rule created since the listing, as
// when fifty jobs race — counts as success when the rule that won matches.
func Ensure(ctx context.Context, client EnsureAPI, existing rules.Set, want rules.Rule) (EnsureResult, error) {
	if r, ok := matching(existing, want); ok {
		return EnsureResult{Rule: r, Action: Existed}, nil
	}
	in := &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String(want.ECRRepositoryPrefix),
		UpstreamRegistryUrl: aws.String(want.UpstreamRegistryURL),
	}
	if want.UpstreamRegistry != "" {
		in.UpstreamRegistry = types.UpstreamRegistry(want.UpstreamRegistry)
	}
	if want.CredentialArn != "" {
		in.CredentialArn = aws.String(want.CredentialArn)
	}
	if want.CustomRoleArn != "" {
		in.CustomRoleArn = aws.String(want.CustomRoleArn)
	}
	if want.UpstreamRepositoryPrefix != "" {
		in.UpstreamRepositoryPrefix = aws.String(want.UpstreamRepositoryPrefix)
	}
	out, err := client.CreatePullThroughCacheRule(ctx, in)
	if err == nil {
		r := want
		r.RegistryID = aws.ToString(out.RegistryId)
		return EnsureResult{Rule: r, Action: Created}, nil
	}
	var exists *types.PullThroughCacheRuleAlreadyExistsException
	if !errors.As(err, &exists) {
		return EnsureResult{}, createError(want, err)
	}
	// Someone else created the prefix meanwhile: fine if it is the rule we wanted.
	now, lerr := ListRules(ctx, client)
	if lerr != nil {
		return EnsureResult{}, lerr
	}
	for _, r := range now.Rules {
		if strings.TrimSuffix(r.ECRRepositoryPrefix, "/") == strings.TrimSuffix(want.ECRRepositoryPrefix, "/") {
			if r.UpstreamHost() == want.UpstreamHost() {
				return EnsureResult{Rule: r, Action: Existed}, nil
			}
			return EnsureResult{}, &ConflictError{Prefix: want.ECRRepositoryPrefix, Existing: r, Want: want}
		}
	}
	return EnsureResult{}, createError(want, err)
}

// matching finds a rule that already serves want's upstream (same upstream repository prefix).
func matching(set rules.Set, want rules.Rule) (rules.Rule, bool) {
	for _, r := range set.ForHost(want.UpstreamHost()) {
		if r.UpstreamPrefix() == want.UpstreamPrefix() {
			return r, true
		}
	}
	return rules.Rule{}, false
}

// createError adds the fix to CreatePullThroughCacheRule's errors.
func createError(want rules.Rule, err error) error {
	var (
		unsupported *types.UnsupportedUpstreamRegistryException
		noSecret    *types.SecretNotFoundException
		noAccess    *types.UnableToAccessSecretException
		noDecrypt   *types.UnableToDecryptSecretValueException
		limit       *types.LimitExceededException
	)
	what := fmt.Sprintf("cannot create the pull-through cache rule %q for %s", want.ECRRepositoryPrefix, want.UpstreamRegistryURL)
	switch {
	case errors.As(err, &unsupported):
		return fmt.Errorf("%s: ECR does not support that upstream (%s)", what, aws.ToString(unsupported.Message))
	case errors.As(err, &noSecret):
		return fmt.Errorf("%s: the secret %s does not exist; create it in Secrets Manager (name starting with ecr-pullthroughcache/, keys username and accessToken) in the registry's account and region", what, want.CredentialArn)
	case errors.As(err, &noAccess):
		return fmt.Errorf("%s: ECR cannot read the secret %s; check its resource policy and KMS key", what, want.CredentialArn)
	case errors.As(err, &noDecrypt):
		return fmt.Errorf("%s: ECR cannot decrypt the secret %s; allow ECR to use its KMS key", what, want.CredentialArn)
	case errors.As(err, &limit):
		return fmt.Errorf("%s: the registry has reached its quota of pull-through cache rules", what)
	}
	return apiError(what, err)
}

// Validation is ValidatePullThroughCacheRule's verdict for one rule.
type Validation struct {
	Rule    rules.Rule `json:"rule"`
	Valid   bool       `json:"valid"`
	Failure string     `json:"failure,omitempty"`
}

// Validate asks ECR whether the rule with prefix can reach its upstream with its credential.
func Validate(ctx context.Context, client ValidateRuleAPI, r rules.Rule) (Validation, error) {
	out, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(r.ECRRepositoryPrefix)})
	if err != nil {
		return Validation{}, apiError(fmt.Sprintf("ECR ValidatePullThroughCacheRule for %q", r.ECRRepositoryPrefix), err)
	}
	return Validation{Rule: r, Valid: out.IsValid, Failure: aws.ToString(out.Failure)}, nil
}
