package pipeline

import (
	"context"
	"strings"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
)

// maxColdProbes bounds the DescribeImages calls doctor makes looking for an image the cache lacks.
const maxColdProbes = 10

// pullCheck pulls one image the Dockerfiles use through the cache. It picks one the cache does not hold
// yet when there is one, so that a first pull's own permissions — ecr:BatchImportUpstreamImage, and
// ecr:CreateRepository for a new repository (reference) — are exercised too, and names the action ECR's
// AccessDenied text says is missing. ok is false when no image maps to the cache.
func pullCheck(ctx context.Context, images ecrx.DescribeImagesAPI, warmer *ecrx.Warmer, m *mapping.Mapper, results []ImageResult) (Check, bool) {
	var cands []mapping.Result
	seen := map[string]bool{}
	for _, r := range results {
		if r.Error != "" || r.Instruction == "ONBUILD" || seen[r.Ref] {
			continue
		}
		seen[r.Ref] = true
		if mr := m.Map(r.Ref); mr.Rewritten && mr.Tag != "" {
			cands = append(cands, mr)
		}
	}
	if len(cands) == 0 {
		return Check{}, false
	}
	pick, cold := cands[0], false
	for i, c := range cands {
		if i == maxColdProbes {
			break
		}
		if res, err := ecrx.Probe(ctx, images, c.Repository, c.Tag, ""); err == nil && res.Outcome == ecrx.Miss {
			pick, cold = c, true
			break
		}
	}
	res := warmer.Warm(ctx, []ecrx.WarmRequest{{Ref: pick.Cache, Path: pullhint.PathOf(pick)}})[0]
	if res.Outcome == ecrx.Warmed {
		info := "pulled " + pick.Output + " through the cache"
		if cold {
			info += " (a first pull: the role may import images and create repositories)"
		} else {
			info += " (already cached, so a first pull's ecr:BatchImportUpstreamImage and ecr:CreateRepository were not exercised)"
		}
		return Check{Name: "pull permissions", OK: true, Info: info}, true
	}
	c := Check{Name: "pull permissions", Info: "pulling " + pick.Output + " failed: " + res.Reason}
	switch a := pullhint.MissingAction(res.Reason); {
	case a != "":
		c.Fix = pullhint.PermissionFix(a)
	case strings.Contains(res.Reason, "ecr-ptc login"):
		c.Fix = "run `ecr-ptc login` again"
	default:
		c.Fix = "go through the checks in the message; if they hold, the role needs ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchImportUpstreamImage and ecr:CreateRepository on the cache repositories (`ecr-ptc iam-policy --for ci`)"
	}
	return c, true
}
