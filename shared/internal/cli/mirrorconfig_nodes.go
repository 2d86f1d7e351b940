package cli

import (
	"fmt"

	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/mirrorconfig"
)

// nodeMirrorConfig prints the formats for Kubernetes nodes (docs/node-mirrors.md).
func nodeMirrorConfig(env Env, format, dir string, m *mapping.Mapper) error {
	if dir != "" {
		return usagef("--dir is for --format containerd")
	}
	var out string
	switch format {
	case "kubelet-credential-provider":
		out = mirrorconfig.KubeletCredentialProvider(m.Registry())
	case "bottlerocket":
		out = mirrorconfig.Bottlerocket(m.Registry(), m.Rules())
	case "nodeadm":
		out = mirrorconfig.Nodeadm(m.Registry(), m.Rules())
	}
	_, err := fmt.Fprint(env.Stdout, out)
	return err
}
