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

func newRewriteCmd(env Env) *cobra.Command {
	var (
		sf      scanFlags
		mf      mapFlags
		file    string
		out     string
		quiet   bool
		lockF   string
		argsOut string
		repJSON string
	)
	cmd := &cobra.Command{
		Use:   "rewrite [-f FILE] [-o OUT] [--build-arg K=V]... --registry HOST [--rules FILE] [--report-json FILE]",
		Short: "Print the Dockerfile with its image references pointed at the cache",
		Long: `rewrite is for builders that cannot use the ecr-ptc frontend (kaniko, buildah, the classic builder): it
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
-f - reads stdin; -o writes a file atomically (it may be the input file). Changes are listed on stderr.`,
		Example: `  ecr-ptc rewrite -f Dockerfile --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com > Dockerfile.ecr
  ecr-ptc rewrite -f Dockerfile -o Dockerfile --registry $REGISTRY --rules rules.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := sf.options(env)
			if err != nil {
				return err
			}
			if err := checkOutputDir("--build-args-out", argsOut); err != nil {
				return err
			}
			lf, err := readLock(lockF)
			if err != nil {
				return err
			}
			m, err := mf.mapper(env, pins(lf)...)
			if err != nil {
				return err
			}
			if err := checkPathArgs("--file", file); err != nil {
				return err
			}
			if err := checkWritable("--output", out); err != nil {
				return err
			}
			var rep *report.Report
			if repJSON != "" {
				if rep, err = readRewriteReport(repJSON); err != nil {
					return err
				}
			}
			var data []byte
			name := file
			if file == "-" {
				name = "stdin"
				if data, err = safefile.ReadAll(env.Stdin, dockerfile.MaxFileSize, "the Dockerfile on stdin"); err == nil {
					if terr := dockerfile.CheckText(data); terr != nil {
						err = &os.PathError{Op: "read", Path: "stdin", Err: terr}
					}
				}
			} else if err = dockerfile.CheckLink(".", file); err == nil || filepath.IsAbs(file) {
				data, err = dockerfile.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("cannot read %v", pathError(err))
			}
			mapper := func(ref string) (string, bool) {
				r := m.Map(ref)
				if r.Kind == mapping.WrongPath {
					return r.Fix, true // a cache path the cache can never fill: write the one it can
				}
				return r.Output, r.Rewritten
			}
			rewritten, changes, err := dockerfile.Rewrite(name, data, opts[0], mapper)
			if err != nil {
				return err
			}
			if argsOut != "" {
				argChanges, err := writeBuildArgs(argsOut, name, data, opts[0], mapper)
				if err != nil {
					return err
				}
				changes = append(changes, argChanges...)
			}
			if rep != nil {
				if _, err := markUnrewritten(rep, name, data, opts[0], changes); err != nil {
					return err
				}
			}
			if !quiet {
				printChanges(env.Stderr, changes)
			}
			if out == "" || out == "-" {
				if _, err = env.Stdout.Write(rewritten); err != nil {
					return err
				}
			} else {
				perm := os.FileMode(0o644)
				if fi, err := os.Stat(out); err == nil {
					perm = fi.Mode().Perm()
				}
				if err := atomicfile.Write(out, rewritten, perm); err != nil {
					return fmt.Errorf("cannot write %v", err)
				}
			}
			if rep != nil {
				return writeRewriteReport(repJSON, rep)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "Dockerfile", "the Dockerfile to rewrite (- for stdin)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the result to this file instead of stdout")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not list the changes on stderr")
	cmd.Flags().StringVar(&argsOut, "build-args-out", "", "write the --build-arg values to this file, NAME=VALUE a line, image-valued ones replaced by their cache references")
	cmd.Flags().StringVar(&repJSON, "report-json", "", "mark the images rewrite leaves pointing at their original registry as unchanged in this cache report (of ecr-ptc setup --report-json)")
	cmd.Flags().StringVar(&lockF, "lock", "", "pin each literal reference to its digest in this lock file (`ecr-ptc lock`)")
	sf.add(cmd, false)
	mf.add(cmd)
	return cmd
}
