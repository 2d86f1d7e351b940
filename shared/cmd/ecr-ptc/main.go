// Command ecr-ptc points container builds at an Amazon ECR pull-through cache.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecr-ptc/ecr-ptc/actions"
	"github.com/ecr-ptc/ecr-ptc/codebuild"
	"github.com/ecr-ptc/ecr-ptc/gitlab"
	"github.com/ecr-ptc/ecr-ptc/shared/cli"
)

// Set by the Makefile with -ldflags "-X main.version=... -X main.commit=...".
var version, commit string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// GitHub reads workflow commands (::add-mask::) from stdout; GitLab and CodeBuild log lines go to
	// stderr so that stdout stays the report (--json).
	doors := []cli.Door{actions.New(os.Getenv, os.Stdout), gitlab.New(os.Getenv, os.Stderr), codebuild.New(os.Getenv, os.Stderr)}
	code := cli.Main(ctx, cli.HelperArgs(os.Args[0], os.Args[1:]), cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ, Build: cli.Build{Version: version, Commit: commit}, Doors: doors})
	stop()
	os.Exit(code)
}
