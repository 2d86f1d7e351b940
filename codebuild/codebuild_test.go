package codebuild_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/codebuild"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"gopkg.in/yaml.v3"
)

func buildspecs(t *testing.T) []string {
	m, _ := filepath.Glob(filepath.Join(citest.RepoRoot(t), "codebuild", "examples", "buildspec*.yml"))
	if len(m) < 2 {
		t.Fatalf("found %d buildspecs", len(m))
	}
	return m
}

// Every buildspec in the repository against the project's own buildspec schema (no public one exists).
func TestBuildspecsMatchSchema(t *testing.T) {
	s := citest.Schema(t, filepath.Join(citest.RepoRoot(t), "codebuild", "buildspec.schema.json"))
	for _, f := range buildspecs(t) {
		citest.Validate(t, s, citest.YAMLDocs(t, f)[0], f)
	}
	for name, bad := range map[string]string{
		"unknown phase":     "version: 0.2\nphases:\n  deploy:\n    commands: [make]\n",
		"no commands list":  "version: 0.2\nphases:\n  build:\n    commands: make\n",
		"report format":     "version: 0.2\nphases:\n  build:\n    commands: [make]\nreports:\n  r:\n    files: [a.xml]\n    file-format: XUNIT\n",
		"exported variable": "version: 0.2\nenv:\n  exported-variables: [\"A-B\"]\nphases:\n  build:\n    commands: [make]\n",
	} {
		var doc any
		yaml.Unmarshal([]byte(bad), &doc)
		raw, _ := json.Marshal(doc)
		var j any
		json.Unmarshal(raw, &j)
		if s.Validate(j) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDoorPublish(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CODEBUILD_BUILD_ID": "app:1", "CODEBUILD_SRC_DIR": dir}
	var log bytes.Buffer
	d := codebuild.New(func(k string) string { return env[k] }, &log)
	if !d.Detect(func(k string) string { return env[k] }) || d.Name() != "codebuild" {
		t.Fatal("Detect/Name")
	}
	rep := &report.Report{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Images: []report.Image{
		{Ref: "docker.io/library/node:20", Outcome: report.Hit}, {Ref: "docker.io/library/alpine:3.20", Outcome: report.Fallback, Reason: "denied"}, {Ref: "mcr.microsoft.com/x:1", Outcome: report.Unchanged},
	}}
	rep.Tally()
	p := ciplatform.Publication{Report: rep, Exports: report.Exports(rep, "docker.io=docker-hub"), ReportJSON: "/tmp/a b/report.json", Getenv: func(k string) string { return env[k] }}
	if err := d.Publish(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	junit, _ := os.ReadFile(filepath.Join(dir, codebuild.DefaultJUnit))
	if !strings.Contains(string(junit), `<failure message="FALLBACK: denied"`) || !strings.Contains(string(junit), "<skipped") {
		t.Errorf("junit:\n%s", junit)
	}
	envFile, _ := os.ReadFile(filepath.Join(dir, codebuild.DefaultEnvFile))
	if !strings.Contains(string(envFile), "ECR_PTC_REPORT='/tmp/a b/report.json'\n") || !strings.Contains(string(envFile), "ECR_PTC_FALLBACKS=1\n") {
		t.Errorf("env file:\n%s", envFile)
	}
	for _, want := range []string{"[ecr-ptc] JUnit report for a report group", "ecr-ptc-reports/junit.xml", "[ecr-ptc] FALLBACK docker.io/library/alpine:3.20: denied", "set -a; . ./ecr-ptc.env; set +a"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// phaseCommands reads the commands of the given phases of a buildspec.
func phaseCommands(t *testing.T, file string, phases ...string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Env struct {
			Variables map[string]string `yaml:"variables"`
			Exported  []string          `yaml:"exported-variables"`
		} `yaml:"env"`
		Phases map[string]struct {
			Commands []string `yaml:"commands"`
		} `yaml:"phases"`
	}
	if err := yaml.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, v := range spec.Env.Variables {
		out = append(out, "export "+k+"='"+v+"'")
	}
	for _, p := range phases {
		out = append(out, spec.Phases[p].Commands...)
	}
	// What CodeBuild hands to later actions: every exported variable, printed for the test to check.
	for _, v := range spec.Env.Exported {
		out = append(out, `echo "exported `+v+`=${`+v+`:-}"`)
	}
	return out
}

// The CodeBuild path for real: the buildspec's install and pre_build commands (one bash session with
// -e, as buildspec 0.2 runs them) with CodeBuild's environment and a loopback container-credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) that hands out sandbox STS sessions like CodeBuild's agent;
// then post_build's `ecr-ptc report` with a buildx metadata file (the build phase itself needs Docker).
func TestCodeBuildBuildspec(t *testing.T) {
	citest.Need(t, "bash", "apt-get install bash")
	root := citest.RepoRoot(t)
	bin := citest.Binary(t)
	w := citest.Start(t)
	stsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(w.SB.AccessKeyID, w.SB.SecretAccessKey, "")),
		config.WithBaseEndpoint(w.SB.STSEndpoint))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "codebuild-agent-token" {
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		tok, _ := w.SB.MintToken(nil, time.Hour)
		out, err := sts.NewFromConfig(stsCfg).AssumeRoleWithWebIdentity(r.Context(), &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/codebuild"), RoleSessionName: aws.String("codebuild"), WebIdentityToken: aws.String(tok)})
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		c := out.Credentials
		json.NewEncoder(rw).Encode(map[string]string{"AccessKeyId": *c.AccessKeyId, "SecretAccessKey": *c.SecretAccessKey, "Token": *c.SessionToken, "Expiration": c.Expiration.UTC().Format(time.RFC3339)})
	}))
	defer srv.Close()

	src := filepath.Join(w.Dir, "src")
	app, _ := os.ReadFile(filepath.Join(root, "actions", "testdata", "selftest", "web", "Dockerfile"))
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "Dockerfile"), app, 0o644)
	w.WithoutStaticKeys()
	w.Set("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v2/credentials/build", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "codebuild-agent-token",
		"CODEBUILD_BUILD_ID", "app:0f1e2d3c", "CODEBUILD_BUILD_NUMBER", "7", "CODEBUILD_SRC_DIR", src, "CODEBUILD_RESOLVED_SOURCE_VERSION", "abc123")

	script := "set -e\n" + strings.Join(phaseCommands(t, filepath.Join(root, "codebuild", "examples", "buildspec-buildx.yml"), "install", "pre_build"), "\n") + "\n"
	out, err := w.Run(t, src, "bash", "-c", script)
	w.NoSecrets(t, out, "the build log")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if calls.Load() == 0 {
		t.Error("the container credentials endpoint was never asked")
	}
	host := w.SB.RegistryHost
	for _, want := range []string{"container credentials", "[ecr-ptc] JUnit report for a report group (file-format: JUNITXML): ecr-ptc-reports/junit.xml",
		"exported ECR_PTC_REGISTRY=" + host + "\n", "exported ECR_PTC_WARMED=4\n", "exported BUILDKIT_SYNTAX=" + host + "/github/ecr-ptc/frontend:v0.1.0\n", "MISS→warmed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the build log lacks %q:\n%s", want, out)
		}
	}
	junit, err := os.ReadFile(filepath.Join(src, "ecr-ptc-reports", "junit.xml"))
	if err != nil || strings.Count(string(junit), "<testcase ") != 4 {
		t.Errorf("JUnit: %v\n%s", err, junit)
	}
	w.DockerLogin(t, filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json"))

	// post_build: the build's metadata (buildx's --metadata-file format) merged into the report group's JUnit.
	meta, _ := os.ReadFile(filepath.Join(root, "actions", "testdata", "build-metadata.json"))
	os.WriteFile(filepath.Join(src, "build-metadata.json"), meta, 0o644)
	post := "set -e\nset -a; . ./ecr-ptc.env; set +a\n" + strings.Join(phaseCommands(t, filepath.Join(root, "codebuild", "examples", "buildspec-buildx.yml"), "post_build"), "\n") + "\n"
	out, err = w.Run(t, src, "bash", "-c", post)
	w.NoSecrets(t, out, "the post_build log")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	junit, _ = os.ReadFile(filepath.Join(src, "ecr-ptc-reports", "junit.xml"))
	if !strings.Contains(string(junit), `<failure message="FALLBACK: the cache answered 403`) || !strings.Contains(out, "[ecr-ptc] FALLBACK docker.io/library/alpine:3.20") {
		t.Errorf("the merged report lacks the build's fallback:\n%s\n%s", out, junit)
	}
	w.NoSecretsInFiles(t, src)
}
