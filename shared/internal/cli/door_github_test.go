package cli_test

// The ciplatform.Platform in process: `ecr-ptc setup --ci github` and `ecr-ptc report --ci github` through cli.Main
// against the sandbox, with the runner's files in a temporary directory.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"

	"github.com/ecr-ptc/ecr-ptc/actions"
	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
)

func TestDoorSetupAndReport(t *testing.T) {
	w := citest.Start(t)
	w.WithoutStaticKeys()
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
		files[k] = filepath.Join(w.Dir, strings.ToLower(k))
		w.Set(k, files[k])
	}
	w.Set("GITHUB_ACTIONS", "true", "GITHUB_RUN_ID", "99", "ACTIONS_ID_TOKEN_REQUEST_URL", w.SB.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.SB.GitHubRequestToken)
	w.Apply(t)
	src := w.Dockerfile(t, "app", "FROM node:20\nFROM alpine:3.20\nCOPY --from=mcr.microsoft.com/dotnet/runtime:8.0 / /\n")
	reportPath := filepath.Join(w.Dir, "report.json")

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		d := actions.New(w.Getenv, &out)
		code := cli.Main(context.Background(), args, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: w.Getenv, Platforms: []ciplatform.Platform{d}})
		return code, out.String(), errb.String()
	}
	code, stdout, stderr := run("setup", src, "--role-arn", "arn:aws:iam::123456789012:role/ci", "--report-json", reportPath)
	if code != 0 {
		t.Fatalf("setup: %d\n%s\n%s", code, stdout, stderr)
	}
	password := w.DockerLogin(t, filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json"))
	var masks []string
	var rest strings.Builder
	for _, line := range strings.Split(stdout, "\n") {
		if m, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masks = append(masks, m)
			continue
		}
		rest.WriteString(line + "\n")
	}
	if !slices.Contains(masks, password) || len(masks) < 3 {
		t.Errorf("masks %d, the ECR password masked: %v", len(masks), slices.Contains(masks, password))
	}
	if slices.Contains(masks, "AWS") || slices.Contains(masks, "123456789012") {
		t.Error("masked the user name or the account ID")
	}
	w.NoSecrets(t, rest.String()+stderr, "the step log")
	out, _ := os.ReadFile(files["GITHUB_OUTPUT"])
	env, _ := os.ReadFile(files["GITHUB_ENV"])
	summary, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	for file, wants := range map[string][]string{
		"GITHUB_OUTPUT":       {"registry<<", w.SB.RegistryHost, "warmed<<", "build-args<<", "ECR_PTC_RULES=docker.io=docker-hub", "report<<"},
		"GITHUB_ENV":          {"ECR_PTC_REGISTRY<<", "ECR_PTC_REPORT<<", reportPath},
		"GITHUB_STEP_SUMMARY": {"| Image | Cache ref | Outcome | Digest | Size |", "**UNCHANGED**", "MISS→warmed", "1 Docker Hub and other public-registry pulls avoided"},
	} {
		text := map[string]string{"GITHUB_OUTPUT": string(out), "GITHUB_ENV": string(env), "GITHUB_STEP_SUMMARY": string(summary)}[file]
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", file, want, text)
			}
		}
	}

	// After the build: the metadata's fallback lands in the summary and as an annotation.
	w.Set("ECR_PTC_REPORT", reportPath) // as the runner applies GITHUB_ENV to later steps
	meta := filepath.Join(citest.RepoRoot(t), "actions", "testdata", "build-metadata.json")
	code, stdout, stderr = run("report", "--metadata-file", meta, "--format", "json", "-o", filepath.Join(w.Dir, "merged.json"), "--strict")
	if code != 1 || !strings.Contains(stderr, "--strict: 1 of") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("report --strict: %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::warning title=ecr-ptc%3A FALLBACK::docker.io/library/alpine:3.20 is pulled from its public registry") {
		t.Errorf("no FALLBACK annotation:\n%s", stdout)
	}
	summary, _ = os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "**FALLBACK**<br>the cache answered 403") || !strings.Contains(string(summary), "UNCHANGED") {
		t.Errorf("the summary lacks the build's fallback:\n%s", summary)
	}
	w.NoSecretsInFiles(t, files["GITHUB_OUTPUT"], files["GITHUB_ENV"], files["GITHUB_STEP_SUMMARY"], reportPath, filepath.Join(w.Dir, "merged.json"))
}
