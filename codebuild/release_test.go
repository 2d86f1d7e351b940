package codebuild_test

// The CodeBuild examples' install phase for real, with sh (CodeBuild's default shell; dash here) and no
// ecr-ptc or Go on PATH: it downloads the snapshot release (dist/, `make release-snapshot`) from a loopback
// server laid out as GitHub Releases, verifies it against the pinned ECR_PTC_SHA256_*, and installs it; a
// tampered archive stops the phase before anything in it runs.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

func TestCodeBuildInstallsRelease(t *testing.T) {
	citest.Need(t, "curl", "apt-get install curl")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("no linux release archive for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	snap := citest.SnapshotDist(t)
	root := citest.RepoRoot(t)
	var tampered atomic.Bool // set by the test, read by the server's goroutines
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/v"+snap.Version+"/")
		if _, ok := snap.Checksums[name]; !ok {
			http.NotFound(w, r)
			return
		}
		data, _ := os.ReadFile(filepath.Join(snap.Dir, name))
		if tampered.Load() {
			data[len(data)/3] ^= 0xff
		}
		w.Write(data)
	}))
	defer srv.Close()
	// PATH without ecr-ptc and Go: only the release can provide ecr-ptc.
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		_, goErr := os.Stat(filepath.Join(d, "go"))
		_, ptcErr := os.Stat(filepath.Join(d, "ecr-ptc"))
		if goErr != nil && ptcErr != nil {
			path = append(path, d)
		}
	}
	set := map[string]string{
		"ECR_PTC_VERSION":      "v" + snap.Version,
		"ECR_PTC_RELEASES":     srv.URL,
		"ECR_PTC_SHA256_AMD64": snap.Checksums["ecr-ptc_"+snap.Version+"_linux_amd64.tar.gz"],
		"ECR_PTC_SHA256_ARM64": snap.Checksums["ecr-ptc_"+snap.Version+"_linux_arm64.tar.gz"],
	}
	for _, example := range []string{"buildspec-buildx.yml", "buildspec-kaniko.yml"} {
		if example == "buildspec-kaniko.yml" && runtime.GOARCH != "amd64" {
			continue // the kaniko example installs the amd64 archive
		}
		for _, tamper := range []bool{false, true} {
			tampered.Store(tamper)
			binDir := t.TempDir()
			var script []string
			for _, c := range phaseCommands(t, filepath.Join(root, "codebuild", "examples", example), "install") {
				for k, v := range set {
					if strings.HasPrefix(c, "export "+k+"=") {
						c = "export " + k + "='" + v + "'"
					}
				}
				if strings.HasPrefix(c, "export ECR_PTC_BIN_DIR=") {
					c = "export ECR_PTC_BIN_DIR='" + binDir + "'"
				}
				script = append(script, c)
			}
			cmd := exec.Command("sh", "-ec", strings.Join(script, "\n")+"\n")
			cmd.Dir = t.TempDir()
			cmd.Env = []string{"PATH=" + binDir + string(os.PathListSeparator) + strings.Join(path, string(os.PathListSeparator)), "HOME=" + cmd.Dir}
			out, err := cmd.CombinedOutput()
			if tamper {
				if err == nil || !strings.Contains(string(out), "FAILED") {
					t.Errorf("%s: a tampered archive was installed: %v\n%s", example, err, out)
				}
				if _, serr := os.Stat(filepath.Join(binDir, "ecr-ptc")); serr == nil {
					t.Errorf("%s: the tampered archive's ecr-ptc was extracted", example)
				}
				continue
			}
			if err != nil || !strings.Contains(string(out), ": OK\n") || !strings.Contains(string(out), "ecr-ptc "+snap.Version+" (commit ") {
				t.Errorf("%s install phase: %v\n%s", example, err, out)
			}
		}
	}
}
