// Command mkimage packages the frontend's static binaries as a multi-platform image (an OCI layout
// tarball) and pushes it, without Docker.
package main

import (
	"context"
	"os"

	"github.com/ecr-ptc/ecr-ptc/shared/frontendimage"
)

func main() {
	os.Exit(frontendimage.Main(context.Background(), os.Args[1:], frontendimage.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}
