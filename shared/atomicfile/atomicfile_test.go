package atomicfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.json")
	if err := atomicfile.Write(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(data) != "two" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%q %v", data, fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	missing := filepath.Join(dir, "no", "such", "x")
	if err := atomicfile.Write(missing, nil, 0o644); err == nil || !strings.HasPrefix(err.Error(), missing+": ") || strings.Contains(err.Error(), ".tmp-") {
		t.Fatalf("error %v should name the target, not the temporary file", err)
	}
	if err := atomicfile.WriteAll(missing, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Issue 11: no error names the temporary file, whatever step fails (here the rename onto a directory).
func TestWriteErrorsNameTheTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "out")
	os.MkdirAll(filepath.Join(target, "x"), 0o755) // a non-empty directory: the rename fails
	err := atomicfile.Write(target, []byte("x"), 0o644)
	if err == nil || strings.Contains(err.Error(), ".tmp-") || !strings.HasPrefix(err.Error(), target+": ") {
		t.Fatalf("error %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
