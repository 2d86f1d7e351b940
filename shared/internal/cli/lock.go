package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
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

// lockFlags are the flags of lock.
type lockFlags struct {
	af          awsFlags
	sf          scanFlags
	mf          mapFlags
	concurrency int
	out         string
	check       bool
	asJSON      bool
}

func (f *lockFlags) register(cmd *cobra.Command) {
	f.af.add(cmd)
	f.sf.add(cmd, true)
	f.mf.add(cmd)
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 10, "images resolved at once")
	cmd.Flags().StringVarP(&f.out, "output", "o", "ecr-ptc.lock.json", "the lock file")
	cmd.Flags().BoolVar(&f.check, "check", false, "compare with the lock file and exit 1 on any change, writing nothing")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the changes as JSON")
}

func newLockCmd(env Env) *cobra.Command {
	var f lockFlags
	cmd := &cobra.Command{
		Use:   "lock [PATH...] [-o ecr-ptc.lock.json] [--check]",
		Short: "Pin every image the Dockerfiles use to the digest the cache serves",
		Long: `lock resolves every image the Dockerfiles under PATH use through the cache (warming it by tag) and writes
the digests to a lock file. With the lock, ` + "`setup --lock`" + `, ` + "`rewrite --lock`" + ` and the frontend (ECR_PTC_LOCK)
build dev, stage and prod on identical bytes even when an upstream tag moves; running lock again shows
a moved tag as a diff (~ ref old -> new) instead of a silent change. --check compares without writing
and exits 1 when anything changed. Images the cache does not serve are not locked.`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			old, next, err := f.run(cmd.Context(), env, paths)
			if err != nil {
				return err
			}
			return f.finish(env, old, next)
		},
	}
	f.register(cmd)
	return cmd
}

// readOld reads the lock file as it is (none yet is an empty lock, except for --check).
func (f *lockFlags) readOld() (lock.File, error) {
	var old lock.File
	data, err := safefile.Read(f.out, maxInputFile)
	switch {
	case err == nil:
		return lock.Parse(f.out, data)
	case !errors.Is(err, fs.ErrNotExist):
		return old, fmt.Errorf("cannot read %v", pathError(err))
	case f.check:
		return old, fmt.Errorf("%s does not exist; create it with `ecr-ptc lock`", f.out)
	}
	return old, nil
}

// run resolves the images through the cache: the lock file as it was and as it would be now.
func (f *lockFlags) run(ctx context.Context, env Env, paths []string) (old, next lock.File, err error) {
	opts, err := f.sf.options(env)
	if err != nil {
		return old, next, err
	}
	if old, err = f.readOld(); err != nil {
		return old, next, err
	}
	given, err := f.mf.ruleSet()
	if err != nil {
		return old, next, err
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return old, next, err
	}
	cfg = withMasks(cfg, maskDoor(env, nil))
	s, err := openSession(ctx, pipeline.Options{AWS: cfg, Source: src, Registry: namedRegistry(f.mf.registry, env), Rules: given, Login: ecrLogin(env, nil, cfg, src)})
	if err != nil {
		return old, next, err
	}
	m, err := s.Mapper(ctx)
	if err != nil {
		return old, next, err
	}
	results, failed, err := scanPaths(env, f.sf.files, paths, opts, m)
	if err != nil {
		return old, next, err
	}
	if failed > 0 {
		return old, next, fmt.Errorf("%d Dockerfile(s) could not be read or evaluated (see above)", failed)
	}
	next, problems := pipeline.Lock(ctx, s, results, f.concurrency)
	for _, p := range problems {
		fmt.Fprintf(env.Stderr, "ecr-ptc: cannot lock %s: %s\n", p.Ref, p.Reason)
	}
	if len(problems) > 0 {
		return old, next, exitError{ExitFailure}
	}
	return old, next, nil
}

// finish prints the changes and writes the lock file, or with --check fails when anything changed.
func (f *lockFlags) finish(env Env, old, next lock.File) error {
	changes := lock.Diff(old, next)
	if f.asJSON {
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
	if f.check {
		if len(changes) > 0 {
			fmt.Fprintf(env.Stderr, "%s is out of date: %d change(s); run `ecr-ptc lock` and review the diff\n", f.out, len(changes))
			return exitError{ExitFailure}
		}
		return nil
	}
	if err := atomicfile.Write(f.out, next.Marshal(), 0o644); err != nil {
		return fmt.Errorf("cannot write %v", err)
	}
	fmt.Fprintf(env.Stderr, "wrote %s: %d image(s), %d change(s)\n", f.out, len(next.Images), len(changes))
	return nil
}
