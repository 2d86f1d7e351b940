// Command release builds a release's images from GoReleaser's dist/ and pins a release into the doors
// (docs/RELEASING.md).
package main

import (
	"context"
	"os"

	"github.com/ecr-ptc/ecr-ptc/shared/internal/release"
)

func main() {
	os.Exit(release.Main(context.Background(), os.Args[1:], release.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
