package actions_test

// The composite action for real: nektos/act runs .github/workflows/self-test.yml on this machine
// (-P ubuntu-latest=-self-hosted, no Docker) against the sandbox, whose OIDC endpoint is the job's
// ACTIONS_ID_TOKEN_REQUEST_URL. The action builds ecr-ptc from its own source (no release exists), logs
// in, checks and warms the cache, rewrites Dockerfiles and merges a build's metadata.

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// actEntry is one line of `act --json`.
type actEntry struct {
	Msg     string            `json:"msg"`
	Command string            `json:"command"`
	Arg     string            `json:"arg"`
	Name    string            `json:"name"`
	Content string            `json:"content"`
	Step    string            `json:"step"`
	StepID  []string          `json:"stepID"`
	KV      map[string]string `json:"kvPairs"`
	raw     string
}

func TestActSelfTest(t *testing.T) {
	act := citest.Need(t, "act", "go install github.com/nektos/act@v0.2.89")
	citest.Need(t, "go", "Go 1.26 on PATH")
	root := citest.RepoRoot(t)
	w := citest.Start(t)
	w.WithoutStaticKeys()
	w.Set("ACTIONS_ID_TOKEN_REQUEST_URL", w.SB.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.SB.GitHubRequestToken)
	cache := filepath.Join(w.Dir, "act-cache")
	out, err := w.Run(t, root, act, "push",
		"-W", ".github/workflows/self-test.yml",
		"-P", "ubuntu-latest=-self-hosted",
		"--action-cache-path", cache,
		"--var", "ECR_PTC_ROLE_ARN=arn:aws:iam::123456789012:role/ci",
		"--var", "ECR_PTC_REGION=us-east-1",
		// Unmasked, so the scan below sees anything ecr-ptc printed, masked or not.
		"--insecure-secrets", "--json")
	if err != nil || !strings.Contains(out, "Job succeeded") {
		t.Fatalf("act: %v\n%s", err, tail(out, 60))
	}

	var entries []actEntry
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		var e actEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			e.raw = sc.Text()
			entries = append(entries, e)
		}
	}
	masks := map[string]bool{}
	outputs := map[string][]string{}
	var summaries []string
	var logText strings.Builder
	for _, e := range entries {
		switch e.Command {
		case "add-mask":
			masks[e.Arg] = true
			continue // the only lines that carry a secret, on purpose
		case "set-output":
			outputs[e.Name] = append(outputs[e.Name], e.Arg)
		case "summary":
			summaries = append(summaries, e.Content)
		}
		logText.WriteString(e.raw + "\n")
	}
	w.NoSecrets(t, logText.String(), "the act log")

	// Masks: the ECR password and the STS secrets, never the user name or the account ID.
	password := w.DockerLogin(t, filepath.Join(w.Getenv("DOCKER_CONFIG"), "config.json"))
	if !masks[password] {
		t.Error("the ECR password was not masked")
	}
	secrets := map[string]bool{}
	for _, s := range w.Secrets() {
		secrets[s] = true
	}
	for m := range masks {
		if !secrets[m] {
			t.Errorf("masked %q, which is not a secret", m)
		}
	}
	if len(masks) < 3 {
		t.Errorf("%d values masked; want the ECR password, the STS secret key and the session token", len(masks))
	}
	if masks["AWS"] || masks[w.SB.AccountID] {
		t.Error("masked the user name AWS or the account ID")
	}
	if n := w.SB.Stats.Snapshot().STSRequests["AssumeRoleWithWebIdentity"]; n == 0 {
		t.Error("STS AssumeRoleWithWebIdentity was never called: the OIDC token was not used")
	}
	if !strings.Contains(out, "building ecr-ptc from") {
		t.Error("the action did not build ecr-ptc from source")
	}

	// Outputs of the first use (frontend mode); the workflow's own check steps assert the rest.
	host := w.SB.RegistryHost
	if !slices.Contains(outputs["registry"], host) {
		t.Errorf("registry outputs %v, want %s", outputs["registry"], host)
	}
	wantSyntax := "BUILDKIT_SYNTAX=" + host + "/github/ecr-ptc/frontend:v0.1.0"
	if !anyContains(outputs["build-args"], wantSyntax) || !anyContains(outputs["build-args"], "ECR_PTC_RULES=") {
		t.Errorf("build-args outputs %q lack %s and ECR_PTC_RULES", outputs["build-args"], wantSyntax)
	}
	if !anyContains(outputs["buildkitd-config"], `mirrors = ["`+host+`/docker-hub"]`) {
		t.Errorf("buildkitd-config outputs %q", outputs["buildkitd-config"])
	}
	if !anyContains(outputs["dockerfiles"], "actions/testdata/selftest/web/Dockerfile") {
		t.Errorf("dockerfiles outputs %q", outputs["dockerfiles"])
	}

	// The step summaries: the setup table, then the report merged with the build's metadata.
	all := strings.Join(summaries, "\n")
	for _, want := range []string{"| Image | Cache ref | Outcome | Digest | Size |", "MISS→warmed", "public-registry pulls avoided", "**FALLBACK**", "`docker.io/library/node:22`"} {
		if !strings.Contains(all, want) {
			t.Errorf("the step summaries lack %q:\n%s", want, all)
		}
	}
	for _, s := range summaries {
		if len(s) > 1<<20 {
			t.Errorf("a step summary has %d bytes, over GitHub's 1 MiB", len(s))
		}
	}
	w.NoSecretsInFiles(t, w.Dir+"/src")
}

func anyContains(list []string, sub string) bool {
	for _, x := range list {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
