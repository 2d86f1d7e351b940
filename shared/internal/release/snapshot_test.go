package release_test

// The snapshot release in dist/ (`make release-snapshot`), as the "done when" lists it: checksums
// that verify, the four archives with an SBOM each, the linux binary of this machine printing the snapshot
// version, both OCI layouts with linux/amd64 and linux/arm64 and their annotations, images.txt naming the
// layouts' digests.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/release"
)

func TestSnapshotDist(t *testing.T) {
	snap := citest.SnapshotDist(t)
	f, err := os.Open(filepath.Join(snap.Dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q", sc.Text())
		}
		data, err := os.ReadFile(filepath.Join(snap.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s does not match checksums.txt", name)
		}
		listed[name] = true
	}
	for _, osArch := range []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64"} {
		archive := "ecr-ptc_" + snap.Version + "_" + osArch + ".tar.gz"
		if !listed[archive] || snap.Checksums[archive] == "" {
			t.Errorf("checksums.txt lacks %s", archive)
		}
		sbom, err := os.ReadFile(filepath.Join(snap.Dir, archive+".cdx.json"))
		var doc struct {
			BOMFormat  string `json:"bomFormat"`
			Components []any  `json:"components"`
		}
		if err == nil {
			err = json.Unmarshal(sbom, &doc)
		}
		if err != nil || doc.BOMFormat != "CycloneDX" || len(doc.Components) < 10 {
			t.Errorf("%s.cdx.json: %v, format %q, %d components", archive, err, doc.BOMFormat, len(doc.Components))
		}
	}

	// This machine's binary prints the snapshot version.
	if runtime.GOOS == "linux" {
		archive := filepath.Join(snap.Dir, "ecr-ptc_"+snap.Version+"_linux_"+runtime.GOARCH+".tar.gz")
		bin := filepath.Join(t.TempDir(), "ecr-ptc")
		extract(t, archive, "ecr-ptc", bin)
		out, err := exec.Command(bin, "--version").Output()
		if err != nil || !strings.HasPrefix(string(out), "ecr-ptc "+snap.Version+" (commit ") {
			t.Errorf("--version: %v %q", err, out)
		}
	}

	imgs, err := release.ReadImages(filepath.Join(snap.Dir, "images.txt"))
	if err != nil || len(imgs) != 2 {
		t.Fatalf("images.txt: %v %v", err, imgs)
	}
	for _, im := range imgs {
		f, err := os.Open(filepath.Join(snap.Dir, im.File))
		if err != nil {
			t.Fatal(err)
		}
		idx, cleanup, err := frontendimage.ReadLayoutTar(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := idx.Digest(); d.String() != im.Digest {
			t.Errorf("%s: layout digest %s, images.txt %s", im.Name, d, im.Digest)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		plats := []string{}
		for _, d := range m.Manifests {
			plats = append(plats, d.Platform.String())
			img, _ := idx.Image(d.Digest)
			mf, _ := img.Manifest()
			if mf.Annotations["org.opencontainers.image.version"] != snap.Version {
				t.Errorf("%s %s: manifest annotations %v", im.Name, d.Platform, mf.Annotations)
			}
		}
		if strings.Join(plats, " ") != "linux/amd64 linux/arm64" {
			t.Errorf("%s: platforms %v", im.Name, plats)
		}
		for _, k := range []string{"source", "revision", "version", "licenses"} {
			if m.Annotations["org.opencontainers.image."+k] == "" {
				t.Errorf("%s: no org.opencontainers.image.%s annotation: %v", im.Name, k, m.Annotations)
			}
		}
		cleanup()
	}
}

func extract(t *testing.T, archive, name, dest string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no %s", archive, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			data, _ := io.ReadAll(tr)
			if err := os.WriteFile(dest, data, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}
