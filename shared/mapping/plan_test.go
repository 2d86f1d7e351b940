package mapping_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
)

const other = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

// TestTypedRefs: the mapper parses once; the JSON fields are the typed refs' strings.
func TestTypedRefs(t *testing.T) {
	m := mapping.New(reg)
	r := m.Map("node:20@" + dgst)
	if r.Source.String() != r.Ref || r.Cache.String() != r.Output || r.Cache.Repository != r.Repository || r.Cache.Tag != r.Tag || r.Cache.Digest != r.Digest {
		t.Fatalf("typed and string forms differ: %+v", r)
	}
	if got := r.Cache.ByTag().String(); got != reg+"/docker-hub/library/node:20" {
		t.Errorf("ByTag = %s", got)
	}
	if got := r.Cache.ByDigest().String(); got != reg+"/docker-hub/library/node@"+dgst {
		t.Errorf("ByDigest = %s", got)
	}
	on := m.Map(reg + "/docker-hub/library/node:20")
	if on.Kind != mapping.AlreadyHere || on.Cache != on.Source {
		t.Errorf("a ref on the cache is its own cache ref: %+v", on)
	}
	if u := m.Map("mcr.microsoft.com/dotnet/sdk:8.0"); !u.Cache.IsZero() || u.Source.Host != "mcr.microsoft.com" {
		t.Errorf("unsupported: %+v", u)
	}
}

// TestPlan: one judge of tag@digest (aws/containers-roadmap#2837) and of the lock, for setup, warm and
// the frontend.
func TestPlan(t *testing.T) {
	lf := lock.File{Images: []lock.Entry{{Ref: "docker.io/library/node:20", Digest: dgst}, {Ref: "mcr.microsoft.com/dotnet/sdk:8.0", Digest: dgst}}}
	m := mapping.New(reg, mapping.WithPins(lf.Lookup))

	plain := m.Map("alpine:3.20").Plan()
	if tag, d := plain.Probe(); tag != "3.20" || d != "" {
		t.Errorf("plain probe = %q %q", tag, d)
	}
	if _, ok := plain.Judge(other); !ok {
		t.Error("an unpinned tag accepts any digest")
	}

	pinned := m.Map("alpine:3.20@" + dgst).Plan()
	if tag, d := pinned.Probe(); tag != "3.20" || d != dgst {
		t.Errorf("tag@digest is probed by tag: %q %q", tag, d)
	}
	byTag, ok := pinned.ByTag()
	if !ok || byTag.String() != reg+"/docker-hub/library/alpine:3.20" {
		t.Errorf("ByTag = %s %v", byTag, ok)
	}
	if _, ok := pinned.Judge(dgst); !ok {
		t.Error("the pinned digest is accepted")
	}
	if why, ok := pinned.Judge(other); ok || !strings.Contains(why, "is "+other+", not the pinned "+dgst) {
		t.Errorf("moved tag: %q", why)
	}

	only := m.Map("alpine@" + dgst).Plan()
	if _, ok := only.ByTag(); ok {
		t.Error("a digest-only ref has no tag to warm")
	}
	if tag, d := only.Probe(); tag != "" || d != dgst {
		t.Errorf("digest-only probe = %q %q", tag, d)
	}
	if why := only.NotHeld("not found"); !strings.Contains(why, "digest-only") || !strings.Contains(why, "aws/containers-roadmap#2837") || !strings.Contains(why, "(not found)") {
		t.Errorf("NotHeld = %q", why)
	}

	res := m.Map("node:20")
	locked := res.Plan()
	if !res.Pinned || res.Lock != dgst || !locked.Locked || res.Output != reg+"/docker-hub/library/node:20@"+dgst {
		t.Fatalf("the lock pins the cache ref: %+v", res)
	}
	if tag, d := locked.Probe(); tag != "" || d != dgst {
		t.Errorf("a locked image is probed by digest: %q %q", tag, d)
	}
	if why, ok := locked.Judge(other); ok || !strings.Contains(why, "run `ecr-ptc lock`") {
		t.Errorf("locked, moved: %q", why)
	}
	// The lock holds wherever the image is pulled from, also where the cache does not serve it.
	if u := m.Map("mcr.microsoft.com/dotnet/sdk:8.0"); u.Lock != dgst || u.Pinned {
		t.Errorf("unsupported, locked: %+v", u)
	}
}
