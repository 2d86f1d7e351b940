package sandbox

import "sync"

// Stats counts what happened, for tests, benchmarks and the stats endpoint
// (ECR_PTC_SANDBOX_STATS serves it as JSON).
type Stats struct {
	mu sync.Mutex
	s  StatsSnapshot
}

// StatsSnapshot is the JSON the stats endpoint serves.
type StatsSnapshot struct {
	// UpstreamFetches counts manifest GETs the cache sent upstream (one per image pulled into the cache
	// or tag re-checked), total and per upstream name.
	UpstreamFetches      int            `json:"upstreamFetches"`
	UpstreamFetchesBy    map[string]int `json:"upstreamFetchesByUpstream"`
	UpstreamChildFetches int            `json:"upstreamChildFetches"` // index children fetched with their index
	UpstreamBlobFetches  int            `json:"upstreamBlobFetches"`
	UpstreamRateLimited  int            `json:"upstreamRateLimited"` // 429s the upstream stand-ins answered
	// UpstreamManifestGets counts the manifest GETs each stand-in served, from any client: what Docker
	// Hub's rate limit counts as pulls.
	UpstreamManifestGets map[string]int `json:"upstreamManifestGets"`
	// UpstreamHeads counts manifest HEADs each stand-in served: Docker Hub does not count them as pulls.
	UpstreamHeads        map[string]int `json:"upstreamManifestHeads"`
	CacheHits            int            `json:"cacheHits"`        // manifest requests served from the cache
	CacheMisses          int            `json:"cacheMisses"`      // manifest requests that went upstream or failed
	DigestColdMisses     int            `json:"digestColdMisses"` // digest requests refused on a cold cache
	ECRRequests          map[string]int `json:"ecrRequests"`      // by operation
	STSRequests          map[string]int `json:"stsRequests"`      // by operation
	RepositoriesCreated  int            `json:"repositoriesCreated"`
	UnauthorizedRequests int            `json:"unauthorizedRequests"` // registry requests without a valid token
}

// Update applies fn to the counters under the lock.
func (st *Stats) Update(fn func(*StatsSnapshot)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s.UpstreamFetchesBy == nil {
		st.s.UpstreamFetchesBy = map[string]int{}
		st.s.ECRRequests = map[string]int{}
		st.s.STSRequests = map[string]int{}
		st.s.UpstreamManifestGets = map[string]int{}
		st.s.UpstreamHeads = map[string]int{}
	}
	fn(&st.s)
}

// Snapshot returns a copy of the counters.
func (st *Stats) Snapshot() StatsSnapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.s
	c.UpstreamFetchesBy = copyMap(st.s.UpstreamFetchesBy)
	c.ECRRequests = copyMap(st.s.ECRRequests)
	c.STSRequests = copyMap(st.s.STSRequests)
	c.UpstreamManifestGets = copyMap(st.s.UpstreamManifestGets)
	c.UpstreamHeads = copyMap(st.s.UpstreamHeads)
	return c
}

// Reset zeroes the counters.
func (st *Stats) Reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s = StatsSnapshot{}
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
