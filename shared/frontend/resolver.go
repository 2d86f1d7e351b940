package frontend

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/platforms"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Gateway is the part of BuildKit's gateway client the Resolver uses.
type Gateway interface {
	ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error)
	Warn(ctx context.Context, dgst digest.Digest, msg string, opts client.WarnOpts) error
}

const imagePrefix = "docker-image://"

// docsURL is where a fallback warning points.
const docsURL = "https://github.com/ecr-ptc/ecr-ptc/blob/main/buildkit-frontend/README.md#fallback"

// Resolver resolves image references through the pull-through cache for one build and records what
// happened to each. It is safe for concurrent use: BuildKit resolves stages in parallel.
type Resolver struct {
	gw     Gateway
	cfg    Config
	mapper *mapping.Mapper
	now    func() time.Time

	// policiesIgnored: the daemon ignored a source policy sent with a resolve (BuildKit before v0.34,
	// Docker Engine's); later fallbacks of the build resolve the original directly.
	policiesIgnored atomic.Bool

	mu     sync.Mutex
	images []report.Image    // the one outcome model; Report encodes it for the build metadata
	seen   map[string]bool   // original + platform already recorded
	warned map[string]bool   // warning texts already sent
	gists  map[string]string // original reference → why it fell back, in a few words
}

// NewResolver returns a Resolver that resolves through gw with cfg.
func NewResolver(gw Gateway, cfg Config) *Resolver {
	return &Resolver{
		gw: gw, cfg: cfg, now: time.Now,
		mapper: mapping.New(cfg.Registry, mapping.WithRules(cfg.Rules), mapping.WithPins(cfg.Lock.Lookup)),
		seen:   map[string]bool{}, warned: map[string]bool{}, gists: map[string]string{},
	}
}

// StrictError is the build error ECR_PTC_STRICT turns a fallback into.
type StrictError struct {
	Ref      string // the original reference
	CacheRef string // the cache reference tried, if any
	Reason   string
}

func (e *StrictError) Error() string {
	return fmt.Sprintf("ecr-ptc: %s=true and the pull-through cache cannot serve %s: %s", ArgStrict, e.Ref, e.Reason)
}

// ResolveImage resolves ref (a docker-image reference as BuildKit's resolvers take it, attrs its source
// attributes) for opt. The response's Op names the reference the build must use, pinned to the digest
// that was resolved.
func (r *Resolver) ResolveImage(ctx context.Context, ref string, attrs map[string]string, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	rec := report.Image{Ref: ref, Platforms: platformOf(opt), Time: r.now()}
	m := r.mapper.Map(ref)
	if m.Ref != "" {
		rec.Ref = m.Ref
	}
	cacheable := m.Kind == mapping.Cached || m.Kind == mapping.NoRule || m.Kind == mapping.TooLong || m.Kind == mapping.NoRegistry
	if r.cfg.Disabled {
		// A lock and strict mode hold whatever else is set: they fail closed.
		if r.cfg.Strict && cacheable {
			return nil, &StrictError{Ref: rec.Ref, Reason: ArgDisable + " is set, so the cache is not used"}
		}
		return r.unchanged(ctx, ref, attrs, opt, rec, m.Lock, ArgDisable+" is set; resolved like the stock Dockerfile frontend")
	}
	switch m.Kind {
	case mapping.Cached:
		return r.viaCache(ctx, ref, attrs, opt, rec, m)
	case mapping.NoRule, mapping.TooLong, mapping.NoRegistry:
		// The cache could serve this upstream but is not set up for it: a fallback the user can fix.
		reason := m.Reason
		switch m.Kind {
		case mapping.NoRegistry:
			reason = "no cache registry: set the build arg " + ArgRegistry + "=ACCOUNT.dkr.ecr.REGION.amazonaws.com, or pull this frontend through that registry"
		case mapping.NoRule:
			reason += "; if the registry has a rule for it under a prefix " + ArgRules + " does not name, add UPSTREAM=PREFIX to " + ArgRules
		}
		return r.fallback(ctx, ref, "", attrs, opt, rec, m.Lock, reason, mappingGist(m))
	default:
		// Already on the cache registry, local, unsupported by ECR, scratch or invalid: BuildKit resolves
		// it as usual (and reports an invalid reference its own way).
		return r.unchanged(ctx, ref, attrs, opt, rec, m.Lock, m.Reason)
	}
}

func (r *Resolver) viaCache(ctx context.Context, ref string, attrs map[string]string, opt sourceresolver.Opt, rec report.Image, m mapping.Result) (*sourceresolver.MetaResponse, error) {
	plan := m.Plan() // the lock is applied by the mapper (mapping.WithPins), as in the CLI
	if plan.Locked {
		return r.viaLock(ctx, ref, attrs, opt, rec, m, plan)
	}
	byTag, hasTag := plan.ByTag()
	byDigest, pinned := plan.ByDigest()
	switch {
	case hasTag && pinned:
		// Clients send only the digest of tag@digest, and a digest pull does not fill a cold cache
		// (aws/containers-roadmap#2837): resolve the tag, which warms it, then check the digest.
		tagRef := byTag.String()
		resp, err := r.attempt(ctx, ref, tagRef, attrs, opt)
		if err != nil {
			gist := errorGist(err, tagRef)
			return r.fallback(ctx, ref, tagRef, attrs, opt, rec, "", fmt.Sprintf("the cache could not serve %s: %s", tagRef, gist)+pullhint.Explain(err, m), gist)
		}
		if _, ok := plan.Judge(digestOf(resp)); !ok {
			// The tag moved on, but ECR keeps serving a digest it holds: ask for the pin itself. When that
			// fails too, the fallback takes over the digest attempt's progress step (the tag's ended fine).
			if dresp, derr := r.attempt(ctx, ref, byDigest.String(), attrs, opt); derr == nil && digestOf(dresp) == plan.Want() {
				return r.cached(dresp, byDigest, rec, m)
			}
			return r.fallback(ctx, ref, byDigest.String(), attrs, opt, rec, "", plan.Moved(digestOf(resp)), plan.MovedGist(digestOf(resp)))
		}
		return r.cached(resp, m.Cache, rec, m)
	case pinned:
		resp, err := r.attempt(ctx, ref, m.Output, attrs, opt)
		if err != nil {
			return r.fallback(ctx, ref, m.Output, attrs, opt, rec, "", plan.NotHeld(errorGist(err, m.Output)), plan.NotHeldGist())
		}
		return r.cached(resp, m.Cache, rec, m)
	default:
		resp, err := r.attempt(ctx, ref, m.Output, attrs, opt)
		if err != nil {
			gist := errorGist(err, m.Output)
			reason := fmt.Sprintf("the cache could not serve %s: %s", m.Output, gist) + pullhint.Explain(err, m)
			if !r.cfg.RulesGiven {
				// The prefix was assumed: a registry whose rule uses another one answers "not found" too.
				reason += fmt.Sprintf(" (ecr-ptc assumed the prefix %q for %s: if the registry's rule uses another, set %s; if it has none, create it with `ecr-ptc rules ensure`)", m.Prefix, m.Upstream, ArgRules)
			}
			return r.fallback(ctx, ref, m.Output, attrs, opt, rec, "", reason, gist)
		}
		return r.cached(resp, m.Cache, rec, m)
	}
}

// LockError: the cache cannot serve a locked image at its locked digest. A lock never falls back: the
// upstream would give other bytes than the other environments built on.
type LockError struct {
	Ref, Digest, Reason string
}

func (e *LockError) Error() string {
	return fmt.Sprintf("ecr-ptc: %s locks %s to %s, but %s; run `ecr-ptc lock` to review and accept the change", ArgLock, e.Ref, e.Digest, e.Reason)
}

// viaLock serves a locked image at its digest. The tag is tried first: when it still points at the
// locked digest it resolves without a failed attempt on the progress display, and it warms a cold cache.
// When the tag has moved (the cache re-checked it upstream), the locked digest is asked for directly:
// ECR keeps serving a digest it holds after the tag moves.
func (r *Resolver) viaLock(ctx context.Context, ref string, attrs map[string]string, opt sourceresolver.Opt, rec report.Image, m mapping.Result, plan mapping.Plan) (*sourceresolver.MetaResponse, error) {
	locked := plan.Want()
	m.Reason = "pinned by " + ArgLock + " to " + locked
	if byTag, ok := plan.ByTag(); ok {
		if resp, err := r.attempt(ctx, ref, byTag.String(), attrs, opt); err == nil && resp.Image != nil {
			if _, ok := plan.Judge(digestOf(resp)); ok {
				return r.cached(resp, byTag, rec, m)
			}
		}
	}
	byDigest, _ := plan.ByDigest()
	resp, err := r.attempt(ctx, ref, byDigest.String(), attrs, opt)
	if err != nil || digestOf(resp) != locked {
		detail := ""
		if err != nil {
			detail = errorGist(err, byDigest.String())
		}
		return nil, &LockError{Ref: rec.Ref, Digest: locked, Reason: plan.NotHeld(detail)}
	}
	return r.cached(resp, byDigest, rec, m)
}

// digestOf is the digest of the image a resolution answered with; "" when it gave no image.
func digestOf(resp *sourceresolver.MetaResponse) string {
	if resp == nil || resp.Image == nil {
		return ""
	}
	return resp.Image.Digest.String()
}

// attempt resolves the cache reference, under a progress name that says which image it stands for.
func (r *Resolver) attempt(ctx context.Context, ref, cacheRef string, attrs map[string]string, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	o := opt
	o.LogName = logName(opt, ref) + " via the pull-through cache " + cacheRef
	return r.resolve(ctx, &pb.SourceOp{Identifier: imagePrefix + cacheRef, Attrs: cloneAttrs(attrs)}, o)
}

// resolve resolves op and makes sure an image comes back with its digest. Docker Engine's classic image
// store answers an image that is already local with its config and no digest (moby's builder does this
// on purpose); pins and locks must not be decided on that, so the registry is asked (force-pull mode).
func (r *Resolver) resolve(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	resp, err := r.gw.ResolveSourceMetadata(ctx, op.CloneVT(), opt)
	if err != nil || resp == nil || resp.Image == nil || resp.Image.Digest != "" {
		return resp, err
	}
	if opt.ImageOpt != nil && opt.ImageOpt.ResolveMode == pb.AttrImageResolveModeForcePull {
		return resp, nil
	}
	o := opt
	imgOpt := sourceresolver.ResolveImageOpt{}
	if opt.ImageOpt != nil {
		imgOpt = *opt.ImageOpt
	}
	imgOpt.ResolveMode = pb.AttrImageResolveModeForcePull
	o.ImageOpt = &imgOpt
	fresh, ferr := r.gw.ResolveSourceMetadata(ctx, op.CloneVT(), o)
	if ferr != nil || fresh == nil || fresh.Image == nil || fresh.Image.Digest == "" {
		// The local copy is all there is: use it, undigested (a pin or a lock then cannot be confirmed).
		return resp, nil
	}
	return fresh, nil
}

// cached records a cache outcome and names the cache reference, pinned to the resolved digest, as the
// one the build uses.
func (r *Resolver) cached(resp *sourceresolver.MetaResponse, cacheRef imageref.Ref, rec report.Image, m mapping.Result) (*sourceresolver.MetaResponse, error) {
	if resp.Image == nil {
		// A source policy turned the image into another kind of source: nothing to pin.
		rec.Used, rec.Outcome, rec.Reason = strings.TrimPrefix(resp.Op.GetIdentifier(), imagePrefix), report.Unchanged, "a source policy resolved it to a non-image source"
		r.record(rec)
		return resp, nil
	}
	used := cacheRef.String()
	if d := resp.Image.Digest; d != "" {
		used = cacheRef.WithDigest(d.String()).String()
	}
	out := *resp
	op := cloneOp(resp.Op)
	op.Identifier = imagePrefix + used
	out.Op = op
	rec.Used, rec.CacheRef, rec.Digest, rec.Outcome, rec.Reason = used, used, resp.Image.Digest.String(), report.Hit, m.Reason
	r.record(rec)
	return &out, nil
}

// fallback resolves the original reference after the cache could not serve it, or fails in strict mode.
// A pinned original (tag@digest) keeps its pin, and a locked one resolves only to its locked digest.
//
// The reference the build then uses is the one returned here, so the LLB names the original itself; no
// daemon-side source policy is needed for the pull. Only the progress display leans on one, where the
// daemon honours it: when a cache attempt was made (attemptRef), the fallback is first resolved under the
// attempt's identifier with a source policy that converts it to the original. BuildKit keys the progress
// vertex on the identifier as sent, so the attempt's vertex ends as this fallback (DONE, named as a
// fallback) instead of staying an ERROR line in a build that succeeds. On daemons known to ignore the
// policy (NoSourcePolicies: BuildKit before v0.34, Docker Engine's), and when an answer shows it was
// ignored, the original is resolved under its own identifier — a FALLBACK step after the attempt's ERROR.
//
// reason is the whole story (report, warning, strict error); gist is a few words for the progress line.
func (r *Resolver) fallback(ctx context.Context, ref, attemptRef string, attrs map[string]string, opt sourceresolver.Opt, rec report.Image, locked, reason, gist string) (*sourceresolver.MetaResponse, error) {
	if r.cfg.Strict {
		return nil, &StrictError{Ref: rec.Ref, CacheRef: attemptRef, Reason: reason}
	}
	orig := rec.Ref // normalised, so a source policy selector matches it
	isLocked := locked != ""
	if isLocked {
		orig = pinned(orig, digest.Digest(locked))
	}
	o := opt
	o.LogName = logName(opt, ref) + " — FALLBACK to the original registry (" + clip(gist, 120) + ")"
	msg := fmt.Sprintf("ecr-ptc: the pull-through cache cannot serve %s, so it is pulled from its own registry: %s", rec.Ref, reason)
	var resp *sourceresolver.MetaResponse
	var err error
	retried := false // the policy was tried and ignored: the warning went to the attempt's step
	if attemptRef != "" && !r.policiesIgnored.Load() {
		op := &pb.SourceOp{Identifier: imagePrefix + attemptRef, Attrs: cloneAttrs(attrs)}
		po := o
		po.SourcePolicies = append(slices.Clone(opt.SourcePolicies), &spb.Policy{Version: 1, Rules: []*spb.Rule{{
			Action:   spb.PolicyAction_CONVERT,
			Selector: &spb.Selector{Identifier: imagePrefix + attemptRef, MatchType: spb.MatchType_EXACT},
			Updates:  &spb.Update{Identifier: imagePrefix + orig},
		}}})
		// The attempt's vertex exists now and the fallback re-opens it, so a plain progress display
		// prints the warning under it; a warning on a vertex already printed as done would only reach
		// buildx's list at the end.
		r.warn(ctx, vertexDigest(op.Identifier, opt), msg)
		resp, err = r.resolve(ctx, op, po)
		if err != nil || !r.names(resp, orig) {
			// The daemon ignored the policy and asked the cache again: never build on that answer.
			r.policiesIgnored.Store(true)
			resp, err, retried = nil, nil, true
		}
	}
	if resp == nil {
		op := &pb.SourceOp{Identifier: imagePrefix + orig, Attrs: cloneAttrs(attrs)}
		resp, err = r.resolve(ctx, op, o)
		if err != nil {
			if isLocked {
				return nil, &LockError{Ref: rec.Ref, Digest: locked, Reason: "the cache cannot serve it and its own registry does not give that digest (" + errorGist(err, orig) + ")"}
			}
			// Missing everywhere: BuildKit's own error for the original reference is the one to show.
			return nil, err
		}
		// After the resolve, so the step exists: rawjson progress and buildx's end-of-build list show it
		// (buildctl's plain display does not reprint a finished step; the step's name and the summary
		// step say it there).
		if retried {
			_ = r.gw.Warn(ctx, vertexDigest(op.Identifier, opt), msg, client.WarnOpts{Level: 1, URL: docsURL})
		} else {
			r.warn(ctx, vertexDigest(op.Identifier, opt), msg)
		}
	}
	if isLocked && (resp.Image == nil || resp.Image.Digest.String() != locked) {
		return nil, &LockError{Ref: rec.Ref, Digest: locked, Reason: "its own registry did not confirm that digest"}
	}
	rec.Outcome, rec.Reason = report.Fallback, reason
	rec.Used = orig
	r.mu.Lock()
	r.gists[rec.Ref] = gist
	r.mu.Unlock()
	out := *resp
	if resp.Image != nil {
		rec.Used = keepPin(orig, resp.Image.Digest)
		rec.Digest = resp.Image.Digest.String()
		o := cloneOp(resp.Op)
		o.Identifier = imagePrefix + rec.Used
		out.Op = o
	} else {
		o := cloneOp(resp.Op)
		o.Identifier = imagePrefix + orig
		out.Op = o
	}
	r.record(rec)
	return &out, nil
}

// names reports whether a resolution's answer is orig's repository (the source policy applied), not
// the cache reference that was sent.
func (r *Resolver) names(resp *sourceresolver.MetaResponse, orig string) bool {
	id := strings.TrimPrefix(resp.Op.GetIdentifier(), imagePrefix)
	return id != "" && pinned(id, "") == pinned(orig, "")
}

func (r *Resolver) unchanged(ctx context.Context, ref string, attrs map[string]string, opt sourceresolver.Opt, rec report.Image, locked, reason string) (*sourceresolver.MetaResponse, error) {
	id := ref
	isLocked := locked != ""
	if isLocked {
		// A lock holds whatever else is set: the locked digest, from wherever the image is pulled.
		id = pinned(rec.Ref, digest.Digest(locked))
		reason += "; pinned by " + ArgLock + " to " + locked
	}
	resp, err := r.resolve(ctx, &pb.SourceOp{Identifier: imagePrefix + id, Attrs: cloneAttrs(attrs)}, opt)
	if err != nil {
		if isLocked {
			return nil, &LockError{Ref: rec.Ref, Digest: locked, Reason: "its registry does not give that digest (" + errorGist(err, id) + ")"}
		}
		return nil, err
	}
	if isLocked && (resp.Image == nil || resp.Image.Digest.String() != locked) {
		return nil, &LockError{Ref: rec.Ref, Digest: locked, Reason: "its registry did not confirm that digest"}
	}
	rec.Outcome, rec.Reason, rec.Used = report.Unchanged, reason, strings.TrimPrefix(resp.Op.GetIdentifier(), imagePrefix)
	if resp.Image != nil {
		rec.Digest = resp.Image.Digest.String()
	}
	r.record(rec)
	return resp, nil
}

func (r *Resolver) record(rec report.Image) {
	rec.DurationMS = r.now().Sub(rec.Time).Milliseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	key := rec.Ref + " " + strings.Join(rec.Platforms, ",")
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	r.images = append(r.images, rec)
}

// warn sends a build warning once per text (platforms share it); buildx lists warnings at the end of
// the build.
func (r *Resolver) warn(ctx context.Context, vtx digest.Digest, msg string) {
	r.mu.Lock()
	dup := r.warned[msg]
	r.warned[msg] = true
	r.mu.Unlock()
	if dup {
		return
	}
	_ = r.gw.Warn(ctx, vtx, msg, client.WarnOpts{Level: 1, URL: docsURL})
}

// NoSourcePolicies tells the Resolver that the daemon does not apply the source policies sent with a
// resolve, so fallbacks resolve the original under its own step from the start.
func (r *Resolver) NoSourcePolicies() { r.policiesIgnored.Store(true) }

// Gists are the few words that say why each fallback happened, by original reference.
func (r *Resolver) Gists() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.gists)
}

// Report is what happened so far, in resolution order.
func (r *Resolver) Report() *report.FrontendReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &report.Report{Registry: r.cfg.Registry, Images: slices.Clone(r.images)}
	return report.NewFrontendReport(rep, r.cfg.Strict, r.cfg.Disabled)
}

// vertexDigest is the digest of the progress vertex BuildKit shows for resolving identifier with opt
// (llbsolver's resolveSourceMetadata: the identifier as sent, then the platform), so that a warning
// lands on that line.
func vertexDigest(identifier string, opt sourceresolver.Opt) digest.Digest {
	var p *ocispecs.Platform
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = opt.ImageOpt.Platform
	} else if opt.OCILayoutOpt != nil && opt.OCILayoutOpt.Platform != nil {
		p = opt.OCILayoutOpt.Platform
	}
	if p == nil {
		d := platforms.DefaultSpec()
		p = &d
	}
	return digest.FromBytes([]byte(identifier + platforms.FormatAll(*p)))
}

// platformOf is the platform an image is resolved for, as report.Image records a build's.
func platformOf(opt sourceresolver.Opt) []string {
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		return []string{platforms.FormatAll(*opt.ImageOpt.Platform)}
	}
	return nil
}

// logName is the progress name BuildKit would have shown for ref.
func logName(opt sourceresolver.Opt, ref string) string {
	if opt.LogName != "" {
		return opt.LogName
	}
	return "load metadata for " + ref
}

// pinned is ref with its digest replaced by (or set to) d; a tag is kept so people can read it. With
// no d, ref is returned without its digest.
func pinned(ref string, d digest.Digest) string {
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if d == "" {
		return ref
	}
	return ref + "@" + d.String()
}

// keepPin is ref pinned to d, or ref as it is (its own pin kept) when d is unknown.
func keepPin(ref string, d digest.Digest) string {
	if d == "" {
		return ref
	}
	return pinned(ref, d)
}

// errorGist is a resolve error without the gRPC wrapping and the reference it repeats.
func errorGist(err error, ref string) string {
	s := err.Error()
	for _, p := range []string{"rpc error: code = Unknown desc = ", "rpc error: code = NotFound desc = "} {
		s = strings.ReplaceAll(s, p, "")
	}
	s = strings.TrimPrefix(s, ref+": ")
	return clip(s, 300)
}

// mappingGist says in a few words why the mapping gave no cache reference.
func mappingGist(m mapping.Result) string {
	switch m.Kind {
	case mapping.NoRegistry:
		return "no cache registry: set the build arg " + ArgRegistry
	case mapping.TooLong:
		return "the cache repository name would be too long for ECR"
	default:
		host := m.Upstream
		if !m.Source.IsZero() {
			host = m.Source.Host
		}
		return "no pull-through cache rule for " + host
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func cloneAttrs(a map[string]string) map[string]string {
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

func cloneOp(op *pb.SourceOp) *pb.SourceOp {
	if op == nil {
		return &pb.SourceOp{}
	}
	return op.CloneVT()
}
