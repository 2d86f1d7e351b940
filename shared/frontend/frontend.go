// Package frontend is the ecr-ptc BuildKit frontend: it runs BuildKit's stock Dockerfile frontend
// in-process over a gateway client that resolves every image the Dockerfile pulls through the ECR
// pull-through cache, falls back to the original registry visibly (or fails, in strict mode), and puts
// what happened to each image in the build result's metadata.
package frontend

import (
	"context"
	"fmt"
	"io"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dfversion "github.com/moby/buildkit/frontend/dockerfile/version"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
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
	return res, nil
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
