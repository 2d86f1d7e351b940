// Package safefile reads files that may be hostile — named by a repository, a CI variable or a build —
// without hanging or exhausting memory: only regular files, opened without blocking, up to a limit.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read returns the contents of the regular file at path, refusing directories, FIFOs, devices and
// sockets (a FIFO would block the job forever, /dev/zero would never end) and files over max bytes.
// Errors are *os.PathError and never hold the file's contents.
func Read(path string, max int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO with no writer returns at once instead of blocking.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("is not a regular file (a FIFO, device or socket is never read)")}
	}
	if fi.Size() > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is %s, more than the %s ecr-ptc reads", size(fi.Size()), size(max))}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is more than the %s ecr-ptc reads", size(max))}
	}
	return data, nil
}

// ReadAll reads r up to max bytes and fails beyond (stdin, HTTP bodies).
func ReadAll(r io.Reader, max int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is more than the %s ecr-ptc reads", what, size(max))
	}
	return data, nil
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
