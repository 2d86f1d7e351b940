package dockerfile

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// recorder is a daemon-less image resolver: it records every image dockerfile2llb resolves and answers
// with a minimal, non-empty image config for the requested platform.
type recorder struct {
	mu   sync.Mutex
	seen []string // "<normalised ref> <platform>"
}

func (r *recorder) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := platforms.DefaultSpec()
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	n, err := imageref.Normalize(ref)
	if err != nil {
		n = "invalid:" + ref
	}
	r.mu.Lock()
	r.seen = append(r.seen, n+" "+platforms.FormatAll(platforms.Normalize(p)))
	r.mu.Unlock()
	cfg := ocispecs.Image{
		Platform: ocispecs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("layer")}},
		Config:   ocispecs.ImageConfig{Env: []string{"PATH=/usr/bin:/bin"}},
	}
	dt, err := json.Marshal(cfg)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(dt), dt, nil
}

// buildkitPulls runs BuildKit's own converter and returns the images it resolved.
func buildkitPulls(t *testing.T, data []byte, opts Options) ([]string, error) {
	t.Helper()
	bp := opts.BuildPlatform
	if bp == "" {
		bp = DefaultBuildPlatform
	}
	build, err := parsePlatform(bp)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	co := dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:      opts.BuildArgs,
			Target:         opts.Target,
			BuildPlatforms: []ocispecs.Platform{build},
		},
		MetaResolver: rec,
		AllStages:    opts.AllStages,
	}
	if opts.Platform != "" {
		tp, err := parsePlatform(opts.Platform)
		if err != nil {
			t.Fatal(err)
		}
		co.TargetPlatform = &tp
		co.TargetPlatforms = []ocispecs.Platform{tp}
	}
	if _, err := dockerfile2llb.Dockerfile2LLB(context.Background(), data, co); err != nil {
		return nil, err
	}
	slices.Sort(rec.seen)
	return rec.seen, nil
}

// analyzedPulls is what Analyze says BuildKit resolves: every use but the frontend and ONBUILD triggers
// as written.
func analyzedPulls(t *testing.T, file string, data []byte, opts Options) ([]string, error) {
	t.Helper()
	a, err := Analyze(file, data, opts)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range a.Images {
		if u.Instruction == "syntax" || u.Instruction == "ONBUILD" {
			continue
		}
		if u.Error != "" {
			return nil, errors.New(u.Error) // BuildKit fails on an invalid reference
		}
		out = append(out, u.Ref+" "+u.PullPlatform)
	}
	slices.Sort(out)
	return out, nil
}

// compareWithBuildKit fails t unless Analyze and dockerfile2llb agree on the pulls, or both fail.
func compareWithBuildKit(t *testing.T, file string, data []byte, opts Options) {
	t.Helper()
	want, werr := buildkitPulls(t, data, opts)
	got, gerr := analyzedPulls(t, file, data, opts)
	switch {
	case werr != nil && gerr != nil:
		t.Logf("both fail\nAnalyze:        %v\ndockerfile2llb: %v", gerr, werr)
	case werr != nil || gerr != nil:
		t.Errorf("only one fails\nAnalyze:        %v\ndockerfile2llb: %v", gerr, werr)
	case !slices.Equal(got, want):
		t.Errorf("Analyze and dockerfile2llb disagree\nAnalyze:        %q\ndockerfile2llb: %q", got, want)
	}
}

// TestMatchesBuildKit checks, for every testdata Dockerfile and option set (and again with AllStages),
// that Analyze reports exactly the images, with the platforms, that dockerfile2llb resolves.
func TestMatchesBuildKit(t *testing.T) {
	for _, c := range goldenCases {
		for _, all := range []bool{false, true} {
			opts := c.opts
			opts.AllStages = opts.AllStages || all
			name := c.name
			if all {
				name += "/all-stages"
			}
			t.Run(name, func(t *testing.T) {
				data := readCase(t, c)
				if _, err := buildkitPulls(t, data, opts); err != nil {
					t.Fatalf("dockerfile2llb: %v", err)
				}
				compareWithBuildKit(t, c.file+".Dockerfile", data, opts)
			})
		}
	}
}

// TestMatchesBuildKitExtra covers corners that are not worth a golden file.
func TestMatchesBuildKitExtra(t *testing.T) {
	cases := []struct {
		name string
		df   string
		opts Options
	}{
		// Not compared: COPY --from=<index> naming the implicit stage of an image. dockerfile2llb then
		// registers that state twice and races on it (go test -race reports it inside BuildKit).
		{"mount without from adds scratch state", "FROM alpine\nRUN --mount=type=cache,target=/c true\nFROM debian\nCOPY --from=2 / /\n", Options{AllStages: true}},
		{"upper-case base does not find stage", "FROM alpine AS base\nFROM base\n", Options{}},
		{"stage named scratch", "FROM alpine AS scratch\nFROM scratch\n", Options{}},
		{"target unnamed last", "FROM alpine AS a\nFROM busybox\n", Options{Target: "a"}},
		{"arg platform override", "ARG P=linux/arm64\nFROM --platform=$P alpine\nCOPY --from=busybox / /\n", Options{Platform: "linux/s390x"}},
		{"targetstage arg", "FROM alpine:${TARGETSTAGE} AS three\n", Options{}},
		{"onbuild chain", "FROM alpine AS a\nONBUILD COPY --from=b / /\nFROM busybox AS b\nONBUILD COPY --from=nginx / /\nFROM a AS c\nFROM b\n", Options{}},
		{"onbuild from onbuild child", "FROM alpine AS a\nONBUILD RUN --mount=from=node:20,target=/n true\nFROM a AS b\nFROM b\n", Options{}},
		{"unreachable copy later stage", "FROM alpine AS a\nCOPY --from=c / /\nFROM busybox AS b\nFROM debian AS c\n", Options{Target: "b"}},
		{"arg redeclared", "ARG V=1\nARG V\nARG V=${V}.2\nFROM alpine:${V}\n", Options{}},
		{"build arg for undeclared", "FROM alpine:${V:-3}\n", Options{BuildArgs: map[string]string{"V": "9"}}},
		{"build arg declared no default", "ARG V\nFROM alpine:${V:-3}\n", Options{BuildArgs: map[string]string{"V": "9"}}},
		{"base case must match stage exactly", "FROM alpine AS base\nFROM Base\n", Options{}},
		{"arg base names stage", "ARG B=base\nFROM alpine AS base\nFROM $B\n", Options{}},
		{"copy from numeric own", "FROM alpine\nFROM busybox\nCOPY --from=1 / /\n", Options{}},
		{"copy from plus sign index", "FROM alpine\nFROM busybox\nCOPY --from=+0 / /\n", Options{}},
		{"windows target platform", "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n", Options{Platform: "windows/amd64"}},
		{"mount cache with from image", "FROM alpine\nRUN --mount=type=cache,from=busybox,target=/c true\n", Options{}},
		{"onbuild in base of base", "FROM alpine AS a\nONBUILD COPY --from=nginx / /\nFROM a AS b\nFROM b AS c\n", Options{}},
		{"registry-1 alias", "FROM registry-1.docker.io/library/alpine:3\n", Options{}},
		{"circular", "FROM alpine AS a\nCOPY --from=b / /\nFROM busybox AS b\nCOPY --from=a / /\n", Options{}},
		{"self copy", "FROM alpine AS a\nCOPY --from=a / /\n", Options{}},
		{"invalid index", "FROM alpine\nCOPY --from=5 / /\n", Options{}},
		{"blank base", "ARG X\nFROM $X\n", Options{}},
		{"variable from", "ARG X=a\nFROM alpine AS a\nFROM busybox\nCOPY --from=$X / /\n", Options{}},
		{"invalid ref unreachable", "FROM Alpine AS a\nFROM busybox\n", Options{}},
		{"invalid copy ref unreachable", "FROM alpine AS a\nCOPY --from=Foo:Bar / /\nFROM busybox\n", Options{}},
		{"empty platform", "FROM --platform=$NOPE alpine\n", Options{}},
		{"bad platform", "FROM --platform=linux/amd64/v9/x alpine\n", Options{}},
		{"mount from variable", "FROM alpine\nRUN --mount=from=$X,target=/x true\n", Options{}},
		{"mount from trailing dollar", "FROM alpine\nRUN --mount=from=foo$,target=/x true\n", Options{}},
		{"unknown target", "FROM alpine AS a\n", Options{Target: "b"}},
		{"no stages", "ARG X=1\n", Options{}},
		{"bad trigger fired", "FROM alpine AS a\nONBUILD COPY onlyone\nFROM a\n", Options{}},
		{"bad trigger not fired", "FROM alpine AS a\nONBUILD COPY onlyone\nFROM busybox\n", Options{}},
		{"quoted base", "FROM \"alpine:3\"\nFROM 'busybox'\n", Options{}},
		{"escaped dollar", "ARG V=1\nFROM alpine:\\$V\n", Options{}},
		{"copy from upper stage name", "FROM alpine AS build\nFROM busybox\nCOPY --from=BUILD / /\n", Options{}},
		{"mount upper stage name", "FROM alpine AS build\nFROM busybox\nRUN --mount=from=Build,target=/b true\n", Options{}},
		{"copy from later stage target", "FROM alpine AS a\nCOPY --from=b / /\nFROM busybox AS b\n", Options{Target: "a"}},
		{"same image twice", "FROM alpine\nCOPY --from=alpine / /a\nCOPY --from=alpine / /b\nRUN --mount=from=alpine,target=/c true\n", Options{}},
		{"build platform arm", "FROM --platform=$BUILDPLATFORM golang AS b\nFROM alpine:${TARGETARCH}${TARGETVARIANT}\nCOPY --from=b / /\n", Options{BuildPlatform: "linux/arm64", Platform: "linux/arm/v6"}},
	}
	for _, c := range cases {
		for _, all := range []bool{false, true} {
			opts := c.opts
			opts.AllStages = opts.AllStages || all
			t.Run(c.name, func(t *testing.T) {
				compareWithBuildKit(t, "Dockerfile", []byte(c.df), opts)
			})
		}
	}
}
