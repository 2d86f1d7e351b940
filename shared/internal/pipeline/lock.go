package pipeline

import (
	"context"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
)

// LockProblem is an image that could not be locked.
type LockProblem struct {
	Ref    string // as the Dockerfile names it
	Reason string
}

// Lock resolves every image the cache serves (warming it by tag) to the digest the cache serves and
// returns the lock file those digests make; images that could not be resolved are the problems.
func Lock(ctx context.Context, s *Session, results []ImageResult, concurrency int) (lock.File, []LockProblem) {
	var reqs []ecrx.WarmRequest
	refs := map[string]string{} // cache ref → original ref
	for _, r := range results {
		if !r.Rewritten || refs[r.Output] != "" {
			continue
		}
		refs[r.Output] = r.Ref
		reqs = append(reqs, ecrx.WarmRequest{Ref: r.Cache})
	}
	w := &ecrx.Warmer{Auths: s.Auths, Concurrency: concurrency}
	next := lock.File{Version: lock.Version, Registry: s.Registry}
	var problems []LockProblem
	for _, res := range w.Warm(ctx, reqs) {
		if res.Outcome != ecrx.Warmed {
			problems = append(problems, LockProblem{Ref: refs[res.Ref], Reason: res.Reason})
			continue
		}
		next.Images = append(next.Images, lock.Entry{Ref: refs[res.Ref], Digest: res.Digest, CacheRef: res.Ref})
	}
	return next, problems
}
