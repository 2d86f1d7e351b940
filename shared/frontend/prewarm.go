package frontend

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// ArgPrefetch turns the layer prefetch off (build arg ECR_PTC_PREFETCH=false).
const ArgPrefetch = "ECR_PTC_PREFETCH"

// prefetchConcurrency bounds the images whose layers are pulled ahead at once.
const prefetchConcurrency = 8

// prefetcher pulls the layers of every image the build resolves as soon as it is resolved, all at once.
// BuildKit pulls an image's layers lazily, when a step first mounts it: a Dockerfile whose stages are
// copied into one another in turn pulls them one after the other, and on a cold pull-through cache each
// of those pulls waits for the cache to fetch the layers from the upstream (about one upstream round
// trip and transfer per image). Pulled ahead in parallel, the layers are in buildkitd's content store
// (or on their way) when the build mounts them.
//
// It prefetches exactly the reference the Resolver chose (pinned to the digest it resolved), so it never
// changes what the build uses: fallbacks, the lock and strict mode are decided before. It is best effort:
// an error or a daemon without the statfile capability stops it silently, and the
// build pulls as it would have.
type prefetcher struct {
	c      client.Client
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex
	seen map[string]bool
}

// newPrefetcher returns nil (no prefetch) when the build turned it off, the cache is disabled, this is a
// subrequest (an outline or a lint check pulls no layers), or the daemon cannot mount a result for the
// frontend (the statfile capability, BuildKit v0.6 and later). A value of ECR_PTC_PREFETCH other than a
// boolean is an error, like any bad ECR_PTC_* value.
func newPrefetcher(ctx context.Context, c client.Client, cfg Config) (*prefetcher, error) {
	bo := c.BuildOpts()
	if v, ok := bo.Opts[buildArgPrefix+ArgPrefetch]; ok && strings.TrimSpace(v) != "" {
		on, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("ecr-ptc: build arg %s: %q is not true or false", ArgPrefetch, clip(printable(v), 40))
		}
		if !on {
			return nil, nil
		}
	}
	if cfg.Disabled || bo.Opts["requestid"] != "" || bo.Caps.Supports(gwpb.CapStatFile) != nil {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	return &prefetcher{c: c, ctx: ctx, cancel: cancel, sem: make(chan struct{}, prefetchConcurrency), seen: map[string]bool{}}, nil
}

// finish (nil-safe) waits for the prefetches when the build's definition was made: BuildKit solves it
// after the frontend returns, and a prefetch that had not finished by then would be cancelled with the
// frontend's requests. When the conversion failed, it cancels them instead.
func (p *prefetcher) finish(buildErr error) {
	if p == nil {
		return
	}
	if buildErr != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.cancel()
}

// image starts pulling the layers of a resolved image (identifier docker-image://REF@DIGEST) for opt's
// platform, once per identifier and platform.
func (p *prefetcher) image(identifier string, opt sourceresolver.Opt) {
	ref, ok := strings.CutPrefix(identifier, imagePrefix)
	if p == nil || !ok || !strings.Contains(ref, "@") {
		return
	}
	var opts []llb.ImageOption
	key := ref
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		opts = append(opts, llb.Platform(*opt.ImageOpt.Platform))
		key += "\x00" + platformOf(opt)
	}
	p.mu.Lock()
	dup := p.seen[key]
	p.seen[key] = true
	p.mu.Unlock()
	if dup {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.sem <- struct{}{}:
		case <-p.ctx.Done():
			return
		}
		defer func() { <-p.sem }()
		p.pull(ref, opts)
	}()
}

// pull makes buildkitd fetch and unpack every layer of the image, which the build's own source of the same
// digest then finds in the content store: a file operation on the image (a directory made on top of it,
// a result nobody uses) needs the image unpacked. It is solved as a step of its own, evaluated where the
// daemon can (else read once, as showSummary does), and not by mounting the image for the frontend:
// buildkitd mounts refs for a frontend one at a time, which would pull the images in turn again.
func (p *prefetcher) pull(ref string, opts []llb.ImageOption) {
	name := llb.WithCustomName("[ecr-ptc] prefetch " + clip(printable(ref), 200))
	st := llb.Image(ref, append(opts, name)...).File(llb.Mkdir("/.ecr-ptc-prefetch", 0o755), name)
	def, err := st.Marshal(p.ctx)
	if err != nil {
		return
	}
	caps := p.c.BuildOpts().Caps
	evaluate := caps.Supports(gwpb.CapGatewayEvaluateSolve) == nil
	res, err := p.c.Solve(p.ctx, client.SolveRequest{Definition: def.ToPB(), Evaluate: evaluate})
	if err != nil || evaluate {
		return
	}
	if r, err := res.SingleRef(); err == nil && r != nil {
		_, _ = r.StatFile(p.ctx, client.StatRequest{Path: ".ecr-ptc-prefetch"})
	}
}

// prefetchClient is the gateway client the stock builder runs over, starting a prefetch for each image
// it resolves.
type prefetchClient struct {
	*gatewayClient
	p *prefetcher
}

// wrap (nil-safe) returns gc with prefetching, or gc itself.
func (p *prefetcher) wrap(gc *gatewayClient) client.Client {
	if p == nil {
		return gc
	}
	return &prefetchClient{gatewayClient: gc, p: p}
}

func (c *prefetchClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r, dgst, cfg, err := c.gatewayClient.ResolveImageConfig(ctx, ref, opt)
	if err == nil && opt.OCILayoutOpt == nil && dgst != "" {
		c.p.image(imagePrefix+pinnedRef(r, dgst), opt)
	}
	return r, dgst, cfg, err
}

func (c *prefetchClient) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	resp, err := c.gatewayClient.ResolveSourceMetadata(ctx, op, opt)
	if err == nil && resp != nil && resp.Image != nil && resp.Op != nil {
		if ref, ok := strings.CutPrefix(resp.Op.GetIdentifier(), imagePrefix); ok && resp.Image.Digest != "" {
			c.p.image(imagePrefix+pinnedRef(ref, resp.Image.Digest), opt)
		}
	}
	return resp, err
}

// pinnedRef is ref at digest d (ref as the Resolver returns it: already pinned, or a name and tag).
func pinnedRef(ref string, d digest.Digest) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	return ref + "@" + d.String()
}
