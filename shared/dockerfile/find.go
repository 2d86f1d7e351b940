package dockerfile

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// IsDockerfileName reports whether a file name is one builders and people use for Dockerfiles:
// Dockerfile, Containerfile, Dockerfile.<x>, <x>.Dockerfile (and the Containerfile forms), but not
// <x>.dockerignore files.
func IsDockerfileName(name string) bool {
	if strings.HasSuffix(name, ".dockerignore") || strings.HasSuffix(name, ".containerignore") {
		return false
	}
	for _, base := range []string{"Dockerfile", "Containerfile"} {
		if name == base || strings.HasPrefix(name, base+".") || strings.HasSuffix(name, "."+base) {
			return true
		}
	}
	return false
}

// skipDirs are never searched: they hold other projects' files, not the build's.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, ".terraform": true, ".ecr-ptc": true}

// Find lists the Dockerfiles under root in lexical order. A root that is a file is returned as is.
func Find(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if path == root || IsDockerfileName(d.Name()) {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
