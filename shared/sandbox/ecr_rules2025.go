package sandbox

// The pull-through cache rule fields added in 2025 (reference, "Rule fields added in 2025"; ECR service
// model): upstreamRepositoryPrefix, default ROOT and settable only when ecrRepositoryPrefix is not ROOT,
// and customRoleArn, the role ECR assumes to pull from an upstream private ECR registry ("This role must
// be in the same account as the registry that you are configuring"), which UpdatePullThroughCacheRule
// can change. The exact texts ECR gives for these refusals are the sandbox's own.

import (
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// checkRuleFields2025 applies the constraints on upstreamRepositoryPrefix and customRoleArn to a new
// rule of upstream type enum.
func (e *ecrAPI) checkRuleFields2025(prefix, upstreamPrefix, customRoleArn, enum string) *apiError {
	if trimPrefix(prefix) == rules.Root && upstreamPrefix != "" && trimPrefix(upstreamPrefix) != rules.Root {
		var ve validationErrors
		ve.add(upstreamPrefix, "upstreamRepositoryPrefix", "upstreamRepositoryPrefix can be set only when ecrRepositoryPrefix is not ROOT")
		return ve.err("ValidationException")
	}
	if customRoleArn != "" {
		if enum != "ecr" {
			return invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'customRoleArn is supported only for an upstream registry of type ecr'")
		}
		return e.checkCustomRole(customRoleArn)
	}
	return nil
}

// checkCustomRole: an IAM role ARN in the registry's own account (model).
func (e *ecrAPI) checkCustomRole(arn string) *apiError {
	account, _, ok := parseRoleArn(arn)
	if !ok {
		return invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: '%s is not an IAM role ARN'", arn)
	}
	if account != e.d.cfg.AccountID {
		return invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'the role must be in the same account as the registry, %s'", e.d.cfg.AccountID)
	}
	return nil
}

// storedUpstreamPrefix is what a new rule records: the given upstreamRepositoryPrefix, or ROOT (the
// model's default) for an ECR-to-ECR rule. Other rules record none; DescribePullThroughCacheRules prints
// ROOT on them only with Config.RootUpstreamPrefixOnEveryRule (unverified which AWS does).
func storedUpstreamPrefix(given, enum string) string {
	if given == "" && enum == "ecr" {
		return rules.Root
	}
	return given
}

// describedUpstreamPrefix is the upstreamRepositoryPrefix DescribePullThroughCacheRules prints.
func (e *ecrAPI) describedUpstreamPrefix(r RuleRecord) string {
	if r.UpstreamRepositoryPrefix == "" && e.d.cfg.RootUpstreamPrefixOnEveryRule {
		return rules.Root
	}
	return r.UpstreamRepositoryPrefix
}

// updateRuleRole is UpdatePullThroughCacheRule for an ECR-to-ECR rule, or a request naming
// customRoleArn: the role is what can change; a secret cannot be given.
func (e *ecrAPI) updateRuleRole(rec RuleRecord, credentialArn, customRoleArn string) (RuleRecord, *apiError) {
	if rec.UpstreamRegistry != "ecr" {
		return RuleRecord{}, invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'customRoleArn is supported only for an upstream registry of type ecr'")
	}
	if credentialArn != "" {
		return RuleRecord{}, invalidParam("Invalid parameter at 'credentialArn' failed to satisfy constraint: 'an upstream registry of type ecr uses customRoleArn, not a secret'")
	}
	if customRoleArn == "" {
		return RuleRecord{}, invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'give the customRoleArn of the rule's upstream registry of type ecr'")
	}
	if err := e.checkCustomRole(customRoleArn); err != nil {
		return RuleRecord{}, err
	}
	out, ok := e.d.store.UpdateRuleRole(rec.ECRRepositoryPrefix, customRoleArn)
	if !ok {
		return RuleRecord{}, e.ruleNotFound(rec.ECRRepositoryPrefix)
	}
	return out, nil
}

// ecrRuleFailure is ValidatePullThroughCacheRule's failure for an ECR-to-ECR rule whose role the
// upstream registry's policy does not let pull ("" when it does).
func (e *ecrAPI) ecrRuleFailure(rec RuleRecord) string {
	if rec.UpstreamRegistry != "ecr" || rec.CustomRoleArn == upstreamECRRoleArn(e.d) {
		return ""
	}
	if rec.CustomRoleArn == "" {
		return "Unable to authenticate to the upstream registry: the rule has no customRoleArn"
	}
	return "Unable to authenticate to the upstream registry with the role " + rec.CustomRoleArn + ": the upstream registry's policy does not allow it to pull"
}

// UpdateRuleRole replaces the customRoleArn of an existing rule.
func (s *Store) UpdateRuleRole(prefix, customRoleArn string) (RuleRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.rules[trimPrefix(prefix)]
	if !ok {
		return RuleRecord{}, false
	}
	rec.CustomRoleArn = customRoleArn
	rec.UpdatedAt = s.now()
	return *rec, true
}
