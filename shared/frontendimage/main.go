package frontendimage

import (
	"context"
	"flag"
	"fmt"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
)

// Env is what Main takes from the process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `usage:
  mkimage build --binary OS/ARCH=FILE [--binary ...] --path /bin/NAME --out IMAGE.tar [--ref-name NAME:TAG]
  mkimage push  --layout IMAGE.tar REF     (a loopback registry is spoken to over plain http)
  mkimage size  --layout IMAGE.tar
`

// Main runs the mkimage command line (args without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if err := run(ctx, args, env); err != nil {
		fmt.Fprintf(env.Stderr, "mkimage: %v\n", err)
		return 1
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command\n%s", usage)
	}
	fs := flag.NewFlagSet("mkimage "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var binaries multiFlag
	fs.Var(&binaries, "binary", "OS/ARCH=FILE: the static frontend binary for a platform (repeatable)")
	binPath := fs.String("path", "/bin/ecr-ptc-frontend", "where the binary goes in the image")
	out := fs.String("out", "", "the OCI layout tarball to write")
	refName := fs.String("ref-name", "", "the name the layout gives the image")
	layoutTar := fs.String("layout", "", "an OCI layout tarball written by mkimage build")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "build":
		if *out == "" {
			return fmt.Errorf("--out is required")
		}
		spec := Spec{Binaries: map[string]string{}, Path: *binPath}
		for _, b := range binaries {
			p, file, ok := strings.Cut(b, "=")
			if !ok {
				return fmt.Errorf("--binary %q: expected OS/ARCH=FILE", b)
			}
			spec.Binaries[p] = file
		}
		idx, err := Build(spec)
		if err != nil {
			return err
		}
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := WriteLayoutTar(f, idx, *refName); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %s\n", *out, d)
		return printSizes(env.Stdout, *out)
	case "push":
		if *layoutTar == "" || fs.NArg() != 1 {
			return fmt.Errorf("expected --layout IMAGE.tar REF\n%s", usage)
		}
		idx, cleanup, err := openLayoutTar(*layoutTar)
		if err != nil {
			return err
		}
		defer cleanup()
		getenv := env.Getenv
		if getenv == nil {
			getenv = func(string) string { return "" }
		}
		cfg := authfile.DockerConfigPath(getenv("DOCKER_CONFIG"), getenv("HOME"))
		auth := func(host string) (authfile.Credential, bool) {
			c, ok, err := authfile.Read(cfg, host)
			return c, ok && err == nil
		}
		if err := Push(ctx, idx, fs.Arg(0), auth); err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "pushed %s@%s\n", fs.Arg(0), d)
		return nil
	case "size":
		if *layoutTar == "" {
			return fmt.Errorf("--layout is required")
		}
		return printSizes(env.Stdout, *layoutTar)
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

// openLayoutTar reads an OCI layout tarball from a file; cleanup removes what reading it unpacked.
func openLayoutTar(path string) (v1.ImageIndex, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ReadLayoutTar(f)
}

func printSizes(w io.Writer, layoutTar string) error {
	idx, cleanup, err := openLayoutTar(layoutTar)
	if err != nil {
		return err
	}
	defer cleanup()
	sizes, err := Size(idx)
	if err != nil {
		return err
	}
	plats := make([]string, 0, len(sizes))
	for p := range sizes {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	for _, p := range plats {
		fmt.Fprintf(w, "%s\t%d bytes (%.1f MiB) to pull\n", p, sizes[p], float64(sizes[p])/(1<<20))
	}
	return nil
}
