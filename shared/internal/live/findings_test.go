//go:build live

// The unknowns of docs/aws-facts.md, measured on a real account: each scenario prints one FINDING line
// (paste them into docs/aws-facts.md with the date). It uses its own ecr-ptc-live- rule (ECR Public
// upstream: no secret) and deletes it and its repositories at the end. Digest pulls on a cold cache and
// BatchGetImage by tag are measured by TestLive.
package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

const indexAccept = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

// registryAnswer GETs a manifest and returns the status and the first line of the body (at most 300
// characters: a registry error body never holds a secret, but stays short in the log).
func registryAnswer(ctx context.Context, auth ecrx.Auth, repo, ref string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, auth.ProxyEndpoint+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(auth.Username, auth.Password)
	req.Header.Set("Accept", indexAccept)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	line, _, _ := strings.Cut(string(b), "\n")
	if resp.StatusCode == http.StatusOK {
		line = resp.Header.Get("Content-Type") + " " + resp.Header.Get("Docker-Content-Digest")
	}
	return resp.StatusCode, line, nil
}

func TestLiveFindings(t *testing.T) {
	ctx, client, prefix := setup(t)
	t.Cleanup(func() {
		_, err := client.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix)})
		var nf *types.PullThroughCacheRuleNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("cleanup: delete rule %s: %v", prefix, err)
		}
		repos, _ := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
		for _, r := range repos.Repositories {
			if strings.HasPrefix(aws.ToString(r.RepositoryName), prefix+"/") {
				if _, err := client.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: r.RepositoryName, Force: true}); err != nil {
					t.Errorf("cleanup: delete repository %s: %v", aws.ToString(r.RepositoryName), err)
				}
			}
		}
	})
	if _, err := client.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix),
		UpstreamRegistryUrl: aws.String("public.ecr.aws"), UpstreamRegistry: types.UpstreamRegistryEcrPublic}); err != nil {
		t.Fatalf("create rule: %v", err)
	}
	auths, err := ecrx.Login(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	auth := auths[0]

	// Is upstreamRepositoryPrefix "ROOT" printed on a rule that is not ECR-to-ECR?
	if out, err := client.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{prefix}}); err == nil && len(out.PullThroughCacheRules) == 1 {
		r := out.PullThroughCacheRules[0]
		t.Logf("FINDING upstreamRepositoryPrefix ROOT printed on an ecr-public rule: %q (customRoleArn %q)", aws.ToString(r.UpstreamRepositoryPrefix), aws.ToString(r.CustomRoleArn))
	} else {
		t.Logf("FINDING upstreamRepositoryPrefix ROOT printed: DescribePullThroughCacheRules failed: %v", err)
	}

	// ValidatePullThroughCacheRule on a rule without a credential.
	if v, err := client.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix)}); err == nil {
		t.Logf("FINDING ValidatePullThroughCacheRule without a credential: isValid=%v failure=%q", v.IsValid, aws.ToString(v.Failure))
	} else {
		t.Logf("FINDING ValidatePullThroughCacheRule without a credential: error %v", err)
	}

	// A wrong path and an image missing upstream: status and body as docker sees them.
	for _, c := range []struct{ what, repo, ref string }{
		{"wrong path (no docker/library/)", prefix + "/busybox", "1.36"},
		{"missing image", prefix + "/docker/library/ecr-ptc-does-not-exist", "1"},
	} {
		status, body, err := registryAnswer(ctx, auth, c.repo, c.ref)
		t.Logf("FINDING %s: HTTP %d %s (err %v)", c.what, status, body, err)
	}

	// Upstream 429/5xx on a first pull cannot be provoked on demand against a public upstream.
	t.Logf("FINDING upstream 429/5xx on a first pull: not measured (cannot be provoked on demand; watch CI logs for the cache's answer)")

	// Does the first pull of a multi-arch tag bring the children? And imageSizeInBytes of the index.
	repo := prefix + "/docker/library/busybox"
	status, body, err := registryAnswer(ctx, auth, repo, "1.36")
	if status != http.StatusOK {
		t.Logf("FINDING children with the index: the tag pull failed: HTTP %d %s (err %v)", status, body, err)
	} else {
		time.Sleep(5 * time.Second) // let an asynchronous import of the children (if any) land
		out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
		if err != nil {
			t.Logf("FINDING children with the index: DescribeImages: %v", err)
		} else {
			var index *types.ImageDetail
			var sizes []string
			for i, d := range out.ImageDetails {
				if strings.Contains(aws.ToString(d.ImageManifestMediaType), "index") || strings.Contains(aws.ToString(d.ImageManifestMediaType), "list") {
					index = &out.ImageDetails[i]
					continue
				}
				sizes = append(sizes, fmt.Sprint(aws.ToInt64(d.ImageSizeInBytes)))
			}
			t.Logf("FINDING children with the index: after one tag pull the repository holds %d images (%d besides the index)", len(out.ImageDetails), len(sizes))
			if index != nil {
				t.Logf("FINDING imageSizeInBytes of an index: %d (children: %s)", aws.ToInt64(index.ImageSizeInBytes), strings.Join(sizes, ", "))
			}
		}
	}

	// A pull without ecr:BatchImportUpstreamImage: a role with pull permissions only, assumed with the
	// default credentials.
	roleArn := os.Getenv("ECR_PTC_LIVE_PULL_ONLY_ROLE_ARN")
	if roleArn == "" {
		t.Logf("FINDING pull without BatchImportUpstreamImage: not measured (set ECR_PTC_LIVE_PULL_ONLY_ROLE_ARN to a role with GetAuthorizationToken, BatchGetImage and GetDownloadUrlForLayer only)")
		return
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleArn))
	limited, err := ecrx.Login(ctx, ecr.NewFromConfig(cfg))
	if err != nil {
		t.Logf("FINDING pull without BatchImportUpstreamImage: login as %s failed: %v", roleArn, err)
		return
	}
	status, body, err = registryAnswer(ctx, limited[0], prefix+"/docker/library/alpine", "3.20")
	t.Logf("FINDING pull without BatchImportUpstreamImage (cold, new repository): HTTP %d %s (err %v)", status, body, err)
	status, body, err = registryAnswer(ctx, limited[0], repo, "1.36")
	t.Logf("FINDING pull without BatchImportUpstreamImage (cached image): HTTP %d %s (err %v)", status, body, err)
}
