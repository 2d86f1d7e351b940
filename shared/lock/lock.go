// Package lock is the digest lock: the digest every image reference resolved to through the cache, so
// that dev, stage and prod build on identical bytes even when an upstream tag moves (the cache re-checks
// tags about once a day), and a moved tag shows up as a diff instead of a silent change.
package lock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/opencontainers/go-digest"
)

// Version is the lock file format version.
const Version = 1

// File is a lock file (JSON, conventionally ecr-ptc.lock.json).
type File struct {
	Version  int     `json:"version"`
	Registry string  `json:"registry,omitempty"` // the cache registry it was resolved through
	Images   []Entry `json:"images"`
}

// Entry pins one image reference.
type Entry struct {
	Ref      string `json:"ref"`    // normalised reference as the Dockerfiles use it, e.g. docker.io/library/node:20
	Digest   string `json:"digest"` // the manifest (index) digest it resolved to
	CacheRef string `json:"cacheRef,omitempty"`
}

// Error is a lock file that cannot be used.
type Error struct {
	File string
	Msg  string
}

func (e *Error) Error() string { return e.File + ": " + e.Msg }

// Parse reads a lock file; file names it in errors.
func Parse(file string, data []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, &Error{File: file, Msg: "not a lock file: " + err.Error()}
	}
	if f.Version != Version {
		return File{}, &Error{File: file, Msg: fmt.Sprintf("lock file version %d is not %d; regenerate it with `ecr-ptc lock`", f.Version, Version)}
	}
	seen := map[string]bool{}
	for i, e := range f.Images {
		ref, err := imageref.Parse(e.Ref)
		if err != nil {
			return File{}, &Error{File: file, Msg: fmt.Sprintf("image %d: %v", i+1, err)}
		}
		if ref.String() != e.Ref {
			return File{}, &Error{File: file, Msg: fmt.Sprintf("image %d: %q is not normalised (%s)", i+1, e.Ref, ref.String())}
		}
		if _, err := digest.Parse(e.Digest); err != nil {
			return File{}, &Error{File: file, Msg: fmt.Sprintf("image %d (%s): digest %q: %v", i+1, e.Ref, e.Digest, err)}
		}
		if seen[e.Ref] {
			return File{}, &Error{File: file, Msg: fmt.Sprintf("%s is locked twice", e.Ref)}
		}
		seen[e.Ref] = true
	}
	return f, nil
}

// Marshal renders the file sorted by reference, so that it diffs well in review.
func (f File) Marshal() []byte {
	f.Version = Version
	f.Images = append([]Entry(nil), f.Images...)
	sort.Slice(f.Images, func(i, j int) bool { return f.Images[i].Ref < f.Images[j].Ref })
	if f.Images == nil {
		f.Images = []Entry{}
	}
	out, _ := json.MarshalIndent(f, "", "  ")
	return append(out, '\n')
}

// Lookup returns the locked digest of a normalised reference.
func (f File) Lookup(ref string) (string, bool) {
	for _, e := range f.Images {
		if e.Ref == ref {
			return e.Digest, true
		}
	}
	return "", false
}

// ChangeKind classifies a difference between two lock files.
type ChangeKind string

// Change kinds.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Moved   ChangeKind = "moved" // the same reference now resolves to another digest
)

// Change is one difference.
type Change struct {
	Kind ChangeKind `json:"kind"`
	Ref  string     `json:"ref"`
	From string     `json:"from,omitempty"`
	To   string     `json:"to,omitempty"`
}

func (c Change) String() string {
	switch c.Kind {
	case Added:
		return fmt.Sprintf("+ %s %s", c.Ref, c.To)
	case Removed:
		return fmt.Sprintf("- %s %s", c.Ref, c.From)
	default:
		return fmt.Sprintf("~ %s %s -> %s (the tag moved upstream)", c.Ref, c.From, c.To)
	}
}

// Diff lists what changed from old to new, by reference.
func Diff(old, new File) []Change {
	var out []Change
	for _, e := range new.Images {
		d, ok := old.Lookup(e.Ref)
		switch {
		case !ok:
			out = append(out, Change{Kind: Added, Ref: e.Ref, To: e.Digest})
		case d != e.Digest:
			out = append(out, Change{Kind: Moved, Ref: e.Ref, From: d, To: e.Digest})
		}
	}
	for _, e := range old.Images {
		if _, ok := new.Lookup(e.Ref); !ok {
			out = append(out, Change{Kind: Removed, Ref: e.Ref, From: e.Digest})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// BuildArg renders the lock for the frontend's ECR_PTC_LOCK build arg: REF=DIGEST pairs, comma-separated.
func (f File) BuildArg() string {
	parts := make([]string, 0, len(f.Images))
	for _, e := range f.Images {
		parts = append(parts, e.Ref+"="+e.Digest)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ParseBuildArg reads the ECR_PTC_LOCK form back.
func ParseBuildArg(s string) (File, error) {
	f := File{Version: Version}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i <= 0 {
			return File{}, errors.New("ECR_PTC_LOCK: " + part + " is not REF=DIGEST")
		}
		f.Images = append(f.Images, Entry{Ref: part[:i], Digest: part[i+1:]})
	}
	data, _ := json.Marshal(f)
	return Parse("ECR_PTC_LOCK", data)
}
