package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
	"github.com/spf13/cobra"
)

// rewriteFlags are the flags of rewrite.
type rewriteFlags struct {
	sf      scanFlags
	mf      mapFlags
	file    string
	out     string
	quiet   bool
	lockF   string
	argsOut string
	repJSON string
}

func (f *rewriteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "Dockerfile", "the Dockerfile to rewrite (- for stdin)")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the result to this file instead of stdout")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "do not list the changes on stderr")
	cmd.Flags().StringVar(&f.argsOut, "build-args-out", "", "write the --build-arg values to this file, NAME=VALUE a line, image-valued ones replaced by their cache references")
	cmd.Flags().StringVar(&f.repJSON, "report-json", "", "mark the images rewrite leaves pointing at their original registry as unchanged in this cache report (of ecr-ptc setup --report-json)")
	cmd.Flags().StringVar(&f.lockF, "lock", "", "pin each literal reference to its digest in this lock file (`ecr-ptc lock`)")
	f.sf.add(cmd, false)
	f.mf.add(cmd)
}

const rewriteLong = `rewrite is for builders that cannot use the ecr-ptc frontend (kaniko, buildah, the classic builder): it
prints the Dockerfile with every image reference the cache can serve replaced by its cache reference,
and every other byte unchanged. All stages are rewritten, whatever --target a build later picks.
Rewriting twice changes nothing.

ARG-driven images:
  FROM node:${NODE_VERSION}   the literal repository is rewritten, the tag stays a variable, so the same
                              --build-arg NODE_VERSION=22 still works through the cache.
  ARG BASE=node:20 / FROM $BASE
                              the ARG's default is rewritten; a --build-arg BASE=... at build time replaces
                              it and bypasses the cache unless it names a cache reference
                              (use 'ecr-ptc map' to get one).
  ARG REG=quay.io / FROM ${REG}/org/app:1
                              the literal start of the ARG's default is rewritten (ARG REG=<cache>/quay)
                              when every base name it starts maps the same way.
  FROM ${BASE:-alpine:3}      the default inside ${VAR:-default} and ${VAR-default} is rewritten.
  with --build-arg values     a base name built from them (FROM ${BASE} with --build-arg BASE=quay.io/x)
                              is pinned to the cache reference of its value, and --build-args-out FILE
                              writes the build args with image-valued ones mapped to the cache.
  Anything else is left as is and reported on stderr, with file:line, the reason and a count.
--report-json FILE (the cache report of 'ecr-ptc setup --report-json') marks each image the cache serves
but rewrite left pointing at its original registry as unchanged, with file:line and the reason, and
writes the report back atomically, so 'ecr-ptc report --strict' fails on it.
-f - reads stdin; -o writes a file atomically (it may be the input file). Changes are listed on stderr.`

func newRewriteCmd(env Env) *cobra.Command {
	var f rewriteFlags
	cmd := &cobra.Command{
		Use:   "rewrite [-f FILE] [-o OUT] [--build-arg K=V]... --registry HOST [--rules FILE] [--report-json FILE]",
		Short: "Print the Dockerfile with its image references pointed at the cache",
		Long:  rewriteLong,
		Example: `  ecr-ptc rewrite -f Dockerfile --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com > Dockerfile.ecr
  ecr-ptc rewrite -f Dockerfile -o Dockerfile --registry $REGISTRY --rules rules.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(env) },
	}
	f.register(cmd)
	return cmd
}

// rewriteJob is what rewrite checked and read before it changes anything.
type rewriteJob struct {
	opt  dockerfile.Options
	m    *mapping.Mapper
	rep  *report.Report // --report-json's report, or nil
	name string         // the Dockerfile's name in messages
	data []byte
}

func (f *rewriteFlags) run(env Env) error {
	job, err := f.prepare(env)
	if err != nil {
		return err
	}
	rewritten, changes, err := f.rewrite(job)
	if err != nil {
		return err
	}
	if !f.quiet {
		printChanges(env.Stderr, changes)
	}
	if err := f.write(env, rewritten); err != nil {
		return err
	}
	if job.rep != nil {
		return writeRewriteReport(f.repJSON, job.rep)
	}
	return nil
}

// prepare checks every flag and reads the inputs, in the order the checks have always run.
func (f *rewriteFlags) prepare(env Env) (job rewriteJob, err error) {
	opts, err := f.sf.options(env)
	if err != nil {
		return job, err
	}
	job.opt = opts[0]
	if err := checkOutputDir("--build-args-out", f.argsOut); err != nil {
		return job, err
	}
	lf, err := readLock(f.lockF)
	if err != nil {
		return job, err
	}
	if job.m, err = f.mf.mapper(env, pins(lf)...); err != nil {
		return job, err
	}
	if err := checkPathArgs("--file", f.file); err != nil {
		return job, err
	}
	if err := checkWritable("--output", f.out); err != nil {
		return job, err
	}
	if f.repJSON != "" {
		if job.rep, err = readRewriteReport(f.repJSON); err != nil {
			return job, err
		}
	}
	job.name, job.data, err = f.readDockerfile(env)
	return job, err
}

// readDockerfile reads -f: stdin for -, else a file that must not lead out of the tree unless absolute.
func (f *rewriteFlags) readDockerfile(env Env) (name string, data []byte, err error) {
	name = f.file
	if f.file == "-" {
		name = "stdin"
		if data, err = safefile.ReadAll(env.Stdin, dockerfile.MaxFileSize, "the Dockerfile on stdin"); err == nil {
			if terr := dockerfile.CheckText(data); terr != nil {
				err = &os.PathError{Op: "read", Path: "stdin", Err: terr}
			}
		}
	} else if err = dockerfile.CheckLink(".", f.file); err == nil || filepath.IsAbs(f.file) {
		data, err = dockerfile.ReadFile(f.file)
	}
	if err != nil {
		return name, nil, fmt.Errorf("cannot read %v", pathError(err))
	}
	return name, data, nil
}

// rewrite maps the Dockerfile (and --build-args-out) and marks what it left in the report.
func (f *rewriteFlags) rewrite(job rewriteJob) ([]byte, []dockerfile.Change, error) {
	mapper := func(ref string) (string, bool) {
		r := job.m.Map(ref)
		if r.Kind == mapping.WrongPath {
			return r.Fix, true // a cache path the cache can never fill: write the one it can
		}
		return r.Output, r.Rewritten
	}
	rewritten, changes, err := dockerfile.Rewrite(job.name, job.data, job.opt, mapper)
	if err != nil {
		return nil, nil, err
	}
	if f.argsOut != "" {
		argChanges, err := writeBuildArgs(f.argsOut, job.name, job.data, job.opt, mapper)
		if err != nil {
			return nil, nil, err
		}
		changes = append(changes, argChanges...)
	}
	if job.rep != nil {
		if _, err := markUnrewritten(job.rep, job.name, job.data, job.opt, changes); err != nil {
			return nil, nil, err
		}
	}
	return rewritten, changes, nil
}

// write prints the result, or writes -o atomically keeping the file's mode.
func (f *rewriteFlags) write(env Env, rewritten []byte) error {
	if f.out == "" || f.out == "-" {
		_, err := env.Stdout.Write(rewritten)
		return err
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(f.out); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := atomicfile.Write(f.out, rewritten, perm); err != nil {
		return fmt.Errorf("cannot write %v", err)
	}
	return nil
}
