// Package report is the cache report: for every image a build uses, which cache reference serves it and
// what happened (hit, miss, warmed, unchanged, fallback, error), with totals. It is the one outcome model
// of setup and of the BuildKit frontend's builds; the build metadata the frontend writes is a versioned
// wire form of it (metadata.go), which `ecr-ptc report` maps back and merges. Renderers turn it into the
// text, JSON and CI formats the front doors print.
package report

import (
	"sort"
	"time"
)

// Outcome is what happened to one image.
type Outcome string

// Outcomes, as `setup --report-json` writes them. A build's are Hit (resolved through the cache),
// Fallback and Unchanged.
const (
	Hit       Outcome = "hit"       // the cache already held it (a build: resolved through the cache)
	Miss      Outcome = "miss"      // not cached, and not warmed (warming off, or it cannot be)
	Warmed    Outcome = "warmed"    // not cached; pulled through the cache now
	Unchanged Outcome = "unchanged" // the cache does not serve it (no rule, unsupported, local, scratch)
	Fallback  Outcome = "fallback"  // the cache could not serve it; the build uses the original
	Error     Outcome = "error"     // it could not be evaluated or checked
)

// Image is one image use and its outcome.
type Image struct {
	Ref         string    `json:"ref"`                // normalised original reference
	CacheRef    string    `json:"cacheRef,omitempty"` // the cache reference, when the cache serves it
	Outcome     Outcome   `json:"outcome"`
	Digest      string    `json:"digest,omitempty"`
	Size        int64     `json:"size,omitempty"`
	PushedAt    time.Time `json:"pushedAt,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Upstream    string    `json:"upstream,omitempty"`
	Platforms   []string  `json:"platforms,omitempty"` // platform manifests warmed; a build's: the one it resolved for
	Uses        []Use     `json:"uses,omitempty"`      // where the Dockerfiles use it
	DurationMS  int64     `json:"durationMs,omitempty"`
	Instruction string    `json:"instruction,omitempty"` // of the first use
	Locked      bool      `json:"locked,omitempty"`      // the digest comes from the lock file
	// Used is the reference a build resolved: the cache reference or the original, pinned to Digest.
	Used string `json:"used,omitempty"`
	// Time is when a build resolved it.
	Time time.Time `json:"time,omitzero"`
}

// Use is a place a Dockerfile uses an image.
type Use struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Instruction string `json:"instruction"`
	Stage       string `json:"stage,omitempty"`
}

// Totals sums the outcomes.
type Totals struct {
	Images    int `json:"images"`
	Hits      int `json:"hits"`
	Misses    int `json:"misses"`
	Warmed    int `json:"warmed"`
	Unchanged int `json:"unchanged"`
	Fallbacks int `json:"fallbacks"`
	Errors    int `json:"errors"`
	// UpstreamPullsAvoided counts images the cache serves instead of a public registry (hits and
	// warmed): each is a pull that no longer counts against Docker Hub's rate limit.
	UpstreamPullsAvoided int `json:"upstreamPullsAvoided"`
}

// Report is the whole cache report.
type Report struct {
	Registry    string    `json:"registry,omitempty"`
	GeneratedAt time.Time `json:"generatedAt"`
	Images      []Image   `json:"images"`
	Totals      Totals    `json:"totals"`
}

// Tally recomputes Totals from Images.
func (r *Report) Tally() {
	t := Totals{Images: len(r.Images)}
	for _, im := range r.Images {
		switch im.Outcome {
		case Hit:
			t.Hits++
		case Miss:
			t.Misses++
		case Warmed:
			t.Warmed++
		case Unchanged:
			t.Unchanged++
		case Fallback:
			t.Fallbacks++
		case Error:
			t.Errors++
		}
	}
	t.UpstreamPullsAvoided = t.Hits + t.Warmed
	r.Totals = t
}

// Sort orders images by reference, for stable output.
func (r *Report) Sort() {
	sort.SliceStable(r.Images, func(i, j int) bool { return r.Images[i].Ref < r.Images[j].Ref })
}
