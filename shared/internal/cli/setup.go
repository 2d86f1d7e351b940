package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/setup"
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
	lock          *lock.File
	probeTTL      time.Duration // reuse probe hits this long (probecache.go); 0 disables
}

// run is the one CI step: credentials, login, rules, scan, probe, warm, report.
func (f *setupFlags) run(ctx context.Context, env Env, paths []string, login bool) (*report.Report, error) {
	opts, err := f.sf.options(env)
	if err != nil {
		return nil, err
	}
	if f.lock, err = readLock(f.lockFile); err != nil {
		return nil, err
	}
	for flag, p := range map[string]string{"--report-json": f.reportJSON, "--env-file": f.envFile} {
		if err := checkWritable(flag, p); err != nil {
			return nil, err
		}
	}
	// The Dockerfiles are found before the login: a bad path must not leave a Docker config behind.
	if _, err := findDockerfiles(Env{Stderr: io.Discard}, f.sf.files, paths); err != nil {
		return nil, err
	}
	var d ciplatform.Platform
	if login {
		if d, err = door(env, f.lf.ci); err != nil {
			return nil, err
		}
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, err
	}
	cfg = withMasks(cfg, maskDoor(env, d))
	client := ecr.NewFromConfig(cfg)
	var auths []ecrx.Auth
	if login {
		f.lf.door = d
		f.lf.aliases = []string{f.mf.registry, env.getenv("ECR_PTC_REGISTRY")}
		res, err := f.lf.login(ctx, env, cfg, src)
		if err != nil {
			return nil, err
		}
		auths = res.Registries
		for _, a := range res.Registries {
			fmt.Fprintf(env.Stderr, "logged in to %s (credentials: %s)\n", a.Host, src)
		}
	} else {
		if auths, err = maskAuths(env, d)(ecrx.Login(ctx, client)); err != nil {
			return nil, credentialsError(err, src)
		}
	}
	registry := cacheRegistry(f.mf.registry, env, auths, cfg.Region)
	m, err := f.mapper(ctx, env, client, registry, src)
	if err != nil {
		return nil, err
	}
	if f.ensureRules {
		creds, err := parseCredentialArns(f.upstreamCreds)
		if err != nil {
			return nil, err
		}
		wants, err := neededUpstreams(ctx, env, client, f.sf, paths)
		if err != nil {
			return nil, credentialsError(err, src)
		}
		for _, w := range wants {
			w.CredentialArn = creds.forUpstream(w.Upstream)
			want, err := w.Rule()
			if err != nil {
				return nil, usagef("--ensure-rules: %v", err)
			}
			res, err := ecrx.Ensure(ctx, client, want)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(env.Stderr, "rule %q for %s: %s\n", res.Rule.ECRRepositoryPrefix, res.Rule.UpstreamRegistryURL, res.Action)
		}
		if len(wants) > 0 && f.mf.rulesFile == "" && len(f.mf.rules) == 0 {
			if m, err = f.mapper(ctx, env, client, registry, src); err != nil {
				return nil, err
			}
		}
	}
	results, failed, err := scanPaths(env, f.sf.files, paths, opts, nil)
	if err != nil {
		return nil, err
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d Dockerfile(s) could not be read or evaluated (see above)", failed)
	}
	uses := make([]dockerfile.ImageUse, len(results))
	for i, r := range results {
		uses[i] = r.ImageUse
	}
	warmer := &ecrx.Warmer{Auths: auths, Concurrency: f.concurrency, Progress: progressPrinter(env),
		Relogin: func(ctx context.Context) ([]ecrx.Auth, error) {
			fmt.Fprintln(env.Stderr, "the registry refused the login token; logging in again")
			if !login {
				return maskAuths(env, d)(ecrx.Login(ctx, client))
			}
			lf := f.lf
			lf.fresh = true
			res, err := lf.login(ctx, env, cfg, src)
			return res.Registries, err
		}}
	var plats []string
	for _, o := range opts {
		if o.Platform != "" {
			plats = append(plats, o.Platform)
		}
	}
	if len(plats) == 0 {
		// ECR imports an index with all its children; fetching the build's platform manifest as well
		// reports an image that lacks it before the build meets it.
		plats = []string{dockerfile.DefaultBuildPlatform}
	}
	rep := setup.Run(ctx, uses, setup.Deps{Mapper: m, Images: client, Warmer: warmer, ProbeCache: f.probeCache(ctx, env, cfg, src, registry)}, setup.Options{Warm: f.warm, Platforms: plats, Concurrency: f.concurrency})
	if err := f.writeOutputs(env, rep, m); err != nil {
		return rep, err
	}
	if d != nil {
		if err := d.Publish(ctx, ciplatform.Publication{Report: rep, Exports: report.Exports(rep, m.Rules().Spec()), ReportJSON: f.reportJSON, Getenv: env.getenv}); err != nil {
			return rep, fmt.Errorf("cannot publish the report to %s: %v", d.Name(), err)
		}
	}
	return rep, nil
}

// mapper uses --rules/--rule when given, else the registry's live rules.
func (f *setupFlags) mapper(ctx context.Context, env Env, client ecrx.DescribeRulesAPI, registry string, src credSource) (*mapping.Mapper, error) {
	if f.mf.rulesFile != "" || len(f.mf.rules) > 0 {
		mf := f.mf
		mf.registry = registry
		return mf.mapper(env, pins(f.lock)...)
	}
	set, err := f.listRules(ctx, env, client, registry, src) // rulescache.go
	if err != nil {
		return nil, credentialsError(err, src)
	}
	return mapping.New(registry, append(pins(f.lock), mapping.WithRules(set))...), nil
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
