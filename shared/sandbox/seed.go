package sandbox

// Seeded content of the upstream stand-ins: small multi-arch images (an OCI index or a Docker manifest
// list with linux/amd64 and linux/arm64 children, each with two small gzip layers holding a file that
// names the image, tag and platform). Content is deterministic — fixed timestamps, fixed tar headers,
// gzip without a header time — so every start serves the same digests.

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SeededImage names one image the stand-ins hold at start (unless Config.NoSeed).
type SeededImage struct {
	Upstream   string // stand-in name: docker-hub, github, quay, ecr-public, ecr
	Repository string // upstream repository path, e.g. library/alpine
	Tag        string
	// OCI is true for an OCI image index, false for a Docker manifest list.
	OCI bool
}

// seededImages is what every stand-in holds at start. Docker Hub official images live under library/
// (reference: "Docker Hub official images need library/ in the cached path").
var seededImages = []SeededImage{
	{"docker-hub", "library/alpine", "3.20", true},
	{"docker-hub", "library/alpine", "latest", true},
	{"docker-hub", "library/node", "20", true},
	{"docker-hub", "library/node", "22", true},
	{"docker-hub", "library/node", "20-bookworm-slim", true},
	{"docker-hub", "library/node", "22-bookworm-slim", true},
	{"docker-hub", "library/golang", "1.23-alpine", true},
	{"docker-hub", "library/python", "3.12-slim", true},
	{"docker-hub", "library/busybox", "1.36", true},
	{"docker-hub", "library/debian", "bookworm-slim", true},
	{"docker-hub", "bitnami/redis", "7.2", false},
	{"docker-hub", "docker/dockerfile", "1", true}, // the # syntax= frontend most Dockerfiles name
	{"ecr-public", "docker/library/busybox", "1.36", true},
	{"ecr-public", "docker/library/node", "20", true},
	{"github", "tini-org/tini", "v0.19.0", true},
	{"github", "actions/runner", "2.317.0", true},
	{"quay", "prometheus/prometheus", "v2.53.0", false},
	{"quay", "coreos/etcd", "v3.5.0", false},
	// The upstream private ECR registry of ECR-to-ECR rules (upstream_ecr.go).
	{"ecr", "team/app", "1", true},
	{"ecr", "team/app", "2", true},
}

// SeedImage pushes an image to an upstream stand-in (`ecr-ptc sandbox --seed`; tests) (name docker-hub, github, quay or ecr-public, or its upstream URL)
// and returns the digest of what repo:tag now names. Two or more platforms ("os/arch[/variant]") make an
// index, one platform a plain image manifest, none the default linux/amd64 + linux/arm64. extraLayers are
// uncompressed tar streams appended as layers to every platform's image (e.g. a static busybox so that
// RUN steps execute). Quay gets Docker media types, the others OCI ones.
func (s *Sandbox) SeedImage(upstream, repo, tag string, platforms []string, extraLayers ...[]byte) (digest string, err error) {
	u, err := s.d.upstreamByName(upstream)
	if err != nil {
		return "", err
	}
	if len(platforms) == 0 {
		platforms = defaultPlatforms
	}
	return u.seed(repo, tag, seedSpec{platforms: platforms, extra: extraLayers, oci: u.name != "quay"})
}

// upstreamByName finds a stand-in by name (docker-hub) or URL.
func (d *deps) upstreamByName(n string) (*upstream, error) {
	for _, u := range d.upstreams {
		if u.name == n || u.url == n {
			return u, nil
		}
	}
	return nil, fmt.Errorf("sandbox: no upstream stand-in %q (have docker-hub, github, quay, ecr-public, ecr)", n)
}

// seed builds the content for spec and installs it in the stand-in's registry in process (no
// middleware: seeding is not a client of the stand-in, so it neither counts as pulls nor meets faults).
// Content without extra layers is built once per process and reused by every sandbox.
func (u *upstream) seed(repo, tag string, spec seedSpec) (string, error) {
	if _, err := name.NewTag("seed.invalid/"+repo+":"+tag, name.StrictValidation); err != nil {
		return "", fmt.Errorf("sandbox: invalid image name %q:%q: %w", repo, tag, err)
	}
	var c *seedContent
	key := fmt.Sprintf("%s|%s|%s|%v|%v|%d", u.url, repo, tag, spec.platforms, spec.oci, spec.generation)
	if cached, ok := seedCache.Load(key); ok && len(spec.extra) == 0 {
		c = cached.(*seedContent)
	} else {
		var err error
		if c, err = buildSeedContent(u.url, repo, tag, spec); err != nil {
			return "", err
		}
		if len(spec.extra) == 0 {
			seedCache.Store(key, c)
		}
	}
	if err := u.install(repo, tag, c); err != nil {
		return "", err
	}
	u.mu.Lock()
	u.seeds[repo+":"+tag] = spec
	u.mu.Unlock()
	return c.digest, nil
}

// seedContent is an image's bytes: blobs, then manifests with children before their index; the last
// manifest is the one the tag names.
type seedContent struct {
	blobs     map[v1.Hash][]byte
	manifests []seedManifest
	digest    string
}

type seedManifest struct {
	mediaType types.MediaType
	data      []byte
	digest    string
}

var seedCache sync.Map // key → *seedContent

func buildSeedContent(upstreamURL, repo, tag string, spec seedSpec) (*seedContent, error) {
	c := &seedContent{blobs: map[v1.Hash][]byte{}}
	addImage := func(img v1.Image) error {
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			h, err := l.Digest()
			if err != nil {
				return err
			}
			rc, err := l.Compressed()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			c.blobs[h] = b
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return err
		}
		if c.blobs[cfgName], err = img.RawConfigFile(); err != nil {
			return err
		}
		return c.addManifest(img)
	}
	if len(spec.platforms) == 1 {
		img, err := seedPlatformImage(upstreamURL, repo, tag, spec.platforms[0], spec)
		if err != nil {
			return nil, err
		}
		if err := addImage(img); err != nil {
			return nil, err
		}
	} else {
		var idx v1.ImageIndex = empty.Index
		if !spec.oci {
			idx = mutate.IndexMediaType(idx, types.DockerManifestList)
		}
		var adds []mutate.IndexAddendum
		for _, p := range spec.platforms {
			plat, err := v1.ParsePlatform(p)
			if err != nil || plat.OS == "" || plat.Architecture == "" {
				return nil, fmt.Errorf("sandbox: platform %q is not os/arch[/variant]", p)
			}
			img, err := seedPlatformImage(upstreamURL, repo, tag, p, spec)
			if err != nil {
				return nil, err
			}
			if err := addImage(img); err != nil {
				return nil, err
			}
			adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
		}
		idx = mutate.AppendManifests(idx, adds...)
		if err := c.addManifest(idx); err != nil {
			return nil, err
		}
	}
	c.digest = c.manifests[len(c.manifests)-1].digest
	return c, nil
}

func (c *seedContent) addManifest(m interface {
	RawManifest() ([]byte, error)
	MediaType() (types.MediaType, error)
}) error {
	b, err := m.RawManifest()
	if err != nil {
		return err
	}
	mt, err := m.MediaType()
	if err != nil {
		return err
	}
	c.manifests = append(c.manifests, seedManifest{mediaType: mt, data: b, digest: sha256Digest(b)})
	return nil
}

// install puts c into the stand-in's registry: blobs straight into its blob store, manifests through
// its API in process (children by digest, then the tag).
func (u *upstream) install(repo, tag string, c *seedContent) error {
	ctx := context.Background()
	for h, b := range c.blobs {
		if err := u.blobs.Put(ctx, repo, h, io.NopCloser(bytes.NewReader(b))); err != nil {
			return err
		}
	}
	for i, m := range c.manifests {
		ref := m.digest
		if i == len(c.manifests)-1 {
			ref = tag
		}
		req := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, bytes.NewReader(m.data))
		req.Header.Set("Content-Type", string(m.mediaType))
		rec := httptest.NewRecorder()
		u.inner.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("sandbox: seeding %s:%s: %d %s", repo, ref, rec.Code, rec.Body.String())
		}
	}
	return nil
}

// seedPlatformImage is one platform's image: a base layer naming the image, an "app" layer, then extras.
func seedPlatformImage(upstreamURL, repo, tag, platform string, spec seedSpec) (v1.Image, error) {
	plat, err := v1.ParsePlatform(platform)
	if err != nil || plat.OS == "" || plat.Architecture == "" {
		return nil, fmt.Errorf("sandbox: platform %q is not os/arch[/variant]", platform)
	}
	layerType, base := types.DockerLayer, empty.Image
	if spec.oci {
		layerType = types.OCILayer
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	ident := fmt.Sprintf("%s/%s:%s %s generation %d\n", upstreamURL, repo, tag, platform, spec.generation)
	short := repo[strings.LastIndex(repo, "/")+1:]
	layers := [][]byte{
		tarOf(map[string]string{
			"etc/sandbox-image": ident,
			"etc/os-release":    "NAME=\"ecr-ptc sandbox\"\nID=sandbox\n",
		}),
		tarOf(map[string]string{
			"opt/" + short + "/VERSION": tag + "\n",
			"opt/" + short + "/README":  strings.Repeat(ident, 16),
		}),
	}
	layers = append(layers, spec.extra...)

	cfg := &v1.ConfigFile{
		Architecture: plat.Architecture, OS: plat.OS, Variant: plat.Variant,
		Created: v1.Time{Time: seedEpoch},
		Config: v1.Config{
			Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd:    []string{"/bin/sh"},
			Labels: map[string]string{"org.opencontainers.image.ref.name": tag, "sandbox.image": strings.TrimSpace(ident)},
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	for i, b := range layers {
		b := b
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
			tarball.WithMediaType(layerType), tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: layerType,
			History: v1.History{Created: v1.Time{Time: seedEpoch}, CreatedBy: fmt.Sprintf("sandbox seed layer %d", i+1)}})
	}
	return mutate.Append(img, adds...)
}

// tarOf is a deterministic tar stream of files (sorted, fixed owner, mode and time), with parent dirs.
func tarOf(files map[string]string) []byte {
	var names []string
	dirs := map[string]bool{}
	for n := range files {
		names = append(names, n)
		for d := n; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d+"/")
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, ModTime: seedEpoch, Mode: 0o644, Uname: "root", Gname: "root"}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(files[n]))
		}
		_ = tw.WriteHeader(h)
		_, _ = io.WriteString(tw, files[n])
	}
	_ = tw.Close()
	return buf.Bytes()
}
