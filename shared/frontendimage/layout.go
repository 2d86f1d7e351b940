package frontendimage

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// refNameAnnotation names the image inside an OCI layout (buildctl's oci exporter and skopeo use it).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayoutTar writes idx as an OCI image layout in a tar stream, the index tagged refName.
func WriteLayoutTar(w io.Writer, idx v1.ImageIndex, refName string) error {
	dir, err := os.MkdirTemp("", "frontend-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: refName}))
	}
	if err := p.AppendIndex(idx, opts...); err != nil {
		return err
	}
	return tarDir(w, dir)
}

// tarDir writes dir's files in name order with fixed metadata, so the tarball is reproducible.
func tarDir(w io.Writer, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	tw := tar.NewWriter(w)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return err
			}
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: st.Size(), ModTime: epoch}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// ReadLayoutTar reads the image index an OCI layout tarball (as WriteLayoutTar writes it) holds. The
// returned cleanup removes the extracted files; call it once the index is no longer used.
func ReadLayoutTar(r io.Reader) (v1.ImageIndex, func(), error) {
	dir, err := os.MkdirTemp("", "frontend-layout-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := untar(r, dir); err != nil {
		cleanup()
		return nil, nil, err
	}
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("not an OCI layout: %w", err)
	}
	m, err := outer.IndexManifest()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		cleanup()
		return nil, nil, errors.New("the OCI layout must hold exactly one image index")
	}
	idx, err := outer.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return idx, cleanup, nil
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		clean := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return fmt.Errorf("unsafe path %q in the tarball", h.Name)
		}
		p := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
}

// Push uploads idx to ref. A loopback registry is spoken to over plain http, as test and sandbox
// registries are. auth gives the credential for a registry host, if any.
func Push(ctx context.Context, idx v1.ImageIndex, ref string, auth func(host string) (authfile.Credential, bool)) error {
	var nopts []name.Option
	if loopbackRef(ref) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithContext(ctx)}
	if auth != nil {
		if c, ok := auth(r.Context().RegistryStr()); ok {
			opts = append(opts, remote.WithAuth(&authn.Basic{Username: c.Username, Password: c.Password}))
		}
	}
	return remote.WriteIndex(r, idx, opts...)
}

func loopbackRef(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	return imageref.IsLoopbackHost(host)
}
