package release

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

// Image is one line of dist/images.txt: NAME DIGEST FILE, NAME being the repository's last element
// (ecr-ptc, frontend).
type Image struct{ Name, Digest, File string }

var (
	versionRE  = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	digestRE   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	checksumRE = regexp.MustCompile(`^([0-9a-f]{64})  (ecr-ptc_[0-9A-Za-z.-]+_(linux|darwin)_(amd64|arm64)\.tar\.gz)$`)
	// The release images wherever a door names them, with or without a tag and a digest.
	imageRefRE = regexp.MustCompile(`\b(ghcr\.io|public\.ecr\.aws)/ecr-ptc/(ecr-ptc|frontend)(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]{64})?`)
	// The version a door installs by default: the action's and the component's `version` input, and
	// ECR_PTC_VERSION in the CodeBuild examples.
	versionLineRE = regexp.MustCompile(`(?m)^(\s*(?:default|ECR_PTC_VERSION):\s*)v\d+\.\d+\.\d+[0-9A-Za-z.-]*(\s*)$`)
	shaLineRE     = regexp.MustCompile(`(?m)^(\s*ECR_PTC_SHA256_(AMD64|ARM64):\s*)"[0-9a-f]*"`)
)

// ReadImages reads dist/images.txt.
func ReadImages(file string) ([]Image, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []Image
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !digestRE.MatchString(f[1]) {
			return nil, fmt.Errorf("%s:%d: expected NAME sha256:DIGEST FILE", file, i+1)
		}
		out = append(out, Image{f[0], f[1], f[2]})
	}
	return out, nil
}

// WriteImages writes dist/images.txt.
func WriteImages(file string, imgs []Image) error {
	var b strings.Builder
	for _, i := range imgs {
		fmt.Fprintf(&b, "%s %s %s\n", i.Name, i.Digest, i.File)
	}
	return atomicfile.Write(file, []byte(b.String()), 0o644)
}

// Archives reads the archive lines of a GoReleaser checksums.txt for version (without the leading v).
func Archives(checksums, version string) (map[string]string, error) {
	f, err := os.Open(checksums)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := checksumRE.FindStringSubmatch(sc.Text())
		if m != nil && strings.HasPrefix(m[2], "ecr-ptc_"+version+"_") {
			out[m[2]] = m[1]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no ecr-ptc_%s_*.tar.gz archive", checksums, version)
	}
	return out, nil
}

// PinFiles are the files Pin edits, relative to the repository root (globs; the GitLab component lives in
// templates/, where GitLab looks for it).
var PinFiles = []string{"action.yml", "templates/*.yml", "gitlab/ecr-ptc.gitlab-ci.yml", "codebuild/examples/*.yml"}

// Pin records release tag (vX.Y.Z) in the repository at root: its archive checksums are appended to
// actions/checksums.txt (replacing that version's lines), and the doors' default version, image references
// (tag@digest) and CodeBuild checksums name it. It returns the files changed.
func Pin(root, tag, checksums string, images []Image) ([]string, error) {
	if !versionRE.MatchString(tag) {
		return nil, fmt.Errorf("version %q is not vMAJOR.MINOR.PATCH", tag)
	}
	version := strings.TrimPrefix(tag, "v")
	sums, err := Archives(checksums, version)
	if err != nil {
		return nil, err
	}
	digests := map[string]string{}
	for _, i := range images {
		digests[i.Name] = i.Digest
	}
	var changed []string
	sumsFile := filepath.Join(root, "actions", "checksums.txt")
	old, err := os.ReadFile(sumsFile)
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, line := range strings.Split(strings.TrimRight(string(old), "\n"), "\n") {
		if m := checksumRE.FindStringSubmatch(line); m != nil && strings.HasPrefix(m[2], "ecr-ptc_"+version+"_") {
			continue
		}
		keep = append(keep, line)
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		keep = append(keep, sums[n]+"  "+n)
	}
	if err := atomicfile.Write(sumsFile, []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	changed = append(changed, "actions/checksums.txt")

	for _, pat := range PinFiles {
		files, _ := filepath.Glob(filepath.Join(root, pat))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			s := imageRefRE.ReplaceAllStringFunc(string(data), func(ref string) string {
				m := imageRefRE.FindStringSubmatch(ref)
				d, ok := digests[m[2]]
				if !ok {
					return ref
				}
				return m[1] + "/ecr-ptc/" + m[2] + ":" + tag + "@" + d
			})
			s = versionLineRE.ReplaceAllString(s, "${1}"+tag+"${2}")
			s = shaLineRE.ReplaceAllStringFunc(s, func(line string) string {
				m := shaLineRE.FindStringSubmatch(line)
				return m[1] + `"` + sums["ecr-ptc_"+version+"_linux_"+strings.ToLower(m[2])+".tar.gz"] + `"`
			})
			if s == string(data) {
				continue
			}
			if err := atomicfile.Write(f, []byte(s), 0o644); err != nil {
				return nil, err
			}
			rel, _ := filepath.Rel(root, f)
			changed = append(changed, rel)
		}
	}
	return changed, nil
}
