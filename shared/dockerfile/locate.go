package dockerfile

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// The locator replays, with byte offsets, the few steps of BuildKit's parser that turn physical lines into
// an instruction's words: line joining, command/flag splitting and word splitting. It decides nothing:
// each result is compared with what BuildKit parsed, and a mismatch means "cannot locate", never a guess.

// ptext is text taken from the file with, for every byte, its offset in the file (-1 for bytes that do
// not come from one file byte, such as a re-encoded rune).
type ptext struct {
	s   string
	pos []int
}

func (t ptext) slice(i, j int) ptext { return ptext{t.s[i:j], t.pos[i:j]} }

// span reports the file range of t when t is an exact, contiguous copy of the file's bytes: only such
// text can be replaced in place.
func (t ptext) span(data []byte) (start, end int, ok bool) {
	if len(t.s) == 0 || t.pos[0] < 0 {
		return 0, 0, false
	}
	start = t.pos[0]
	for i, p := range t.pos {
		if p != start+i {
			return 0, 0, false
		}
	}
	end = start + len(t.s)
	if end > len(data) || string(data[start:end]) != t.s {
		return 0, 0, false
	}
	return start, end, true
}

// trimLeftSpace drops leading Unicode white space, as strings.TrimSpace / TrimLeftFunc do.
func (t ptext) trimLeftSpace() ptext {
	n := len(t.s) - len(strings.TrimLeftFunc(t.s, unicode.IsSpace))
	return t.slice(n, len(t.s))
}

func (t ptext) trimSpace() ptext {
	t = t.trimLeftSpace()
	return t.slice(0, len(strings.TrimRightFunc(t.s, unicode.IsSpace)))
}

type ptextBuilder struct {
	b   []byte
	pos []int
}

func (b *ptextBuilder) addFile(data []byte, off int) {
	b.b = append(b.b, data...)
	for i := range data {
		b.pos = append(b.pos, off+i)
	}
}

// addRune appends r as strings.Builder.WriteRune does, every byte attributed to src when it is a single
// byte, else to no file byte.
func (b *ptextBuilder) addRune(r rune, src int, width int) {
	n := len(b.b)
	b.b = utf8.AppendRune(b.b, r)
	for i := n; i < len(b.b); i++ {
		if width == 1 && len(b.b)-n == 1 {
			b.pos = append(b.pos, src)
		} else {
			b.pos = append(b.pos, -1)
		}
	}
}

func (b *ptextBuilder) text() ptext { return ptext{string(b.b), b.pos} }

// source is the file split into the physical lines BuildKit's scanner sees.
type source struct {
	data   []byte
	starts []int // starts[k] is the offset of line k (1-based); starts[0] unused
	escape rune
	cont   *regexp.Regexp
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newSource(data []byte, escape rune) *source {
	s := &source{data: data, escape: escape, starts: []int{0}}
	for off := 0; off < len(data); {
		s.starts = append(s.starts, off)
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	e := regexp.QuoteMeta(string(escape))
	// The parser's line-continuation pattern (directives.setEscapeToken).
	s.cont = regexp.MustCompile(`([^` + e + `])` + e + `[ \t]*$|^` + e + `[ \t]*$`)
	return s
}

func (s *source) lines() int { return len(s.starts) - 1 }

// line returns physical line k with its offset, the byte-order mark dropped from line 1 as the parser
// does.
func (s *source) line(k int) ([]byte, int) {
	start := s.starts[k]
	end := len(s.data)
	if k+1 < len(s.starts) {
		end = s.starts[k+1]
	}
	b := s.data[start:end]
	if k == 1 && bytes.HasPrefix(b, bom) {
		return b[len(bom):], start + len(bom)
	}
	return b, start
}

func isCommentLine(b []byte) bool {
	b = bytes.TrimLeftFunc(b, unicode.IsSpace)
	return len(b) > 0 && b[0] == '#'
}

// trimCont removes a trailing line-continuation token; end reports that the instruction ends here.
func (s *source) trimCont(b []byte) (out []byte, end bool) {
	m := s.cont.FindSubmatchIndex(b)
	if m == nil {
		return b, true
	}
	if m[2] >= 0 {
		return b[:m[3]], false
	}
	return b[:m[0]], false
}

// logical rebuilds the instruction that starts on line start exactly as parser.Parse joins it (heredoc
// bodies, which follow, are not part of it).
func (s *source) logical(start int) (ptext, bool) {
	if start < 1 || start > s.lines() {
		return ptext{}, false
	}
	var b ptextBuilder
	raw, off := s.line(start)
	tok := bytes.TrimRight(raw, "\r\n")
	lead := len(tok) - len(bytes.TrimLeftFunc(tok, unicode.IsSpace))
	tok, off = tok[lead:], off+lead
	if isCommentLine(tok) {
		tok = nil
	}
	tok, end := s.trimCont(tok)
	b.addFile(tok, off)
	for k := start + 1; !end && k <= s.lines(); k++ {
		raw, off := s.line(k)
		tok := bytes.TrimRight(raw, "\r\n")
		if isCommentLine(raw) || len(bytes.TrimLeftFunc(tok, unicode.IsSpace)) == 0 {
			continue
		}
		tok, end = s.trimCont(tok)
		b.addFile(tok, off)
	}
	return b.text(), true
}

// reWhitespace is the parser's separator between a command and its arguments and between FROM's words.
var reWhitespace = regexp.MustCompile(`[\t\v\f\r ]+`)

// splitCommand replays parser.splitCommand: the command word, its --flags (quotes and escapes removed,
// as BuildKit hands them to the instruction) and the rest.
func splitCommand(line ptext, escape rune) (cmd ptext, flags []ptext, args ptext) {
	t := line.trimSpace()
	loc := reWhitespace.FindStringIndex(t.s)
	if loc == nil {
		return t, nil, t.slice(len(t.s), len(t.s))
	}
	cmd = t.slice(0, loc[0])
	rest := t.slice(loc[1], len(t.s))
	remaining, flags := extractFlags(rest, escape)
	return cmd, flags, remaining.trimSpace()
}

// extractFlags replays parser.extractBuilderFlags, which reads the line byte by byte.
func extractFlags(line ptext, escape rune) (ptext, []ptext) {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	var words []ptext
	phase := inSpaces
	var sb ptextBuilder
	quote := rune(0)
	blankOK := false
	var ch rune
	s := line.s
	empty := line.slice(len(s), len(s))
	add := func(pos int) { sb.addRune(ch, line.pos[pos], 1) }
	for pos := 0; pos <= len(s); pos++ {
		if pos != len(s) {
			ch = rune(s[pos])
		}
		if phase == inSpaces {
			if pos == len(s) {
				break
			}
			if unicode.IsSpace(ch) {
				continue
			}
			if ch != '-' || pos+1 == len(s) || rune(s[pos+1]) != '-' {
				return line.slice(pos, len(s)), words
			}
			phase = inWord
		}
		if (phase == inWord || phase == inQuote) && pos == len(s) {
			if w := sb.text(); w.s != "--" && (blankOK || len(w.s) > 0) {
				words = append(words, w)
			}
			break
		}
		if phase == inWord {
			if unicode.IsSpace(ch) {
				w := sb.text()
				phase = inSpaces
				if w.s == "--" {
					return line.slice(pos, len(s)), words
				}
				if blankOK || len(w.s) > 0 {
					words = append(words, w)
				}
				sb = ptextBuilder{}
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
				blankOK = true
				phase = inQuote
				continue
			}
			if ch == escape {
				if pos+1 == len(s) {
					continue
				}
				pos++
				ch = rune(s[pos])
			}
			add(pos)
			continue
		}
		if phase == inQuote {
			if ch == quote {
				phase = inWord
				continue
			}
			if ch == escape {
				if pos+1 == len(s) {
					phase = inWord
					continue
				}
				pos++
				ch = rune(s[pos])
			}
			add(pos)
		}
	}
	return empty, words
}

// firstField is the first whitespace-separated word, as parseStringsWhitespaceDelimited splits FROM.
func firstField(args ptext) ptext {
	if loc := reWhitespace.FindStringIndex(args.s); loc != nil {
		return args.slice(0, loc[0])
	}
	return args
}

// words replays parser.parseWords (used for ARG), returning each word's raw range in args. The parser
// keeps words' raw text, so a word is a plain slice of the line; a word whose text differs from its
// slice (a dropped trailing escape) is returned with ok=false.
func words(args ptext, escape rune) (out []ptext, ok []bool) {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	rest := args.s
	phase := inSpaces
	quote := rune(0)
	blankOK := false
	var ch rune
	var chWidth int
	var sb strings.Builder
	start := 0
	emit := func(end int) {
		w := args.slice(start, end)
		out = append(out, w)
		ok = append(ok, w.s == sb.String())
	}
	for pos := 0; pos <= len(rest); pos += chWidth {
		if pos != len(rest) {
			ch, chWidth = utf8.DecodeRuneInString(rest[pos:])
		}
		if phase == inSpaces {
			if pos == len(rest) {
				break
			}
			if unicode.IsSpace(ch) {
				continue
			}
			phase = inWord
			start = pos
		}
		if (phase == inWord || phase == inQuote) && pos == len(rest) {
			if blankOK || sb.Len() > 0 {
				emit(pos)
			}
			break
		}
		if phase == inWord {
			if unicode.IsSpace(ch) {
				phase = inSpaces
				if blankOK || sb.Len() > 0 {
					emit(pos)
				}
				sb.Reset()
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
				blankOK = true
				phase = inQuote
			}
			if ch == escape {
				if pos+chWidth == len(rest) {
					continue
				}
				sb.WriteRune(ch)
				pos += chWidth
				ch, chWidth = utf8.DecodeRuneInString(rest[pos:])
			}
			sb.WriteRune(ch)
			continue
		}
		if phase == inQuote {
			if ch == quote {
				phase = inWord
			}
			if ch == escape && quote != '\'' {
				if pos+chWidth == len(rest) {
					phase = inWord
					continue
				}
				pos += chWidth
				sb.WriteRune(ch)
				ch, chWidth = utf8.DecodeRuneInString(rest[pos:])
			}
			sb.WriteRune(ch)
		}
	}
	return out, ok
}

// csvFields splits a --mount value into fields as go-csvvalue does, for values whose quoted fields hold
// no doubled quotes; ok=false means the value is outside that subset.
func csvFields(v ptext) (fields []ptext, ok bool) {
	s := v.s
	i := 0
	for {
		if i < len(s) && s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, false
			}
			end := i + 1 + j
			fields = append(fields, v.slice(i+1, end))
			switch {
			case end+1 == len(s):
				return fields, true
			case s[end+1] == ',':
				i = end + 2
				continue
			default:
				return nil, false // `""` or a bare quote
			}
		}
		j := strings.IndexByte(s[i:], ',')
		if j < 0 {
			fields = append(fields, v.slice(i, len(s)))
			return fields, !strings.Contains(s[i:], `"`)
		}
		if strings.Contains(s[i:i+j], `"`) {
			return nil, false
		}
		fields = append(fields, v.slice(i, i+j))
		i += j + 1
	}
}

// instruction is one located instruction: its command word, flags and arguments as BuildKit split them.
type instruction struct {
	cmd   ptext
	flags []ptext
	args  ptext
}

// locate finds node's words in the file and checks them against the parsed node.
func (s *source) locate(node *parser.Node) (instruction, bool) {
	line, ok := s.logical(node.StartLine)
	if !ok || line.s != node.Original {
		return instruction{}, false
	}
	return locateIn(line, node, s.escape)
}

func locateIn(line ptext, node *parser.Node, escape rune) (instruction, bool) {
	cmd, flags, args := splitCommand(line, escape)
	if cmd.s != node.Value || len(flags) != len(node.Flags) {
		return instruction{}, false
	}
	for i, f := range flags {
		if f.s != node.Flags[i] {
			return instruction{}, false
		}
	}
	return instruction{cmd: cmd, flags: flags, args: args}, true
}

// flagValues returns the values of the --name=value flags, in order.
func (in instruction) flagValues(name string) []ptext {
	var out []ptext
	prefix := "--" + name + "="
	for _, f := range in.flags {
		if strings.HasPrefix(f.s, prefix) {
			out = append(out, f.slice(len(prefix), len(f.s)))
		}
	}
	return out
}
