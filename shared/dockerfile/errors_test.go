package dockerfile

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		df   string
		opts Options
		line int
		msg  string // substring of Error.Msg
	}{
		{"empty file", "", Options{}, 0, "cannot be empty"},
		{"only comments", "# nothing\n\n# here\n", Options{}, 3, "file with no instructions"},
		{"no stages", "ARG A=1\n", Options{}, 0, "no stages"},
		{"unknown instruction", "FROM alpine\n\nFRM busybox\n", Options{}, 3, "unknown instruction: FRM"},
		{"instruction before FROM", "# c\nRUN true\nFROM alpine\n", Options{}, 2, "no build stage in current context"},
		{"FROM with two args", "FROM alpine\nRUN true\nFROM alpine busybox\n", Options{}, 3, "FROM requires either one or three arguments"},
		{"bad stage name", "FROM alpine AS 1st\n", Options{}, 1, "invalid name for build stage"},
		{"unterminated heredoc", "FROM alpine\nRUN <<EOT\necho hi\n", Options{}, 2, "unterminated heredoc"},
		{"bad escape directive", "# escape=x\nFROM alpine\n", Options{}, 0, "invalid escape token"},
		{"unknown flag", "FROM alpine\nCOPY --frm=x / /\n", Options{}, 2, "unknown flag: --frm"},
		{"blank base name", "ARG BASE\nFROM alpine AS a\nFROM ${BASE}\n", Options{}, 3, "base name (${BASE}) should not be blank"},
		{"blank base from build arg", "ARG BASE=alpine\nFROM $BASE\n", Options{BuildArgs: map[string]string{"BASE": ""}}, 2, "should not be blank"},
		{"bad variable syntax", "FROM alpine:${V\n", Options{}, 1, "failed to process"},
		{"unknown target", "FROM alpine AS build\nFROM busybox AS test\n", Options{Target: "release"}, 0, `target stage "release" could not be found; stages: build, test`},
		{"unknown target, no names", "FROM alpine\n", Options{Target: "release"}, 0, "no named stages"},
		{"bad target platform", "FROM alpine\n", Options{Platform: "linux/amd64/v9/x"}, 0, "invalid target platform"},
		{"bad check directive", "# check=skip=a;error=maybe\nFROM alpine\n", Options{}, 1, "failed to parse check options"},
		{"copy from later stage", "FROM alpine AS a\nCOPY --from=b / /\nFROM busybox AS b\n", Options{Target: "a"}, 2, `cannot copy from stage "b"`},
		{"mount from later stage", "FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM busybox AS b\n", Options{Target: "a"}, 2, `cannot mount from stage "b"`},
		{"circular", "FROM alpine AS a\nCOPY --from=b / /\nFROM busybox AS b\nCOPY --from=a / /\n", Options{}, 2, "circular dependency detected on stage: a"},
		{"variable in --from", "FROM alpine\nCOPY --from=$X / /\n", Options{}, 2, "variable expansion is not supported for --from"},
		{"bad stage index", "FROM alpine\nCOPY --from=3 / /\n", Options{}, 2, "invalid stage index 3"},
		{"bad trigger", "FROM alpine AS a\nONBUILD COPY x\nFROM a\n", Options{}, 2, "COPY requires at least two arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Analyze("Dockerfile", []byte(c.df), c.opts)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if e.Line != c.line || !strings.Contains(e.Msg, c.msg) || e.File != "Dockerfile" {
				t.Errorf("got line %d msg %q; want line %d msg containing %q", e.Line, e.Msg, c.line, c.msg)
			}
			want := "Dockerfile: "
			if c.line > 0 {
				want = "Dockerfile:" + strconv.Itoa(c.line) + ": "
			}
			if !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
			}
			// Rewrite fails the same way and returns no output.
			out, changes, rerr := Rewrite("Dockerfile", []byte(c.df), c.opts, testMapper)
			if rerr == nil || out != nil || changes != nil {
				t.Errorf("Rewrite: want error and no output, got %v, %q, %v", rerr, out, changes)
			}
		})
	}
}

// TestInvalidReference: an invalid reference after expansion is reported on the use, not as a failure,
// with file:line in the message; in a stage the target does not need too, since BuildKit rejects it there.
func TestInvalidReference(t *testing.T) {
	df := "ARG IMG=Alpine\nFROM ${IMG} AS bad\nFROM busybox AS good\nCOPY --from=Nope:1 / /\n"
	a, err := Analyze("Dockerfile", []byte(df), Options{Target: "good"})
	if err != nil {
		t.Fatal(err)
	}
	var errs []ImageUse
	for _, u := range a.Images {
		if u.Error != "" {
			errs = append(errs, u)
		}
	}
	if len(errs) != 2 {
		t.Fatalf("want 2 error uses, got %+v", a.Images)
	}
	if errs[0].Line != 2 || errs[0].Ref != "" || !strings.HasPrefix(errs[0].Error, "Dockerfile:2: ") || !strings.Contains(errs[0].Error, "lowercase") {
		t.Errorf("FROM error use: %+v", errs[0])
	}
	if errs[1].Line != 4 || errs[1].Instruction != "COPY --from" || !strings.HasPrefix(errs[1].Error, "Dockerfile:4: ") {
		t.Errorf("COPY error use: %+v", errs[1])
	}
	out, changes, err := Rewrite("Dockerfile", []byte(df), Options{}, testMapper)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != strings.Replace(df, "busybox", cacheHost+"/docker-hub/library/busybox:latest", 1) {
		t.Errorf("rewrite: %s", out)
	}
	unchanged := 0
	for _, c := range changes {
		if c.To == "" {
			unchanged++
		}
	}
	if unchanged != 2 {
		t.Errorf("want the two invalid references reported unchanged: %+v", changes)
	}
}

// TestBuildKitSyntaxArg: the BUILDKIT_SYNTAX build arg replaces the directive, as in the frontend.
func TestBuildKitSyntaxArg(t *testing.T) {
	df := "# syntax=docker/dockerfile:1\nFROM alpine\n"
	a, err := Analyze("Dockerfile", []byte(df), Options{BuildArgs: map[string]string{"BUILDKIT_SYNTAX": "ghcr.io/acme/frontend:2 --flag"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Syntax != "ghcr.io/acme/frontend:2" || a.Images[0].Ref != "ghcr.io/acme/frontend:2" || a.Images[0].Line != 0 {
		t.Errorf("got %+v", a.Images[0])
	}
	// The file's directive is still rewritten: the file may be built without the build arg.
	out, _, err := Rewrite("Dockerfile", []byte(df), Options{BuildArgs: map[string]string{"BUILDKIT_SYNTAX": "x/y"}}, testMapper)
	if err != nil || !strings.HasPrefix(string(out), "# syntax="+cacheHost+"/docker-hub/docker/dockerfile:1\n") {
		t.Errorf("got %q %v", out, err)
	}
}
