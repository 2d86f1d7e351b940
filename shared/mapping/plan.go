package mapping

import (
	"fmt"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Plan is how a cache reference is asked for and which digest it must turn out to be: the one judge of
// pinned references that setup's probe, the warmer and the BuildKit frontend share, with one set of
// messages.
//
// A pull by digest does not fill a cold pull-through cache, and for name:tag@digest clients send only
// the digest (aws/containers-roadmap#2837). So a pinned reference is probed and fetched by its tag, which
// fills the cache, and the digest the tag gives is then confirmed; when the tag has moved on, the pin is
// asked for on its own (ByDigest): ECR keeps serving a digest it holds. A locked reference (the digest
// lock) is probed by its digest, whatever the tag says now, and never accepts other bytes.
type Plan struct {
	// Ref is the cache reference, with its pin (the lock's digest when Locked).
	Ref imageref.Ref
	// Locked: the pin comes from the digest lock.
	Locked bool
}

// PlanFor is the plan for a cache reference; locked says its digest comes from the digest lock.
func PlanFor(cache imageref.Ref, locked bool) Plan { return Plan{Ref: cache, Locked: locked} }

// Plan is the plan for the result's cache reference (Cache; zero when the cache does not serve it).
func (r Result) Plan() Plan { return PlanFor(r.Cache, r.Pinned) }

// Want is the digest the reference must resolve to; "" accepts whatever the tag gives.
func (p Plan) Want() string { return p.Ref.Digest }

// ByTag is what fills the cache: the reference without its pin. ok is false for a digest-only reference,
// which nothing can warm.
func (p Plan) ByTag() (imageref.Ref, bool) { return p.Ref.ByTag(), p.Ref.Tag != "" }

// ByDigest is the pin on its own, what to ask for when the tag has moved; ok is false when unpinned.
func (p Plan) ByDigest() (imageref.Ref, bool) { return p.Ref.ByDigest(), p.Ref.Digest != "" }

// Probe is what a probe (DescribeImages) asks for: the tag, with the digest to confirm when pinned; or
// only the digest (tag "") for a locked reference, wanted by its digest whatever the tag says now, and for
// a digest-only one.
func (p Plan) Probe() (tag, digest string) {
	if p.Locked || p.Ref.Tag == "" {
		return "", p.Ref.Digest
	}
	return p.Ref.Tag, p.Ref.Digest
}

// Judge says whether got, the digest the cache gave, is acceptable; when it is not, reason says why in
// the words every front door uses.
func (p Plan) Judge(got string) (reason string, ok bool) {
	want := p.Want()
	if want == "" || got == want {
		return "", true
	}
	return p.Moved(got), false
}

// Moved is why the reference cannot be served by its tag: the tag gives got ("" when it gave no image),
// not the pinned digest.
func (p Plan) Moved(got string) string {
	tag := p.Ref.ByTag().String()
	if got == "" {
		got = "no image"
	}
	if p.Locked {
		return fmt.Sprintf("the lock pins %s but the cache no longer holds it and %s now resolves to %s; run `ecr-ptc lock` to accept the new digest", p.Want(), tag, got)
	}
	return fmt.Sprintf("the cache's %s is %s, not the pinned %s (the tag moved upstream, or the cache still serves an older copy: ECR re-checks tags about once a day)", tag, got, p.Want())
}

// MovedGist is Moved in a few words, for a progress line.
func (p Plan) MovedGist(got string) string {
	if got == "" {
		got = "no image"
	}
	pin := "pinned"
	if p.Locked {
		pin = "locked"
	}
	return "the cache's " + p.Ref.Tag + " is " + shortDigest(got) + ", not the " + pin + " " + shortDigest(p.Want())
}

// NotHeld is why the pin itself cannot be served: the cache does not hold that digest (detail, when given,
// says what the registry answered), and for a digest-only reference no pull can fill it.
func (p Plan) NotHeld(detail string) string {
	s := "the cache does not hold " + p.Want()
	if p.Locked {
		s = "the cache does not hold that digest"
	}
	if detail != "" {
		s += " (" + detail + ")"
	}
	if p.Ref.Tag == "" {
		s += "; a digest-only reference cannot fill a cold pull-through cache, as a pull by digest does not (aws/containers-roadmap#2837): pin it as name:tag@digest so the tag warms the cache"
	}
	return s
}

// NotHeldGist is NotHeld in a few words, for a progress line.
func (p Plan) NotHeldGist() string {
	if p.Ref.Tag == "" {
		return "the digest is not in the cache, and a digest pull cannot fill it"
	}
	return "the digest is not in the cache"
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
