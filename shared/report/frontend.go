package report

import (
	"fmt"
	"strings"
	"time"
)

// Cache is the BuildKit frontend's outcome for an image the build pulled through the pull-through cache.
// The frontend's outcomes are Cache, Fallback and Unchanged.
const Cache Outcome = "cache"

// Resolution is one image a build resolved through the BuildKit frontend.
type Resolution struct {
	Original string  `json:"original"` // the reference as the build named it, normalised
	Used     string  `json:"used"`     // the reference the build pulled, pinned to Digest
	Digest   string  `json:"digest,omitempty"`
	Platform string  `json:"platform,omitempty"`
	Outcome  Outcome `json:"outcome"` // cache, fallback or unchanged
	Reason   string  `json:"reason"`
	// CacheRef is the cache reference that was tried, also when the build fell back.
	CacheRef   string    `json:"cacheRef,omitempty"`
	Time       time.Time `json:"time"`
	DurationMS int64     `json:"durationMs"`
}

// BuildTotals sums a build's outcomes.
type BuildTotals struct {
	Images    int `json:"images"`
	Cache     int `json:"cache"`
	Fallbacks int `json:"fallbacks"`
	Unchanged int `json:"unchanged"`
}

// BuildReport is what the frontend attaches to a build result (metadata key frontend.ecr-ptc.report).
type BuildReport struct {
	Registry string       `json:"registry,omitempty"`
	Strict   bool         `json:"strict,omitempty"`
	Disabled bool         `json:"disabled,omitempty"`
	Images   []Resolution `json:"images"`
	Totals   BuildTotals  `json:"totals"`
}

// Tally recomputes Totals from Images.
func (r *BuildReport) Tally() {
	t := BuildTotals{Images: len(r.Images)}
	for _, im := range r.Images {
		switch im.Outcome {
		case Cache:
			t.Cache++
		case Fallback:
			t.Fallbacks++
		default:
			t.Unchanged++
		}
	}
	r.Totals = t
}

// BuildSummary is the one-line summary (metadata key frontend.ecr-ptc.summary), naming the images
// that fell back so a CI log shows them without the JSON.
func BuildSummary(r *BuildReport) string {
	t := r.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "ecr-ptc: %d image%s: %d from the cache", t.Images, plural(t.Images), t.Cache)
	if r.Registry != "" {
		fmt.Fprintf(&b, " %s", r.Registry)
	}
	fmt.Fprintf(&b, ", %d fallback%s, %d unchanged", t.Fallbacks, plural(t.Fallbacks), t.Unchanged)
	var fb []string
	for _, im := range r.Images {
		if im.Outcome == Fallback {
			fb = append(fb, im.Original)
		}
	}
	if len(fb) > 0 {
		fmt.Fprintf(&b, " (fell back: %s)", strings.Join(fb, ", "))
	}
	if r.Disabled {
		b.WriteString("; disabled by ECR_PTC_DISABLE")
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
