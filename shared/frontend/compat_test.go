package frontend

// Unit tests of what older daemons do differently: source policies ignored on resolves, Docker Engine's
// classic image store answering local images without a digest, and locks and strict mode holding
// whatever else is set. The end-to-end proof is `make test-compat` and the Docker Engine test.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
	digest "github.com/opencontainers/go-digest"
)

func TestFallbackWhenTheDaemonIgnoresSourcePolicies(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{
		"quay.io/prometheus/prometheus:v2.53.0": dgA, "quay.io/coreos/etcd:v3.5.0": dgB})
	g.ignorePolicies = true
	for _, c := range []struct {
		ref  string
		want digest.Digest
	}{{"quay.io/prometheus/prometheus:v2.53.0", dgA}, {"quay.io/coreos/etcd:v3.5.0", dgB}} {
		resp, err := r.ResolveImage(context.Background(), c.ref, nil, imageOpt())
		if err != nil {
			t.Fatalf("%s: %v", c.ref, err)
		}
		if got, want := usedRef(t, resp), c.ref+"@"+c.want.String(); got != want {
			t.Errorf("the build would pull %s, want the original %s", got, want)
		}
	}
	// The first fallback tried the policy once and then resolved the original under its own identifier;
	// the second went straight to the original.
	var ids []string
	for _, c := range g.calls {
		ids = append(ids, c.identifier)
	}
	want := []string{
		imagePrefix + reg + "/quay/prometheus/prometheus:v2.53.0", imagePrefix + reg + "/quay/prometheus/prometheus:v2.53.0", imagePrefix + "quay.io/prometheus/prometheus:v2.53.0",
		imagePrefix + reg + "/quay/coreos/etcd:v3.5.0", imagePrefix + "quay.io/coreos/etcd:v3.5.0",
	}
	if strings.Join(ids, "\n") != strings.Join(want, "\n") {
		t.Errorf("resolves:\n%s\nwant:\n%s", strings.Join(ids, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(g.calls[2].logName, "FALLBACK to the original registry") {
		t.Errorf("the fallback step is not named as one: %q", g.calls[2].logName)
	}
	rep := r.Report()
	// The first warning went to the attempt's step before the policy was found ignored, and again to
	// the FALLBACK step; the second image's only to its FALLBACK step.
	if rep.Totals.Fallbacks != 2 || len(g.warnings) != 3 {
		t.Fatalf("report %+v warnings %+v", rep.Totals, g.warnings)
	}
	if g.warnings[1].vertex != vertexDigest(imagePrefix+"quay.io/prometheus/prometheus:v2.53.0", imageOpt()) ||
		g.warnings[2].vertex != vertexDigest(imagePrefix+"quay.io/coreos/etcd:v3.5.0", imageOpt()) {
		t.Errorf("the warnings are not on the FALLBACK steps: %+v", g.warnings)
	}
}

func TestLocalImageWithoutDigest(t *testing.T) {
	cacheTag := reg + "/docker-hub/library/python:3.12-slim"
	t.Run("the pin is confirmed from the registry and kept", func(t *testing.T) {
		r, g := newTestResolver(t, map[string]digest.Digest{cacheTag: dgA})
		g.local = map[string]bool{cacheTag: true}
		resp, err := r.ResolveImage(context.Background(), "python:3.12-slim@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got := usedRef(t, resp); got != cacheTag+"@"+dgA.String() {
			t.Errorf("used %s", got)
		}
		if im := onlyImage(t, r); im.Outcome != report.BuildCache || im.Digest != dgA.String() {
			t.Errorf("report %+v", im)
		}
	})
	t.Run("a plain tag gets its digest", func(t *testing.T) {
		r, g := newTestResolver(t, map[string]digest.Digest{cacheTag: dgA})
		g.local = map[string]bool{cacheTag: true}
		resp, err := r.ResolveImage(context.Background(), "python:3.12-slim", nil, imageOpt())
		if err != nil || usedRef(t, resp) != cacheTag+"@"+dgA.String() {
			t.Fatalf("%v %v", err, resp)
		}
	})
	t.Run("a pin the cache cannot confirm falls back to the pinned original", func(t *testing.T) {
		orig := "docker.io/library/python:3.12-slim"
		r, g := newTestResolver(t, map[string]digest.Digest{cacheTag: dgB, orig + "@" + dgA.String(): dgA})
		g.local = map[string]bool{orig + "@" + dgA.String(): true}
		resp, err := r.ResolveImage(context.Background(), "python:3.12-slim@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got := usedRef(t, resp); got != orig+"@"+dgA.String() {
			t.Errorf("the pin was dropped: %s", got)
		}
		if im := onlyImage(t, r); im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, "not the pinned") {
			t.Errorf("report %+v", im)
		}
	})
	t.Run("ECR_PTC_LOCK on a local image", func(t *testing.T) {
		r, g := newTestResolver(t, map[string]digest.Digest{cacheTag: dgA}, func(c *Config) {
			c.Lock = lockOf("docker.io/library/python:3.12-slim", dgA)
		})
		g.local = map[string]bool{cacheTag: true}
		if _, err := r.ResolveImage(context.Background(), "python:3.12-slim", nil, imageOpt()); err != nil {
			t.Fatalf("a right lock failed: %v", err)
		}
	})
}

func TestLockAndStrictFailClosed(t *testing.T) {
	const ref = "docker.io/library/golang:1.23-alpine"
	lock := func(d digest.Digest) func(*Config) {
		return func(c *Config) { c.Lock = lockOf(ref, d) }
	}
	// Upstream, the tag moved on to dgB; the locked dgA is still pullable by digest.
	upstream := map[string]digest.Digest{ref: dgB, ref + "@" + dgA.String(): dgA}
	setups := map[string]func(*Config){
		"ECR_PTC_DISABLE":         func(c *Config) { c.Disabled = true },
		"ECR_PTC_DISABLE, strict": func(c *Config) { c.Disabled, c.Strict = true, true },
		"no registry":             func(c *Config) { c.Registry = "" },
		"no rule":                 func(c *Config) { c.Rules.Rules = nil },
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			r, _ := newTestResolver(t, upstream, setup, lock(dgA))
			resp, err := r.ResolveImage(context.Background(), "golang:1.23-alpine", nil, imageOpt())
			if strings.Contains(name, "strict") {
				var se *StrictError
				if !errors.As(err, &se) || se.Ref != ref {
					t.Fatalf("strict mode with %s: %v", name, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := usedRef(t, resp); got != ref+"@"+dgA.String() {
				t.Errorf("a locked image resolved to %s, want the locked digest", got)
			}
			// A lock on a digest no registry gives fails, naming the image.
			r, _ = newTestResolver(t, upstream, setup, lock(digest.Digest("sha256:"+strings.Repeat("0", 64))))
			_, err = r.ResolveImage(context.Background(), "golang:1.23-alpine", nil, imageOpt())
			var le *LockError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), "locks "+ref) {
				t.Errorf("a wrong lock: %v", err)
			}
		})
	}
}

func TestResolveAsksTheRegistryOnlyWithoutDigest(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/alpine:3.20": dgA})
	if _, err := r.ResolveImage(context.Background(), "alpine:3.20", nil, imageOpt()); err != nil {
		t.Fatal(err)
	}
	if len(g.calls) != 1 {
		t.Errorf("a digest came back, yet %d resolves", len(g.calls))
	}
}

func TestProgressLine(t *testing.T) {
	rep := report.NewFrontendReport(&report.Report{Images: []report.Image{
		{Ref: "docker.io/library/alpine:3.20", Outcome: report.Hit},
		{Ref: "quay.io/x/onlyupstream:1", Outcome: report.Fallback, Reason: "long\nstory"},
		{Ref: "scratch", Outcome: report.Unchanged},
	}}, false, false)
	got := progressLine(rep, map[string]string{"quay.io/x/onlyupstream:1": "not in the cache"})
	if want := "ecr-ptc: 3 images — 1 via the cache, 1 FALLBACK (quay.io/x/onlyupstream:1: not in the cache), 1 not through the cache"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := progressLine(rep, nil); strings.ContainsAny(got, "\n\r") {
		t.Errorf("not one line: %q", got)
	}
}
