package ecr

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// RetryMaxAttempts is how many times ecr-ptc tries an AWS call. The SDK's default of 3 gives up within
// about 3 s of throttling; a fleet of CI jobs starting together exhausts ECR's per-account buckets for
// longer than that (the GetAuthorizationToken bucket refills 20 credits a second: user guide,
// common-errors.html), and a job that fails its setup costs far more than one that waits.
const RetryMaxAttempts = 6

// NewRetryer is the retryer for every AWS client ecr-ptc builds: the SDK's standard mode, whose backoff
// is full jitter (each wait uniform in [0, base·2^i), base 1 s for throttling and 50 ms otherwise,
// capped at 20 s), so that the retries of jobs throttled together spread out instead of arriving
// together again; with RetryMaxAttempts attempts. The client-side retry quota is off: it is per client
// (per job), so it cannot protect ECR from a fleet, and the attempts already bound a job's retries.
func NewRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = RetryMaxAttempts
		o.RateLimiter = ratelimit.None
	})
}
