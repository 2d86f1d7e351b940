package sandbox_test

// Truth to AWS: every answer the sandbox's ECR endpoint gives is checked against the ECR service model
// (../shared/reference/aws-models/ecr-2015-09-21.service-2.json): a success body may only hold members of
// the operation's output shape, with the model's types, and an error code must be one the model lists
// for that operation or one every AWS JSON service may return.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

type shape struct {
	Type    string            `json:"type"`
	Members map[string]member `json:"members"`
	Member  *member           `json:"member"`
	Value   *member           `json:"value"`
	Enum    []string          `json:"enum"`
}

type member struct {
	Shape string `json:"shape"`
}

type operation struct {
	Output *member  `json:"output"`
	Errors []member `json:"errors"`
}

type model struct {
	Operations map[string]operation `json:"operations"`
	Shapes     map[string]shape     `json:"shapes"`
}

// commonErrors may come from any AWS JSON-protocol service, whatever the operation's error list says
// (authentication, throttling, protocol errors).
var commonErrors = map[string]bool{
	"AccessDeniedException": true, "IncompleteSignature": true, "InternalFailure": true, "InvalidSignatureException": true,
	"MissingAuthenticationTokenException": true, "UnrecognizedClientException": true, "ExpiredTokenException": true,
	"ThrottlingException": true, "ServiceUnavailable": true, "UnknownOperationException": true, "SerializationException": true,
}

// referenceDir finds ../shared/reference beside the repository (as laid out for developers and CI).
func referenceDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared/reference")
	if err == nil {
		if _, err = os.Stat(filepath.Join(dir, "aws-models")); err == nil {
			return dir
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the ECR service model is missing: expected %s (shared/ beside the repository)", dir)
	}
	t.Skipf("the ECR service model is not at %s; check out shared/ beside the repository to run this test", dir)
	return ""
}

func loadModel(t *testing.T) model {
	data, err := os.ReadFile(filepath.Join(referenceDir(t), "aws-models", "ecr-2015-09-21.service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m model
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// exchange is one recorded request and answer.
type exchange struct {
	op     string
	status int
	body   []byte
}

type recorder struct {
	mu  chan struct{}
	log []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonEC2ContainerRegistry_V20150921.")
	r.mu <- struct{}{}
	r.log = append(r.log, exchange{op: op, status: resp.StatusCode, body: body})
	<-r.mu
	return resp, nil
}

func TestECRAnswersMatchTheServiceModel(t *testing.T) {
	m := loadModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	rec := &recorder{mu: make(chan struct{}, 1)}
	client := ecr.New(ecr.Options{
		Region: sb.Region, BaseEndpoint: aws.String(sb.ECREndpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(sb.AccessKeyID, sb.SecretAccessKey, ""),
		HTTPClient:       &http.Client{Transport: rec, Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
	secret := func(name string) *string {
		return aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/" + name)
	}
	// A script that walks every operation through its success and its error answers.
	calls := []func() error{
		func() error {
			_, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			return err
		},
		func() error {
			//lint:ignore SA1019 the deprecated registryIds is still part of the model and must be answered.
			_, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: []string{"999999999999"}})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io"), UpstreamRegistry: types.UpstreamRegistryQuay})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io")})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub"), UpstreamRegistryUrl: aws.String("registry-1.docker.io"), UpstreamRegistry: types.UpstreamRegistryDockerHub, CredentialArn: secret("hub")})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("hub2"), UpstreamRegistryUrl: aws.String("registry-1.docker.io"), UpstreamRegistry: types.UpstreamRegistryDockerHub})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("hub3"), UpstreamRegistryUrl: aws.String("registry-1.docker.io"), UpstreamRegistry: types.UpstreamRegistryDockerHub, CredentialArn: secret("x-missing")})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("Bad_Prefix!"), UpstreamRegistryUrl: aws.String("quay.io")})
			return err
		},
		func() error {
			_, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("gcr"), UpstreamRegistryUrl: aws.String("gcr.io")})
			return err
		},
		func() error {
			_, err := client.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
			return err
		},
		func() error {
			_, err := client.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"nope"}})
			return err
		},
		func() error {
			_, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
			return err
		},
		func() error {
			_, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope")})
			return err
		},
		func() error {
			_, err := client.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("docker-hub"), CredentialArn: secret("hub-2")})
			return err
		},
		func() error {
			_, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("docker-hub/library/alpine")})
			return err
		},
		func() error {
			sb.Store.EnsureRepository("docker-hub/library/alpine", "docker-hub")
			sb.Store.PutImage("docker-hub/library/alpine", "3.20", sandbox.Image{Digest: "sha256:" + strings.Repeat("a", 64), MediaType: "application/vnd.oci.image.index.v1+json", Manifest: []byte(`{}`), Size: 100})
			_, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("docker-hub/library/alpine")})
			return err
		},
		func() error {
			_, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("docker-hub/library/alpine"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("9.9")}}})
			return err
		},
		func() error { _, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); return err },
		func() error {
			_, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope/nope"}})
			return err
		},
		func() error {
			_, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("docker-hub/library/alpine"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("3.20")}, {ImageTag: aws.String("9.9")}}})
			return err
		},
		func() error {
			_, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("nope/nope"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("1")}}})
			return err
		},
		func() error {
			_, err := client.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
			return err
		},
		func() error {
			_, err := client.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
			return err
		},
	}
	for _, call := range calls {
		_ = call() // errors are checked against the model below
	}

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
	// The script must really have reached these answers.
	for _, want := range []string{
		"GetAuthorizationToken ok", "CreatePullThroughCacheRule ok", "CreatePullThroughCacheRule PullThroughCacheRuleAlreadyExistsException",
		"CreatePullThroughCacheRule UnsupportedUpstreamRegistryException", "CreatePullThroughCacheRule SecretNotFoundException",
		"DescribePullThroughCacheRules ok", "DescribePullThroughCacheRules PullThroughCacheRuleNotFoundException",
		"ValidatePullThroughCacheRule ok", "UpdatePullThroughCacheRule ok", "DescribeImages RepositoryNotFoundException",
		"DescribeImages ok", "DescribeImages ImageNotFoundException", "DescribeRepositories ok", "DescribeRepositories RepositoryNotFoundException",
		"BatchGetImage ok", "BatchGetImage RepositoryNotFoundException", "DeletePullThroughCacheRule ok", "DeletePullThroughCacheRule PullThroughCacheRuleNotFoundException",
	} {
		if !seen[want] {
			t.Errorf("the script never got %q (got %v)", want, keys(seen))
		}
	}
}

// conform lists where v departs from the model's shape.
func conform(m model, shapeName string, v any, path string) []string {
	sh, ok := m.Shapes[shapeName]
	if !ok {
		return []string{fmt.Sprintf("%s: unknown shape %s", path, shapeName)}
	}
	var out []string
	bad := func(want string) []string {
		return []string{fmt.Sprintf("%s: %T where the model has %s (%s)", path, v, want, shapeName)}
	}
	switch sh.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("a structure")
		}
		for k, val := range obj {
			mem, ok := sh.Members[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: member %q is not in %s", path, k, shapeName))
				continue
			}
			out = append(out, conform(m, mem.Shape, val, path+"."+k)...)
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		for i, el := range arr {
			out = append(out, conform(m, sh.Member.Shape, el, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("a map")
		}
		for k, val := range obj {
			out = append(out, conform(m, sh.Value.Shape, val, path+"."+k)...)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if len(sh.Enum) > 0 && !slicesContains(sh.Enum, s) {
			out = append(out, fmt.Sprintf("%s: %q is not in the enum %s", path, s, shapeName))
		}
	case "timestamp", "long", "integer", "float", "double":
		if _, ok := v.(float64); !ok {
			return bad("a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	case "blob":
		if _, ok := v.(string); !ok {
			return bad("base64 data")
		}
	}
	return out
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
