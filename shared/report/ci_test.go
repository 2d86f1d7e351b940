package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./shared/report -update rewrites it):\n%s", name, got)
	}
}

// sample has every outcome once.
func sample() *Report {
	reg := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	r := &Report{Registry: reg, GeneratedAt: time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), Images: []Image{
		{Ref: "docker.io/library/node:20", CacheRef: reg + "/docker-hub/library/node:20", Outcome: Hit, Digest: "sha256:1a70dfa3c3c6a7f4e7b1c8bd9a0c5e3d2f1e0a9b8c7d6e5f4a3b2c1d0e9f8a7b", Size: 48 << 20, DurationMS: 12,
			Uses: []Use{{File: "Dockerfile", Line: 3, Instruction: "FROM"}}},
		{Ref: "ghcr.io/tini-org/tini:v0.19.0", CacheRef: reg + "/github/tini-org/tini:v0.19.0", Outcome: Warmed, Digest: "sha256:fd88343c5e3b", Size: 525, DurationMS: 412},
		{Ref: "docker.io/bitnami/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000", CacheRef: reg + "/docker-hub/bitnami/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000", Outcome: Miss, Reason: "digest-only reference not in the cache; pin tag@digest"},
		{Ref: "docker.io/library/alpine:3.20", CacheRef: reg + "/docker-hub/library/alpine:3.20", Outcome: Fallback, Reason: "the cached tag is sha256:aaa, not the pinned sha256:bbb | <odd>"},
		{Ref: "mcr.microsoft.com/dotnet/runtime:8.0", Outcome: Unchanged, Reason: "ECR's pull-through cache does not support mcr.microsoft.com"},
		{Ref: "quay.io/coreos/etcd:v3.5.0", CacheRef: reg + "/quay/coreos/etcd:v3.5.0", Outcome: Error, Reason: "DescribeImages: throttled"},
	}}
	r.Tally()
	return r
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sample(), MarkdownOptions{Details: "Full report: report.json"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md", b.Bytes())
}

// GitHub drops a step summary over 1 MiB whole: the table must stay under the bound for any repo size,
// keeping the rows people need to act on.
func TestMarkdownBoundedForHugeRepos(t *testing.T) {
	r := &Report{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com"}
	for i := range 60000 {
		o := Hit
		if i%1000 == 7 {
			o = Fallback
		}
		r.Images = append(r.Images, Image{Ref: fmt.Sprintf("docker.io/org/image-%05d:%s", i, strings.Repeat("t", 100)), CacheRef: "x/" + strings.Repeat("c", 200), Outcome: o, Reason: strings.Repeat("r", 5000), Digest: "sha256:" + strings.Repeat("a", 64), Size: 1 << 20})
	}
	r.Tally()
	for _, max := range []int{0, GitHubSummaryLimit, 4096, 100} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, r, MarkdownOptions{MaxBytes: max}); err != nil {
			t.Fatal(err)
		}
		limit := max
		if limit == 0 {
			limit = DefaultMarkdownBytes
		}
		if b.Len() > limit {
			t.Errorf("MaxBytes %d: %d bytes", max, b.Len())
		}
		if max >= 4096 {
			if !strings.Contains(b.String(), "more images not shown") || !strings.Contains(b.String(), "60000 images") {
				t.Errorf("MaxBytes %d: no truncation note or totals", max)
			}
			if !strings.Contains(b.String(), "image-00007") {
				t.Errorf("MaxBytes %d: a FALLBACK row was dropped before HIT rows", max)
			}
		}
	}
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sample(), JUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", b.Bytes())
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 6 || doc.Failures != 1 || doc.Skipped != 1 || doc.Errors != 1 || len(doc.Suites[0].Cases) != 6 {
		t.Errorf("counts: %+v", doc)
	}
	for _, c := range doc.Suites[0].Cases {
		if (c.Failure != nil) != (c.Name == "docker.io/library/alpine:3.20") {
			t.Errorf("%s: failure %v; only the FALLBACK is a failure", c.Name, c.Failure != nil)
		}
	}
}

func TestDotenv(t *testing.T) {
	kv := Exports(sample(), "docker.io=docker-hub,ghcr.io=github")
	var b bytes.Buffer
	if err := WriteDotenv(&b, append(kv, "ECR_PTC_REPORT=/tmp/a b/report.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.env", b.Bytes())
	b.Reset()
	if err := WriteShellEnv(&b, append(kv, "ECR_PTC_REPORT=/tmp/a b/it's.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.sh.env", b.Bytes())
	for _, bad := range []string{"1X=a", "NOEQUALS", "X=a\nY=b", "A-B=c"} {
		b.Reset()
		if err := WriteDotenv(&b, []string{"OK=1", bad}); err == nil || b.Len() != 0 {
			t.Errorf("%q: err %v, wrote %q", bad, err, b.String())
		}
	}
}

func buildReport() BuildReport {
	reg := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	return BuildReport{Version: 1, Registry: reg, Images: []BuildImage{
		{Ref: "node:20", Used: reg + "/docker-hub/library/node:20", Digest: "sha256:1a70dfa3c3c6a7f4e7b1c8bd9a0c5e3d2f1e0a9b8c7d6e5f4a3b2c1d0e9f8a7b", Outcome: BuildCache, Time: time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)},
		{Ref: "docker.io/bitnami/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000", Used: reg + "/docker-hub/bitnami/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000", Outcome: BuildCache},
		{Ref: "alpine:3.20", Used: "docker.io/library/alpine:3.20", Outcome: BuildFallback, Reason: "no rule for docker.io"},
		{Ref: "gcr.io/distroless/static:nonroot", Outcome: BuildUnchanged, Reason: "unsupported registry"},
	}}
}

func TestParseMetadataEncodings(t *testing.T) {
	br := buildReport()
	obj, _ := json.Marshal(br)
	str, _ := json.Marshal(string(obj))
	b64, _ := json.Marshal(base64.StdEncoding.EncodeToString(obj))
	for name, value := range map[string]string{"object": string(obj), "json string": string(str), "base64": string(b64)} {
		file := fmt.Sprintf(`{"buildx.build.ref": "default/default/x", %q: "x", %q: %s}`, SummaryKey, MetadataKey, value)
		got, err := ParseMetadata([]byte(file))
		if err != nil || len(got) != 1 || len(got[0].Images) != 4 || got[0].Images[2].Reason != "no rule for docker.io" {
			t.Errorf("%s: %v %+v", name, err, got)
		}
	}
	bake := fmt.Sprintf(`{"web": {%q: %s}, "api": {%q: %s}, "other": {"containerimage.digest": "sha256:1"}}`, MetadataKey, obj, MetadataKey, b64)
	if got, err := ParseMetadata([]byte(bake)); err != nil || len(got) != 2 {
		t.Errorf("bake: %v %d", err, len(got))
	}
	if got, err := ParseMetadata([]byte(`{"containerimage.digest": "sha256:1"}`)); err != nil || len(got) != 0 {
		t.Errorf("no frontend key: %v %v", err, got)
	}
	for name, bad := range map[string]string{
		"not json":    `nope`,
		"bad base64":  fmt.Sprintf(`{%q: "!!!"}`, MetadataKey),
		"bad outcome": fmt.Sprintf(`{%q: {"version": 1, "images": [{"ref": "a", "outcome": "maybe"}]}}`, MetadataKey),
		"no ref":      fmt.Sprintf(`{%q: {"version": 1, "images": [{"outcome": "cache"}]}}`, MetadataKey),
		"future":      fmt.Sprintf(`{%q: {"version": 2, "images": []}}`, MetadataKey),
	} {
		if _, err := ParseMetadata([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMerge(t *testing.T) {
	r := sample()
	r.Images = r.Images[:5] // without the error
	Merge(r, buildReport())
	got := map[string]Image{}
	for _, im := range r.Images {
		got[im.Ref] = im
	}
	for ref, want := range map[string]Outcome{
		"docker.io/library/node:20":     Hit,
		"ghcr.io/tini-org/tini:v0.19.0": Warmed, // not in the build: unchanged by the merge
		"docker.io/bitnami/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000": Warmed, // a setup miss the build pulled through the cache
		"docker.io/library/alpine:3.20":        Fallback,
		"mcr.microsoft.com/dotnet/runtime:8.0": Unchanged,
		"gcr.io/distroless/static:nonroot":     Unchanged, // only the build saw it
	} {
		if got[ref].Outcome != want {
			t.Errorf("%s: %q, want %q", ref, got[ref].Outcome, want)
		}
	}
	if got["docker.io/library/node:20"].Digest != "sha256:1a70dfa3c3c6a7f4e7b1c8bd9a0c5e3d2f1e0a9b8c7d6e5f4a3b2c1d0e9f8a7b" || got["docker.io/library/alpine:3.20"].Reason != "no rule for docker.io" {
		t.Errorf("merged fields: %+v", got)
	}
	if r.Totals.Images != 6 || r.Totals.Fallbacks != 1 || r.Totals.UpstreamPullsAvoided != 3 {
		t.Errorf("totals: %+v", r.Totals)
	}
	// Two builds of the same image: the fallback wins, whichever comes first.
	empty := &Report{}
	Merge(empty, BuildReport{Images: []BuildImage{{Ref: "alpine", Outcome: BuildFallback, Reason: "denied"}}}, BuildReport{Images: []BuildImage{{Ref: "docker.io/library/alpine:latest", Outcome: BuildCache}}})
	if len(empty.Images) != 1 || empty.Images[0].Outcome != Fallback {
		t.Errorf("worst outcome: %+v", empty.Images)
	}
}

// A build metadata file is untrusted: a digest with a line break and a heredoc delimiter once reached
// GITHUB_ENV through ECR_PTC_LOCK. Every value is validated before anything renders it.
func TestParseMetadataRejectsHostileValues(t *testing.T) {
	good := `{"ref": "node:20", "digest": "sha256:` + strings.Repeat("a", 64) + `", "outcome": "cache"}`
	if _, err := ParseMetadata([]byte(`{"frontend.ecr-ptc.report": {"version": 1, "images": [` + good + `]}}`)); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"digest injection":  `{"version": 1, "images": [{"ref": "node:20", "digest": "sha256:x\n_GitHubActionsFileCommandDelimeter_\nBASH_ENV=/tmp/pwn.sh", "outcome": "cache"}]}`,
		"short digest":      `{"version": 1, "images": [{"ref": "node:20", "digest": "sha256:00", "outcome": "cache"}]}`,
		"ref with newline":  `{"version": 1, "images": [{"ref": "node:20\n::warning::x", "outcome": "cache"}]}`,
		"used not a ref":    `{"version": 1, "images": [{"ref": "node:20", "used": "x y", "outcome": "cache"}]}`,
		"registry not host": `{"version": 1, "registry": "evil.example.com/x\nBASH_ENV=1", "images": []}`,
		"platform":          `{"version": 1, "images": [{"ref": "node:20", "platform": "linux\n", "outcome": "cache"}]}`,
		"huge reason":       `{"version": 1, "images": [{"ref": "node:20", "outcome": "fallback", "reason": "` + strings.Repeat("x", 5000) + `"}]}`,
	} {
		_, err := ParseMetadata([]byte(`{"frontend.ecr-ptc.report": ` + strconv.Quote(body) + `}`))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 400 {
			t.Errorf("%s: error is not one short line: %q", name, err)
		}
	}
}

// Issue 11: control characters in a reason (from a metadata file) must not make the JUnit XML invalid.
func TestJUnitControlCharacters(t *testing.T) {
	r := &Report{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Images: []Image{
		{Ref: "docker.io/library/node:20\x00", Outcome: Fallback, Reason: "bad \x01\x1b[31mred\x7f\xff ]]> end"},
		{Ref: "docker.io/library/alpine:3.20", Outcome: Error, Reason: "\x0b\x0c"},
	}}
	r.Tally()
	var b strings.Builder
	if err := WriteJUnit(&b, r, JUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%q", err, b.String())
		}
	}
}

// Issue 11: a reason (from a metadata file) cannot put a link, an image or an autolink in the summary.
func TestMarkdownNeutralisesLinks(t *testing.T) {
	r := &Report{Images: []Image{{Ref: "docker.io/library/node:20", Outcome: Fallback,
		Reason: "![t](https://evil.example.com/t.png) [click](http://evil.example.com) <img src=x> www.evil.example.com"}}}
	r.Tally()
	var b strings.Builder
	if err := WriteMarkdown(&b, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"![", "](", "<img", "https://", "http://", "www.evil"} {
		if strings.Contains(b.String(), bad) {
			t.Errorf("the summary holds %q:\n%s", bad, b.String())
		}
	}
}

// A build that resolved a cacheable image without the cache (ECR_PTC_DISABLE, no registry) is not served
// by the cache whatever setup saw: the merge makes it a fallback, so --strict fails on it.
func TestMergeBuildBypassedTheCache(t *testing.T) {
	r := &Report{Images: []Image{{Ref: "docker.io/library/alpine:3.20", Outcome: Hit}, {Ref: "scratch", Outcome: Unchanged}}}
	Merge(r, BuildReport{Images: []BuildImage{
		{Ref: "alpine:3.20", Outcome: BuildUnchanged, Reason: "ECR_PTC_DISABLE is set"},
		{Ref: "scratch", Outcome: BuildUnchanged},
	}})
	if im := r.Images[0]; im.Outcome != Fallback || !strings.Contains(im.Reason, "without the pull-through cache: ECR_PTC_DISABLE is set") {
		t.Errorf("setup's hit won the merge: %+v", im)
	}
	if r.Images[1].Outcome != Unchanged || r.Totals.Fallbacks != 1 {
		t.Errorf("%+v", r)
	}
	// Two builds: one through the cache, one around it; in either order.
	for _, order := range [][]BuildOutcome{{BuildCache, BuildUnchanged}, {BuildUnchanged, BuildCache}} {
		e := &Report{}
		Merge(e, BuildReport{Images: []BuildImage{{Ref: "node:20", Outcome: order[0]}}}, BuildReport{Images: []BuildImage{{Ref: "node:20", Outcome: order[1]}}})
		if len(e.Images) != 1 || e.Images[0].Outcome != Fallback {
			t.Errorf("%v: %+v", order, e.Images)
		}
	}
}
