package pipeline

import (
	"errors"
	"fmt"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
)

// ImageResult is one image use with its mapping, the JSON object `scan --json` prints.
type ImageResult struct {
	dockerfile.ImageUse
	Output    string       `json:"output,omitempty"`
	Rewritten bool         `json:"rewritten"`
	Reason    string       `json:"reason,omitempty"`
	Kind      mapping.Kind `json:"kind,omitempty"`
	Fix       string       `json:"fix,omitempty"` // the cache ref to use instead of a wrong cache path
	// Cache is Output typed, when rewritten: parsed once by the mapper.
	Cache imageref.Ref `json:"-"`
}

// Resolve maps one image use; m may be nil (only scanning). A use with an evaluation error is left
// unmapped, and ONBUILD triggers run in other builds, so they are not resolved here.
func Resolve(m *mapping.Mapper, u dockerfile.ImageUse) ImageResult {
	r := ImageResult{ImageUse: u}
	switch {
	case u.Error != "":
	case u.Instruction == "ONBUILD":
		r.Reason = "ONBUILD triggers run in the builds that use this image; not resolved here"
	case m != nil:
		mr := m.Map(u.Ref)
		r.Output, r.Rewritten, r.Reason, r.Kind = mr.Output, mr.Rewritten, mr.Reason, mr.Kind
		r.Fix = mr.Fix
		if mr.Rewritten {
			r.Cache = mr.Cache
		}
	}
	return r
}

// Uses are the image uses of results.
func Uses(results []ImageResult) []dockerfile.ImageUse {
	uses := make([]dockerfile.ImageUse, len(results))
	for i, r := range results {
		uses[i] = r.ImageUse
	}
	return uses
}

// ScanError is a Dockerfile that could not be read (Read) or evaluated, or an image reference in one
// that could not be evaluated.
type ScanError struct {
	Read bool
	Err  error
}

// Scan analyses each Dockerfile for every option set (one per platform) and maps what they use with m
// (nil: no mapping), each use once. What cannot be read or evaluated goes to onError and is counted;
// the rest is still returned.
func Scan(files []string, opts []dockerfile.Options, m *mapping.Mapper, onError func(ScanError)) ([]ImageResult, int) {
	var out []ImageResult
	failed := 0
	for _, file := range files {
		data, err := dockerfile.ReadFile(file)
		if err != nil {
			onError(ScanError{Read: true, Err: err})
			failed++
			continue
		}
		seen := map[string]bool{}
		for _, o := range opts {
			a, err := dockerfile.Analyze(file, data, o)
			if err != nil {
				onError(ScanError{Err: err})
				failed++
				break
			}
			for _, u := range a.Images {
				key := fmt.Sprint(u.Line, u.Instruction, u.Ref, u.Raw, u.Error)
				if seen[key] {
					continue
				}
				seen[key] = true
				if u.Error != "" {
					onError(ScanError{Err: errors.New(u.Error)})
					failed++
				}
				out = append(out, Resolve(m, u))
			}
		}
	}
	return out, failed
}
