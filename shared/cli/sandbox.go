package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
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

func newSandboxCmd(env Env) *cobra.Command {
	var (
		envFile    string
		withRules  bool
		rateLimit  int
		rateWindow time.Duration
		refresh    time.Duration
		latency    time.Duration
		bandwidth  int64
	)
	cmd := &cobra.Command{
		Use:   "sandbox [flags] [-- COMMAND [ARG...]]",
		Short: "Run a local ECR with the pull-through cache: try everything with no AWS account",
		Long: `sandbox starts a local emulation of Amazon ECR with the pull-through cache on loopback: the ECR and STS
APIs the AWS SDK speaks, an OIDC issuer (with a GitHub-style token endpoint), a cache registry with
ECR's pull-through behaviour, and Docker Hub, GHCR, Quay and ECR Public stand-ins seeded with small multi-arch
images (the Docker Hub one with its rate-limit headers and 429s).

It prints the export lines a shell needs (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS, AWS_REGION,
credentials, ECR_PTC_REGISTRY, ECR_PTC_SANDBOX_UPSTREAM_DOCKERHUB, ECR_PTC_SANDBOX_STATS, ...) and runs
until interrupted. With -- COMMAND it runs the command with that environment instead and exits with
its status. --with-rules creates the rules docker-hub, github, quay and ecr-public up front.`,
		Example: `  ecr-ptc sandbox --env-file /tmp/sandbox.env &   # then: set -a; . /tmp/sandbox.env; set +a
  ecr-ptc sandbox --with-rules -- ecr-ptc setup examples/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			sb, err := sandbox.Start(ctx, sandbox.Config{RateLimit: rateLimit, RateWindow: rateWindow, TagRefresh: refresh, UpstreamLatency: latency, UpstreamBandwidth: bandwidth})
			if err != nil {
				return err
			}
			defer sb.Close()
			if withRules {
				for _, name := range []string{"docker-hub", "github", "quay", "ecr-public"} {
					up, _ := rules.ByName(name)
					r := rules.Rule{ECRRepositoryPrefix: up.DefaultPrefix, UpstreamRegistryURL: up.URL, UpstreamRegistry: up.Enum}
					if up.NeedsCredential {
						r.CredentialArn = sandboxRuleCredential(sb, name)
					}
					sb.Store.PutRule(r)
				}
			}
			vars := sb.Env()
			if envFile != "" {
				var b strings.Builder
				for _, kv := range vars {
					b.WriteString(kv + "\n")
				}
				if err := atomicfile.Write(envFile, []byte(b.String()), 0o600); err != nil {
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
		},
	}
	cmd.AddCommand(newSandboxStatsCmd(env))
	fl := cmd.Flags()
	fl.StringVar(&envFile, "env-file", "", "also write the variables as KEY=VALUE lines to this file (mode 0600)")
	fl.BoolVar(&withRules, "with-rules", false, "create the docker-hub, github, quay and ecr-public rules at start")
	fl.IntVar(&rateLimit, "rate-limit", 0, "Docker Hub stand-in pulls per window (default 100; negative: unlimited)")
	fl.DurationVar(&rateWindow, "rate-window", 0, "Docker Hub stand-in rate-limit window (default 6h)")
	fl.DurationVar(&refresh, "tag-refresh", 0, "how long the cache serves a tag before re-checking upstream (default 24h)")
	fl.DurationVar(&latency, "upstream-latency", 0, "added latency per upstream request, like the internet")
	fl.Int64Var(&bandwidth, "upstream-bandwidth", 0, "upstream bandwidth in bytes/s (default unlimited)")
	return cmd
}

// runWith runs a command with the sandbox's variables added to the environment.
func runWith(ctx context.Context, env Env, args, vars []string) error {
	c := exec.CommandContext(ctx, args[0], args[1:]...)
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
			req, err := http.NewRequestWithContext(cmd.Context(), method, url, nil)
			if err != nil {
				return err
			}
			req.Header.Set(sandbox.StatsTokenHeader, "Bearer "+env.getenv("ECR_PTC_SANDBOX_TOKEN"))
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				return fmt.Errorf("cannot reach the sandbox: %v", err)
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
			fmt.Fprintf(env.Stdout, "sandbox: %d upstream fetches %v, %d cache hits, %d cache misses, %d repositories created, %d upstream 429s\n",
				s.UpstreamFetches, s.UpstreamFetchesBy, s.CacheHits, s.CacheMisses, s.RepositoriesCreated, s.UpstreamRateLimited)
			return nil
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "zero the counters")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counters as JSON")
	return cmd
}
