package cli_test

// End-to-end tests: the real command line, the real AWS SDK and containerd's registry client against the
// sandbox's ECR, STS, OIDC issuer and registry on loopback. Every test scans what it printed and wrote
// for every secret the sandbox handed out.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

const role = "arn:aws:iam::123456789012:role/ci"

// world is one sandbox and the environment a CI job would have with it.
type world struct {
	t     testing.TB
	sb    *sandbox.Sandbox
	env   map[string]string
	dir   string
	files []string // files whose contents are scanned for secrets
}

func newWorld(t testing.TB, cfg sandbox.Config) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sb.Close() })
	w := &world{t: t, sb: sb, dir: t.TempDir(), env: map[string]string{}}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		w.env[k] = v
	}
	w.env["HOME"] = w.dir
	w.env["DOCKER_CONFIG"] = filepath.Join(w.dir, "docker")
	// Keep the machine's own AWS setup out of the SDK's default chain.
	w.env["AWS_CONFIG_FILE"] = filepath.Join(w.dir, "aws-config")
	w.env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(w.dir, "aws-credentials")
	w.env["AWS_EC2_METADATA_DISABLED"] = "true"
	w.apply()
	return w
}

// apply mirrors w.env into the process environment, which the AWS SDK reads itself.
func (w *world) apply() {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_DEFAULT_REGION"} {
		w.t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range w.env {
		w.t.Setenv(k, v)
	}
}

// withoutStaticKeys makes the default chain find nothing, so only the web identity can work.
func (w *world) withoutStaticKeys() {
	delete(w.env, "AWS_ACCESS_KEY_ID")
	delete(w.env, "AWS_SECRET_ACCESS_KEY")
	w.apply()
}

func (w *world) set(kv ...string) {
	for i := 0; i < len(kv); i += 2 {
		w.env[kv[i]] = kv[i+1]
	}
	w.apply()
}

func (w *world) run(args ...string) run {
	w.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv:    func(k string) string { return w.env[k] },
		Build:     cli.Build{Version: "test"},
		Platforms: platforms(func(k string) string { return w.env[k] }),
	})
	r := run{code, out.String(), errb.String()}
	w.noSecrets(r.stdout+r.stderr, "the output of "+strings.Join(args, " "))
	return r
}

// noSecrets fails when text holds any secret the sandbox issued.
func (w *world) noSecrets(text, where string) {
	w.t.Helper()
	for _, s := range w.sb.Secrets() {
		if len(s) >= 8 && strings.Contains(text, s) {
			w.t.Errorf("%s contains a secret (%.6s…)", where, s)
		}
	}
}

// done scans every file the test wrote (except the auth files, whose job is to hold the password).
func (w *world) done() {
	w.t.Helper()
	for _, f := range w.files {
		data, err := os.ReadFile(f)
		if err == nil {
			w.noSecrets(string(data), f)
		}
	}
}

func (w *world) dockerfile(body string) string {
	p := filepath.Join(w.dir, "src", "Dockerfile")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return filepath.Dir(p)
}

func (w *world) ruleDefaults(names ...string) {
	for _, n := range names {
		up, _ := rules.ByName(n)
		r := rules.Rule{ECRRepositoryPrefix: up.DefaultPrefix, UpstreamRegistryURL: up.URL, UpstreamRegistry: up.Enum}
		if up.NeedsCredential {
			r.CredentialArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/" + n
		}
		w.sb.Store.PutRule(r)
	}
}

func (w *world) stats() sandbox.StatsSnapshot { return w.sb.Stats.Snapshot() }

// dockerLogin returns the password the Docker config holds for the registry, and checks the file mode.
func (w *world) dockerLogin() string {
	w.t.Helper()
	p := filepath.Join(w.env["DOCKER_CONFIG"], "config.json")
	fi, err := os.Stat(p)
	if err != nil {
		w.t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		w.t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
	}
	var doc struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	data, _ := os.ReadFile(p)
	if err := json.Unmarshal(data, &doc); err != nil {
		w.t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(doc.Auths[w.sb.RegistryHost].Auth)
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || !w.sb.Store.ValidToken(pass) {
		w.t.Fatalf("the Docker config does not hold a valid ECR login for %s", w.sb.RegistryHost)
	}
	return pass
}

// Reference: GetAuthorizationToken returns base64 "AWS:<password>" valid 12 h, with proxyEndpoint.
func TestE2ELoginDefaultChain(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	os.MkdirAll(w.env["DOCKER_CONFIG"], 0o700)
	// An existing Docker Hub login must survive.
	os.WriteFile(filepath.Join(w.env["DOCKER_CONFIG"], "config.json"), []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="}}}`), 0o600)
	authFile := filepath.Join(w.dir, "containers", "auth.json")
	r := w.run("login", "--auth-file", authFile)
	if r.code != 0 || !strings.Contains(r.stdout, "Logged in to "+w.sb.RegistryHost) {
		t.Fatalf("%+v", r)
	}
	w.dockerLogin()
	data, _ := os.ReadFile(filepath.Join(w.env["DOCKER_CONFIG"], "config.json"))
	if !strings.Contains(string(data), "index.docker.io") {
		t.Error("the existing docker.io login was dropped")
	}
	fi, err := os.Stat(authFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth file: %v %v", fi, err)
	}
	// ECR Public and an account ID together (reference: ECR Public's API lives in us-east-1).
	r = w.run("login", "--registries", "123456789012,public.ecr.aws", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"host": "public.ecr.aws"`) || !strings.Contains(r.stdout, `"host": "`+w.sb.RegistryHost+`"`) || strings.Contains(r.stdout, "password") {
		t.Fatalf("public login: %+v", r)
	}
	data, _ = os.ReadFile(filepath.Join(w.env["DOCKER_CONFIG"], "config.json"))
	if !strings.Contains(string(data), `"public.ecr.aws"`) {
		t.Errorf("no public.ecr.aws login in the Docker config")
	}
	// A second login in the same job reuses the cached token: no second GetAuthorizationToken.
	w.set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.dir, "tokens"))
	before := w.stats().ECRRequests["GetAuthorizationToken"]
	w.run("login")
	w.run("login")
	if got := w.stats().ECRRequests["GetAuthorizationToken"] - before; got != 1 {
		t.Errorf("GetAuthorizationToken called %d times for two logins with a token cache, want 1", got)
	}
	entries, _ := os.ReadDir(filepath.Join(w.dir, "tokens"))
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("token cache file %s has mode %v", e.Name(), fi.Mode().Perm())
		}
	}
	w.done()
}

// Reference (CI platforms): GitHub OIDC token request with the bearer, then STS
// AssumeRoleWithWebIdentity; a fresh token per attempt.
func TestE2EGitHubOIDC(t *testing.T) {
	w := newWorld(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{"ci": {Subjects: []string{"repo:example/app:*"}}}})
	w.withoutStaticKeys()
	w.set("GITHUB_ACTIONS", "true", "ACTIONS_ID_TOKEN_REQUEST_URL", w.sb.GitHubTokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", w.sb.GitHubRequestToken, "GITHUB_RUN_ID", "42")
	report := filepath.Join(w.dir, "report.json")
	w.files = append(w.files, report)
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM alpine:3.20\n")
	r := w.run("setup", src, "--role-arn", role, "--report-json", report)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.stderr, "github-oidc") {
		t.Errorf("the log does not say where credentials came from: %s", r.stderr)
	}
	if n := w.stats().STSRequests["AssumeRoleWithWebIdentity"]; n < 1 {
		t.Errorf("STS AssumeRoleWithWebIdentity was called %d times", n)
	}
	w.dockerLogin()
	w.done()

	// The OIDC endpoint failing once is retried with a new token request.
	w.sb.Faults.Add(sandbox.Fault{Target: "oidc:token", Kind: sandbox.FaultServerError, Count: 1})
	if r := w.run("login", "--role-arn", role); r.code != 0 {
		t.Fatalf("OIDC 5xx once should be retried: %+v", r)
	}
	// STS IDPCommunicationError is retryable (reference): two failures, then success.
	w.sb.Faults.Add(sandbox.Fault{Target: "sts:AssumeRoleWithWebIdentity", Kind: sandbox.FaultIDP, Count: 2})
	if r := w.run("login", "--role-arn", role); r.code != 0 {
		t.Fatalf("IDPCommunicationError should be retried: %+v", r)
	}
	// A role whose trust policy does not allow the subject: AccessDenied with the role and subject.
	r = w.run("login", "--role-arn", "arn:aws:iam::123456789012:role/other")
	if r.code != 1 || !strings.Contains(r.stderr, "AccessDenied") || !strings.Contains(r.stderr, "repo:example/app:ref:refs/heads/main") {
		t.Fatalf("AccessDenied: %+v", r)
	}
}

// Reference: the job needs `permissions: id-token: write`; without it the env vars are absent.
func TestE2EGitHubMissingIDTokenPermission(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.withoutStaticKeys()
	w.set("GITHUB_ACTIONS", "true")
	r := w.run("login", "--role-arn", role)
	if r.code != 1 || !strings.Contains(r.stderr, "id-token: write") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("want one line naming id-token: write, got %+v", r)
	}
}

// Reference: GitLab id_tokens put a JWT in $<VAR>; the audience must be the one the IAM provider lists.
func TestE2EGitLabIDToken(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.withoutStaticKeys()
	tok, err := w.sb.MintToken(map[string]any{"sub": "project_path:group/app:ref_type:branch:ref:main"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.set("GITLAB_CI", "true", "CI_JOB_ID", "7", "GITLAB_AWS_TOKEN", tok)
	r := w.run("login", "--role-arn", role, "--id-token-var", "GITLAB_AWS_TOKEN")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	w.dockerLogin()

	bad, _ := w.sb.MintToken(map[string]any{"aud": "https://gitlab.com"}, time.Hour)
	w.set("GITLAB_AWS_TOKEN", bad)
	r = w.run("login", "--role-arn", role, "--id-token-var", "GITLAB_AWS_TOKEN", "--token-cache", "")
	if r.code != 1 || !strings.Contains(r.stderr, "audience") {
		t.Fatalf("wrong audience: %+v", r)
	}
	expired, _ := w.sb.MintToken(nil, -time.Minute)
	w.set("GITLAB_AWS_TOKEN", expired)
	if r := w.run("login", "--role-arn", role, "--id-token-var", "GITLAB_AWS_TOKEN"); r.code != 1 || !strings.Contains(r.stderr, "expired") {
		t.Fatalf("expired token: %+v", r)
	}
	w.done()
}

// The SDK's web identity token file (EKS, custom runners), re-read for every attempt.
func TestE2ETokenFile(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.withoutStaticKeys()
	tok, _ := w.sb.MintToken(nil, time.Hour)
	file := filepath.Join(w.dir, "token")
	os.WriteFile(file, []byte(tok+"\n"), 0o600)
	w.set("AWS_WEB_IDENTITY_TOKEN_FILE", file, "AWS_ROLE_ARN", role)
	if r := w.run("login"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	w.dockerLogin()
	w.done()
}

// Reference (CodeBuild): credentials from the container provider, which the SDK refreshes itself.
func TestE2EContainerCredentials(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	// The container endpoint hands out sessions of the sandbox's STS, like CodeBuild's agent does.
	stsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		tok, _ := w.sb.MintToken(nil, time.Hour)
		out, err := sts.NewFromConfig(stsCfg).AssumeRoleWithWebIdentity(r.Context(), &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String("codebuild"), WebIdentityToken: aws.String(tok)})
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		c := out.Credentials
		json.NewEncoder(rw).Encode(map[string]string{"AccessKeyId": *c.AccessKeyId, "SecretAccessKey": *c.SecretAccessKey, "Token": *c.SessionToken, "Expiration": c.Expiration.UTC().Format(time.RFC3339)})
	}))
	defer srv.Close()
	w.withoutStaticKeys()
	w.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v2/credentials/abc", "CODEBUILD_BUILD_ID", "proj:1", "CODEBUILD_BUILD_NUMBER", "1")
	r := w.run("login")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if calls == 0 {
		t.Fatal("the container credentials endpoint was not used")
	}
	w.dockerLogin()
	w.done()
}

// Reference: PullThroughCacheRuleAlreadyExistsException is success when the rule matches; 50 jobs
// racing to create the same rule all succeed and one rule exists.
func TestE2ERulesEnsureRace(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := ecr.NewFromConfig(cfg)
	want, err := ecrx.Want{Upstream: "quay"}.Rule()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each job lists, then creates: the race ECR settles with AlreadyExists.
			existing, err := ecrx.ListRules(context.Background(), client)
			if err == nil {
				_, err = ecrx.Ensure(context.Background(), client, existing, want)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("job %d: %v", i, err)
		}
	}
	if n := len(w.sb.Store.Rules()); n != 1 {
		t.Errorf("%d rules, want 1", n)
	}
	// The command line: needed upstreams from the Dockerfiles; kept when present.
	src := w.dockerfile("FROM quay.io/coreos/etcd:v3.5.0\nFROM ghcr.io/actions/runner:2.317.0\nCOPY --from=alpine:3.20 / /\n")
	r := w.run("rules", "ensure", src, "--credential-arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/all")
	if r.code != 0 || !strings.Contains(r.stdout, `created rule "docker-hub"`) || !strings.Contains(r.stdout, `created rule "github"`) || strings.Contains(r.stdout, "quay") {
		t.Fatalf("%+v", r)
	}
	// Docker Hub without a credential: one clear sentence, exit 2, nothing created.
	r = w.run("rules", "ensure", "--upstream", "docker-hub", "--prefix", "hub2")
	if r.code != 2 || !strings.Contains(r.stderr, "--credential-arn") {
		t.Fatalf("%+v", r)
	}
	r = w.run("rules", "list", "--json")
	var set rules.Set
	if err := json.Unmarshal([]byte(r.stdout), &set); err != nil || len(set.Rules) != 3 {
		t.Fatalf("rules list: %v %+v", err, r)
	}
	if r := w.run("rules", "validate"); r.code != 0 || strings.Count(r.stdout, "✓") != 3 {
		t.Fatalf("validate: %+v", r)
	}
	w.done()
}

// Reference: misses are fetched from the upstream once and then cached; DescribeImages tells a hit from
// a miss; tag@digest is warmed by tag then checked; digest-only cold misses cannot be warmed.
func TestE2ESetupColdThenWarm(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub", "github", "quay")
	report1 := filepath.Join(w.dir, "cold.json")
	envFile := filepath.Join(w.dir, "ecr-ptc.env")
	w.files = append(w.files, report1, envFile)
	src := w.dockerfile(`# syntax=docker/dockerfile:1
ARG NODE=20
FROM node:${NODE} AS build
COPY --from=ghcr.io/tini-org/tini:v0.19.0 /tini /tini
RUN --mount=type=bind,from=quay.io/coreos/etcd:v3.5.0,target=/etcd true
FROM mcr.microsoft.com/dotnet/runtime:8.0
COPY --from=build /tini /tini
`)
	r := w.run("setup", src, "--report-json", report1, "--env-file", envFile, "--platform", "linux/amd64,linux/arm64")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	rep := readReport(t, report1)
	outcomes := map[string]report.Outcome{}
	for _, im := range rep.Images {
		outcomes[im.Ref] = im.Outcome
		if im.Outcome == report.Warmed && len(im.Platforms) != 2 {
			t.Errorf("%s: platforms %v, want both", im.Ref, im.Platforms)
		}
	}
	for ref, want := range map[string]report.Outcome{
		"docker.io/docker/dockerfile:1":        report.Warmed,
		"docker.io/library/node:20":            report.Warmed,
		"ghcr.io/tini-org/tini:v0.19.0":        report.Warmed,
		"quay.io/coreos/etcd:v3.5.0":           report.Warmed,
		"mcr.microsoft.com/dotnet/runtime:8.0": report.Unchanged,
	} {
		if outcomes[ref] != want {
			t.Errorf("%s: %q, want %q (all: %v)", ref, outcomes[ref], want, outcomes)
		}
	}
	if !strings.Contains(r.stderr, "warming ") || !strings.Contains(r.stderr, "✓ ") {
		t.Errorf("no progress display: %s", r.stderr)
	}
	cold := w.stats()
	if cold.UpstreamFetches != 4 {
		t.Errorf("cold run: %d upstream fetches, want 4 (one per image)", cold.UpstreamFetches)
	}
	env, _ := os.ReadFile(envFile)
	if !strings.Contains(string(env), "ECR_PTC_REGISTRY="+w.sb.RegistryHost+"\n") || !strings.Contains(string(env), "ECR_PTC_RULES=docker.io=docker-hub") {
		t.Errorf("env file: %s", env)
	}

	// Warm run: every image is a hit and nothing goes upstream.
	report2 := filepath.Join(w.dir, "warm.json")
	w.files = append(w.files, report2)
	r = w.run("setup", src, "--report-json", report2)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	rep = readReport(t, report2)
	if rep.Totals.Hits != 4 || rep.Totals.Warmed != 0 || rep.Totals.Unchanged != 1 {
		t.Errorf("warm totals: %+v", rep.Totals)
	}
	if got := w.stats().UpstreamFetches; got != cold.UpstreamFetches {
		t.Errorf("warm run fetched upstream %d times", got-cold.UpstreamFetches)
	}

	// Pins: tag@digest with the cached digest is a hit; a wrong pin falls back; digest-only cold
	// cannot be warmed and stays a miss.
	var nodeDigest string
	for _, im := range rep.Images {
		if im.Ref == "docker.io/library/node:20" {
			nodeDigest = im.Digest
		}
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	src = w.dockerfile(fmt.Sprintf("FROM node:20@%s\nFROM alpine:3.20@%s\nFROM bitnami/redis@%s\n", nodeDigest, wrong, wrong))
	report3 := filepath.Join(w.dir, "pins.json")
	r = w.run("setup", src, "--report-json", report3, "--all-stages")
	rep = readReport(t, report3)
	got := map[string]report.Image{}
	for _, im := range rep.Images {
		got[strings.SplitN(im.Ref, "@", 2)[0]] = im
	}
	if got["docker.io/library/node:20"].Outcome != report.Hit {
		t.Errorf("pinned node: %+v", got["docker.io/library/node:20"])
	}
	if im := got["docker.io/library/alpine:3.20"]; im.Outcome != report.Fallback || !strings.Contains(im.Reason, "not the pinned") {
		t.Errorf("wrong pin: %+v", im)
	}
	if im := got["docker.io/bitnami/redis"]; im.Outcome != report.Miss || !strings.Contains(im.Reason, "digest-only") {
		t.Errorf("digest-only cold: %+v", im)
	}
	w.done()
}

func readReport(t *testing.T, path string) report.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, im := range rep.Images {
		if im.Ref == "" || im.Outcome == "" {
			t.Errorf("report image without ref or outcome: %+v", im)
		}
	}
	return rep
}

// Reference: secrets for authenticated upstreams must be named ecr-pullthroughcache/...; doctor finds a
// missing rule and a misnamed secret and exits 1 with fixes.
func TestE2EDoctorBrokenSetup(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.sb.Store.PutRule(rules.Rule{ECRRepositoryPrefix: "docker-hub", UpstreamRegistryURL: "registry-1.docker.io", UpstreamRegistry: "docker-hub", CredentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-creds"})
	src := w.dockerfile("FROM alpine:3.20\nFROM quay.io/coreos/etcd:v3.5.0\n")
	r := w.run("doctor", src)
	if r.code != 1 {
		t.Fatalf("doctor must fail: %+v", r)
	}
	for _, want := range []string{"✓ region: us-east-1", "✓ credentials: arn:aws:iam::123456789012:user/sandbox", "✓ registry: " + w.sb.RegistryHost, "✗ secret for docker-hub", "ecr-pullthroughcache/", "✗ rules for the Dockerfiles: docker.io/library/quay.io", "ecr-ptc rules ensure --upstream quay"} {
		if want == "✗ rules for the Dockerfiles: docker.io/library/quay.io" {
			want = "✗ rules for the Dockerfiles: quay.io/coreos/etcd:v3.5.0 has no rule"
		}
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Fixed: every check passes, including a real pull through the cache.
	w.sb.Store.DeleteRule("docker-hub")
	w.ruleDefaults("docker-hub", "quay")
	r = w.run("doctor", src)
	if r.code != 0 || !strings.Contains(r.stdout, "✓ pull permissions") {
		t.Fatalf("doctor after the fix: %+v", r)
	}
	w.done()
}

// Faults: ECR throttling is retried by the SDK's retryer; an upstream 429 on a cold miss and an ECR
// timeout each end in one clear sentence, never a hang.
func TestE2EFaults(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM alpine:3.20\n")

	w.sb.Faults.Add(sandbox.Fault{Target: "ecr:DescribeImages", Kind: sandbox.FaultThrottle, Count: 2})
	if r := w.run("setup", src); r.code != 0 {
		t.Fatalf("throttling should be retried: %+v", r)
	}

	// A registry hiccup while warming is retried.
	src = w.dockerfile("FROM node:20\n")
	w.sb.Faults.Add(sandbox.Fault{Target: "registry", Kind: sandbox.FaultServerError, Count: 1})
	if r := w.run("setup", src); r.code != 0 || !strings.Contains(r.stdout, "MISS→warmed") {
		t.Fatalf("a registry 500 once should be retried: %+v", r)
	}
	// Docker Hub rate-limiting the cache on a cold miss, persistently: one clear sentence per image.
	src = w.dockerfile("FROM node:22\n")
	w.sb.Faults.Add(sandbox.Fault{Target: "upstream:docker-hub", Kind: sandbox.FaultTooMany})
	r := w.run("setup", src, "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "429 Too Many Requests: the upstream registry rate-limited") {
		t.Fatalf("upstream 429 on a cold miss: %+v", r)
	}
	w.sb.Faults.Clear()
	// ECR failing every time: the SDK's retries, then one sentence.
	w.sb.Faults.Add(sandbox.Fault{Target: "ecr:*", Kind: sandbox.FaultServerError})
	r = w.run("setup", src)
	if r.code != 1 || !strings.Contains(r.stderr, "ServerException") || !strings.Contains(r.stderr, fmt.Sprintf("after %d attempts", ecrx.RetryOtherAttempts)) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("ECR 5xx: %+v", r)
	}
	w.sb.Faults.Clear()

	w.sb.Faults.Add(sandbox.Fault{Target: "ecr:GetAuthorizationToken", Kind: sandbox.FaultTimeout})
	start := time.Now()
	r = w.run("login", "--aws-timeout", "300ms")
	if r.code != 1 || time.Since(start) > 20*time.Second {
		t.Fatalf("timeout: %+v after %s", r, time.Since(start))
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("timeout message is not one line: %q", r.stderr)
	}
	w.done()
}

func TestE2ESandboxCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), []string{"sandbox", "--with-rules", "--", "sh", "-c", "echo $ECR_PTC_REGISTRY $AWS_ENDPOINT_URL_ECR $ECR_PTC_SANDBOX_UPSTREAM_DOCKERHUB $ECR_PTC_SANDBOX_STATS"},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Environ: os.Environ})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	fields := strings.Fields(out.String())
	if len(fields) != 4 || !strings.HasPrefix(fields[0], "127.0.0.1:") || !strings.HasPrefix(fields[1], "http://127.0.0.1:") || !strings.HasSuffix(fields[3], "/stats") {
		t.Fatalf("sandbox env: %q", out.String())
	}
	code = cli.Main(context.Background(), []string{"sandbox", "--", "sh", "-c", "exit 3"},
		cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Environ: os.Environ})
	if code != 3 {
		t.Fatalf("the command's exit status must pass through, got %d", code)
	}
}

func TestIAMPolicy(t *testing.T) {
	r := ecrptc(t, "", nil, "iam-policy", "--account", "123456789012", "--region", "eu-west-1", "--rule", "docker.io=docker-hub", "--rule", "ghcr.io=github")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "arn:aws:ecr:eu-west-1:123456789012:repository/docker-hub/*", "arn:aws:ecr:eu-west-1:123456789012:repository/github/*", "ecr:GetAuthorizationToken"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if r := ecrptc(t, "", nil, "iam-policy", "--for", "admin"); r.code != 0 || !strings.Contains(r.stdout, "ecr:CreatePullThroughCacheRule") {
		t.Fatalf("%+v", r)
	}
	if r := ecrptc(t, "", nil, "iam-policy", "--for", "root"); r.code != 2 {
		t.Fatalf("%+v", r)
	}
}

// Reference: an ECR token lasts 12 hours; a long job can outlive it (or a cached one can be revoked).
// The registry's 401 makes warming log in again once, and the run succeeds.
func TestE2EExpiredTokenMidRun(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	w.set("ECR_PTC_TOKEN_CACHE", filepath.Join(w.dir, "tokens"))
	if r := w.run("login"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	w.sb.Store.ExpireTokens() // the cached token is now refused by the registry
	src := w.dockerfile("FROM node:20\nFROM alpine:3.20\n")
	r := w.run("setup", src, "--all-stages")
	if r.code != 0 || !strings.Contains(r.stderr, "logging in again") || strings.Count(r.stdout, "MISS→warmed") != 2 {
		t.Fatalf("%+v", r)
	}
	w.dockerLogin() // the Docker config holds the new, valid token
	w.done()
}
