package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// TestFaultMatrix runs `ecr-ptc setup` end to end under each fault the sandbox can inject and prints the
// matrix. Each case either succeeds through a retry or fails with one clear sentence and exit status 1;
// none hangs (every wait is bounded) and none prints a secret.
func TestFaultMatrix(t *testing.T) {
	type fault struct {
		name   string
		oidc   bool // credentials through GitHub OIDC → STS, so STS and OIDC faults matter
		inject func(w *world)
		args   []string
		ok     bool
		want   string // in the output when failing
		df     string // the Dockerfile, default FROM node:20
	}
	add := func(target, kind string, count int) func(w *world) {
		return func(w *world) { w.sb.Faults.Add(sandbox.Fault{Target: target, Kind: kind, Count: count}) }
	}
	cases := []fault{
		{name: "ECR ThrottlingException ×2", inject: add("ecr:DescribeImages", sandbox.FaultThrottle, 2), ok: true},
		{name: "ECR ServerException ×2", inject: add("ecr:GetAuthorizationToken", sandbox.FaultServerError, 2), ok: true},
		{name: "ECR ServerException always", inject: add("ecr:*", sandbox.FaultServerError, 0), want: "ServerException"},
		{name: "ECR timeout always", inject: add("ecr:*", sandbox.FaultTimeout, 0), args: []string{"--aws-timeout", "300ms"}, want: "did not answer in time"},
		{name: "ECR LimitExceededException (rule quota)", inject: add("ecr:CreatePullThroughCacheRule", sandbox.FaultLimitExceeded, 0), args: []string{"--ensure-rules", "--rules", ""}, df: "FROM quay.io/coreos/etcd:v3.5.0\n", want: "quota"},
		{name: "STS IDPCommunicationError ×2", oidc: true, inject: add("sts:AssumeRoleWithWebIdentity", sandbox.FaultIDP, 2), ok: true},
		{name: "STS ExpiredTokenException ×1", oidc: true, inject: add("sts:AssumeRoleWithWebIdentity", sandbox.FaultExpiredToken, 1), ok: true},
		{name: "STS Throttling ×2", oidc: true, inject: add("sts:AssumeRoleWithWebIdentity", sandbox.FaultThrottle, 2), ok: true},
		{name: "OIDC token endpoint 5xx ×1", oidc: true, inject: add("oidc:token", sandbox.FaultServerError, 1), ok: true},
		{name: "OIDC token endpoint 5xx always", oidc: true, inject: add("oidc:token", sandbox.FaultServerError, 0), want: "GitHub token endpoint answered HTTP 500"},
		{name: "upstream 429 ×2", inject: add("upstream:docker-hub", sandbox.FaultTooMany, 2), ok: true},
		{name: "upstream 429 always", inject: add("upstream:docker-hub", sandbox.FaultTooMany, 0), want: "429 Too Many Requests"},
		{name: "upstream 5xx always", inject: add("upstream:docker-hub", sandbox.FaultServerError, 0), want: "answered HTTP 503"},
		{name: "cache registry 500 ×1", inject: add("registry", sandbox.FaultServerError, 1), ok: true},
		{name: "rule deleted mid-run", inject: func(w *world) { w.sb.Store.DeleteRule("docker-hub") }, args: []string{"--rule", "docker.io=docker-hub"}, want: "not found through the cache"},
		{name: "ECR token expired mid-run", inject: func(w *world) {
			w.set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.dir, "tokens"))
			w.run("login")
			w.sb.Store.ExpireTokens()
		}, ok: true},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-40s %-8s %-5s %6s  %s\n", "fault", "expected", "exit", "took", "result")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sandbox.Config{})
			w.ruleDefaults("docker-hub")
			if c.oidc {
				w.withoutStaticKeys()
				w.set("GITHUB_ACTIONS", "true", "ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken)
			}
			df := c.df
			if df == "" {
				df = "FROM node:20\n"
			}
			src := w.dockerfile(df)
			began := time.Now()
			c.inject(w)
			args := append([]string{"setup", src, "--ci", "none"}, c.args...)
			if c.oidc {
				args = append(args, "--role-arn", role)
			}
			args = filterEmptyRules(args)
			r := w.run(args...)
			w.sb.Faults.Clear()
			result := "warmed"
			if r.code != 0 {
				result = reasonLine(r.stderr)
			}
			expected := "success"
			if !c.ok {
				expected = "failure"
			}
			fmt.Fprintf(&table, "%-40s %-8s %-5d %6s  %.110s\n", c.name, expected, r.code, time.Since(began).Round(100*time.Millisecond), result)
			switch {
			case c.ok && r.code != 0:
				t.Errorf("want success through a retry: %+v", r)
			case !c.ok && r.code != 1:
				t.Errorf("want exit 1: %+v", r)
			case !c.ok && !strings.Contains(r.stderr+r.stdout, c.want):
				t.Errorf("want %q: %+v", c.want, r)
			}
			w.done()
		})
	}
	t.Logf("fault matrix (setup):\n%s", table.String())
	if os.Getenv("ECR_PTC_PRINT_MATRIX") != "" {
		fmt.Print(table.String())
	}
}

// filterEmptyRules drops a "--rules ”" pair (used to mean: the registry's own rules).
func filterEmptyRules(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--rules" && i+1 < len(args) && args[i+1] == "" {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// reasonLine is the sentence that says why a run failed: the error, or the failed image's line.
func reasonLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "ecr-ptc: ") || strings.HasPrefix(l, "✗ ") {
			return l
		}
	}
	return strings.TrimSpace(stderr)
}
