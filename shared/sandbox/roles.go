package sandbox

// The IAM side of the sandbox's roles: each role's MaxSessionDuration (what AssumeRoleWithWebIdentity
// may ask for) and the actions its policies leave out (what a pull through the cache may do).
//
// Facts emulated (../shared/reference/ecr-pull-through-cache.md):
//   - "STS AssumeRoleWithWebIdentity: DurationSeconds 900 up to the role's MaxSessionDuration (default
//     3600, at most 43200); above it STS answers ValidationError '... exceeds the MaxSessionDuration set
//     for this role'."
//   - "First pull creates the repository ... The pulling identity needs ecr:BatchImportUpstreamImage, and
//     ecr:CreateRepository for a new repository, on top of the usual ecr:GetAuthorizationToken,
//     ecr:BatchGetImage, ecr:GetDownloadUrlForLayer." The registry's answer to a pull without them is
//     unverified (docs/aws-facts.md); the sandbox gives IAM's usual denial, as DENIED.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// IAM's bounds on a role's MaxSessionDuration (IAM API reference: 3600 to 43200 seconds).
const (
	defaultRoleMaxSession = time.Hour
	maxRoleMaxSession     = 12 * time.Hour
)

// Actions a first pull through a rule needs besides the pull actions (reference).
const (
	ActionBatchImportUpstreamImage = "ecr:BatchImportUpstreamImage"
	ActionCreateRepository         = "ecr:CreateRepository"
)

// msgDurationExceedsMax is STS's text for a DurationSeconds above the role's MaxSessionDuration
// (reference; STS API reference, AssumeRoleWithWebIdentity, DurationSeconds).
const msgDurationExceedsMax = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."

// checkRoles rejects a Config whose roles IAM would not accept.
func checkRoles(cfg Config) error {
	for name, r := range cfg.Roles {
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < defaultRoleMaxSession || r.MaxSessionDuration > maxRoleMaxSession) {
			return fmt.Errorf("sandbox: role %s: MaxSessionDuration %s is outside IAM's 1h–12h", name, r.MaxSessionDuration)
		}
	}
	return nil
}

// roleTrust finds a role's entry in Config.Roles by ARN or by name.
func roleTrust(cfg Config, roleArn, roleName string) (RoleTrust, bool) {
	if t, ok := cfg.Roles[roleArn]; ok {
		return t, true
	}
	t, ok := cfg.Roles[roleName]
	return t, ok
}

// roleMaxSession is a role's MaxSessionDuration (IAM's default 1 h when not set).
func roleMaxSession(cfg Config, roleArn, roleName string) time.Duration {
	if t, ok := roleTrust(cfg, roleArn, roleName); ok && t.MaxSessionDuration != 0 {
		return t.MaxSessionDuration
	}
	return defaultRoleMaxSession
}

// allowed reports whether who may perform action: the static user and roles without a Denied list may
// do everything; an assumed role may not do what its Denied list names.
func (d *deps) allowed(who identity, action string) bool {
	name, ok := assumedRoleName(who.Arn)
	if !ok {
		return true
	}
	t, ok := roleTrust(d.cfg, fmt.Sprintf("arn:aws:iam::%s:role/%s", who.Account, name), name)
	if !ok {
		return true
	}
	for _, a := range t.Denied {
		if a == action || a == "ecr:*" || a == "*" {
			return false
		}
	}
	return true
}

// assumedRoleName is ROLE of arn:aws:sts::ACCT:assumed-role/ROLE/SESSION.
func assumedRoleName(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":assumed-role/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, name != ""
}

// accessDeniedMessage is IAM's text for an action no identity-based policy allows.
func (d *deps) accessDeniedMessage(who identity, action, repo string) string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: arn:aws:ecr:%s:%s:repository/%s because no identity-based policy allows the %s action",
		who.Arn, action, d.cfg.Region, d.cfg.AccountID, repo, action)
}

// errImportDenied is the registry's answer to a first pull by an identity without an import action:
// 403 DENIED with IAM's text (the exact answer is unverified: docs/aws-facts.md).
func errImportDenied(d *deps, who identity, action, repo string) *regError {
	return &regError{http.StatusForbidden, "DENIED", d.accessDeniedMessage(who, action, repo)}
}

// tokenOwners remembers who GetAuthorizationToken issued each registry password to, so that the data
// plane can check the puller's permissions (ECR's token carries the caller's identity).
type tokenOwners struct {
	mu sync.Mutex
	m  map[string]identity
}

func (o *tokenOwners) set(password string, who identity) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]identity{}
	}
	o.m[password] = who
}

func (o *tokenOwners) get(password string) identity {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[password]
}

type pullerKey struct{}

// withPuller puts the identity behind a registry request's token into its context.
func withPuller(ctx context.Context, d *deps, r *http.Request) context.Context {
	_, pw, _ := r.BasicAuth()
	return context.WithValue(ctx, pullerKey{}, d.owners.get(pw))
}

// importDenied reports the first action a pull through a rule into repo needs that the puller in ctx
// lacks: ecr:BatchImportUpstreamImage, then ecr:CreateRepository when repo does not exist yet.
func importDenied(ctx context.Context, d *deps, repo string) *regError {
	who, _ := ctx.Value(pullerKey{}).(identity)
	if !d.allowed(who, ActionBatchImportUpstreamImage) {
		return errImportDenied(d, who, ActionBatchImportUpstreamImage, repo)
	}
	if _, exists := d.store.Repository(repo); !exists && !d.allowed(who, ActionCreateRepository) {
		return errImportDenied(d, who, ActionCreateRepository, repo)
	}
	return nil
}
