package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// GitHubSummaryLimit is the size above which GitHub drops a step summary whole (1 MiB per step).
const GitHubSummaryLimit = 1 << 20

// MarkdownOptions tune WriteMarkdown.
type MarkdownOptions struct {
	// Title is the heading; default "ECR pull-through cache".
	Title string
	// MaxBytes bounds the output; rows that do not fit are left out with a note saying how many and of
	// which outcomes. Default (0): 256 KiB, a quarter of GitHub's limit, so that other steps' summaries fit
	// beside it and the table stays readable.
	MaxBytes int
	// Details is a line added under the totals, e.g. where the full report is.
	Details string
}

// DefaultMarkdownBytes is MarkdownOptions.MaxBytes when it is 0.
const DefaultMarkdownBytes = 256 << 10

// WriteMarkdown writes the report as a GitHub-flavoured markdown table with totals and the public-registry
// pulls avoided. Its size never exceeds MaxBytes, whatever the number of images: when rows must be left
// out, errors, fallbacks and misses are kept before warmed, hits and unchanged images.
func WriteMarkdown(w io.Writer, r *Report, o MarkdownOptions) error {
	if o.Title == "" {
		o.Title = "ECR pull-through cache"
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMarkdownBytes
	}
	var head strings.Builder
	fmt.Fprintf(&head, "### %s\n\n", mdText(o.Title))
	if r.Registry != "" {
		fmt.Fprintf(&head, "Cache registry: `%s`\n\n", mdCode(r.Registry))
	}
	t := r.Totals
	fmt.Fprintf(&head, "**%d images**: %d HIT, %d MISS→warmed, %d MISS, %d FALLBACK, %d UNCHANGED, %d ERROR — **%d Docker Hub and other public-registry pulls avoided**\n\n",
		t.Images, t.Hits, t.Warmed, t.Misses, t.Fallbacks, t.Unchanged, t.Errors, t.UpstreamPullsAvoided)
	if o.Details != "" {
		fmt.Fprintf(&head, "%s\n\n", mdText(o.Details))
	}
	const tableHead = "| Image | Cache ref | Outcome | Digest | Size |\n| --- | --- | --- | --- | --- |\n"
	rows := make([]string, len(r.Images))
	for i, im := range r.Images {
		rows[i] = mdRow(im)
	}
	// The note for left-out rows is at most this long.
	const noteReserve = 512
	budget := o.MaxBytes - head.Len() - len(tableHead) - noteReserve
	keep := make([]bool, len(rows))
	if budget > 0 {
		order := make([]int, len(rows))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return rank(r.Images[order[a]].Outcome) < rank(r.Images[order[b]].Outcome) })
		for _, i := range order {
			if len(rows[i]) <= budget {
				keep[i] = true
				budget -= len(rows[i])
			}
		}
	}
	var b strings.Builder
	b.WriteString(head.String())
	if len(rows) > 0 {
		b.WriteString(tableHead)
	}
	left := map[Outcome]int{}
	nLeft := 0
	for i, row := range rows {
		if keep[i] {
			b.WriteString(row)
			continue
		}
		left[r.Images[i].Outcome]++
		nLeft++
	}
	if nLeft > 0 {
		var parts []string
		for _, oc := range []Outcome{Error, Fallback, Miss, Warmed, Hit, Unchanged} {
			if n := left[oc]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, Label(oc)))
			}
		}
		fmt.Fprintf(&b, "\n_%d more images not shown (%s) to keep this summary under %d KiB; the JSON report has every image._\n", nLeft, strings.Join(parts, ", "), o.MaxBytes>>10)
	}
	if b.Len() > o.MaxBytes {
		// Only a tiny MaxBytes gets here: cut at a line boundary.
		s := b.String()[:o.MaxBytes]
		if i := strings.LastIndexByte(s, '\n'); i > 0 {
			s = s[:i+1]
		}
		_, err := io.WriteString(w, s)
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// rank orders outcomes by how much a reader needs to see them.
func rank(o Outcome) int {
	switch o {
	case Error:
		return 0
	case Fallback:
		return 1
	case Miss:
		return 2
	case Warmed:
		return 3
	case Hit:
		return 4
	}
	return 5
}

// maxCell bounds one cell, so a single odd reason cannot eat the summary.
const maxCell = 300

func mdRow(im Image) string {
	cache := "—"
	if im.CacheRef != "" {
		cache = "`" + mdCode(im.CacheRef) + "`"
	}
	outcome := "**" + Label(im.Outcome) + "**"
	if im.Reason != "" && im.Outcome != Hit && im.Outcome != Warmed {
		outcome += "<br>" + mdText(im.Reason)
	}
	digest := "—"
	if im.Digest != "" {
		digest = "`" + mdCode(ShortDigest(im.Digest)) + "`"
	}
	size := HumanSize(im.Size)
	if size == "-" {
		size = "—"
	}
	return fmt.Sprintf("| `%s` | %s | %s | %s | %s |\n", mdCode(im.Ref), cache, outcome, digest, size)
}

// mdText makes s safe inside a table cell: no pipes, line breaks or HTML.
func mdText(s string) string {
	s = clip(s, maxCell)
	return mdTextReplacer.Replace(s)
}

// mdTextReplacer also neutralises links, images and autolinks: a reason comes from a metadata file, and
// the step summary must not render a tracking image or a link the build never wrote.
var mdTextReplacer = strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "'",
	"[", `\[`, "]", `\]`, "!", `\!`, "(", `\(`, ")", `\)`, "*", `\*`, "_", `\_`, "~", `\~`, "\\", `\\`,
	"://", ":&#47;&#47;", "www.", "www&#46;")

// mdCode makes s safe inside a code span in a table cell.
func mdCode(s string) string {
	s = clip(s, maxCell)
	r := strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "`", "'")
	return r.Replace(s)
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
