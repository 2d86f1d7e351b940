package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/mirrorconfig"
	"github.com/spf13/cobra"
)

const mirrorConfigLong = `mirror-config prints configuration that makes a builder you control pull upstream registries through the
ECR pull-through cache, for the rules in use (default: the standard prefixes):

  --format buildkitd   a buildkitd.toml fragment with a path mirror per upstream:
                       [registry."docker.io"] mirrors = ["<registry>/docker-hub"]
  --format containerd  one hosts.toml per upstream (certs.d/<upstream>/hosts.toml) with override_path;
                       --dir DIR writes them under DIR instead of printing them

Mirrors are resilient but invisible: after a mirror error the builder silently pulls from the upstream.
The ecr-ptc BuildKit frontend shows and can enforce every pull instead (buildkit-frontend/README.md).
Rules with an upstreamRepositoryPrefix are skipped (a mirror cannot strip it), with a comment.`

func newMirrorConfigCmd(env Env) *cobra.Command {
	var (
		mf     mapFlags
		format string
		dir    string
	)
	cmd := &cobra.Command{
		Use:   "mirror-config --format buildkitd|containerd [--registry HOST] [--rules FILE | --rule UPSTREAM=PREFIX...]",
		Short: "Print registry mirror configuration that sends pulls through the cache, for builders you control",
		Long:  mirrorConfigLong,
		Example: `  ecr-ptc mirror-config --format buildkitd --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com >> /etc/buildkit/buildkitd.toml
  ecr-ptc mirror-config --format containerd --rules rules.json --dir /etc/containerd/certs.d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := mf.mapper(env)
			if err != nil {
				return err
			}
			switch format {
			case "buildkitd":
				if dir != "" {
					return usagef("--dir is for --format containerd")
				}
				_, err := fmt.Fprint(env.Stdout, mirrorconfig.Buildkitd(m.Registry(), m.Rules()))
				return err
			case "containerd":
				return containerdMirrorConfig(env, dir, m)
			case "kubelet-credential-provider", "bottlerocket", "nodeadm":
				return nodeMirrorConfig(env, format, dir, m)
			default:
				return usagef("--format must be buildkitd, containerd, kubelet-credential-provider, bottlerocket or nodeadm")
			}
		},
	}
	mf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "", "buildkitd or containerd (required)")
	cmd.Flags().StringVar(&dir, "dir", "", "with --format containerd: write <upstream>/hosts.toml files under this directory")
	return cmd
}

// containerdMirrorConfig prints the hosts.toml files, or writes them under dir.
func containerdMirrorConfig(env Env, dir string, m *mapping.Mapper) error {
	if dir == "" {
		_, err := fmt.Fprint(env.Stdout, mirrorconfig.ContainerdText(m.Registry(), m.Rules()))
		return err
	}
	files, skipped := mirrorconfig.Containerd(m.Registry(), m.Rules())
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return pathError(err)
		}
		if err := atomicfile.Write(p, []byte(f.Content), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, p)
	}
	for _, s := range skipped {
		fmt.Fprintf(env.Stderr, "ecr-ptc: skipped the rule %q for %s: %s\n", s.Prefix, s.Upstream, s.Reason)
	}
	return nil
}
