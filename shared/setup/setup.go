// Package setup checks and warms the cache for every image a set of Dockerfiles uses and builds the cache
// report: map each image to its cache reference, probe ECR for it, and pull the misses through the cache.
package setup

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// Deps are the parts setup works with.
type Deps struct {
	Mapper *mapping.Mapper
	Images ecr.DescribeImagesAPI // probes; nil skips probing (every image is a miss)
	Warmer *ecr.Warmer           // nil: no warming
	// ProbeCache reuses recent probe hits of earlier setups sharing its directory; nil probes every time.
	ProbeCache *ecr.ProbeCache
	Now        func() time.Time
}

// Options tune a run.
type Options struct {
	Warm      bool
	Platforms []string // platform manifests to warm
	// Concurrency bounds parallel probes (default 8).
	Concurrency int
}

// Run builds the report for the image uses a scan found. Each distinct image is probed and warmed once.
func Run(ctx context.Context, uses []dockerfile.ImageUse, d Deps, o Options) *report.Report {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	rep := &report.Report{Registry: d.Mapper.Registry(), GeneratedAt: now().UTC()}
	index := map[string]int{}
	var mapped []mapping.Result
	for _, u := range uses {
		use := report.Use{File: u.File, Line: u.Line, Instruction: u.Instruction, Stage: u.Stage}
		if u.Instruction == "ONBUILD" {
			continue // reported by scan; resolved in the builds that use the image
		}
		key := u.Ref
		if u.Error != "" {
			key = "error:" + u.File + fmt.Sprint(u.Line)
		}
		if i, ok := index[key]; ok {
			rep.Images[i].Uses = append(rep.Images[i].Uses, use)
			continue
		}
		index[key] = len(rep.Images)
		im := report.Image{Ref: u.Ref, Instruction: u.Instruction, Uses: []report.Use{use}}
		var m mapping.Result
		if u.Error != "" {
			im.Ref, im.Outcome, im.Reason = u.Raw, report.Error, u.Error
		} else {
			// A Mapper with the digest lock pins locked images: they are probed by the locked digest and,
			// when the cache does not hold it, warmed by tag and accepted only if the tag still resolves to it.
			m = d.Mapper.Map(u.Ref)
			im.Upstream, im.Locked = m.Upstream, m.Pinned
			if m.Cache.IsZero() {
				im.Outcome, im.Reason = report.Unchanged, m.Reason
			} else {
				// A cache ref, mapped or already written as one (rewrite mode, or by hand): probed and
				// warmed like any other.
				im.CacheRef = m.Cache.String()
			}
		}
		rep.Images = append(rep.Images, im)
		mapped = append(mapped, m)
	}

	probeAll(ctx, rep, mapped, d, o)
	if o.Warm && d.Warmer != nil {
		warmMisses(ctx, rep, mapped, o, d.Warmer)
	}
	rep.Tally()
	return rep
}

// probeAll probes the cache for every mapped image, one repository at a time (ecr.ProbeRepository): a warm
// setup over N images in R repositories sends R DescribeImages calls, not N. Repositories are probed
// o.Concurrency at a time.
func probeAll(ctx context.Context, rep *report.Report, mapped []mapping.Result, d Deps, o Options) {
	n := o.Concurrency
	if n <= 0 {
		n = 8
	}
	byRepo := map[string][]int{}
	var repos []string
	for i := range rep.Images {
		im := &rep.Images[i]
		if im.Outcome != "" {
			continue
		}
		if d.Images == nil {
			im.Outcome, im.Reason = report.Miss, "not probed"
			if m := mapped[i]; m.Kind == mapping.WrongPath {
				im.Outcome, im.Reason = report.Error, m.Reason
			}
			continue
		}
		r := mapped[i].Repository
		if _, ok := byRepo[r]; !ok {
			repos = append(repos, r)
		}
		byRepo[r] = append(byRepo[r], i)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, repo := range repos {
		which := byRepo[repo]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			ids := make([]ecr.ProbeID, len(which))
			for k, i := range which {
				tag, digest := mapped[i].Plan().Probe()
				ids[k] = ecr.ProbeID{Tag: tag, Digest: digest}
			}
			results, cached := d.ProbeCache.Get(repo, ids)
			defer d.ProbeCache.Release(repo) // ends the probe lock a miss took (ecr/probelock.go)
			var err error
			if !cached {
				results, err = ecr.ProbeRepository(ctx, d.Images, repo, ids, nil)
				if err == nil {
					_ = d.ProbeCache.Put(repo, ids, results) // best effort: the next setup probes again
				}
			}
			took := time.Since(start).Milliseconds()
			for k, i := range which {
				im, m := &rep.Images[i], mapped[i]
				im.DurationMS = took
				if err != nil {
					im.Outcome, im.Reason = report.Error, err.Error()
					continue
				}
				res := results[k]
				switch {
				case res.Outcome == ecr.Hit:
					im.Outcome, im.Digest, im.Size, im.PushedAt = report.Hit, res.Digest, res.Size, res.PushedAt
					if cached {
						im.Reason = "a setup sharing the token cache directory found it cached moments ago (probe cache)"
					}
					if reason, ok := m.Plan().Judge(res.Digest); !ok {
						// tag@digest: the build asks the cache for the digest, which it does not hold.
						im.Outcome, im.Reason = report.Fallback, reason
					}
				case m.Kind == mapping.WrongPath:
					// Not cached, and no pull can fill that path: the build would fail on it.
					im.Outcome, im.Reason = report.Error, m.Reason
				default:
					im.Outcome, im.Reason = report.Miss, res.Reason
				}
			}
		}()
	}
	wg.Wait()
}

func warmMisses(ctx context.Context, rep *report.Report, mapped []mapping.Result, o Options, w *ecr.Warmer) {
	var reqs []ecr.WarmRequest
	var which []int
	for i, im := range rep.Images {
		if im.Outcome == report.Miss && im.CacheRef != "" {
			reqs = append(reqs, ecr.WarmRequest{Ref: mapped[i].Cache, Platforms: o.Platforms, Path: pullhint.PathOf(mapped[i]), Locked: im.Locked})
			which = append(which, i)
		}
	}
	if len(reqs) == 0 {
		return
	}
	for k, res := range w.Warm(ctx, reqs) {
		im := &rep.Images[which[k]]
		im.DurationMS += res.Duration.Milliseconds()
		switch res.Outcome {
		case ecr.Warmed:
			im.Outcome, im.Digest, im.Platforms, im.Reason = report.Warmed, res.Digest, res.Platforms, ""
		case ecr.CannotWarm:
			im.Reason = res.Reason // stays a miss: the build will fall back
		case ecr.DigestMismatch:
			im.Outcome, im.Digest, im.Reason = report.Fallback, res.Digest, res.Reason
			if im.Locked {
				// A lock never falls back to other bytes (the reason, from mapping.Plan, says so).
				im.Outcome, im.Digest = report.Error, mapped[which[k]].Cache.Digest
			}
		default:
			im.Outcome, im.Reason = report.Error, res.Reason
		}
	}
}
