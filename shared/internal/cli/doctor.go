package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/spf13/cobra"
)

// check is one doctor finding.
type check = pipeline.Check

const doctorLong = `doctor checks everything a build through the cache depends on and prints one ✓ or ✗ line per check, each
✗ with its fix: credentials and identity, region, ECR login and registry reachability, a rule for every
upstream the Dockerfiles under PATH use, the secret naming rule (ecr-pullthroughcache/...) of rules with
credentials, ECR's own validation of each rule, and the pull permissions (a real pull through the cache,
which needs ecr:BatchImportUpstreamImage and, for a first pull, ecr:CreateRepository).
Exit status 1 when a check fails.`

func newDoctorCmd(env Env) *cobra.Command {
	var (
		af     awsFlags
		sf     scanFlags
		asJSON bool
		hosts  containerdHostsFlags
	)
	cmd := &cobra.Command{
		Use:   "doctor [PATH...]",
		Short: "Check credentials, region, registry, rules, secrets and pull permissions, with fixes",
		Long:  doctorLong,
		RunE: func(cmd *cobra.Command, paths []string) error {
			checks, err := hosts.checks(cmd.Context(), env, func() []check { return runDoctor(cmd.Context(), env, af, sf, paths) })
			if err != nil {
				return err
			}
			return printChecks(env, checks, asJSON)
		},
	}
	af.add(cmd)
	sf.add(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	hosts.add(cmd)
	return cmd
}

// printChecks prints one line per check (with its fix) or JSON, and fails when a check failed.
func printChecks(env Env, checks []check, asJSON bool) error {
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			fmt.Fprintf(env.Stdout, "%s %s: %s\n", mark, c.Name, c.Info)
			if c.Fix != "" {
				fmt.Fprintf(env.Stdout, "    fix: %s\n", c.Fix)
			}
		}
	}
	if failed > 0 {
		return exitError{ExitFailure}
	}
	return nil
}

// runDoctor loads the AWS configuration and runs pipeline.Doctor over it and the Dockerfiles.
func runDoctor(ctx context.Context, env Env, af awsFlags, sf scanFlags, paths []string) []check {
	cfg, src, err := af.loadAWS(ctx, env)
	if err != nil {
		return []check{{Name: "region", Info: err.Error(), Fix: "pass --region or set AWS_REGION"}}
	}
	cfg = withMasks(cfg, maskDoor(env, nil))
	login := func(ctx context.Context, _ bool) ([]ecrx.Auth, error) {
		return maskAuths(env, nil)(ecrx.Login(ctx, ecr.NewFromConfig(cfg)))
	}
	opts, optsErr := sf.options(env)
	return pipeline.Doctor(ctx, pipeline.DoctorInputs{
		Session:   pipeline.Options{AWS: cfg, Source: src, Registry: namedRegistry("", env), Login: login},
		ScanError: optsErr,
		Scan: func(m *mapping.Mapper) ([]scanResult, int, error) {
			return scanPaths(env, sf.files, paths, opts, m)
		},
	})
}
