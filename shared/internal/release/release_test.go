package release

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func toolSpec(t *testing.T) ToolSpec {
	dir := t.TempDir()
	s := ToolSpec{Binaries: map[string]string{}, Busybox: map[string]string{}, Applets: []string{"/bin/sh", "/usr/bin/sha256sum", "/bin/busybox"},
		CACerts:     write(t, filepath.Join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
		Annotations: Annotations{Source: "https://github.com/ecr-ptc/ecr-ptc", Revision: "abc", Version: "1.2.3", Licenses: "NOASSERTION"}}
	for _, a := range []string{"amd64", "arm64"} {
		s.Binaries["linux/"+a] = write(t, filepath.Join(dir, "ecr-ptc-"+a), "ecr-ptc for "+a)
		s.Busybox["linux/"+a] = write(t, filepath.Join(dir, "busybox-"+a), "busybox for "+a)
	}
	return s
}

func TestBuildTool(t *testing.T) {
	s := toolSpec(t)
	idx, err := BuildTool(s)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := BuildTool(s)
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same inputs made %s and %s", d1, d2)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.revision"] != "abc" || im.Annotations["org.opencontainers.image.licenses"] != "NOASSERTION" {
		t.Errorf("index annotations %v", im.Annotations)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("want linux/amd64 and linux/arm64, got %+v", im.Manifests)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := img.Manifest()
		if m.Annotations["org.opencontainers.image.source"] != "https://github.com/ecr-ptc/ecr-ptc" || m.Annotations["org.opencontainers.image.version"] != "1.2.3" {
			t.Errorf("%s manifest annotations %v", d.Platform, m.Annotations)
		}
		cf, _ := img.ConfigFile()
		if cf.Architecture != d.Platform.Architecture || cf.Config.Labels["org.opencontainers.image.revision"] != "abc" || len(cf.Config.Entrypoint) != 0 {
			t.Errorf("%s config %+v", d.Platform, cf.Config)
		}
		files := map[string]*tar.Header{}
		contents := map[string]string{}
		layers, _ := img.Layers()
		if len(layers) != 2 {
			t.Fatalf("%d layers, want the base and ecr-ptc", len(layers))
		}
		for _, l := range layers {
			rc, _ := l.Uncompressed()
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				files[h.Name] = h
				b, _ := io.ReadAll(tr)
				contents[h.Name] = string(b)
			}
			rc.Close()
		}
		arch := d.Platform.Architecture
		if contents["usr/local/bin/ecr-ptc"] != "ecr-ptc for "+arch || contents["bin/busybox"] != "busybox for "+arch {
			t.Errorf("%s: wrong binaries %q %q", arch, contents["usr/local/bin/ecr-ptc"], contents["bin/busybox"])
		}
		if h := files["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/bin/busybox" {
			t.Errorf("%s: /bin/sh is %+v", arch, h)
		}
		if !strings.Contains(contents["etc/ssl/certs/ca-certificates.crt"], "BEGIN CERTIFICATE") || files["tmp/"] == nil || files["tmp/"].Mode != 0o1777 {
			t.Errorf("%s: no CA bundle or /tmp", arch)
		}
	}
}

func TestBuildToolRejects(t *testing.T) {
	for name, mut := range map[string]func(*ToolSpec){
		"no binaries": func(s *ToolSpec) { s.Binaries = nil },
		"no busybox":  func(s *ToolSpec) { delete(s.Busybox, "linux/arm64") },
		"no certs":    func(s *ToolSpec) { s.CACerts = write(t, filepath.Join(t.TempDir(), "empty"), "") },
		"darwin":      func(s *ToolSpec) { s.Binaries["darwin/arm64"] = s.Binaries["linux/arm64"] },
	} {
		s := toolSpec(t)
		mut(&s)
		if _, err := BuildTool(s); err == nil {
			t.Errorf("%s: BuildTool succeeded", name)
		}
	}
}

const (
	sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sumB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	dgT  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	dgF  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestPin(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "actions/checksums.txt"), "# header\n"+strings.Repeat("c", 64)+"  ecr-ptc_0.9.0_linux_amd64.tar.gz\n"+strings.Repeat("d", 64)+"  ecr-ptc_1.0.0_linux_amd64.tar.gz\n")
	write(t, filepath.Join(root, "action.yml"), "  frontend-image:\n    default: ghcr.io/ecr-ptc/frontend:v0.1.0\n  version:\n    default: \"\"\n")
	write(t, filepath.Join(root, "templates/ecr-ptc.yml"), "    frontend-image:\n      default: ghcr.io/ecr-ptc/frontend:v0.1.0@"+dgT+"\n    version:\n      default: v0.1.0\n    image:\n      default: public.ecr.aws/ecr-ptc/ecr-ptc:v0.1.0\n")
	write(t, filepath.Join(root, "codebuild/examples/buildspec-x.yml"), "    ECR_PTC_VERSION: v0.1.0\n    ECR_PTC_SHA256_AMD64: \"\"\n    ECR_PTC_SHA256_ARM64: \"\"\n    ECR_PTC_FRONTEND_IMAGE: public.ecr.aws/ecr-ptc/frontend\n")
	dist := t.TempDir()
	write(t, filepath.Join(dist, "checksums.txt"), sumA+"  ecr-ptc_1.0.0_linux_amd64.tar.gz\n"+sumB+"  ecr-ptc_1.0.0_linux_arm64.tar.gz\n"+sumA+"  ecr-ptc_1.0.0_linux_amd64.tar.gz.cdx.json\n")
	if err := WriteImages(filepath.Join(dist, "images.txt"), []Image{{"ecr-ptc", dgT, "t.oci.tar"}, {"frontend", dgF, "f.oci.tar"}}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"pin", "--version", "v1.0.0", "--dist", dist, "--root", root}, Env{&out, &errb}); code != 0 {
		t.Fatalf("pin: %s", errb.String())
	}
	if got := out.String(); got != "actions/checksums.txt\naction.yml\ntemplates/ecr-ptc.yml\ncodebuild/examples/buildspec-x.yml\n" {
		t.Errorf("changed files:\n%s", got)
	}
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(root, p)); return string(b) }
	if got, want := read("actions/checksums.txt"), "# header\n"+strings.Repeat("c", 64)+"  ecr-ptc_0.9.0_linux_amd64.tar.gz\n"+sumA+"  ecr-ptc_1.0.0_linux_amd64.tar.gz\n"+sumB+"  ecr-ptc_1.0.0_linux_arm64.tar.gz\n"; got != want {
		t.Errorf("checksums.txt:\n%s\nwant\n%s", got, want)
	}
	if got := read("action.yml"); !strings.Contains(got, "default: ghcr.io/ecr-ptc/frontend:v1.0.0@"+dgF+"\n") || !strings.Contains(got, "default: \"\"\n") {
		t.Errorf("action.yml:\n%s", got)
	}
	if got := read("templates/ecr-ptc.yml"); !strings.Contains(got, "ghcr.io/ecr-ptc/frontend:v1.0.0@"+dgF+"\n") || !strings.Contains(got, "default: v1.0.0\n") ||
		!strings.Contains(got, "default: public.ecr.aws/ecr-ptc/ecr-ptc:v1.0.0@"+dgT+"\n") {
		t.Errorf("component:\n%s", got)
	}
	if got := read("codebuild/examples/buildspec-x.yml"); !strings.Contains(got, "ECR_PTC_VERSION: v1.0.0\n") || !strings.Contains(got, `ECR_PTC_SHA256_AMD64: "`+sumA+`"`) ||
		!strings.Contains(got, `ECR_PTC_SHA256_ARM64: "`+sumB+`"`) || !strings.Contains(got, "public.ecr.aws/ecr-ptc/frontend:v1.0.0@"+dgF) {
		t.Errorf("buildspec:\n%s", got)
	}
	// Pinning again changes nothing but rewriting checksums.txt the same way.
	before := read("templates/ecr-ptc.yml") + read("actions/checksums.txt")
	out.Reset()
	if code := Main(context.Background(), []string{"pin", "--version", "v1.0.0", "--dist", dist, "--root", root}, Env{&out, &errb}); code != 0 || out.String() != "actions/checksums.txt\n" {
		t.Errorf("second pin: %d %q %s", code, out.String(), errb.String())
	}
	if after := read("templates/ecr-ptc.yml") + read("actions/checksums.txt"); after != before {
		t.Error("pinning twice is not idempotent")
	}
}

func TestMainBadInput(t *testing.T) {
	dist := t.TempDir()
	for _, args := range [][]string{{}, {"frobnicate"}, {"pin", "--dist", dist}, {"pin", "--version", "1.0", "--dist", dist}, {"pin", "--version", "v1.0.0\nx", "--dist", dist},
		{"images", "--dist", dist}, {"pin", "--version", "v1.0.0", "extra"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, Env{&out, &errb}); code != 1 || !strings.HasPrefix(errb.String(), "release: ") || strings.Count(strings.TrimSpace(errb.String()), "\n") > 6 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
