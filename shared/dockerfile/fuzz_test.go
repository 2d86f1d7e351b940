package dockerfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

var fuzzSeeds = []string{
	"FROM alpine\n",
	"ARG B=node:20\nFROM $B AS x\nFROM x\nCOPY --from=busybox / /\n",
	"ARG V=1\nFROM node:${V} AS a\nRUN --mount=from=ghcr.io/a/b:1,target=/x true\n",
	"# escape=`\nFROM `\n  alpine:3 AS a\nCOPY --from=`\nquay.io/x/y:1 / /\n",
	"# syntax=docker/dockerfile:1\nFROM alpine\nRUN <<EOT\nFROM debian\nEOT\n",
	"FROM alpine AS a\nONBUILD COPY --from=busybox / /\nFROM a\n",
	"from \\\n  alpine \\\n  as a\ncopy --from=\"busybox\" / /\n",
	"FROM alpine\nRUN --mount=\"type=bind,\\\"from=busybox\\\",target=/x\" true\n",
	// Repositories built from variables (issue 15).
	"ARG REG=quay.io\nFROM ${REG}/prometheus/node-exporter:v1.8.0\n",
	"FROM ${MISSING_BASE:-amazonlinux:2023}\n",
	"ARG BASE=alpine:3\nFROM ${BASE}\n",
	"ARG REG=docker.io\nFROM ${REG}/library/node:20 AS a\nFROM ${REG}/bitnami/nginx AS b\n",
	"ARG REG=quay.io\nARG IMG=${REG}/org/app\nFROM ${IMG}:${TAG-1} AS a\nFROM ${REG-x}/y AS b\nARG IMG\n",
	"ARG D\nFROM ${D-ghcr.io}/a/b:${D:-1}\nFROM ${E:-${D:-busybox}}\n",
	"ARG R=\"quay.io\"\nFROM $R/a AS a\nFROM --platform=$R $R/b\n",
}

// fuzzBuildArgs are the build args FuzzRewrite also rewrites with: values that pin.
var fuzzBuildArgs = map[string]string{"BASE": "quay.io/a/b:1", "REG": "quay.io", "D": "docker.io"}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.Dockerfile"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzAnalyze checks that Analyze never panics and agrees with dockerfile2llb: when BuildKit converts
// a file, Analyze reports the same pulls. (Analyze may accept files BuildKit rejects later, while
// running instructions: it only mirrors the checks that come before pulling.)
func FuzzAnalyze(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []Options{{}, {AllStages: true, Platform: "linux/arm64"}} {
			a, err := Analyze("Dockerfile", data, o)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
			} else {
				for _, u := range a.Images {
					if (u.Ref == "") == (u.Error == "") {
						t.Fatalf("a use needs exactly one of Ref and Error: %+v", u)
					}
				}
			}
			want, werr := safeBuildkitPulls(t, data, o)
			if werr != nil {
				continue
			}
			got, gerr := analyzedPulls(t, "Dockerfile", data, o)
			if gerr != nil {
				t.Fatalf("dockerfile2llb accepts what Analyze rejects: %v\n%q", gerr, data)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Analyze and dockerfile2llb disagree\nAnalyze:        %q\ndockerfile2llb: %q\n%q", got, want, data)
			}
		}
	})
}

// safeBuildkitPulls treats a panic inside BuildKit as a rejection: it is not this package's to fix.
func safeBuildkitPulls(t *testing.T, data []byte, o Options) (pulls []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dockerfile2llb panicked: %v", r)
		}
	}()
	return buildkitPulls(t, data, o)
}

func FuzzRewrite(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		same, _, err := Rewrite("Dockerfile", data, Options{}, identityMapper)
		if err != nil {
			return
		}
		if !bytes.Equal(same, data) {
			t.Fatalf("identity mapper changed the file:\n%q\n%q", data, same)
		}
		out, changes, err := Rewrite("Dockerfile", data, Options{}, testMapper)
		if err != nil {
			t.Fatalf("rewrite failed after the identity rewrite succeeded: %v", err)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatalf("line count changed:\n%q\n%q", data, out)
		}
		checkSameInstructions(t, data, out, changes)
		checkSameUses(t, data, out, Options{AllStages: true})

		again, _, err := Rewrite("Dockerfile", out, Options{}, testMapper)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent (err %v):\n%q\n%q", err, out, again)
		}

		// With the build's --build-arg values, references built from them are pinned: the build with
		// those values pulls every image through the cache as before.
		bo := Options{BuildArgs: fuzzBuildArgs}
		out, changes, err = Rewrite("Dockerfile", data, bo, testMapper)
		if err != nil {
			t.Fatalf("rewrite with build args failed after the identity rewrite succeeded: %v", err)
		}
		checkSameInstructions(t, data, out, changes)
		checkSameUses(t, data, out, Options{AllStages: true, BuildArgs: fuzzBuildArgs})
		again, _, err = Rewrite("Dockerfile", out, bo, testMapper)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent with build args (err %v):\n%q\n%q", err, out, again)
		}
	})
}

// checkSameInstructions parses both files with BuildKit's parser: the same instructions, the same
// heredocs and comments, and each instruction's text equal once the changes on its lines are undone.
func checkSameInstructions(t *testing.T, in, out []byte, changes []Change) {
	t.Helper()
	pin, err := parser.Parse(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	pout, err := parser.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%q", err, out)
	}
	a, b := pin.AST.Children, pout.AST.Children
	if len(a) != len(b) {
		t.Fatalf("%d instructions became %d:\n%q\n%q", len(a), len(b), in, out)
	}
	for i := range a {
		if a[i].StartLine != b[i].StartLine || a[i].EndLine != b[i].EndLine || a[i].Value != b[i].Value {
			t.Fatalf("instruction %d moved or changed: %q -> %q", i, a[i].Original, b[i].Original)
		}
		// A "# syntax=" line after a shebang is a comment to the parser, yet the frontend reads it.
		comments := strings.Join(b[i].PrevComment, "\n")
		for _, c := range changes {
			if c.Instruction == "syntax" && c.To != "" {
				comments = strings.Replace(comments, c.To, c.From, 1)
			}
		}
		if strings.Join(a[i].PrevComment, "\n") != comments {
			t.Fatalf("comments changed before instruction %d", i)
		}
		if len(a[i].Heredocs) != len(b[i].Heredocs) {
			t.Fatalf("heredocs changed in instruction %d", i)
		}
		for j := range a[i].Heredocs {
			if a[i].Heredocs[j] != b[i].Heredocs[j] {
				t.Fatalf("heredoc changed in instruction %d", i)
			}
		}
		undone := b[i].Original
		for _, c := range changes {
			if c.To != "" && c.Line >= a[i].StartLine && c.Line <= a[i].EndLine {
				undone = strings.Replace(undone, c.To, c.From, 1)
			}
		}
		if undone != a[i].Original {
			t.Fatalf("instruction %d changed beyond its references:\n%q\n%q", i, a[i].Original, b[i].Original)
		}
	}
}

// checkSameUses analyses both files: the same uses, each reference either kept or mapped.
func checkSameUses(t *testing.T, in, out []byte, o Options) {
	t.Helper()
	ain, err := Analyze("Dockerfile", in, o)
	if err != nil {
		return // Rewrite succeeded, but a check only Analyze makes failed (none today)
	}
	aout, err := Analyze("Dockerfile", out, o)
	if err != nil {
		t.Fatalf("the rewritten file no longer analyses: %v\n%q", err, out)
	}
	if len(ain.Images) != len(aout.Images) {
		t.Fatalf("%d uses became %d", len(ain.Images), len(aout.Images))
	}
	for i, u := range ain.Images {
		v := aout.Images[i]
		if u.Line != v.Line || u.Instruction != v.Instruction || (u.Error == "") != (v.Error == "") {
			t.Fatalf("use changed: %+v -> %+v", u, v)
		}
		if u.Ref == v.Ref || u.Instruction == "ONBUILD" {
			continue
		}
		m, ok := testMapper(u.Ref)
		want, err := imageref.Normalize(m)
		if !ok || err != nil || v.Ref != want {
			t.Fatalf("reference %q became %q, want %q", u.Ref, v.Ref, want)
		}
	}
}
