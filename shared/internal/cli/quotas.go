package cli

import "github.com/ecr-ptc/ecr-ptc/shared/sandbox"

// ecrQuotas is `sandbox --ecr-quotas`: ECR's API rate quotas as token buckets (sandbox/ratelimit.go),
// so a fleet can be tried against them locally; nil leaves the sandbox unthrottled.
func ecrQuotas(on bool) *sandbox.RateLimits {
	if !on {
		return nil
	}
	return sandbox.NewRateLimits(nil, nil)
}
