package cli

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
	"github.com/spf13/cobra"
)

// reportFormats are what `report --format` renders.
var reportFormats = []string{"text", "json", "markdown", "junit", "dotenv"}

// reportFlags are the flags of report.
type reportFlags struct {
	reportJSON string
	metadata   []string
	format     string
	out        string
	ci         string
	strict     bool
}

func (f *reportFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.reportJSON, "report-json", "", "the cache report of ecr-ptc setup --report-json (default $ECR_PTC_REPORT)")
	fl.StringArrayVar(&f.metadata, "metadata-file", nil, "a build's --metadata-file (buildx build or bake, buildctl); repeatable")
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(reportFormats, ", "))
	fl.StringVarP(&f.out, "output", "o", "", "write the rendered report to this file (atomically) instead of stdout")
	fl.StringVar(&f.ci, "ci", "auto", "CI platform to publish to: auto, none, github, gitlab, codebuild")
	fl.BoolVar(&f.strict, "strict", false, "exit 1 when any image fell back, missed, could not be checked or was left by rewrite pointing at its original registry")
}

const reportLong = `report reads the cache report of 'ecr-ptc setup --report-json' (default $ECR_PTC_REPORT) and the build
metadata files that 'docker buildx build --metadata-file', 'docker buildx bake --metadata-file' and
'buildctl build --metadata-file' write, takes the ecr-ptc frontend's report from them (the key
` + report.MetadataKey + `: per image the original ref, the ref used, digest, outcome cache, fallback or
unchanged, reason and time), merges it in (the build is the ground truth: a fallback there is a FALLBACK
here), renders the result (--format) to stdout or -o FILE, and publishes it to the CI platform (--ci):
the GitHub step summary and outputs, GitLab's dotenv and JUnit reports, CodeBuild's JUnit report and env
file. A metadata file from a build that did not use the frontend adds nothing.
--strict exits 1 when any image fell back, missed, could not be checked, or is served by the cache but
the build does not use it (left unchanged by rewrite).`

func newReportCmd(env Env) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report [--report-json FILE] [--metadata-file FILE]... [--format text|json|markdown|junit|dotenv] [-o FILE] [--ci auto|github|gitlab|codebuild]",
		Short: "Merge what the builds resolved into the cache report, render it and publish it to the CI platform",
		Long:  reportLong,
		Example: `  docker buildx build --metadata-file build.json --build-arg BUILDKIT_SYNTAX=... .
  ecr-ptc report --report-json ecr-ptc-report.json --metadata-file build.json --format markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), env) },
	}
	f.register(cmd)
	return cmd
}

func (f *reportFlags) run(ctx context.Context, env Env) error {
	if !slices.Contains(reportFormats, f.format) {
		return usagef("--format %q: use one of %s", f.format, strings.Join(reportFormats, ", "))
	}
	d, err := door(env, f.ci)
	if err != nil {
		return err
	}
	setupReport := cmp.Or(f.reportJSON, env.getenv("ECR_PTC_REPORT"))
	if setupReport == "" && len(f.metadata) == 0 {
		return usagef("nothing to report: pass --report-json (from ecr-ptc setup) and/or --metadata-file (from a build's --metadata-file)")
	}
	rep, err := pipeline.MergeReport(pipeline.ReportInputs{SetupReport: setupReport, Metadata: f.metadata,
		Read: func(name string) ([]byte, error) {
			data, err := safefile.Read(name, maxInputFile)
			return data, pathError(err)
		},
		NoFrontend: func(name string) {
			fmt.Fprintf(env.Stderr, "ecr-ptc: %s has no %s: that build did not use the ecr-ptc frontend (BUILDKIT_SYNTAX).\n", name, report.MetadataKey)
		}})
	if err != nil {
		return err
	}
	if err := f.render(env, rep); err != nil {
		return err
	}
	if d != nil {
		published := setupReport
		if f.format == "json" && f.out != "" && f.out != "-" {
			published = f.out
		}
		p := ciplatform.Publication{Report: rep, Exports: report.Exports(rep, env.getenv("ECR_PTC_RULES")), ReportJSON: published, Getenv: env.getenv}
		if err := d.Publish(ctx, p); err != nil {
			return fmt.Errorf("cannot publish the report to %s: %v", d.Name(), err)
		}
	}
	return f.checkStrict(rep)
}

// render writes the report in --format to stdout or -o (atomically).
func (f *reportFlags) render(env Env, rep *report.Report) error {
	var buf bytes.Buffer
	var err error
	switch f.format {
	case "text":
		err = report.WriteText(&buf, rep)
	case "json":
		err = report.WriteJSON(&buf, rep)
	case "markdown":
		err = report.WriteMarkdown(&buf, rep, report.MarkdownOptions{})
	case "junit":
		err = report.WriteJUnit(&buf, rep, report.JUnitOptions{})
	case "dotenv":
		err = report.WriteDotenv(&buf, report.Exports(rep, env.getenv("ECR_PTC_RULES")))
	}
	if err != nil {
		return err
	}
	if f.out == "" || f.out == "-" {
		_, err := env.Stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.Write(f.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write %v", err)
	}
	return nil
}

// checkStrict fails --strict when an image did not come through the cache or a build bypassed it.
func (f *reportFlags) checkStrict(rep *report.Report) error {
	if t := rep.Totals; f.strict && t.Fallbacks+t.Misses+t.Errors > 0 {
		return fmt.Errorf("--strict: %d of %d images did not come through the cache (%d fallbacks, %d misses, %d errors)", t.Fallbacks+t.Misses+t.Errors, t.Images, t.Fallbacks, t.Misses, t.Errors)
	}
	if n := bypassed(rep); f.strict && n > 0 {
		return fmt.Errorf("--strict: %d of %d images the cache serves are left pointing at their original registry (see their reasons)", n, rep.Totals.Images)
	}
	return nil
}
