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

// iamPolicyFlags are the flags of iam-policy.
type iamPolicyFlags struct {
	forWhom      string
	account      string
	region       string
	prefixes     []string
	ensure       bool
	mf           mapFlags
	registryHost string
}

func (f *iamPolicyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.forWhom, "for", "ci", "whose policy: ci (builds) or admin (rule management)")
	cmd.Flags().StringVar(&f.account, "account", "", "the registry's account ID (default: any, as *)")
	cmd.Flags().StringVar(&f.region, "region", "", "the registry's region (default $AWS_REGION, else any)")
	cmd.Flags().StringVar(&f.registryHost, "registry", "", "the cache registry host: sets the account, region and ARN partition")
	cmd.Flags().StringArrayVar(&f.prefixes, "prefix", nil, "a rule prefix to allow (repeatable)")
	cmd.Flags().BoolVar(&f.ensure, "ensure-rules", false, "with --for ci: also allow `setup --ensure-rules` to create rules")
	cmd.Flags().StringVar(&f.mf.rulesFile, "rules", "", "rules file whose prefixes to allow")
	cmd.Flags().StringArrayVar(&f.mf.rules, "rule", nil, "a rule UPSTREAM=PREFIX whose prefix to allow (repeatable)")
}

const iamPolicyLong = `iam-policy prints an IAM policy document (JSON).
--for ci: what a build's role needs to log in and pull through the cache: ecr:GetAuthorizationToken, and on
the cache repositories (<prefix>/*) ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
ecr:BatchCheckLayerAvailability, ecr:DescribeImages, plus ecr:BatchImportUpstreamImage and
ecr:CreateRepository, which a first pull through a rule needs. --ensure-rules adds rule creation.
--for admin: what the role that manages the rules needs.
Prefixes come from --prefix, else the rules file (--rules/--rule), else the default prefixes.`

func newIAMPolicyCmd(env Env) *cobra.Command {
	var f iamPolicyFlags
	cmd := &cobra.Command{
		Use:   "iam-policy [--for ci|admin] [--account ID] [--region R] [--prefix P]... [--rules FILE]",
		Short: "Print a least-privilege IAM policy for the CI role or for the role that creates rules",
		Long:  iamPolicyLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options(env)
			if err != nil {
				return err
			}
			var doc iampolicy.Document
			switch f.forWhom {
			case "ci":
				doc = iampolicy.CI(opts)
			case "admin":
				doc = iampolicy.Admin(opts)
			default:
				return usagef("--for must be ci or admin, not %q", f.forWhom)
			}
			if err := writeJSON(env.Stdout, doc); err != nil {
				return err
			}
			if opts.Account == "" {
				fmt.Fprintln(env.Stderr, "note: pass --account to replace the * account in the ARNs")
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// options are the policy's account, region, partition and prefixes, from the flags.
func (f *iamPolicyFlags) options(env Env) (iampolicy.Options, error) {
	set := rules.Defaults()
	given, err := f.mf.ruleSet()
	if err != nil {
		return iampolicy.Options{}, err
	}
	if given != nil {
		set = *given
	}
	ps := f.prefixes
	if len(ps) == 0 {
		for _, r := range set.Rules {
			ps = append(ps, r.ECRRepositoryPrefix)
		}
	}
	if f.account != "" && (len(f.account) != 12 || strings.Trim(f.account, "0123456789") != "") {
		return iampolicy.Options{}, usagef("--account %q is not a 12-digit AWS account ID", f.account)
	}
	sort.Strings(ps)
	for _, p := range ps {
		if err := rules.ValidatePrefix(p); err != nil {
			return iampolicy.Options{}, usagef("--prefix: %v", err)
		}
	}
	opts := iampolicy.Options{Account: f.account, Region: cmp.Or(f.region, env.getenv("AWS_REGION"), env.getenv("AWS_DEFAULT_REGION")), Prefixes: ps, EnsureRules: f.ensure}
	if f.registryHost != "" {
		// Any host of the registry (FIPS, dual-stack, any partition) names account, region and partition.
		r, ok := ecrhost.Parse(f.registryHost)
		if !ok {
			return iampolicy.Options{}, usagef("--registry %q is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com or another of its hosts)", f.registryHost)
		}
		opts.Account, opts.Region, opts.Partition = cmp.Or(f.account, r.AccountID), cmp.Or(f.region, r.Region), r.Partition
	}
	return opts, nil
}
