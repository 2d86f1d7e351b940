package gitlab_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/gitlab"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "regenerate gitlab/ecr-ptc.gitlab-ci.yml from the component")

const component = "templates/ecr-ptc.yml"
const classic = "gitlab/ecr-ptc.gitlab-ci.yml"

var inputRef = regexp.MustCompile(`\$\[\[ inputs\.([a-z-]+) \]\]`)

// classicName is the variable that configures an input in the classic template.
func classicName(input string) string {
	return "ECR_PTC_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
}

// generateClassic derives the classic include:-able template from the component, so the two never drift:
// each input becomes an ECR_PTC_* variable with the input's default and description (stage, which cannot
// be a variable, keeps its default).
func generateClassic(t *testing.T, root string) []byte {
	data, err := os.ReadFile(filepath.Join(root, component))
	if err != nil {
		t.Fatal(err)
	}
	header, jobs, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		t.Fatal("the component has no --- after its spec")
	}
	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Description string `yaml:"description"`
				Default     any    `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(header), &spec); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(spec.Spec.Inputs))
	for n := range spec.Spec.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# GENERATED from templates/ecr-ptc.yml by `go test ./gitlab -update`; edit the component instead.\n")
	b.WriteString("# The classic template, for include: project/remote/local: the component's inputs are these variables.\n")
	b.WriteString("variables:\n")
	for _, n := range names {
		in := spec.Spec.Inputs[n]
		if n == "stage" {
			continue
		}
		def := ""
		if in.Default != nil {
			def = fmt.Sprint(in.Default)
		}
		fmt.Fprintf(&b, "  %s:\n    value: %q\n    description: %q\n", classicName(n), def, strings.TrimSpace(in.Description))
	}
	b.WriteString("\n")
	var lines []string
	for _, line := range strings.Split(jobs, "\n") {
		line = strings.ReplaceAll(line, "$[[ inputs.stage ]]", fmt.Sprint(spec.Spec.Inputs["stage"].Default))
		line = inputRef.ReplaceAllStringFunc(line, func(m string) string {
			return "$" + classicName(inputRef.FindStringSubmatch(m)[1])
		})
		// A job variable set to its own name would only shadow the pipeline's value.
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && v == "$"+k {
			continue
		}
		lines = append(lines, line)
	}
	b.WriteString(strings.Join(lines, "\n"))
	return []byte(b.String())
}

func TestClassicTemplateUpToDate(t *testing.T) {
	root := citest.RepoRoot(t)
	got := generateClassic(t, root)
	path := filepath.Join(root, classic)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not generated from %s: run go test ./gitlab -update", classic, component)
	}
}

// The component is two YAML documents: the spec header and the jobs; both, the classic template and the
// examples validate against GitLab's own CI schema.
func TestGitLabFilesMatchSchema(t *testing.T) {
	dir := citest.SchemasDir(t)
	root := citest.RepoRoot(t)
	s := citest.Schema(t, filepath.Join(dir, "gitlab-ci.json"))
	docs := citest.YAMLDocs(t, filepath.Join(root, component))
	if len(docs) != 2 {
		t.Fatalf("%s has %d YAML documents, want 2 (spec, then jobs)", component, len(docs))
	}
	citest.Validate(t, s, docs[0], component+" (spec)")
	citest.Validate(t, s, docs[1], component+" (jobs)")
	files, _ := filepath.Glob(filepath.Join(root, "gitlab", "examples", "*.yml"))
	files = append(files, filepath.Join(root, classic), filepath.Join(root, "gitlab", "catalog-release.gitlab-ci.yml"))
	for _, f := range files {
		for i, d := range citest.YAMLDocs(t, f) {
			citest.Validate(t, s, d, fmt.Sprintf("%s (document %d)", f, i+1))
		}
	}
	// The validator does reject: a job with a script that is a number.
	bad := map[string]any{"job": map[string]any{"script": 42}}
	if s.Validate(bad) == nil {
		t.Error("the GitLab schema accepted a job whose script is a number")
	}
}

func TestDoorPublish(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := map[string]string{"CI_PROJECT_DIR": dir, "GITLAB_CI": "true"}
	var log bytes.Buffer
	d := gitlab.New(func(k string) string { return env[k] }, &log)
	if !d.Detect(func(k string) string { return env[k] }) || d.Name() != "gitlab" {
		t.Fatal("Detect/Name")
	}
	rep := &report.Report{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Images: []report.Image{
		{Ref: "docker.io/library/node:20", Outcome: report.Hit}, {Ref: "docker.io/library/alpine:3.20", Outcome: report.Fallback, Reason: "denied"},
	}}
	rep.Tally()
	p := ciplatform.Publication{Report: rep, Exports: report.Exports(rep, "docker.io=docker-hub"), ReportJSON: filepath.Join(dir, "ecr-ptc-report.json"), Getenv: func(k string) string { return env[k] }}
	if err := d.Publish(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	envFile, _ := os.ReadFile(filepath.Join(dir, gitlab.DefaultDotenv))
	for _, want := range []string{"ECR_PTC_REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com\n", "ECR_PTC_RULES=docker.io=docker-hub\n", "ECR_PTC_FALLBACKS=1\n", "ECR_PTC_REPORT=ecr-ptc-report.json\n"} {
		if !strings.Contains(string(envFile), want) {
			t.Errorf("dotenv lacks %q:\n%s", want, envFile)
		}
	}
	junit, _ := os.ReadFile(filepath.Join(dir, gitlab.DefaultJUnit))
	if !strings.Contains(string(junit), `<failure message="FALLBACK: denied"`) {
		t.Errorf("junit:\n%s", junit)
	}
	if !regexp.MustCompile(`\x1b\[0Ksection_start:\d+:ecr_ptc_reports\[collapsed=true\]\r\x1b\[0K`).Match(log.Bytes()) || !strings.Contains(log.String(), "section_end:") {
		t.Errorf("no collapsible section in the log: %q", log.String())
	}
	// A value GitLab's dotenv cannot hold: an error, and nothing written.
	dir2 := t.TempDir()
	t.Chdir(dir2)
	p.Exports = append(p.Exports, "BAD=two\nlines")
	if err := d.Publish(context.Background(), p); err == nil {
		t.Error("a value with a line break was accepted")
	}
	if entries, _ := os.ReadDir(dir2); len(entries) != 0 {
		t.Errorf("files were written after the error: %v", entries)
	}
}

func TestSectionLines(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(1700000000, 0)
	gitlab.SectionStart(&b, now, "ecr_ptc_setup", "Checking the cache", false)
	gitlab.SectionEnd(&b, now, "ecr_ptc_setup")
	want := "\x1b[0Ksection_start:1700000000:ecr_ptc_setup\r\x1b[0KChecking the cache\n\x1b[0Ksection_end:1700000000:ecr_ptc_setup\r\x1b[0K\n"
	if b.String() != want {
		t.Errorf("%q", b.String())
	}
}
