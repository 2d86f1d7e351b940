package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", im.Ref, Label(im.Outcome), cache, ShortDigest(im.Digest), HumanSize(im.Size), note)
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
