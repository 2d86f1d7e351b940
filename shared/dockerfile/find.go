package dockerfile

import (
	"errors"
	"io/fs"
	"os"
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
		if path != root && !IsDockerfileName(d.Name()) {
			return nil
		}
		// Only regular files, and symlinks that stay inside the tree: a repository is untrusted, and
		// a Dockerfile.x -> /proc/self/environ, a FIFO or a device must never be read.
		switch t := d.Type(); {
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() || !inside(root, path) {
				if path == root {
					return &os.PathError{Op: "read", Path: path, Err: errors.New("is a symlink to outside the tree or not a regular file; ecr-ptc does not follow it")}
				}
				return nil
			}
		default:
			if path == root {
				return &os.PathError{Op: "read", Path: path, Err: errors.New("is not a regular file")}
			}
			return nil
		}
		out = append(out, path)
		return nil
	})
	sort.Strings(out)
	return out, err
}
