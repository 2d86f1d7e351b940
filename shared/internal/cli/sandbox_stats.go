package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// printSandboxStats names each counter by what it counts: ecr-ptc probes the cache with DescribeImages,
// so a run whose images are all HITs pulls nothing from the registry, and "0 cache hits" next to a table
// of HITs would read as a contradiction.
func printSandboxStats(w io.Writer, s sandbox.StatsSnapshot) {
	var by []string
	for name, n := range s.UpstreamFetchesBy {
		by = append(by, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(by)
	per := ""
	if len(by) > 0 {
		per = " (" + strings.Join(by, ", ") + ")"
	}
	fmt.Fprintf(w, "sandbox: %d DescribeImages probes (how ecr-ptc tells hits from misses); registry manifest requests: %d answered from the cache, %d sent upstream or failed; upstream: %d images%s + %d index children fetched, %d 429s; %d repositories created\n",
		s.ECRRequests["DescribeImages"], s.CacheHits, s.CacheMisses, s.UpstreamFetches, per, s.UpstreamChildFetches, s.UpstreamRateLimited, s.RepositoriesCreated)
}
