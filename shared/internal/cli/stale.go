package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/freshness"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
)

// upstreamFlags point upstream registries elsewhere (a mirror, the sandbox's stand-ins).
type upstreamFlags struct {
	endpoints []string
}

func (f *upstreamFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.endpoints, "upstream-endpoint", nil, "ask HOST's registry at ADDR instead, as HOST=ADDR (e.g. docker.io=127.0.0.1:5000; repeatable). Under `ecr-ptc sandbox` the stand-ins are used")
}

// sandboxUpstreams are the environment variables `ecr-ptc sandbox` sets for its upstream stand-ins.
var sandboxUpstreams = map[string]string{
	"ECR_PTC_SANDBOX_UPSTREAM_DOCKERHUB": imageref.DockerHub,
	"ECR_PTC_SANDBOX_UPSTREAM_GHCR":      "ghcr.io",
	"ECR_PTC_SANDBOX_UPSTREAM_QUAY":      "quay.io",
	"ECR_PTC_SANDBOX_UPSTREAM_ECRPUBLIC": "public.ecr.aws",
}

// overrides returns canonical upstream host → host:port to ask instead.
func (f *upstreamFlags) overrides(env Env) (map[string]string, error) {
	out := map[string]string{}
	if env.getenv("ECR_PTC_SANDBOX") == "1" {
		for k, host := range sandboxUpstreams {
			if v := env.getenv(k); v != "" {
				out[host] = v
			}
		}
	}
	for _, e := range f.endpoints {
		host, addr, ok := strings.Cut(e, "=")
		if !ok || host == "" || addr == "" || strings.ContainsAny(addr, "/ @") || strings.ContainsAny(host, "/ @") {
			return nil, usagef("--upstream-endpoint %q: expected HOST=ADDR, e.g. docker.io=127.0.0.1:5000", e)
		}
		out[imageref.CanonicalHost(host)] = addr
	}
	return out, nil
}

// head asks upstream registries with the Docker credential store's logins (anonymous without one).
func (f *upstreamFlags) head(env Env) (freshness.Head, map[string]string, error) {
	ov, err := f.overrides(env)
	if err != nil {
		return nil, nil, err
	}
	return freshness.RegistryHead(authn.DefaultKeychain, nil, imageref.IsLoopbackHost), ov, nil
}

// upstreamRef is where to HEAD ref (host/path:tag), an override applied.
func upstreamRef(ref imageref.Ref, ov map[string]string) string {
	host := ref.Host
	if addr, ok := ov[imageref.CanonicalHost(host)]; ok {
		host = addr
	}
	return host + "/" + ref.Repository + ":" + ref.Tag
}

// target is one image a command works on: its upstream reference and where the cache keeps it.
type target struct {
	ref        imageref.Ref // upstream, normalised (tag defaulted)
	repository string       // cache repository
	tag        string
	digest     string
	cache      imageref.Ref // the cache ref, parsed once by the mapper
}

// resolveTarget maps an image reference — upstream (node:20) or already a cache ref
// (<registry>/docker-hub/library/node:20) — to a target; ok is false when the cache does not serve it.
func resolveTarget(m *mapping.Mapper, input string) (target, string, bool) {
	res := m.Map(input)
	switch res.Kind {
	case mapping.Cached:
		return target{ref: res.Source, repository: res.Repository, tag: res.Tag, digest: res.Digest, cache: res.Cache}, "", true
	case mapping.AlreadyHere:
		cref := res.Source
		up, ok := reverseMap(m.Rules(), cref.Repository)
		if !ok {
			return target{}, "no pull-through cache rule covers the cache repository " + cref.Repository, false
		}
		up.Tag, up.Digest = cref.Tag, cref.Digest
		up = up.WithDefaultTag()
		if up.Digest != "" && cref.Tag == "" {
			up.Tag = ""
		}
		return target{ref: up, repository: cref.Repository, tag: up.Tag, digest: cref.Digest, cache: res.Cache}, "", true
	}
	return target{}, res.Reason, false
}

// reverseMap finds the upstream of a cache repository by the longest matching rule prefix.
func reverseMap(set rules.Set, repo string) (imageref.Ref, bool) {
	best := rules.Rule{}
	rest := ""
	for _, r := range set.Rules {
		p := strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
		if after, ok := strings.CutPrefix(repo, p+"/"); ok && len(p) > len(strings.TrimSuffix(best.ECRRepositoryPrefix, "/")) {
			best, rest = r, after
		}
	}
	if best.ECRRepositoryPrefix == "" {
		return imageref.Ref{}, false
	}
	if up := strings.TrimSuffix(best.UpstreamRepositoryPrefix, "/"); up != "" && up != rules.Root {
		rest = up + "/" + rest
	}
	ref, err := imageref.Parse(best.UpstreamHost() + "/" + rest)
	if err != nil {
		return imageref.Ref{}, false
	}
	return ref, true
}

// staleTargets collects the images to check: from the Dockerfiles under paths, or from the lock alone.
func staleTargets(env Env, f *staleFlags, paths []string, m *mapping.Mapper, lf *lock.File) ([]target, error) {
	var inputs []string
	if len(paths) == 0 && len(f.sf.files) == 0 && lf != nil {
		for _, e := range lf.Images {
			inputs = append(inputs, e.Ref)
		}
	} else {
		opts, err := f.sf.options(env)
		if err != nil {
			return nil, err
		}
		results, failed, err := scanPaths(env, f.sf.files, paths, opts, nil)
		if err != nil {
			return nil, err
		}
		if failed > 0 {
			return nil, fmt.Errorf("%d Dockerfile(s) could not be read or evaluated (see above)", failed)
		}
		for _, r := range results {
			if r.Ref != "" && r.Instruction != "ONBUILD" {
				inputs = append(inputs, r.Ref)
			}
		}
	}
	seen := map[string]bool{}
	var out []target
	for _, in := range inputs {
		t, _, ok := resolveTarget(m, in)
		if !ok || seen[t.ref.String()] {
			continue
		}
		seen[t.ref.String()] = true
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ref.String() < out[j].ref.String() })
	return out, nil
}

const staleLong = `stale compares, for every image the Dockerfiles under PATH use (or, with --lock and no PATH, every image
the lock pins), the digest the pull-through cache holds (DescribeImages: it never imports) with the
digest the upstream tag names now (a registry HEAD, which Docker Hub does not count as a pull; anonymous,
or with your docker login to the upstream). ECR re-checks a cached tag only about once a day, so a moved
tag is served stale until then. Verdicts: fresh, stale (the cache is behind: ` + "`ecr-ptc refresh`" + `),
locked-behind (the lock or the Dockerfile pins an older digest: review, refresh, re-lock) and unknown
(not cached yet, or the upstream cannot be read). CACHED AT is imagePushedAt: when the cache imported
the digest it holds. --fail-on-stale exits 1 when anything is stale or locked behind.`

// staleFlags are the flags of stale.
type staleFlags struct {
	af          awsFlags
	sf          scanFlags
	mf          mapFlags
	uf          upstreamFlags
	lockFile    string
	asJSON      bool
	failOnStale bool
}

func (f *staleFlags) register(cmd *cobra.Command) {
	f.af.add(cmd)
	f.sf.add(cmd, true)
	f.mf.add(cmd)
	f.uf.add(cmd)
	cmd.Flags().StringVar(&f.lockFile, "lock", "", "the lock file (ecr-ptc.lock.json): compare its pins too; alone, check the images it pins")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the results as JSON")
	cmd.Flags().BoolVar(&f.failOnStale, "fail-on-stale", false, "exit 1 when an image is stale or locked behind")
}

func newStaleCmd(env Env) *cobra.Command {
	var f staleFlags
	cmd := &cobra.Command{
		Use:   "stale [PATH...] [--lock FILE] [--json] [--fail-on-stale]",
		Short: "Tell which cached tags (and locked digests) are behind their upstream tag",
		Long:  staleLong,
		Example: `  ecr-ptc stale .
  ecr-ptc stale --lock ecr-ptc.lock.json --json --fail-on-stale`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			results, err := checkStale(cmd.Context(), env, &f, paths)
			if err != nil {
				return err
			}
			if f.asJSON {
				if results == nil {
					results = []freshness.Result{}
				}
				if err := writeJSON(env.Stdout, results); err != nil {
					return err
				}
			} else {
				printStale(env, results)
			}
			if n := freshness.Failing(results); n > 0 && f.failOnStale {
				fmt.Fprintf(env.Stderr, "ecr-ptc: %d image(s) stale or locked behind their upstream tag.\n", n)
				return exitError{ExitFailure}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// checkStale compares the cached digest of every target with its upstream tag and the lock's pin.
func checkStale(ctx context.Context, env Env, f *staleFlags, paths []string) ([]freshness.Result, error) {
	head, ov, err := f.uf.head(env)
	if err != nil {
		return nil, err
	}
	lf, err := readLock(f.lockFile)
	if err != nil {
		return nil, err
	}
	cfg, src, err := f.af.loadAWS(ctx, env)
	if err != nil {
		return nil, err
	}
	client := ecr.NewFromConfig(cfg)
	m, err := cacheMapper(ctx, env, f, client, cfg.Region, src)
	if err != nil {
		return nil, err
	}
	targets, err := staleTargets(env, f, paths, m, lf)
	if err != nil {
		return nil, err
	}
	items := make([]freshness.Item, 0, len(targets))
	for _, t := range targets {
		it := freshness.Item{Ref: t.ref.String(), Repository: t.repository, Tag: t.tag, Digest: t.ref.Digest}
		if lf != nil {
			it.Locked, _ = lf.Lookup(t.ref.String())
		}
		if t.tag != "" {
			it.Upstream = upstreamRef(t.ref, ov)
		}
		items = append(items, it)
	}
	results, err := freshness.Check(ctx, client, head, items)
	if err != nil {
		return nil, credentialsError(err, src)
	}
	return results, nil
}

// cacheMapper maps onto the cache registry with the account's rules (or --rules/--rule).
func cacheMapper(ctx context.Context, env Env, f *staleFlags, client *ecr.Client, region string, src credSource) (*mapping.Mapper, error) {
	registry := cacheRegistry(f.mf.registry, env, nil, region)
	if registry == "" {
		auths, err := ecrx.Login(ctx, client)
		if err != nil {
			return nil, credentialsError(err, src)
		}
		registry = cacheRegistry("", env, auths, region)
	}
	return f.mf.mapperFor(ctx, env, client, registry, src) // pins are compared, not applied
}

func printStale(env Env, rs []freshness.Result) {
	if len(rs) == 0 {
		fmt.Fprintln(env.Stderr, "ecr-ptc: no image served by the pull-through cache was found.")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tCACHED\tUPSTREAM\tLOCKED\tCACHED AT\tVERDICT\tREASON")
	for _, r := range rs {
		at := "-"
		if r.CachedAt != nil {
			at = r.CachedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Ref, dash(freshness.Short(r.CachedDigest)), dash(freshness.Short(r.UpstreamDigest)),
			dash(freshness.Short(r.LockedDigest)), at, r.Verdict, r.Reason)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
