package cli

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/iampolicy"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/spf13/cobra"
)

func newIAMPolicyCmd(env Env) *cobra.Command {
	var (
		forWhom  string
		account  string
		region   string
		prefixes []string
		ensure   bool
		mf       mapFlags
	)
	var registryHost string
	cmd := &cobra.Command{
		Use:   "iam-policy [--for ci|admin] [--account ID] [--region R] [--prefix P]... [--rules FILE]",
		Short: "Print a least-privilege IAM policy for the CI role or for the role that creates rules",
		Long: `iam-policy prints an IAM policy document (JSON).
--for ci: what a build's role needs to log in and pull through the cache: ecr:GetAuthorizationToken, and on
the cache repositories (<prefix>/*) ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
ecr:BatchCheckLayerAvailability, ecr:DescribeImages, plus ecr:BatchImportUpstreamImage and
ecr:CreateRepository, which a first pull through a rule needs. --ensure-rules adds rule creation.
--for admin: what the role that manages the rules needs.
Prefixes come from --prefix, else the rules file (--rules/--rule), else the default prefixes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set := rules.Defaults()
			if mf.rulesFile != "" || len(mf.rules) > 0 {
				mf.registry = "iam-policy.invalid"
				m, err := mf.mapper(env)
				if err != nil {
					return err
				}
				set = m.Rules()
			}
			ps := prefixes
			if len(ps) == 0 {
				for _, r := range set.Rules {
					ps = append(ps, r.ECRRepositoryPrefix)
				}
			}
			if account != "" && (len(account) != 12 || strings.Trim(account, "0123456789") != "") {
				return usagef("--account %q is not a 12-digit AWS account ID", account)
			}
			sort.Strings(ps)
			for _, p := range ps {
				if err := rules.ValidatePrefix(p); err != nil {
					return usagef("--prefix: %v", err)
				}
			}
			opts := iampolicy.Options{Account: account, Region: cmp.Or(region, env.getenv("AWS_REGION"), env.getenv("AWS_DEFAULT_REGION")), Prefixes: ps, EnsureRules: ensure}
			if registryHost != "" {
				// Any host of the registry (FIPS, dual-stack, any partition) names account, region and partition.
				r, ok := ecrhost.Parse(registryHost)
				if !ok {
					return usagef("--registry %q is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com or another of its hosts)", registryHost)
				}
				opts.Account, opts.Region, opts.Partition = cmp.Or(account, r.AccountID), cmp.Or(region, r.Region), r.Partition
				account = opts.Account
			}
			var doc iampolicy.Document
			switch forWhom {
			case "ci":
				doc = iampolicy.CI(opts)
			case "admin":
				doc = iampolicy.Admin(opts)
			default:
				return usagef("--for must be ci or admin, not %q", forWhom)
			}
			if err := writeJSON(env.Stdout, doc); err != nil {
				return err
			}
			if account == "" {
				fmt.Fprintln(env.Stderr, "note: pass --account to replace the * account in the ARNs")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&forWhom, "for", "ci", "whose policy: ci (builds) or admin (rule management)")
	cmd.Flags().StringVar(&account, "account", "", "the registry's account ID (default: any, as *)")
	cmd.Flags().StringVar(&region, "region", "", "the registry's region (default $AWS_REGION, else any)")
	cmd.Flags().StringVar(&registryHost, "registry", "", "the cache registry host: sets the account, region and ARN partition")
	cmd.Flags().StringArrayVar(&prefixes, "prefix", nil, "a rule prefix to allow (repeatable)")
	cmd.Flags().BoolVar(&ensure, "ensure-rules", false, "with --for ci: also allow `setup --ensure-rules` to create rules")
	cmd.Flags().StringVar(&mf.rulesFile, "rules", "", "rules file whose prefixes to allow")
	cmd.Flags().StringArrayVar(&mf.rules, "rule", nil, "a rule UPSTREAM=PREFIX whose prefix to allow (repeatable)")
	return cmd
}
