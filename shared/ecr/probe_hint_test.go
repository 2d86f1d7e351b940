package ecr

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
)

type deniedImages struct{}

func (deniedImages) DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/library/node because no identity-based policy allows the ecr:DescribeImages action"}
}

// An AccessDenied naming the action gets the policy fix, not a login hint.
func TestProbeNamesTheMissingAction(t *testing.T) {
	_, err := Probe(context.Background(), deniedImages{}, "docker-hub/library/node", "20", "")
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "allow ecr:DescribeImages on the cache repositories") || strings.Contains(err.Error(), "login") {
		t.Fatalf("err = %v", err)
	}
}

// An ECR upstream given by its dual-stack or FIPS host becomes the standard host CreatePullThroughCacheRule
// takes (API model: upstreamRegistryUrl "<accountId>.dkr.ecr.<region>.amazonaws.com").
func TestWantECRUpstreamHost(t *testing.T) {
	for _, url := range []string{"444455556666.dkr-ecr.us-west-2.on.aws", "https://444455556666.dkr.ecr-fips.us-west-2.amazonaws.com", "444455556666.dkr.ecr.us-west-2.amazonaws.com"} {
		r, err := Want{Upstream: "ecr", URL: url, Prefix: "team-cache", CustomRoleArn: "arn:aws:iam::123456789012:role/x"}.Rule()
		if err != nil || r.UpstreamRegistryURL != "444455556666.dkr.ecr.us-west-2.amazonaws.com" {
			t.Errorf("%s: %+v %v", url, r, err)
		}
	}
}
