package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
)

// coldCache answers DescribeImages as ECR does for a repository no pull has created yet.
type coldCache struct{ calls int }

func (c *coldCache) DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	c.calls++
	return nil, &types.RepositoryNotFoundException{Message: aws.String("The repository does not exist")}
}

// A first pull without ecr:BatchImportUpstreamImage: ECR's AccessDenied text names the action (reference:
// the pulling identity needs ecr:BatchImportUpstreamImage, and ecr:CreateRepository for a new repository),
// and doctor names it with the policy fix. The registry here answers as ECR does; the sandbox's per-role
// permissions (issue 10, sandbox half) exercise the same path end to end.
func TestDoctorNamesTheMissingPullAction(t *testing.T) {
	for _, action := range []string{"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"} {
		t.Run(action, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"User: arn:aws:sts::123456789012:assumed-role/ci/job is not authorized to perform: %s on resource: arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/library/node because no identity-based policy allows the %s action"}]}`, action, action)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			m := mapping.New(host)
			images := &coldCache{}
			warmer := &ecrx.Warmer{Auths: []ecrx.Auth{{Host: host, ProxyEndpoint: srv.URL, Username: "AWS", Password: "pw"}}}
			results := []ImageResult{{ImageUse: dockerfile.ImageUse{Ref: "docker.io/library/node:20", Instruction: "FROM"}}}
			c, ok := pullCheck(context.Background(), images, warmer, m, results)
			if !ok || c.OK {
				t.Fatalf("check = %+v, %v", c, ok)
			}
			if !strings.Contains(c.Info, "not allowed "+action) || !strings.Contains(c.Fix, "allow "+action) || !strings.Contains(c.Fix, "iam-policy --for ci") {
				t.Errorf("check %+v must name %s and its fix", c, action)
			}
			if strings.Contains(c.Info+c.Fix, "ecr-ptc login") || images.calls != 1 {
				t.Errorf("check %+v (DescribeImages calls %d)", c, images.calls)
			}
		})
	}
}
