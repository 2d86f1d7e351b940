package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
)

// MaxFileSize bounds a Dockerfile: real ones are a few KiB; anything bigger is a mistake or an attack
// (a /dev/zero symlink, a 10 MB FROM line) and must not exhaust memory.
const MaxFileSize = 4 << 20

// ReadFile reads a Dockerfile the way every ecr-ptc command must: only a regular file (a FIFO named
// Dockerfile must not hang the job, a device must not be read), at most MaxFileSize bytes, and only
// text (a binary or UTF-16 file is refused with one sentence, never echoed).
func ReadFile(path string) ([]byte, error) {
	data, err := safefile.Read(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	if err := CheckText(data); err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// CheckText refuses what is not a UTF-8 text file: NUL bytes (binary, UTF-16) or invalid UTF-8.
func CheckText(data []byte) error {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return errors.New("is UTF-16; save the Dockerfile as UTF-8")
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return errors.New("is not a UTF-8 text file (binary content)")
	}
	// BuildKit's parser reads lines with a bufio.Scanner: a longer line makes it see no instruction at
	// all, which would be reported as an empty file.
	for n, rest := 1, data; len(rest) > 0; n++ {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		if len(line) >= bufio.MaxScanTokenSize {
			return fmt.Errorf("line %d is %d bytes long; BuildKit reads lines of up to %d KiB", n, len(line), bufio.MaxScanTokenSize>>10)
		}
		rest = next
	}
	return nil
}

// inside reports whether path, with every symlink resolved, stays under root (also resolved).
func inside(root, path string) bool {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	r, _ = filepath.Abs(r)
	p, _ = filepath.Abs(p)
	return p == r || strings.HasPrefix(p, r+string(filepath.Separator))
}

// CheckLink refuses a path that is a symlink resolving outside dir: a repository's Dockerfile.x -> the
// token cache or /proc/self/environ must never be read.
func CheckLink(dir, path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	if !inside(dir, path) {
		return &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is a symlink to outside %s; ecr-ptc does not follow it", dir)}
	}
	return nil
}
