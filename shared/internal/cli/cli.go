// Package cli is the ecr-ptc command line, the step binary that CodeBuild, GitLab CI and the GitHub Action
// run. It is a front door: the only place besides mains that reads the environment and prints, and it
// does both through the Env it is given, so tests drive it without a process. It knows CI platforms only
// through the ciplatform.Platforms in its Env (the main passes actions/, gitlab/ and codebuild/), and it is
// internal: not an API, and the doors do not import it.
//
// Each command is a flags struct (flags only, registered on the command) and a short RunE that checks
// the flags, turns flags and variables into values (AWS configuration, credential source, CI platform,
// the Dockerfiles scanned), calls one function of shared/internal/pipeline, where the use cases live
// over a pipeline.Session, and prints what comes back.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"

	clog "github.com/containerd/log"
	"github.com/spf13/cobra"
)

// Exit codes: scripts rely on them.
const (
	ExitOK      = 0
	ExitFailure = 1 // an input was invalid or an operation failed
	ExitUsage   = 2 // the command line itself was wrong
)

// Build identifies the binary; the Makefile sets the values with -ldflags.
type Build struct {
	Version string
	Commit  string
}

// Env is everything the commands take from the process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Environ        func() []string // the whole environment, for commands ecr-ptc runs
	Build          Build
	Platforms      []ciplatform.Platform // the CI platforms this binary speaks (see ci.go)
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// usageError marks errors in the command line itself (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code for a failure already reported to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	// containerd's registry client logs every 404 and 429 at info level; ecr-ptc reports outcomes itself.
	_ = clog.SetLevel("warn")
	env = guardCommands(env)
	root := newRoot(env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(env.Stderr, "ecr-ptc: "+sentence(err))
	var ue usageError
	var pe pipeline.UsageError
	if errors.As(err, &ue) || errors.As(err, &pe) || isCobraUsage(err) {
		fmt.Fprintln(env.Stderr, "Run 'ecr-ptc --help' for usage.")
		return ExitUsage
	}
	return ExitFailure
}

// isCobraUsage recognises cobra's own argument errors, which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sentence makes an error message read as one sentence.
func sentence(err error) string {
	s := strings.TrimSpace(err.Error())
	if s == "" {
		return s
	}
	// cobra suggests on extra lines ("Did you mean this?\n\tsetup"): keep it one line.
	if before, after, ok := strings.Cut(s, "Did you mean this?"); ok {
		s = strings.TrimSpace(before) + "; did you mean " + strings.Join(strings.Fields(after), " or ") + "?"
	}
	s = printable(s)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "`") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}

func versionString(b Build) string {
	v, c := b.Version, b.Commit
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("ecr-ptc %s (commit %s, %s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "ecr-ptc",
		Short: "Pull every base image through the AWS ECR pull-through cache",
		Long: `ecr-ptc points container builds at an Amazon ECR pull-through cache instead of Docker Hub and other
public registries: no more 429 Too Many Requests, faster pulls, and one set of base images for every
environment.`,
		Version:       versionString(env.Build),
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare "ecr-ptc" prints help rather than failing.
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		// Shared flag values are checked once, before any command changes anything.
		PersistentPreRunE: validateFlags,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newMapCmd(env),
		newScanCmd(env),
		newRewriteCmd(env),
		newLoginCmd(env),
		newRulesCmd(env),
		newSetupCmd(env),
		newReportCmd(env),
		newWarmCmd(env),
		newLockCmd(env),
		newDoctorCmd(env),
		newIAMPolicyCmd(env),
		newSandboxCmd(env),
		newMirrorConfigCmd(env),
		newCredentialHelperCmd(env),
		newVersionCmd(env),
		newStaleCmd(env), newRefreshCmd(env), newCacheCmd(env), // stale.go, refresh.go, cache.go
	)
	return root
}

func newVersionCmd(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(env.Stdout, versionString(env.Build))
			return err
		},
	}
}
