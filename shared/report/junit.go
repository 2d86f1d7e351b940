package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnitOptions tune WriteJUnit.
type JUnitOptions struct {
	// Suite names the test suite; default "ecr-ptc pull-through cache".
	Suite string
}

// WriteJUnit writes the report as JUnit XML, the format CodeBuild report groups (file-format JUNITXML) and
// GitLab (artifacts: reports: junit) read: one test case per image, named by its reference.
//
//   - HIT and MISS→warmed pass.
//   - MISS (not warmed) passes too: the build pulls it through the cache itself; the reason is in
//     system-out.
//   - FALLBACK is a failure: the build pulls it from the public registry, which is what the cache is
//     there to prevent, so it must be seen (CodeBuild and GitLab show it red) without failing the build
//     itself; use --strict for that.
//   - UNCHANGED is skipped: the cache does not serve that image by design (no rule for its registry, an
//     unsupported or local registry, scratch), which is a choice, not a failure.
//   - ERROR is an error: the image could not be checked.
func WriteJUnit(w io.Writer, r *Report, o JUnitOptions) error {
	if o.Suite == "" {
		o.Suite = "ecr-ptc pull-through cache"
	}
	s := junitSuite{Name: o.Suite, Tests: len(r.Images)}
	if !r.GeneratedAt.IsZero() {
		s.Timestamp = r.GeneratedAt.UTC().Format("2006-01-02T15:04:05")
	}
	var total float64
	for _, im := range r.Images {
		sec := float64(im.DurationMS) / 1000
		total += sec
		c := junitCase{Name: im.Ref, Classname: "ecr-ptc." + classname(im), Time: fmt.Sprintf("%.3f", sec), SystemOut: &junitText{caseDetails(r, im)}}
		msg := Label(im.Outcome)
		if im.Reason != "" {
			msg += ": " + im.Reason
		}
		switch im.Outcome {
		case Fallback:
			s.Failures++
			c.Failure = &junitProblem{Message: msg, Type: "fallback", Text: "The build pulls " + im.Ref + " from its public registry instead of the cache. " + im.Reason}
		case Unchanged:
			s.Skipped++
			c.Skipped = &junitProblem{Message: msg}
		case Error:
			s.Errors++
			c.Error = &junitProblem{Message: msg, Type: "error", Text: im.Reason}
		}
		s.Cases = append(s.Cases, c)
	}
	for i := range s.Cases {
		xmlSafeCase(&s.Cases[i])
	}
	s.Time = fmt.Sprintf("%.3f", total)
	doc := junitSuites{Name: "ecr-ptc", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// classname groups test cases by upstream registry, as report viewers group by class.
func classname(im Image) string {
	if im.Upstream != "" {
		return strings.ReplaceAll(im.Upstream, ".", "_")
	}
	if host, _, ok := strings.Cut(im.Ref, "/"); ok && strings.ContainsAny(host, ".:") {
		return strings.ReplaceAll(host, ".", "_")
	}
	return "images"
}

func caseDetails(r *Report, im Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome: %s\n", Label(im.Outcome))
	if im.CacheRef != "" {
		fmt.Fprintf(&b, "cache ref: %s\n", im.CacheRef)
	}
	if im.Digest != "" {
		fmt.Fprintf(&b, "digest: %s\n", im.Digest)
	}
	if im.Size > 0 {
		fmt.Fprintf(&b, "size: %s\n", HumanSize(im.Size))
	}
	if im.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", im.Reason)
	}
	for _, u := range im.Uses {
		fmt.Fprintf(&b, "used at: %s:%d (%s)\n", u.File, u.Line, u.Instruction)
	}
	if r.Registry != "" {
		fmt.Fprintf(&b, "cache registry: %s\n", r.Registry)
	}
	return b.String()
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitText is CDATA, so multi-line details stay readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

// xmlSafeCase replaces what XML 1.0 cannot hold (control characters other than tab and line breaks,
// invalid UTF-8): a reason or reference from a metadata file must not make the whole report unreadable.
// encoding/xml escapes attributes and text but writes CDATA as it is.
func xmlSafeCase(c *junitCase) {
	c.Name = xmlSafe(c.Name)
	for _, p := range []*junitProblem{c.Failure, c.Error, c.Skipped} {
		if p != nil {
			p.Message, p.Text = xmlSafe(p.Message), xmlSafe(p.Text)
		}
	}
	if c.SystemOut != nil {
		c.SystemOut.Text = xmlSafe(c.SystemOut.Text)
	}
}

func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xfffe, r == 0xffff, r >= 0xd800 && r <= 0xdfff:
			return '\ufffd'
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}
