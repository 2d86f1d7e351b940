package frontend

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// deniedGateway answers the cache attempt with a registry error as BuildKit reports it through the gateway
// API, and serves the original reference.
type deniedGateway struct {
	*fakeGateway
	cacheRef string
	err      error
}

func (g *deniedGateway) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	if op.Identifier == imagePrefix+g.cacheRef && len(opt.SourcePolicies) == 0 {
		return nil, g.err
	}
	return g.fakeGateway.ResolveSourceMetadata(ctx, op, opt)
}

// A 403 DENIED on a cache path (reference, "Registry error bodies": a wrong path or an image missing
// upstream comes back as "authentication to the upstream registry failed") is explained as a path,
// upstream or credential problem; only a 401 says to log in again.
func TestFallbackHint(t *testing.T) {
	const cacheRef = reg + "/docker-hub/library/node:20"
	for _, c := range []struct {
		name, text string
		want       []string
		dontWant   string
	}{
		{"403", "rpc error: code = Unknown desc = failed to resolve source metadata for " + cacheRef + ": unexpected status from HEAD request to https://" + reg + "/v2/docker-hub/library/node/manifests/20: 403 Forbidden\ndenied: The authentication to the upstream registry failed. Verify that the credentials in the secret are correct",
			[]string{"will not help", "docker.io/library/node:20 exists upstream", `the rule "docker-hub" has a credential`}, "ecr-ptc login"},
		{"404", "rpc error: code = NotFound desc = " + cacheRef + ": not found", []string{"not found through the cache", "library/"}, "ecr-ptc login"},
		{"401", "rpc error: code = Unknown desc = failed to resolve source metadata for " + cacheRef + ": unexpected status from HEAD request to https://" + reg + "/v2/docker-hub/library/node/manifests/20: 401 Unauthorized", []string{"ecr-ptc login"}, "will not help"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fg := &fakeGateway{images: map[string]digest.Digest{"docker.io/library/node:20": dgA}}
			g := &deniedGateway{fakeGateway: fg, cacheRef: cacheRef, err: errors.New(c.text)}
			r := NewResolver(g, Config{Registry: reg, Rules: rules.Defaults()})
			if _, err := r.ResolveImage(context.Background(), "node:20", nil, imageOpt()); err != nil {
				t.Fatal(err)
			}
			im := onlyImage(t, r)
			if im.Outcome != report.BuildFallback {
				t.Fatalf("outcome %s", im.Outcome)
			}
			for _, w := range c.want {
				if !strings.Contains(im.Reason, w) {
					t.Errorf("reason %q lacks %q", im.Reason, w)
				}
			}
			if strings.Contains(im.Reason, c.dontWant) {
				t.Errorf("reason %q must not say %q", im.Reason, c.dontWant)
			}
		})
	}
}

// ECR-to-ECR rules reach the frontend through ECR_PTC_RULES, upstreamRepositoryPrefix included (reference,
// "Rule fields added in 2025"): the upstream prefix is replaced by the rule's ecrRepositoryPrefix.
func TestResolveECRToECR(t *testing.T) {
	set, err := rules.ParseSpec("444455556666.dkr.ecr.us-west-2.amazonaws.com/team=team-cache")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newTestResolver(t, map[string]digest.Digest{reg + "/team-cache/app:1": dgA}, func(c *Config) { c.Rules, c.RulesGiven = set, true })
	for _, in := range []string{"444455556666.dkr.ecr.us-west-2.amazonaws.com/team/app:1", "444455556666.dkr-ecr.us-west-2.on.aws/team/app:1"} {
		resp, err := r.ResolveImage(context.Background(), in, nil, imageOpt())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := usedRef(t, resp), reg+"/team-cache/app:1@"+dgA.String(); got != want {
			t.Errorf("%s: used %s, want %s", in, got, want)
		}
	}
}
