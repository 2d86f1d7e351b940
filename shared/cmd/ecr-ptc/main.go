// Command ecr-ptc points container builds at an Amazon ECR pull-through cache.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecr-ptc/ecr-ptc/shared/cli"
)

// Set by the Makefile with -ldflags "-X main.version=... -X main.commit=...".
var version, commit string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ, Build: cli.Build{Version: version, Commit: commit}})
	stop()
	os.Exit(code)
}
