package frontend_test

// The released frontend image: the snapshot's OCI layout (dist/, `make release-snapshot`) published on the
// ECR Public stand-in, as the release workflow publishes it on public.ecr.aws, then used as `# syntax=`
// through the cache on a real buildkitd: first by tag (which fills the cache), then pinned by digest as the
// doors pin it. A separate file: the harness and the other end-to-end cases belong to e2e_test.go.

import (
	"context"
	"os"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/citest"
	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
)

func TestE2EReleasedFrontendImage(t *testing.T) {
	snap := citest.SnapshotDist(t)
	w := newWorld(t)
	f, err := os.Open(snap.Images["frontend"])
	if err != nil {
		t.Fatal(err)
	}
	idx, cleanup, err := frontendimage.ReadLayoutTar(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if err := frontendimage.Push(context.Background(), idx, w.sb.Upstreams["ecr-public"]+"/ecr-ptc/frontend:v"+snap.Version, nil); err != nil {
		t.Fatal(err)
	}
	digest, _ := idx.Digest()
	byTag := ecrHost + "/ecr-public/ecr-ptc/frontend:v" + snap.Version
	dockerfile := "FROM alpine:3.20\nCOPY --from=ghcr.io/tini-org/tini:v0.19.0 /etc/sandbox-image /tini\n"
	for _, syntax := range []string{byTag, byTag + "@" + digest.String()} {
		t.Run(syntax[len(ecrHost):], func(t *testing.T) {
			w.resetCounters()
			r := w.build(build{dockerfile: "# syntax=" + syntax + "\n" + dockerfile})
			ok(t, r)
			if r.report.Registry != ecrHost {
				t.Errorf("registry %q, want the frontend's own %s", r.report.Registry, ecrHost)
			}
			cached(t, image(t, r, "docker.io/library/alpine:3.20", ""), ecrHost+"/docker-hub/library/alpine:3.20@")
			cached(t, image(t, r, "ghcr.io/tini-org/tini:v0.19.0", ""), ecrHost+"/github/tini-org/tini:v0.19.0@")
			fileHas(t, r, "tini", "ghcr.io/tini-org/tini:v0.19.0")
			w.noDirectPulls(t)
		})
	}
}
