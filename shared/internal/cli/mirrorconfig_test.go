package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
)

func runMirrorConfig(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), append([]string{"mirror-config"}, args...), cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errb.String()
}

func TestMirrorConfig(t *testing.T) {
	const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	code, out, errs := runMirrorConfig(t, nil, "--format", "buildkitd", "--registry", registry, "--rule", "docker.io=docker-hub", "--rule", "ghcr.io=github")
	if code != 0 || !strings.Contains(out, "[registry.\"docker.io\"]\n  mirrors = [\""+registry+"/docker-hub\"]") ||
		!strings.Contains(out, "[registry.\"ghcr.io\"]\n  mirrors = [\""+registry+"/github\"]") || strings.Contains(out, "quay.io") {
		t.Errorf("buildkitd: %d %q %q", code, out, errs)
	}

	// The registry from the environment, default rules, containerd files.
	code, out, errs = runMirrorConfig(t, map[string]string{"ECR_PTC_REGISTRY": registry}, "--format", "containerd")
	if code != 0 || !strings.Contains(out, "# ---- /etc/containerd/certs.d/quay.io/hosts.toml") || !strings.Contains(out, "[host.\"https://"+registry+"/v2/quay\"]") {
		t.Errorf("containerd: %d %q %q", code, out, errs)
	}

	dir := t.TempDir()
	code, out, errs = runMirrorConfig(t, nil, "--format", "containerd", "--registry", registry, "--rule", "docker.io=docker-hub", "--dir", dir)
	data, err := os.ReadFile(filepath.Join(dir, "docker.io", "hosts.toml"))
	if code != 0 || err != nil || !strings.Contains(string(data), "server = \"https://registry-1.docker.io\"") || !strings.Contains(string(data), "override_path = true") {
		t.Errorf("--dir: %d %q %q %v %s", code, out, errs, err, data)
	}

	for _, args := range [][]string{
		{"--format", "podman", "--registry", registry},
		{"--format", "buildkitd"},
		{"--format", "buildkitd", "--registry", registry, "--dir", dir},
	} {
		if code, _, errs := runMirrorConfig(t, nil, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}
