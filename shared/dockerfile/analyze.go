package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Names BuildKit gives to things; kept identical so that results compare with dockerfile2llb.
const (
	scratchName = imageref.Scratch
	syntaxArg   = "BUILDKIT_SYNTAX"
)

// Analyze reports the images a BuildKit build of data (the Dockerfile named file) pulls with opts.
func Analyze(file string, data []byte, opts Options) (*Analysis, error) {
	a, err := analyze(file, data, opts)
	if err != nil {
		return nil, err
	}
	return a.result(), nil
}

// origin says which instruction created a state that BuildKit did not declare with FROM: the implicit
// stage of COPY --from=<image> or RUN --mount=from=<image>.
type origin struct {
	instruction string
	line        int
	stage       *state // the stage whose instruction it is
	node        *parser.Node
	mount       int // index among the RUN's mounts; -1 for COPY
}

// state mirrors dockerfile2llb's dispatchState, keeping only what decides pulls.
type state struct {
	index        int
	stage        *instructions.Stage // nil when unregistered
	stageIndex   int
	id           string              // BuildKit's stageName
	raw          string              // base name as written
	base         string              // base name evaluated with the global args
	args         map[string]struct{} // ARGs the base name used
	unset        map[string]struct{} // variables it referred to that are not set
	platArgs     map[string]struct{}
	platform     *ocispecs.Platform
	parent       *state // BuildKit's base: an earlier stage of the same file
	deps         []*state
	depCmd       map[*state]*command
	unregistered bool
	origin       *origin
	commands     []*command

	resolved, dispatched, onBuildInit bool
	errReported, pulled               bool
}

type command struct {
	cmd     instructions.Command
	sources []*state
	line    int // for a fired ONBUILD trigger, the ONBUILD's line
}

// metaArg is one key of a global ARG as declared, kept for Rewrite.
type metaArg struct {
	key  string
	raw  *string // the default as written; nil when none
	cmd  int     // index in analyzer.metaArgs
	line int
}

type use struct {
	ImageUse
	seq int
}

type analyzer struct {
	file     string
	data     []byte
	opts     Options
	res      *parser.Result
	lex      *shell.Lex
	nodes    map[int]*parser.Node // AST children by start line
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	meta     []metaArg
	global   *llb.EnvList
	defaults *llb.EnvList // the platform args buildMetaArgs starts from

	buildPlatform, targetPlatform ocispecs.Platform

	states []*state
	byName map[string]*state
	target *state
	reach  map[*state]struct{}

	syntax     *ImageUse // the frontend the build uses
	fileSyntax *ImageUse // the file's own # syntax= directive
	uses       []use
}

func (a *analyzer) errorf(line int, format string, args ...any) *Error {
	return &Error{File: a.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a BuildKit error into an *Error, taking the line from its location when it has one.
func (a *analyzer) wrap(err error, line int) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	var le *parser.LocationError
	if errors.As(err, &le) {
		if l := firstLine(le.Locations); l > 0 {
			line = l
		}
		if inner := le.Unwrap(); inner != nil {
			msg = inner.Error()
		}
	}
	return &Error{File: a.file, Line: line, Msg: msg, Err: err}
}

func firstLine(locs [][]parser.Range) int {
	for _, l := range locs {
		for _, r := range l {
			if r.Start.Line > 0 {
				return r.Start.Line
			}
		}
	}
	return 0
}

func startLine(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

func parsePlatform(s string) (ocispecs.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return p, err
	}
	return platforms.Normalize(p), nil
}

func analyze(file string, data []byte, opts Options) (*analyzer, error) {
	a := &analyzer{file: file, data: data, opts: opts, byName: map[string]*state{}}
	if len(data) == 0 {
		return nil, a.errorf(0, "the Dockerfile cannot be empty")
	}
	// BuildKit rejects a bad "# check=" directive before anything else.
	if v, _, loc, ok := parser.ParseDirective("check", data); ok {
		if _, err := linter.ParseLintOptions(v); err != nil {
			return nil, &Error{File: file, Line: startLine(loc), Msg: "failed to parse check options: " + err.Error(), Err: err}
		}
	}
	a.detectSyntax()

	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, a.wrap(err, 0)
	}
	a.res = res
	a.nodes = make(map[int]*parser.Node, len(res.AST.Children))
	for _, n := range res.AST.Children {
		a.nodes[n.StartLine] = n
	}
	a.stages, a.metaArgs, err = instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, a.wrap(err, 0)
	}
	if len(a.stages) == 0 {
		return nil, a.errorf(0, "dockerfile contains no stages to build: it needs a FROM instruction")
	}
	if err := a.platforms(); err != nil {
		return nil, err
	}
	targetName := opts.Target
	if targetName == "" {
		targetName = a.stages[len(a.stages)-1].Name
	}
	a.lex = shell.NewLex(res.EscapeToken)
	a.defaults = a.defaultArgs(targetName)
	if err := a.buildMetaArgs(a.defaults); err != nil {
		return nil, err
	}
	if err := a.buildDispatchStates(); err != nil {
		return nil, err
	}
	if err := a.resolveTarget(); err != nil {
		return nil, err
	}
	if err := a.buildDependencyGraph(); err != nil {
		return nil, err
	}
	if err := a.resolveStages(); err != nil {
		return nil, err
	}
	if err := a.checkDispatchOrder(); err != nil {
		return nil, err
	}
	return a, nil
}

// detectSyntax mirrors the Dockerfile frontend: the BUILDKIT_SYNTAX build arg wins over the directive.
// The directive is kept either way, for Rewrite.
func (a *analyzer) detectSyntax() {
	if ref, _, loc, ok := parser.DetectSyntax(a.data); ok {
		a.fileSyntax = &ImageUse{File: a.file, Instruction: "syntax", Raw: ref, Line: max(startLine(loc), 1)}
		a.setRef(a.fileSyntax, ref)
		a.syntax = a.fileSyntax
	}
	if v, ok := a.opts.BuildArgs[syntaxArg]; ok {
		u := ImageUse{File: a.file, Instruction: "syntax", Note: "from the " + syntaxArg + " build arg"}
		u.Raw, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		a.setRef(&u, u.Raw)
		a.syntax = &u
	}
}

func (a *analyzer) setRef(u *ImageUse, ref string) {
	n, err := imageref.Normalize(ref)
	if err != nil {
		u.Error = (&Error{File: a.file, Line: u.Line, Msg: err.Error()}).Error()
		return
	}
	u.Ref = n
}

// platforms mirrors buildPlatformOpt with the build platform always given explicitly.
func (a *analyzer) platforms() error {
	bp := a.opts.BuildPlatform
	if bp == "" {
		bp = DefaultBuildPlatform
	}
	p, err := parsePlatform(bp)
	if err != nil {
		return &Error{File: a.file, Msg: fmt.Sprintf("invalid build platform %q: %v", bp, err), Err: err}
	}
	a.buildPlatform, a.targetPlatform = p, p
	if a.opts.Platform != "" {
		p, err := parsePlatform(a.opts.Platform)
		if err != nil {
			return &Error{File: a.file, Msg: fmt.Sprintf("invalid target platform %q: %v", a.opts.Platform, err), Err: err}
		}
		a.targetPlatform = p
	}
	return nil
}

// defaultArgs mirrors dockerfile2llb's defaultArgs.
func (a *analyzer) defaultArgs(target string) *llb.EnvList {
	bp, tp := a.buildPlatform, a.targetPlatform
	if target == "" {
		target = "default"
	}
	s := [...][2]string{
		{"BUILDPLATFORM", platforms.Format(bp)},
		{"BUILDOS", bp.OS},
		{"BUILDOSVERSION", bp.OSVersion},
		{"BUILDARCH", bp.Architecture},
		{"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(tp)},
		{"TARGETOS", tp.OS},
		{"TARGETOSVERSION", tp.OSVersion},
		{"TARGETARCH", tp.Architecture},
		{"TARGETVARIANT", tp.Variant},
		{"TARGETSTAGE", target},
	}
	env := &llb.EnvList{}
	for _, kv := range s {
		v := kv[1]
		if ov, ok := a.opts.BuildArgs[kv[0]]; ok {
			v = ov
		}
		env = env.AddOrReplace(kv[0], v)
	}
	return env
}

// MaxArgValue bounds what one ARG may expand to, and MaxMetaArgs how many ARGs precede the first FROM:
// BuildKit's EnvList keeps a map per ARG, so thousands of chained ARGs would exhaust memory.
const (
	MaxArgValue = 64 << 10
	MaxMetaArgs = 1000
)

// buildMetaArgs mirrors dockerfile2llb's buildMetaArgs: a --build-arg replaces the default, which is
// then not evaluated; an ARG without a value and without a --build-arg stays unset.
func (a *analyzer) buildMetaArgs(args *llb.EnvList) error {
	n := 0
	for _, cmd := range a.metaArgs {
		if n += len(cmd.Args); n > MaxMetaArgs {
			line := startLine(cmd.Location())
			return a.wrap(parser.WithLocation(fmt.Errorf("more than %d ARGs before the first FROM, the most ecr-ptc evaluates", MaxMetaArgs), cmd.Location()), line)
		}
	}
	for ci, cmd := range a.metaArgs {
		line := startLine(cmd.Location())
		for _, kp := range cmd.Args {
			var val *string
			if v, ok := a.opts.BuildArgs[kp.Key]; ok {
				val = &v
			} else if kp.Value != nil {
				r, err := a.lex.ProcessWordWithMatches(*kp.Value, args)
				if err != nil {
					return a.wrap(parser.WithLocation(err, cmd.Location()), line)
				}
				// ARG B=$A$A doubles at each step: a few thousand chained ARGs would exhaust memory.
				if len(r.Result) > MaxArgValue {
					return a.wrap(parser.WithLocation(fmt.Errorf("ARG %s expands to %d bytes, more than the %d KiB ecr-ptc evaluates", kp.Key, len(r.Result), MaxArgValue>>10), cmd.Location()), line)
				}
				val = &r.Result
			}
			if val != nil {
				args = args.AddOrReplace(kp.Key, *val)
			}
			a.meta = append(a.meta, metaArg{key: kp.Key, raw: kp.Value, cmd: ci, line: line})
		}
	}
	a.global = args
	return nil
}

func (a *analyzer) addState(d *state) {
	d.index = len(a.states)
	a.states = append(a.states, d)
	if b, ok := a.byName[d.base]; ok {
		d.parent = b
	}
	if d.stage != nil && d.stage.Name != "" {
		a.byName[strings.ToLower(d.stage.Name)] = d
	}
}

func (a *analyzer) findStateByName(name string) (*state, bool) {
	d, ok := a.byName[strings.ToLower(name)]
	return d, ok
}

// buildDispatchStates mirrors dockerfile2llb: every stage's base name and --platform are evaluated, and
// an error in any stage fails the build.
func (a *analyzer) buildDispatchStates() error {
	for i := range a.stages {
		st := &a.stages[i]
		line := startLine(st.Location)
		nameMatch, err := a.lex.ProcessWordWithMatches(st.BaseName, a.global)
		if err != nil {
			return a.wrap(err, line)
		}
		if nameMatch.Result == "" {
			return a.errorf(line, "base name (%s) should not be blank", st.BaseName)
		}
		d := &state{stage: st, stageIndex: i, id: st.Name, raw: st.BaseName, base: nameMatch.Result,
			args: nameMatch.Matched, unset: nameMatch.Unmatched, depCmd: map[*state]*command{}}
		if v := st.Platform; v != "" {
			pm, err := a.lex.ProcessWordWithMatches(v, a.global)
			if err != nil {
				return a.errorf(line, "failed to process arguments for platform %s: %v", pm.Result, err)
			}
			if pm.Result == "" {
				return a.errorf(line, "empty platform value from expression %s", v)
			}
			p, err := platforms.Parse(pm.Result)
			if err != nil {
				return &Error{File: a.file, Line: line, Msg: fmt.Sprintf("failed to parse platform %s: %v", v, err), Err: err}
			}
			d.platform, d.platArgs = &p, pm.Matched
		}
		if st.Name == "" {
			d.id = fmt.Sprintf("stage-%d", i)
		}
		a.addState(d)
	}
	return nil
}

func (a *analyzer) resolveTarget() error {
	if a.opts.Target == "" {
		a.target = a.states[len(a.states)-1]
		return nil
	}
	if t, ok := a.findStateByName(a.opts.Target); ok {
		a.target = t
		return nil
	}
	var names []string
	for _, d := range a.states {
		if d.stage != nil && d.stage.Name != "" {
			names = append(names, d.stage.Name)
		}
	}
	if len(names) == 0 {
		return a.errorf(0, "target stage %q could not be found: the Dockerfile has no named stages", a.opts.Target)
	}
	return a.errorf(0, "target stage %q could not be found; stages: %s", a.opts.Target, strings.Join(names, ", "))
}

func (a *analyzer) buildDependencyGraph() error {
	for _, d := range a.states[:len(a.states)] {
		if d.stage == nil {
			continue
		}
		for _, ic := range d.stage.Commands {
			line := startLine(ic.Location())
			c, err := a.toCommand(ic, d, line, false)
			if err != nil {
				return err
			}
			d.commands = append(d.commands, c)
			a.addDeps(d, c)
		}
	}
	return a.checkCycles()
}

func (a *analyzer) addDeps(d *state, c *command) {
	for _, src := range c.sources {
		if _, ok := d.depCmd[src]; !ok {
			d.deps = append(d.deps, src)
		}
		d.depCmd[src] = c
		if src.unregistered {
			a.addState(src)
		}
	}
}

func (a *analyzer) unregistered(base string, o *origin) *state {
	return &state{stageIndex: -1, raw: base, base: base, unregistered: true, origin: o, depCmd: map[*state]*command{}}
}

// toCommand mirrors dockerfile2llb's toCommand and detectRunMount: which states a COPY --from or a
// RUN --mount reads from, creating an unregistered state for each image.
func (a *analyzer) toCommand(ic instructions.Command, d *state, line int, trigger bool) (*command, error) {
	c := &command{cmd: ic, line: line}
	node := a.nodes[line]
	prefix := ""
	if trigger {
		prefix = "ONBUILD "
	}
	if cp, ok := ic.(*instructions.CopyCommand); ok && cp.From != "" {
		res, err := a.lex.ProcessWordWithMatches(cp.From, shell.EnvsFromSlice(nil))
		if err != nil {
			return nil, a.wrap(err, line)
		}
		if res.Result != cp.From {
			return nil, a.errorf(line, "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
		}
		var src *state
		if index, err := strconv.Atoi(cp.From); err != nil {
			if src, ok = a.findStateByName(cp.From); !ok {
				src = a.unregistered(cp.From, &origin{instruction: prefix + "COPY --from", line: line, stage: d, node: node, mount: -1})
			}
		} else {
			if index < 0 || index >= len(a.states) {
				return nil, a.errorf(line, "invalid stage index %d", index)
			}
			src = a.states[index]
		}
		c.sources = []*state{src}
	}
	if run, ok := ic.(*instructions.RunCommand); ok {
		for i, m := range instructions.GetMounts(run) {
			from := m.From
			if from == "" {
				// As BuildKit: a mount without from reads from scratch (or the context), never an image.
				from = scratchName
			}
			src, ok := a.findStateByName(from)
			if !ok {
				src = a.unregistered(from, &origin{instruction: prefix + "RUN --mount", line: line, stage: d, node: node, mount: i})
			}
			c.sources = append(c.sources, src)
		}
	}
	return c, nil
}

// checkCycles mirrors validateCircularDependency (over COPY/RUN sources, not bases).
func (a *analyzer) checkCycles() error {
	visited := map[*state]bool{}
	path := map[*state]bool{}
	var visit func(d *state, cur []*command) []*command
	visit = func(d *state, cur []*command) []*command {
		if visited[d] {
			return nil
		}
		visited[d] = true
		path[d] = true
		for _, dep := range d.deps {
			next := append(slices.Clone(cur), d.depCmd[dep])
			if path[dep] {
				return next
			}
			if c := visit(dep, next); c != nil {
				return c
			}
		}
		delete(path, d)
		return nil
	}
	for _, d := range a.states {
		if cmds := visit(d, nil); cmds != nil {
			return a.errorf(cmds[0].line, "circular dependency detected on stage: %s", d.id)
		}
	}
	return nil
}

func (a *analyzer) reachable(t *state) map[*state]struct{} {
	out := map[*state]struct{}{}
	var add func(*state)
	add = func(d *state) {
		if _, ok := out[d]; ok {
			return
		}
		out[d] = struct{}{}
		if d.parent != nil {
			add(d.parent)
		}
		for _, dep := range d.deps {
			add(dep)
		}
	}
	add(t)
	return out
}

// resolveStages mirrors dockerfile2llb's resolveStages / resolveReachableStages: states with no base
// stage are resolved when reachable (or with AllStages), then ONBUILD triggers of stages built on other
// stages are initialised, which may add dependencies and so another round.
func (a *analyzer) resolveStages() error {
	for {
		a.reach = a.reachable(a.target)
		for _, d := range slices.Clone(a.states) {
			_, r := a.reach[d]
			r = r || a.opts.AllStages
			if d.parent != nil || d.dispatched || d.resolved {
				continue
			}
			d.resolved = r
			if d.base == scratchName {
				if d.unregistered {
					d.dispatched = true
				}
				continue
			}
			a.resolve(d, r)
			if d.unregistered {
				d.dispatched = true
			}
		}
		newDeps := false
		for _, d := range a.states {
			if _, ok := a.reach[d]; !ok || d.parent == nil || d.onBuildInit {
				continue
			}
			d.onBuildInit = true
			var triggers []*command
			for _, c := range d.parent.commands {
				if _, ok := c.cmd.(*instructions.OnbuildCommand); ok {
					triggers = append(triggers, c)
				}
			}
			if len(triggers) == 0 {
				continue
			}
			b, err := a.initOnBuildTriggers(d, triggers)
			if err != nil {
				return err
			}
			newDeps = newDeps || b
		}
		if !newDeps {
			return nil
		}
	}
}

// initOnBuildTriggers mirrors dockerfile2llb: each trigger is parsed on its own (default escape token)
// and its sources become dependencies of the stage that runs it.
func (a *analyzer) initOnBuildTriggers(d *state, triggers []*command) (bool, error) {
	newDeps := false
	var cmds []*command
	for _, t := range triggers {
		ob := t.cmd.(*instructions.OnbuildCommand)
		ic, err := parseTrigger(ob.Expression)
		if err != nil {
			// The trigger was parsed on its own: its location is relative to it, so point at the ONBUILD.
			e := a.wrap(err, t.line)
			e.Line = t.line
			return false, e
		}
		c, err := a.toCommand(ic, d, t.line, true)
		if err != nil {
			return false, err
		}
		if len(c.sources) > 0 {
			newDeps = true
		}
		cmds = append(cmds, c)
		a.addDeps(d, c)
	}
	d.commands = append(cmds, d.commands...)
	return newDeps, nil
}

func parseTrigger(expr string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(expr))
	if err != nil {
		return nil, err
	}
	if len(res.AST.Children) != 1 {
		return nil, errors.New("onbuild trigger should be a single expression")
	}
	return instructions.ParseCommand(res.AST.Children[0])
}

// resolve records what resolveBaseImage pulls. BuildKit parses the reference even for states it does
// not pull, and fails on an invalid one; that is reported as an ImageUse with Error.
func (a *analyzer) resolve(d *state, reachable bool) {
	ref, err := imageref.Normalize(d.base)
	if err != nil {
		if !d.errReported {
			d.errReported = true
			u := a.newUse(d)
			u.Error = (&Error{File: a.file, Line: u.Line, Msg: err.Error()}).Error()
			a.addUse(u)
		}
		return
	}
	if reachable && !d.pulled {
		d.pulled = true
		u := a.newUse(d)
		u.Ref = ref
		p := a.targetPlatform
		if d.platform != nil {
			p = *d.platform
		}
		u.PullPlatform = platforms.FormatAll(p)
		a.addUse(u)
	}
}

func (a *analyzer) newUse(d *state) ImageUse {
	if d.unregistered {
		o := d.origin
		return ImageUse{File: a.file, Line: o.line, Instruction: o.instruction, Stage: o.stage.id, Raw: d.raw}
	}
	u := ImageUse{File: a.file, Line: startLine(d.stage.Location), Instruction: "FROM", Stage: d.id, Raw: d.raw,
		Args: sortedKeys(d.args)}
	if d.platform != nil {
		u.Platform = platforms.FormatAll(platforms.Normalize(*d.platform))
	}
	return u
}

func (a *analyzer) addUse(u ImageUse) {
	a.uses = append(a.uses, use{ImageUse: u, seq: len(a.uses)})
}

func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// checkDispatchOrder mirrors the checks dispatchStages makes: a stage can only read from a stage that
// was dispatched before it.
func (a *analyzer) checkDispatchOrder() error {
	for _, d := range a.states {
		if !a.opts.AllStages {
			if _, ok := a.reach[d]; !ok || d.dispatched {
				continue
			}
		}
		d.dispatched = true
		for _, c := range d.commands {
			switch ic := c.cmd.(type) {
			case *instructions.CopyCommand:
				if len(c.sources) > 0 && !c.sources[0].dispatched {
					return a.errorf(c.line, "cannot copy from stage %q, it needs to be defined before current stage %q", ic.From, d.id)
				}
			case *instructions.RunCommand:
				for i, m := range instructions.GetMounts(ic) {
					if m.From != "" && i < len(c.sources) && !c.sources[i].dispatched {
						return a.errorf(c.line, "cannot mount from stage %q, stage needs to be defined before current command", m.From)
					}
				}
			}
		}
	}
	return nil
}

// needed reports whether d's images are part of the result.
func (a *analyzer) needed(d *state) bool {
	_, ok := a.reach[d]
	return ok || a.opts.AllStages
}

func (a *analyzer) result() *Analysis {
	out := &Analysis{File: a.file, Target: a.target.id, Stages: []StageInfo{}, Images: []ImageUse{}}
	for _, d := range a.states {
		if d.stage == nil {
			continue
		}
		_, needed := a.reach[d]
		si := StageInfo{Index: d.stageIndex, Name: d.stage.Name, ID: d.id, Line: startLine(d.stage.Location),
			BaseRaw: d.raw, Base: d.base, Needed: needed, Target: d == a.target}
		switch {
		case d.parent != nil:
			si.BaseStage = d.parent.id
		case d.base == scratchName:
			si.Scratch = true
		default:
			si.BaseRef, _ = imageref.Normalize(d.base)
		}
		if d.platform != nil {
			si.Platform = platforms.FormatAll(platforms.Normalize(*d.platform))
		}
		out.Stages = append(out.Stages, si)
	}
	uses := slices.Clone(a.uses)
	for _, d := range a.states {
		if d.stage != nil && a.needed(d) {
			uses = append(uses, a.onbuildUses(d, len(a.uses)+len(uses))...)
		}
	}
	sort.SliceStable(uses, func(i, j int) bool {
		if uses[i].Line != uses[j].Line {
			return uses[i].Line < uses[j].Line
		}
		return uses[i].seq < uses[j].seq
	})
	if a.syntax != nil {
		out.Syntax = a.syntax.Raw
		out.Images = append(out.Images, *a.syntax)
	}
	for _, u := range uses {
		out.Images = append(out.Images, u.ImageUse)
	}
	return out
}

const onbuildNote = "ONBUILD trigger: runs only when an image built from this stage is used as a base; not resolved here"

// onbuildUses reports the images of d's ONBUILD triggers as written. A --from naming a stage of this
// file is not an image; numeric --from and mounts without from are never images.
func (a *analyzer) onbuildUses(d *state, seq int) []use {
	var out []use
	for _, c := range d.commands {
		ob, ok := c.cmd.(*instructions.OnbuildCommand)
		if !ok {
			continue
		}
		ic, err := parseTrigger(ob.Expression)
		if err != nil {
			continue // BuildKit only parses a trigger when it runs
		}
		for _, from := range triggerSources(ic) {
			if _, isStage := a.findStateByName(from); isStage {
				continue
			}
			u := ImageUse{File: a.file, Line: c.line, Instruction: "ONBUILD", Stage: d.id, Raw: from, Note: onbuildNote}
			a.setRef(&u, from)
			out = append(out, use{ImageUse: u, seq: seq + len(out)})
		}
	}
	return out
}

// triggerSources lists the --from values of a trigger that could name images.
func triggerSources(ic instructions.Command) []string {
	var out []string
	switch c := ic.(type) {
	case *instructions.CopyCommand:
		if _, err := strconv.Atoi(c.From); c.From != "" && err != nil {
			out = append(out, c.From)
		}
	case *instructions.RunCommand:
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				out = append(out, m.From)
			}
		}
	}
	return out
}
