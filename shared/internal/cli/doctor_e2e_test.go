package cli_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// The same end to end: a role of the sandbox without ecr:BatchImportUpstreamImage (reference: a first pull
// through a rule needs it, and ecr:CreateRepository for a new repository) runs doctor with its GitHub OIDC
// token; the sandbox's registry refuses the cold pull with IAM's text and doctor names the action.
func TestE2EDoctorNamesTheMissingPullAction(t *testing.T) {
	w := newWorld(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{"pull-only": {Subjects: []string{"repo:example/app:*"},
		Denied: []string{sandbox.ActionBatchImportUpstreamImage, sandbox.ActionCreateRepository}}}})
	w.withoutStaticKeys()
	w.set("GITHUB_ACTIONS", "true", "ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken, "GITHUB_RUN_ID", "42")
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM alpine:3.20\n")
	r := w.run("doctor", src, "--role-arn", "arn:aws:iam::123456789012:role/pull-only")
	if r.code == 0 {
		t.Fatalf("doctor passed a role that cannot import: %+v", r)
	}
	out := r.stdout + r.stderr
	if !strings.Contains(out, "ecr:BatchImportUpstreamImage") || strings.Contains(out, "ecr-ptc login") {
		t.Errorf("doctor must name the missing action, not a login:\n%s", out)
	}
	w.done()
}
