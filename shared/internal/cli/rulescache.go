package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// rulesCache is setup's cache of the registry's rules (ecr.RulesCache), which the session lists through.
// It lives beside the probe cache (probecache.go: the token cache's directory, used only when it is a
// 0700 directory of this user) under the same kind of key: the ECR endpoint, the region, the caller's
// identity and the registry. The jobs of a runner that shares that directory then list the rules once per
// ecr.RulesCacheTTL, the first one while the others wait for it. --probe-cache 0 turns it off with the
// probe cache; with --ensure-rules setup always lists (and the session refreshes the cache with the rules
// it creates). Anything unusable (no directory, a client without credentials to key on) lists.
func (f *setupFlags) rulesCache(ctx context.Context, env Env, client ecrx.DescribeRulesAPI, registry string, src credSource) *ecrx.RulesCache {
	if f.probeTTL <= 0 {
		return nil
	}
	dir := jobTokenDir(env, f.lf.tokenCache)
	if dir == "" || (ecrx.TokenCache{Dir: dir}).CheckDir() != nil {
		return nil
	}
	c, ok := client.(interface{ Options() ecr.Options })
	if !ok {
		return nil
	}
	o := c.Options()
	identity := src.String()
	if src.Kind == "default-chain" {
		if o.Credentials == nil {
			return nil
		}
		creds, err := o.Credentials.Retrieve(ctx)
		if err != nil {
			return nil
		}
		identity += "|" + creds.AccessKeyID
	}
	account := ""
	if reg, ok := imageref.ParseECRHost(strings.Split(registry, ":")[0]); ok {
		account = reg.AccountID
	}
	key := ecrx.Key(fmt.Sprint(env.getenv("AWS_ENDPOINT_URL_ECR"), "|", o.Region), identity, []string{registry})
	return &ecrx.RulesCache{Dir: dir, Key: key, Account: account, TTL: min(f.probeTTL, ecrx.RulesCacheTTL), NoRead: f.ensureRules}
}
