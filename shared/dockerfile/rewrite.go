package dockerfile

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Rewrite returns data with every image reference m maps replaced by its cache reference, in every
// stage, and the list of changes (including references deliberately left unchanged, with To ""). opts
// evaluate ARGs as in Analyze. On any error it returns no output.
func Rewrite(file string, data []byte, opts Options, m Mapper) ([]byte, []Change, error) {
	a, err := analyze(file, data, opts)
	if err != nil {
		return nil, nil, err
	}
	rw := &rewriter{a: a, src: newSource(data, a.res.EscapeToken), m: m, argDone: map[string]bool{}, segDone: map[string]segDecision{}}
	rw.syntax()
	for _, d := range a.states {
		switch {
		case d.parent != nil || d.base == scratchName:
		case d.unregistered && !strings.HasPrefix(d.origin.instruction, "ONBUILD "):
			rw.source(d)
		case !d.unregistered:
			rw.from(d)
		}
	}
	for _, d := range a.states {
		if d.stage != nil {
			rw.onbuild(d)
		}
	}
	out, err := rw.apply()
	if err != nil {
		return nil, nil, err
	}
	sort.SliceStable(rw.changes, func(i, j int) bool { return rw.changes[i].Line < rw.changes[j].Line })
	return out, rw.changes, nil
}

type edit struct {
	start, end int
	text       string
}

type rewriter struct {
	a       *analyzer
	src     *source
	m       Mapper
	edits   []edit
	changes []Change
	argDone map[string]bool
	// segDone holds the decision for each ARG default whose leading text rewriteSegment considered,
	// by "cmd/key": the new text, or "" with why it is left.
	segDone map[string]segDecision
}

func (rw *rewriter) change(line int, instruction, from, to, note string) {
	rw.changes = append(rw.changes, Change{File: rw.a.file, Line: line, Instruction: instruction, From: from, To: to, Note: note})
}

// replace edits t (text located in the file) or, when t is not an exact copy of the file's bytes,
// reports the reference as unchanged.
func (rw *rewriter) replace(t ptext, text string, line int, instruction, from, to, note string) {
	start, end, ok := t.span(rw.src.data)
	if !ok {
		rw.change(line, instruction, from, "", "the reference is split by quotes, escapes or a line continuation; left unchanged")
		return
	}
	for _, e := range rw.edits {
		if e.start < end && start < e.end && (e.start != start || e.end != end || e.text != text) {
			rw.change(line, instruction, from, "", "the text is also part of another rewrite; left unchanged")
			return
		}
	}
	rw.edits = append(rw.edits, edit{start, end, text})
	rw.change(line, instruction, from, to, note)
}

func (rw *rewriter) mapRef(ref string) (string, bool) {
	to, ok := rw.m(ref)
	if !ok || to == "" || to == ref {
		return "", false
	}
	return to, true
}

const unlocated = "could not find the reference in the source text; left unchanged"

// directiveValue is the parser's directive pattern (parser.DirectiveParser).
var directiveValue = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)

func (rw *rewriter) syntax() {
	u := rw.a.fileSyntax
	if u == nil || u.Ref == "" {
		return
	}
	to, ok := rw.mapRef(u.Ref)
	if !ok {
		return
	}
	line := u.Line
	if line > rw.src.lines() {
		rw.change(line, "syntax", u.Raw, "", unlocated)
		return
	}
	raw, off := rw.src.line(line)
	raw = bytes.TrimRight(raw, "\r\n")
	rest, ok := bytes.CutPrefix(raw, []byte("#"))
	if !ok {
		rw.change(line, "syntax", u.Raw, "", unlocated)
		return
	}
	off += len(raw) - len(rest)
	trimmed := bytes.TrimLeftFunc(rest, unicode.IsSpace)
	off += len(rest) - len(trimmed)
	m := directiveValue.FindSubmatchIndex(trimmed)
	if m == nil || !strings.EqualFold(string(trimmed[m[2]:m[3]]), "syntax") {
		rw.change(line, "syntax", u.Raw, "", unlocated)
		return
	}
	var b ptextBuilder
	b.addFile(trimmed[m[4]:m[5]], off+m[4])
	v := b.text()
	if i := strings.IndexByte(v.s, ' '); i >= 0 {
		v = v.slice(0, i)
	}
	if v.s != u.Raw {
		rw.change(line, "syntax", u.Raw, "", unlocated)
		return
	}
	rw.replace(v, to, line, "syntax", u.Raw, to, "")
}

// from rewrites the base name of a stage that starts from an image.
func (rw *rewriter) from(d *state) {
	a := rw.a
	line := startLine(d.stage.Location)
	ref, err := imageref.Normalize(d.base)
	if err != nil {
		rw.change(line, "FROM", d.raw, "", fmt.Sprintf("invalid reference %q: %v", d.base, err))
		return
	}
	node := a.nodes[line]
	var tok ptext
	if node != nil {
		if in, ok := rw.src.locate(node); ok {
			tok = firstField(in.args)
		}
	}
	if tok.s != d.raw || node == nil || node.Next == nil || node.Next.Value != d.raw {
		if _, ok := rw.mapRef(ref); ok {
			rw.change(line, "FROM", d.raw, "", unlocated)
		}
		return
	}
	if len(d.args) == 0 && len(d.unset) == 0 {
		to, ok := rw.mapRef(ref)
		if !ok {
			return
		}
		if inner, ok := unquote(tok, d.base); ok {
			rw.replace(inner, to, line, "FROM", d.raw, strings.Replace(d.raw, d.base, to, 1), "")
		} else {
			rw.change(line, "FROM", d.raw, "", "the reference is quoted or escaped; left unchanged")
		}
		return
	}
	rw.fromArgs(d, tok, ref, line)
}

// wholeArg reports whether raw is exactly one use of ARG name: $name, ${name}, ${name:-x} or ${name-x}.
func (rw *rewriter) wholeArg(raw, name string) bool {
	forms := raw == "$"+name || raw == "${"+name+"}" ||
		((strings.HasPrefix(raw, "${"+name+":-") || strings.HasPrefix(raw, "${"+name+"-")) && strings.HasSuffix(raw, "}"))
	if !forms {
		return false
	}
	const sentinel = "\x00ecr-ptc-sentinel\x00"
	r, err := rw.a.lex.ProcessWordWithMatches(raw, oneEnv{name, sentinel})
	return err == nil && r.Result == sentinel
}

// oneEnv is an environment with a single variable.
type oneEnv struct{ k, v string }

func (e oneEnv) Get(k string) (string, bool) {
	if k == e.k {
		return e.v, true
	}
	return "", false
}
func (e oneEnv) Keys() []string { return []string{e.k} }

// argDefault rewrites the default of the global ARG that is a stage's whole base name. It reports
// done=false, with the reason, when another way should be tried.
func (rw *rewriter) argDefault(d *state, name, ref string) (done bool, why string) {
	a := rw.a
	leave := func(why string) (bool, string) { return false, why }
	var decl *metaArg
	for i := range a.meta {
		if a.meta[i].key == name && a.meta[i].raw != nil {
			decl = &a.meta[i]
		}
	}
	if decl == nil {
		return leave(fmt.Sprintf("ARG %s has no default before the first FROM (its value comes from --build-arg); left unchanged", name))
	}
	if why := rw.otherUse(name); why != "" {
		return leave(fmt.Sprintf("ARG %s is also %s, which rewriting its default would change; left unchanged", name, why))
	}
	r, err := a.lex.ProcessWordWithMatches(*decl.raw, shell.EnvsFromSlice(nil))
	if err != nil || len(r.Matched) > 0 || len(r.Unmatched) > 0 {
		return leave(fmt.Sprintf("the default of ARG %s is built from other ARGs; left unchanged", name))
	}
	value := r.Result
	if _, isStage := a.byName[value]; isStage {
		return leave(fmt.Sprintf("the default of ARG %s names a stage; left unchanged", name))
	}
	key := fmt.Sprintf("%d/%s", decl.cmd, name)
	if rw.argDone[key] {
		return true, ""
	}
	if _, ok := rw.segDone[key]; ok {
		return leave(fmt.Sprintf("the default of ARG %s is also the start of other references", name))
	}
	rw.argDone[key] = true
	vref, err := imageref.Normalize(value)
	if err != nil {
		rw.change(decl.line, "ARG", value, "", fmt.Sprintf("the default of ARG %s is not a valid reference: %v", name, err))
		return true, ""
	}
	to, ok := rw.mapRef(vref)
	if !ok {
		return true, ""
	}
	tok, found := rw.argToken(decl)
	if !found {
		rw.change(decl.line, "ARG", value, "", unlocated)
		return true, ""
	}
	tok, ok = unquote(tok, value)
	if !ok {
		rw.change(decl.line, "ARG", value, "", fmt.Sprintf("the default of ARG %s is quoted or escaped; left unchanged", name))
		return true, ""
	}
	note := fmt.Sprintf("default of ARG %s, the whole FROM reference; a --build-arg %s=... override bypasses the cache unless it names a cache reference", name, name)
	rw.replace(tok, to, decl.line, "ARG", value, to, note)
	return true, ""
}

// unquote returns the part of tok that holds value: all of it, or what is inside one pair of quotes.
// Anything else (escapes, partial quoting) is not replaced in place.
func unquote(tok ptext, value string) (ptext, bool) {
	switch s := tok.s; {
	case s == value:
		return tok, true
	case len(s) == len(value)+2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] && s[1:len(s)-1] == value:
		return tok.slice(1, len(s)-1), true
	}
	return ptext{}, false
}

// otherUse says how else a global ARG is used before the stages begin, if at all.
func (rw *rewriter) otherUse(name string) string {
	a := rw.a
	for _, d := range a.states {
		if d.stage == nil {
			continue
		}
		if _, ok := d.platArgs[name]; ok {
			return fmt.Sprintf("used in --platform on line %d", startLine(d.stage.Location))
		}
		if _, ok := d.args[name]; ok && !rw.wholeArg(d.raw, name) {
			return fmt.Sprintf("part of the base name on line %d", startLine(d.stage.Location))
		}
	}
	for _, m := range a.meta {
		if m.raw == nil || m.key == name {
			continue
		}
		r, err := a.lex.ProcessWordWithMatches(*m.raw, oneEnv{name, "x"})
		if _, ok := r.Matched[name]; ok || err != nil {
			return fmt.Sprintf("used by ARG %s on line %d", m.key, m.line)
		}
	}
	return ""
}

// prefix handles a base name whose repository is literal and whose tag or digest uses ARGs: only the
// repository text is replaced.
func (rw *rewriter) prefix(d *state, tok ptext, ref string, line int) (done bool, why string) {
	leave := func(why string) (bool, string) { return false, why }
	stop := strings.IndexFunc(d.raw, func(r rune) bool { return r == '$' || r == '"' || r == '\'' || r == rw.src.escape })
	if stop < 0 {
		return leave("the reference is quoted or escaped; left unchanged")
	}
	lit := d.raw[:stop]
	end := tagSeparator(lit)
	vars := sortedKeys(d.args)
	for _, k := range sortedKeys(d.unset) {
		vars = append(vars, k+" (unset)")
	}
	fromArgs := fmt.Sprintf("the repository part is built from variables (%s); left unchanged, so this image is pulled without the cache", strings.Join(vars, ", "))
	if end < 0 {
		return leave(fromArgs)
	}
	repo := lit[:end]
	ev, err1 := imageref.Parse(d.base)
	lr, err2 := imageref.Parse(repo)
	if err1 != nil || err2 != nil || ev.Name() != lr.Name() || !strings.HasPrefix(d.base, repo) {
		return leave(fromArgs)
	}
	to, ok := rw.mapRef(ref)
	if !ok {
		return true, ""
	}
	mr, err := imageref.Parse(to)
	evt := ev.WithDefaultTag()
	if err != nil || mr.Tag != evt.Tag || mr.Digest != evt.Digest {
		return leave("the cache reference changes the tag or digest, which comes from ARGs here; left unchanged")
	}
	suffix := ""
	if mr.Tag != "" {
		suffix += ":" + mr.Tag
	}
	if mr.Digest != "" {
		suffix += "@" + mr.Digest
	}
	if !strings.HasSuffix(to, suffix) {
		return leave("the cache reference is not of the form repository[:tag][@digest]; left unchanged")
	}
	cacheRepo := strings.TrimSuffix(to, suffix)
	rw.replace(tok.slice(0, end), cacheRepo, line, "FROM", d.raw, cacheRepo+d.raw[end:],
		"only the repository is rewritten; the tag or digest still comes from ARGs")
	return true, ""
}

// tagSeparator returns the index of the ':' or '@' that ends the repository in a reference prefix, or
// -1 when the prefix does not hold a complete repository.
func tagSeparator(s string) int {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		pre := s[:i]
		if j := strings.LastIndexByte(pre, ':'); j >= 0 && j > strings.LastIndexByte(pre, '/') {
			return j
		}
		return i
	}
	if j := strings.LastIndexByte(s, ':'); j >= 0 && j > strings.LastIndexByte(s, '/') {
		return j
	}
	return -1
}

// source rewrites the image of a COPY --from or RUN --mount=from.
func (rw *rewriter) source(d *state) {
	o := d.origin
	ref, err := imageref.Normalize(d.raw)
	if err != nil {
		rw.change(o.line, o.instruction, d.raw, "", fmt.Sprintf("invalid reference %q: %v", d.raw, err))
		return
	}
	to, ok := rw.mapRef(ref)
	if !ok {
		return
	}
	tok, ok := rw.sourceToken(o)
	if !ok || tok.s != d.raw {
		rw.change(o.line, o.instruction, d.raw, "", unlocated)
		return
	}
	rw.replace(tok, to, o.line, o.instruction, d.raw, to, "")
}

func (rw *rewriter) sourceToken(o *origin) (ptext, bool) {
	if o.node == nil {
		return ptext{}, false
	}
	in, ok := rw.src.locate(o.node)
	if !ok {
		return ptext{}, false
	}
	if o.mount < 0 {
		vals := in.flagValues("from")
		if len(vals) != 1 {
			return ptext{}, false
		}
		return vals[0], true
	}
	mounts := in.flagValues("mount")
	if o.mount >= len(mounts) {
		return ptext{}, false
	}
	fields, ok := csvFields(mounts[o.mount])
	if !ok {
		return ptext{}, false
	}
	var tok ptext
	found := false
	for _, f := range fields {
		k, _, hasValue := strings.Cut(f.s, "=")
		if hasValue && strings.ToLower(k) == "from" {
			tok, found = f.slice(len(k)+1, len(f.s)), true
		}
	}
	return tok, found
}

const onbuildKept = "ONBUILD triggers are not rewritten: they also run in builds that use this image as a base, which may not be able to pull from the cache"

// onbuild reports trigger images the mapper would rewrite as deliberately unchanged.
func (rw *rewriter) onbuild(d *state) {
	for _, c := range d.commands {
		ob, ok := c.cmd.(*instructions.OnbuildCommand)
		if !ok {
			continue
		}
		ic, err := parseTrigger(ob.Expression)
		if err != nil {
			continue
		}
		for _, from := range triggerSources(ic) {
			if _, isStage := rw.a.findStateByName(from); isStage {
				continue
			}
			ref, err := imageref.Normalize(from)
			if err != nil {
				continue
			}
			if _, ok := rw.mapRef(ref); ok {
				rw.change(c.line, "ONBUILD", from, "", onbuildKept)
			}
		}
	}
}

func (rw *rewriter) apply() ([]byte, error) {
	edits := slices.Clone(rw.edits)
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	edits = slices.Compact(edits)
	var out bytes.Buffer
	prev := 0
	for _, e := range edits {
		if e.start < prev {
			return nil, &Error{File: rw.a.file, Msg: "internal error: overlapping rewrites"}
		}
		out.Write(rw.src.data[prev:e.start])
		out.WriteString(e.text)
		prev = e.end
	}
	out.Write(rw.src.data[prev:])
	return out.Bytes(), nil
}
