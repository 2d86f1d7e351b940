package sandbox_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// The user guide's GetAuthorizationToken throttle (common-errors.html): a bucket of 200 credits,
// replenished at 20 a second. On a frozen clock the 201st call is throttled with ThrottlingException;
// 50 ms later one credit is back.
func TestRateLimitGetAuthorizationTokenBucket(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	rl := sandbox.NewRateLimits(nil, now)
	sb := startSandbox(t, sandbox.Config{RateLimits: rl})
	c := ecrClient(t, sb, nil, 1) // no retries: see each refusal
	ctx := context.Background()
	for i := range 200 {
		if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	wantCode(t, err, "ThrottlingException", "Rate exceeded")
	offset.Add(int64(50 * time.Millisecond))
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Fatalf("after 50 ms a credit should be back: %v", err)
	}
	wantCode(t, func() error { _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); return err }(), "ThrottlingException", "")
	if got := rl.Throttled()["GetAuthorizationToken"]; got != 2 {
		t.Errorf("throttled count %d, want 2", got)
	}
}

// An assumed DescribeImages bucket throttles DescribeImages with ThrottlingException (which the SDK
// retries: aws/retry DefaultThrottleErrorCodes) until it refills. Registry pulls count as BatchGetImage
// (manifests) and GetDownloadUrlForLayer (layers) and are refused with 429 TOOMANYREQUESTS
// (common-errors.html: "HTTP 429: Too Many Requests").
func TestRateLimitDescribeImagesAndRegistry(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	quotas := map[string]sandbox.Bucket{"DescribeImages": {Rate: 100, Burst: 1}, "BatchGetImage": {Rate: 0.001, Burst: 1}}
	rl := sandbox.NewRateLimits(quotas, now)
	sb := startSandbox(t, sandbox.Config{RateLimits: rl})
	sb.Store.EnsureRepository("rl/library/alpine", "")
	c := ecrClient(t, sb, nil, 1)
	ctx := context.Background()
	describe := func() error {
		_, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("rl/library/alpine"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("x")}}})
		return err
	}
	if err := describe(); apiCode(err) != "ImageNotFoundException" {
		t.Fatalf("first call: %v", err)
	}
	wantCode(t, describe(), "ThrottlingException", "Rate exceeded")
	offset.Add(int64(10 * time.Millisecond)) // one token at 100 a second
	if err := describe(); apiCode(err) != "ImageNotFoundException" {
		t.Fatalf("after the refill: %v", err)
	}
	if got := rl.Throttled()["DescribeImages"]; got != 1 {
		t.Errorf("throttled %d, want 1", got)
	}
	pw, _ := sb.Store.IssueToken(time.Hour)
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+sb.RegistryHost+"/v2/rl/library/alpine/manifests/x", nil)
		req.SetBasicAuth("AWS", pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code == http.StatusTooManyRequests {
		t.Fatalf("first manifest GET throttled")
	}
	if code := get(); code != http.StatusTooManyRequests {
		t.Fatalf("second manifest GET: %d, want 429", code)
	}
}
