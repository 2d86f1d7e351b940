package sim

// The fleet simulation: many CI jobs running `ecr-ptc setup` against one account's ECR API quotas. It is
// a discrete-event simulation on a virtual clock, so 1,000 jobs over a minute run in well under a second:
// each API call takes a token from the sandbox's own bucket for its operation (sandbox.TokenBucket with
// sandbox.ECRQuotas(): the published quotas and the assumed ones), a throttled call is retried after the
// delay the real SDK retryer chooses (retry.Standard's RetryDelay: full jitter), and a call that runs out
// of attempts fails its job. The calls each job makes come from the same grouping setup uses (one
// DescribeImages per image before, per repository now). What it does not model: the data plane (the cache
// is warm, so setup only probes), STS, and CPU or network limits on the runners.

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// FleetOptions shape a fleet.
type FleetOptions struct {
	Jobs         int           // default 1,000
	Window       time.Duration // jobs start uniformly within it; 0: all at once (a burst)
	Pool         int           // distinct images in the monorepo (default 100)
	Repositories int           // cache repositories they live in (default 40)
	ImagesPerJob int           // images one job's Dockerfiles use (default 20)
	// Runners are the hosts jobs run on; a runner-scoped token cache is shared by the jobs of one runner
	// (default 50).
	Runners     int
	Latency     time.Duration // one API call's round trip (default 40 ms, ±25 %)
	Concurrency int           // setup's --concurrency (default 10)
	// Quotas are the account's buckets (nil: sandbox.ECRQuotas()).
	Quotas map[string]sandbox.Bucket
	Seed   uint64
}

func (o *FleetOptions) defaults() {
	if o.Jobs == 0 {
		o.Jobs = 1000
	}
	if o.Pool == 0 {
		o.Pool = 100
	}
	if o.Repositories == 0 {
		o.Repositories = 40
	}
	if o.ImagesPerJob == 0 {
		o.ImagesPerJob = 20
	}
	if o.Runners == 0 {
		o.Runners = 50
	}
	if o.Latency == 0 {
		o.Latency = 40 * time.Millisecond
	}
	if o.Concurrency == 0 {
		o.Concurrency = 10
	}
	if o.Quotas == nil {
		o.Quotas = sandbox.ECRQuotas()
	}
	if o.Seed == 0 {
		o.Seed = 16
	}
}

// Behaviour is how setup talks to ECR.
type Behaviour struct {
	Name string
	// PerRepository probes with one DescribeImages per repository (ecr.ProbeRepository on a warm cache);
	// false is one per image, as setup did before.
	PerRepository bool
	// RunnerTokens shares a login token among the jobs of one runner (a runner-scoped token cache, one
	// identity); false logs in once per job (the job-scoped cache).
	RunnerTokens bool
	// TokenLocks: a job logs in holding the token cache entry's lock, and the jobs of the runner that
	// need the token meanwhile wait for it (ecr.TokenCache.Lock, at most ecr.TokenLockWait).
	TokenLocks bool
	// RunnerProbes shares probe hits among the jobs of one runner for ProbeTTL (the runner-scoped probe
	// cache): a job probes only the repositories no earlier job on its runner found warm.
	RunnerProbes bool
	ProbeTTL     time.Duration
	// ProbeLocks: a job probes a repository holding its lock in the probe cache, and the jobs of the
	// runner that need it meanwhile wait for its hits (polling every 20 ms, for at most
	// ecr.ProbeLockWait) instead of probing it too (ecr.ProbeCache.Get).
	ProbeLocks bool
	// RunnerRules shares the rules listing among the jobs of one runner for RulesTTL (ecr.RulesCache):
	// the first job that finds no fresh listing lists, holding the cache entry's lock; the jobs that
	// start meanwhile wait for it (polling the lock every 20 ms, for at most ecr.RulesLockWait, then
	// listing themselves) and reuse its answer.
	RunnerRules bool
	RulesTTL    time.Duration
	// RulesGiven: the job passes its rules (--rules/--rule), so setup lists none.
	RulesGiven bool
	// Retryer is the SDK retryer every call goes through.
	Retryer func() aws.Retryer
}

// Before is setup's behaviour before issue 16; RepoProbes adds only the per-repository probes and the
// retryer; After is now (with the runner-scoped token and probe caches).
var (
	Before     = Behaviour{Name: "before", Retryer: func() aws.Retryer { return retry.NewStandard() }}
	RepoProbes = Behaviour{Name: "repo-probes", PerRepository: true, Retryer: ecrx.NewRetryer}
	After      = Behaviour{Name: "after", PerRepository: true, RunnerTokens: true, TokenLocks: true, RunnerProbes: true, ProbeTTL: ecrx.ProbeCacheTTL,
		ProbeLocks: true, RunnerRules: true, RulesTTL: ecrx.RulesCacheTTL, Retryer: ecrx.NewRetryer}
	// ProbeCaches is the state before the rules cache, the probe locks and the 3 s backoff cap: After
	// without them.
	ProbeCaches = Behaviour{Name: "probe-caches", PerRepository: true, RunnerTokens: true, RunnerProbes: true, ProbeTTL: ecrx.ProbeCacheTTL,
		Retryer: previousRetryer}
	// RulesGiven is After in jobs that pass their rules (setup --rule docker.io=docker-hub …).
	RulesGiven = Behaviour{Name: "after+--rule", PerRepository: true, RunnerTokens: true, TokenLocks: true, RunnerProbes: true, ProbeTTL: ecrx.ProbeCacheTTL,
		ProbeLocks: true, RulesGiven: true, Retryer: ecrx.NewRetryer}
)

// previousRetryer is ecr.NewRetryer before the backoff cap: 10 attempts, the SDK's waits (up to 20 s).
func previousRetryer() aws.Retryer {
	return ecrx.Retryer{Standard: retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 10
		o.RateLimiter = ratelimit.None
	})}
}

// FleetResult is what one fleet did to ECR and what its jobs saw.
type FleetResult struct {
	Scenario  string
	Behaviour string
	Jobs      int
	Failed    int
	Throttled map[string]int // calls refused by a bucket, by operation
	Retries   int
	Calls     int           // ECR API calls sent, retries included
	P50, P95  time.Duration // setup time
	Lone      time.Duration // setup time of one job alone
	// CallsPerJob is the mean of the ECR calls a job sent, retries excluded; ReposPerJob the mean of the
	// repositories its images live in.
	CallsPerJob, ReposPerJob float64
	// MaxOverBound is the largest (calls − repositories − 3) of any job: ≤ 0 meets the bound.
	MaxOverBound int
	// Floor is, for a burst (no Window), the least time the account's buckets need to serve the calls
	// the jobs sent (retries excluded): for each operation (calls − burst) / rate, the largest. The last
	// jobs cannot finish before it, whatever the retry policy.
	Floor time.Duration
}

// ThrottledTotal sums Throttled.
func (r FleetResult) ThrottledTotal() int {
	n := 0
	for _, v := range r.Throttled {
		n += v
	}
	return n
}

type event struct {
	at  time.Duration
	seq int
	fn  func()
}

type events []*event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at != e[j].at {
		return e[i].at < e[j].at
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(*event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type fleet struct {
	o       FleetOptions
	b       Behaviour
	rng     *rand.Rand
	now     time.Duration
	seq     int
	q       events
	epoch   time.Time
	buckets map[string]*sandbox.TokenBucket
	retryer aws.Retryer
	res     FleetResult
	opSent  map[string]int // first attempts by operation
	// tokenAt is when each runner's cached token became available (absent: none yet).
	tokenAt map[int]time.Duration
	// probedAt is when a runner's job last found a repository warm.
	probedAt map[[2]int]time.Duration
	// rulesAt is when a runner's rules were last listed; rulesBusy says a job holds the runner's rules
	// lock, and rulesWait are the jobs waiting for it.
	rulesAt   map[int]time.Duration
	rulesBusy map[int]bool
	rulesWait map[[2]int][]*rulesWaiter
	// probeBusy says a job of the runner probes the repository under its lock; probeWait are the jobs
	// waiting for it.
	probeBusy map[[2]int]bool
	probeWait map[[2]int][]*rulesWaiter
	// tokenBusy says a job of the runner logs in under the token lock; tokenWait are the jobs waiting.
	tokenBusy map[int]bool
	tokenWait map[[2]int][]*rulesWaiter
}

// rulesWaiter is a job waiting for a cache lock; gone once it stopped waiting.
type rulesWaiter struct {
	gone bool
	run  func()
}

// lockPoll is how often a job polls a cache lock (ecr's lockFile).
const lockPoll = 20 * time.Millisecond

// wait parks run until the lock k of waiters is released (then run tries again after a poll), or, after
// bound, runs timeout instead: the job stops waiting and asks ECR itself.
func (f *fleet) wait(waiters map[[2]int][]*rulesWaiter, k [2]int, run func(), bound time.Duration, timeout func()) {
	w := &rulesWaiter{run: run}
	waiters[k] = append(waiters[k], w)
	f.at(bound, func() {
		if !w.gone {
			w.gone = true
			timeout()
		}
	})
}

// release wakes the waiters of lock k; each polls it again within lockPoll.
func (f *fleet) release(waiters map[[2]int][]*rulesWaiter, k [2]int) {
	ws := waiters[k]
	delete(waiters, k)
	for _, w := range ws {
		if !w.gone {
			w.gone = true
			f.at(time.Duration(f.rng.Float64()*float64(lockPoll)), w.run)
		}
	}
}

// describe sends the DescribeImages of repository k[1] (or of one image, k[1] < 0), releasing its probe
// lock when it held it, then runs done.
func (f *fleet) describe(k [2]int, locked bool, sent *int, done func(), failed *bool) {
	f.call("DescribeImages", 1, sent, func(ok bool) {
		if !ok {
			*failed = true
		} else if k[1] >= 0 {
			f.probedAt[k] = f.now
		}
		if locked {
			f.probeBusy[k] = false
			f.release(f.probeWait, k)
		}
		done()
	})
}

func (f *fleet) at(d time.Duration, fn func()) {
	f.seq++
	heap.Push(&f.q, &event{at: f.now + d, seq: f.seq, fn: fn})
}

func (f *fleet) latency() time.Duration {
	l := float64(f.o.Latency)
	return time.Duration(l * (0.75 + 0.5*f.rng.Float64()))
}

var throttleErr = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}

// call sends op, retrying throttles as the retryer says, then runs done(ok).
// sent counts the job's calls, retries excluded.
func (f *fleet) call(op string, attempt int, sent *int, done func(ok bool)) {
	f.res.Calls++
	if attempt == 1 {
		*sent++
		f.opSent[op]++
	}
	allowed := true
	if b, ok := f.buckets[op]; ok {
		allowed = b.Take(f.epoch.Add(f.now))
	}
	lat := f.latency()
	if allowed {
		f.at(lat, func() { done(true) })
		return
	}
	f.res.Throttled[op]++
	if attempt >= f.retryer.MaxAttempts() {
		f.at(lat, func() { done(false) })
		return
	}
	delay, err := f.retryer.RetryDelay(attempt, throttleErr)
	if err != nil {
		f.at(lat, func() { done(false) })
		return
	}
	f.res.Retries++
	f.at(lat+delay, func() { f.call(op, attempt+1, sent, done) })
}

// job runs one setup: login, rules, probes (Concurrency at a time).
func (f *fleet) job(runner int, repos []int, probes int, finish func(took time.Duration, ok bool, sent int)) {
	start := f.now
	failed := false
	sent := 0
	end := func() { finish(f.now-start, !failed, sent) }
	runProbes := func() {
		var todo []int // repositories to probe; -1 for a per-image probe
		for _, r := range repos {
			if at, ok := f.probedAt[[2]int{runner, r}]; f.b.RunnerProbes && ok && f.now-at < f.b.ProbeTTL {
				continue
			}
			todo = append(todo, r)
		}
		if !f.b.PerRepository {
			todo = make([]int, probes)
			for i := range todo {
				todo[i] = -1
			}
		}
		pending, inflight := len(todo), 0
		var next func()
		finish := func() {
			inflight--
			if inflight == 0 && (pending == 0 || failed) {
				end()
				return
			}
			next()
		}
		// probe sends one DescribeImages; with ProbeLocks, one job of the runner at a time per repository,
		// the others waiting for its hits (ecr.ProbeCache.Get).
		var probe func(repo int)
		probe = func(repo int) {
			k := [2]int{runner, repo}
			locked := false
			if repo >= 0 && f.b.RunnerProbes && f.b.ProbeLocks {
				if at, ok := f.probedAt[k]; ok && f.now-at < f.b.ProbeTTL {
					f.at(0, finish) // another job's probe answered while this one waited
					return
				}
				if f.probeBusy[k] {
					f.wait(f.probeWait, k, func() { probe(repo) }, ecrx.ProbeLockWait, func() { f.describe(k, false, &sent, finish, &failed) })
					return
				}
				f.probeBusy[k], locked = true, true
			}
			f.describe(k, locked, &sent, finish, &failed)
		}
		next = func() {
			for inflight < f.o.Concurrency && pending > 0 && !failed {
				pending--
				inflight++
				probe(todo[pending])
			}
		}
		if len(todo) == 0 {
			end()
			return
		}
		next()
	}
	list := func(locked bool) {
		f.call("DescribePullThroughCacheRules", 1, &sent, func(ok bool) {
			if f.b.RunnerRules {
				if ok {
					f.rulesAt[runner] = f.now
				}
				if locked {
					f.rulesBusy[runner] = false
					f.release(f.rulesWait, [2]int{runner})
				}
			}
			if !ok {
				failed = true
				end()
				return
			}
			runProbes()
		})
	}
	var rules func(ok bool)
	rules = func(ok bool) {
		if !ok {
			failed = true
			end()
			return
		}
		switch {
		case f.b.RulesGiven:
			runProbes()
		case !f.b.RunnerRules:
			list(false)
		default:
			if at, have := f.rulesAt[runner]; have && f.now-at < f.b.RulesTTL {
				runProbes()
				return
			}
			if !f.rulesBusy[runner] {
				f.rulesBusy[runner] = true
				list(true)
				return
			}
			// Wait for the listing job; after ecr.RulesLockWait, list without the lock.
			f.wait(f.rulesWait, [2]int{runner}, func() { rules(true) }, ecrx.RulesLockWait, func() { list(false) })
		}
	}
	fetch := func(locked bool) {
		f.call("GetAuthorizationToken", 1, &sent, func(ok bool) {
			if ok {
				if _, have := f.tokenAt[runner]; !have {
					f.tokenAt[runner] = f.now
				}
			}
			if locked {
				f.tokenBusy[runner] = false
				f.release(f.tokenWait, [2]int{runner})
			}
			rules(ok)
		})
	}
	var login func()
	login = func() {
		switch {
		case f.b.RunnerTokens && f.tokenAt[runner] <= f.now && hasToken(f.tokenAt, runner):
			rules(true)
		case !f.b.TokenLocks:
			fetch(false)
		case !f.tokenBusy[runner]:
			f.tokenBusy[runner] = true
			fetch(true)
		default:
			// Wait for the job logging in; after ecr.TokenLockWait, log in without the lock.
			f.wait(f.tokenWait, [2]int{runner}, login, ecrx.TokenLockWait, func() { fetch(false) })
		}
	}
	login()
}

func hasToken(at map[int]time.Duration, runner int) bool {
	_, ok := at[runner]
	return ok
}

// RunFleet simulates o's fleet with behaviour b; scenario names it in the table.
func RunFleet(scenario string, b Behaviour, o FleetOptions) FleetResult {
	o.defaults()
	r := runFleet(scenario, b, o)
	lone := o
	lone.Jobs, lone.Window = 1, 0
	r.Lone = runFleet(scenario, b, lone).P50
	return r
}

func runFleet(scenario string, b Behaviour, o FleetOptions) FleetResult {
	f := &fleet{o: o, b: b, rng: rand.New(rand.NewPCG(o.Seed, 16)), epoch: time.Unix(0, 0), buckets: map[string]*sandbox.TokenBucket{},
		opSent: map[string]int{}, retryer: b.Retryer(), tokenAt: map[int]time.Duration{}, probedAt: map[[2]int]time.Duration{},
		rulesAt: map[int]time.Duration{}, rulesBusy: map[int]bool{}, rulesWait: map[[2]int][]*rulesWaiter{},
		probeBusy: map[[2]int]bool{}, probeWait: map[[2]int][]*rulesWaiter{}, tokenBusy: map[int]bool{}, tokenWait: map[[2]int][]*rulesWaiter{}}
	for op, q := range o.Quotas {
		f.buckets[op] = sandbox.NewTokenBucket(q)
	}
	f.res = FleetResult{Scenario: scenario, Behaviour: b.Name, Jobs: o.Jobs, Throttled: map[string]int{}}
	var took []time.Duration
	var calls, repos int
	first := true
	for j := 0; j < o.Jobs; j++ {
		// The job's slice of the monorepo: ImagesPerJob distinct images of the pool; image i lives in
		// repository i mod Repositories.
		imgs := f.rng.Perm(o.Pool)[:o.ImagesPerJob]
		seen := map[int]bool{}
		var repoList []int
		for _, i := range imgs {
			if r := i % o.Repositories; !seen[r] {
				seen[r] = true
				repoList = append(repoList, r)
			}
		}
		probes := len(imgs)
		if b.PerRepository {
			probes = len(seen)
		}
		repos += len(seen)
		var startAt time.Duration
		if o.Window > 0 {
			startAt = time.Duration(f.rng.Float64() * float64(o.Window))
		}
		runner := f.rng.IntN(o.Runners)
		f.at(startAt, func() {
			f.job(runner, repoList, probes, func(d time.Duration, ok bool, sent int) {
				calls += sent
				if over := sent - len(seen) - 3; first || over > f.res.MaxOverBound {
					f.res.MaxOverBound, first = over, false
				}
				if !ok {
					f.res.Failed++
					return
				}
				took = append(took, d)
			})
		})
	}
	for f.q.Len() > 0 {
		e := heap.Pop(&f.q).(*event)
		f.now = e.at
		e.fn()
	}
	f.res.CallsPerJob = float64(calls) / float64(o.Jobs)
	f.res.ReposPerJob = float64(repos) / float64(o.Jobs)
	f.res.P50, f.res.P95 = percentile(took, 50), percentile(took, 95)
	for op, n := range f.opSent {
		q, ok := o.Quotas[op]
		if !ok || q.Rate <= 0 || o.Window > 0 {
			continue
		}
		burst := q.Burst
		if burst == 0 {
			burst = q.Rate
		}
		if over := float64(n) - burst; over > 0 {
			f.res.Floor = max(f.res.Floor, time.Duration(over/q.Rate*float64(time.Second)))
		}
	}
	return f.res
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

// FleetTable renders fleet results, one row each.
func FleetTable(rs ...FleetResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %-12s %5s %6s %9s %7s %8s %8s %8s %9s %8s %10s %10s\n",
		"scenario", "setup", "jobs", "failed", "throttled", "retries", "p50", "p95", "lone", "p95/lone", "floor", "calls/job", "repos+3")
	for _, r := range rs {
		ratio := 0.0
		if r.Lone > 0 {
			ratio = float64(r.P95) / float64(r.Lone)
		}
		floor := "-"
		if r.Floor > 0 {
			floor = r.Floor.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-18s %-12s %5d %6d %9d %7d %8s %8s %8s %9.1f %8s %10.1f %10.1f\n",
			r.Scenario, r.Behaviour, r.Jobs, r.Failed, r.ThrottledTotal(), r.Retries, r.P50.Round(time.Millisecond),
			r.P95.Round(time.Millisecond), r.Lone.Round(time.Millisecond), ratio, floor, r.CallsPerJob, r.ReposPerJob+3)
	}
	return b.String()
}
