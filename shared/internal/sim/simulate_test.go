package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/platforms"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options shape a simulation.
type Options struct {
	Builds       int      // builds in all (default 200)
	Environments []string // default dev, stage, prod
	Images       []string // Docker Hub repository:tag, e.g. library/node:20 (default five official images)
	Parallel     int      // builds at once (default 8)
	// MoveTagAfter moves the first image's tag upstream after this many builds (0: never), as when an
	// upstream publishes a new build under the same tag mid-day.
	MoveTagAfter int
	Platform     string // default linux/amd64
}

func (o *Options) defaults() {
	if o.Builds == 0 {
		o.Builds = 200
	}
	if len(o.Environments) == 0 {
		o.Environments = []string{"dev", "stage", "prod"}
	}
	if len(o.Images) == 0 {
		o.Images = []string{"library/node:20", "library/python:3.12-slim", "library/golang:1.23-alpine", "library/alpine:3.20", "library/debian:bookworm-slim"}
	}
	if o.Parallel == 0 {
		o.Parallel = 8
	}
	if o.Platform == "" {
		o.Platform = "linux/amd64"
	}
}

// Result is one side of the comparison.
type Result struct {
	Mode            string // "direct" or "cache"
	Builds          int
	FailedBuilds    int
	UpstreamFetches int // manifest GETs the Docker Hub stand-in served (what its rate limit counts)
	RateLimited     int // 429s the stand-in answered
	// Digests maps environment → image → the set of digests its builds used.
	Digests map[string]map[string][]string
	// Consistent: every environment used the same single digest of every image.
	Consistent bool
	PullTime   time.Duration // median time of one build's base-image pulls
	FirstError string
}

// Target says where builds pull from.
type Target struct {
	Host     string            // registry host:port (plain HTTP on loopback)
	Prefix   string            // repository prefix ("" for the upstream itself, "docker-hub" for the cache)
	Username string            // basic auth, "" for anonymous
	Password string            //
	Counter  func() (int, int) // upstream manifest pulls and 429s so far
}

// Run pulls every build's images from t and reports.
func Run(ctx context.Context, sb *sandbox.Sandbox, mode string, t Target, o Options) Result {
	o.defaults()
	res := Result{Mode: mode, Builds: o.Builds, Digests: map[string]map[string][]string{}}
	startFetches, start429 := t.Counter()
	resolver := newResolver(t)
	var (
		mu        sync.Mutex
		durations []time.Duration
		wg        sync.WaitGroup
		sem       = make(chan struct{}, o.Parallel)
		moved     sync.Once
	)
	for b := 0; b < o.Builds; b++ {
		if o.MoveTagAfter > 0 && b == o.MoveTagAfter {
			wg.Wait() // builds before the move finish first
			moved.Do(func() {
				repo, tag, _ := strings.Cut(o.Images[0], ":")
				_, _ = sb.MoveTag("docker-hub", repo, tag)
			})
		}
		env := o.Environments[b%len(o.Environments)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			began := time.Now()
			digests, err := pullBuild(ctx, resolver, t, o)
			took := time.Since(began)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.FailedBuilds++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				return
			}
			durations = append(durations, took)
			if res.Digests[env] == nil {
				res.Digests[env] = map[string][]string{}
			}
			for img, d := range digests {
				if !slices.Contains(res.Digests[env][img], d) {
					res.Digests[env][img] = append(res.Digests[env][img], d)
				}
			}
		}()
	}
	wg.Wait()
	f, r := t.Counter()
	res.UpstreamFetches, res.RateLimited = f-startFetches, r-start429
	res.Consistent = consistent(res.Digests, o)
	res.PullTime = median(durations)
	return res
}

// pullBuild pulls what a build of one Dockerfile needs from each image: the index, the platform's
// manifest, its config and its layers. It returns the digest each image resolved to.
func pullBuild(ctx context.Context, resolver remotes.Resolver, t Target, o Options) (map[string]string, error) {
	out := map[string]string{}
	plat, err := platforms.Parse(o.Platform)
	if err != nil {
		return nil, err
	}
	for _, img := range o.Images {
		ref := t.Host + "/" + strings.TrimPrefix(t.Prefix+"/"+img, "/")
		name, desc, err := resolver.Resolve(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img, err)
		}
		f, err := resolver.Fetcher(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := pullTree(ctx, f, desc, platforms.OnlyStrict(plat)); err != nil {
			return nil, fmt.Errorf("%s: %w", img, err)
		}
		out[img] = desc.Digest.String()
	}
	return out, nil
}

// pullTree fetches a manifest or index and what a build on one platform reads from it.
func pullTree(ctx context.Context, f remotes.Fetcher, desc ocispec.Descriptor, m platforms.MatchComparer) error {
	data, err := fetch(ctx, f, desc)
	if err != nil {
		return err
	}
	switch desc.MediaType {
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
		idx, err := decode[ocispec.Index](data)
		if err != nil {
			return err
		}
		for _, c := range idx.Manifests {
			if c.Platform != nil && m.Match(*c.Platform) {
				return pullTree(ctx, f, c, m)
			}
		}
		return fmt.Errorf("no manifest for the platform")
	default:
		man, err := decode[ocispec.Manifest](data)
		if err != nil {
			return err
		}
		for _, d := range append([]ocispec.Descriptor{man.Config}, man.Layers...) {
			if _, err := fetch(ctx, f, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func fetch(ctx context.Context, f remotes.Fetcher, d ocispec.Descriptor) ([]byte, error) {
	rc, err := f.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func newResolver(t Target) remotes.Resolver {
	client := &http.Client{Timeout: time.Minute}
	auth := docker.NewDockerAuthorizer(docker.WithAuthClient(client), docker.WithAuthCreds(func(string) (string, string, error) {
		return t.Username, t.Password, nil
	}))
	hosts := docker.ConfigureDefaultRegistries(docker.WithAuthorizer(auth), docker.WithClient(client),
		docker.WithPlainHTTP(func(string) (bool, error) { return true, nil }))
	return docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
}

func consistent(d map[string]map[string][]string, o Options) bool {
	var first map[string][]string
	for _, env := range o.Environments {
		imgs := d[env]
		if len(imgs) != len(o.Images) {
			return false
		}
		for _, ds := range imgs {
			if len(ds) != 1 {
				return false
			}
		}
		if first == nil {
			first = imgs
			continue
		}
		for img, ds := range imgs {
			if first[img][0] != ds[0] {
				return false
			}
		}
	}
	return true
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Table renders results side by side.
func Table(rs ...Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %7s %7s %16s %12s %12s %10s\n", "mode", "builds", "failed", "upstream pulls", "upstream 429", "consistent", "pull p50")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-18s %7d %7d %16d %12d %12v %10s\n", r.Mode, r.Builds, r.FailedBuilds, r.UpstreamFetches, r.RateLimited, r.Consistent, r.PullTime.Round(time.Millisecond))
	}
	return b.String()
}

func decode[T any](data []byte) (T, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}
