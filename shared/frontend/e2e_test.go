package frontend_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/mirrorconfig"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
)

// TestE2EFrontend runs the cases on a real buildkitd, one after another on one world, each
// checking the sandbox's counters, the recording proxies (direct pulls), the built filesystem and the
// metadata report.
func TestE2EFrontend(t *testing.T) {
	w := newWorld(t)
	reg := w.sb.RegistryHost
	cfg := map[string]string{"ECR_PTC_REGISTRY": reg}
	syntax := "# syntax=" + w.frontend + "\n"
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	t.Run("plain FROM of a Docker Hub official image, cold then warm", func(t *testing.T) {
		w.resetCounters()
		b := build{dockerfile: syntax + "FROM alpine:3.20\n", args: cfg}
		r := w.build(b)
		ok(t, r)
		im := image(t, r, "docker.io/library/alpine:3.20", "")
		cached(t, im, reg+"/docker-hub/library/alpine:3.20@")
		if want := w.upstreamDigest("docker-hub", "library/alpine:3.20"); im.Digest != want {
			t.Errorf("digest %s, want the upstream's %s", im.Digest, want)
		}
		fileHas(t, r, "etc/sandbox-image", "registry-1.docker.io/library/alpine:3.20 linux/amd64")
		w.noDirectPulls(t)
		if st := w.sb.Stats.Snapshot(); st.UpstreamFetches == 0 {
			t.Errorf("the cold build made no upstream fetch through the cache: %+v", st)
		}
		if !strings.Contains(r.out, "via the pull-through cache "+reg+"/docker-hub/library/alpine:3.20") {
			t.Errorf("the progress does not show the cache resolve:\n%s", r.out)
		}
		if s := summary(t, r); !strings.Contains(s, "1 image: 1 from the cache") {
			t.Errorf("summary %q", s)
		}
		if !regexp.MustCompile(`(?m)^#\d+ ecr-ptc: 1 image — 1 via the cache$`).MatchString(r.out) {
			t.Errorf("no summary step in the progress:\n%s", r.out)
		}
		if r.report.IgnoredSyntax != "" {
			t.Errorf("its own # syntax= line was reported as ignored: %q", r.report.IgnoredSyntax)
		}

		w.resetCounters()
		r = w.build(b)
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/alpine:3.20", ""), reg+"/docker-hub/library/alpine:3.20@")
		w.noDirectPulls(t)
		if st := w.sb.Stats.Snapshot(); st.UpstreamFetches != 0 || st.CacheHits == 0 {
			t.Errorf("warm build: want cache hits and no upstream fetch, got %+v", st)
		}
	})

	t.Run("ARG FROM with a --build-arg override", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "ARG NODE_VERSION=20\nFROM node:${NODE_VERSION}-bookworm-slim\n",
			args: with(cfg, "NODE_VERSION", "22")})
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/node:22-bookworm-slim", ""), reg+"/docker-hub/library/node:22-bookworm-slim@")
		if len(r.report.Images) != 1 {
			t.Errorf("the default node:20-bookworm-slim was resolved too: %+v", r.report.Images)
		}
		fileIs(t, r, "opt/node/VERSION", "22-bookworm-slim\n")
		w.noDirectPulls(t)
	})

	t.Run("a stage named like an image is a stage, and RUN executes", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM busybox:static AS alpine\nRUN echo from-stage > /stage.txt\nFROM alpine\nRUN cat /stage.txt > /copied.txt\n", args: cfg})
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/busybox:static", ""), reg+"/docker-hub/library/busybox:static@")
		for _, im := range r.report.Images {
			if strings.Contains(im.Ref, "alpine") {
				t.Errorf("the stage name was resolved as an image: %+v", im)
			}
		}
		fileIs(t, r, "copied.txt", "from-stage\n")
		w.noDirectPulls(t)
	})

	t.Run("COPY --from=image", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM busybox:static\nCOPY --from=ghcr.io/tini-org/tini:v0.19.0 /etc/sandbox-image /tini-image\n", args: cfg})
		ok(t, r)
		cached(t, image(t, r, "ghcr.io/tini-org/tini:v0.19.0", ""), reg+"/github/tini-org/tini:v0.19.0@")
		cached(t, image(t, r, "docker.io/library/busybox:static", ""), reg+"/docker-hub/library/busybox:static@")
		fileHas(t, r, "tini-image", "ghcr.io/tini-org/tini:v0.19.0 linux/amd64")
		w.noDirectPulls(t)
	})

	t.Run("RUN --mount=from=image; our build args never reach the Dockerfile", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM busybox:static\nARG ECR_PTC_REGISTRY\n" +
			"RUN --mount=from=public.ecr.aws/docker/library/node:20,target=/n cat /n/opt/node/VERSION > /node-version && echo \"arg=[$ECR_PTC_REGISTRY]\" > /arg\n",
			args: cfg})
		ok(t, r)
		cached(t, image(t, r, "public.ecr.aws/docker/library/node:20", ""), reg+"/ecr-public/docker/library/node:20@")
		fileIs(t, r, "node-version", "20\n")
		fileIs(t, r, "arg", "arg=[]\n")
		w.noDirectPulls(t)
	})

	t.Run("named context, frontend run directly as gateway.v0", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{gateway: w.frontend, dockerfile: "FROM base\n", args: cfg,
			opts: map[string]string{"context:base": "docker-image://docker.io/library/node:20"}})
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/node:20", ""), reg+"/docker-hub/library/node:20@")
		fileIs(t, r, "opt/node/VERSION", "20\n")
		if !strings.Contains(r.out, "[context base]") {
			t.Errorf("no named-context progress line:\n%s", r.out)
		}
		w.noDirectPulls(t)
	})

	t.Run("FROM --platform=$BUILDPLATFORM for an arm64 target", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM --platform=$BUILDPLATFORM golang:1.23-alpine AS build\nFROM scratch\nCOPY --from=build /etc/sandbox-image /build-image\n",
			args: cfg, opts: map[string]string{"platform": "linux/arm64"}})
		ok(t, r)
		im := image(t, r, "docker.io/library/golang:1.23-alpine", "")
		cached(t, im, reg+"/docker-hub/library/golang:1.23-alpine@")
		if !strings.HasPrefix(im.Platform, "linux/amd64") {
			t.Errorf("resolved for %q, want the build platform", im.Platform)
		}
		fileHas(t, r, "build-image", "golang:1.23-alpine linux/amd64")
		w.noDirectPulls(t)
	})

	t.Run("two-platform build", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM debian:bookworm-slim\nCOPY hello.txt /hello.txt\n", files: map[string]string{"hello.txt": "hi\n"},
			args: cfg, opts: map[string]string{"platform": "linux/amd64,linux/arm64"}})
		ok(t, r)
		var plats []string
		for _, im := range r.report.Images {
			if im.Ref == "docker.io/library/debian:bookworm-slim" {
				cached(t, im, reg+"/docker-hub/library/debian:bookworm-slim@")
				plats = append(plats, im.Platform)
			}
		}
		if len(plats) != 2 {
			t.Errorf("want one resolution per platform, got %v", plats)
		}
		for dir, want := range map[string]string{"linux_amd64": "linux/amd64", "linux_arm64": "linux/arm64"} {
			data, err := os.ReadFile(filepath.Join(r.dir, dir, "etc/sandbox-image"))
			if err != nil || !strings.Contains(string(data), want) {
				t.Errorf("%s: %q %v", dir, data, err)
			}
		}
		w.noDirectPulls(t)
	})

	t.Run("tag@digest on a cold cache: the tag warms it, the digest checks", func(t *testing.T) {
		w.resetCounters()
		d := w.upstreamDigest("docker-hub", "library/python:3.12-slim")
		r := w.build(build{dockerfile: syntax + "FROM python:3.12-slim@" + d + "\n", args: cfg})
		ok(t, r)
		im := image(t, r, "docker.io/library/python:3.12-slim@"+d, "")
		cached(t, im, reg+"/docker-hub/library/python:3.12-slim@"+d)
		if st := w.sb.Stats.Snapshot(); st.DigestColdMisses != 0 {
			t.Errorf("a digest pull hit the cold cache: %+v", st)
		}
		w.noDirectPulls(t)
	})

	t.Run("tag@digest whose tag moved: the pinned digest from the cache, else a fallback with the reason", func(t *testing.T) {
		// Two builds of library/node no other case pulls: the pin names one, the tag the other.
		pinned, err := w.sb.SeedImage("docker-hub", "library/node", "pin-old", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.sb.SeedImage("docker-hub", "library/node", "pin-new", []string{"linux/amd64", "linux/arm64"}); err != nil {
			t.Fatal(err)
		}
		w.resetCounters()
		b := build{dockerfile: syntax + "FROM node:pin-new@" + pinned + "\n", args: cfg}
		r := w.build(b)
		ok(t, r)
		im := image(t, r, "docker.io/library/node:pin-new@"+pinned, "")
		fellBack(t, r, im, "not the pinned "+pinned)
		w.directPullsOnly(t, "docker-hub", "library/node")

		// Once the cache holds the pinned digest (an earlier pull of its tag), it serves it although the
		// tag has moved on: ECR keeps a digest it holds.
		ok(t, w.build(build{dockerfile: syntax + "FROM node:pin-old\n", args: cfg}))
		w.resetCounters()
		r = w.build(b)
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/node:pin-new@"+pinned, ""), reg+"/docker-hub/library/node@"+pinned)
		w.noDirectPulls(t)
	})

	t.Run("digest-only: cold falls back, warm comes from the cache", func(t *testing.T) {
		w.resetCounters()
		d := w.upstreamDigest("docker-hub", "bitnami/redis:7.2")
		b := build{dockerfile: syntax + "FROM bitnami/redis@" + d + "\n", args: cfg}
		r := w.build(b)
		ok(t, r)
		fellBack(t, r, image(t, r, "docker.io/bitnami/redis@"+d, ""), "containers-roadmap#2837")
		if st := w.sb.Stats.Snapshot(); st.DigestColdMisses == 0 {
			t.Errorf("no cold digest miss counted: %+v", st)
		}
		w.directPullsOnly(t, "docker-hub", "bitnami/redis")

		ok(t, w.build(build{dockerfile: syntax + "FROM bitnami/redis:7.2\n", args: cfg})) // warms the cache by tag
		w.resetCounters()
		r = w.build(b)
		ok(t, r)
		cached(t, image(t, r, "docker.io/bitnami/redis@"+d, ""), reg+"/docker-hub/bitnami/redis@"+d)
		w.noDirectPulls(t)
	})

	t.Run("ECR_PTC_LOCK: the locked digest after the tag moved; a digest the cache lacks fails the build", func(t *testing.T) {
		// Lock golang:1.23-alpine at what the cache serves now, then move the tag upstream.
		w.resetCounters()
		ok(t, w.build(build{dockerfile: syntax + "FROM golang:1.23-alpine\n", args: cfg}))
		locked := w.upstreamDigest("docker-hub", "library/golang:1.23-alpine")
		if _, err := w.sb.MoveTag("docker-hub", "library/golang", "1.23-alpine"); err != nil {
			t.Fatal(err)
		}
		args := map[string]string{}
		for k, v := range cfg {
			args[k] = v
		}
		args["ECR_PTC_LOCK"] = "docker.io/library/golang:1.23-alpine=" + locked
		r := w.build(build{dockerfile: syntax + "FROM golang:1.23-alpine\n", args: args})
		ok(t, r)
		im := image(t, r, "docker.io/library/golang:1.23-alpine", "")
		if im.Outcome != report.BuildCache || !strings.HasSuffix(im.Used, "@"+locked) {
			t.Errorf("locked image: %+v", im)
		}
		w.noDirectPulls(t)

		args["ECR_PTC_LOCK"] = "docker.io/library/golang:1.23-alpine=sha256:" + strings.Repeat("0", 64)
		r = w.build(build{dockerfile: syntax + "FROM golang:1.23-alpine\n", args: args})
		if r.err == nil || !strings.Contains(r.out, "ECR_PTC_LOCK locks docker.io/library/golang:1.23-alpine") {
			t.Errorf("a lock the cache cannot honour must fail the build:\n%s", tail(r.out, 20))
		}
		w.noSecrets(r.out, "buildctl output")
	})

	t.Run("an image missing everywhere fails with BuildKit's error", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM nope/does-not-exist:1\n", args: cfg})
		if r.err == nil {
			t.Fatalf("the build succeeded:\n%s", r.out)
		}
		if testing.Verbose() {
			t.Logf("%s", r.out)
		}
		if !strings.Contains(r.out, "docker.io/nope/does-not-exist:1") || strings.Contains(r.out, "ECR_PTC_STRICT") {
			t.Errorf("want BuildKit's error for the original reference:\n%s", r.out)
		}
	})

	t.Run("no rule in the registry: fallback, a warning, a FALLBACK progress line", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM quay.io/prometheus/prometheus:v2.53.0\n", args: cfg})
		ok(t, r)
		im := image(t, r, "quay.io/prometheus/prometheus:v2.53.0", "")
		fellBack(t, r, im, "the cache could not serve "+reg+"/quay/prometheus/prometheus:v2.53.0")
		if !regexp.MustCompile(`(?m)^#\d+ ecr-ptc: 1 image — 0 via the cache, 1 FALLBACK \(quay.io/prometheus/prometheus:v2.53.0: `).MatchString(r.out) {
			t.Errorf("no summary step naming the fallback:\n%s", r.out)
		}

		// The step's final state, as a tty display shows it: named as the fallback, DONE.
		w.resetCounters()
		r = w.build(build{dockerfile: syntax + "FROM quay.io/prometheus/prometheus:v2.53.0\n", args: cfg, rawjson: true})
		ok(t, r)
		fellBackRaw(t, r, "quay.io/prometheus/prometheus:v2.53.0", "not found")
		w.directPullsOnly(t, "quay", "prometheus/prometheus")
		if s := summary(t, r); !strings.Contains(s, "fell back: quay.io/prometheus/prometheus:v2.53.0") {
			t.Errorf("summary %q", s)
		}
	})

	t.Run("no rule in ECR_PTC_RULES: fallback without a cache attempt", func(t *testing.T) {
		w.resetCounters()
		// rawjson: the warning lands on the fallback's own vertex after it completed, which buildctl's
		// plain display does not reprint (buildx lists every warning at the end).
		r := w.build(build{dockerfile: syntax + "FROM quay.io/coreos/etcd:v3.5.0\n", args: with(cfg, "ECR_PTC_RULES", "docker.io=docker-hub,ghcr.io=github"), rawjson: true})
		ok(t, r)
		im := image(t, r, "quay.io/coreos/etcd:v3.5.0", "")
		if im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, "ecr-ptc rules ensure --upstream quay") {
			t.Errorf("want a no-rule fallback, got %+v", im)
		}
		fellBackRaw(t, r, "quay.io/coreos/etcd:v3.5.0", "no pull-through cache rule for quay.io")
		if st := w.sb.Stats.Snapshot(); st.CacheHits+st.CacheMisses != 0 {
			t.Errorf("the cache was asked: %+v", st)
		}
		w.directPullsOnly(t, "quay", "coreos/etcd")
	})

	t.Run("strict mode turns the fallback into a build error", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM quay.io/prometheus/prometheus:v2.53.0\n", args: with(cfg, "ECR_PTC_STRICT", "1")})
		if r.err == nil {
			t.Fatalf("the strict build succeeded:\n%s", r.out)
		}
		if testing.Verbose() {
			t.Logf("%s", r.out)
		}
		if !strings.Contains(r.out, "ECR_PTC_STRICT=true and the pull-through cache cannot serve quay.io/prometheus/prometheus:v2.53.0") {
			t.Errorf("want the strict error:\n%s", r.out)
		}
		w.noDirectPulls(t)
	})

	t.Run("nested # syntax= via BUILDKIT_SYNTAX: ignored with a warning, still through the cache", func(t *testing.T) {
		w.resetCounters()
		// rawjson: the warning is on the Dockerfile's vertex, printed before it arrives (buildx lists it
		// at the end, as it does the Dockerfile frontend's own lint warnings).
		r := w.build(build{dockerfile: "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n", args: with(cfg, "BUILDKIT_SYNTAX", w.frontend), rawjson: true})
		ok(t, r)
		cached(t, image(t, r, "docker.io/library/alpine:3.20", ""), reg+"/docker-hub/library/alpine:3.20@")
		if r.report.IgnoredSyntax != "docker/dockerfile:1" {
			t.Errorf("ignoredSyntax = %q", r.report.IgnoredSyntax)
		}
		vtx, warned := rawVertices(t, r.out), false
		for _, wn := range rawWarnings(t, r.out) {
			if strings.Contains(wn.Short, "ecr-ptc ignores `# syntax=docker/dockerfile:1`") && strings.Contains(vtx[wn.Vertex].Name, "load build definition from Dockerfile") {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no warning about the nested syntax on the Dockerfile:\n%s", r.out)
		}
		w.noDirectPulls(t) // docker/dockerfile:1 was never pulled
	})

	t.Run("frontend pulled through the ECR cache: that registry is the cache, no build args", func(t *testing.T) {
		w.resetCounters()
		// buildkitd mirrors the ECR name to the sandbox, so this is a pull through the cache of the
		// frontend published on GHCR.
		r := w.build(build{dockerfile: "# syntax=" + ecrHost + "/github/ecrptc/frontend:test\nFROM alpine:3.20\nCOPY --from=ghcr.io/tini-org/tini:v0.19.0 /etc/sandbox-image /tini\n"})
		ok(t, r)
		if r.report.Registry != ecrHost {
			t.Errorf("registry %q, want the frontend's own %s", r.report.Registry, ecrHost)
		}
		cached(t, image(t, r, "docker.io/library/alpine:3.20", ""), ecrHost+"/docker-hub/library/alpine:3.20@")
		cached(t, image(t, r, "ghcr.io/tini-org/tini:v0.19.0", ""), ecrHost+"/github/tini-org/tini:v0.19.0@")
		fileHas(t, r, "tini", "ghcr.io/tini-org/tini:v0.19.0")
		w.noDirectPulls(t)
		if st := w.sb.Stats.Snapshot(); st.CacheHits+st.CacheMisses < 3 {
			t.Errorf("the frontend and both images should have come from the cache: %+v", st)
		}
	})

	t.Run("mirror-config: a buildkitd.toml that sends the stock frontend's pulls through the cache", func(t *testing.T) {
		set, err := rules.ParseSpec("docker.io=docker-hub,ghcr.io=github,public.ecr.aws=ecr-public")
		if err != nil {
			t.Fatal(err)
		}
		sock := w.startBuildkitd("mirrors", mirrorconfig.Buildkitd(reg, set))
		w.resetCounters()
		r := w.build(build{sock: sock, dockerfile: "FROM debian:bookworm-slim\nCOPY --from=public.ecr.aws/docker/library/busybox:1.36 /etc/sandbox-image /busybox\n"})
		ok(t, r)
		fileHas(t, r, "etc/sandbox-image", "registry-1.docker.io/library/debian:bookworm-slim")
		fileHas(t, r, "busybox", "public.ecr.aws/docker/library/busybox:1.36")
		w.noDirectPulls(t)
		if st := w.sb.Stats.Snapshot(); st.CacheHits+st.CacheMisses < 2 || st.UnauthorizedRequests == 0 {
			t.Errorf("want the pulls at the cache, authenticated after a challenge: %+v", st)
		}
	})

	t.Run("ECR_PTC_DISABLE resolves like the stock frontend", func(t *testing.T) {
		w.resetCounters()
		r := w.build(build{dockerfile: syntax + "FROM alpine:latest\n", args: with(cfg, "ECR_PTC_DISABLE", "true")})
		ok(t, r)
		im := image(t, r, "docker.io/library/alpine:latest", "")
		if im.Outcome != report.BuildUnchanged {
			t.Errorf("outcome %s", im.Outcome)
		}
		w.directPullsOnly(t, "docker-hub", "library/alpine")
	})

	t.Run("ECR_PTC_LOCK and ECR_PTC_STRICT hold with ECR_PTC_DISABLE", func(t *testing.T) {
		d := w.upstreamDigest("docker-hub", "library/alpine:latest")
		disabled := with(cfg, "ECR_PTC_DISABLE", "true")
		r := w.build(build{dockerfile: syntax + "FROM alpine:latest\n", args: with(disabled, "ECR_PTC_LOCK", "docker.io/library/alpine:latest="+d)})
		ok(t, r)
		if im := image(t, r, "docker.io/library/alpine:latest", ""); im.Outcome != report.BuildUnchanged || !strings.HasSuffix(im.Used, "@"+d) {
			t.Errorf("a locked image with the cache disabled: %+v", im)
		}
		r = w.build(build{dockerfile: syntax + "FROM alpine:latest\n", args: with(disabled, "ECR_PTC_LOCK", "docker.io/library/alpine:latest=sha256:"+strings.Repeat("0", 64))})
		if r.err == nil || !strings.Contains(r.out, "ECR_PTC_LOCK locks docker.io/library/alpine:latest") {
			t.Errorf("a wrong lock with the cache disabled must fail naming the image:\n%s", tail(r.out, 20))
		}
		r = w.build(build{dockerfile: syntax + "FROM alpine:latest\n", args: with(disabled, "ECR_PTC_STRICT", "true")})
		if r.err == nil || !strings.Contains(r.out, "ECR_PTC_STRICT=true and the pull-through cache cannot serve docker.io/library/alpine:latest") {
			t.Errorf("strict mode with the cache disabled must fail:\n%s", tail(r.out, 20))
		}
	})

	// The fault matrix for builds, printed as a table: each fault ends in a build served by the cache, a
	// visible fallback, or a clear failure (strict mode, or an image no registry can serve).
	t.Run("fault matrix", func(t *testing.T) {
		var table strings.Builder
		fmt.Fprintf(&table, "%-52s %-10s %s\n", "fault (build through the frontend)", "result", "detail")
		row := func(name, result, detail string) {
			fmt.Fprintf(&table, "%-52s %-10s %.90s\n", name, result, detail)
		}
		outcome := func(r result, ref string) (string, string) {
			if r.err != nil {
				return "failed", lastErrorLine(r.out)
			}
			for _, im := range r.report.Images {
				if im.Ref == ref {
					return string(im.Outcome), im.Reason
				}
			}
			return "?", ""
		}
		check := func(name string, r result, ref, want, detail string) {
			t.Helper()
			got, why := outcome(r, ref)
			row(name, got, why)
			if got != want || !strings.Contains(why, detail) {
				t.Errorf("%s: got %s (%s), want %s with %q\n%s", name, got, why, want, detail, tail(r.out, 15))
			}
			w.noSecrets(r.out, "buildctl output")
			w.sb.Faults.Clear()
			w.resetCounters()
		}

		w.resetCounters()
		w.sb.Faults.Add(sandbox.Fault{Target: "registry", Kind: sandbox.FaultServerError})
		check("cache registry answers 500", w.build(build{dockerfile: syntax + "FROM debian:bookworm-slim\n", args: cfg}),
			"docker.io/library/debian:bookworm-slim", "fallback", "500")

		w.sb.Faults.Add(sandbox.Fault{Target: "registry", Kind: sandbox.FaultServerError})
		check("cache registry answers 500, ECR_PTC_STRICT=true", w.build(build{dockerfile: syntax + "FROM debian:bookworm-slim\n", args: with(cfg, "ECR_PTC_STRICT", "true")}),
			"docker.io/library/debian:bookworm-slim", "failed", "ECR_PTC_STRICT=true")

		ok(t, w.build(build{dockerfile: syntax + "FROM golang:1.23-alpine\n", args: cfg})) // cached now
		w.sb.Faults.Add(sandbox.Fault{Target: "upstream:docker-hub", Kind: sandbox.FaultTooMany})
		check("Docker Hub answers 429, image cached", w.build(build{dockerfile: syntax + "FROM golang:1.23-alpine\n", args: cfg}),
			"docker.io/library/golang:1.23-alpine", "cache", "")

		// Images no other case pulls, so that the cache is cold for them whatever ran before.
		for _, img := range []struct{ upstream, repo string }{{"docker-hub", "library/faultmatrix"}, {"ecr-public", "docker/library/faultmatrix"}} {
			if _, err := w.sb.SeedImage(img.upstream, img.repo, "cold", nil); err != nil {
				t.Fatal(err)
			}
		}
		w.sb.Faults.Add(sandbox.Fault{Target: "upstream:docker-hub", Kind: sandbox.FaultTooMany})
		check("Docker Hub answers 429, image not cached yet", w.build(build{dockerfile: syntax + "FROM faultmatrix:cold\n", args: cfg}),
			"docker.io/library/faultmatrix:cold", "failed", "429")

		// A deleted rule leaves the repositories it created (ECR keeps serving them); a new image fails.
		deleted, _ := w.sb.Store.DeleteRule("ecr-public")
		check("the rule is deleted", w.build(build{dockerfile: syntax + "FROM public.ecr.aws/docker/library/faultmatrix:cold\n", args: cfg}),
			"public.ecr.aws/docker/library/faultmatrix:cold", "fallback", "")
		w.sb.Store.PutRule(deleted.Rule)

		w.sb.Store.ExpireTokens()
		check("the ECR token expired during the build", w.build(build{dockerfile: syntax + "FROM busybox:1.36\n", args: cfg}),
			"docker.io/library/busybox:1.36", "fallback", "")
		w.relogin()

		t.Logf("\n%s", table.String())
	})
}

// lastErrorLine is the line of buildctl's output that says why the build failed.
func lastErrorLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "ERROR") || strings.Contains(lines[i], "error:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return lines[len(lines)-1]
}

// TestE2EBuildx builds once through `docker buildx build` (the standalone buildx binary, remote driver on
// the test's buildkitd): the metadata file carries the report, and buildx lists the fallback warning.
func TestE2EBuildx(t *testing.T) {
	w := newWorld(t)
	bx := buildBuildx(t, w.bin)
	env := append(append([]string(nil), w.env...), "BUILDX_CONFIG="+filepath.Join(w.dir, "buildx"), "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bx, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		w.noSecrets(string(out), "buildx's output")
		return string(out), err
	}
	if out, err := run("create", "--name", "ecrptc", "--driver", "remote", "unix://"+w.sock); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	ctxDir := filepath.Join(w.dir, "buildx-ctx")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfile := "# syntax=" + w.frontend + "\nFROM quay.io/prometheus/prometheus:v2.53.0 AS q\nFROM alpine:3.20\nCOPY --from=q /etc/sandbox-image /q\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(w.dir, "buildx-meta.json")
	out, err := run("build", "--builder", "ecrptc", "--progress", "plain", "--build-arg", "ECR_PTC_REGISTRY="+w.sb.RegistryHost,
		"--metadata-file", meta, "--output", "type=local,dest="+filepath.Join(w.dir, "buildx-out"), ctxDir)
	if err != nil {
		t.Fatalf("buildx build: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
	if !regexp.MustCompile(`(?s)1 warning found.*ecr-ptc: the pull-through cache cannot serve quay.io/prometheus/prometheus:v2.53.0`).MatchString(out) {
		t.Errorf("buildx does not list the fallback warning:\n%s", out)
	}
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	w.noSecrets(string(data), "buildx's metadata file")
	var doc struct {
		Report  report.FrontendReport `json:"frontend.ecr-ptc.report"`
		Summary string                `json:"frontend.ecr-ptc.summary"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("metadata file: %v\n%s", err, data)
	}
	if doc.Report.Totals.Cache != 1 || doc.Report.Totals.Fallbacks != 1 || !strings.Contains(doc.Summary, "fell back: quay.io/prometheus/prometheus:v2.53.0") {
		t.Errorf("metadata: %s", data)
	}
	if _, err := report.ParseMetadata(data); err != nil {
		t.Errorf("ecr-ptc report cannot read buildx's metadata file: %v", err)
	}
}

func ok(t *testing.T, r result) {
	t.Helper()
	if testing.Verbose() {
		t.Logf("%s", r.out)
	}
	if r.err != nil {
		t.Fatalf("build failed: %v\n%s", r.err, r.out)
	}
}

// image finds the report entry for original (and platform, when given).
func image(t *testing.T, r result, original, platform string) report.BuildImage {
	t.Helper()
	for _, im := range r.report.Images {
		if im.Ref == original && (platform == "" || im.Platform == platform) {
			return im
		}
	}
	t.Fatalf("no report entry for %s in %+v\n%s", original, r.report, r.out)
	return report.BuildImage{}
}

func cached(t *testing.T, im report.BuildImage, usedPrefix string) {
	t.Helper()
	if im.Outcome != report.BuildCache || !strings.HasPrefix(im.Used, usedPrefix) || im.Digest == "" || !strings.HasSuffix(im.Used, "@"+im.Digest) {
		t.Errorf("want %s from the cache (%s…), got %+v", im.Ref, usedPrefix, im)
	}
}

// fellBack checks a fallback in plain progress: the report's reason, and the warning on the progress
// step, which ends DONE — not ERROR — although the cache attempt in it failed. On a daemon that ignores
// the source policy (before v0.34) the attempt's step ends ERROR and a FALLBACK step follows and ends
// DONE; buildctl's plain display does not reprint that finished step for its warning (rawjson and buildx
// show it), so the summary step must name the image as a FALLBACK: visible, and the build goes on.
func fellBack(t *testing.T, r result, im report.BuildImage, reason string) {
	t.Helper()
	if im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, reason) || !strings.HasPrefix(im.Used, strings.Split(im.Ref, "@")[0]) {
		t.Errorf("want a fallback for %s because %q, got %+v", im.Ref, reason, im)
	}
	var step string
	if r.policies {
		m := regexp.MustCompile(`(?m)^#(\d+) WARN: ecr-ptc: the pull-through cache cannot serve ` + regexp.QuoteMeta(im.Ref) + `, so it is pulled from its own registry`).FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("no fallback warning for %s:\n%s", im.Ref, r.out)
		}
		step = m[1]
	} else {
		f := regexp.MustCompile(`(?m)^#(\d+) .*FALLBACK to the original registry`).FindAllStringSubmatch(r.out, -1)
		if f == nil {
			t.Fatalf("no FALLBACK step for %s:\n%s", im.Ref, r.out)
		}
		step = f[len(f)-1][1]
		if !regexp.MustCompile(`(?m)^#\d+ ecr-ptc: .*FALLBACK \(.*` + regexp.QuoteMeta(im.Ref) + `: `).MatchString(r.out) {
			t.Errorf("the summary step does not name %s as a FALLBACK:\n%s", im.Ref, r.out)
		}
	}
	last := ""
	for _, l := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(l, "#"+step+" DONE") || strings.HasPrefix(l, "#"+step+" ERROR") {
			last = l
		}
	}
	if !strings.HasPrefix(last, "#"+step+" DONE") {
		t.Errorf("the fallback step ends %q:\n%s", last, r.out)
	}
}

// fellBackRaw checks a fallback in a rawjson progress stream: a warning on a vertex whose last state is
// named as a fallback, completed without error (on a daemon that ignores the source policy: a warning,
// and a completed FALLBACK vertex).
func fellBackRaw(t *testing.T, r result, ref, gist string) {
	t.Helper()
	vtx := rawVertices(t, r.out)
	done := func(v client.Vertex) bool {
		return strings.Contains(v.Name, "FALLBACK to the original registry ("+gist) && v.Error == "" && v.Completed != nil
	}
	warned := false
	for _, wn := range rawWarnings(t, r.out) {
		if !strings.Contains(wn.Short, "the pull-through cache cannot serve "+ref+",") {
			continue
		}
		if done(vtx[wn.Vertex]) {
			return
		}
		warned = true
	}
	if !r.policies && warned {
		for _, v := range vtx {
			if done(v) {
				return
			}
		}
	}
	t.Errorf("no warning on a completed FALLBACK vertex for %s (%s):\n%s", ref, gist, r.out)
}

// rawVertices is each vertex's last state in a --progress rawjson stream.
func rawVertices(t *testing.T, out string) map[string]client.Vertex {
	t.Helper()
	vs := map[string]client.Vertex{}
	for _, st := range rawStatuses(t, out) {
		for _, v := range st.Vertexes {
			vs[v.Digest.String()] = *v
		}
	}
	return vs
}

type rawWarning struct {
	Vertex string
	Short  string
}

func rawWarnings(t *testing.T, out string) []rawWarning {
	t.Helper()
	var ws []rawWarning
	for _, st := range rawStatuses(t, out) {
		for _, w := range st.Warnings {
			ws = append(ws, rawWarning{Vertex: w.Vertex.String(), Short: string(w.Short)})
		}
	}
	return ws
}

func rawStatuses(t *testing.T, out string) []client.SolveStatus {
	t.Helper()
	var sts []client.SolveStatus
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var st client.SolveStatus
		if err := dec.Decode(&st); err != nil {
			break // buildctl's own lines after the JSON stream
		}
		sts = append(sts, st)
	}
	return sts
}

func summary(t *testing.T, r result) string {
	t.Helper()
	raw, okk := r.meta[report.SummaryKey]
	var s string
	if !okk || json.Unmarshal(raw, &s) != nil {
		t.Fatalf("no summary string in the metadata: %v", r.meta)
	}
	return s
}

func fileIs(t *testing.T, r result, path, want string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, path))
	if err != nil || string(data) != want {
		t.Errorf("%s = %q (%v), want %q", path, data, err, want)
	}
}

func fileHas(t *testing.T, r result, path, want string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, path))
	if err != nil || !strings.Contains(string(data), want) {
		t.Errorf("%s = %q (%v), want it to contain %q", path, data, err, want)
	}
}

// noDirectPulls checks that every pull went through the cache.
func (w *world) noDirectPulls(t *testing.T) {
	t.Helper()
	for n, p := range w.proxies {
		if pulls := p.pulls(); len(pulls) > 0 {
			t.Errorf("direct pulls from %s, around the cache: %v", n, pulls)
		}
	}
}

// directPullsOnly checks that the only pulls around the cache were the expected fallback's.
func (w *world) directPullsOnly(t *testing.T, upstream, repo string) {
	t.Helper()
	for n, p := range w.proxies {
		pulls := p.pulls()
		if n == upstream && len(pulls) == 0 {
			t.Errorf("the fallback made no direct pull from %s", n)
		}
		for _, l := range pulls {
			if n != upstream || !strings.Contains(l, "/v2/"+repo+"/") {
				t.Errorf("unexpected direct pull from %s: %s", n, l)
			}
		}
	}
}

// upstreamDigest is what repo:tag names on an upstream stand-in now (read directly, not through a
// recording proxy).
func (w *world) upstreamDigest(upstream, repoTag string) string {
	w.tb.Helper()
	ref, err := name.ParseReference(w.sb.Upstreams[upstream]+"/"+repoTag, name.Insecure)
	if err != nil {
		w.tb.Fatal(err)
	}
	d, err := remote.Head(ref)
	if err != nil {
		w.tb.Fatal(err)
	}
	return d.Digest.String()
}
