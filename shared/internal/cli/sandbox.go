package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/spf13/cobra"
)

// sandboxRuleCredential is a secret ARN the sandbox accepts for rules that need one.
func sandboxRuleCredential(sb *sandbox.Sandbox, upstream string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:ecr-pullthroughcache/%s", sb.Region, sb.AccountID, upstream)
}

// sandboxFlags are the flags of sandbox.
type sandboxFlags struct {
	envFile    string
	withRules  bool
	rateLimit  int
	rateWindow time.Duration
	refresh    time.Duration
	latency    time.Duration
	bandwidth  int64
	quotas     bool
	oidc       sandboxOIDC
	seeds      []string
}

func (f *sandboxFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.envFile, "env-file", "", "also write the variables as KEY=VALUE lines to this file (mode 0600)")
	fl.BoolVar(&f.withRules, "with-rules", false, "create the docker-hub, github, quay and ecr-public rules at start")
	fl.IntVar(&f.rateLimit, "rate-limit", 0, "Docker Hub stand-in pulls per window (default 100; negative: unlimited)")
	fl.DurationVar(&f.rateWindow, "rate-window", 0, "Docker Hub stand-in rate-limit window (default 6h)")
	fl.DurationVar(&f.refresh, "tag-refresh", 0, "how long the cache serves a tag before re-checking upstream (default 24h)")
	fl.DurationVar(&f.latency, "upstream-latency", 0, "added latency per upstream request, like the internet")
	fl.Int64Var(&f.bandwidth, "upstream-bandwidth", 0, "upstream bandwidth in bytes/s (default unlimited)")
	fl.BoolVar(&f.quotas, "ecr-quotas", false, "throttle the ECR API and the cache registry at ECR's per-account rate quotas (published ones; assumed for DescribeImages and the rule APIs)")
	fl.StringVar(&f.oidc.kind, "oidc", "", "export a CI job's OIDC variables (github or gitlab) and ECR_PTC_ROLE_ARN instead of static keys")
	fl.DurationVar(&f.oidc.maxSession, "role-max-session", 0, "the --oidc role's MaxSessionDuration (default 1h, at most 12h)")
	fl.StringArrayVar(&f.seeds, "seed", nil, "also publish UPSTREAM/REPOSITORY:TAG on a stand-in (docker-hub, github, quay, ecr-public, ecr), e.g. docker-hub/myorg/base:1, so your own Dockerfiles resolve (repeatable)")
}

// seed publishes --seed's images: a small multi-arch image under each name.
func (f *sandboxFlags) seed(sb *sandbox.Sandbox) error {
	for _, s := range f.seeds {
		up, ref, _ := strings.Cut(s, "/")
		repo, tag, ok := strings.Cut(ref, ":")
		if !ok || up == "" || repo == "" || tag == "" || strings.ContainsAny(s, "@ ") {
			return usagef("--seed %q is not UPSTREAM/REPOSITORY:TAG (e.g. docker-hub/library/node:22)", clipArg(s))
		}
		if _, err := sb.SeedImage(up, repo, tag, nil); err != nil {
			return usagef("--seed %q: %v", clipArg(s), err)
		}
	}
	return nil
}

const sandboxLong = `sandbox starts a local emulation of Amazon ECR with the pull-through cache on loopback: the ECR and STS
APIs the AWS SDK speaks, an OIDC issuer (with a GitHub-style token endpoint), a cache registry with
ECR's pull-through behaviour, and Docker Hub, GHCR, Quay and ECR Public stand-ins seeded with small multi-arch
images (the Docker Hub one with its rate-limit headers and 429s).

It prints the export lines a shell needs (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS, AWS_REGION,
credentials, ECR_PTC_REGISTRY, ECR_PTC_SANDBOX_UPSTREAM_DOCKERHUB, ECR_PTC_SANDBOX_STATS, ...) and runs
until interrupted. With -- COMMAND it runs the command with that environment instead and exits with
its status. --with-rules creates the rules docker-hub, github, quay and ecr-public up front, and the
ECR-to-ECR rule ecr for the upstream private registry stand-in 210987654321.dkr.ecr.us-west-2.amazonaws.com
(ECR_PTC_SANDBOX_UPSTREAM_ECR_HOST; customRoleArn ECR_PTC_SANDBOX_UPSTREAM_ECR_ROLE_ARN), which serves
team/app:1 and team/app:2. --seed publishes more images (UPSTREAM/REPOSITORY:TAG) for your own Dockerfiles.

--oidc github (or gitlab) exports what that CI gives a job instead of static keys: GITHUB_ACTIONS=true,
ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (or GITLAB_CI=true and a GitLab-style
id_token in ECR_PTC_ID_TOKEN, valid 1 h), and ECR_PTC_ROLE_ARN naming a role that trusts those tokens;
--role-max-session sets that role's MaxSessionDuration (IAM's default 1h, at most 12h).`

func newSandboxCmd(env Env) *cobra.Command {
	var f sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox [flags] [-- COMMAND [ARG...]]",
		Short: "Run a local ECR with the pull-through cache: try everything with no AWS account",
		Long:  sandboxLong,
		Example: `  ecr-ptc sandbox --env-file /tmp/sandbox.env &   # then: set -a; . /tmp/sandbox.env; set +a
  ecr-ptc sandbox --with-rules -- ecr-ptc setup examples/
  ecr-ptc sandbox --with-rules --oidc github -- ecr-ptc setup examples/
  ecr-ptc sandbox --with-rules --seed docker-hub/myorg/base:1 -- ecr-ptc setup .`,
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd.Context(), env, args) },
	}
	cmd.AddCommand(newSandboxStatsCmd(env))
	cmd.AddCommand(newSandboxMoveTagCmd(env)) // sandbox_movetag.go
	f.register(cmd)
	return cmd
}

// run starts the sandbox, then runs args in its environment or prints the exports and waits.
func (f *sandboxFlags) run(ctx context.Context, env Env, args []string) error {
	if err := f.oidc.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{RateLimit: f.rateLimit, RateWindow: f.rateWindow, TagRefresh: f.refresh, UpstreamLatency: f.latency, UpstreamBandwidth: f.bandwidth, RateLimits: ecrQuotas(f.quotas), Roles: f.oidc.roles()})
	if err != nil {
		return err
	}
	defer sb.Close()
	if err := f.seed(sb); err != nil {
		return err
	}
	if f.withRules {
		seedRules(sb)
	}
	vars, err := f.oidc.env(sb, sb.Env())
	if err != nil {
		return err
	}
	if f.envFile != "" {
		var b strings.Builder
		for _, kv := range vars {
			b.WriteString(kv + "\n")
		}
		if err := atomicfile.Write(f.envFile, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("cannot write the env file: %v", err)
		}
	}
	if len(args) > 0 {
		return runWith(ctx, env, args, vars)
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(env.Stdout, "export %s=%s\n", k, report.ShellQuote(v))
	}
	fmt.Fprintln(env.Stderr, "sandbox running; press Ctrl-C to stop")
	<-ctx.Done()
	fmt.Fprintln(env.Stderr, "sandbox stopped")
	return nil
}

// seedRules creates --with-rules' rules: docker-hub, github, quay, ecr-public and the ECR-to-ECR one.
func seedRules(sb *sandbox.Sandbox) {
	for _, name := range []string{"docker-hub", "github", "quay", "ecr-public"} {
		up, _ := rules.ByName(name)
		r := rules.Rule{ECRRepositoryPrefix: up.DefaultPrefix, UpstreamRegistryURL: up.URL, UpstreamRegistry: up.Enum}
		if up.NeedsCredential {
			r.CredentialArn = sandboxRuleCredential(sb, name)
		}
		sb.Store.PutRule(r)
	}
	// ECR-to-ECR: the upstream private registry stand-in, through the role its policy allows.
	sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "ecr", UpstreamRegistryURL: sandbox.UpstreamECRHost(), UpstreamRegistry: "ecr",
		CustomRoleArn: sb.UpstreamECRRoleArn(), UpstreamRepositoryPrefix: rules.Root})
}

// runWith runs a command with the sandbox's variables added to the environment.
func runWith(ctx context.Context, env Env, args, vars []string) error {
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	// On SIGINT/SIGTERM the command gets SIGTERM, and SIGKILL if it has not ended half a second later, so
	// the sandbox and its command both stop within the second every ecr-ptc command has.
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 500 * time.Millisecond
	var base []string
	if env.Environ != nil {
		base = env.Environ()
	}
	c.Env = append(base, vars...)
	c.Stdin, c.Stdout, c.Stderr = env.Stdin, env.Stdout, env.Stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitError{ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("cannot run %s: %v", args[0], err)
	}
	return nil
}

func newSandboxStatsCmd(env Env) *cobra.Command {
	var reset, asJSON bool
	cmd := &cobra.Command{
		Use:   "stats [--reset] [--json]",
		Short: "Print a running sandbox's counters (from $ECR_PTC_SANDBOX_STATS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := env.getenv("ECR_PTC_SANDBOX_STATS")
			if url == "" {
				return usagef("ECR_PTC_SANDBOX_STATS is not set; run this inside `ecr-ptc sandbox -- ...` or after sourcing its exports")
			}
			method := http.MethodGet
			if reset {
				method, url = http.MethodPost, url+"/reset"
			}
			resp, err := sandboxControl(cmd.Context(), env, method, url, nil, 10*time.Second)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("the sandbox answered HTTP %d", resp.StatusCode)
			}
			if reset {
				return nil
			}
			var s sandbox.StatsSnapshot
			if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
				return fmt.Errorf("the sandbox's stats are not JSON: %v", err)
			}
			if asJSON {
				return writeJSON(env.Stdout, s)
			}
			printSandboxStats(env.Stdout, s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "zero the counters")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counters as JSON")
	return cmd
}

// sandboxControl calls a running sandbox's control endpoint with its token.
func sandboxControl(ctx context.Context, env Env, method, url string, body io.Reader, timeout time.Duration) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(sandbox.StatsTokenHeader, "Bearer "+env.getenv("ECR_PTC_SANDBOX_TOKEN"))
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the sandbox: %v", err)
	}
	return resp, nil
}
