package gitlab_test

// The includes users copy are the ones tested: every `include:` block docs/ci.md prints for GitLab runs as
// written under gitlab-ci-local against the sandbox (only the host differs), and the README's CI/CD
// Catalog section lists exactly the component's inputs.

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"gopkg.in/yaml.v3"
)

// docsIncludes returns the YAML blocks of docs/ci.md's GitLab section that include ecr-ptc.
func docsIncludes(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## GitLab CI/CD component\n")
	if !ok {
		t.Fatal("docs/ci.md has no GitLab CI/CD component section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(section, -1) {
		if strings.Contains(m[1], "include:") {
			blocks = append(blocks, m[1])
		}
	}
	return blocks
}

var pinnedTag = regexp.MustCompile(`(?:@|/)(v\d+\.\d+\.\d+)(?:/|\n)`)

func TestDocsIncludes(t *testing.T) {
	root := citest.RepoRoot(t)
	blocks := docsIncludes(t, root)
	// The three ways in the docs promise: remote with inputs, the Catalog's component, the classic template.
	kinds := map[string]string{
		"remote with inputs": "remote: https://raw.githubusercontent.com/ecr-ptc/ecr-ptc/",
		"component":          "component: $CI_SERVER_FQDN/ecr-ptc/ecr-ptc/ecr-ptc@",
		"classic":            "/gitlab/ecr-ptc.gitlab-ci.yml",
	}
	tag := ""
	for name, marker := range kinds {
		found := false
		for _, b := range blocks {
			if strings.Contains(b, marker) && (name != "remote with inputs" || strings.Contains(b, "templates/ecr-ptc.yml") && strings.Contains(b, "inputs:")) {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/ci.md prints no %s include (%q)", name, marker)
		}
	}
	for _, b := range blocks {
		m := pinnedTag.FindStringSubmatch(b)
		if m == nil {
			t.Fatalf("an include in docs/ci.md pins no release tag:\n%s", b)
		}
		if tag != "" && m[1] != tag {
			t.Fatalf("docs/ci.md pins two tags, %s and %s", tag, m[1])
		}
		tag = m[1]
	}
	if t.Failed() {
		return
	}

	gcl := needGitLabCILocal(t)
	w := jobWorld(t, withBinary(t))
	f := startForge(t, root, tag)
	for i, ci := range blocks {
		t.Run(fmt.Sprintf("block%d", i+1), func(t *testing.T) {
			dir := project(t, root, f, ci)
			out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
			w.NoSecrets(t, out, "the gitlab-ci-local output")
			if err != nil {
				t.Fatalf("%v\n%s\nthe include:\n%s", err, out, ci)
			}
			env, err := os.ReadFile(filepath.Join(dir, "ecr-ptc.env"))
			if err != nil || !strings.Contains(string(env), "ECR_PTC_REGISTRY="+w.SB.RegistryHost+"\n") {
				t.Fatalf("no dotenv report naming the registry (%v):\n%s\n%s", err, env, out)
			}
			if !strings.Contains(out, "credentials: gitlab-oidc") {
				t.Errorf("the job did not log in with its id_token:\n%s", out)
			}
			// The docs' inputs/variables reached the job: the role it assumed is the one the block names.
			if !strings.Contains(out, "role/gitlab-ci") {
				t.Errorf("the job did not assume the role the include names:\n%s", out)
			}
			w.NoSecretsInFiles(t, filepath.Join(dir, "ecr-ptc.env"), filepath.Join(dir, ".gitlab-ci-local", "output"))
		})
	}
	// Something else on the forge is not served: the include really came from the tag.
	if n := w.SB.Stats.Snapshot().STSRequests["AssumeRoleWithWebIdentity"]; n < len(blocks) {
		t.Errorf("%d web-identity logins for %d includes", n, len(blocks))
	}
}

// componentInputs reads the component's inputs in file order.
func componentInputs(t *testing.T, root string) [][4]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, component))
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(data), "\n---\n")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(header), &doc); err != nil {
		t.Fatal(err)
	}
	find := func(n *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		t.Fatalf("the component's spec has no %q", key)
		return nil
	}
	inputs := find(find(doc.Content[0], "spec"), "inputs")
	var out [][4]string // name, type, default, description
	for i := 0; i+1 < len(inputs.Content); i += 2 {
		var in struct {
			Description string   `yaml:"description"`
			Type        string   `yaml:"type"`
			Default     *string  `yaml:"default"`
			Options     []string `yaml:"options"`
		}
		if err := inputs.Content[i+1].Decode(&in); err != nil {
			t.Fatal(err)
		}
		def := "*required*"
		if in.Default != nil {
			def = "`" + *in.Default + "`"
			if *in.Default == "" {
				def = "(empty)"
			}
		}
		typ := cmp.Or(in.Type, "string")
		if len(in.Options) > 0 {
			typ += ": " + strings.Join(in.Options, ", ")
		}
		desc := strings.Join(strings.Fields(in.Description), " ")
		out = append(out, [4]string{inputs.Content[i].Value, typ, def, strings.ReplaceAll(desc, "|", `\|`)})
	}
	return out
}

const inputsStart, inputsEnd = "<!-- component inputs: generated by go test ./gitlab -update -->\n", "<!-- end of component inputs -->\n"

// TestCatalogReadme keeps the README's CI/CD Catalog section (usage, inputs, jobs — the page the Catalog
// shows for a component project) in step with the component.
func TestCatalogReadme(t *testing.T) {
	root := citest.RepoRoot(t)
	var b strings.Builder
	b.WriteString(inputsStart)
	b.WriteString("| input | type | default | description |\n| --- | --- | --- | --- |\n")
	for _, in := range componentInputs(t, root) {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", in[0], in[1], in[2], in[3])
	}
	b.WriteString(inputsEnd)
	path := filepath.Join(root, "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(data, []byte(inputsStart)), bytes.Index(data, []byte(inputsEnd))
	if i < 0 || j < i {
		t.Fatal("README.md has no generated table of the component's inputs")
	}
	got := append(append(append([]byte{}, data[:i]...), b.String()...), data[j+len(inputsEnd):]...)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, data) {
		t.Error("the README's table of component inputs differs from templates/ecr-ptc.yml: run go test ./gitlab -update")
	}
	for _, want := range []string{"include:\n  - component: $CI_SERVER_FQDN/ecr-ptc/ecr-ptc/ecr-ptc@", "`ecr-ptc-setup`", "`.ecr-ptc-login`", "`ecr-ptc-report`"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the README's component section lacks %q", want)
		}
	}
}
