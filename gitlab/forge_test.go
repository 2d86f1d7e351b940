package gitlab_test

// A loopback stand-in for the two places GitLab users include ecr-ptc from, so the includes the docs print
// run as written (only the host differs):
//   - a GitLab mirror project `ecr-ptc/ecr-ptc` served over smart HTTP by git's own git-http-backend, whose
//     release tag holds the component at templates/ecr-ptc.yml (GitLab resolves `include: component:` only
//     from `templates/<name>.yml` or `templates/<name>/template.yml` of a project on the same instance, and
//     `include: project:` from any file of it); gitlab-ci-local fetches both with `git clone --branch <tag>
//     --depth=1 --filter=tree:0` from the instance the project's origin names;
//   - raw.githubusercontent.com, serving a tag's files at /<owner>/<repo>/<tag>/<path> for `include: remote:`.
// Both serve the files of this checkout, committed and tagged with the version the docs pin.

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
)

// mirrorFiles are the files of the repository that includes can fetch: the component and the classic
// template (a real mirror holds the whole repository; these are all GitLab reads of it).
var mirrorFiles = []string{"templates/ecr-ptc.yml", "gitlab/ecr-ptc.gitlab-ci.yml"}

type forge struct {
	Git *httptest.Server // the GitLab instance: clone URLs http://<host>/<group>/<project>.git
	Raw *httptest.Server // raw.githubusercontent.com
	Tag string
}

func gitCmd(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// startForge publishes this checkout's includable files as project ecr-ptc/ecr-ptc at tag.
func startForge(t *testing.T, root, tag string) *forge {
	t.Helper()
	citest.Need(t, "git", "apt-get install git")
	backend := "/usr/lib/git-core/git-http-backend"
	if out, err := exec.Command("git", "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	}
	if _, err := os.Stat(backend); err != nil {
		if citest.InCI() {
			t.Fatalf("git-http-backend is missing (%v): install git", err)
		}
		t.Skipf("git-http-backend is missing (%v): apt-get install git", err)
	}
	work := t.TempDir()
	for _, f := range mirrorFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, work, "init", "-q")
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "-qm", "release "+tag)
	gitCmd(t, work, "tag", tag)
	projects := t.TempDir()
	bare := filepath.Join(projects, "ecr-ptc", "ecr-ptc.git")
	gitCmd(t, work, "clone", "-q", "--bare", work, bare)
	// What GitLab's Gitaly allows: partial clones (--filter) and the lazy blob fetches of a sparse checkout.
	gitCmd(t, bare, "config", "uploadpack.allowFilter", "true")
	gitCmd(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")

	git := httptest.NewServer(&cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + projects, "GIT_HTTP_EXPORT_ALL=1"}})
	t.Cleanup(git.Close)
	raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /ecr-ptc/ecr-ptc/<tag>/<path>, the tag's file as raw.githubusercontent.com serves it.
		rest, ok := strings.CutPrefix(r.URL.Path, "/ecr-ptc/ecr-ptc/"+tag+"/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		out, err := exec.Command("git", "-C", bare, "show", tag+":"+rest).Output()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(out)
	}))
	t.Cleanup(raw.Close)
	return &forge{Git: git, Raw: raw, Tag: tag}
}

// Origin is the clone URL of a project on the forge's GitLab instance; gitlab-ci-local takes
// CI_SERVER_FQDN, and the instance components come from, from the project's origin remote.
func (f *forge) Origin(project string) string { return f.Git.URL + "/" + project + ".git" }

// Localize points a CI file's includes at the loopback forge: only the hosts change.
func (f *forge) Localize(ci string) string {
	return strings.ReplaceAll(ci, "https://raw.githubusercontent.com/", f.Raw.URL+"/")
}

// needGitLabCILocal returns gitlab-ci-local after checking the tools its runs need (locally the test
// skips with what to install; in CI it fails).
func needGitLabCILocal(t *testing.T) string {
	t.Helper()
	gcl := citest.Need(t, "gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0 (4.74 and later need Node.js 22)")
	citest.Need(t, "rsync", "apt-get install rsync (gitlab-ci-local copies the project with it)")
	citest.Need(t, "git", "apt-get install git")
	return gcl
}

// jobWorld is the sandbox as a GitLab job on the shell executor sees it: no static keys, path as PATH
// (where the job image's ecr-ptc would be), and in ECR_PTC_ID_TOKEN what id_tokens puts in the job —
// through the environment, so it is on no command line.
func jobWorld(t *testing.T, path string) *citest.World {
	t.Helper()
	w := citest.Start(t)
	w.WithoutStaticKeys()
	w.Set("PATH", path)
	token, err := w.SB.MintToken(map[string]any{"sub": "project_path:group/app:ref_type:branch:ref:main"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.Set("ECR_PTC_ID_TOKEN", token)
	return w
}

// withBinary is PATH with the ecr-ptc under test first.
func withBinary(t *testing.T) string {
	return filepath.Dir(citest.Binary(t)) + string(os.PathListSeparator) + os.Getenv("PATH")
}
