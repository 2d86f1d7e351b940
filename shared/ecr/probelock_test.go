package ecr_test

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

// Six setups of one runner probe the same repository at once: one sends DescribeImages, the others wait
// for its hits. A probe that failed (Release without Put) lets the next one probe.
func TestProbeCacheOneProbeAtATime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runner")
	ids := []ecrx.ProbeID{{Tag: "20"}}
	var probes atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &ecrx.ProbeCache{Dir: dir, Key: "runner-identity"}
			if _, ok := c.Get("docker-hub/library/node", ids); ok {
				return
			}
			probes.Add(1)
			time.Sleep(100 * time.Millisecond)
			if err := c.Put("docker-hub/library/node", ids, []ecrx.ProbeResult{{Outcome: ecrx.Hit, Digest: digestN(1)}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := probes.Load(); n != 1 {
		t.Fatalf("%d probes for 6 setups at once, want 1", n)
	}

	a := &ecrx.ProbeCache{Dir: dir, Key: "runner-identity"}
	if _, ok := a.Get("docker-hub/library/alpine", ids); ok {
		t.Fatal("hit for a repository never probed")
	}
	a.Release("docker-hub/library/alpine") // the probe failed
	start := time.Now()
	b := &ecrx.ProbeCache{Dir: dir, Key: "runner-identity"}
	if _, ok := b.Get("docker-hub/library/alpine", ids); ok {
		t.Fatal("hit after a failed probe")
	}
	b.Release("docker-hub/library/alpine")
	if d := time.Since(start); d > time.Second {
		t.Errorf("the next setup waited %s for a released lock", d)
	}
	// Asking again after a miss does not wait for one's own lock.
	start = time.Now()
	for range 2 {
		if _, ok := a.Get("docker-hub/library/alpine", ids); ok {
			t.Fatal("hit")
		}
	}
	a.Release("docker-hub/library/alpine")
	if d := time.Since(start); d > time.Second {
		t.Errorf("a second Get waited %s for its own lock", d)
	}
}
