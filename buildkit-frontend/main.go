// Command ecr-ptc-frontend is the ecr-ptc BuildKit frontend: `# syntax=<this image>` (or the
// BUILDKIT_SYNTAX build arg) makes a build pull every base image through the ECR pull-through cache.
// BuildKit runs it inside the frontend image; see README.md.
package main

import (
	"os"

	"github.com/ecr-ptc/ecr-ptc/shared/frontend"
	"github.com/moby/buildkit/util/appcontext"
)

func main() { os.Exit(frontend.Main(appcontext.Context(), os.Stderr)) }
