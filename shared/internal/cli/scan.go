package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/spf13/cobra"
)

// scanFlags select Dockerfiles and how to evaluate them; scan, rewrite and later setup share them.
type scanFlags struct {
	files     []string
	buildArgs []string
	target    string
	platforms string
	allStages bool
}

func (f *scanFlags) add(cmd *cobra.Command, multiFile bool) {
	if multiFile {
		cmd.Flags().StringArrayVarP(&f.files, "file", "f", nil, "a Dockerfile to scan (repeatable; besides the DIRs)")
	}
	cmd.Flags().StringArrayVar(&f.buildArgs, "build-arg", nil, "build argument NAME=VALUE, as given to the build (repeatable)")
	cmd.Flags().StringVar(&f.target, "target", "", "the stage the build targets (default: the last stage)")
	cmd.Flags().StringVar(&f.platforms, "platform", "", "target platform(s) of the build, e.g. linux/amd64,linux/arm64 (default linux/amd64)")
	cmd.Flags().BoolVar(&f.allStages, "all-stages", false, "report every stage, not only those the target needs")
}

// options returns one analysis option set per requested platform.
func (f *scanFlags) options(env Env) ([]dockerfile.Options, error) {
	args, err := parseBuildArgs(env, f.buildArgs)
	if err != nil {
		return nil, err
	}
	plats := []string{""}
	if strings.TrimSpace(f.platforms) != "" {
		plats = nil
		for _, p := range strings.Split(f.platforms, ",") {
			if p = strings.TrimSpace(p); p != "" {
				plats = append(plats, p)
			}
		}
	}
	var out []dockerfile.Options
	for _, p := range plats {
		out = append(out, dockerfile.Options{BuildArgs: args, Target: f.target, Platform: p, AllStages: f.allStages})
	}
	return out, nil
}

// scanResult is one image use with its mapping, the JSON object `scan --json` prints.
type scanResult = pipeline.ImageResult

// findDockerfiles is files followed by the Dockerfiles under each of dirs (default ".").
func findDockerfiles(env Env, files, dirs []string) ([]string, error) {
	if err := checkPathArgs("--file", files...); err != nil {
		return nil, err
	}
	if err := checkPathArgs("", dirs...); err != nil {
		return nil, err
	}
	for _, f := range files {
		// A relative file comes from the repository (a glob): it must not lead out of it.
		if !filepath.IsAbs(f) {
			if err := dockerfile.CheckLink(".", f); err != nil {
				return nil, fmt.Errorf("cannot read %v", pathError(err))
			}
		}
	}
	all := append([]string(nil), files...)
	if len(files) == 0 && len(dirs) == 0 {
		dirs = []string{"."}
	}
	for _, d := range dirs {
		found, err := dockerfile.Find(d)
		if err != nil {
			return nil, fmt.Errorf("cannot search %s", pathError(err))
		}
		if len(found) == 0 {
			fmt.Fprintf(env.Stderr, "ecr-ptc: no Dockerfile under %s (looked for Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile).\n", d)
		}
		all = append(all, found...)
	}
	return all, nil
}

// scanPaths finds the Dockerfiles in paths, analyses each for every option set and maps what they use
// (pipeline.Scan). Files that fail are reported on stderr and counted; the others are still returned.
func scanPaths(env Env, files, dirs []string, opts []dockerfile.Options, m *mapping.Mapper) ([]scanResult, int, error) {
	all, err := findDockerfiles(env, files, dirs)
	if err != nil {
		return nil, 0, err
	}
	results, failed := pipeline.Scan(all, opts, m, func(e pipeline.ScanError) {
		if e.Read {
			fmt.Fprintf(env.Stderr, "ecr-ptc: cannot read %v.\n", pathError(e.Err))
			return
		}
		fmt.Fprintln(env.Stderr, "ecr-ptc: "+sentence(e.Err))
	})
	return results, failed, nil
}

// scanCmdFlags are the flags of scan.
type scanCmdFlags struct {
	sf        scanFlags
	mf        mapFlags
	asJSON    bool
	listFiles bool
}

func (f *scanCmdFlags) register(cmd *cobra.Command) {
	f.sf.add(cmd, true)
	f.mf.add(cmd)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print a JSON array, one object per image use")
	cmd.Flags().BoolVar(&f.listFiles, "list-files", false, "only list the Dockerfiles found, one per line")
}

const scanLong = `scan finds the Dockerfiles in each DIR (Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile) and lists
every image a build pulls: FROM (ARGs evaluated with --build-arg), COPY --from=<image>,
RUN --mount=from=<image> and the # syntax= frontend, for the stages --target needs (--all-stages: all).
ONBUILD triggers are listed but not resolved. With --registry, each image also gets the cache reference
that serves it. Exit status 1 when a Dockerfile cannot be read or evaluated.`

func newScanCmd(env Env) *cobra.Command {
	var f scanCmdFlags
	cmd := &cobra.Command{
		Use:   "scan [-f FILE]... [DIR...] [--build-arg K=V]... [--target T] [--platform P] [--all-stages] [--registry HOST --rules FILE] [--json]",
		Short: "List every image the Dockerfiles pull, as BuildKit evaluates them",
		Long:  scanLong,
		Example: `  ecr-ptc scan .
  ecr-ptc scan -f build/Dockerfile --build-arg NODE_VERSION=22 --target prod --json
  ecr-ptc scan services/ --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com --rules rules.json`,
		RunE: func(cmd *cobra.Command, dirs []string) error { return f.run(env, dirs) },
	}
	f.register(cmd)
	return cmd
}

func (f *scanCmdFlags) run(env Env, dirs []string) error {
	if f.listFiles {
		// The Dockerfiles the other commands would read, for scripts that act on each file.
		files, err := findDockerfiles(env, f.sf.files, dirs)
		for _, file := range files {
			fmt.Fprintln(env.Stdout, file)
		}
		return err
	}
	opts, err := f.sf.options(env)
	if err != nil {
		return err
	}
	var m *mapping.Mapper
	if f.mf.given(env) {
		if m, err = f.mf.mapper(env); err != nil {
			return err
		}
	}
	results, failed, err := scanPaths(env, f.sf.files, dirs, opts, m)
	if err != nil {
		return err
	}
	if f.asJSON {
		if results == nil {
			results = []scanResult{}
		}
		if err := writeJSON(env.Stdout, results); err != nil {
			return err
		}
	} else {
		printScanTable(env, results, m != nil)
	}
	if failed > 0 {
		return exitError{ExitFailure}
	}
	return nil
}

func printScanTable(env Env, results []scanResult, mapped bool) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	if mapped {
		fmt.Fprintln(tw, "LOCATION\tINSTRUCTION\tSTAGE\tIMAGE\tCACHE REF")
	} else {
		fmt.Fprintln(tw, "LOCATION\tINSTRUCTION\tSTAGE\tIMAGE")
	}
	for _, r := range results {
		img := r.Ref
		if r.Error != "" {
			img = "error: " + r.Error
		}
		stage := r.Stage
		if stage == "" {
			stage = "-"
		}
		loc := fmt.Sprintf("%s:%d", r.File, r.Line)
		if !mapped {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", loc, r.Instruction, stage, img)
			continue
		}
		out := r.Output
		switch {
		case r.Error != "":
			out = "-"
		case r.Kind == mapping.WrongPath:
			out = "WRONG PATH: " + r.Reason
		case !r.Rewritten:
			out = "unchanged: " + r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", loc, r.Instruction, stage, img, out)
	}
	tw.Flush()
}
