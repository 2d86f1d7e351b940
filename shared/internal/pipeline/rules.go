package pipeline

import (
	"cmp"
	"context"
	"sort"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// CredentialArns maps upstream names to Secrets Manager secrets; "" holds the one for all.
type CredentialArns map[string]string

// ForUpstream is the secret for an upstream that needs one, else "".
func (c CredentialArns) ForUpstream(name string) string {
	u, ok := rules.ByName(name)
	if !ok || !u.NeedsCredential {
		return ""
	}
	return cmp.Or(c[u.Name], c[""])
}

// Needed lists, once each and sorted, the upstreams the image uses pull from that no rule in existing
// serves. Uses on the cache registry (registry; "" when unknown) are served already.
func Needed(existing rules.Set, registry string, uses []dockerfile.ImageUse) []ecrx.Want {
	seen := map[string]bool{}
	var wants []ecrx.Want
	for _, u := range uses {
		if u.Error != "" || u.Instruction == "ONBUILD" {
			continue
		}
		host, up, ok := mapping.Uncovered(existing, registry, u.Ref)
		if !ok || seen[host] {
			continue
		}
		seen[host] = true
		w := ecrx.Want{Upstream: up.Name}
		if up.Enum == "azure-container-registry" || up.Enum == "ecr" {
			w.URL = host // these rules name one registry
		}
		wants = append(wants, w)
	}
	sort.Slice(wants, func(i, j int) bool { return wants[i].Upstream < wants[j].Upstream })
	return wants
}

// EnsureRules makes sure a rule serves each want, with its credential from creds, against the rules
// the session listed (a rule created meanwhile by another job counts when it matches). onEach hears of
// each rule as it is ensured (may be nil). A want that names no valid rule is a UsageError.
func EnsureRules(ctx context.Context, s *Session, wants []ecrx.Want, creds CredentialArns, onEach func(ecrx.EnsureResult)) ([]ecrx.EnsureResult, error) {
	var results []ecrx.EnsureResult
	for _, w := range wants {
		w.CredentialArn = creds.ForUpstream(w.Upstream)
		want, err := w.Rule()
		if err != nil {
			return results, UsageError{err}
		}
		existing, err := s.LiveRules(ctx)
		if err != nil {
			return results, err
		}
		res, err := ecrx.Ensure(ctx, s.ECR, existing, want)
		if err != nil {
			return results, err
		}
		results = append(results, res)
		s.addRules([]ecrx.EnsureResult{res})
		if onEach != nil {
			onEach(res)
		}
	}
	return results, nil
}

// ValidateRules asks ECR whether each of the registry's rules can reach its upstream with its
// credential.
func ValidateRules(ctx context.Context, s *Session) ([]ecrx.Validation, error) {
	set, err := s.LiveRules(ctx)
	if err != nil {
		return nil, err
	}
	var out []ecrx.Validation
	for _, r := range set.Rules {
		v, err := ecrx.Validate(ctx, s.ECR, r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
