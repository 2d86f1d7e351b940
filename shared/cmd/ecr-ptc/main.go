// Command ecr-ptc points container builds at an Amazon ECR pull-through cache.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ecr-ptc/ecr-ptc/actions"
	"github.com/ecr-ptc/ecr-ptc/codebuild"
	"github.com/ecr-ptc/ecr-ptc/gitlab"
	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/cli"
)

// Set by the Makefile with -ldflags "-X main.version=... -X main.commit=...".
var version, commit string

// graceAfterSignal is how long a command may take to stop on its own after SIGINT/SIGTERM: every
// command must end within a second, even one blocked where the context does not reach.
const graceAfterSignal = 800 * time.Millisecond

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel()
		time.Sleep(graceAfterSignal)
		fmt.Fprintf(os.Stderr, "ecr-ptc: stopped by %v.\n", s)
		code := 130
		if s == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
	// GitHub reads workflow commands (::add-mask::) from stdout; GitLab and CodeBuild log lines go to
	// stderr so that stdout stays the report (--json).
	platforms := []ciplatform.Platform{actions.New(os.Getenv, os.Stdout), gitlab.New(os.Getenv, os.Stderr), codebuild.New(os.Getenv, os.Stderr)}
	code := cli.Main(ctx, cli.HelperArgs(os.Args[0], os.Args[1:]), cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ, Build: cli.Build{Version: version, Commit: commit}, Platforms: platforms})
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
