package ecr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func sandboxClient(t *testing.T) (*sandbox.Sandbox, *ecr.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Config{NoSeed: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = sb.Close() })
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(sb.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(sb.AccessKeyID, sb.SecretAccessKey, "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	return sb, ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(sb.ECREndpoint) })
}

func digestN(i int) string { return "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i), 32) }

// Calls bounded by the repository: every id cached is one batched DescribeImages; one id missing makes
// DescribeImages fail whole with ImageNotFoundException (model: DescribeImagesResponse has no failures
// list, and ImageNotFoundException is among DescribeImages' errors), so one listing follows; a missing
// repository (RepositoryNotFoundException, a certain cold miss) is one call.
func TestProbeRepositoryCalls(t *testing.T) {
	sb, c := sandboxClient(t)
	ctx := context.Background()
	const repo = "docker-hub/library/node"
	sb.Store.EnsureRepository(repo, "")
	var ids []ecrx.ProbeID
	for i := range 150 { // more than one page of a listing without maxResults (100)
		tag := fmt.Sprintf("t%d", i)
		sb.Store.PutImage(repo, tag, sandbox.Image{Digest: digestN(i), MediaType: "application/vnd.oci.image.manifest.v1+json", Manifest: []byte(`{}`), Size: int64(i)})
		if i < 40 {
			ids = append(ids, ecrx.ProbeID{Tag: tag})
		}
	}
	ids = append(ids, ecrx.ProbeID{Digest: digestN(140)})

	calls := 0
	res, err := ecrx.ProbeRepository(ctx, c, repo, ids, &calls)
	if err != nil || calls != 1 {
		t.Fatalf("all cached: %d calls, %v", calls, err)
	}
	for i, r := range res {
		if r.Outcome != ecrx.Hit {
			t.Fatalf("id %d: %+v", i, r)
		}
	}
	if res[3].Digest != digestN(3) || res[40].Digest != digestN(140) {
		t.Errorf("wrong digests: %s %s", res[3].Digest, res[40].Digest)
	}

	calls = 0
	ids = append(ids, ecrx.ProbeID{Tag: "missing"}, ecrx.ProbeID{Tag: "t149"})
	res, err = ecrx.ProbeRepository(ctx, c, repo, ids, &calls)
	if err != nil || calls != 2 {
		t.Fatalf("one missing: %d calls (want batch + one listing page), %v", calls, err)
	}
	if res[41].Outcome != ecrx.Miss || res[42].Outcome != ecrx.Hit || res[42].Digest != digestN(149) || res[0].Outcome != ecrx.Hit {
		t.Errorf("one missing: %+v %+v %+v", res[41], res[42], res[0])
	}

	calls = 0
	res, err = ecrx.ProbeRepository(ctx, c, "docker-hub/library/nope", ids[:3], &calls)
	if err != nil || calls != 1 || res[0].Outcome != ecrx.Miss || !strings.Contains(res[0].Reason, "does not exist yet") {
		t.Fatalf("no repository: %d calls, %+v, %v", calls, res, err)
	}
}
