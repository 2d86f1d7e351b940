package ecr_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

func TestProbeCache(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := &ecrx.ProbeCache{Dir: dir, Key: "job-identity", Now: func() time.Time { return now }}
	ids := []ecrx.ProbeID{{Tag: "20"}, {Digest: digestN(7)}}
	hits := []ecrx.ProbeResult{{Outcome: ecrx.Hit, Digest: digestN(1), Size: 10}, {Outcome: ecrx.Hit, Digest: digestN(7)}}
	if _, ok := c.Get("docker-hub/library/node", ids); ok {
		t.Fatal("empty cache answered")
	}
	if err := c.Put("docker-hub/library/node", ids, hits); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get("docker-hub/library/node", ids)
	if !ok || got[0].Digest != digestN(1) || got[1].Digest != digestN(7) || got[0].Outcome != ecrx.Hit {
		t.Fatalf("got %+v, %v", got, ok)
	}
	// The files are private.
	files, _ := filepath.Glob(filepath.Join(dir, "ecr-probes-*.json"))
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f, fi.Mode())
		}
	}
	// Another identity, another repository, an id never probed: no answer.
	other := &ecrx.ProbeCache{Dir: dir, Key: "someone-else", Now: c.Now}
	if _, ok := other.Get("docker-hub/library/node", ids); ok {
		t.Error("another identity read the cache")
	}
	if _, ok := c.Get("docker-hub/library/node", append(ids, ecrx.ProbeID{Tag: "22"})); ok {
		t.Error("an id never probed was answered")
	}
	// Misses are never kept.
	_ = c.Put("docker-hub/library/alpine", []ecrx.ProbeID{{Tag: "3"}}, []ecrx.ProbeResult{{Outcome: ecrx.Miss}})
	if _, ok := c.Get("docker-hub/library/alpine", []ecrx.ProbeID{{Tag: "3"}}); ok {
		t.Error("a miss was cached")
	}
	// Stale after the TTL.
	now = now.Add(ecrx.ProbeCacheTTL)
	if _, ok := c.Get("docker-hub/library/node", ids); ok {
		t.Error("a stale hit was answered")
	}
}

// The directory may be shared and written by others: a file with a malformed digest or tag, a huge
// file or a symlink is ignored, never echoed.
func TestProbeCacheHostileFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c := &ecrx.ProbeCache{Dir: dir, Key: "k", Now: func() time.Time { return now }}
	ids := []ecrx.ProbeID{{Tag: "20"}}
	if err := c.Put("r/x", ids, []ecrx.ProbeResult{{Outcome: ecrx.Hit, Digest: digestN(1)}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "ecr-probes-*.json"))
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	at := now.UTC().Format(time.RFC3339Nano)
	for name, content := range map[string]string{
		"bad digest": `[{"tag":"20","digest":"sha256:$(rm -rf /)","at":"` + at + `"}]`,
		"bad tag":    `[{"tag":"20\n::set-output","digest":"` + digestN(1) + `","at":"` + at + `"}]`,
		"not json":   `nope`,
		"huge":       `[` + strings.Repeat(" ", 2<<20) + `]`,
	} {
		if err := os.WriteFile(files[0], []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.Get("r/x", ids); ok {
			t.Errorf("%s: answered %+v", name, got)
		}
	}
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	_ = os.WriteFile(target, []byte(`[{"tag":"20","digest":"`+digestN(1)+`","at":"`+at+`"}]`), 0o600)
	_ = os.Remove(files[0])
	if err := os.Symlink(target, files[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("r/x", ids); ok {
		t.Error("followed a symlink")
	}
}
