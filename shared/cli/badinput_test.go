package cli_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

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
		{"registry with a path", []string{"map", "--registry", reg + "/x", "alpine"}, 2, "without a path"},
		{"bad region", []string{"login", "--region", "mars"}, 2, `"mars" is not an AWS region`},
		{"bad account", []string{"login", "--registries", "12345"}, 2, "12-digit account ID"},
		{"bad iam-policy account", []string{"iam-policy", "--account", "abc"}, 2, "12-digit AWS account ID"},
		{"bad lock file", []string{"setup", good, "--lock", badLock, "--report-json", filepath.Join(out, "r.json")}, 1, badLock + ": image 1: \"node:20\" is not normalised"},
		{"report to a missing directory", []string{"setup", good, "--report-json", filepath.Join(w.dir, "no", "dir", "r.json")}, 1, "cannot write --report-json"},
		{"unknown command", []string{"sutep"}, 2, `unknown command "sutep" for "ecr-ptc"; did you mean setup?`},
		{"unknown --ci", []string{"login", "--ci", "jenkins"}, 2, `--ci "jenkins"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := listing(t, w.dir)
			r := w.run(c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, c.want)
			}
			msg := strings.TrimSuffix(strings.TrimPrefix(r.stderr, "ecr-ptc: "), "\nRun 'ecr-ptc --help' for usage.\n")
			if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("not one sentence: %q", r.stderr)
			}
			if after := listing(t, w.dir); strings.Join(after, "\n") != strings.Join(before, "\n") && !onlyDockerConfig(before, after) {
				t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

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
