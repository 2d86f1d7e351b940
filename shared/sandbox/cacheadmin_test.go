package sandbox_test

// The cache housekeeping operations (cacheadmin.go) through the real SDK, every answer checked against
// the ECR service model like TestECRAnswersMatchTheServiceModel does.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// checkModel fails on any recorded answer the model does not allow and returns "Op ok"/"Op Code" seen.
func checkModel(t *testing.T, m model, rec *recorder) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, ex := range rec.log {
		op, ok := m.Operations[ex.op]
		if !ok {
			t.Errorf("the sandbox answered %q, which the model does not have", ex.op)
			continue
		}
		if ex.status == http.StatusOK {
			seen[ex.op+" ok"] = true
			var body any
			if err := json.Unmarshal(ex.body, &body); err != nil {
				t.Errorf("%s: body is not JSON: %v", ex.op, err)
				continue
			}
			if op.Output != nil {
				for _, problem := range conform(m, op.Output.Shape, body, ex.op) {
					t.Error(problem)
				}
			}
			continue
		}
		var e struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(ex.body, &e)
		code := e.Type[strings.LastIndex(e.Type, "#")+1:]
		seen[ex.op+" "+code] = true
		allowed := commonErrors[code]
		for _, me := range op.Errors {
			if me.Shape == code {
				allowed = true
			}
		}
		if !allowed {
			t.Errorf("%s answered %s (HTTP %d), which the model does not list for it", ex.op, code, ex.status)
		}
	}
	return seen
}

const untaggedTwoDays = `{"rules":[{"rulePriority":1,"description":"expire untagged images after 2 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":2},"action":{"type":"expire"}},` +
	`{"rulePriority":2,"description":"expire images not pulled for 30 days","selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30},"action":{"type":"expire"}}]}`

// ECR user guide (repository creation templates): a template whose prefix matches, applied for
// PULL_THROUGH_CACHE, gives the repository a pull-through cache rule creates its lifecycle policy and
// tags. Lifecycle policy properties: untagged + sinceImagePushed, any + sinceImagePulled. BatchDeleteImage
// (API reference): removing an image's last tag deletes the image.
func TestCacheHousekeepingOperations(t *testing.T) {
	m := loadModel(t)
	var offset atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{BatchGetImageImports: true, Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub",
		CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub"})
	rec := &recorder{mu: make(chan struct{}, 1)}
	client := ecr.New(ecr.Options{
		Region: sb.Region, BaseEndpoint: aws.String(sb.ECREndpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(sb.AccessKeyID, sb.SecretAccessKey, ""),
		HTTPClient:       &http.Client{Transport: rec, Timeout: 10 * time.Second},
		RetryMaxAttempts: 3, // the SDK corrects its clock after the sandbox clock jumps (Signature expired)
	})
	const repo = "docker-hub/library/alpine"

	// A template for future cache repositories.
	_, err = client.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix: aws.String("docker-hub"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForPullThroughCache},
		LifecyclePolicy: aws.String(untaggedTwoDays), ResourceTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{Prefix: aws.String("docker-hub"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForPullThroughCache}})
	var exists *types.TemplateAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second create: %v", err)
	}
	_, err = client.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{Prefix: aws.String("Bad!"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForPullThroughCache}})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("bad prefix: %v", err)
	}
	up, err := client.UpdateRepositoryCreationTemplate(ctx, &ecr.UpdateRepositoryCreationTemplateInput{Prefix: aws.String("docker-hub"), Description: aws.String("ecr-ptc cache housekeeping")})
	if err != nil || aws.ToString(up.RepositoryCreationTemplate.LifecyclePolicy) != untaggedTwoDays || aws.ToString(up.RepositoryCreationTemplate.Description) == "" {
		t.Fatalf("update keeps unnamed members: %+v %v", up, err)
	}
	_, err = client.UpdateRepositoryCreationTemplate(ctx, &ecr.UpdateRepositoryCreationTemplateInput{Prefix: aws.String("nope")})
	var tnf *types.TemplateNotFoundException
	if !errors.As(err, &tnf) {
		t.Fatalf("update of a missing template: %v", err)
	}
	desc, err := client.DescribeRepositoryCreationTemplates(ctx, &ecr.DescribeRepositoryCreationTemplatesInput{})
	if err != nil || len(desc.RepositoryCreationTemplates) != 1 {
		t.Fatalf("describe: %+v %v", desc, err)
	}

	// The first pull creates the repository through the template.
	get := func() string {
		out, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("3.20")}}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("BatchGetImage: %+v %v", out, err)
		}
		return aws.ToString(out.Images[0].ImageId.ImageDigest)
	}
	first := get()
	pol, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
	if err != nil || aws.ToString(pol.LifecyclePolicyText) != untaggedTwoDays {
		t.Fatalf("the template's policy was not applied: %+v %v", pol, err)
	}
	repos, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if err != nil || repos.Repositories[0].CreatedAt == nil {
		t.Fatalf("DescribeRepositories: %+v %v", repos, err)
	}
	tags, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repos.Repositories[0].RepositoryArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags: %+v %v", tags, err)
	}

	// The tag moves upstream and the refresh window passes: the old digest is left untagged...
	moved, err := sb.MoveTag("docker-hub", "library/alpine", "3.20")
	if err != nil {
		t.Fatal(err)
	}
	if got := get(); got != first {
		t.Fatalf("before the refresh window the cache serves %s, want the stale %s", got, first)
	}
	offset.Store(int64(25 * time.Hour))
	if got := registryPull(t, ctx, client, sb.RegistryHost+"/"+repo+":3.20"); got != moved {
		t.Fatalf("after the refresh window the cache serves %s, want %s", got, moved)
	}
	imgs, _ := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusUntagged}})
	// A multi-arch tag's platform manifests are untagged images too (the whole index is imported: AWS user
	// guide, pull-through-cache considerations), so look for the old index among them.
	digests := func(ds []types.ImageDetail) map[string]types.ImageDetail {
		out := map[string]types.ImageDetail{}
		for _, d := range ds {
			out[aws.ToString(d.ImageDigest)] = d
		}
		return out
	}
	if _, ok := digests(imgs.ImageDetails)[first]; !ok {
		t.Fatalf("untagged after the move: %+v", imgs.ImageDetails)
	}
	// ...and the policy expires it two days after it was pushed (on the sandbox clock).
	offset.Store(int64(50 * time.Hour))
	imgs, _ = client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
	after := digests(imgs.ImageDetails)
	if cur, ok := after[moved]; !ok || after[first].ImageDigest != nil || len(cur.ImageTags) != 1 || cur.LastRecordedPullTime == nil || aws.ToInt64(cur.ImageSizeInBytes) < 0 {
		t.Fatalf("after expiry: %+v", imgs.ImageDetails)
	}
	pol, _ = client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
	if pol == nil || pol.LastEvaluatedAt == nil {
		t.Fatalf("lastEvaluatedAt not set: %+v", pol)
	}

	// BatchDeleteImage by tag removes the last tag and the image.
	del, err := client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("3.20")}, {ImageTag: aws.String("9.9")}}})
	if err != nil || len(del.ImageIds) != 1 || aws.ToString(del.ImageIds[0].ImageDigest) != moved || len(del.Failures) != 1 || del.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Fatalf("BatchDeleteImage: %+v %v", del, err)
	}
	_, err = client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("3.20")}}})
	var inf *types.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Fatalf("the deleted tag is still there: %v", err)
	}
	_, err = client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("nope/nope"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("1")}}})
	var rnf *types.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("delete in a missing repository: %v", err)
	}

	// Lifecycle policy errors: too short (model constraint), then invalid rules.
	_, err = client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(`{"rules":[]}`)})
	if !errors.As(err, &ve) {
		t.Fatalf("short policy: %v", err)
	}
	bad := strings.Replace(untaggedTwoDays, `"countUnit":"days","countNumber":2`, `"countNumber":2`, 1)
	_, err = client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(bad)})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "Lifecycle policy validation failure") {
		t.Fatalf("invalid policy: %v", err)
	}
	if _, err := client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(untaggedTwoDays)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String(repo)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
	var lnf *types.LifecyclePolicyNotFoundException
	if !errors.As(err, &lnf) {
		t.Fatalf("policy after delete: %v", err)
	}
	if _, err := client.DeleteRepositoryCreationTemplate(ctx, &ecr.DeleteRepositoryCreationTemplateInput{Prefix: aws.String("docker-hub")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeleteRepositoryCreationTemplate(ctx, &ecr.DeleteRepositoryCreationTemplateInput{Prefix: aws.String("docker-hub")})
	if !errors.As(err, &tnf) {
		t.Fatalf("second delete: %v", err)
	}

	seen := checkModel(t, m, rec)
	for _, want := range []string{"CreateRepositoryCreationTemplate ok", "CreateRepositoryCreationTemplate TemplateAlreadyExistsException",
		"UpdateRepositoryCreationTemplate ok", "DescribeRepositoryCreationTemplates ok", "DeleteRepositoryCreationTemplate TemplateNotFoundException",
		"GetLifecyclePolicy ok", "GetLifecyclePolicy LifecyclePolicyNotFoundException", "PutLifecyclePolicy ValidationException",
		"PutLifecyclePolicy InvalidParameterException", "BatchDeleteImage ok", "BatchDeleteImage RepositoryNotFoundException",
		"ListTagsForResource ok", "DeleteLifecyclePolicy ok"} {
		if !seen[want] {
			t.Errorf("the script never got %q", want)
		}
	}
}

// registryPull resolves ref on the sandbox's registry data plane with an ECR login (a docker pull's
// manifest GET), returning the digest.
func registryPull(t *testing.T, ctx context.Context, client *ecr.Client, ref string) string {
	t.Helper()
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	user, pass, _ := strings.Cut(string(raw), ":")
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err != nil {
		t.Fatal(err)
	}
	return desc.Digest.String()
}

// Reference / Docker Hub: HEAD requests do not count against the pull rate limit. The stand-in counts
// them apart (Stats.UpstreamHeads) and leaves ratelimit-remaining alone.
func TestDockerHubHeadsAreNotPulls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{RateLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	url := "http://" + sb.Upstreams["docker-hub"] + "/v2/library/alpine/manifests/3.20"
	remaining := func(method string) string {
		req, _ := http.NewRequest(method, url, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") == "" {
			t.Fatalf("%s: %d", method, resp.StatusCode)
		}
		return resp.Header.Get("ratelimit-remaining")
	}
	for range 10 {
		if got := remaining(http.MethodHead); got != "5;w=21600" {
			t.Fatalf("HEAD used the allowance: %s", got)
		}
	}
	if got := remaining(http.MethodGet); got != "4;w=21600" {
		t.Fatalf("GET: %s", got)
	}
	st := sb.Stats.Snapshot()
	if st.UpstreamHeads["docker-hub"] != 10 || st.UpstreamManifestGets["docker-hub"] != 1 {
		t.Fatalf("stats: heads %v gets %v", st.UpstreamHeads, st.UpstreamManifestGets)
	}
}
