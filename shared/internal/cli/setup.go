package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/spf13/cobra"
)

// setupFlags are the flags of setup and warm.
type setupFlags struct {
	af            awsFlags
	lf            loginFlags
	sf            scanFlags
	mf            mapFlags
	ensureRules   bool
	upstreamCreds []string
	warm          bool
	reportJSON    string
	envFile       string
	asJSON        bool
	concurrency   int
	lockFile      string
	probeTTL      time.Duration // reuse probe hits this long (probecache.go); 0 disables
}

// setupInput is what setup reads and checks before it logs in: a bad value must not leave a Docker
// config behind.
type setupInput struct {
	opts  []dockerfile.Options
	lock  *lock.File
	rules *rules.Set // --rules/--rule; nil: the registry's
	creds pipeline.CredentialArns
}

func (f *setupFlags) input(env Env, paths []string) (in setupInput, err error) {
	if in.opts, err = f.sf.options(env); err != nil {
		return in, err
	}
	if in.lock, err = readLock(f.lockFile); err != nil {
		return in, err
	}
	for flag, p := range map[string]string{"--report-json": f.reportJSON, "--env-file": f.envFile} {
		if err := checkWritable(flag, p); err != nil {
			return in, err
		}
	}
	if _, err := findDockerfiles(Env{Stderr: io.Discard}, f.sf.files, paths); err != nil {
		return in, err
	}
	if in.rules, err = f.mf.ruleSet(); err != nil {
		return in, err
	}
	if f.ensureRules {
		in.creds, err = parseCredentialArns(f.upstreamCreds)
	}
	return in, err
}

// run is the one CI step: credentials, login, scan, rules, probe, warm, report.
func (f *setupFlags) run(ctx context.Context, env Env, paths []string, login bool) (*report.Report, error) {
	in, err := f.input(env, paths)
	if err != nil {
		return nil, err
	}
	var d ciplatform.Platform
	if login {
		if d, err = door(env, f.lf.ci); err != nil {
			return nil, err
		}
	}
	s, err := f.open(ctx, env, d, login, in)
	if err != nil {
		return nil, err
	}
	s.RulesCache = f.rulesCache(ctx, env, s.ECR, s.Registry, s.Source) // rulescache.go
	results, failed, err := scanPaths(env, f.sf.files, paths, in.opts, nil)
	if err != nil {
		return nil, err
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d Dockerfile(s) could not be read or evaluated (see above)", failed)
	}
	rep, err := pipeline.Setup(ctx, s, pipeline.SetupOptions{
		Uses: pipeline.Uses(results), EnsureRules: f.ensureRules, Credentials: in.creds, OnRule: ruleLogger(env),
		Warm: f.warm, Platforms: platforms(in.opts), Concurrency: f.concurrency, Progress: progressPrinter(env),
		ProbeCache: f.probeCache(ctx, env, s.AWS, s.Source, s.Registry)})
	if err != nil {
		return nil, err
	}
	m, err := s.Mapper(ctx)
	if err != nil {
		return nil, err
	}
	return rep, f.publish(ctx, env, d, rep, m)
}

// open loads the AWS configuration and logs in: setup writes the logins (login true), warm only uses them.
func (f *setupFlags) open(ctx context.Context, env Env, d ciplatform.Platform, login bool, in setupInput) (*pipeline.Session, error) {
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, err
	}
	cfg = withMasks(cfg, maskDoor(env, d))
	logins := ecrLogin(env, d, cfg, src)
	if login {
		logins = f.loginFunc(env, d, cfg, src)
	}
	return openSession(ctx, pipeline.Options{AWS: cfg, Source: src, Registry: namedRegistry(f.mf.registry, env), Rules: in.rules, Lock: in.lock, Login: logins})
}

// loginFunc logs in as `ecr-ptc login` does (Docker config, auth file, token cache) and says so.
func (f *setupFlags) loginFunc(env Env, d ciplatform.Platform, cfg aws.Config, src credSource) pipeline.LoginFunc {
	return func(ctx context.Context, fresh bool) ([]ecrx.Auth, error) {
		if fresh {
			fmt.Fprintln(env.Stderr, "the registry refused the login token; logging in again")
		}
		res, err := f.lf.login(ctx, env, cfg, src, loginRun{door: d, fresh: fresh, aliases: []string{f.mf.registry, env.getenv("ECR_PTC_REGISTRY")}})
		if err != nil || fresh {
			return res.Registries, err
		}
		for _, a := range res.Registries {
			fmt.Fprintf(env.Stderr, "logged in to %s (credentials: %s)\n", a.Host, src)
		}
		return res.Registries, nil
	}
}

// ecrLogin gets tokens for the caller's registry without writing them anywhere, masking the passwords.
func ecrLogin(env Env, d ciplatform.Platform, cfg aws.Config, src credSource) pipeline.LoginFunc {
	return func(ctx context.Context, fresh bool) ([]ecrx.Auth, error) {
		if fresh {
			fmt.Fprintln(env.Stderr, "the registry refused the login token; logging in again")
			return maskAuths(env, d)(ecrx.Login(ctx, ecr.NewFromConfig(cfg)))
		}
		auths, err := maskAuths(env, d)(ecrx.Login(ctx, ecr.NewFromConfig(cfg)))
		if err != nil {
			return nil, credentialsError(err, src)
		}
		return auths, nil
	}
}

// platforms are the --platform values the options were made for (none when not given).
func platforms(opts []dockerfile.Options) []string {
	var plats []string
	for _, o := range opts {
		if o.Platform != "" {
			plats = append(plats, o.Platform)
		}
	}
	return plats
}

// ruleLogger says what --ensure-rules did for each rule.
func ruleLogger(env Env) func(ecrx.EnsureResult) {
	return func(res ecrx.EnsureResult) {
		fmt.Fprintf(env.Stderr, "rule %q for %s: %s\n", res.Rule.ECRRepositoryPrefix, res.Rule.UpstreamRegistryURL, res.Action)
	}
}

// publish writes the output files and hands the report to the CI platform.
func (f *setupFlags) publish(ctx context.Context, env Env, d ciplatform.Platform, rep *report.Report, m *mapping.Mapper) error {
	if err := f.writeOutputs(env, rep, m); err != nil {
		return err
	}
	if d != nil {
		if err := d.Publish(ctx, ciplatform.Publication{Report: rep, Exports: report.Exports(rep, m.Rules().Spec()), ReportJSON: f.reportJSON, Getenv: env.getenv}); err != nil {
			return fmt.Errorf("cannot publish the report to %s: %v", d.Name(), err)
		}
	}
	return nil
}

// writeOutputs writes the report JSON and the env file, each atomically.
func (f *setupFlags) writeOutputs(env Env, rep *report.Report, m *mapping.Mapper) error {
	if f.reportJSON != "" {
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, rep); err != nil {
			return err
		}
		if err := atomicfile.Write(f.reportJSON, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("cannot write the report: %v", err)
		}
	}
	if f.envFile != "" {
		var buf bytes.Buffer
		if err := report.WriteDotenv(&buf, report.Exports(rep, m.Rules().Spec())); err != nil {
			return err
		}
		if err := atomicfile.Write(f.envFile, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("cannot write the env file: %v", err)
		}
	}
	return nil
}

// progressPrinter shows warming as it happens, one line per start and finish.
func progressPrinter(env Env) func(ecrx.WarmEvent) {
	return func(e ecrx.WarmEvent) {
		if !e.Done {
			fmt.Fprintf(env.Stderr, "warming %s …\n", e.Ref)
			return
		}
		r := e.Result
		switch r.Outcome {
		case ecrx.Warmed:
			extra := ""
			if len(r.Platforms) > 0 {
				extra = " [" + strings.Join(r.Platforms, ", ") + "]"
			}
			fmt.Fprintf(env.Stderr, "✓ %s warmed in %s%s\n", e.Ref, r.Duration.Round(time.Millisecond), extra)
		default:
			fmt.Fprintf(env.Stderr, "✗ %s: %s\n", e.Ref, r.Reason)
		}
	}
}

func (f *setupFlags) add(cmd *cobra.Command, full bool) {
	f.af.add(cmd)
	f.sf.add(cmd, true)
	f.mf.add(cmd)
	fl := cmd.Flags()
	fl.IntVar(&f.concurrency, "concurrency", 10, "images probed and warmed at once")
	fl.DurationVar(&f.probeTTL, "probe-cache", probeTTLDefault, "reuse cache hits found by setups sharing the token cache directory for this long (0: always ask ECR)")
	fl.StringVar(&f.reportJSON, "report-json", "", "write the cache report as JSON to this file")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON on stdout")
	fl.StringVar(&f.lockFile, "lock", "", "enforce this lock file (`ecr-ptc lock`): each image must be served at its locked digest")
	if full {
		f.lf.add(cmd)
		fl.BoolVar(&f.ensureRules, "ensure-rules", false, "create the rules the Dockerfiles need (see `ecr-ptc rules ensure`)")
		fl.StringArrayVar(&f.upstreamCreds, "credential-arn", nil, "with --ensure-rules: Secrets Manager secret ARN, or UPSTREAM=ARN (repeatable)")
		fl.BoolVar(&f.warm, "warm", true, "pull every miss through the cache")
		fl.StringVar(&f.envFile, "env-file", "", "write ECR_PTC_REGISTRY, ECR_PTC_RULES, ECR_PTC_LOCK (with --lock) and the totals as KEY=VALUE lines (dotenv) to this file")
	}
}

// runAndPrint runs setup (login true) or warm, prints the report and fails when an image failed.
func (f *setupFlags) runAndPrint(cmd *cobra.Command, env Env, paths []string, login bool) error {
	rep, err := f.run(cmd.Context(), env, paths, login)
	if err != nil {
		return err
	}
	if f.asJSON {
		err = report.WriteJSON(env.Stdout, rep)
	} else {
		err = report.WriteText(env.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.Totals.Errors > 0 {
		return exitError{ExitFailure}
	}
	return nil
}

func newSetupCmd(env Env) *cobra.Command {
	var f setupFlags
	cmd := &cobra.Command{
		Use:   "setup [PATH...] [--role-arn ARN] [--ensure-rules] [--warm] [--report-json FILE] [--env-file FILE]",
		Short: "The one CI step: credentials, login, rules, scan, probe, warm and a report",
		Long: `setup gets AWS credentials (the CI job's OIDC token with --role-arn, else the default chain), logs in to
ECR (Docker config and auth file), optionally creates missing rules (--ensure-rules), scans the
Dockerfiles under PATH (default .), probes the cache for each image (DescribeImages: hit or miss), pulls
the misses through the cache (--warm, on by default), and reports. The cache registry is --registry, or
the registry the login returned; rules are --rules/--rule, or the registry's own.
--env-file writes the values later build steps need (ECR_PTC_REGISTRY, ECR_PTC_RULES, totals).
Exit status 1 when an image could not be checked or warmed (outcome error).`,
		RunE: func(cmd *cobra.Command, paths []string) error { return f.runAndPrint(cmd, env, paths, true) },
	}
	f.add(cmd, true)
	return cmd
}

func newWarmCmd(env Env) *cobra.Command {
	f := setupFlags{warm: true}
	cmd := &cobra.Command{
		Use:   "warm [PATH...] [--platform P[,P...]]",
		Short: "Pull every image the Dockerfiles use through the cache, so builds find it there",
		Long: `warm probes the cache for every image the Dockerfiles under PATH use and pulls each miss through the cache
registry with containerd's registry client, several at once. A tag@digest reference is warmed by its tag
and then checked against the digest; a digest-only reference that is not cached cannot be warmed (ECR
does not fill a cold cache by digest). Each --platform's manifest is pulled too (default linux/amd64):
the cache fetches an index's platform manifests only when asked.`,
		RunE: func(cmd *cobra.Command, paths []string) error { return f.runAndPrint(cmd, env, paths, false) },
	}
	f.add(cmd, false)
	return cmd
}
