package cli

import (
	"cmp"
	"context"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
)

// door picks the Platform for --ci: a name, "auto" (detect), or "none".
func door(env Env, name string) (ciplatform.Platform, error) {
	p, err := ciplatform.Find(env.Platforms, env.getenv, name)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return p, nil
}

// maskingProvider masks every credential it hands out before the SDK can use it anywhere.
type maskingProvider struct {
	aws.CredentialsProvider
	mask func(string)
}

func (m maskingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err == nil {
		m.mask(c.SecretAccessKey)
		m.mask(c.SessionToken)
	}
	return c, err
}

// withMasks makes cfg's credentials pass through d.Mask; the access key ID is not a secret.
func withMasks(cfg aws.Config, d ciplatform.Platform) aws.Config {
	if d == nil || cfg.Credentials == nil {
		return cfg
	}
	cfg.Credentials = aws.NewCredentialsCache(maskingProvider{CredentialsProvider: cfg.Credentials, mask: func(s string) {
		if s != "" {
			d.Mask(s)
		}
	}})
	return cfg
}

// jobTokenDir is where tokens and probes are cached between the steps of one job: the flag,
// $ECR_PTC_TOKEN_CACHE, or ecr-ptc-tokens in the platform's job temporary directory — not that directory
// itself, which the action keeps work files in, since the cache directory must be ours alone (0700).
func jobTokenDir(env Env, flag string) string {
	if d := cmp.Or(flag, env.getenv("ECR_PTC_TOKEN_CACHE")); d != "" {
		return d
	}
	if t := ciplatform.TempDir(env.Platforms, env.getenv); t != "" {
		return filepath.Join(t, "ecr-ptc-tokens")
	}
	return ""
}
