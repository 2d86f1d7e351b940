package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// sandboxOIDC is `ecr-ptc sandbox --oidc github|gitlab`: one role that trusts the sandbox issuer's tokens
// for that CI, and the variables the CI would give a job, so that the web identity flow runs offline.
type sandboxOIDC struct {
	kind       string        // "", github or gitlab
	maxSession time.Duration // the role's MaxSessionDuration (0: IAM's default, 1 h)
}

// gitlabSandboxSubject is the sub of GitLab's id_tokens for a branch pipeline of example/app.
const gitlabSandboxSubject = "project_path:example/app:ref_type:branch:ref:main"

// gitlabSandboxTokenTTL: GitLab's id_tokens expire with the job; a job's default timeout is 1 h.
const gitlabSandboxTokenTTL = time.Hour

func (o sandboxOIDC) validate() error {
	switch o.kind {
	case "", "github", "gitlab":
	default:
		return usagef("--oidc %q: use github or gitlab", o.kind)
	}
	if o.maxSession != 0 && o.kind == "" {
		return usagef("--role-max-session sets the MaxSessionDuration of the --oidc role; add --oidc github or --oidc gitlab")
	}
	if o.maxSession != 0 && (o.maxSession < time.Hour || o.maxSession > 12*time.Hour) {
		return usagef("--role-max-session %s: IAM allows 1h to 12h", o.maxSession)
	}
	return nil
}

func (o sandboxOIDC) roleName() string { return "ecr-ptc-sandbox-" + o.kind }

// roles is the sandbox Config.Roles for the flag: nil (every role trusted) without --oidc.
func (o sandboxOIDC) roles() map[string]sandbox.RoleTrust {
	if o.kind == "" {
		return nil
	}
	sub := "repo:example/app:*"
	if o.kind == "gitlab" {
		sub = "project_path:example/app:*"
	}
	return map[string]sandbox.RoleTrust{o.roleName(): {Subjects: []string{sub}, MaxSessionDuration: o.maxSession}}
}

// env turns the sandbox's variables into a CI job's: the static keys go (a CI job has none), the
// CI's token variables and ECR_PTC_ROLE_ARN come.
func (o sandboxOIDC) env(sb *sandbox.Sandbox, vars []string) ([]string, error) {
	if o.kind == "" {
		return vars, nil
	}
	var out []string
	for _, kv := range vars {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			out = append(out, kv)
		}
	}
	out = append(out, fmt.Sprintf("ECR_PTC_ROLE_ARN=arn:aws:iam::%s:role/%s", sb.AccountID, o.roleName()))
	switch o.kind {
	case "github":
		out = append(out, "GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL="+sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+sb.GitHubRequestToken)
	case "gitlab":
		tok, err := sb.MintToken(map[string]any{"sub": gitlabSandboxSubject, "project_path": "example/app", "ref": "main", "ref_type": "branch"}, gitlabSandboxTokenTTL)
		if err != nil {
			return nil, err
		}
		out = append(out, "GITLAB_CI=true", "ECR_PTC_ID_TOKEN="+tok)
	}
	return out, nil
}
