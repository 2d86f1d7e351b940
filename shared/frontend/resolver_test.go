package frontend

// Unit tests of the resolution logic over a fake of the two gateway calls it makes. The fake applies
// CONVERT source policies and keys progress vertices as llbsolver does; the proof that BuildKit behaves so
// is the end-to-end test on a real buildkitd.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/platforms"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	reg  = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	dgA  = digest.Digest("sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	dgB  = digest.Digest("sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	conf = `{"architecture":"amd64","os":"linux"}`
)

type call struct {
	identifier string // as sent
	resolved   string // after source policies
	logName    string
	vertex     digest.Digest
}

type warning struct {
	vertex digest.Digest
	msg    string
	after  int // number of resolve calls made before it
}

// fakeGateway serves images by normalised reference ("docker.io/library/alpine:3.20" or "...@sha256:...").
type fakeGateway struct {
	mu       sync.Mutex
	images   map[string]digest.Digest
	calls    []call
	warnings []warning
	// ignorePolicies: the daemon drops the source policies sent with a resolve (BuildKit before v0.34,
	// Docker Engine's); local: references held by Docker's classic image store, answered without a
	// digest unless the resolve mode is "pull" (moby's builder).
	ignorePolicies bool
	local          map[string]bool
}

func (g *fakeGateway) ResolveSourceMetadata(_ context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := op.Identifier
	policies := opt.SourcePolicies
	if g.ignorePolicies {
		policies = nil
	}
	for _, p := range policies {
		for _, r := range p.Rules {
			if r.Action == spb.PolicyAction_CONVERT && r.Selector.MatchType == spb.MatchType_EXACT && r.Selector.Identifier == id {
				id = r.Updates.Identifier
			}
		}
	}
	g.calls = append(g.calls, call{identifier: op.Identifier, resolved: id, logName: opt.LogName, vertex: vertexDigest(op.Identifier, opt)})
	ref := strings.TrimPrefix(id, imagePrefix)
	if strings.HasPrefix(ref, "git://") {
		return &sourceresolver.MetaResponse{Op: &pb.SourceOp{Identifier: ref}}, nil
	}
	d, ok := g.images[ref]
	if !ok {
		return nil, errors.New(ref + ": not found")
	}
	if g.local[ref] && (opt.ImageOpt == nil || opt.ImageOpt.ResolveMode != pb.AttrImageResolveModeForcePull) {
		d = ""
	}
	return &sourceresolver.MetaResponse{Op: &pb.SourceOp{Identifier: id}, Image: &sourceresolver.ResolveImageResponse{Digest: d, Config: []byte(conf)}}, nil
}

func (g *fakeGateway) Warn(_ context.Context, dgst digest.Digest, msg string, _ client.WarnOpts) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.warnings = append(g.warnings, warning{dgst, msg, len(g.calls)})
	return nil
}

var amd64 = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}

func imageOpt() sourceresolver.Opt {
	return sourceresolver.Opt{LogName: "[internal] load metadata for x", ImageOpt: &sourceresolver.ResolveImageOpt{Platform: amd64}}
}

func newTestResolver(t *testing.T, images map[string]digest.Digest, mut ...func(*Config)) (*Resolver, *fakeGateway) {
	t.Helper()
	g := &fakeGateway{images: images}
	cfg := Config{Registry: reg, Rules: rules.Defaults()}
	for _, m := range mut {
		m(&cfg)
	}
	return NewResolver(g, cfg), g
}

func usedRef(t *testing.T, resp *sourceresolver.MetaResponse) string {
	t.Helper()
	return strings.TrimPrefix(resp.Op.GetIdentifier(), imagePrefix)
}

func onlyImage(t *testing.T, r *Resolver) report.BuildImage {
	t.Helper()
	rep := r.Report()
	if len(rep.Images) != 1 {
		t.Fatalf("want one image, got %+v", rep.Images)
	}
	return rep.Images[0]
}

func TestResolveThroughCache(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/alpine:3.20": dgA})
	resp, err := r.ResolveImage(context.Background(), "alpine:3.20", nil, imageOpt())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := usedRef(t, resp), reg+"/docker-hub/library/alpine:3.20@"+dgA.String(); got != want {
		t.Errorf("used %s, want %s", got, want)
	}
	if len(g.calls) != 1 || !strings.Contains(g.calls[0].logName, "via the pull-through cache "+reg+"/docker-hub/library/alpine:3.20") {
		t.Errorf("calls %+v", g.calls)
	}
	im := onlyImage(t, r)
	if im.Ref != "docker.io/library/alpine:3.20" || im.Outcome != report.BuildCache || im.Digest != dgA.String() || im.Platform != "linux/amd64" {
		t.Errorf("report %+v", im)
	}
	if len(g.warnings) != 0 {
		t.Errorf("warnings %+v", g.warnings)
	}
}

func TestFallbackReusesTheAttemptVertex(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{"quay.io/prometheus/prometheus:v2.53.0": dgA})
	resp, err := r.ResolveImage(context.Background(), "quay.io/prometheus/prometheus:v2.53.0", nil, imageOpt())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := usedRef(t, resp), "quay.io/prometheus/prometheus:v2.53.0@"+dgA.String(); got != want {
		t.Errorf("used %s, want %s", got, want)
	}
	if len(g.calls) != 2 {
		t.Fatalf("calls %+v", g.calls)
	}
	attempt, fb := g.calls[0], g.calls[1]
	if attempt.identifier != imagePrefix+reg+"/quay/prometheus/prometheus:v2.53.0" {
		t.Errorf("attempt %+v", attempt)
	}
	// Same identifier sent, so the same progress vertex; a policy turns it into the original.
	if fb.vertex != attempt.vertex || fb.resolved != imagePrefix+"quay.io/prometheus/prometheus:v2.53.0" {
		t.Errorf("fallback %+v, attempt %+v", fb, attempt)
	}
	if !strings.Contains(fb.logName, "FALLBACK to the original registry (not found)") {
		t.Errorf("fallback progress name %q", fb.logName)
	}
	want := digest.FromBytes([]byte(attempt.identifier + platforms.FormatAll(*amd64)))
	if len(g.warnings) != 1 || g.warnings[0].vertex != want || g.warnings[0].after != 1 ||
		!strings.Contains(g.warnings[0].msg, "cannot serve quay.io/prometheus/prometheus:v2.53.0") {
		t.Errorf("warnings %+v, want one on %s between the attempt and the fallback", g.warnings, want)
	}
	im := onlyImage(t, r)
	if im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, "the cache could not serve "+reg+"/quay/prometheus/prometheus:v2.53.0: not found") {
		t.Errorf("report %+v", im)
	}
}

func TestStrict(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{"quay.io/a/b:1": dgA}, func(c *Config) { c.Strict = true })
	_, err := r.ResolveImage(context.Background(), "quay.io/a/b:1", nil, imageOpt())
	var se *StrictError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "ECR_PTC_STRICT=true and the pull-through cache cannot serve quay.io/a/b:1") {
		t.Fatalf("err = %v", err)
	}
	if len(g.calls) != 1 || len(g.warnings) != 0 {
		t.Errorf("strict mode must not fall back: calls %+v warnings %+v", g.calls, g.warnings)
	}
}

func TestMissingEverywhereReturnsTheFallbackError(t *testing.T) {
	r, _ := newTestResolver(t, nil)
	_, err := r.ResolveImage(context.Background(), "nope:1", nil, imageOpt())
	if err == nil || !strings.Contains(err.Error(), "docker.io/library/nope:1: not found") {
		t.Fatalf("err = %v", err)
	}
	if n := len(r.Report().Images); n != 0 {
		t.Errorf("a failed resolution was reported: %d", n)
	}
}

func TestTagAtDigest(t *testing.T) {
	tagged := reg + "/docker-hub/library/node:20"
	t.Run("match: the tag warms the cache, the digest is used", func(t *testing.T) {
		r, g := newTestResolver(t, map[string]digest.Digest{tagged: dgA})
		resp, err := r.ResolveImage(context.Background(), "node:20@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := usedRef(t, resp), tagged+"@"+dgA.String(); got != want {
			t.Errorf("used %s, want %s", got, want)
		}
		if len(g.calls) != 1 || g.calls[0].identifier != imagePrefix+tagged {
			t.Errorf("want one resolve of the tag only: %+v", g.calls)
		}
		if im := onlyImage(t, r); im.Outcome != report.BuildCache || im.Ref != "docker.io/library/node:20@"+dgA.String() {
			t.Errorf("report %+v", im)
		}
	})
	t.Run("mismatch: fallback to the pinned original", func(t *testing.T) {
		r, g := newTestResolver(t, map[string]digest.Digest{tagged: dgB, "docker.io/library/node:20@" + dgA.String(): dgA})
		resp, err := r.ResolveImage(context.Background(), "node:20@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := usedRef(t, resp), "docker.io/library/node:20@"+dgA.String(); got != want {
			t.Errorf("used %s, want %s", got, want)
		}
		im := onlyImage(t, r)
		if im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, "is "+dgB.String()+", not the pinned "+dgA.String()) {
			t.Errorf("report %+v", im)
		}
		// The tag (moved), the pinned digest in the cache (missing), then the fallback on the digest
		// attempt's progress step.
		if len(g.calls) != 3 || g.calls[2].vertex != g.calls[1].vertex {
			t.Errorf("calls %+v", g.calls)
		}
	})
	t.Run("tag moved, pinned digest still cached: from the cache", func(t *testing.T) {
		r, _ := newTestResolver(t, map[string]digest.Digest{tagged: dgB, reg + "/docker-hub/library/node@" + dgA.String(): dgA})
		resp, err := r.ResolveImage(context.Background(), "node:20@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := usedRef(t, resp), reg+"/docker-hub/library/node@"+dgA.String(); got != want {
			t.Errorf("used %s, want %s", got, want)
		}
		if im := onlyImage(t, r); im.Outcome != report.BuildCache {
			t.Errorf("report %+v", im)
		}
	})
}

func TestDigestOnly(t *testing.T) {
	orig := "docker.io/library/redis@" + dgA.String()
	t.Run("cold: fallback with the reason", func(t *testing.T) {
		r, _ := newTestResolver(t, map[string]digest.Digest{orig: dgA})
		if _, err := r.ResolveImage(context.Background(), "redis@"+dgA.String(), nil, imageOpt()); err != nil {
			t.Fatal(err)
		}
		if im := onlyImage(t, r); im.Outcome != report.BuildFallback || !strings.Contains(im.Reason, "aws/containers-roadmap#2837") {
			t.Errorf("report %+v", im)
		}
	})
	t.Run("warm: from the cache", func(t *testing.T) {
		r, _ := newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/redis@" + dgA.String(): dgA})
		resp, err := r.ResolveImage(context.Background(), "redis@"+dgA.String(), nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got := usedRef(t, resp); got != reg+"/docker-hub/library/redis@"+dgA.String() {
			t.Errorf("used %s", got)
		}
	})
}

func TestNoCacheAttempt(t *testing.T) {
	quayRules, err := rules.ParseSpec("docker.io=docker-hub")
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]digest.Digest{"quay.io/a/b:1": dgA, "mcr.microsoft.com/dotnet/sdk:8.0": dgA, "localhost:5000/app:1": dgA, reg + "/team/app:1": dgA}
	cases := []struct {
		name, ref string
		cfg       func(*Config)
		outcome   report.BuildOutcome
		reason    string
		gist      string
	}{
		{"no rule in ECR_PTC_RULES", "quay.io/a/b:1", func(c *Config) { c.Rules = quayRules }, report.BuildFallback, "ecr-ptc rules ensure --upstream quay", "no pull-through cache rule for quay.io"},
		{"no registry", "quay.io/a/b:1", func(c *Config) { c.Registry = "" }, report.BuildFallback, "set the build arg ECR_PTC_REGISTRY", "set the build arg ECR_PTC_REGISTRY"},
		{"unsupported upstream", "mcr.microsoft.com/dotnet/sdk:8.0", nil, report.BuildUnchanged, "does not support mcr.microsoft.com", ""},
		{"local registry", "localhost:5000/app:1", nil, report.BuildUnchanged, "local or private registry", ""},
		{"already on the cache", reg + "/team/app:1", nil, report.BuildUnchanged, "already on the cache registry", ""},
		{"disabled", "quay.io/a/b:1", func(c *Config) { c.Disabled = true }, report.BuildUnchanged, "ECR_PTC_DISABLE is set", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var muts []func(*Config)
			if c.cfg != nil {
				muts = append(muts, c.cfg)
			}
			r, g := newTestResolver(t, images, muts...)
			resp, err := r.ResolveImage(context.Background(), c.ref, nil, imageOpt())
			if err != nil {
				t.Fatal(err)
			}
			if len(g.calls) != 1 || strings.Contains(g.calls[0].identifier, reg+"/") != strings.HasPrefix(c.ref, reg) {
				t.Errorf("want one resolve of the original: %+v", g.calls)
			}
			im := onlyImage(t, r)
			if im.Outcome != c.outcome || !strings.Contains(im.Reason, c.reason) {
				t.Errorf("report %+v", im)
			}
			if c.outcome == report.BuildFallback {
				if !strings.Contains(g.calls[0].logName, c.gist) || len(g.warnings) != 1 || g.warnings[0].vertex != g.calls[0].vertex {
					t.Errorf("calls %+v warnings %+v", g.calls, g.warnings)
				}
			} else if g.calls[0].logName != imageOpt().LogName || len(g.warnings) != 0 {
				t.Errorf("an unchanged image must resolve as the stock frontend does: %+v %+v", g.calls, g.warnings)
			}
			if !strings.HasPrefix(usedRef(t, resp), strings.Split(im.Ref, ":")[0]) {
				t.Errorf("used %s for %s", usedRef(t, resp), im.Ref)
			}
		})
	}
}

func TestReportDedupesByPlatformAndWarnsOnce(t *testing.T) {
	r, g := newTestResolver(t, map[string]digest.Digest{"quay.io/a/b:1": dgA})
	arm := sourceresolver.Opt{ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &ocispecs.Platform{OS: "linux", Architecture: "arm64"}}}
	for _, o := range []sourceresolver.Opt{imageOpt(), imageOpt(), arm} {
		if _, err := r.ResolveImage(context.Background(), "quay.io/a/b:1", nil, o); err != nil {
			t.Fatal(err)
		}
	}
	rep := r.Report()
	if len(rep.Images) != 2 || rep.Totals.Fallbacks != 2 || rep.Version != 1 {
		t.Errorf("report %+v", rep)
	}
	if len(g.warnings) != 1 {
		t.Errorf("the same warning was sent %d times", len(g.warnings))
	}
	if s := report.FrontendSummary(rep); s != "ecr-ptc: 2 images: 0 from the cache "+reg+", 2 fallbacks, 0 unchanged (fell back: quay.io/a/b:1, quay.io/a/b:1)" {
		t.Errorf("summary %q", s)
	}
}

// gatewayClient: the entry points the Dockerfile frontend uses, and what it must leave alone.
type fakeClient struct {
	client.Client // unused methods panic
	g             *fakeGateway
	opts          map[string]string
	direct        []string
}

func (c *fakeClient) BuildOpts() client.BuildOpts { return client.BuildOpts{Opts: c.opts} }
func (c *fakeClient) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	c.direct = append(c.direct, op.Identifier)
	return c.g.ResolveSourceMetadata(ctx, op, opt)
}
func (c *fakeClient) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	c.direct = append(c.direct, "config:"+ref)
	return ref, dgB, nil, nil
}

func TestGatewayClient(t *testing.T) {
	g := &fakeGateway{images: map[string]digest.Digest{reg + "/docker-hub/library/alpine:3.20": dgA}}
	fc := &fakeClient{g: g, opts: map[string]string{"source": "x/fe:1", "build-arg:ECR_PTC_REGISTRY": reg, "build-arg:KEEP": "1"}}
	cfg, err := ParseConfig(fc.opts)
	if err != nil {
		t.Fatal(err)
	}
	gc := newGatewayClient(fc, NewResolver(fc, cfg))
	opts := gc.BuildOpts().Opts
	if _, ok := opts["build-arg:ECR_PTC_REGISTRY"]; ok || opts["build-arg:KEEP"] != "1" || opts["cmdline"] != "x/fe:1" {
		t.Errorf("stock options %v", opts)
	}

	ref, d, cfgData, err := gc.ResolveImageConfig(context.Background(), "alpine:3.20", imageOpt())
	if err != nil || ref != reg+"/docker-hub/library/alpine:3.20@"+dgA.String() || d != dgA || string(cfgData) != conf {
		t.Errorf("ResolveImageConfig = %s %s %s %v", ref, d, cfgData, err)
	}
	// An SBOM scanner or a policy resolves through ResolveSourceMetadata with a docker-image identifier.
	md, err := gc.ResolveSourceMetadata(context.Background(), &pb.SourceOp{Identifier: "docker-image://docker.io/library/alpine:3.20"}, imageOpt())
	if err != nil || md.Op.Identifier != imagePrefix+reg+"/docker-hub/library/alpine:3.20@"+dgA.String() {
		t.Errorf("ResolveSourceMetadata = %+v %v", md, err)
	}
	// Not images from a registry: untouched.
	fc.direct = nil
	if _, err := gc.ResolveSourceMetadata(context.Background(), &pb.SourceOp{Identifier: "git://github.com/x/y"}, sourceresolver.Opt{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := gc.ResolveImageConfig(context.Background(), "layout/x@"+dgA.String(), sourceresolver.Opt{OCILayoutOpt: &sourceresolver.ResolveOCILayoutOpt{}}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(fc.direct, " ") != "git://github.com/x/y config:layout/x@"+dgA.String() {
		t.Errorf("passed through: %v", fc.direct)
	}
}

type solveCounter struct {
	fakeClient
	solves int
}

func (c *solveCounter) Solve(context.Context, client.SolveRequest) (*client.Result, error) {
	c.solves++
	return client.NewResult(), nil
}

func TestGatewayClientReusesTheDockerfileRead(t *testing.T) {
	fc := &solveCounter{fakeClient: fakeClient{opts: map[string]string{}}}
	gc := &gatewayClient{Client: fc}
	def := client.SolveRequest{Definition: &pb.Definition{Def: [][]byte{[]byte("local op"), []byte("merge")}}}
	var first *client.Result
	gc.record(func() { first, _ = gc.Solve(context.Background(), def) })
	if again, _ := gc.Solve(context.Background(), def); again != first || fc.solves != 1 {
		t.Errorf("the builder's identical read was solved again (%d solves)", fc.solves)
	}
	if _, _ = gc.Solve(context.Background(), def); fc.solves != 2 {
		t.Errorf("a recorded result was reused twice (%d solves)", fc.solves)
	}
	// Outside record, and for anything but a bare definition, nothing is kept.
	fwd := client.SolveRequest{Definition: def.Definition, Frontend: "gateway.v0"}
	gc.record(func() { _, _ = gc.Solve(context.Background(), fwd) })
	if _, _ = gc.Solve(context.Background(), fwd); fc.solves != 4 {
		t.Errorf("a forwarded solve was reused (%d solves)", fc.solves)
	}
}

// ECR_PTC_LOCK: a locked image resolves at its digest — by the tag while the tag still points there,
// by digest after the tag moved — and never falls back to other bytes.
func TestLock(t *testing.T) {
	lockArg := func(d digest.Digest) func(*Config) {
		return func(c *Config) { c.Lock = lockOf("docker.io/library/node:20", d) }
	}
	// The tag still points at the locked digest.
	r, g := newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/node:20": dgA}, lockArg(dgA))
	resp, err := r.ResolveImage(context.Background(), "node:20", nil, imageOpt())
	if err != nil || usedRef(t, resp) != reg+"/docker-hub/library/node:20@"+dgA.String() || len(g.calls) != 1 {
		t.Fatalf("tag at the lock: %v %v %+v", err, resp, g.calls)
	}
	if im := onlyImage(t, r); im.Outcome != report.BuildCache || !strings.Contains(im.Reason, "pinned by ECR_PTC_LOCK") {
		t.Errorf("%+v", im)
	}
	// The tag moved to B; the cache still holds A by digest.
	r, _ = newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/node:20": dgB, reg + "/docker-hub/library/node@" + dgA.String(): dgA}, lockArg(dgA))
	resp, err = r.ResolveImage(context.Background(), "node:20", nil, imageOpt())
	if err != nil || usedRef(t, resp) != reg+"/docker-hub/library/node@"+dgA.String() {
		t.Fatalf("moved tag: %v %v", err, resp)
	}
	// Neither: a build error, not a fallback (even without strict mode).
	r, _ = newTestResolver(t, map[string]digest.Digest{reg + "/docker-hub/library/node:20": dgB, "docker.io/library/node:20": dgB}, lockArg(dgA))
	_, err = r.ResolveImage(context.Background(), "node:20", nil, imageOpt())
	var le *LockError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "run `ecr-ptc lock`") {
		t.Fatalf("want a LockError, got %v", err)
	}
}

// lockOf is a digest lock of one reference, as ECR_PTC_LOCK gives it.
func lockOf(ref string, d digest.Digest) lock.File {
	return lock.File{Version: lock.Version, Images: []lock.Entry{{Ref: ref, Digest: d.String()}}}
}

func TestParseLockArg(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{"build-arg:ECR_PTC_LOCK": "docker.io/library/node:20=" + dgA.String()})
	if d, ok := cfg.Lock.Lookup("docker.io/library/node:20"); err != nil || !ok || d != dgA.String() {
		t.Fatalf("%v %+v", err, cfg)
	}
	if _, err := ParseConfig(map[string]string{"build-arg:ECR_PTC_LOCK": "node:20=sha256:1"}); err == nil || !strings.Contains(err.Error(), "ECR_PTC_LOCK") {
		t.Fatalf("bad lock accepted: %v", err)
	}
}
