package gitlab_test

// The component with the released tool image: the snapshot's tool image (dist/, `make release-snapshot`)
// is loaded from its OCI layout into a loopback registry, pulled back by digest as a runner pulls a job
// image, and unpacked for this machine's platform. gitlab-ci-local runs with --force-shell-executor here
// (there is no container engine), so the job's shell is the machine's: what runs ecr-ptc-setup is the
// ecr-ptc binary taken from the image's layer, put first on PATH, as the image's PATH has it. That the
// image works as a job image of its own (busybox sh, ecr-ptc, CA certificates) is checked by running its
// shell in a chroot of the unpacked root file system, where the test runs as root.

import (
	"archive/tar"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"
)

// unpack writes img's layers, in order, into dir (regular files, directories and symlinks; the release
// images have no whiteouts).
func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.Clean("/"+h.Name))
			switch h.Typeflag {
			case tar.TypeDir:
				os.MkdirAll(p, os.FileMode(h.Mode)&os.ModePerm)
			case tar.TypeSymlink:
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.Remove(p)
				if err := os.Symlink(h.Linkname, p); err != nil {
					t.Fatal(err)
				}
			case tar.TypeReg:
				os.MkdirAll(filepath.Dir(p), 0o755)
				f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&os.ModePerm)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, tr); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
		rc.Close()
	}
}

func TestGitLabCILocalToolImage(t *testing.T) {
	gcl := needGitLabCILocal(t)
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the tool image has linux/amd64 and linux/arm64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	snap := citest.SnapshotDist(t)
	root := citest.RepoRoot(t)

	// The component's default job image is the tool image on ECR Public: no Docker Hub, no Go.
	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	data, err := os.ReadFile(filepath.Join(root, component))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.NewDecoder(strings.NewReader(string(data))).Decode(&spec); err != nil {
		t.Fatal(err)
	}
	if img, _ := spec.Spec.Inputs["image"].Default.(string); !strings.HasPrefix(img, "public.ecr.aws/ecr-ptc/ecr-ptc:") {
		t.Errorf("the component's default image is %q, not the tool image on public.ecr.aws", img)
	}

	// The snapshot's OCI layout into a loopback registry, and back by digest.
	f, err := os.Open(snap.Images["ecr-ptc"])
	if err != nil {
		t.Fatal(err)
	}
	idx, cleanup, err := frontendimage.ReadLayoutTar(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	if err := frontendimage.Push(context.Background(), idx, host+"/ecr-ptc/ecr-ptc:"+snap.Version, nil); err != nil {
		t.Fatal(err)
	}
	digest, _ := idx.Digest()
	ref, err := name.ParseReference(host+"/ecr-ptc/ecr-ptc@"+digest.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := pulled.IndexManifest()
	var img v1.Image
	plats := map[string]bool{}
	for _, d := range im.Manifests {
		plats[d.Platform.String()] = true
		if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			img, err = pulled.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if !plats["linux/amd64"] || !plats["linux/arm64"] || img == nil {
		t.Fatalf("the tool image holds %v", plats)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	unpack(t, img, rootfs)
	toolBin := filepath.Join(rootfs, "usr", "local", "bin")

	// The image as a job image of its own: its shell, its ecr-ptc, its CA certificates.
	if os.Geteuid() == 0 {
		out, err := exec.Command("chroot", rootfs, "/bin/sh", "-c", "command -v ecr-ptc && ecr-ptc --version && test -s \"$SSL_CERT_FILE\" && sha256sum /usr/local/bin/ecr-ptc | grep -q ecr-ptc && echo ok").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "/usr/local/bin/ecr-ptc\necr-ptc "+snap.Version+" ") || !strings.HasSuffix(string(out), "ok\n") {
			t.Errorf("the image's shell in a chroot: %v\n%s", err, out)
		}
	} else if citest.InCI() {
		t.Error("CI runs as root: the chroot check of the image's shell must run")
	} else {
		t.Log("not root: the chroot check of the image's own shell is skipped")
	}

	w := jobWorld(t, toolBin+string(os.PathListSeparator)+pathWithoutGo())
	fg := startForge(t, root, "v0.1.0")
	dir := project(t, root, fg, exampleCI(t, root, "docker-in-docker.gitlab-ci.yml"))
	out, err := w.Run(t, dir, gcl, "--force-shell-executor", "--no-color", "ecr-ptc-setup")
	w.NoSecrets(t, out, "the gitlab-ci-local output")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "ecr-ptc "+snap.Version+" (commit ") || strings.Contains(out, "go install") {
		t.Errorf("the job did not run the image's ecr-ptc %s:\n%s", snap.Version, out)
	}
	env, err := os.ReadFile(filepath.Join(dir, "ecr-ptc.env"))
	if err != nil || !strings.Contains(string(env), "ECR_PTC_REGISTRY="+w.SB.RegistryHost+"\n") {
		t.Errorf("dotenv report: %v\n%s\n%s", err, env, out)
	}
}

// pathWithoutGo is the machine's PATH less every directory that holds a go command: the job must not be
// able to build ecr-ptc.
func pathWithoutGo() string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}
