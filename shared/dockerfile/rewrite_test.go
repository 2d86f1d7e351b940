package dockerfile

import (
	"strings"
	"testing"
)

// TestRewriteCorners pins Rewrite on syntax the fuzzer rarely reaches. "H/" in want stands for the
// Docker Hub cache prefix; notes are matched by substring.
func TestRewriteCorners(t *testing.T) {
	const h = cacheHost + "/docker-hub/library/"
	cases := []struct {
		name, in, want string
		opts           Options
		note           string // substring expected in an unchanged Change's note
	}{
		{name: "crlf", in: "FROM alpine:3\r\nCOPY --from=busybox / /\r\n", want: "FROM H/alpine:3\r\nCOPY --from=H/busybox:latest / /\r\n"},
		{name: "bom", in: "\xEF\xBB\xBF# syntax=docker/dockerfile:1\nFROM alpine\n", want: "\xEF\xBB\xBF# syntax=" + cacheHost + "/docker-hub/docker/dockerfile:1\nFROM H/alpine:latest\n"},
		{name: "syntax with spaces and flags", in: "#   syntax =  docker/dockerfile:1 --x \nFROM alpine\n", want: "#   syntax =  " + cacheHost + "/docker-hub/docker/dockerfile:1 --x \nFROM H/alpine:latest\n"},
		{name: "shebang then syntax", in: "#!/usr/bin/env buildx\n# syntax=docker/dockerfile:1\nFROM alpine\n", want: "#!/usr/bin/env buildx\n# syntax=" + cacheHost + "/docker-hub/docker/dockerfile:1\nFROM H/alpine:latest\n"},
		{name: "tabs", in: "FROM\talpine:3\tAS\tx\n", want: "FROM\tH/alpine:3\tAS\tx\n"},
		{name: "quoted copy from", in: "FROM alpine\nCOPY --from='busybox:1' / /\n", want: "FROM H/alpine:latest\nCOPY --from='H/busybox:1' / /\n"},
		{name: "escaped char in copy from", in: "FROM alpine\nCOPY --from=busy\\box / /\n", want: "FROM H/alpine:latest\nCOPY --from=busy\\box / /\n", note: "split by quotes"},
		{name: "continuation inside from value", in: "FROM alpine\nCOPY --from=busy\\\nbox / /\n", want: "FROM H/alpine:latest\nCOPY --from=busy\\\nbox / /\n", note: "split by quotes"},
		{name: "comment inside continuation", in: "FROM \\\n# c\n  alpine \\\n\n  AS a\n", want: "FROM \\\n# c\n  H/alpine:latest \\\n\n  AS a\n"},
		{name: "csv quoted field", in: "FROM alpine\nRUN --mount=type=bind,\"from=busybox:1\",target=/b true\n", want: "FROM H/alpine:latest\nRUN --mount=type=bind,\"from=H/busybox:1\",target=/b true\n"},
		{name: "shell-quoted mount", in: "FROM alpine\nRUN --mount='type=bind,from=busybox:1,target=/b' true\n", want: "FROM H/alpine:latest\nRUN --mount='type=bind,from=H/busybox:1,target=/b' true\n"},
		{name: "upper-case mount key", in: "FROM alpine\nRUN --mount=type=bind,FROM=busybox:1,target=/b true\n", want: "FROM H/alpine:latest\nRUN --mount=type=bind,FROM=H/busybox:1,target=/b true\n"},
		{name: "mount src before from", in: "FROM alpine\nRUN --mount=target=/b,from=busybox:1 --mount=type=cache,target=/c --mount=from=nginx,target=/n true\n", want: "FROM H/alpine:latest\nRUN --mount=target=/b,from=H/busybox:1 --mount=type=cache,target=/c --mount=from=H/nginx:latest,target=/n true\n"},
		{name: "from text in run body untouched", in: "FROM alpine\nRUN echo --from=busybox FROM alpine\n", want: "FROM H/alpine:latest\nRUN echo --from=busybox FROM alpine\n"},
		{name: "flag after --", in: "FROM alpine\nCOPY -- --from=busybox /x\n", want: "FROM H/alpine:latest\nCOPY -- --from=busybox /x\n"},
		{name: "quoted FROM", in: "FROM \"alpine:3\"\nFROM 'busybox'\n", want: "FROM \"H/alpine:3\"\nFROM 'H/busybox:latest'\n"},
		{name: "escaped FROM left", in: "FROM alp\\ine:3\n", want: "FROM alp\\ine:3\n", note: "quoted or escaped"},
		{name: "arg quoted default", in: "ARG B=\"alpine:3\"\nFROM ${B}\n", want: "ARG B=\"H/alpine:3\"\nFROM ${B}\n"},
		{name: "arg among several", in: "ARG A=1 B=alpine:3 C=2\nFROM $B\n", want: "ARG A=1 B=H/alpine:3 C=2\nFROM $B\n"},
		{name: "arg default with fallback", in: "ARG B=alpine:3\nFROM ${B:-debian}\n", want: "ARG B=H/alpine:3\nFROM ${B:-debian}\n"},
		{name: "arg redeclared, last wins", in: "ARG B=alpine:3\nARG B=alpine:4\nFROM $B\n", want: "ARG B=alpine:3\nARG B=H/alpine:4\nFROM $B\n"},
		{name: "arg used twice", in: "ARG B=alpine:3\nFROM $B AS a\nFROM ${B} AS b\n", want: "ARG B=H/alpine:3\nFROM $B AS a\nFROM ${B} AS b\n"},
		{name: "arg also partial", in: "ARG B=alpine\nFROM $B AS a\nFROM ${B}:3 AS b\n", want: "ARG B=alpine\nFROM $B AS a\nFROM ${B}:3 AS b\n", note: "part of the base name"},
		{name: "arg used by other unused arg", in: "ARG B=alpine:3\nARG C=${B}\nFROM $B\n", want: "ARG B=H/alpine:3\nARG C=${B}\nFROM $B\n"},
		{name: "arg carried into a stage", in: "ARG B=alpine:3\nARG C=x${B}\nFROM $B\nARG C\nRUN echo $C\n", want: "ARG B=alpine:3\nARG C=x${B}\nFROM $B\nARG C\nRUN echo $C\n", note: "used by ARG C"},
		{name: "arg without default pinned", in: "ARG B\nFROM $B\n", opts: Options{BuildArgs: map[string]string{"B": "alpine"}}, want: "ARG B\nFROM H/alpine:latest\n"},
		{name: "arg override pins", in: "ARG B=alpine:3\nFROM $B\n", opts: Options{BuildArgs: map[string]string{"B": "debian"}}, want: "ARG B=alpine:3\nFROM H/debian:latest\n"},
		{name: "arg names a stage", in: "ARG B=base\nFROM alpine AS base\nFROM $B\n", want: "ARG B=base\nFROM H/alpine:latest AS base\nFROM $B\n"},
		{name: "arg pattern op left", in: "ARG B=alpine:3\nFROM ${B%:3}:4\n", want: "ARG B=alpine:3\nFROM ${B%:3}:4\n", note: "not only at its start"},
		{name: "prefix with digest var", in: "ARG D=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nFROM alpine@${D}\n", want: "ARG D=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nFROM H/alpine@${D}\n"},
		{name: "prefix port ambiguity", in: "ARG P=/app:1\nFROM localhost:5000${P}\n", want: "ARG P=/app:1\nFROM localhost:5000${P}\n"},
		{name: "prefix host and path", in: "ARG T=1\nFROM ghcr.io/acme/app:${T}\n", want: "ARG T=1\nFROM " + cacheHost + "/github/acme/app:${T}\n"},
		{name: "prefix repo continues in var", in: "ARG S=-slim\nFROM python${S}:3\n", want: "ARG S=-slim\nFROM python${S}:3\n", note: "built from variables"},
		{name: "registry arg", in: "ARG REG=quay.io\nFROM ${REG}/prometheus/node-exporter:v1.8.0\n", want: "ARG REG=" + cacheHost + "/quay\nFROM ${REG}/prometheus/node-exporter:v1.8.0\n"},
		{name: "registry arg pinned", in: "ARG REG=ghcr.io\nFROM ${REG}/prometheus/node-exporter:v1.8.0\n", opts: Options{BuildArgs: map[string]string{"REG": "quay.io"}}, want: "ARG REG=ghcr.io\nFROM " + cacheHost + "/quay/prometheus/node-exporter:v1.8.0\n"},
		{name: "registry arg used in stage", in: "ARG REG=quay.io\nFROM ${REG}/a/b\nARG REG\n", want: "ARG REG=quay.io\nFROM ${REG}/a/b\nARG REG\n", note: "also used inside stage"},
		{name: "registry arg inconsistent", in: "ARG R=docker.io\nFROM ${R}/node AS a\nFROM ${R}/bitnami/nginx\n", want: "ARG R=docker.io\nFROM ${R}/node AS a\nFROM ${R}/bitnami/nginx\n", note: "different cache texts"},
		{name: "registry arg partly uncached", in: "ARG R=quay.io\nFROM ${R}/a/b AS a\nFROM ${R}.example/c\n", want: "ARG R=quay.io\nFROM ${R}/a/b AS a\nFROM ${R}.example/c\n", note: "which the cache does not serve"},
		{name: "missing arg default", in: "FROM ${MISSING_BASE:-amazonlinux:2023}\n", want: "FROM ${MISSING_BASE:-H/amazonlinux:2023}\n"},
		{name: "unset arg default", in: "ARG X\nFROM ${X-ghcr.io}/a/b:${T:-1}\n", want: "ARG X\nFROM ${X-" + cacheHost + "/github}/a/b:${T:-1}\n"},
		{name: "set arg default ignored", in: "ARG X=quay.io/a/b\nFROM ${X:-alpine}\n", want: "ARG X=" + cacheHost + "/quay/a/b:latest\nFROM ${X:-alpine}\n"},
		{name: "registry arg splits a name", in: "ARG R=quay\nFROM ${R}.io/a/b\n", want: "ARG R=quay\nFROM ${R}.io/a/b\n", note: "does not start at a path component"},
		{name: "base build arg pinned", in: "ARG BASE=alpine:3\nFROM ${BASE}\n", opts: Options{BuildArgs: map[string]string{"BASE": "quay.io/prometheus/busybox:glibc"}}, want: "ARG BASE=alpine:3\nFROM " + cacheHost + "/quay/prometheus/busybox:glibc\n"},
		{name: "chain without build args", in: "ARG V=20\nARG I=node:${V}-alpine\nFROM ${I}\n", want: "ARG V=20\nARG I=H/node:${V}-alpine\nFROM ${I}\n"},
		{name: "already cached", in: "FROM " + cacheHost + "/docker-hub/library/alpine:3\n", want: "FROM " + cacheHost + "/docker-hub/library/alpine:3\n"},
		{name: "onbuild untouched", in: "FROM alpine\nONBUILD COPY --from=busybox / /\n", want: "FROM H/alpine:latest\nONBUILD COPY --from=busybox / /\n", note: "ONBUILD triggers are not rewritten"},
		{name: "lower as, mixed case from", in: "From alpine as a\nfrom busybox\nCopy --from=a / /\n", want: "From H/alpine:latest as a\nfrom H/busybox:latest\nCopy --from=a / /\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changes, err := Rewrite("Dockerfile", []byte(c.in), c.opts, testMapper)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(c.want, "H/", h)
			if string(out) != want {
				t.Errorf("got\n%q\nwant\n%q", out, want)
			}
			if c.note != "" {
				found := false
				for _, ch := range changes {
					found = found || (ch.To == "" && strings.Contains(ch.Note, c.note))
				}
				if !found {
					t.Errorf("no unchanged Change with note %q: %+v", c.note, changes)
				}
			}
			checkSameInstructions(t, []byte(c.in), out, changes)
			checkSameUses(t, []byte(c.in), out, Options{AllStages: true, BuildArgs: c.opts.BuildArgs})
			again, _, err := Rewrite("Dockerfile", out, c.opts, testMapper)
			if err != nil || string(again) != string(out) {
				t.Errorf("not idempotent: %q %v", again, err)
			}
		})
	}
}

// TestRewriteMapperChangesTag: a tag that comes from ARGs cannot take a mapper's pinned digest.
func TestRewriteMapperChangesTag(t *testing.T) {
	pin := func(ref string) (string, bool) {
		return cacheHost + "/docker-hub/library/node@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ref != "" && !strings.HasPrefix(ref, cacheHost)
	}
	in := "ARG V=20\nFROM node:${V}\n"
	out, changes, err := Rewrite("Dockerfile", []byte(in), Options{}, pin)
	if err != nil || string(out) != in || len(changes) != 1 || changes[0].To != "" || !strings.Contains(changes[0].Note, "tag or digest") {
		t.Errorf("got %q %+v %v", out, changes, err)
	}
}

// TestMapBuildArgs: image- and registry-valued build args take their cache values; others stay.
func TestMapBuildArgs(t *testing.T) {
	in := "ARG BASE=alpine:3\nARG REG\nARG TAG=1\nARG LOCAL\nFROM ${BASE} AS a\nFROM ${REG}/prometheus/node-exporter:${TAG} AS b\nFROM ${LOCAL}/x AS c\nARG LOCAL\n"
	args := map[string]string{"BASE": "quay.io/prometheus/busybox:glibc", "REG": "quay.io", "TAG": "v1.8.0", "LOCAL": "quay.io", "OTHER": "node:20"}
	got, changes, err := MapBuildArgs("Dockerfile", []byte(in), Options{BuildArgs: args}, testMapper)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"BASE": cacheHost + "/quay/prometheus/busybox:glibc", "REG": cacheHost + "/quay", "TAG": "v1.8.0", "LOCAL": "quay.io", "OTHER": "node:20"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	var left bool
	for _, c := range changes {
		left = left || (c.To == "" && c.Line == 4 && strings.Contains(c.Note, "inside stage c"))
	}
	if !left {
		t.Errorf("LOCAL not reported unchanged: %+v", changes)
	}
	// The mapped values, given to a build of the original file, reach the cache.
	a, err := Analyze("Dockerfile", []byte(in), Options{BuildArgs: got, AllStages: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range a.Images[:2] {
		if !strings.HasPrefix(u.Ref, cacheHost+"/quay/") {
			t.Errorf("%s does not go through the cache", u.Ref)
		}
	}
}
