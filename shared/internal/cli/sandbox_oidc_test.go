package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// `ecr-ptc sandbox --oidc github|gitlab` exports what that CI gives a job (reference, "CI platforms":
// ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN; GitLab id_tokens in a variable) and a role that trusts the tokens;
// login then goes through AssumeRoleWithWebIdentity. --role-max-session sets the role's
// MaxSessionDuration (reference: DurationSeconds above it is a ValidationError).
func TestSandboxOIDCFlag(t *testing.T) {
	for _, c := range []struct{ kind string }{{"github"}, {"gitlab"}} {
		t.Run(c.kind, func(t *testing.T) {
			dir := t.TempDir()
			envFile := filepath.Join(dir, "sandbox.env")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int)
			var sbOut, sbErr bytes.Buffer
			go func() {
				done <- cli.Main(ctx, []string{"sandbox", "--oidc", c.kind, "--role-max-session", "2h", "--env-file", envFile},
					cli.Env{Stdin: strings.NewReader(""), Stdout: &sbOut, Stderr: &sbErr, Getenv: func(string) string { return "" }})
			}()
			defer func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("sandbox exit %d: %s", code, sbErr.String())
				}
			}()
			var data []byte
			for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
				if b, err := os.ReadFile(envFile); err == nil && len(b) > 0 {
					data = b
					break
				}
			}
			vars := map[string]string{"DOCKER_CONFIG": filepath.Join(dir, "docker"), "HOME": dir}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				vars[k] = v
			}
			if vars["AWS_ACCESS_KEY_ID"] != "" || vars["AWS_SECRET_ACCESS_KEY"] != "" {
				t.Errorf("--oidc still exports static keys")
			}
			// The SDK reads its endpoints and credentials from the process environment.
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
				"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_DEFAULT_REGION"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range vars {
				t.Setenv(k, v)
			}
			if !strings.HasPrefix(vars["ECR_PTC_ROLE_ARN"], "arn:aws:iam::123456789012:role/ecr-ptc-sandbox-") {
				t.Fatalf("ECR_PTC_ROLE_ARN = %q (env file %q)", vars["ECR_PTC_ROLE_ARN"], data)
			}
			switch c.kind {
			case "github":
				if vars["GITHUB_ACTIONS"] != "true" || !strings.HasPrefix(vars["ACTIONS_ID_TOKEN_REQUEST_URL"], "http://127.0.0.1:") || vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] == "" {
					t.Fatalf("GitHub variables missing: %q", data)
				}
			case "gitlab":
				if vars["GITLAB_CI"] != "true" || strings.Count(vars["ECR_PTC_ID_TOKEN"], ".") != 2 {
					t.Fatalf("GitLab variables missing: %q", data)
				}
			}
			login := func(args ...string) (int, string) {
				var out, errb bytes.Buffer
				code := cli.Main(context.Background(), append([]string{"login", "--token-cache", ""}, args...),
					cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }, Platforms: platforms(func(k string) string { return vars[k] })})
				return code, out.String() + errb.String()
			}
			if code, out := login(); code != 0 {
				t.Fatalf("login with the %s variables: %d %s", c.kind, code, out)
			}
			req, _ := http.NewRequest(http.MethodGet, vars["ECR_PTC_SANDBOX_STATS"], nil)
			req.Header.Set(sandbox.StatsTokenHeader, "Bearer "+vars["ECR_PTC_SANDBOX_TOKEN"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var st sandbox.StatsSnapshot
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.STSRequests["AssumeRoleWithWebIdentity"] != 1 {
				t.Errorf("login did not assume the role with the %s token: %+v", c.kind, st.STSRequests)
			}
			if code, out := login("--role-duration", "2h"); code != 0 {
				t.Fatalf("2 h on a 2 h role: %d %s", code, out)
			}
			if code, out := login("--role-duration", "3h"); code != 1 || !strings.Contains(out, "MaxSessionDuration") {
				t.Fatalf("3 h on a 2 h role: %d %s", code, out)
			}
		})
	}
	var errb bytes.Buffer
	if code := cli.Main(context.Background(), []string{"sandbox", "--role-max-session", "2h"}, cli.Env{Stdin: strings.NewReader(""), Stdout: &errb, Stderr: &errb, Getenv: func(string) string { return "" }}); code != 2 {
		t.Errorf("--role-max-session without --oidc: exit %d %s", code, errb.String())
	}
}
