// Package release turns what GoReleaser leaves in dist/ into the release's two images (the ecr-ptc tool
// image and the BuildKit frontend image, OCI layouts with linux/amd64 and linux/arm64, built without Docker)
// and pins a release into the repository's front doors (checksums and image references by digest).
package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is one entry of GoReleaser's dist/artifacts.json (the fields used here).
type Artifact struct {
	Name   string         `json:"name"`
	Path   string         `json:"path"`
	Goos   string         `json:"goos"`
	Goarch string         `json:"goarch"`
	Type   string         `json:"type"`
	Extra  map[string]any `json:"extra"`
}

// Metadata is GoReleaser's dist/metadata.json (the fields used here).
type Metadata struct {
	ProjectName string `json:"project_name"`
	Tag         string `json:"tag"`
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	Date        string `json:"date"`
}

// Dist is a GoReleaser dist directory, read.
type Dist struct {
	Dir       string
	Meta      Metadata
	Artifacts []Artifact
}

// ReadDist reads dist/metadata.json and dist/artifacts.json.
func ReadDist(dir string) (*Dist, error) {
	d := &Dist{Dir: dir}
	if err := readJSON(filepath.Join(dir, "metadata.json"), &d.Meta); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, "artifacts.json"), &d.Artifacts); err != nil {
		return nil, err
	}
	if d.Meta.Version == "" {
		return nil, fmt.Errorf("%s: no version in metadata.json", dir)
	}
	return d, nil
}

func readJSON(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("not a GoReleaser dist directory: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// Binaries maps linux/ARCH to the path of the binary the build id built, for every linux build.
func (d *Dist) Binaries(id string) map[string]string {
	out := map[string]string{}
	for _, a := range d.Artifacts {
		if a.Type != "Binary" || a.Goos != "linux" {
			continue
		}
		if got, _ := a.Extra["ID"].(string); got != id {
			continue
		}
		p := a.Path
		if !filepath.IsAbs(p) {
			// GoReleaser records paths relative to the project root, which holds dist/.
			p = filepath.Join(filepath.Dir(filepath.Clean(d.Dir)), p)
		}
		out["linux/"+a.Goarch] = p
	}
	return out
}

// Annotations are the OCI annotations (and labels) every release image carries.
type Annotations struct {
	Source, Revision, Version, Licenses, Created, Title, Description string
}

// Map is the annotations under their org.opencontainers.image.* keys, the empty ones left out.
func (a Annotations) Map() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{
		"source": a.Source, "revision": a.Revision, "version": a.Version, "licenses": a.Licenses,
		"created": a.Created, "title": a.Title, "description": a.Description,
	} {
		if v != "" {
			m["org.opencontainers.image."+k] = v
		}
	}
	return m
}

// epoch is every file and history time in the tool image, so that the same inputs make the same digests.
var epoch = time.Unix(0, 0).UTC()

// ToolSpec describes the ecr-ptc tool image: the CLI on a busybox base with CA certificates, usable as a
// GitLab or CodeBuild job image (they need a shell) and with `docker run`.
type ToolSpec struct {
	Binaries map[string]string // linux/ARCH → static ecr-ptc
	Busybox  map[string]string // linux/ARCH → static busybox
	Applets  []string          // absolute paths that become symlinks to /bin/busybox, e.g. /bin/sh
	CACerts  string            // a PEM bundle, installed as /etc/ssl/certs/ca-certificates.crt
	Annotations
}

// ToolPath is where the CLI is in the tool image.
const ToolPath = "/usr/local/bin/ecr-ptc"

const caPath = "/etc/ssl/certs/ca-certificates.crt"

// BuildTool makes the tool image index: per platform a base layer (busybox, its applets, CA certificates)
// and a layer with ecr-ptc.
func BuildTool(s ToolSpec) (v1.ImageIndex, error) {
	if len(s.Binaries) == 0 {
		return nil, fmt.Errorf("no ecr-ptc binaries")
	}
	certs, err := os.ReadFile(s.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	if !bytes.Contains(certs, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("%s holds no PEM certificate", s.CACerts)
	}
	ann := s.Annotations.Map()
	plats := make([]string, 0, len(s.Binaries))
	for p := range s.Binaries {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	var adds []mutate.IndexAddendum
	for _, p := range plats {
		plat, err := v1.ParsePlatform(p)
		if err != nil || plat.OS != "linux" || plat.Architecture == "" {
			return nil, fmt.Errorf("platform %q is not linux/ARCH", p)
		}
		bb, ok := s.Busybox[p]
		if !ok {
			return nil, fmt.Errorf("no busybox for %s", p)
		}
		img, err := toolImage(*plat, s.Binaries[p], bb, s.Applets, certs, ann)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return mutate.Annotations(idx, ann).(v1.ImageIndex), nil
}

func toolImage(plat v1.Platform, binary, busybox string, applets []string, certs []byte, ann map[string]string) (v1.Image, error) {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	base := []entry{
		{name: "/bin/busybox", mode: 0o755, data: bb},
		{name: caPath, mode: 0o644, data: certs},
		{name: "/tmp", dir: true, mode: 0o1777},
		{name: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{name: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "/root", dir: true, mode: 0o700},
	}
	for _, a := range applets {
		if a == "/bin/busybox" || !strings.HasPrefix(a, "/") {
			continue
		}
		base = append(base, entry{name: a, link: "/bin/busybox"})
	}
	baseLayer, err := layer(base)
	if err != nil {
		return nil, err
	}
	cliLayer, err := layer([]entry{{name: ToolPath, mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: baseLayer, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "busybox and CA certificates"}},
		mutate.Addendum{Layer: cliLayer, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "COPY ecr-ptc " + ToolPath}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin", "SSL_CERT_FILE=" + caPath}
	// No entrypoint: GitLab and CodeBuild run their own shell in a job image. `docker run IMAGE ecr-ptc …`.
	cf.Config.Cmd = []string{ToolPath, "--help"}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = ann
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, ann).(v1.Image), nil
}

type entry struct {
	name string // absolute path in the image
	dir  bool
	link string // symlink target
	mode int64
	data []byte
}

// layer is a reproducible gzip layer: the entries and their parent directories in name order, fixed times
// and owners.
func layer(entries []entry) (v1.Layer, error) {
	all := map[string]entry{}
	for _, e := range entries {
		rel := strings.TrimPrefix(path.Clean(e.name), "/")
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{dir: true, mode: 0o755}
			}
		}
		all[rel] = e
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := all[n]
		h := &tar.Header{Name: n, Mode: e.mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}
