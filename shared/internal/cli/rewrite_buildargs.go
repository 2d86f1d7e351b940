package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"maps"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
)

// writeBuildArgs writes the build's --build-arg values, one NAME=VALUE a line (build-push-action's
// build-args, docker build's --build-arg), with every image-valued one replaced by its cache value.
func writeBuildArgs(path, name string, data []byte, opts dockerfile.Options, m dockerfile.Mapper) ([]dockerfile.Change, error) {
	args, changes, err := dockerfile.MapBuildArgs(name, data, opts, m)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, usagef("--build-arg %s: the value holds a line break, which a build-args file cannot carry", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if err := atomicfile.Write(path, []byte(b.String()), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write %v", err)
	}
	return changes, nil
}

// printChanges lists what rewrite changed and left, then one line of totals.
func printChanges(w io.Writer, changes []dockerfile.Change) {
	rewritten, unchanged := 0, 0
	for _, c := range changes {
		if c.To == "" {
			unchanged++
			fmt.Fprintf(w, "%s:%d: %s %s left unchanged: %s\n", c.File, c.Line, c.Instruction, c.From, c.Note)
			continue
		}
		rewritten++
		fmt.Fprintf(w, "%s:%d: %s %s -> %s", c.File, c.Line, c.Instruction, c.From, c.To)
		if c.Note != "" {
			fmt.Fprintf(w, " (%s)", c.Note)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "rewrite: %d rewritten, %d unchanged\n", rewritten, unchanged)
}
