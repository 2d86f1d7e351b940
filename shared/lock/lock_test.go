package lock_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/lock"
)

var (
	d1 = "sha256:" + strings.Repeat("1", 64)
	d2 = "sha256:" + strings.Repeat("2", 64)
)

func TestRoundTripAndDiff(t *testing.T) {
	f := lock.File{Version: 1, Images: []lock.Entry{{Ref: "docker.io/library/node:20", Digest: d1}, {Ref: "docker.io/library/alpine:3.20", Digest: d1}}}
	data := f.Marshal()
	if !strings.Contains(string(data), `"ref": "docker.io/library/alpine:3.20"`) || strings.Index(string(data), "alpine") > strings.Index(string(data), "node") {
		t.Fatalf("not sorted: %s", data)
	}
	back, err := lock.Parse("x", data)
	if err != nil || len(back.Images) != 2 {
		t.Fatalf("%v %+v", err, back)
	}
	next := lock.File{Version: 1, Images: []lock.Entry{{Ref: "docker.io/library/node:20", Digest: d2}, {Ref: "ghcr.io/o/r:1", Digest: d1}}}
	var got []string
	for _, c := range lock.Diff(back, next) {
		got = append(got, c.String())
	}
	want := []string{"- docker.io/library/alpine:3.20 " + d1, "~ docker.io/library/node:20 " + d1 + " -> " + d2 + " (the tag moved upstream)", "+ ghcr.io/o/r:1 " + d1}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	arg := next.BuildArg()
	parsed, err := lock.ParseBuildArg(arg)
	if err != nil || parsed.BuildArg() != arg {
		t.Fatalf("build arg round trip: %v %q", err, parsed.BuildArg())
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{`:                                    "not a lock file",
		`{"version": 2, "images": []}`:         "version 2",
		`{"version": 1, "images": [], "x": 1}`: "unknown field",
		`{"version": 1, "images": [{"ref": "node:20", "digest": "` + d1 + `"}]}`:                  "not normalised",
		`{"version": 1, "images": [{"ref": "docker.io/library/node:20", "digest": "sha256:12"}]}`: "digest",
		`{"version": 1, "images": [{"ref": "Docker.io/x", "digest": "` + d1 + `"}]}`:              "image 1",
	} {
		_, err := lock.Parse("ecr-ptc.lock.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "ecr-ptc.lock.json: ") {
			t.Errorf("Parse(%s) = %v, want %q", in, err, want)
		}
	}
	if _, err := lock.ParseBuildArg("docker.io/library/node:20"); err == nil {
		t.Error("a pair without = accepted")
	}
}
