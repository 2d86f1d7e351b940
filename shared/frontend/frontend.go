// Package frontend is the ecr-ptc BuildKit frontend: it runs BuildKit's stock Dockerfile frontend
// in-process over a gateway client that resolves every image the Dockerfile pulls through the ECR
// pull-through cache, falls back to the original registry visibly (or fails, in strict mode), and puts
// what happened to each image in the build result's metadata.
package frontend

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dfversion "github.com/moby/buildkit/frontend/dockerfile/version"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto" // the gateway's fast protobuf codec, as the stock frontend registers it
)

// Result metadata keys (report.MetadataKey, report.SummaryKey); BuildKit passes only frontend.-prefixed
// keys to the client, and buildctl and buildx write them to --metadata-file.
const (
	MetaReport  = report.MetadataKey
	MetaSummary = report.SummaryKey
)

// Main runs the frontend in a BuildKit gateway container (BuildKit's grpcclient reads the gateway
// protocol's environment) and returns the process exit code; errors go to stderr, which BuildKit writes
// to its own log — the user sees the build error the gateway returns.
func Main(ctx context.Context, stderr io.Writer) int {
	if err := grpcclient.RunFromEnvironment(ctx, Build); err != nil {
		fmt.Fprintf(stderr, "ecr-ptc frontend: %v\n", err)
		return 1
	}
	return 0
}

// Build is the frontend's gateway build function.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	cfg, err := ParseConfig(c.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	r := NewResolver(c, cfg)
	if caps := c.BuildOpts().Caps; caps.Supports(gwpb.CapSourceMetaResolverHTTPChecksumRequest) != nil {
		// Releases before this capability (v0.26.3 and older, Docker Engine's) were seen to ignore a
		// source policy sent with a resolve; the fallback checks the answer anyway.
		r.NoSourcePolicies()
	}
	gc := newGatewayClient(c, r)
	var ignored string
	gc.record(func() { ignored = checkNestedSyntax(ctx, gc, cfg) })
	res, err := builder.Build(ctx, gc)
	if err != nil {
		return nil, err
	}
	rep := r.Report()
	rep.IgnoredSyntax = ignored
	data, err := report.EncodeMetadata(rep)
	if err != nil {
		return nil, err
	}
	res.AddMeta(MetaReport, data)
	res.AddMeta(MetaSummary, []byte(report.FrontendSummary(rep)))
	showSummary(ctx, c, progressLine(rep, r.Gists()))
	return res, nil
}

// showSummary ends the build's progress with one step named after the per-image summary: the report
// every client shows — `docker build --progress=plain` on Docker Engine 20.10 and buildctl too, which
// drop build warnings or the metadata. The step is a directory made on scratch, which no result uses; a
// daemon that cannot show it (or run it) costs the build nothing.
func showSummary(ctx context.Context, c client.Client, line string) {
	def, err := llb.Scratch().File(llb.Mkdir("/ecr-ptc", 0o755), llb.WithCustomName(line)).Marshal(ctx)
	if err != nil {
		return
	}
	caps := c.BuildOpts().Caps
	evaluate := caps.Supports(gwpb.CapGatewayEvaluateSolve) == nil
	res, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), Evaluate: evaluate})
	if err != nil || evaluate {
		return
	}
	// Older daemons solve lazily: reading the result runs the step.
	if ref, err := res.SingleRef(); err == nil && ref != nil {
		_, _ = ref.StatFile(ctx, client.StatRequest{Path: "ecr-ptc"})
	}
}

// progressLine is the summary step's name: "ecr-ptc: 6 images — 5 via the cache, 1 FALLBACK
// (quay.io/x:1: not found)". One printable line of bounded length: reasons come from registries.
func progressLine(rep *report.FrontendReport, gists map[string]string) string {
	t := rep.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "ecr-ptc: %d image%s — %d via the cache", t.Images, plural(t.Images), t.Cache)
	if t.Fallbacks > 0 {
		var fb []string
		for _, im := range rep.Images {
			if im.Outcome == report.BuildFallback {
				fb = append(fb, im.Ref+": "+clip(cmp.Or(gists[im.Ref], im.Reason), 80))
			}
		}
		fmt.Fprintf(&b, ", %d FALLBACK (%s)", t.Fallbacks, strings.Join(fb, "; "))
	}
	if t.Unchanged > 0 {
		fmt.Fprintf(&b, ", %d not through the cache", t.Unchanged)
	}
	if rep.Disabled {
		b.WriteString(" — " + ArgDisable + " is set")
	}
	return clip(printable(b.String()), 400)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// printable replaces control characters (newlines from an error text above all) with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
}

// checkNestedSyntax warns when the Dockerfile's own `# syntax=` line names another frontend, and returns
// that line's reference. The build goes on with the embedded Dockerfile frontend (stockOpts keeps the
// stock builder from forwarding): handing it to another frontend would resolve every image around the
// cache. A Dockerfile that cannot be read is left to the stock builder to report.
func checkNestedSyntax(ctx context.Context, c client.Client, cfg Config) string {
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return ""
	}
	src, err := bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return ""
	}
	ref, _, loc, ok := parser.DetectSyntax(src.Data)
	if !ok || sameFrontend(ref, cfg) {
		return ""
	}
	version := dfversion.Version()
	if version == "" {
		version = "1.x"
	}
	msg := fmt.Sprintf("ecr-ptc ignores `# syntax=%s`: it builds with the Dockerfile frontend it embeds (dockerfile %s) so that every image goes through the pull-through cache; another frontend would pull around the cache", ref, version)
	opts := client.WarnOpts{Level: 1, URL: docsURL}
	for _, l := range loc {
		opts.Range = append(opts.Range, &pb.Range{
			Start: &pb.Position{Line: int32(l.Start.Line), Character: int32(l.Start.Character)},
			End:   &pb.Position{Line: int32(l.End.Line), Character: int32(l.End.Character)},
		})
	}
	src.Warn(ctx, msg, opts)
	return ref
}

// sameFrontend reports whether a `# syntax=` reference names this frontend's own image (any tag), also
// when the frontend was pulled through the cache.
func sameFrontend(syntaxRef string, cfg Config) bool {
	if cfg.Source == "" {
		return false
	}
	src, err := imageref.Parse(cfg.Source)
	if err != nil {
		return false
	}
	names := []string{}
	if s, err := imageref.Parse(syntaxRef); err == nil {
		names = append(names, s.Name())
	}
	mp := mapping.New(cfg.Registry, mapping.WithRules(cfg.Rules))
	if m := mp.Map(syntaxRef); m.Rewritten {
		names = append(names, mp.Registry()+"/"+m.Repository)
	}
	for _, n := range names {
		if n == src.Name() {
			return true
		}
	}
	return false
}
