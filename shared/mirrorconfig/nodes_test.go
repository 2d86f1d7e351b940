package mirrorconfig

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

func TestNodeFormats(t *testing.T) {
	spec, err := rules.ParseSpec("docker.io=docker-hub,ghcr.io=github")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, registry string
		set            rules.Set
	}{{"defaults", reg, rules.Defaults()}, {"sandbox", "127.0.0.1:5000", spec}} {
		t.Run(c.name, func(t *testing.T) {
			kp := KubeletCredentialProvider(c.registry)
			golden(t, c.name+".kubelet-credential-provider.yaml", kp)
			var cp struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string
				Providers  []struct {
					Name        string
					APIVersion  string   `yaml:"apiVersion"`
					MatchImages []string `yaml:"matchImages"`
				}
			}
			if err := yaml.Unmarshal([]byte(kp), &cp); err != nil || cp.Kind != "CredentialProviderConfig" || len(cp.Providers) != 1 ||
				cp.Providers[0].Name != "ecr-credential-provider" || cp.Providers[0].MatchImages[0] != c.registry {
				t.Errorf("CredentialProviderConfig: %v %+v", err, cp)
			}

			br := Bottlerocket(c.registry, c.set)
			golden(t, c.name+".bottlerocket.toml", br)
			var bd struct {
				Settings struct {
					ContainerRegistry struct {
						Mirrors []struct {
							Registry string
							Endpoint []string
						}
					} `toml:"container-registry"`
				}
			}
			if _, err := toml.Decode(br, &bd); err != nil {
				t.Fatalf("bottlerocket settings do not parse: %v", err)
			}
			ms, _ := Mirrors(c.set)
			if len(bd.Settings.ContainerRegistry.Mirrors) != len(ms) {
				t.Errorf("%d mirrors, want %d", len(bd.Settings.ContainerRegistry.Mirrors), len(ms))
			}
			for _, m := range bd.Settings.ContainerRegistry.Mirrors {
				if len(m.Endpoint) != 1 || !strings.Contains(m.Endpoint[0], c.registry+"/v2/") {
					t.Errorf("mirror %+v", m)
				}
			}

			na := Nodeadm(c.registry, c.set)
			golden(t, c.name+".nodeadm.mime", na)
			checkNodeadm(t, na, c.registry, c.set)
		})
	}
}

// checkNodeadm parses the MIME user data: a NodeConfig, and a script that, run with its root moved
// into a temporary directory, writes exactly the hosts.toml files --format containerd writes.
func checkNodeadm(t *testing.T, data, registry string, set rules.Set) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var nodeConfig, script []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		switch p.Header.Get("Content-Type") {
		case "application/node.eks.aws":
			nodeConfig = body
		default:
			script = body
		}
	}
	var nc struct {
		Kind string
		Spec struct{ Containerd struct{ Config string } }
	}
	if err := yaml.Unmarshal(nodeConfig, &nc); err != nil || nc.Kind != "NodeConfig" || !strings.Contains(nc.Spec.Containerd.Config, `config_path = "/etc/containerd/certs.d"`) {
		t.Fatalf("NodeConfig: %v %+v", err, nc)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		return
	}
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(string(script), "/etc/containerd", root))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the user data script failed: %v\n%s", err, out)
	}
	files, _ := Containerd(registry, set)
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(root, "certs.d", f.Path))
		if err != nil || !bytes.Equal(got, []byte(f.Content)) {
			t.Errorf("%s written by the script differs: %v\n%s", f.Path, err, got)
		}
	}
}
