package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/cachecost"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/spf13/cobra"
)

func newCacheCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Report what the cache repositories hold and cost, and expire what nobody pulls",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCacheReportCmd(env), newCacheLifecycleCmd(env))
	return cmd
}

// cacheRuleFlags choose where the rule prefixes come from: --rules/--rule, or the account's rules.
type cacheRuleFlags struct {
	af        awsFlags
	rulesFile string
	rules     []string
}

func (f *cacheRuleFlags) add(cmd *cobra.Command) {
	f.af.add(cmd)
	cmd.Flags().StringVar(&f.rulesFile, "rules", "", "rules file (the JSON of `aws ecr describe-pull-through-cache-rules`; default: the account's rules)")
	cmd.Flags().StringArrayVar(&f.rules, "rule", nil, "a rule as UPSTREAM=PREFIX, e.g. docker.io=docker-hub (repeatable; instead of --rules)")
}

// setup loads AWS and the rule prefixes.
func (f *cacheRuleFlags) setup(ctx context.Context, env Env) (*ecr.Client, []string, credSource, error) {
	var set rules.Set
	switch {
	case f.rulesFile != "" && len(f.rules) > 0:
		return nil, nil, credSource{}, usagef("use --rules or --rule, not both")
	case f.rulesFile != "":
		data, err := os.ReadFile(f.rulesFile)
		if err != nil {
			return nil, nil, credSource{}, fmt.Errorf("cannot read the rules file: %w", pathError(err))
		}
		if set, err = rules.Parse(f.rulesFile, data); err != nil {
			return nil, nil, credSource{}, err
		}
	case len(f.rules) > 0:
		var err error
		if set, err = rules.ParseSpec(strings.Join(f.rules, ",")); err != nil {
			return nil, nil, credSource{}, usagef("--rule: %v", err)
		}
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, nil, src, err
	}
	client := ecr.NewFromConfig(cfg)
	if len(set.Rules) == 0 && f.rulesFile == "" {
		if set, err = ecrx.ListRules(ctx, client); err != nil {
			return nil, nil, src, credentialsError(err, src)
		}
	}
	prefixes := cachecost.Prefixes(set)
	if len(prefixes) == 0 {
		return nil, nil, src, fmt.Errorf("no pull-through cache rules: there are no cache repositories to look at (create rules with `ecr-ptc rules ensure`)")
	}
	return client, prefixes, src, nil
}

const cacheReportLong = `cache report lists every repository the pull-through cache rules created (matched by the rules'
prefixes): images (untagged ones are old digests of moved tags and index children), stored bytes (the sum
of imageSizeInBytes: an upper bound, ECR stores shared layers once), the last pull (lastRecordedPullTime,
which ECR updates about once a day), images not pulled for --unpulled-days, whether a lifecycle policy
applies, the estimated monthly storage cost, and what a policy expiring untagged images after a day and
unpulled ones after --unpulled-days would save. --markdown renders it for a CI step summary.`

func newCacheReportCmd(env Env) *cobra.Command {
	var (
		f            cacheRuleFlags
		asJSON, md   bool
		price        float64
		unpulledDays int
	)
	cmd := &cobra.Command{
		Use:   "report [--json|--markdown] [--price-per-gb-month 0.10] [--unpulled-days 90]",
		Short: "Every repository the cache rules created: images, storage, last pull, lifecycle policy, cost",
		Long:  cacheReportLong,
		Example: `  ecr-ptc cache report
  ecr-ptc cache report --markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkCacheReportFlags(asJSON, md, price, unpulledDays); err != nil {
				return err
			}
			ctx := cmd.Context()
			client, prefixes, src, err := f.setup(ctx, env)
			if err != nil {
				return err
			}
			rep, err := cachecost.Build(ctx, client, prefixes, cachecost.Options{PricePerGBMonth: price, UnpulledDays: unpulledDays, Now: time.Now().UTC()})
			if err != nil {
				return credentialsError(err, src)
			}
			switch {
			case asJSON:
				return writeJSON(env.Stdout, rep)
			case md:
				printCacheMarkdown(env, rep)
			default:
				printCacheTable(env, rep)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&md, "markdown", false, "print the report as Markdown (for a CI step summary)")
	cmd.Flags().Float64Var(&price, "price-per-gb-month", 0.10, "storage price in USD per GB-month (ECR's list price is 0.10)")
	cmd.Flags().IntVar(&unpulledDays, "unpulled-days", 90, "an image not pulled for this many days counts as unpulled")
	return cmd
}

func lastPull(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02")
}

func policyWord(r cachecost.Repository) string {
	if r.Lifecycle {
		return "yes"
	}
	return "no"
}

func printCacheTable(env Env, rep cachecost.Report) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REPOSITORY\tRULE\tIMAGES\tUNTAGGED\tSTORED\tLAST PULL\tUNPULLED %dd\tPOLICY\tUSD/MONTH\tSAVINGS\n", rep.UnpulledDays)
	for _, r := range rep.Repositories {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%.2f\t%.2f\n", r.Name, r.Rule, r.Images, r.Untagged, cachecost.HumanBytes(r.Bytes), lastPull(r.LastPull), r.Unpulled, policyWord(r), r.MonthlyCost, r.Savings)
	}
	t := rep.Total
	fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%s\t%s\t%d\t%d without\t%.2f\t%.2f\n", t.Images, t.Untagged, cachecost.HumanBytes(t.Bytes), lastPull(t.LastPull), t.Unpulled, rep.WithoutPolicy, t.MonthlyCost, t.Savings)
	tw.Flush()
	cacheAdvice(env, rep)
}

func cacheAdvice(env Env, rep cachecost.Report) {
	if rep.WithoutPolicy > 0 {
		fmt.Fprintf(env.Stderr, "%d of %d cache repositories have no lifecycle policy; `ecr-ptc cache lifecycle --expire-untagged-days 1 --expire-unpulled-days %d` shows the change (about $%.2f a month less now).\n",
			rep.WithoutPolicy, len(rep.Repositories), rep.UnpulledDays, rep.Total.Savings)
	}
}

func printCacheMarkdown(env Env, rep cachecost.Report) {
	w := env.Stdout
	fmt.Fprintf(w, "### Pull-through cache storage\n\n")
	fmt.Fprintf(w, "%d repositories, %d images, %s stored: about **$%.2f a month** at $%.2f per GB-month; a lifecycle policy would save about **$%.2f a month** now.\n\n",
		len(rep.Repositories), rep.Total.Images, cachecost.HumanBytes(rep.Total.Bytes), rep.Total.MonthlyCost, rep.PricePerGBMonth, rep.Total.Savings)
	fmt.Fprintf(w, "| Repository | Rule | Images | Untagged | Stored | Last pull | Unpulled %dd | Lifecycle policy | USD/month | Savings |\n", rep.UnpulledDays)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|---|---:|---:|")
	for _, r := range rep.Repositories {
		// Repository names match ECR's pattern ([a-z0-9._/-]), so nothing in them needs escaping.
		fmt.Fprintf(w, "| `%s` | `%s` | %d | %d | %s | %s | %d | %s | %.2f | %.2f |\n", r.Name, r.Rule, r.Images, r.Untagged, cachecost.HumanBytes(r.Bytes), lastPull(r.LastPull), r.Unpulled, policyWord(r), r.MonthlyCost, r.Savings)
	}
	if rep.WithoutPolicy > 0 {
		fmt.Fprintf(w, "\n%d repositories have no lifecycle policy: run `ecr-ptc cache lifecycle --expire-untagged-days 1 --expire-unpulled-days %d`.\n", rep.WithoutPolicy, rep.UnpulledDays)
	}
}

const cacheLifecycleLong = `cache lifecycle gives every existing cache repository (matched by the rules' prefixes) a lifecycle policy
that expires untagged images N days after they were cached (the old digests a moved tag leaves behind)
and any image not pulled for M days (the cache imports it again on the next pull), and creates or
updates a repository creation template per rule prefix (appliedFor PULL_THROUGH_CACHE) carrying the same
policy for the repositories the cache creates later. Without --apply it shows the diff and changes
nothing; running it again changes nothing. Templates apply only to repositories created after them, and
tags on templates have broken pull-through cache imports before: ecr-ptc's templates carry no tags.`

func newCacheLifecycleCmd(env Env) *cobra.Command {
	var (
		f                      cacheRuleFlags
		untaggedDays, unpulled int
		apply, asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "lifecycle --expire-untagged-days N --expire-unpulled-days M [--apply] [--json]",
		Short: "Put a lifecycle policy on the cache repositories and a creation template for future ones",
		Long:  cacheLifecycleLong,
		Example: `  ecr-ptc cache lifecycle --expire-untagged-days 1 --expire-unpulled-days 90
  ecr-ptc cache lifecycle --expire-untagged-days 1 --expire-unpulled-days 90 --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("expire-untagged-days") && !cmd.Flags().Changed("expire-unpulled-days") {
				return usagef("give --expire-untagged-days N and/or --expire-unpulled-days M (0 leaves that rule out)")
			}
			policy, err := cachecost.Policy(untaggedDays, unpulled)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			client, prefixes, src, err := f.setup(ctx, env)
			if err != nil {
				return err
			}
			changes, err := cachecost.Plan(ctx, client, prefixes, policy)
			if err != nil {
				return credentialsError(err, src)
			}
			if apply {
				if err := cachecost.Apply(ctx, client, changes); err != nil {
					return credentialsError(err, src)
				}
			}
			if asJSON {
				return writeJSON(env.Stdout, map[string]any{"applied": apply, "policy": policy, "changes": changes, "notes": lifecycleNotes})
			}
			printLifecycle(env, changes, apply)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&untaggedDays, "expire-untagged-days", 0, "expire untagged images this many days after they were cached (0: no such rule)")
	cmd.Flags().IntVar(&unpulled, "expire-unpulled-days", 0, "expire images not pulled for this many days (0: no such rule)")
	cmd.Flags().BoolVar(&apply, "apply", false, "make the changes (default: show them)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}

// lifecycleNotes are what every user of `cache lifecycle` must know.
var lifecycleNotes = []string{
	"repository creation templates apply only to repositories created after them; existing cache repositories get the policy directly (the repository rows).",
	"tags on repository creation templates have broken pull-through cache imports before, so ecr-ptc's templates carry no resourceTags.",
}

func printLifecycle(env Env, changes []cachecost.Change, applied bool) {
	w := env.Stdout
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tACTION")
	pending := 0
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Kind, c.Name, c.Action)
		if c.Action != cachecost.Unchanged {
			pending++
		}
	}
	tw.Flush()
	shown := map[string]bool{}
	for _, c := range changes {
		if c.Action == cachecost.Unchanged {
			continue
		}
		key := c.Old + "\x00" + c.New
		if shown[key] {
			continue
		}
		shown[key] = true
		fmt.Fprintf(w, "\n--- %s %s (the same for every row with this change)\n", c.Kind, c.Name)
		for _, l := range cachecost.Diff(cachecost.Pretty(c.Old), cachecost.Pretty(c.New)) {
			fmt.Fprintln(w, l)
		}
	}
	for _, c := range changes {
		if c.Warning != "" {
			fmt.Fprintf(env.Stderr, "warning: template %s: %s\n", c.Name, c.Warning)
		}
	}
	for _, n := range lifecycleNotes {
		fmt.Fprintln(env.Stderr, "note: "+n)
	}
	switch {
	case pending == 0:
		fmt.Fprintln(env.Stderr, "nothing to change: every cache repository and template already has this policy.")
	case applied:
		fmt.Fprintf(env.Stderr, "applied %d change(s).\n", pending)
	default:
		fmt.Fprintf(env.Stderr, "dry run: %d change(s) not made; pass --apply to make them.\n", pending)
	}
}

// checkCacheReportFlags refuses `cache report` values before any call.
func checkCacheReportFlags(asJSON, md bool, price float64, unpulledDays int) error {
	if asJSON && md {
		return usagef("use --json or --markdown, not both")
	}
	if math.IsNaN(price) || math.IsInf(price, 0) || price < 0 || price > 1000 {
		return usagef("--price-per-gb-month %v must be a price in USD between 0 and 1000", price)
	}
	if unpulledDays < 1 || unpulledDays > 3650 {
		return usagef("--unpulled-days %d must be between 1 and 3650", unpulledDays)
	}
	return nil
}
