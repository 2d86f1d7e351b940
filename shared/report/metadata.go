package report

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// MetadataKey is the build result metadata key under which the ecr-ptc BuildKit frontend reports what it
// resolved. BuildKit passes only "frontend."-prefixed keys to the client, and `buildctl build
// --metadata-file` / `docker buildx build --metadata-file` write them out.
const MetadataKey = "frontend.ecr-ptc.report"

// SummaryKey is the frontend's one-line summary, for people reading the metadata file.
const SummaryKey = "frontend.ecr-ptc.summary"

// BuildOutcome is what the frontend did with one image.
type BuildOutcome string

// Build outcomes.
const (
	BuildCache     BuildOutcome = "cache"     // resolved through the cache
	BuildFallback  BuildOutcome = "fallback"  // the cache could not serve it; the original was used
	BuildUnchanged BuildOutcome = "unchanged" // the cache does not serve it (no rule, unsupported, local, scratch)
)

// BuildReport is the value of MetadataKey: what one build resolved. It is the contract between the frontend
// (writer) and `ecr-ptc report` (reader). The frontend should set the key to the base64 encoding of this
// JSON object: buildctl and buildx then embed it in the metadata file as JSON. A plain JSON string, or the
// base64 string itself, is read as well.
//
//	{"version": 1, "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
//	 "images": [{"ref": "docker.io/library/node:20",
//	             "used": "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/node:20",
//	             "digest": "sha256:…", "outcome": "cache", "reason": "",
//	             "time": "2026-11-26T01:00:00Z", "durationMs": 12, "platform": "linux/amd64"}]}
type BuildReport struct {
	Version  int          `json:"version"`
	Registry string       `json:"registry,omitempty"`
	Images   []BuildImage `json:"images"`
}

// BuildImage is one image the build resolved.
type BuildImage struct {
	Ref        string       `json:"ref"`              // the original reference, as the Dockerfile evaluates it
	Used       string       `json:"used,omitempty"`   // the reference the build resolved: the cache ref, or the original
	Digest     string       `json:"digest,omitempty"` // the digest the build pinned
	Outcome    BuildOutcome `json:"outcome"`
	Reason     string       `json:"reason,omitempty"` // why it fell back or stayed unchanged
	Time       time.Time    `json:"time,omitzero"`    // when it was resolved
	DurationMS int64        `json:"durationMs,omitempty"`
	Platform   string       `json:"platform,omitempty"`
}

// Report maps a build report onto the outcome model: cache is Hit (with Used as the cache reference),
// fallback Fallback, unchanged Unchanged.
func (b BuildReport) Report() *Report {
	r := &Report{Registry: b.Registry, Images: make([]Image, 0, len(b.Images))}
	for _, w := range b.Images {
		im := Image{Ref: w.Ref, Used: w.Used, Digest: w.Digest, Outcome: Unchanged, Reason: w.Reason, Time: w.Time, DurationMS: w.DurationMS}
		switch w.Outcome {
		case BuildCache:
			im.Outcome, im.CacheRef = Hit, w.Used
		case BuildFallback:
			im.Outcome = Fallback
		}
		if w.Platform != "" {
			im.Platforms = []string{w.Platform}
		}
		r.Images = append(r.Images, im)
	}
	r.Tally()
	return r
}

// buildOutcome is an outcome's wire form: served by the cache, fallen back, or not through the cache.
func buildOutcome(o Outcome) BuildOutcome {
	switch o {
	case Hit, Warmed:
		return BuildCache
	case Fallback:
		return BuildFallback
	}
	return BuildUnchanged
}

// ParseMetadata reads a `--metadata-file` written by buildctl, `docker buildx build` or `docker buildx bake`
// (one object per target) and returns every frontend report in it, in target order. A file without the key
// (a build that did not use the frontend) yields none and no error.
func ParseMetadata(data []byte) ([]BuildReport, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a build metadata file (a JSON object): %v", err)
	}
	if raw, ok := top[MetadataKey]; ok {
		r, err := decodeBuildReport(raw)
		if err != nil {
			return nil, err
		}
		return []BuildReport{r}, nil
	}
	// bake: {"target": {metadata...}, ...}
	targets := make([]string, 0, len(top))
	for k := range top {
		targets = append(targets, k)
	}
	sort.Strings(targets)
	var out []BuildReport
	for _, t := range targets {
		var inner map[string]json.RawMessage
		if json.Unmarshal(top[t], &inner) != nil {
			continue
		}
		if raw, ok := inner[MetadataKey]; ok {
			r, err := decodeBuildReport(raw)
			if err != nil {
				return nil, fmt.Errorf("target %s: %v", t, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeBuildReport accepts the report embedded as an object, as a JSON string, or as base64 of either.
func decodeBuildReport(raw json.RawMessage) (BuildReport, error) {
	body := bytes.TrimSpace(raw)
	if len(body) > 0 && body[0] == '"' {
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return BuildReport{}, fmt.Errorf("%s: %v", MetadataKey, err)
		}
		body = []byte(strings.TrimSpace(s))
		if len(body) > 0 && body[0] != '{' {
			dec, err := base64.StdEncoding.DecodeString(string(body))
			if err != nil {
				return BuildReport{}, fmt.Errorf("%s is neither JSON nor base64-encoded JSON", MetadataKey)
			}
			body = bytes.TrimSpace(dec)
		}
	}
	var r BuildReport
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&r); err != nil {
		return BuildReport{}, fmt.Errorf("%s is not a frontend report: %v", MetadataKey, err)
	}
	if r.Version > 1 {
		return BuildReport{}, fmt.Errorf("%s has version %d; this ecr-ptc reads version 1 (update ecr-ptc)", MetadataKey, r.Version)
	}
	if r.Registry != "" {
		if err := imageref.ValidHost(r.Registry); err != nil {
			return BuildReport{}, fmt.Errorf("%s: registry: %v", MetadataKey, err)
		}
	}
	for i, im := range r.Images {
		if err := validBuildImage(im); err != nil {
			return BuildReport{}, fmt.Errorf("%s: image %d: %v", MetadataKey, i+1, err)
		}
	}
	return r, nil
}

var (
	digestPattern   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9_.-]+(/[a-z0-9_.-]+){1,2}$`)
)

// validBuildImage checks every value of a metadata file before it can reach a CI file command, a summary
// or an env file: a build's metadata file is written by whatever ran the build, so it is untrusted.
// Reasons stay free text; the renderers neutralise them.
func validBuildImage(im BuildImage) error {
	if im.Ref == "" {
		return fmt.Errorf("it has no ref")
	}
	if _, err := imageref.Parse(im.Ref); err != nil {
		return err
	}
	if im.Used != "" {
		if _, err := imageref.Parse(im.Used); err != nil {
			return fmt.Errorf("used: %v", err)
		}
	}
	if im.Digest != "" && !digestPattern.MatchString(im.Digest) {
		return fmt.Errorf("digest %s is not sha256: and 64 lowercase hex digits", quoteClip(im.Digest))
	}
	if im.Platform != "" && !platformPattern.MatchString(im.Platform) {
		return fmt.Errorf("platform %s is not os/arch[/variant]", quoteClip(im.Platform))
	}
	switch im.Outcome {
	case BuildCache, BuildFallback, BuildUnchanged:
	default:
		return fmt.Errorf("outcome %s (want cache, fallback or unchanged)", quoteClip(string(im.Outcome)))
	}
	if len(im.Reason) > maxReason {
		return fmt.Errorf("its reason is %d bytes long (at most %d)", len(im.Reason), maxReason)
	}
	return nil
}

// maxReason bounds a reason from a metadata file; the frontend's are one sentence.
const maxReason = 4096

// quoteClip quotes a value for an error message, cut short: errors name a value, they do not echo a file.
func quoteClip(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// normRef compares references the way BuildKit resolves them ("node:20" is "docker.io/library/node:20").
func normRef(s string) string {
	if n, err := imageref.Normalize(s); err == nil {
		return n
	}
	return s
}

// severity orders a build's outcomes so that, across several builds, the worst one is reported.
func severity(o Outcome) int {
	switch o {
	case Fallback:
		return 2
	case Hit:
		return 1
	}
	return 0
}

// Merge folds what the builds resolved into r (which may be empty): the build is the ground truth for
// what was pulled from where. Each build report is mapped onto the outcome model (BuildReport.Report).
//
//   - hit (the build's cache): the image stays a hit or warmed; a setup miss becomes warmed (the build
//     pulled it through the cache); an image setup did not see, or saw as anything else, becomes a hit.
//   - fallback: the image is a fallback, with the build's reason and digest.
//   - unchanged: an image setup did not see is added as unchanged, and one setup saw as unchanged stays
//     so; an image setup found cacheable (hit, warmed, miss) becomes a fallback: the build resolved it
//     around the cache (ECR_PTC_DISABLE, no registry), whatever setup saw — --strict must fail on it.
//
// An image used by several builds takes the worst outcome (fallback over hit over unchanged); one that
// a build served from the cache and another resolved unchanged was pulled around the cache: a fallback.
// Totals are recomputed.
func Merge(r *Report, builds ...BuildReport) {
	worst := map[string]Image{}
	var order []string
	for _, wire := range builds {
		b := wire.Report()
		if r.Registry == "" {
			r.Registry = b.Registry
		}
		for _, im := range b.Images {
			key := normRef(im.Ref)
			prev, seen := worst[key]
			if !seen {
				order = append(order, key)
			}
			switch {
			case seen && (im.Outcome == Unchanged && prev.Outcome == Hit || im.Outcome == Hit && prev.Outcome == Unchanged):
				u := im
				if u.Outcome != Unchanged {
					u = prev
				}
				u.Outcome, u.Reason = Fallback, bypassReason(u.Reason)
				worst[key] = u
			case !seen || severity(im.Outcome) > severity(prev.Outcome):
				worst[key] = im
			}
		}
	}
	index := map[string]int{}
	for i, im := range r.Images {
		index[normRef(im.Ref)] = i
	}
	for _, key := range order {
		b := worst[key]
		i, ok := index[key]
		if !ok {
			r.Images = append(r.Images, Image{Ref: key, Outcome: Unchanged})
			i = len(r.Images) - 1
			index[key] = i
		}
		im := &r.Images[i]
		ms := b.DurationMS
		switch b.Outcome {
		case Hit:
			switch im.Outcome {
			case Hit, Warmed:
			case Miss:
				im.Outcome, im.Reason = Warmed, "pulled through the cache by the build"
			default:
				im.Outcome, im.Reason = Hit, ""
			}
			if b.CacheRef != "" {
				im.CacheRef = b.CacheRef
			}
			if b.Digest != "" {
				im.Digest = b.Digest
			}
		case Fallback:
			im.Outcome, im.Reason = Fallback, cmp.Or(b.Reason, "the build fell back to the original registry")
			if b.Digest != "" {
				im.Digest = b.Digest
			}
		case Unchanged:
			if ok {
				switch im.Outcome {
				case Hit, Warmed, Miss:
					im.Outcome, im.Reason = Fallback, bypassReason(b.Reason)
					if b.Digest != "" {
						im.Digest = b.Digest
					}
				default:
					continue
				}
				break
			}
			im.Reason = b.Reason
		}
		if ms > 0 {
			im.DurationMS = ms
		}
	}
	r.Tally()
}

// bypassReason says a build resolved a cacheable image without the cache, and why the build said so.
func bypassReason(why string) string {
	const s = "a build resolved it without the pull-through cache"
	if why == "" {
		return s
	}
	return s + ": " + why
}
