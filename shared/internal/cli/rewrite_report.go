package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
)

// readRewriteReport reads the cache report `rewrite --report-json` updates; it is read before rewriting
// so a missing or invalid report fails with nothing written.
func readRewriteReport(path string) (*report.Report, error) {
	if err := checkPathArgs("--report-json", path); err != nil {
		return nil, err
	}
	data, err := safefile.Read(path, maxInputFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read the report: %v", pathError(err))
	}
	rep := &report.Report{}
	if err := json.Unmarshal(data, rep); err != nil {
		return nil, fmt.Errorf("%s is not an ecr-ptc report (the JSON of setup --report-json): %v", path, err)
	}
	return rep, nil
}

// markUnrewritten sets the outcome of every image rewrite left pointing at its original registry,
// although the cache serves it, to unchanged with the file:line and the reason, and re-tallies. The
// images are found by their references as Analyze evaluates them with opts (the report's Ref).
// Images the cache does not serve anyway, or that fell back or could not be checked, keep their outcome.
// It returns how many images it marked.
func markUnrewritten(rep *report.Report, name string, data []byte, opts dockerfile.Options, changes []dockerfile.Change) (int, error) {
	var left []dockerfile.Change
	for _, c := range changes {
		if c.To == "" {
			left = append(left, c)
		}
	}
	if len(left) == 0 {
		return 0, nil
	}
	// Rewrite edits every stage; setup's report holds the stages its target needs (or all).
	opts.AllStages = true
	an, err := dockerfile.Analyze(name, data, opts)
	if err != nil {
		return 0, err
	}
	byRef := map[string]int{}
	for i, im := range rep.Images {
		byRef[im.Ref] = i
	}
	marked := 0
	for _, c := range left {
		for _, u := range an.Images {
			if u.Line != c.Line || u.Raw != c.From || u.Ref == "" || u.Error != "" {
				continue
			}
			i, ok := byRef[u.Ref]
			if !ok {
				continue
			}
			im := &rep.Images[i]
			if !usedAt(im.Uses, name, c.Line) {
				continue // the build pulls it from a use rewrite did point at the cache
			}
			switch im.Outcome {
			case report.Hit, report.Warmed, report.Miss:
			default:
				continue
			}
			im.Outcome = report.Unchanged
			im.Reason = fmt.Sprintf("rewrite left %s:%d pointing at the original registry: %s", c.File, c.Line, c.Note)
			marked++
		}
	}
	rep.Tally()
	return marked, nil
}

// usedAt reports whether uses has one at line of the Dockerfile file (as rewrite names it: "stdin" matches
// any file). The report names files as setup was given them, so the same file may be spelt differently.
func usedAt(uses []report.Use, file string, line int) bool {
	for _, u := range uses {
		if u.Line == line && (file == "stdin" || sameFile(u.File, file)) {
			return true
		}
	}
	return false
}

func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// writeRewriteReport writes the updated report back atomically, keeping the file's permissions.
func writeRewriteReport(path string, rep *report.Report) error {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := atomicfile.Write(path, buf.Bytes(), perm); err != nil {
		return fmt.Errorf("cannot write %v", err)
	}
	return nil
}

// bypassed counts the images the cache serves (they have a cache reference) that are unchanged all the
// same: rewrite left the build pulling them from their original registry.
func bypassed(rep *report.Report) int {
	n := 0
	for _, im := range rep.Images {
		if im.Outcome == report.Unchanged && im.CacheRef != "" {
			n++
		}
	}
	return n
}
