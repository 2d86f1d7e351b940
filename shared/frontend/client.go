package frontend

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/imageutil"
	digest "github.com/opencontainers/go-digest"
)

// gatewayClient is the gateway client the stock Dockerfile frontend runs over. Every image it resolves —
// FROM (also ARG-driven and --platform), the implicit stages of COPY --from=<image> and
// RUN --mount=from=<image>, named contexts, the SBOM scanner — passes through ResolveImageConfig or
// ResolveSourceMetadata with a docker-image:// identifier, and dockerfile2llb then builds on the
// reference returned, pinned to the returned digest.
type gatewayClient struct {
	client.Client
	opts client.BuildOpts
	r    *Resolver

	// The nested-syntax check reads the Dockerfile before the stock builder reads it again with the same
	// definition; the builder gets the first read's result instead of a second solve (~5 ms a build).
	mu        sync.Mutex
	recording bool
	reads     map[digest.Digest]*client.Result
}

func newGatewayClient(c client.Client, r *Resolver) *gatewayClient {
	bo := c.BuildOpts()
	bo.Opts = stockOpts(bo.Opts)
	return &gatewayClient{Client: c, opts: bo, r: r}
}

func (c *gatewayClient) BuildOpts() client.BuildOpts { return c.opts }

func (c *gatewayClient) Solve(ctx context.Context, req client.SolveRequest) (*client.Result, error) {
	key, plain := plainSolveKey(req)
	if plain {
		c.mu.Lock()
		res, ok := c.reads[key]
		delete(c.reads, key)
		c.mu.Unlock()
		if ok {
			return res, nil
		}

	}
	res, err := c.Client.Solve(ctx, req)
	if err == nil && plain {
		c.mu.Lock()
		if c.recording {
			if c.reads == nil {
				c.reads = map[digest.Digest]*client.Result{}
			}
			c.reads[key] = res
		}
		c.mu.Unlock()
	}
	return res, err
}

// record makes the solves fn makes available once more to an identical request.
func (c *gatewayClient) record(fn func()) {
	c.mu.Lock()
	c.recording = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.recording = false
		c.mu.Unlock()
	}()
	fn()
}

// plainSolveKey identifies a solve of a bare definition by its ops (their order is deterministic; the
// metadata map's encoding is not).
func plainSolveKey(req client.SolveRequest) (digest.Digest, bool) {
	if req.Definition == nil || req.Frontend != "" || len(req.FrontendOpt) > 0 || len(req.FrontendInputs) > 0 ||
		len(req.CacheImports) > 0 || len(req.SourcePolicies) > 0 || req.Evaluate {
		return "", false
	}
	h := sha256.New()
	for _, op := range req.Definition.Def {
		fmt.Fprintf(h, "%d:", len(op))
		h.Write(op)
	}
	return digest.NewDigest(digest.SHA256, h), true
}

func (c *gatewayClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if opt.OCILayoutOpt != nil {
		// An OCI layout the client sent: not a registry pull.
		return c.Client.ResolveImageConfig(ctx, ref, opt)
	}
	resp, err := c.r.ResolveImage(ctx, ref, nil, opt)
	if err != nil {
		return "", "", nil, err
	}
	if resp.Image == nil {
		// Named contexts follow a source policy that turned the image into another source this way.
		return "", "", nil, &imageutil.ResolveToNonImageError{Ref: ref, Updated: resp.Op.GetIdentifier()}
	}
	return strings.TrimPrefix(resp.Op.GetIdentifier(), imagePrefix), resp.Image.Digest, resp.Image.Config, nil
}

func (c *gatewayClient) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	ref, ok := strings.CutPrefix(op.GetIdentifier(), imagePrefix)
	if !ok {
		// git, http, oci-layout: not images from a registry.
		return c.Client.ResolveSourceMetadata(ctx, op, opt)
	}
	return c.r.ResolveImage(ctx, ref, op.GetAttrs(), opt)
}
