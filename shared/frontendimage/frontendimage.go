// Package frontendimage packages static BuildKit frontend binaries as a multi-platform frontend image (an
// OCI image index, one small layer per platform) without Docker, writes it as an OCI layout tarball and
// pushes it to a registry.
package frontendimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Caps are the frontend capabilities the stock Dockerfile frontend image declares
// (frontend/dockerfile/cmd/dockerfile-frontend/Dockerfile in BuildKit v0.34.2): BuildKit refuses
// requests needing a cap the image does not list (frontend inputs from buildx bake, named contexts,
// subrequests such as --call outline).
const Caps = "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"

// Labels every frontend image gets: no network (the frontend talks only to BuildKit over stdio) and the
// caps above.
func Labels() map[string]string {
	return map[string]string{
		"moby.buildkit.frontend.network.none": "true",
		"moby.buildkit.frontend.caps":         Caps,
	}
}

// epoch is every timestamp in the image, so that the same binaries always make the same digests.
var epoch = time.Unix(0, 0).UTC()

// Spec describes a frontend image.
type Spec struct {
	// Binaries maps a platform ("linux/amd64") to the static binary for it.
	Binaries map[string]string
	// Path is where the binary goes, e.g. /bin/ecr-ptc-frontend. Not under /run: BuildKit mounts
	// /run/config/buildkit/metadata into frontend containers.
	Path   string
	Labels map[string]string // added to Labels()
	// CompressionLevel is the gzip level of the layers; 0 means gzip.BestCompression, the smallest pull.
	CompressionLevel int
	// Annotations go on the index and on every platform's manifest (org.opencontainers.image.*).
	Annotations map[string]string
}

// Build makes the image index: one image per platform, each one gzip layer holding the binary, with the
// binary as entrypoint.
func Build(s Spec) (v1.ImageIndex, error) {
	if len(s.Binaries) == 0 {
		return nil, fmt.Errorf("no binaries given")
	}
	if !strings.HasPrefix(s.Path, "/") || strings.HasPrefix(s.Path, "/run/") {
		return nil, fmt.Errorf("binary path %q must be absolute and not under /run (BuildKit mounts /run/config/buildkit/metadata)", s.Path)
	}
	labels := Labels()
	for k, v := range s.Labels {
		labels[k] = v
	}
	plats := make([]string, 0, len(s.Binaries))
	for p := range s.Binaries {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	var adds []mutate.IndexAddendum
	for _, p := range plats {
		plat, err := v1.ParsePlatform(p)
		if err != nil || plat.OS == "" || plat.Architecture == "" {
			return nil, fmt.Errorf("platform %q is not os/arch[/variant]", p)
		}
		level := s.CompressionLevel
		if level == 0 {
			level = gzip.BestCompression
		}
		img, err := platformImage(*plat, s.Binaries[p], s.Path, labels, level)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(s.Annotations) > 0 {
			img = mutate.Annotations(img, s.Annotations).(v1.Image)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if len(s.Annotations) > 0 {
		idx = mutate.Annotations(idx, s.Annotations).(v1.ImageIndex)
	}
	return idx, nil
}

func platformImage(plat v1.Platform, binary, binPath string, labels map[string]string, level int) (v1.Image, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := binaryTar(binPath, data)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(level), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "COPY " + path.Base(binPath) + " " + binPath}})
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
	cf.Config.Entrypoint = []string{binPath}
	cf.Config.Labels = labels
	return mutate.ConfigFile(img, cf)
}

// binaryTar is a deterministic tar stream with the binary's parent directories and the binary.
func binaryTar(binPath string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	rel := strings.TrimPrefix(binPath, "/")
	var dirs []string
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Size is what pulling one platform of the image transfers: manifest, config and compressed layers.
func Size(idx v1.ImageIndex) (map[string]int64, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, err
		}
		n := d.Size + m.Config.Size
		for _, l := range m.Layers {
			n += l.Size
		}
		p := "unknown"
		if d.Platform != nil {
			p = d.Platform.String()
		}
		out[p] = n
	}
	return out, nil
}
