package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFixture writes a setup report with one hit and one warmed image.
func reportFixture(t *testing.T) (dir, path string) {
	dir = t.TempDir()
	path = filepath.Join(dir, "report.json")
	body := `{"registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "generatedAt": "2026-11-26T01:00:00Z", "images": [
  {"ref": "docker.io/library/node:22", "cacheRef": "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/node:22", "outcome": "warmed"},
  {"ref": "docker.io/library/alpine:3.20", "cacheRef": "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/alpine:3.20", "outcome": "hit"}],
  "totals": {"images": 2, "hits": 1, "warmed": 1, "upstreamPullsAvoided": 2}}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestReportMergesBuildMetadata(t *testing.T) {
	dir, rep := reportFixture(t)
	meta, _ := filepath.Abs("../../../actions/testdata/build-metadata.json")
	for format, want := range map[string]string{
		"text":     "docker.io/library/alpine:3.20  FALLBACK",
		"json":     `"outcome": "fallback"`,
		"markdown": "**FALLBACK**<br>the cache answered 403",
		"junit":    `<failure message="FALLBACK: the cache answered 403`,
		"dotenv":   "ECR_PTC_FALLBACKS=1\n",
	} {
		r := ecrptc(t, "", map[string]string{"ECR_PTC_REPORT": rep}, "report", "--metadata-file", meta, "--format", format, "--ci", "none")
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("--format %s: %+v", format, r)
		}
	}
	out := filepath.Join(dir, "merged.xml")
	if r := ecrptc(t, "", nil, "report", "--report-json", rep, "--metadata-file", meta, "--format", "junit", "-o", out, "--ci", "none"); r.code != 0 || r.stdout != "" {
		t.Fatalf("%+v", r)
	}
	if data, _ := os.ReadFile(out); strings.Count(string(data), "<testcase ") != 3 {
		t.Errorf("merged JUnit:\n%s", data)
	}
	// --strict: a fallback fails, in one sentence.
	r := ecrptc(t, "", nil, "report", "--report-json", rep, "--metadata-file", meta, "--strict", "--ci", "none")
	if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "--strict: 1 of 3 images") {
		t.Errorf("--strict: %+v", r)
	}
	// A metadata file from a build without the frontend adds nothing, and says so.
	plain := filepath.Join(dir, "plain.json")
	os.WriteFile(plain, []byte(`{"containerimage.digest": "sha256:1"}`), 0o644)
	if r := ecrptc(t, "", nil, "report", "--report-json", rep, "--metadata-file", plain, "--ci", "none"); r.code != 0 || !strings.Contains(r.stderr, "did not use the ecr-ptc frontend") {
		t.Errorf("plain metadata: %+v", r)
	}
}

// Bad input: one sentence, a nonzero exit, and no output file.
func TestReportBadInput(t *testing.T) {
	dir, rep := reportFixture(t)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"frontend.ecr-ptc.report": {"version": 1, "images": [{"ref": "a", "outcome": "maybe"}]}}`), 0o644)
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	out := filepath.Join(dir, "out.md")
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"report"}, 2, "nothing to report"},
		{[]string{"report", "--report-json", rep, "--format", "html"}, 2, `--format "html"`},
		{[]string{"report", "--report-json", rep, "--ci", "jenkins"}, 2, `--ci "jenkins"`},
		{[]string{"report", "--report-json", filepath.Join(dir, "missing.json")}, 1, "missing.json: no such file or directory"},
		{[]string{"report", "--report-json", notJSON}, 1, "is not an ecr-ptc report"},
		{[]string{"report", "--report-json", rep, "--metadata-file", notJSON}, 1, "not a build metadata file"},
		{[]string{"report", "--report-json", rep, "--metadata-file", bad}, 1, `outcome "maybe"`},
	} {
		r := ecrptc(t, "", nil, append(c.args, "-o", out)...)
		first := strings.SplitN(strings.TrimSpace(r.stderr), "\n", 2)[0]
		if r.code != c.code || !strings.Contains(first, c.say) || !strings.HasPrefix(first, "ecr-ptc: ") {
			t.Errorf("%v: %+v", c.args, r)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v wrote %s", c.args, out)
		}
	}
}
