package sandbox

// The Go API for tests that embed the sandbox — this repository's and users' own: what it has handed
// out (for leak scans), the seeded images, and tags moved in process. No command reaches these; the dead-code
// check in `make lint` allows this file and no other in the package.

import (
	"time"
)

// Secrets lists every secret the sandbox has handed out so far — the static secret key, the STS
// sessions' secret keys and session tokens, the ECR passwords, the OIDC tokens it signed and the GitHub
// request token — so that tests can check that none of them reaches an output.
func (s *Sandbox) Secrets() []string {
	out := []string{s.SecretAccessKey, s.GitHubRequestToken}
	s.d.creds.mu.Lock()
	for _, sess := range s.d.creds.sessions {
		out = append(out, sess.Secret, sess.Token)
	}
	s.d.creds.mu.Unlock()
	s.d.store.mu.Lock()
	for pw := range s.d.store.tokens {
		out = append(out, pw)
	}
	s.d.store.mu.Unlock()
	s.d.oidc.mintedMu.Lock()
	out = append(out, s.d.oidc.minted...)
	s.d.oidc.mintedMu.Unlock()
	return out
}

// SeededImages lists the images the upstream stand-ins hold at start.
func SeededImages() []SeededImage { return append([]SeededImage(nil), seededImages...) }

var defaultPlatforms = []string{"linux/amd64", "linux/arm64/v8"}

// seedEpoch is every seeded timestamp, so that content (and digests) never depend on the clock.
var seedEpoch = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// seedSpec is how a tag was seeded; MoveTag rebuilds it with the next generation.
type seedSpec struct {
	platforms  []string
	extra      [][]byte
	oci        bool
	generation int
}

// MoveTag pushes new content under an existing upstream tag — as when an upstream publishes a new
// alpine:3.20 — and returns the tag's new digest. The cache keeps serving the old digest until the tag's
// refresh window passes (reference: "Tags are re-checked upstream at most about once every 24 hours: a
// moved tag can be served stale for a day").
func (s *Sandbox) MoveTag(upstream, repo, tag string) (newDigest string, err error) {
	u, err := s.d.upstreamByName(upstream)
	if err != nil {
		return "", err
	}
	u.mu.Lock()
	spec, ok := u.seeds[repo+":"+tag]
	u.mu.Unlock()
	if !ok {
		spec = seedSpec{platforms: defaultPlatforms, oci: u.name != "quay"}
	}
	spec.generation++
	return u.seed(repo, tag, spec)
}
