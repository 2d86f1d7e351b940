package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/freshness"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/spf13/cobra"
)

// refreshPlan is one image refresh would re-import, and what happened.
type refreshPlan struct {
	Ref        string `json:"ref"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	OldDigest  string `json:"oldDigest,omitempty"`
	NewDigest  string `json:"newDigest,omitempty"`
	Locked     string `json:"lockedDigest,omitempty"`
	// Action: would-refresh (dry run), refreshed, refused (a lock pins the cached digest), failed.
	Action string       `json:"action"`
	Reason string       `json:"reason,omitempty"`
	cache  imageref.Ref // by tag: what a pull through the cache fills
}

// refreshFlags are the flags of refresh.
type refreshFlags struct {
	af          awsFlags
	mf          mapFlags
	lockFile    string
	asJSON      bool
	yes         bool
	allowLocked bool
}

func (f *refreshFlags) register(cmd *cobra.Command) {
	f.af.add(cmd)
	f.mf.add(cmd)
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "delete and re-import (default: show what would be deleted)")
	cmd.Flags().StringVar(&f.lockFile, "lock", "", "the lock file (ecr-ptc.lock.json) whose pinned digests must not be deleted")
	cmd.Flags().BoolVar(&f.allowLocked, "allow-locked", false, "refresh even when the lock pins the cached digest")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the results as JSON")
}

const refreshLong = `refresh forces the pull-through cache to fetch a tag again: ECR has no refresh API, so it deletes the
cached tag (BatchDeleteImage; ECR deletes the image with its last tag) and pulls the tag through the
cache again, which re-imports it from the upstream. REF is an upstream reference (node:20) or a cache
reference (<registry>/docker-hub/library/node:20). Without --yes it only shows what it would delete.
It refuses to delete a digest that the lock (--lock) pins — digest pulls do not fill a cold cache, so
builds pinned to it would fail — unless --allow-locked. It reports the old and the new digest.`

func newRefreshCmd(env Env) *cobra.Command {
	var f refreshFlags
	cmd := &cobra.Command{
		Use:   "refresh REF... [--yes] [--lock FILE] [--allow-locked] [--json]",
		Short: "Re-import cached tags now instead of waiting for ECR's daily re-check",
		Long:  refreshLong,
		Example: `  ecr-ptc refresh node:20                 # dry run: what would be deleted
  ecr-ptc refresh node:20 alpine:3.20 --yes --lock ecr-ptc.lock.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			plans, refused, err := f.run(cmd.Context(), env, refs)
			if err != nil {
				return err
			}
			return f.report(env, plans, refused)
		},
	}
	f.register(cmd)
	return cmd
}

// run plans every refresh first (a bad reference or a refusal deletes nothing), then, with --yes and
// no refusal, deletes and re-imports.
func (f *refreshFlags) run(ctx context.Context, env Env, refs []string) ([]refreshPlan, int, error) {
	lf, err := readLock(f.lockFile)
	if err != nil {
		return nil, 0, err
	}
	given, err := f.mf.ruleSet()
	if err != nil {
		return nil, 0, err
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, 0, err
	}
	// The lock guards the digests it pins here; it does not pin the references refresh maps.
	s, err := openSession(ctx, pipeline.Options{AWS: cfg, Source: src, Registry: namedRegistry(f.mf.registry, env), Rules: given})
	if err != nil {
		return nil, 0, err
	}
	m, err := s.Mapper(ctx)
	if err != nil {
		return nil, 0, err
	}
	client := s.ECR
	var plans []refreshPlan
	refused := 0
	for _, in := range refs {
		p, err := f.plan(ctx, client, m, lf, src, in)
		if err != nil {
			return nil, 0, err
		}
		if p.Action == "refused" {
			refused++
		}
		plans = append(plans, p)
	}
	if f.yes && refused == 0 {
		applyRefresh(ctx, client, &ecrx.Warmer{Auths: s.Auths}, plans)
	}
	return plans, refused, nil
}

// plan says what refreshing one reference would do.
func (f *refreshFlags) plan(ctx context.Context, client *ecr.Client, m *mapping.Mapper, lf *lock.File, src credSource, in string) (refreshPlan, error) {
	t, why, ok := resolveTarget(m, in)
	if !ok {
		return refreshPlan{}, fmt.Errorf("%s: the cache does not serve it (%s)", in, why)
	}
	if t.tag == "" {
		return refreshPlan{}, fmt.Errorf("%s is pinned by digest: a digest never moves, so there is nothing to refresh (name the tag)", in)
	}
	p := refreshPlan{Ref: t.ref.String(), Repository: t.repository, Tag: t.tag, cache: t.cache.ByTag(), Action: "would-refresh"}
	c, cached, err := freshness.LookupCached(ctx, client, t.repository, t.tag)
	if err != nil {
		return refreshPlan{}, credentialsError(err, src)
	}
	if cached {
		p.OldDigest = c.Digest
		p.Reason = "would delete " + t.repository + ":" + t.tag + " (" + c.Digest + ") and pull it through again"
	} else {
		p.Reason = "not cached: would pull it through (nothing to delete)"
	}
	if lf != nil {
		p.Locked, _ = lf.Lookup(p.Ref)
	}
	if cached && p.Locked == c.Digest && !f.allowLocked {
		p.Action = "refused"
		p.Reason = "the lock pins the cached digest " + freshness.Short(c.Digest) + ": after deleting it, builds pinned to it fail (digest pulls do not fill the cache); pass --allow-locked to refresh anyway"
	}
	return p, nil
}

// applyRefresh deletes each cached tag and pulls it through the cache again, recording the outcome.
func applyRefresh(ctx context.Context, client *ecr.Client, w *ecrx.Warmer, plans []refreshPlan) {
	for i := range plans {
		p := &plans[i]
		if p.OldDigest != "" {
			if err := freshness.DeleteTag(ctx, client, p.Repository, p.Tag); err != nil {
				p.Action, p.Reason = "failed", err.Error()
				continue
			}
		}
		res := w.Warm(ctx, []ecrx.WarmRequest{{Ref: p.cache}})[0]
		if res.Outcome != ecrx.Warmed {
			p.Action, p.Reason = "failed", "deleted, but the pull through the cache failed: "+res.Reason+" (the next pull imports it)"
			continue
		}
		p.NewDigest, p.Action = res.Digest, "refreshed"
		switch {
		case p.OldDigest == "":
			p.Reason = "imported"
		case p.OldDigest == p.NewDigest:
			p.Reason = "re-imported: the upstream tag has not moved"
		default:
			p.Reason = "re-imported: the tag moved upstream"
		}
	}
}

// report prints the plans and sets the exit status.
func (f *refreshFlags) report(env Env, plans []refreshPlan, refused int) error {
	if f.asJSON {
		if err := writeJSON(env.Stdout, plans); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tCACHE REPOSITORY\tOLD DIGEST\tNEW DIGEST\tACTION\tREASON")
		for _, p := range plans {
			fmt.Fprintf(tw, "%s\t%s:%s\t%s\t%s\t%s\t%s\n", p.Ref, p.Repository, p.Tag, dash(p.OldDigest), dash(p.NewDigest), p.Action, p.Reason)
		}
		tw.Flush()
	}
	switch {
	case refused > 0:
		fmt.Fprintf(env.Stderr, "ecr-ptc: nothing was deleted: %d image(s) pinned by the lock (--allow-locked to refresh them anyway).\n", refused)
		return exitError{ExitFailure}
	case !f.yes:
		fmt.Fprintln(env.Stderr, "dry run: nothing was deleted; pass --yes to refresh.")
	}
	for _, p := range plans {
		if p.Action == "failed" {
			return exitError{ExitFailure}
		}
	}
	return nil
}
