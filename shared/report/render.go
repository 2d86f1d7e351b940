package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Label is the outcome as people read it in tables.
func Label(o Outcome) string {
	switch o {
	case Hit:
		return "HIT"
	case Miss:
		return "MISS"
	case Warmed:
		return "MISS→warmed"
	case Unchanged:
		return "UNCHANGED"
	case Fallback:
		return "FALLBACK"
	default:
		return "ERROR"
	}
}

// WriteText writes an aligned table and a totals line.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tOUTCOME\tCACHE REF\tDIGEST\tSIZE\tNOTE")
	for _, im := range r.Images {
		cache := im.CacheRef
		if cache == "" {
			cache = "-"
		}
		note := ""
		if im.Outcome != Hit && im.Outcome != Warmed {
			note = im.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", TextCell(im.Ref), Label(im.Outcome), TextCell(cache), TextCell(ShortDigest(im.Digest)), HumanSize(im.Size), TextCell(note))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, Summary(r.Totals))
	return err
}

// Summary is the one-line totals.
func Summary(t Totals) string {
	parts := []string{fmt.Sprintf("%d images", t.Images), fmt.Sprintf("%d hits", t.Hits), fmt.Sprintf("%d warmed", t.Warmed), fmt.Sprintf("%d misses", t.Misses)}
	if t.Unchanged > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", t.Unchanged))
	}
	if t.Fallbacks > 0 {
		parts = append(parts, fmt.Sprintf("%d fallbacks", t.Fallbacks))
	}
	if t.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d errors", t.Errors))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; %d public-registry pulls avoided", t.UpstreamPullsAvoided)
}

// ShortDigest shortens sha256:abcdef… to sha256:abcdef123456.
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	if d == "" {
		return "-"
	}
	return d
}

// HumanSize prints bytes in binary units.
func HumanSize(n int64) string {
	if n <= 0 {
		return "-"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// TextCell makes s safe for one cell of a text table printed to a CI log: control characters (line
// breaks, tabs, terminal escapes) are shown escaped, so a reason or reference cannot start a new line
// (a workflow command on GitHub, a section marker on GitLab), and the cell is cut at maxCell bytes.
func TextCell(s string) string {
	s = clip(s, maxCell)
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
