package ecr

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Attempts ecr-ptc makes at one AWS call. Throttling gets many: a fleet of CI jobs starting together
// drains ECR's per-account buckets for longer than the SDK's 3 attempts last (about 3 s; the
// GetAuthorizationToken bucket refills 20 credits a second: user guide, common-errors.html), and a job
// that fails its setup costs far more than one that waits. Other errors (5xx, timeouts) keep the SDK's 3,
// so that a broken endpoint still fails fast.
const (
	RetryMaxAttempts   = 30
	RetryOtherAttempts = retry.DefaultMaxAttempts
)

// RetryMaxBackoff caps one wait between attempts (the SDK's default is 20 s). ECR's buckets refill within
// a second or two, so a longer wait only idles the job while the bucket has room: in the fleet
// simulation a burst of 300 setups has a p95 of ~8 s with waits up to 3 s against ~15 s with waits up to
// 20 s, for the same throttled calls and no failed job. 30 attempts wait about 42 s in all on average,
// near the 55 s of the SDK's waits over 10 attempts, so a long throttle still does not fail a job.
const RetryMaxBackoff = 3 * time.Second

// Retryer is the SDK's standard retryer with ecr-ptc's attempts: its backoff is full jitter (each wait
// uniform in [0, 2^i s), capped at RetryMaxBackoff), so that the retries of jobs throttled together
// spread out instead of arriving together again. The client-side
// retry quota is off: it is per client (per job), so it cannot protect ECR from a fleet, and the
// attempts bound a job's retries.
type Retryer struct{ *retry.Standard }

// NewRetryer is the retryer for every AWS client ecr-ptc builds.
func NewRetryer() aws.Retryer {
	return Retryer{retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = RetryMaxAttempts
		o.MaxBackoff = RetryMaxBackoff
		o.Backoff = retry.NewExponentialJitterBackoff(RetryMaxBackoff)
		o.RateLimiter = ratelimit.None
	})}
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// RetryDelay stops errors other than throttling after RetryOtherAttempts attempts, with the error the
// SDK itself returns when attempts run out.
func (r Retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if attempt >= RetryOtherAttempts && throttles.IsErrorThrottle(err) != aws.TrueTernary {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return r.Standard.RetryDelay(attempt, err)
}
