package ecr_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

// countingRules answers DescribePullThroughCacheRules with one Docker Hub rule, slowly, and counts calls.
type countingRules struct {
	calls   atomic.Int32
	account string
}

func (c *countingRules) DescribePullThroughCacheRules(ctx context.Context, _ *ecr.DescribePullThroughCacheRulesInput, _ ...func(*ecr.Options)) (*ecr.DescribePullThroughCacheRulesOutput, error) {
	c.calls.Add(1)
	time.Sleep(100 * time.Millisecond)
	return &ecr.DescribePullThroughCacheRulesOutput{PullThroughCacheRules: []types.PullThroughCacheRule{{
		EcrRepositoryPrefix: aws.String("docker-hub"), UpstreamRegistryUrl: aws.String("registry-1.docker.io"), RegistryId: aws.String(c.account),
	}}}, nil
}

func TestRulesCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runner")
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	api := &countingRules{account: "123456789012"}
	c := &ecrx.RulesCache{Dir: dir, Key: "k1", Account: "123456789012", Now: clock}

	// Six setups of one runner start together: one lists, the others wait for its answer.
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set, err := c.List(context.Background(), api)
			if err != nil || len(set.Rules) != 1 || set.Rules[0].ECRRepositoryPrefix != "docker-hub" {
				t.Errorf("List: %+v, %v", set, err)
			}
		}()
	}
	wg.Wait()
	if n := api.calls.Load(); n != 1 {
		t.Fatalf("%d listings for 6 setups at once, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "ecr-rules-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v", fi.Mode())
	}

	// Another identity does not read it; NoRead (after --ensure-rules) lists again.
	if _, ok := (&ecrx.RulesCache{Dir: dir, Key: "k2", Now: clock}).Get(); ok {
		t.Error("another key read the cache")
	}
	if _, err := (&ecrx.RulesCache{Dir: dir, Key: "k1", Now: clock, NoRead: true}).List(context.Background(), api); err != nil || api.calls.Load() != 2 {
		t.Errorf("NoRead: %v, %d calls", err, api.calls.Load())
	}
	// A registry of another account does not accept these rules.
	if _, ok := (&ecrx.RulesCache{Dir: dir, Key: "k1", Account: "999999999999", Now: clock}).Get(); ok {
		t.Error("another account's rules were accepted")
	}
	// Stale after the TTL.
	now = now.Add(ecrx.RulesCacheTTL)
	if _, ok := c.Get(); ok {
		t.Error("a stale listing was reused")
	}
	now = now.Add(-time.Minute)
	if _, ok := c.Get(); !ok {
		t.Error("a fresh listing was not reused")
	}

	// A planted or broken entry is ignored: the setup lists.
	for name, data := range map[string]string{
		"not json":     "{",
		"invalid rule": `{"pullThroughCacheRules":[{"ecrRepositoryPrefix":"Bad Prefix","upstreamRegistryUrl":"x"}],"fetchedAt":"2026-11-30T11:59:00Z"}`,
		"future":       `{"pullThroughCacheRules":[],"fetchedAt":"2027-01-01T00:00:00Z"}`,
	} {
		if err := os.WriteFile(files[0], []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Get(); ok {
			t.Errorf("%s: the entry was used", name)
		}
	}
	// A valid entry that others could have written is not used.
	if err := os.WriteFile(files[0], []byte(`{"pullThroughCacheRules":[],"fetchedAt":"2026-11-30T12:03:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(); !ok {
		t.Error("a valid entry was not used")
	}
	if err := os.Chmod(files[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(); ok {
		t.Error("an entry of mode 0644 was used")
	}
	// A directory others can write is not used at all, and the rules are still listed.
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(open, 0o777)
	oc := &ecrx.RulesCache{Dir: open, Key: "k1", Now: clock}
	before := api.calls.Load()
	for range 2 {
		if set, err := oc.List(context.Background(), api); err != nil || len(set.Rules) != 1 {
			t.Fatalf("open directory: %+v, %v", set, err)
		}
	}
	if api.calls.Load() != before+2 {
		t.Error("rules were cached in a directory others can write")
	}
	if left, _ := filepath.Glob(filepath.Join(open, "ecr-rules-*")); len(left) != 0 {
		t.Errorf("files written in a directory others can write: %v", left)
	}
}
