package cli

import (
	"context"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"
)

// openSession logs in and picks the cache registry (pipeline.Open); rules given on the command line
// then map onto that registry, which must be a registry host.
func openSession(ctx context.Context, o pipeline.Options) (*pipeline.Session, error) {
	s, err := pipeline.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.Rules != nil {
		if err := checkCacheRegistry(s.Registry); err != nil {
			return nil, err
		}
	}
	return s, nil
}
