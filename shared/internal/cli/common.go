package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
	"github.com/spf13/cobra"
)

// mapFlags are the flags every command that maps references shares.
type mapFlags struct {
	registry  string
	rulesFile string
	rules     []string
}

func (f *mapFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.registry, "registry", "", "cache registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com (default $ECR_PTC_REGISTRY)")
	cmd.Flags().StringVar(&f.rulesFile, "rules", "", "rules file: the JSON of `aws ecr describe-pull-through-cache-rules` (default: the standard prefixes docker-hub, ecr-public, quay, k8s, github, gitlab, chainguard)")
	cmd.Flags().StringArrayVar(&f.rules, "rule", nil, "a rule as UPSTREAM=PREFIX, e.g. docker.io=docker-hub (repeatable; instead of --rules)")
}

// given reports whether the user asked for mapping at all.
func (f *mapFlags) given(env Env) bool {
	return f.registry != "" || f.rulesFile != "" || len(f.rules) > 0 || env.getenv("ECR_PTC_REGISTRY") != ""
}

// mapper builds the Mapper the flags describe; a rules file wins over --rule, which wins over defaults.
func (f *mapFlags) mapper(env Env, extra ...mapping.Option) (*mapping.Mapper, error) {
	registry := namedRegistry(f.registry, env)
	if err := checkCacheRegistry(registry); err != nil {
		return nil, err
	}
	set, err := f.ruleSet()
	if err != nil {
		return nil, err
	}
	var opts []mapping.Option
	if set != nil {
		opts = append(opts, mapping.WithRules(*set))
	}
	return mapping.New(registry, append(opts, extra...)...), nil
}

// mapperFor maps onto registry with --rules/--rule when given, else with the registry's live rules.
func (f *mapFlags) mapperFor(ctx context.Context, env Env, client ecrx.DescribeRulesAPI, registry string, src credSource) (*mapping.Mapper, error) {
	if f.rulesFile != "" || len(f.rules) > 0 {
		mf := *f
		mf.registry = registry
		return mf.mapper(env)
	}
	set, err := ecrx.ListRules(ctx, client)
	if err != nil {
		return nil, credentialsError(err, src)
	}
	return mapping.New(registry, mapping.WithRules(set)), nil
}

// checkCacheRegistry refuses a missing cache registry or one that is not a host[:port].
func checkCacheRegistry(registry string) error {
	if registry == "" {
		return usagef("--registry is required (the cache registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com)")
	}
	if strings.ContainsAny(mapping.NormalizeRegistry(registry), "/ ") {
		return usagef("--registry %q must be a host[:port] without a path", clipArg(registry))
	}
	return validRegistry("--registry", registry)
}

// ruleSet is the rule set --rules or --rule give; nil when neither is given.
func (f *mapFlags) ruleSet() (*rules.Set, error) {
	switch {
	case f.rulesFile != "" && len(f.rules) > 0:
		return nil, usagef("use --rules or --rule, not both")
	case f.rulesFile != "":
		data, err := safefile.Read(f.rulesFile, maxInputFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the rules file: %w", pathError(err))
		}
		set, err := rules.Parse(f.rulesFile, data)
		if err != nil {
			return nil, err
		}
		return &set, nil
	case len(f.rules) > 0:
		set, err := rules.ParseSpec(strings.Join(f.rules, ","))
		if err != nil {
			return nil, usagef("--rule: %v", err)
		}
		if err := checkRuleUpstreams(set); err != nil {
			return nil, err
		}
		return &set, nil
	}
	return nil, nil
}

// pathError drops Go's "open " prefix so the message reads "x: no such file or directory".
func pathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkOutputDir fails early, before any work, when an output file's directory does not exist.
func checkOutputDir(flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot write %s %s: the directory %s does not exist", flag, path, filepath.Dir(path))
	}
	return nil
}

// parseBuildArgs reads --build-arg values like docker build: NAME=VALUE, or NAME alone to take the value
// from the environment (left unset when the environment has none).
func parseBuildArgs(env Env, in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, hasValue := strings.Cut(kv, "=")
		if !argName.MatchString(k) {
			return nil, usagef("--build-arg %q: expected NAME=VALUE with NAME made of letters, digits and _", kv)
		}
		if !hasValue {
			if ev := env.getenv(k); ev != "" {
				out[k] = ev
			}
			continue
		}
		out[k] = v
	}
	return out, nil
}

// writeJSON prints v indented, as every --json output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
