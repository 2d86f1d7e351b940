package pipeline

import (
	"context"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/setup"
)

// SetupOptions tune Setup: setup, or warm (no rules ensured, the login not written anywhere).
type SetupOptions struct {
	Uses []dockerfile.ImageUse // the image uses, scanned once
	// EnsureRules creates the rules the uses need before probing, each with its secret from Credentials;
	// OnRule hears of each (may be nil).
	EnsureRules bool
	Credentials CredentialArns
	OnRule      func(ecrx.EnsureResult)

	Warm        bool
	Platforms   []string // the build's platforms; none: the default build platform
	Concurrency int
	ProbeCache  *ecrx.ProbeCache     // nil: every image is probed
	Progress    func(ecrx.WarmEvent) // warming as it happens (may be nil)
}

// Setup is the one CI step after the login: ensure the rules the uses need (listed once), map, probe
// the cache for each image, warm the misses, and report.
func Setup(ctx context.Context, s *Session, o SetupOptions) (*report.Report, error) {
	if o.EnsureRules {
		existing, err := s.LiveRules(ctx)
		if err != nil {
			return nil, err
		}
		wants := Needed(existing, s.Registry, o.Uses)
		if _, err := EnsureRules(ctx, s, wants, o.Credentials, o.OnRule); err != nil {
			return nil, err
		}
	}
	m, err := s.Mapper(ctx)
	if err != nil {
		return nil, err
	}
	warmer := &ecrx.Warmer{Auths: s.Auths, Concurrency: o.Concurrency, Progress: o.Progress, Relogin: s.Relogin}
	plats := o.Platforms
	if len(plats) == 0 {
		// ECR imports an index with all its children; fetching the build's platform manifest as well
		// reports an image that lacks it before the build meets it.
		plats = []string{dockerfile.DefaultBuildPlatform}
	}
	deps := setup.Deps{Mapper: m, Images: s.ECR, Warmer: warmer, ProbeCache: o.ProbeCache}
	return setup.Run(ctx, o.Uses, deps, setup.Options{Warm: o.Warm, Platforms: plats, Concurrency: o.Concurrency}), nil
}
