package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A build whose metadata says an image was resolved without the cache (ECR_PTC_DISABLE) fails
// `report --strict`, although setup saw that image as a hit.
func TestReportStrictBuildBypassedTheCache(t *testing.T) {
	dir, rep := reportFixture(t)
	meta := filepath.Join(dir, "metadata.json")
	body := `{"frontend.ecr-ptc.report": {"version": 1, "images": [{"ref": "docker.io/library/alpine:3.20", "used": "docker.io/library/alpine:3.20", "outcome": "unchanged", "reason": "ECR_PTC_DISABLE is set; resolved like the stock Dockerfile frontend"}]}}`
	if err := os.WriteFile(meta, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ecrptc(t, "", nil, "report", "--report-json", rep, "--metadata-file", meta, "--strict", "--ci", "none")
	if r.code != 1 || !strings.Contains(r.stderr, "--strict: 1 of 2 images") || !strings.Contains(r.stdout, "ECR_PTC_DISABLE") {
		t.Errorf("--strict passed a build that pulled around the cache: %+v", r)
	}
}
