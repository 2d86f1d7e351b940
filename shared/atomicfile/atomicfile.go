// Package atomicfile replaces files so that a reader never sees half of one: the data goes to a
// temporary file in the same directory, gets its mode before any byte is written, is synced, and is
// renamed over the target.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data at mode perm. Errors name path, never the temporary file.
func Write(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: %v", path, pe.Err)
		}
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp, data, perm); err != nil {
		return named(path, err)
	}
	return named(path, os.Rename(tmp.Name(), path))
}

// write fills the temporary file and closes it.
func write(tmp *os.File, data []byte, perm fs.FileMode) error {
	// The mode first: a secret is never readable by others, not even for an instant.
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	return tmp.Close()
}

// named reports err against the target path: the temporary file's name means nothing to the user.
func named(path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", path, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %v", path, le.Err)
	}
	return fmt.Errorf("%s: %v", path, err)
}

// WriteAll is Write after creating path's directory (mode 0755) when it is missing.
func WriteAll(path string, data []byte, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return Write(path, data, perm)
}
