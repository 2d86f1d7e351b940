package citest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
)

// Snapshot is a snapshot release in dist/ (`make release-snapshot`), as the release tests read it.
type Snapshot struct {
	Dir       string
	Version   string
	Checksums map[string]string // archive name → sha256, from checksums.txt
	Images    map[string]string // ecr-ptc, frontend → OCI layout tarball path
}

var archiveLine = regexp.MustCompile(`^([0-9a-f]{64})  (ecr-ptc_\S+\.tar\.gz)$`)

// SnapshotDist reads the snapshot release in the repository's dist/, or skips the test (locally) or fails
// it (in CI, which runs `make release-snapshot` before the tests) when there is none.
func SnapshotDist(t TB) *Snapshot {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "dist")
	var meta struct {
		Version string `json:"version"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err == nil {
		err = json.Unmarshal(data, &meta)
	}
	if err != nil || meta.Version == "" {
		if InCI() {
			t.Fatalf("no snapshot release in %s (%v): CI runs make release-snapshot before the tests", dir, err)
		}
		t.Skipf("no snapshot release in %s: run make release-snapshot first", dir)
	}
	s := &Snapshot{Dir: dir, Version: meta.Version, Checksums: map[string]string{}, Images: map[string]string{}}
	f, err := os.Open(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := archiveLine.FindStringSubmatch(sc.Text()); m != nil {
			s.Checksums[m[2]] = m[1]
		}
	}
	s.Images["ecr-ptc"] = filepath.Join(dir, "ecr-ptc_"+meta.Version+"_image.oci.tar")
	s.Images["frontend"] = filepath.Join(dir, "ecr-ptc-frontend_"+meta.Version+"_image.oci.tar")
	for _, p := range s.Images {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the snapshot has no image layout: %v (make release-snapshot builds it)", err)
		}
	}
	return s
}
