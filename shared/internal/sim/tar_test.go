package sim_test

import (
	"archive/tar"
	"bytes"
	"strings"
)

func cut(img string) (string, string, bool) { return strings.Cut(img, ":") }

// tarOf is an uncompressed tar with one file, a layer for SeedImage.
func tarOf(name string, data []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	return b.Bytes()
}
