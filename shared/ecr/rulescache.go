package ecr

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
)

// RulesCacheTTL is how long a listing of the registry's rules is reused (RulesCache).
const RulesCacheTTL = 5 * time.Minute

// RulesLockWait bounds how long a setup waits for another one listing the same rules before it lists
// them itself: a listing that is throttled for longer than this is not worth waiting for.
const RulesLockWait = 15 * time.Second

// maxRulesCacheFile bounds what RulesCache reads: ECR allows at most a few dozen rules per registry.
const maxRulesCacheFile = 256 << 10

// RulesCache keeps the registry's pull-through cache rules (DescribePullThroughCacheRules) between setups
// that share Dir, and lets one of them list at a time. A fleet of jobs that start together on one runner
// otherwise sends one listing per job, and the rule APIs have a small throttle (the sandbox assumes
// 20 TPS with a burst of 40; AWS does not publish it): 300 jobs at once wait seconds for it. Here the
// first job of a runner lists and the others wait for its answer (a lock file, bounded by RulesLockWait),
// then reuse it for TTL.
//
// Rules change rarely, and a stale set costs at most one TTL: an image whose rule was just created goes
// around the cache (visibly, in the report) and one whose rule was deleted falls back in the build.
// Like the token and probe caches, the directory must be owned by this user with mode 0700 (the caller
// checks it), entries are 0600 files of this user, Key must name the endpoint, the caller's identity and
// the registry, and an entry that is not a regular file, too large, of another account or not a valid
// rules document is ignored: the setup lists the rules again.
type RulesCache struct {
	Dir string
	Key string
	// Account, when set, is the registry's account: a cached rule of another registry is refused.
	Account string
	TTL     time.Duration // default RulesCacheTTL; negative disables the cache
	Now     func() time.Time
	// NoRead lists the rules even when the cache holds them, and stores the answer (after creating rules).
	NoRead bool
}

type rulesEntry struct {
	Rules     []rules.Rule `json:"pullThroughCacheRules"`
	FetchedAt time.Time    `json:"fetchedAt"`
}

func (c *RulesCache) usable() bool { return c != nil && c.Dir != "" && c.TTL >= 0 && c.Key != "" }

func (c *RulesCache) ttl() time.Duration {
	if c.TTL == 0 {
		return RulesCacheTTL
	}
	return c.TTL
}

func (c *RulesCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *RulesCache) path() string { return filepath.Join(c.Dir, "ecr-rules-"+c.Key+".json") }

// Get (nil-safe) returns the cached rules while they are fresh.
func (c *RulesCache) Get() (rules.Set, bool) {
	if !c.usable() || c.NoRead {
		return rules.Set{}, false
	}
	p := c.path()
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || !ownedByMe(fi) || fi.Mode().Perm()&0o077 != 0 {
		return rules.Set{}, false
	}
	data, err := safefile.Read(p, maxRulesCacheFile)
	if err != nil {
		return rules.Set{}, false
	}
	var e struct {
		FetchedAt time.Time `json:"fetchedAt"`
	}
	if json.Unmarshal(data, &e) != nil {
		return rules.Set{}, false
	}
	if now := c.now(); e.FetchedAt.IsZero() || e.FetchedAt.After(now) || now.Sub(e.FetchedAt) >= c.ttl() {
		return rules.Set{}, false
	}
	// The rules file parser checks every rule as it checks a --rules file.
	set, err := rules.Parse(p, data)
	if err != nil {
		return rules.Set{}, false
	}
	for _, r := range set.Rules {
		if c.Account != "" && r.RegistryID != "" && r.RegistryID != c.Account {
			return rules.Set{}, false
		}
	}
	return set, true
}

// Put (nil-safe) stores set as listed now.
func (c *RulesCache) Put(set rules.Set) error {
	if !c.usable() {
		return nil
	}
	rs := set.Rules
	if rs == nil {
		rs = []rules.Rule{}
	}
	data, err := json.Marshal(rulesEntry{Rules: rs, FetchedAt: c.now()})
	if err != nil {
		return err
	}
	if len(data) > maxRulesCacheFile {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if err := (TokenCache{Dir: c.Dir}).CheckDir(); err != nil {
		return err
	}
	return atomicfile.Write(c.path(), data, 0o600)
}

// List returns the registry's rules: from the cache while fresh, else from ListRules, one lister at a
// time among the setups sharing the cache (the others wait for its answer). Without a usable cache it is
// ListRules. The cache only saves calls: when it cannot be read, written or locked, the rules are listed.
func (c *RulesCache) List(ctx context.Context, client DescribeRulesAPI) (rules.Set, error) {
	if !c.usable() {
		return ListRules(ctx, client)
	}
	if set, ok := c.Get(); ok {
		return set, nil
	}
	if unlock := c.lock(ctx); unlock != nil {
		defer unlock()
		if set, ok := c.Get(); ok {
			return set, nil // another setup listed them while this one waited
		}
	}
	set, err := ListRules(ctx, client)
	if err != nil {
		return set, err
	}
	_ = c.Put(set) // a cache that cannot be written costs the next setup a listing, nothing more
	return set, nil
}

// lock takes the cache entry's lock file (lockFile), waiting at most RulesLockWait.
func (c *RulesCache) lock(ctx context.Context) func() {
	return lockFile(ctx, c.Dir, "ecr-rules-"+c.Key+".lock", RulesLockWait)
}
