package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/spf13/cobra"
)

func newRulesCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, create and validate the registry's pull-through cache rules",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRulesListCmd(env), newRulesEnsureCmd(env), newRulesValidateCmd(env))
	return cmd
}

func newRulesListCmd(env Env) *cobra.Command {
	var (
		af     awsFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the pull-through cache rules (--json: the shape --rules files take)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := af.loadAWS(cmd.Context(), env)
			if err != nil {
				return err
			}
			set, err := pipeline.New(pipeline.Options{AWS: cfg, Source: src}).LiveRules(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if set.Rules == nil {
					set.Rules = []rules.Rule{}
				}
				return writeJSON(env.Stdout, set)
			}
			printRules(env, set.Rules)
			return nil
		},
	}
	af.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the rules as DescribePullThroughCacheRules JSON")
	return cmd
}

func printRules(env Env, rs []rules.Rule) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tUPSTREAM\tURL\tCREDENTIAL")
	for _, r := range rs {
		cred := r.CredentialArn
		if cred == "" {
			cred = cmp.Or(r.CustomRoleArn, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ECRRepositoryPrefix, cmp.Or(r.UpstreamRegistry, "-"), r.UpstreamRegistryURL, cred)
	}
	tw.Flush()
}

// ensureFlags are the flags of `rules ensure`.
type ensureFlags struct {
	af          awsFlags
	sf          scanFlags
	upstreams   []string
	credentials []string
	prefix      string
	upstreamURL string
	asJSON      bool
}

func (f *ensureFlags) register(cmd *cobra.Command) {
	f.af.add(cmd)
	f.sf.add(cmd, true)
	cmd.Flags().StringArrayVar(&f.upstreams, "upstream", nil, "an upstream to create a rule for (repeatable)")
	cmd.Flags().StringArrayVar(&f.credentials, "credential-arn", nil, "Secrets Manager secret ARN (ecr-pullthroughcache/...), or UPSTREAM=ARN (repeatable)")
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "the ECR repository prefix (default: the upstream's, e.g. docker-hub)")
	cmd.Flags().StringVar(&f.upstreamURL, "upstream-url", "", "the upstream registry host, for azure and ecr")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print what was created or kept as JSON")
}

func newRulesEnsureCmd(env Env) *cobra.Command {
	var f ensureFlags
	cmd := &cobra.Command{
		Use:   "ensure [--upstream NAME]... [--credential-arn [UPSTREAM=]ARN]... [PATH...]",
		Short: "Create the pull-through cache rules the Dockerfiles (or --upstream) need",
		Long: `ensure creates a rule for each --upstream (docker-hub, ecr-public, quay, k8s, github, gitlab, chainguard,
azure, ecr) or, without --upstream, for every upstream the Dockerfiles under PATH use that no rule
serves yet. A rule already serving an upstream is kept whatever its prefix. Safe to run from many jobs
at once: a rule another job created first counts as success when it matches.
Docker Hub, GHCR, GitLab, Chainguard and ACR need a Secrets Manager secret named ecr-pullthroughcache/...
(--credential-arn ARN for all of them, or UPSTREAM=ARN for one).`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			results, err := f.run(cmd.Context(), env, paths)
			if err != nil {
				return err
			}
			return printEnsured(env, results, f.asJSON)
		},
	}
	f.register(cmd)
	return cmd
}

// run ensures the rules --upstream names, or those the Dockerfiles under paths need.
func (f *ensureFlags) run(ctx context.Context, env Env, paths []string) ([]ecrx.EnsureResult, error) {
	creds, err := parseCredentialArns(f.credentials)
	if err != nil {
		return nil, err
	}
	if (f.prefix != "" || f.upstreamURL != "") && len(f.upstreams) != 1 {
		return nil, usagef("--prefix and --upstream-url need exactly one --upstream")
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, err
	}
	s := pipeline.New(pipeline.Options{AWS: cfg, Source: src})
	wants := make([]ecrx.Want, 0, len(f.upstreams))
	for _, u := range f.upstreams {
		wants = append(wants, ecrx.Want{Upstream: u, Prefix: f.prefix, URL: f.upstreamURL})
	}
	if len(f.upstreams) == 0 {
		if wants, err = neededUpstreams(ctx, env, s, f.sf, paths); err != nil {
			return nil, credentialsError(err, src)
		}
	}
	results, err := pipeline.EnsureRules(ctx, s, wants, creds, nil)
	if err != nil && !errors.As(err, new(pipeline.UsageError)) {
		return nil, credentialsError(err, src)
	}
	return results, err
}

func printEnsured(env Env, results []ecrx.EnsureResult, asJSON bool) error {
	if asJSON {
		if results == nil {
			results = []ecrx.EnsureResult{}
		}
		return writeJSON(env.Stdout, results)
	}
	if len(results) == 0 {
		fmt.Fprintln(env.Stdout, "Every upstream the Dockerfiles use has a rule already.")
	}
	for _, r := range results {
		fmt.Fprintf(env.Stdout, "%s rule %q for %s\n", map[ecrx.EnsureAction]string{ecrx.Created: "created", ecrx.Existed: "kept"}[r.Action], r.Rule.ECRRepositoryPrefix, r.Rule.UpstreamRegistryURL)
	}
	return nil
}

func parseCredentialArns(in []string) (pipeline.CredentialArns, error) {
	out := pipeline.CredentialArns{}
	for _, c := range in {
		if k, v, ok := strings.Cut(c, "="); ok && !strings.HasPrefix(c, "arn:") {
			u, known := rules.ByName(k)
			if !known {
				return nil, usagef("--credential-arn %q: unknown upstream %q", c, k)
			}
			out[u.Name] = v
			continue
		}
		out[""] = c
	}
	return out, nil
}

// neededUpstreams scans the Dockerfiles and lists the upstreams that no rule of the registry serves.
func neededUpstreams(ctx context.Context, env Env, s *pipeline.Session, sf scanFlags, paths []string) ([]ecrx.Want, error) {
	existing, err := s.LiveRules(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := sf.options(env)
	if err != nil {
		return nil, err
	}
	results, failed, err := scanPaths(env, sf.files, paths, opts, nil)
	if err != nil {
		return nil, err
	}
	if failed > 0 {
		return nil, fmt.Errorf("%d Dockerfile(s) could not be evaluated; fix them first", failed)
	}
	return pipeline.Needed(existing, s.Registry, pipeline.Uses(results)), nil
}

func newRulesValidateCmd(env Env) *cobra.Command {
	var (
		af     awsFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "validate [--json]",
		Short: "Ask ECR whether each rule can reach its upstream with its credential",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := af.loadAWS(cmd.Context(), env)
			if err != nil {
				return err
			}
			out, err := pipeline.ValidateRules(cmd.Context(), pipeline.New(pipeline.Options{AWS: cfg, Source: src}))
			if err != nil {
				return err
			}
			return printValidations(env, out, asJSON)
		},
	}
	af.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verdicts as JSON")
	return cmd
}

// printValidations prints ECR's verdicts and fails when a rule is invalid.
func printValidations(env Env, out []ecrx.Validation, asJSON bool) error {
	invalid := 0
	for _, v := range out {
		if !v.Valid {
			invalid++
		}
	}
	if asJSON {
		if out == nil {
			out = []ecrx.Validation{}
		}
		if err := writeJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, v := range out {
			mark, note := "✓", ""
			if !v.Valid {
				mark, note = "✗", ": "+v.Failure
			}
			fmt.Fprintf(env.Stdout, "%s %s → %s%s\n", mark, v.Rule.ECRRepositoryPrefix, v.Rule.UpstreamRegistryURL, note)
		}
		if len(out) == 0 {
			fmt.Fprintln(env.Stdout, "The registry has no pull-through cache rules; create them with `ecr-ptc rules ensure`.")
		}
	}
	if invalid > 0 {
		return exitError{ExitFailure}
	}
	return nil
}
