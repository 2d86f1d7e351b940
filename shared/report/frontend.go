package report

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// FrontendReport is what the BuildKit frontend writes under MetadataKey: the BuildReport contract
// (metadata.go) plus the frontend's settings and totals, which readers may ignore. NewFrontendReport makes
// it from the build's Report.
type FrontendReport struct {
	BuildReport
	Strict   bool `json:"strict,omitempty"`
	Disabled bool `json:"disabled,omitempty"`
	// IgnoredSyntax is the Dockerfile's own `# syntax=` reference when it named another frontend, which
	// the build did not use.
	IgnoredSyntax string      `json:"ignoredSyntax,omitempty"`
	Totals        BuildTotals `json:"totals"`
}

// BuildTotals sums a build's outcomes: the wire form of Totals.
type BuildTotals struct {
	Images    int `json:"images"`
	Cache     int `json:"cache"`
	Fallbacks int `json:"fallbacks"`
	Unchanged int `json:"unchanged"`
}

// NewFrontendReport is the wire form (version 1) of what one build resolved, rep, with the frontend's
// settings; rep's totals are tallied.
func NewFrontendReport(rep *Report, strict, disabled bool) *FrontendReport {
	rep.Tally()
	out := &FrontendReport{BuildReport: BuildReport{Version: 1, Registry: rep.Registry, Images: make([]BuildImage, 0, len(rep.Images))},
		Strict: strict, Disabled: disabled}
	for _, im := range rep.Images {
		b := BuildImage{Ref: im.Ref, Used: im.Used, Digest: im.Digest, Outcome: buildOutcome(im.Outcome), Reason: im.Reason, Time: im.Time, DurationMS: im.DurationMS}
		if len(im.Platforms) == 1 {
			b.Platform = im.Platforms[0]
		}
		out.Images = append(out.Images, b)
	}
	t := rep.Totals
	cache := t.Hits + t.Warmed
	out.Totals = BuildTotals{Images: t.Images, Cache: cache, Fallbacks: t.Fallbacks, Unchanged: t.Images - cache - t.Fallbacks}
	return out
}

// EncodeMetadata is the MetadataKey value: base64 of the JSON, which buildctl and buildx decode and
// embed in their --metadata-file as a JSON object (a plain string would stay a string there).
func EncodeMetadata(r *FrontendReport) ([]byte, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(data)), nil
}

// FrontendSummary is the one-line summary (SummaryKey), naming the images that fell back so a CI log
// shows them without the JSON.
func FrontendSummary(r *FrontendReport) string {
	t := r.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "ecr-ptc: %d image%s: %d from the cache", t.Images, plural(t.Images), t.Cache)
	if r.Registry != "" {
		fmt.Fprintf(&b, " %s", r.Registry)
	}
	fmt.Fprintf(&b, ", %d fallback%s, %d unchanged", t.Fallbacks, plural(t.Fallbacks), t.Unchanged)
	var fb []string
	for _, im := range r.Images {
		if im.Outcome == BuildFallback {
			fb = append(fb, im.Ref)
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
