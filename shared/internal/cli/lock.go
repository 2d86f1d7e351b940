package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
	"github.com/spf13/cobra"
)

// pins is the mapping option that applies a lock (none without one).
func pins(lf *lock.File) []mapping.Option {
	if lf == nil {
		return nil
	}
	return []mapping.Option{mapping.WithPins(lf.Lookup)}
}

// readLock reads a lock file for --lock.
func readLock(path string) (*lock.File, error) {
	if path == "" {
		return nil, nil
	}
	data, err := safefile.Read(path, maxInputFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read the lock file %v", pathError(err))
	}
	f, err := lock.Parse(path, data)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func newLockCmd(env Env) *cobra.Command {
	var (
		f      setupFlags
		out    string
		check  bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "lock [PATH...] [-o ecr-ptc.lock.json] [--check]",
		Short: "Pin every image the Dockerfiles use to the digest the cache serves",
		Long: `lock resolves every image the Dockerfiles under PATH use through the cache (warming it by tag) and writes
the digests to a lock file. With the lock, ` + "`setup --lock`" + `, ` + "`rewrite --lock`" + ` and the frontend (ECR_PTC_LOCK)
build dev, stage and prod on identical bytes even when an upstream tag moves; running lock again shows
a moved tag as a diff (~ ref old -> new) instead of a silent change. --check compares without writing
and exits 1 when anything changed. Images the cache does not serve are not locked.`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			ctx := cmd.Context()
			opts, err := f.sf.options(env)
			if err != nil {
				return err
			}
			var old lock.File
			data, err := safefile.Read(out, maxInputFile)
			switch {
			case err == nil:
				if old, err = lock.Parse(out, data); err != nil {
					return err
				}
			case !errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("cannot read %v", pathError(err))
			case check:
				return fmt.Errorf("%s does not exist; create it with `ecr-ptc lock`", out)
			}
			cfg, src, err := f.af.loadAWS(ctx, env)
			if err != nil {
				return err
			}
			cfg = withMasks(cfg, maskDoor(env, nil))
			client := ecr.NewFromConfig(cfg)
			auths, err := maskAuths(env, nil)(ecrx.Login(ctx, client))
			if err != nil {
				return credentialsError(err, src)
			}
			registry := cacheRegistry(f.mf.registry, env, auths, cfg.Region)
			m, err := f.mapper(ctx, env, client, registry, src)
			if err != nil {
				return err
			}
			results, failed, err := scanPaths(env, f.sf.files, paths, opts, m)
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d Dockerfile(s) could not be read or evaluated (see above)", failed)
			}
			var reqs []ecrx.WarmRequest
			refs := map[string]string{} // cache ref → original ref
			for _, r := range results {
				if !r.Rewritten || refs[r.Output] != "" {
					continue
				}
				refs[r.Output] = r.Ref
				reqs = append(reqs, ecrx.WarmRequest{Ref: r.Output})
			}
			w := &ecrx.Warmer{Auths: auths, Concurrency: f.concurrency}
			next := lock.File{Version: lock.Version, Registry: registry}
			problems := 0
			for _, res := range w.Warm(ctx, reqs) {
				if res.Outcome != ecrx.Warmed {
					fmt.Fprintf(env.Stderr, "ecr-ptc: cannot lock %s: %s\n", refs[res.Ref], res.Reason)
					problems++
					continue
				}
				next.Images = append(next.Images, lock.Entry{Ref: refs[res.Ref], Digest: res.Digest, CacheRef: res.Ref})
			}
			if problems > 0 {
				return exitError{ExitFailure}
			}
			changes := lock.Diff(old, next)
			if asJSON {
				if changes == nil {
					changes = []lock.Change{}
				}
				if err := writeJSON(env.Stdout, changes); err != nil {
					return err
				}
			} else {
				for _, c := range changes {
					fmt.Fprintln(env.Stdout, c)
				}
			}
			if check {
				if len(changes) > 0 {
					fmt.Fprintf(env.Stderr, "%s is out of date: %d change(s); run `ecr-ptc lock` and review the diff\n", out, len(changes))
					return exitError{ExitFailure}
				}
				return nil
			}
			if err := atomicfile.Write(out, next.Marshal(), 0o644); err != nil {
				return fmt.Errorf("cannot write %v", err)
			}
			fmt.Fprintf(env.Stderr, "wrote %s: %d image(s), %d change(s)\n", out, len(next.Images), len(changes))
			return nil
		},
	}
	f.af.add(cmd)
	f.sf.add(cmd, true)
	f.mf.add(cmd)
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 10, "images resolved at once")
	cmd.Flags().StringVarP(&out, "output", "o", "ecr-ptc.lock.json", "the lock file")
	cmd.Flags().BoolVar(&check, "check", false, "compare with the lock file and exit 1 on any change, writing nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	return cmd
}
