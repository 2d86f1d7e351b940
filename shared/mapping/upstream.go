package mapping

import (
	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Uncovered reports the upstream a reference is pulled from when the pull-through cache could serve it
// but no rule in set does: the decision Map makes for NoRule, without a mapper. References on the cache
// registry (any of its hosts) are served already and never uncovered; cacheRegistry may be "" when it
// is not known.
func Uncovered(set rules.Set, cacheRegistry, input string) (host string, up rules.Upstream, ok bool) {
	if input == imageref.Scratch {
		return "", rules.Upstream{}, false
	}
	ref, err := imageref.Parse(input)
	if err != nil || (cacheRegistry != "" && ecrhost.SameRegistry(ref.Host, cacheRegistry)) {
		return "", rules.Upstream{}, false
	}
	up, supported := rules.ForHost(ref.Host)
	if !supported {
		return "", rules.Upstream{}, false
	}
	for _, r := range set.ForHost(ref.Host) {
		if _, covered := cachePath(r, ref.Repository); covered {
			return "", rules.Upstream{}, false
		}
	}
	return ref.Host, up, true
}
