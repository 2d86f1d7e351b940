package sandbox

// The upstream private-ECR stand-in, for ECR-to-ECR pull-through cache rules: another account's registry
// in another region, <UpstreamECRAccount>.dkr.ecr.<UpstreamECRRegion>.amazonaws.com, served on loopback
// and seeded with team/app:1 and team/app:2. Facts emulated (../shared/reference/ecr-pull-through-cache.md
// and the ECR service model):
//   - "ECR-to-ECR uses an IAM role" — the rule's customRoleArn, "the IAM role to be assumed by Amazon ECR
//     to authenticate to the ECR upstream registry. This role must be in the same account as the registry
//     that you are configuring" (model, CreatePullThroughCacheRuleRequest.customRoleArn).
//   - "Rule fields added in 2025: upstreamRepositoryPrefix (default ROOT ...)" — the cache maps
//     <ecrRepositoryPrefix>/<rest> to <upstreamRepositoryPrefix>/<rest> (Store.RuleFor).
// Like ECR, the stand-in answers /v2/ without credentials with 401 and a Basic challenge. The cache
// authenticates as the rule's role (the password is the role ARN: the sandbox's stand-in for the token
// ECR gets by assuming the role); the stand-in's registry policy lets UpstreamECRRoleArn pull and refuses
// every other role with 403 DENIED, which the cache reports as the upstream authentication failure.

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// The upstream private registry's account and region, and the role (in the sandbox's own account,
// Config.AccountID) that its registry policy lets pull.
const (
	UpstreamECRAccount  = "210987654321"
	UpstreamECRRegion   = "us-west-2"
	UpstreamECRRoleName = "ecr-ptc-sandbox-upstream"
)

// UpstreamECRHost is the upstream private registry's host as a rule's upstreamRegistryUrl names it.
func UpstreamECRHost() string { return imageref.ECRHost(UpstreamECRAccount, UpstreamECRRegion) }

// UpstreamECRRoleArn is the customRoleArn an ECR-to-ECR rule of this sandbox needs.
func (s *Sandbox) UpstreamECRRoleArn() string { return upstreamECRRoleArn(s.d) }

func upstreamECRRoleArn(d *deps) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", d.cfg.AccountID, UpstreamECRRoleName)
}

// newECRUpstream is the private-ECR stand-in; its seeds are in seededImages under "ecr".
func newECRUpstream(d *deps) *upstream {
	u := newUpstream(d, "ecr", UpstreamECRHost())
	u.authorize = func(w http.ResponseWriter, r *http.Request) bool {
		user, pw, ok := r.BasicAuth()
		if ok && user == "AWS" && pw == upstreamECRRoleArn(d) {
			return true
		}
		if ok {
			// A role the registry policy does not name.
			writeRegistryError(w, http.StatusForbidden, "DENIED", fmt.Sprintf("User: %s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:%s:%s:repository/* because no resource-based policy allows the ecr:BatchGetImage action", pw, UpstreamECRRegion, UpstreamECRAccount))
			return false
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="https://%s/",service="ecr.amazonaws.com"`, UpstreamECRHost()))
		writeRegistryError(w, http.StatusUnauthorized, "DENIED", "Not Authorized")
		return false
	}
	return u
}

// roleClients are the cache's clients for an ECR upstream, one per customRoleArn.
type roleClients struct {
	mu sync.Mutex
	m  map[string]*remote.Puller
}

// clientFor is the cache's client for rule: anonymous, or authenticated as the rule's customRoleArn
// for an ECR-to-ECR rule.
func (u *upstream) clientFor(rule rules.Rule) (*remote.Puller, error) {
	if rule.CustomRoleArn == "" {
		return u.client()
	}
	u.roles.mu.Lock()
	defer u.roles.mu.Unlock()
	if p, ok := u.roles.m[rule.CustomRoleArn]; ok {
		return p, nil
	}
	p, err := remote.NewPuller(append(u.pullerOptions(), remote.WithAuth(&authn.Basic{Username: "AWS", Password: rule.CustomRoleArn}))...)
	if err != nil {
		return nil, err
	}
	if u.roles.m == nil {
		u.roles.m = map[string]*remote.Puller{}
	}
	u.roles.m[rule.CustomRoleArn] = p
	return p, nil
}

// upstreamECREnv is what clients need for ECR-to-ECR rules: the stand-in's loopback address, the
// registry host a rule's upstreamRegistryUrl names, and the customRoleArn its policy lets pull.
func (s *Sandbox) upstreamECREnv() []string {
	addr, ok := s.Upstreams["ecr"]
	if !ok {
		return nil
	}
	return []string{
		"ECR_PTC_SANDBOX_UPSTREAM_ECR=" + addr,
		"ECR_PTC_SANDBOX_UPSTREAM_ECR_HOST=" + UpstreamECRHost(),
		"ECR_PTC_SANDBOX_UPSTREAM_ECR_ROLE_ARN=" + s.UpstreamECRRoleArn(),
	}
}
