package ecr

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ProbeLockWait bounds how long a setup waits for another one probing the same repository.
const ProbeLockWait = 15 * time.Second

// probeHeld maps a cache and repository to the release of the probe lock its miss took.
var probeHeld sync.Map

type heldKey struct {
	c    *ProbeCache
	repo string
}

// Get (nil-safe) returns the cached hits for every id of repository, or false when any is missing or
// stale. On a miss it takes the repository's lock in Dir (lockFile, waiting at most ProbeLockWait) and
// reads the cache again: the jobs of a runner that start together then probe a repository one at a
// time, and those that wait reuse the first one's hits instead of sending the same DescribeImages. A
// miss holds the lock until Put or Release, so the caller must call one of them after each Get.
func (c *ProbeCache) Get(repository string, ids []ProbeID) ([]ProbeResult, bool) {
	if res, ok := c.get(repository, ids); ok || c == nil || c.Dir == "" || c.ttl() < 0 || len(ids) == 0 {
		return res, ok
	}
	c.Release(repository) // asking again ends this cache's earlier miss
	name := strings.TrimSuffix(filepath.Base(c.path(repository)), ".json") + ".lock"
	unlock := lockFile(context.Background(), c.Dir, name, ProbeLockWait)
	if unlock == nil {
		return nil, false
	}
	if res, ok := c.get(repository, ids); ok {
		unlock()
		return res, true
	}
	if old, loaded := probeHeld.Swap(heldKey{c, repository}, unlock); loaded {
		old.(func())()
	}
	return nil, false
}

// Put (nil-safe) records the hits among results (results[i] answers ids[i]), keeping the other fresh
// entries, and releases the repository's probe lock.
func (c *ProbeCache) Put(repository string, ids []ProbeID, results []ProbeResult) error {
	defer c.Release(repository)
	return c.put(repository, ids, results)
}

// Release (nil-safe) ends the probe lock a miss of repository took, if any: after a probe that failed.
func (c *ProbeCache) Release(repository string) {
	if c == nil {
		return
	}
	if unlock, ok := probeHeld.LoadAndDelete(heldKey{c, repository}); ok {
		unlock.(func())()
	}
}
