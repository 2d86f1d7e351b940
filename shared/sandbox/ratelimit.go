package sandbox

// ECR's API rate quotas, enforced as token buckets (Config.RateLimits). AWS throttles each API operation
// per account and Region; the user guide describes the mechanism for GetAuthorizationToken: "the throttle
// for the GetAuthorizationToken action is 20 transaction per second (TPS), with up to a 200 TPS burst
// allowed. In each region, each account receives a bucket that can store up to 200 GetAuthorizationToken
// credits. These credits are replenished at a rate of 20 per second"
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html, "HTTP 429: Too Many
// Requests or ThrottleException"). The service quotas page publishes the pull APIs' rates
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html): BatchGetImage 2,000 per
// second, BatchCheckLayerAvailability 1,000 per second. DescribeImages and the pull-through cache rule
// APIs have throttles AWS does not publish: their buckets here are assumptions, and configurable.
//
// A throttled API call gets ThrottlingException (HTTP 400), which the SDK retries as throttling
// (aws/retry DefaultThrottleErrorCodes); a throttled registry request (a docker pull is BatchGetImage for
// manifests and GetDownloadUrlForLayer for layers) gets HTTP 429 TOOMANYREQUESTS, as the same
// common-errors page describes.

import (
	"sync"
	"time"
)

// Bucket is one operation's quota: Rate tokens a second, holding at most Burst (Burst 0 means Rate).
type Bucket struct {
	Rate  float64 `json:"rate"`
	Burst float64 `json:"burst"`
	// Assumed marks a quota AWS does not publish.
	Assumed bool `json:"assumed,omitempty"`
}

// Published quotas (see the file comment for the sources) and the assumptions for unpublished ones.
var (
	// GetAuthorizationToken: 20 a second, a bucket of 200 (common-errors page).
	QuotaGetAuthorizationToken = Bucket{Rate: 20, Burst: 200}
	// BatchGetImage: 2,000 a second (service quotas page).
	QuotaBatchGetImage = Bucket{Rate: 2000, Burst: 2000}
	// GetDownloadUrlForLayer: 3,000 a second on the service quotas page as remembered; the search tool's
	// copy of the page was cut before that row, so treat it as unconfirmed.
	QuotaGetDownloadURLForLayer = Bucket{Rate: 3000, Burst: 3000}
	// DescribeImages and the rule APIs: unpublished; assumed.
	QuotaDescribeImages = Bucket{Rate: 200, Burst: 400, Assumed: true}
	QuotaRuleAPIs       = Bucket{Rate: 20, Burst: 40, Assumed: true}
)

// ECRQuotas returns the per-operation buckets: the published ones and the assumed ones.
func ECRQuotas() map[string]Bucket {
	return map[string]Bucket{
		"GetAuthorizationToken":         QuotaGetAuthorizationToken,
		"BatchGetImage":                 QuotaBatchGetImage,
		"GetDownloadUrlForLayer":        QuotaGetDownloadURLForLayer,
		"DescribeImages":                QuotaDescribeImages,
		"DescribePullThroughCacheRules": QuotaRuleAPIs,
		"CreatePullThroughCacheRule":    QuotaRuleAPIs,
		"ValidatePullThroughCacheRule":  QuotaRuleAPIs,
		"UpdatePullThroughCacheRule":    QuotaRuleAPIs,
		"DeletePullThroughCacheRule":    QuotaRuleAPIs,
	}
}

// TokenBucket is one bucket's state. It is driven by the times it is given, so a simulation can run it
// on a virtual clock.
type TokenBucket struct {
	Bucket
	tokens float64
	last   time.Time
	primed bool
}

// NewTokenBucket returns a full bucket.
func NewTokenBucket(b Bucket) *TokenBucket {
	if b.Burst <= 0 {
		b.Burst = b.Rate
	}
	return &TokenBucket{Bucket: b}
}

// Take spends one token at time now; false means the call is throttled.
func (b *TokenBucket) Take(now time.Time) bool {
	if !b.primed {
		b.tokens, b.last, b.primed = b.Burst, now, true
	}
	if now.After(b.last) {
		b.tokens = min(b.Burst, b.tokens+now.Sub(b.last).Seconds()*b.Rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// RateLimits is the account's set of buckets, one per operation; operations without a bucket are not
// limited. A nil *RateLimits limits nothing.
type RateLimits struct {
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*TokenBucket
	throttled map[string]int
}

// NewRateLimits builds the buckets from quotas (nil: ECRQuotas()); now is the clock (nil: time.Now).
func NewRateLimits(quotas map[string]Bucket, now func() time.Time) *RateLimits {
	if quotas == nil {
		quotas = ECRQuotas()
	}
	if now == nil {
		now = time.Now
	}
	r := &RateLimits{now: now, buckets: map[string]*TokenBucket{}, throttled: map[string]int{}}
	for op, q := range quotas {
		r.buckets[op] = NewTokenBucket(q)
	}
	return r
}

// Allow spends a token of op's bucket now and reports whether the call may proceed.
func (r *RateLimits) Allow(op string) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[op]
	if !ok || b.Take(r.now()) {
		return true
	}
	r.throttled[op]++
	return false
}

// Throttled returns how many calls of each operation were throttled.
func (r *RateLimits) Throttled() map[string]int {
	if r == nil {
		return map[string]int{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return copyMap(r.throttled)
}

// throttleECR answers an API call that its bucket refuses (nil when it may proceed).
func (r *RateLimits) throttleECR(op string) *apiError {
	if r.Allow(op) {
		return nil
	}
	return newAPIError(400, "ThrottlingException", "Rate exceeded")
}

// registryOp is the API operation a registry request counts as: a manifest is BatchGetImage, a blob
// GetDownloadUrlForLayer (service quotas page: "When an image is pulled, the BatchGetImage API is called
// once to retrieve the image manifest"; each layer is a GetDownloadUrlForLayer).
func registryOp(kind string) string {
	switch kind {
	case "manifests", "tags":
		return "BatchGetImage"
	case "blobs":
		return "GetDownloadUrlForLayer"
	}
	return ""
}
