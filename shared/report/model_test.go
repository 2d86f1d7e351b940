package report

import (
	"encoding/json"
	"reflect"
	"testing"
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
