package cli_test

import (
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
)

// The platforms the main hands the command line name sessions after the job, give the job's temporary
// directory, and offer their OIDC tokens — the knowledge that lives in the doors, not in the CLI.
func TestPlatformsNameSessionsAndTokens(t *testing.T) {
	for _, c := range []struct {
		env                    map[string]string
		session, temp, idToken string
		detect                 string
	}{
		{env: map[string]string{}, session: "ecr-ptc"},
		{env: map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "RUNNER_TEMP": "/r"}, session: "ecr-ptc-gh-42-2", temp: "/r", idToken: "github-oidc", detect: "github"},
		{env: map[string]string{"GITHUB_RUN_ID": "42"}, session: "ecr-ptc-gh-42-1"},
		{env: map[string]string{"GITLAB_CI": "true", "CI_JOB_ID": "7", "ECR_PTC_ID_TOKEN": "jwt"}, session: "ecr-ptc-gl-7", idToken: "gitlab-oidc", detect: "gitlab"},
		{env: map[string]string{"CODEBUILD_BUILD_ID": "b:1", "CODEBUILD_BUILD_NUMBER": "9"}, session: "ecr-ptc-cb-9", detect: "codebuild"},
		// A token file wins over the platform's own token unless the job can request one explicitly.
		{env: map[string]string{"GITHUB_ACTIONS": "true", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t"}, session: "ecr-ptc", detect: "github"},
		{env: map[string]string{"GITHUB_ACTIONS": "true", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1/"}, session: "ecr-ptc", idToken: "github-oidc", detect: "github"},
	} {
		getenv := func(k string) string { return c.env[k] }
		ps := platforms(getenv)
		if got := ciplatform.SessionName(ps, getenv); got != c.session {
			t.Errorf("%v: session %q, want %q", c.env, got, c.session)
		}
		if got := ciplatform.TempDir(ps, getenv); got != c.temp {
			t.Errorf("%v: temp dir %q, want %q", c.env, got, c.temp)
		}
		tok := ciplatform.IDTokenFor(ps, getenv, ciplatform.TokenRequest{Audience: "sts.amazonaws.com", Variable: "ECR_PTC_ID_TOKEN", HaveTokenFile: c.env["AWS_WEB_IDENTITY_TOKEN_FILE"] != ""})
		if got := ""; tok != nil && tok.Kind != c.idToken || tok == nil && c.idToken != "" {
			if tok != nil {
				got = tok.Kind
			}
			t.Errorf("%v: token %q, want %q", c.env, got, c.idToken)
		}
		p, err := ciplatform.Find(ps, getenv, "auto")
		if err != nil || (p == nil) != (c.detect == "") || p != nil && p.Name() != c.detect {
			t.Errorf("%v: detected %v %v, want %q", c.env, p, err, c.detect)
		}
	}
	if _, err := ciplatform.Find(platforms(nil), nil, "jenkins"); err == nil || err.Error() != `--ci "jenkins": this build knows none, auto, github, gitlab, codebuild` {
		t.Errorf("unknown --ci: %v", err)
	}
}
