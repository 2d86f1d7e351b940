package release

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Env is what Main takes from the process.
type Env struct{ Stdout, Stderr io.Writer }

const usage = `usage:
  release images --dist DIR --busybox linux/ARCH=FILE... --applets FILE --ca-certs FILE [--source URL] [--licenses SPDX] [--created RFC3339]
      the tool and frontend images of a GoReleaser dist/ as OCI layout tarballs, and DIR/images.txt
  release pin --version vX.Y.Z --dist DIR [--root .]
      record the release in actions/checksums.txt and the doors' default version and image references
`

// Main runs the release command line (args without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if err := run(args, env); err != nil {
		fmt.Fprintf(env.Stderr, "release: %v\n", err)
		return 1
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command\n%s", usage)
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dist := fs.String("dist", "dist", "GoReleaser's dist directory")
	var busybox multiFlag
	fs.Var(&busybox, "busybox", "linux/ARCH=FILE: a static busybox for the tool image (repeatable)")
	applets := fs.String("applets", "", "file listing busybox's applets as absolute paths (busybox --list-full)")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates")
	source := fs.String("source", "https://github.com/ecr-ptc/ecr-ptc", "org.opencontainers.image.source")
	licenses := fs.String("licenses", "NOASSERTION", "org.opencontainers.image.licenses (SPDX expression)")
	created := fs.String("created", "", "org.opencontainers.image.created: the commit's date (RFC 3339), so that rebuilds match")
	version := fs.String("version", "", "the release tag, vX.Y.Z")
	root := fs.String("root", ".", "the repository root")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	switch args[0] {
	case "images":
		d, err := ReadDist(*dist)
		if err != nil {
			return err
		}
		bb := map[string]string{}
		for _, b := range busybox {
			p, f, ok := strings.Cut(b, "=")
			if !ok {
				return fmt.Errorf("--busybox %q: expected linux/ARCH=FILE", b)
			}
			bb[p] = f
		}
		var list []string
		if *applets != "" {
			data, err := os.ReadFile(*applets)
			if err != nil {
				return err
			}
			for _, l := range strings.Fields(string(data)) {
				list = append(list, "/"+strings.TrimPrefix(l, "/"))
			}
		}
		ann := Annotations{Source: *source, Revision: d.Meta.Commit, Version: d.Meta.Version, Licenses: *licenses, Created: *created}
		toolAnn := ann
		toolAnn.Title, toolAnn.Description = "ecr-ptc", "The ecr-ptc CLI on busybox with CA certificates, for CI job images"
		tool, err := BuildTool(ToolSpec{Binaries: d.Binaries("ecr-ptc"), Busybox: bb, Applets: list, CACerts: *caCerts, Annotations: toolAnn})
		if err != nil {
			return fmt.Errorf("tool image: %w", err)
		}
		feAnn := ann
		feAnn.Title, feAnn.Description = "ecr-ptc-frontend", "BuildKit Dockerfile frontend that pulls every image through the ECR pull-through cache"
		labels := feAnn.Map()
		fe, err := frontendimage.Build(frontendimage.Spec{Binaries: d.Binaries("frontend"), Path: "/bin/ecr-ptc-frontend", Labels: labels, Annotations: labels})
		if err != nil {
			return fmt.Errorf("frontend image: %w", err)
		}
		var imgs []Image
		for _, i := range []struct {
			name, file string
			idx        v1.ImageIndex
		}{
			{"ecr-ptc", "ecr-ptc_" + d.Meta.Version + "_image.oci.tar", tool},
			{"frontend", "ecr-ptc-frontend_" + d.Meta.Version + "_image.oci.tar", fe},
		} {
			if err := writeLayout(filepath.Join(*dist, i.file), i.idx, i.name+":"+d.Meta.Version); err != nil {
				return err
			}
			dg, err := i.idx.Digest()
			if err != nil {
				return err
			}
			imgs = append(imgs, Image{i.name, dg.String(), i.file})
			fmt.Fprintf(env.Stdout, "%s %s %s\n", i.name, dg, filepath.Join(*dist, i.file))
		}
		return WriteImages(filepath.Join(*dist, "images.txt"), imgs)
	case "pin":
		if *version == "" {
			return fmt.Errorf("--version is required")
		}
		imgs, err := ReadImages(filepath.Join(*dist, "images.txt"))
		if err != nil {
			return err
		}
		changed, err := Pin(*root, *version, filepath.Join(*dist, "checksums.txt"), imgs)
		if err != nil {
			return err
		}
		for _, c := range changed {
			fmt.Fprintln(env.Stdout, c)
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

func writeLayout(file string, idx v1.ImageIndex, refName string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := frontendimage.WriteLayoutTar(f, idx, refName); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
