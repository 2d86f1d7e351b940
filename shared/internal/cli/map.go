package cli

import (
	"fmt"

	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/spf13/cobra"
)

const mapLong = `map prints one line per input: the cache reference that serves it, or the input unchanged when the
cache cannot (no rule, an unsupported upstream, scratch, a local registry, an invalid reference).
--explain adds the reason on stderr; --json prints an array with input, output, rewritten, reason and
error for each input, in order. Exit status 1 when any input is invalid, 2 for usage errors.`

func newMapCmd(env Env) *cobra.Command {
	var (
		mf      mapFlags
		asJSON  bool
		explain bool
	)
	cmd := &cobra.Command{
		Use:   "map [--registry HOST] [--rules FILE] [--json] REF...",
		Short: "Print the pull-through cache reference that serves each image reference",
		Long:  mapLong,
		Example: `  ecr-ptc map --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com node:20 ghcr.io/org/app:1
  ecr-ptc map --registry $REGISTRY --rules rules.json --json alpine@sha256:...`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			m, err := mf.mapper(env)
			if err != nil {
				return err
			}
			return printMapped(env, m, refs, asJSON, explain)
		},
	}
	mf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per input")
	cmd.Flags().BoolVar(&explain, "explain", false, "print why each reference is or is not rewritten, on stderr")
	return cmd
}

// printMapped prints the cache reference of each ref (or JSON), the reasons on stderr, and fails
// when a ref is invalid.
func printMapped(env Env, m *mapping.Mapper, refs []string, asJSON, explain bool) error {
	results := make([]mapping.Result, len(refs))
	invalid := 0
	for i, r := range refs {
		results[i] = m.Map(r)
		if results[i].Kind == mapping.Invalid {
			invalid++
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintln(env.Stdout, r.Output)
			if r.Kind == mapping.Invalid {
				fmt.Fprintf(env.Stderr, "ecr-ptc: %s\n", r.Error)
			} else if explain || r.Kind == mapping.WrongPath {
				fmt.Fprintf(env.Stderr, "%s: %s\n", r.Input, r.Reason)
			}
		}
	}
	if invalid > 0 {
		return exitError{ExitFailure}
	}
	return nil
}
