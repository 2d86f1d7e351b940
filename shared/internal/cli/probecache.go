package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

// probeCache is setup's cache of DescribeImages hits in the token cache's directory (--token-cache,
// $ECR_PTC_TOKEN_CACHE, else $RUNNER_TEMP/ecr-ptc-tokens), so it is job-scoped by default and
// runner-scoped where the runner points ECR_PTC_TOKEN_CACHE at a directory its jobs share. Like the
// tokens, it is used only from a directory owned by this user with mode 0700 (a planted entry could
// report a hit), and entries are keyed by the ECR endpoint, the region, the caller's identity and the
// registry.
func (f *setupFlags) probeCache(ctx context.Context, env Env, cfg aws.Config, src credSource, registry string) *ecrx.ProbeCache {
	if f.probeTTL <= 0 {
		return nil
	}
	dir := jobTokenDir(env, f.lf.tokenCache)
	if dir == "" || (ecrx.TokenCache{Dir: dir}).CheckDir() != nil {
		return nil // no cache: setup probes ECR, which is always right
	}
	identity := src.String()
	if src.Kind == "default-chain" {
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return nil
		}
		identity += "|" + c.AccessKeyID
	}
	key := ecrx.Key(fmt.Sprint(env.getenv("AWS_ENDPOINT_URL_ECR"), "|", cfg.Region), identity, []string{registry})
	return &ecrx.ProbeCache{Dir: dir, Key: key, TTL: f.probeTTL}
}

// probeTTLDefault is --probe-cache's default.
const probeTTLDefault = ecrx.ProbeCacheTTL
