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
	// RunnerProbes shares probe hits among the jobs of one runner for ProbeTTL (the runner-scoped probe
	// cache): a job probes only the repositories no earlier job on its runner found warm.
	RunnerProbes bool
	ProbeTTL     time.Duration
	// Retryer is the SDK retryer every call goes through.
	Retryer func() aws.Retryer
}

// Before is setup's behaviour before issue 16; RepoProbes adds only the per-repository probes and the
// retryer; After is now (with the runner-scoped token and probe caches).
var (
	Before     = Behaviour{Name: "before", Retryer: func() aws.Retryer { return retry.NewStandard() }}
	RepoProbes = Behaviour{Name: "repo-probes", PerRepository: true, Retryer: ecrx.NewRetryer}
	After      = Behaviour{Name: "after", PerRepository: true, RunnerTokens: true, RunnerProbes: true, ProbeTTL: ecrx.ProbeCacheTTL,
		Retryer: ecrx.NewRetryer}
)

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
	// tokenAt is when each runner's cached token became available (absent: none yet).
	tokenAt map[int]time.Duration
	// probedAt is when a runner's job last found a repository warm.
	probedAt map[[2]int]time.Duration
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
		next = func() {
			for inflight < f.o.Concurrency && pending > 0 && !failed {
				pending--
				inflight++
				repo := todo[pending]
				f.call("DescribeImages", 1, &sent, func(ok bool) {
					inflight--
					if !ok {
						failed = true
					} else if repo >= 0 {
						f.probedAt[[2]int{runner, repo}] = f.now
					}
					if inflight == 0 && (pending == 0 || failed) {
						end()
						return
					}
					next()
				})
			}
		}
		if len(todo) == 0 {
			end()
			return
		}
		next()
	}
	rules := func(ok bool) {
		if !ok {
			failed = true
			end()
			return
		}
		f.call("DescribePullThroughCacheRules", 1, &sent, func(ok bool) {
			if !ok {
				failed = true
				end()
				return
			}
			runProbes()
		})
	}
	if t, ok := f.tokenAt[runner]; ok && f.b.RunnerTokens && t <= f.now {
		rules(true)
		return
	}
	f.call("GetAuthorizationToken", 1, &sent, func(ok bool) {
		if ok {
			if _, have := f.tokenAt[runner]; !have {
				f.tokenAt[runner] = f.now
			}
		}
		rules(ok)
	})
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
		retryer: b.Retryer(), tokenAt: map[int]time.Duration{}, probedAt: map[[2]int]time.Duration{}}
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
	fmt.Fprintf(&b, "%-18s %-11s %5s %6s %9s %7s %8s %8s %8s %9s %10s %10s\n",
		"scenario", "setup", "jobs", "failed", "throttled", "retries", "p50", "p95", "lone", "p95/lone", "calls/job", "repos+3")
	for _, r := range rs {
		ratio := 0.0
		if r.Lone > 0 {
			ratio = float64(r.P95) / float64(r.Lone)
		}
		fmt.Fprintf(&b, "%-18s %-11s %5d %6d %9d %7d %8s %8s %8s %9.1f %10.1f %10.1f\n",
			r.Scenario, r.Behaviour, r.Jobs, r.Failed, r.ThrottledTotal(), r.Retries, r.P50.Round(time.Millisecond),
			r.P95.Round(time.Millisecond), r.Lone.Round(time.Millisecond), ratio, r.CallsPerJob, r.ReposPerJob+3)
	}
	return b.String()
}
