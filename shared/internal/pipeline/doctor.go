package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Check is one doctor finding.
type Check struct {
	Name string `json:"check"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

// DoctorInputs are what the doctor checks: the session's options (Login should return the SDK's
// errors as they are: the checks say what they mean) and the scan of the Dockerfiles.
type DoctorInputs struct {
	Session Options
	// ScanError is an error in how the Dockerfiles are to be evaluated (e.g. a bad --build-arg).
	ScanError error
	// Scan scans and maps the Dockerfiles; failed counts those that could not be evaluated.
	Scan func(m *mapping.Mapper) (results []ImageResult, failed int, err error)
}

// Doctor checks everything a build through the cache depends on, in order, and stops at the first
// failure later checks depend on: credentials, ECR login, the registry, the rules and their secrets,
// a rule for every upstream the Dockerfiles use, and a real pull through the cache.
func Doctor(ctx context.Context, in DoctorInputs) []Check {
	out := []Check{{Name: "region", OK: true, Info: in.Session.AWS.Region}}
	add := func(c ...Check) { out = append(out, c...) }
	id, err := sts.NewFromConfig(in.Session.AWS).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		add(Check{Name: "credentials", Info: CredentialsError(err, in.Session.Source).Error(), Fix: "see the message; `ecr-ptc iam-policy --for ci` prints the policy the role needs"})
		return out
	}
	add(Check{Name: "credentials", OK: true, Info: fmt.Sprintf("%s via %s", aws.ToString(id.Arn), in.Session.Source)})
	s, err := Open(ctx, in.Session)
	if err != nil {
		add(Check{Name: "ecr login", Info: err.Error(), Fix: "allow ecr:GetAuthorizationToken on * (`ecr-ptc iam-policy --for ci`)"})
		return out
	}
	add(Check{Name: "ecr login", OK: true, Info: "token for " + s.Auths[0].Host + " valid until " + s.Auths[0].ExpiresAt.UTC().Format(time.RFC3339)})
	add(reachability(ctx, s.Auths[0]))
	set, err := s.listRules(ctx)
	if err != nil {
		add(Check{Name: "rules", Info: err.Error(), Fix: "allow ecr:DescribePullThroughCacheRules"})
		return out
	}
	add(Check{Name: "rules", OK: len(set.Rules) > 0, Info: fmt.Sprintf("%d pull-through cache rule(s)", len(set.Rules)), Fix: fixIf(len(set.Rules) == 0, "create rules with `ecr-ptc rules ensure`")})
	add(ruleChecks(ctx, s, set)...)
	return append(out, dockerfileChecks(ctx, s, in)...)
}

// ruleChecks check each rule's secret and ask ECR to validate it.
func ruleChecks(ctx context.Context, s *Session, set rules.Set) []Check {
	var out []Check
	for _, r := range set.Rules {
		out = append(out, secretCheck(r))
		v, err := ecrx.Validate(ctx, s.ECR, r)
		switch {
		case err != nil:
			out = append(out, Check{Name: "rule " + r.ECRRepositoryPrefix, Info: err.Error(), Fix: "allow ecr:ValidatePullThroughCacheRule"})
		case !v.Valid:
			out = append(out, Check{Name: "rule " + r.ECRRepositoryPrefix, Info: "ECR cannot reach " + r.UpstreamRegistryURL + ": " + v.Failure, Fix: "check the upstream URL and the secret's username/accessToken"})
		default:
			out = append(out, Check{Name: "rule " + r.ECRRepositoryPrefix, OK: true, Info: "ECR validated the rule for " + r.UpstreamRegistryURL})
		}
	}
	return out
}

// dockerfileChecks check that a rule serves every upstream the Dockerfiles use, and pull one image.
func dockerfileChecks(ctx context.Context, s *Session, in DoctorInputs) []Check {
	if in.ScanError != nil {
		return []Check{{Name: "dockerfiles", Info: in.ScanError.Error()}}
	}
	m, err := s.Mapper(ctx)
	if err != nil {
		return []Check{{Name: "dockerfiles", Info: err.Error()}}
	}
	results, failed, err := in.Scan(m)
	if err != nil || failed > 0 {
		return []Check{{Name: "dockerfiles", Info: fmt.Sprintf("%d Dockerfile(s) could not be evaluated", failed), Fix: "run `ecr-ptc scan` to see why"}}
	}
	var out []Check
	missing := map[string]string{}
	for _, r := range results {
		if r.Kind == mapping.NoRule {
			missing[r.Ref] = r.Reason
		}
	}
	if len(missing) == 0 {
		out = append(out, Check{Name: "rules for the Dockerfiles", OK: true, Info: fmt.Sprintf("%d image use(s), every supported upstream has a rule", len(results))})
	}
	for ref, reason := range missing {
		out = append(out, Check{Name: "rules for the Dockerfiles", Info: ref + " has no rule", Fix: strings.TrimPrefix(reason, "no pull-through cache rule for ")})
	}
	if c, ok := pullCheck(ctx, s.ECR, &ecrx.Warmer{Auths: s.Auths}, m, results); ok {
		out = append(out, c)
	}
	return out
}

func fixIf(cond bool, fix string) string {
	if cond {
		return fix
	}
	return ""
}
