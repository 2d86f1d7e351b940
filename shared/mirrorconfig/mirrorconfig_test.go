package mirrorconfig

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func accountRules(t *testing.T) rules.Set {
	t.Helper()
	data, err := os.ReadFile("testdata/describe-pull-through-cache-rules.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rules.Parse("describe-pull-through-cache-rules.json", data)
	if err != nil {
		t.Fatal(err)
	}
	// An ECR-to-ECR rule for a whole registry (ROOT), which a mirror can express.
	s.Rules = append(s.Rules, rules.Rule{ECRRepositoryPrefix: "ROOT", UpstreamRegistryURL: "111122223333.dkr.ecr.us-west-2.amazonaws.com", UpstreamRegistry: "ecr"})
	return s
}

func TestGolden(t *testing.T) {
	spec, err := rules.ParseSpec("docker.io=docker-hub,ghcr.io=github")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		registry string
		set      rules.Set
	}{
		{"defaults", reg, rules.Defaults()},
		{"account", "https://" + reg + "/", accountRules(t)},
		{"sandbox", "127.0.0.1:5000", spec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bk := Buildkitd(c.registry, c.set)
			golden(t, c.name+".buildkitd.toml", bk)
			// It must be TOML that maps each upstream to a mirror.
			var doc struct {
				Registry map[string]struct {
					Mirrors []string
					HTTP    bool `toml:"http"`
				}
			}
			if _, err := toml.Decode(bk, &doc); err != nil {
				t.Fatalf("buildkitd.toml does not parse: %v", err)
			}
			if len(doc.Registry) == 0 {
				t.Fatal("no registry sections")
			}
			ct := ContainerdText(c.registry, c.set)
			golden(t, c.name+".containerd.txt", ct)
			files, _ := Containerd(c.registry, c.set)
			for _, f := range files {
				var h struct {
					Server string
					Host   map[string]struct {
						Capabilities []string
						OverridePath bool `toml:"override_path"`
					}
				}
				if _, err := toml.Decode(f.Content, &h); err != nil {
					t.Fatalf("%s does not parse: %v", f.Path, err)
				}
				if len(h.Host) != 1 || h.Server == "" {
					t.Errorf("%s: %+v", f.Path, h)
				}
				for u, host := range h.Host {
					if !host.OverridePath || !strings.Contains(u, "/v2") {
						t.Errorf("%s: host %s %+v", f.Path, u, host)
					}
				}
			}
		})
	}
}

func TestMirrorsSkipsWhatAPathMirrorCannotExpress(t *testing.T) {
	ms, skipped := Mirrors(accountRules(t))
	byHost := map[string]Mirror{}
	for _, m := range ms {
		byHost[m.Upstream] = m
	}
	if m := byHost["docker.io"]; m.Server != "registry-1.docker.io" || m.Path != "docker.io" {
		t.Errorf("docker.io: %+v", m)
	}
	if m, ok := byHost["111122223333.dkr.ecr.us-west-2.amazonaws.com"]; !ok || m.Path != "" {
		t.Errorf("ROOT rule: %+v", m)
	}
	if len(skipped) != 1 || skipped[0].Prefix != "central" || !strings.Contains(skipped[0].Reason, "cannot strip") {
		t.Errorf("skipped %+v", skipped)
	}
}

// One ECR upstream named by two of its hosts (reference, "Registry hosts") is one mirror; an upstream
// prefix of "ROOT" is no prefix, so that rule is mirrored.
func TestMirrorsECRHostsAndRootUpstreamPrefix(t *testing.T) {
	set, err := rules.Parse("r.json", []byte(`[
		{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"444455556666.dkr.ecr.us-west-2.amazonaws.com","upstreamRepositoryPrefix":"ROOT"},
		{"ecrRepositoryPrefix":"central-v6","upstreamRegistryUrl":"444455556666.dkr-ecr.us-west-2.on.aws"}]`))
	if err != nil {
		t.Fatal(err)
	}
	ms, skipped := Mirrors(set)
	if len(ms) != 1 || ms[0].Path != "central" || len(skipped) != 1 || !strings.Contains(skipped[0].Reason, "already serves") {
		t.Errorf("mirrors %+v, skipped %+v", ms, skipped)
	}
}
