// Package clients holds no code: its tests prove ecr-ptc with the third-party clients users run —
// Debian's docker.io 20.10 and buildctl against buildkitd with the credential helper, containerd 1.6's
// ctr with the node mirror files, buildah with a rewritten Dockerfile — each daemon on private paths,
// started and stopped by the test. They live apart from shared/internal/cli so that their minutes of daemons run
// in parallel with the other packages' tests.
package clients
