package pipeline

import (
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
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
