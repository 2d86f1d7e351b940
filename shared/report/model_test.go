package report

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/lock"
)

// The build metadata is a versioned wire form of the one outcome model: a build report read back onto
// the model and written again is the same JSON, and the frontend's totals are the model's.
func TestBuildWireRoundTrip(t *testing.T) {
	in := buildReport()
	in.Images[0].Platform, in.Images[0].DurationMS = "linux/arm64", 12
	m := in.Report()
	want := map[string]Outcome{"node:20": Hit, "alpine:3.20": Fallback, "gcr.io/distroless/static:nonroot": Unchanged}
	for _, im := range m.Images {
		if o, ok := want[im.Ref]; ok && im.Outcome != o {
			t.Errorf("%s: %s, want %s", im.Ref, im.Outcome, o)
		}
	}
	if m.Images[0].CacheRef != in.Images[0].Used || m.Totals.Hits != 2 || m.Totals.Fallbacks != 1 || m.Totals.Unchanged != 1 {
		t.Errorf("model: %+v", m)
	}
	out := NewFrontendReport(m, true, false)
	if !reflect.DeepEqual(out.BuildReport, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out.BuildReport, in)
	}
	if out.Totals != (BuildTotals{Images: 4, Cache: 2, Fallbacks: 1, Unchanged: 1}) || !out.Strict {
		t.Errorf("totals: %+v", out.Totals)
	}
	// The wire shape: an empty build still writes "images": [].
	data, err := json.Marshal(NewFrontendReport(&Report{}, false, false))
	if err != nil || string(data) != `{"version":1,"images":[],"totals":{"images":0,"cache":0,"fallbacks":0,"unchanged":0}}` {
		t.Errorf("empty build: %s %v", data, err)
	}
}

// A lock setup enforced travels to the build as ECR_PTC_LOCK, in the one encoding the frontend reads
// (lock.File.BuildArg / lock.ParseBuildArg).
func TestExportsLock(t *testing.T) {
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	r := &Report{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Images: []Image{
		{Ref: "docker.io/library/node:20", Outcome: Hit, Digest: d2, Locked: true},
		{Ref: "docker.io/library/alpine:3.20", Outcome: Hit, Digest: d1, Locked: true},
		{Ref: "docker.io/library/busybox:1", Outcome: Hit, Digest: d1},
	}}
	r.Tally()
	var got string
	for _, kv := range Exports(r, "") {
		if v, ok := strings.CutPrefix(kv, "ECR_PTC_LOCK="); ok {
			got = v
		}
	}
	if want := "docker.io/library/alpine:3.20=" + d1 + ",docker.io/library/node:20=" + d2; got != want {
		t.Fatalf("ECR_PTC_LOCK=%s, want %s", got, want)
	}
	lf, err := lock.ParseBuildArg(got)
	if d, ok := lf.Lookup("docker.io/library/node:20"); err != nil || !ok || d != d2 {
		t.Errorf("the frontend cannot read it back: %v %+v", err, lf)
	}
}
