package dockerfile

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Markers wrap one piece of literal text before BuildKit's lexer evaluates a word, so that the result
// shows where (and whether) that text ended up. Private-use runes: no reference can contain them, and
// the lexer treats them as plain characters.
const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

// splitMarked returns the marked text and what follows it when r is exactly
// markOpen+seg+markClose+suffix, with no other marker.
func splitMarked(r string) (seg, suffix string, ok bool) {
	rest, ok := strings.CutPrefix(r, markOpen)
	if !ok {
		return "", "", false
	}
	seg, suffix, ok = strings.Cut(rest, markClose)
	if !ok || strings.Contains(seg, markOpen) || strings.Contains(suffix, markOpen) || strings.Contains(suffix, markClose) {
		return "", "", false
	}
	return seg, suffix, true
}

// fromArgs rewrites a base name that uses variables, trying in turn: the default of the ARG that is
// the whole name, the literal repository before the variables, a default inside ${VAR:-default}, the
// literal start of an ARG default that starts the name, and (only when the caller gave build args) the
// evaluated reference pinned in place. What none can do is reported unchanged with the reason.
func (rw *rewriter) fromArgs(d *state, tok ptext, ref string, line int) {
	var whys []string
	try := func(done bool, why string) bool {
		if !done && why != "" {
			whys = append(whys, why)
		}
		return done
	}
	if len(d.args) == 1 {
		name := sortedKeys(d.args)[0]
		if rw.wholeArg(d.raw, name) && !rw.given(name) && try(rw.argDefault(d, name, ref)) {
			return
		}
	}
	done, prefixWhy := rw.prefix(d, tok, ref, line)
	if done || try(rw.inlineDefault(d, tok, line)) || try(rw.argSegment(d)) {
		return
	}
	if prefixWhy != "" {
		whys = append(whys, prefixWhy)
	}
	if try(rw.pin(d, tok, ref, line)) {
		return
	}
	if _, ok := rw.mapRef(ref); !ok || len(whys) == 0 {
		return
	}
	why := whys[0]
	if len(rw.a.opts.BuildArgs) == 0 {
		why += "; give rewrite the build's --build-arg values to pin the evaluated reference"
	}
	rw.change(line, "FROM", d.raw, "", why)
}

// given reports whether the caller gave a --build-arg for name.
func (rw *rewriter) given(name string) bool {
	_, ok := rw.a.opts.BuildArgs[name]
	return ok
}

// cut splits the cache reference of e (the evaluated reference) into the text that replaces e's first
// len(e)-len(suffix) bytes and suffix, which stays as written. mapped=false means the cache does not
// serve e (nothing to do); a non-empty why means it cannot be split so.
func (rw *rewriter) cut(e, suffix string) (text, why string, mapped bool) {
	r, err := imageref.Parse(e)
	if err != nil {
		return "", fmt.Sprintf("the evaluated reference %q is not valid: %v", e, err), false
	}
	to, ok := rw.mapRef(r.WithDefaultTag().String())
	if !ok {
		return "", "", false
	}
	if suffix == "" {
		return to, "", true
	}
	// The variable part must hold whole path components or lie in the tag or digest, the parts a cache
	// reference keeps as they are.
	k := len(e) - len(suffix)
	repoEnd := tagSeparator(e)
	if repoEnd < 0 {
		repoEnd = len(e)
	}
	if k < repoEnd && e[k] != '/' {
		return "", "the variable part of the reference does not start at a path component, tag or digest; left unchanged", true
	}
	cmp := to
	if r.Tag == "" && r.Digest == "" {
		cmp = strings.TrimSuffix(to, ":latest")
	}
	if !strings.HasSuffix(cmp, suffix) || len(cmp) == len(suffix) {
		return "", fmt.Sprintf("the cache reference %s does not keep the part %q that comes from variables; left unchanged", to, suffix), true
	}
	text = cmp[:len(cmp)-len(suffix)]
	if strings.ContainsAny(text, "${}\"'` \t\\") {
		return "", "the cache reference cannot be written inside the variable expression; left unchanged", true
	}
	return text, "", true
}

var defaultExpr = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)`)

// inlineDefault rewrites a plain default inside ${VAR:-default} or ${VAR-default} when the build uses
// that default at the start of the reference: FROM ${BASE:-alpine:3}, FROM ${REG:-quay.io}/org/app.
func (rw *rewriter) inlineDefault(d *state, tok ptext, line int) (done bool, why string) {
	raw := d.raw
	for _, m := range defaultExpr.FindAllStringSubmatchIndex(raw, -1) {
		start := m[1]
		n := strings.IndexByte(raw[start:], '}')
		if n <= 0 {
			continue
		}
		def := raw[start : start+n]
		if strings.ContainsAny(def, "${}\"'") || strings.ContainsRune(def, rw.src.escape) {
			continue
		}
		r, err := rw.a.lex.ProcessWordWithMatches(raw[:start]+markOpen+def+markClose+raw[start+n:], rw.a.global)
		if err != nil {
			continue
		}
		seg, suffix, ok := splitMarked(r.Result)
		if !ok || seg != def || seg+suffix != d.base {
			continue
		}
		text, why, mapped := rw.cut(d.base, suffix)
		if !mapped {
			return true, ""
		}
		if why != "" {
			return false, why
		}
		name, op := raw[m[2]:m[3]], raw[m[4]:m[5]]
		note := fmt.Sprintf("the default inside ${%s%s...} is rewritten; a value of %s at build time bypasses the cache unless it names a cache reference", name, op, name)
		rw.replace(tok.slice(start, start+n), text, line, "FROM", raw, raw[:start]+text+raw[start+n:], note)
		return true, ""
	}
	return false, ""
}

// segDecision is what argSegment decided for one ARG default.
type segDecision struct {
	text string // the new literal start of the default
	why  string // why it is left unchanged
}

// literalStart is the text of an ARG default before its first variable, quote or escape.
func (rw *rewriter) literalStart(raw string) string {
	stop := strings.IndexFunc(raw, func(r rune) bool { return r == '$' || r == '"' || r == '\'' || r == rw.src.escape })
	if stop < 0 {
		return raw
	}
	return raw[:stop]
}

// effectiveDefaults returns, for each global ARG the caller did not give, the index in a.meta of the
// declaration whose default the build uses (the last one with a default), sorted by index.
func (rw *rewriter) effectiveDefaults() []int {
	last := map[string]int{}
	for i, m := range rw.a.meta {
		if m.raw != nil && !rw.given(m.key) {
			last[m.key] = i
		}
	}
	out := make([]int, 0, len(last))
	for _, i := range last {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// markedGlobals evaluates the global ARGs as buildMetaArgs does, with the first n bytes of the default
// of a.meta[idx] wrapped in markers. nil when an ARG fails to evaluate.
// With idx < 0, the value of build arg buildArg is wrapped instead, wherever a declaration takes it.
func (rw *rewriter) markedGlobals(idx, n int, buildArg string) *llb.EnvList {
	a := rw.a
	args := a.defaults
	k := 0
	for _, cmd := range a.metaArgs {
		for _, kp := range cmd.Args {
			var val *string
			if v, ok := a.opts.BuildArgs[kp.Key]; ok {
				if idx < 0 && kp.Key == buildArg {
					v = markOpen + v + markClose
				}
				val = &v
			} else if kp.Value != nil {
				w := *kp.Value
				if k == idx {
					w = markOpen + w[:n] + markClose + w[n:]
				}
				r, err := a.lex.ProcessWordWithMatches(w, args)
				if err != nil {
					return nil
				}
				val = &r.Result
			}
			if val != nil {
				args = args.AddOrReplace(kp.Key, *val)
			}
			k++
		}
	}
	return args
}

// argSegment rewrites the literal start of a global ARG default that starts the base name, in place:
// ARG REG=quay.io + FROM ${REG}/prometheus/node-exporter:v1.8.0 → ARG REG=<cache>/quay. The ARG is
// rewritten only when every base name it reaches (directly or through other ARGs) starts with it and
// maps to the same cache text, and neither it nor an ARG built from it is used inside a stage.
func (rw *rewriter) argSegment(d *state) (done bool, why string) {
	for _, idx := range rw.effectiveDefaults() {
		m := rw.a.meta[idx]
		lit := rw.literalStart(*m.raw)
		if lit == "" {
			continue
		}
		env := rw.markedGlobals(idx, len(lit), "")
		if env == nil {
			continue
		}
		r, err := rw.a.lex.ProcessWordWithMatches(d.raw, env)
		if err != nil {
			continue
		}
		if seg, _, ok := splitMarked(r.Result); !ok || seg != lit {
			continue
		}
		dec := rw.segment(idx, lit, env)
		if dec.why != "" {
			return false, dec.why
		}
		return true, ""
	}
	return false, ""
}

func (rw *rewriter) segment(idx int, lit string, env *llb.EnvList) segDecision {
	a := rw.a
	m := a.meta[idx]
	key := fmt.Sprintf("%d/%s", m.cmd, m.key)
	if dec, ok := rw.segDone[key]; ok {
		return dec
	}
	dec := segDecision{why: fmt.Sprintf("the default of ARG %s is already rewritten as a whole reference; left unchanged", m.key)}
	if !rw.argDone[key] {
		dec = rw.decideMarked(m.key, lit, env)
	}
	rw.segDone[key] = dec
	if dec.why != "" || dec.text == "" {
		return dec
	}
	tok, found := rw.argToken(&m)
	if !found || !strings.HasPrefix(tok.s, lit) {
		rw.change(m.line, "ARG", *m.raw, "", unlocated)
		return dec
	}
	note := fmt.Sprintf("the start of the default of ARG %s, which starts the base name of every stage that uses it; a --build-arg %s=... override bypasses the cache unless it names the cache", m.key, m.key)
	rw.replace(tok.slice(0, len(lit)), dec.text, m.line, "ARG", *m.raw, dec.text+(*m.raw)[len(lit):], note)
	return dec
}

// decideMarked decides what replaces lit, the marked text of ARG name in env: the same cache text must
// serve every base name that the text reaches, each starting with it.
func (rw *rewriter) decideMarked(name, lit string, env *llb.EnvList) segDecision {
	a := rw.a
	leave := func(format string, args ...any) segDecision {
		return segDecision{why: fmt.Sprintf(format, args...) + "; left unchanged"}
	}
	// Every global ARG whose value holds the marked text: none may be visible inside a stage.
	var carriers []string
	for _, k := range env.Keys() {
		if v, ok := env.Get(k); ok && strings.Contains(v, markOpen) {
			carriers = append(carriers, k)
		}
	}
	for _, d := range a.states {
		if d.stage == nil {
			continue
		}
		for _, c := range d.stage.Commands {
			ac, ok := c.(*instructions.ArgCommand)
			if !ok {
				continue
			}
			for _, kp := range ac.Args {
				if kp.Key == name {
					return leave("ARG %s is also used inside stage %s (line %d), where rewriting its value would change it", name, d.id, startLine(ac.Location()))
				}
				if slices.Contains(carriers, kp.Key) {
					return leave("ARG %s carries the value of ARG %s into stage %s (line %d), where rewriting it would change it", kp.Key, name, d.id, startLine(ac.Location()))
				}
			}
		}
	}
	text, first := "", 0
	for _, d := range a.states {
		if d.stage == nil {
			continue
		}
		line := startLine(d.stage.Location)
		if d.stage.Platform != "" {
			if r, err := a.lex.ProcessWordWithMatches(d.stage.Platform, env); err != nil || strings.Contains(r.Result, markOpen) {
				return leave("ARG %s is used in --platform on line %d", name, line)
			}
		}
		r, err := a.lex.ProcessWordWithMatches(d.raw, env)
		if err != nil {
			return leave("ARG %s cannot be traced through the base name on line %d", name, line)
		}
		if !strings.Contains(r.Result, markOpen) && !strings.Contains(r.Result, markClose) {
			continue
		}
		seg, suffix, ok := splitMarked(r.Result)
		if !ok || seg != lit || seg+suffix != d.base {
			return leave("ARG %s is used inside the base name on line %d, not only at its start", name, line)
		}
		if d.parent != nil || d.base == scratchName {
			return leave("ARG %s also names a stage or scratch on line %d", name, line)
		}
		t, why, mapped := rw.cut(d.base, suffix)
		if !mapped {
			return leave("ARG %s also starts %s on line %d, which the cache does not serve", name, d.base, line)
		}
		if why != "" {
			return segDecision{why: why}
		}
		if text != "" && t != text {
			return leave("ARG %s starts references that need different cache texts (lines %d and %d)", name, first, line)
		}
		text, first = t, line
	}
	return segDecision{text: text}
}

// pin replaces a base name built from variables by the cache reference of its value, when the caller
// gave the build's --build-arg values: the image is then the one this build uses, through the cache.
func (rw *rewriter) pin(d *state, tok ptext, ref string, line int) (done bool, why string) {
	if len(rw.a.opts.BuildArgs) == 0 {
		return false, ""
	}
	to, ok := rw.mapRef(ref)
	if !ok {
		return true, ""
	}
	given := slices.Sorted(maps.Keys(rw.a.opts.BuildArgs))
	note := fmt.Sprintf("pinned: %s evaluated with the --build-arg values given to rewrite (%s); other values at build time no longer change this image", d.base, strings.Join(given, ", "))
	rw.replace(tok, to, line, "FROM", d.raw, to, note)
	return true, ""
}

// argToken locates the default of a global ARG declaration in the file.
func (rw *rewriter) argToken(decl *metaArg) (ptext, bool) {
	node := rw.a.nodes[decl.line]
	if node == nil || decl.raw == nil {
		return ptext{}, false
	}
	in, ok := rw.src.locate(node)
	if !ok {
		return ptext{}, false
	}
	ws, oks := words(in.args, rw.src.escape)
	var tok ptext
	found := false
	for i, w := range ws {
		if oks[i] && strings.HasPrefix(w.s, decl.key+"=") {
			tok, found = w.slice(len(decl.key)+1, len(w.s)), true
		}
	}
	if !found || tok.s != *decl.raw {
		return ptext{}, false
	}
	return tok, true
}

// MapBuildArgs returns opts.BuildArgs with every image-valued build arg replaced by its cache value, for
// a build of the rewritten Dockerfile (or the original) with --build-arg: BASE=quay.io/org/app:1 becomes
// BASE=<cache>/quay/org/app:1, and a registry-valued REG=quay.io, which starts every base name it is used
// in, becomes REG=<cache>/quay. A build arg is mapped only when every base name its value reaches starts
// with it and takes the same cache text, and no stage sees it. The Changes say what was mapped and why
// the others that reach a base name were not (Instruction "build-arg", Line the ARG's first declaration).
func MapBuildArgs(file string, data []byte, opts Options, m Mapper) (map[string]string, []Change, error) {
	a, err := analyze(file, data, opts)
	if err != nil {
		return nil, nil, err
	}
	rw := &rewriter{a: a, src: newSource(data, a.res.EscapeToken), m: m, argDone: map[string]bool{}, segDone: map[string]segDecision{}}
	out := maps.Clone(opts.BuildArgs)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(opts.BuildArgs)) {
		v := opts.BuildArgs[k]
		line := 0
		for _, ma := range a.meta {
			if ma.key == k {
				line = ma.line
				break
			}
		}
		if line == 0 || v == "" {
			continue // not a global ARG: it cannot reach a base name
		}
		env := rw.markedGlobals(-1, 0, k)
		if env == nil {
			continue
		}
		dec := rw.decideMarked(k, v, env)
		switch {
		case dec.why != "":
			rw.change(line, "build-arg", k+"="+v, "", dec.why)
		case dec.text != "":
			out[k] = dec.text
			rw.change(line, "build-arg", k+"="+v, k+"="+dec.text, "")
		}
	}
	return out, rw.changes, nil
}
