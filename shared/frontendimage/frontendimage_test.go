package frontendimage

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		f := filepath.Join(dir, strings.ReplaceAll(p, "/", "-"))
		if err := os.WriteFile(f, []byte("#!fake binary for "+p+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out[p] = f
	}
	return out
}

func TestBuild(t *testing.T) {
	spec := Spec{Binaries: fakeBinaries(t), Path: "/bin/ecr-ptc-frontend"}
	idx, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same binaries made %s and %s", d1, d2)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("want two platforms, got %+v", im.Manifests)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != d.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("config platform %s/%s for %s", cf.OS, cf.Architecture, d.Platform)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/bin/ecr-ptc-frontend" {
			t.Errorf("entrypoint %v", cf.Config.Entrypoint)
		}
		if cf.Config.Labels["moby.buildkit.frontend.network.none"] != "true" || cf.Config.Labels["moby.buildkit.frontend.caps"] != Caps {
			t.Errorf("labels %v", cf.Config.Labels)
		}
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Fatalf("%d layers", len(layers))
		}
		rc, _ := layers[0].Uncompressed()
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			if h.Name == "bin/ecr-ptc-frontend" {
				data, _ := io.ReadAll(tr)
				if h.Mode != 0o755 || !strings.Contains(string(data), d.Platform.Architecture) {
					t.Errorf("binary mode %o, content %q", h.Mode, data)
				}
			}
		}
		rc.Close()
		if strings.Join(names, " ") != "bin/ bin/ecr-ptc-frontend" {
			t.Errorf("layer holds %v", names)
		}
	}
	sizes, err := Size(idx)
	if err != nil || len(sizes) != 2 || sizes["linux/amd64"] == 0 {
		t.Errorf("sizes %v %v", sizes, err)
	}
}

func TestBuildRejects(t *testing.T) {
	bins := fakeBinaries(t)
	for _, s := range []Spec{
		{Binaries: bins, Path: "/run/frontend"},
		{Binaries: bins, Path: "bin/frontend"},
		{Path: "/bin/frontend"},
		{Binaries: map[string]string{"amd64": bins["linux/amd64"]}, Path: "/bin/frontend"},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("Build(%+v) succeeded", s)
		}
	}
}

func TestLayoutRoundTripAndPush(t *testing.T) {
	idx, err := Build(Spec{Binaries: fakeBinaries(t), Path: "/bin/x"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteLayoutTar(&buf, idx, "x:dev"); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteLayoutTar(&again, idx, "x:dev"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("the layout tarball is not reproducible")
	}
	back, cleanup, err := ReadLayoutTar(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	want, _ := idx.Digest()
	if got, _ := back.Digest(); got != want {
		t.Errorf("read back %s, wrote %s", got, want)
	}

	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/ecr-ptc/frontend:test"
	asked := ""
	auth := func(host string) (authfile.Credential, bool) { asked = host; return authfile.Credential{}, false }
	if err := Push(context.Background(), back, ref, auth); err != nil {
		t.Fatal(err)
	}
	if asked != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("credentials were looked up for %q", asked)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	pulled, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("registry has %s, want %s", got, want)
	}
	var _ v1.ImageIndex = pulled
}

func TestLoopbackRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/x:1": true, "localhost:5000/x": true, "[::1]:5000/x": true,
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1": false, "docker.io/x": false,
	} {
		if got := loopbackRef(ref); got != want {
			t.Errorf("loopbackRef(%q) = %v", ref, got)
		}
	}
}

func TestCommandLine(t *testing.T) {
	bins := fakeBinaries(t)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "image.tar")
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		return map[string]string{"DOCKER_CONFIG": filepath.Join(dir, "docker")}[k]
	}}
	args := []string{"build", "--binary", "linux/amd64=" + bins["linux/amd64"], "--binary", "linux/arm64=" + bins["linux/arm64"], "--path", "/bin/x", "--out", tarPath, "--ref-name", "x:dev"}
	if code := Main(context.Background(), args, env); code != 0 || !strings.Contains(out.String(), "linux/arm64\t") {
		t.Fatalf("build: %d %q %q", code, out.String(), errb.String())
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	out.Reset()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/x:dev"
	if code := Main(context.Background(), []string{"push", "--layout", tarPath, ref}, env); code != 0 || !strings.HasPrefix(out.String(), "pushed "+ref+"@sha256:") {
		t.Fatalf("push: %d %q %q", code, out.String(), errb.String())
	}
	for _, bad := range [][]string{{}, {"frobnicate"}, {"build"}, {"push", ref}, {"build", "--binary", "nonsense", "--out", tarPath}} {
		errb.Reset()
		if code := Main(context.Background(), bad, env); code != 1 || !strings.HasPrefix(errb.String(), "mkimage: ") {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errb.String())
		}
	}
}
