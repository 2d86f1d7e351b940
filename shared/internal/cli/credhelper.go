package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/spf13/cobra"
)

// HelperProgram is the program Docker runs for a credHelpers entry naming "ecr-ptc".
const HelperProgram = "docker-credential-ecr-ptc"

// HelperArgs returns the arguments for Main: when the binary runs under the name Docker gives credential
// helpers (a link named docker-credential-ecr-ptc), its arguments go to the credential-helper command.
func HelperArgs(argv0 string, args []string) []string {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == HelperProgram {
		return append([]string{"credential-helper"}, args...)
	}
	return args
}

// notFound is the credential helpers' agreed answer for "no credentials here" (docker-credential-helpers'
// errCredentialsNotFound): Docker then pulls anonymously instead of failing.
const notFound = "credentials not found in native keychain"

const credentialHelperLong = `credential-helper is ecr-ptc as a Docker credential helper, the way amazon-ecr-credential-helper works:
Docker, BuildKit (buildctl, buildx) and other clients run "docker-credential-ecr-ptc get" with the
registry on stdin whenever they need a login, so no password is stored and a long build never outlives
its 12-hour token. Link the binary under that name on PATH and point config.json at it
('ecr-ptc login --helper' does both the config and the check):

  ln -s "$(command -v ecr-ptc)" /usr/local/bin/docker-credential-ecr-ptc

get answers for private ECR registry hosts and for $ECR_PTC_REGISTRY (the sandbox), with the credential
sources every command uses (--role-arn or $ECR_PTC_ROLE_ARN with the CI job's OIDC token, else the
default chain). Tokens are cached in --token-cache ($ECR_PTC_TOKEN_CACHE, else $RUNNER_TEMP/ecr-ptc-tokens, else
$XDG_CACHE_HOME/ecr-ptc/tokens or ~/.cache/ecr-ptc/tokens; yours, mode 0700) and renewed at half-life. list names $ECR_PTC_REGISTRY.
store and erase are refused: 'docker login' and 'docker logout' have nothing to store.`

// credHelperFlags are the flags of credential-helper.
type credHelperFlags struct {
	af         awsFlags
	tokenCache string
}

func newCredentialHelperCmd(env Env) *cobra.Command {
	var f credHelperFlags
	cmd := &cobra.Command{
		Use:   "credential-helper get|list|store|erase",
		Short: "Answer Docker's credential-helper protocol with ECR tokens fetched on demand",
		Long:  credentialHelperLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "get":
				return f.get(cmd.Context(), env)
			case "list":
				out := map[string]string{}
				if h := serverHost(env.getenv("ECR_PTC_REGISTRY")); h != "" {
					out[h] = "AWS"
				}
				return json.NewEncoder(env.Stdout).Encode(out)
			case "store", "erase":
				_, _ = io.Copy(io.Discard, io.LimitReader(env.Stdin, 1<<16))
				return helperFail(env, "ecr-ptc gets ECR tokens on demand and stores no credentials: "+args[0]+" is not supported")
			default:
				return usagef("credential-helper: unknown action %q (want get, list, store or erase)", args[0])
			}
		},
	}
	f.af.add(cmd)
	cmd.Flags().StringVar(&f.tokenCache, "token-cache", "", "directory caching tokens between calls (default $ECR_PTC_TOKEN_CACHE, $RUNNER_TEMP/ecr-ptc-tokens, or ~/.cache/ecr-ptc/tokens)")
	return cmd
}

// helperFail answers the protocol's way: a one-line error on stdout, exit 1.
func helperFail(env Env, msg string) error {
	fmt.Fprintln(env.Stdout, msg)
	return exitError{ExitFailure}
}

// get answers one "get": the login for the server URL on stdin, or notFound.
func (f *credHelperFlags) get(ctx context.Context, env Env) error {
	data, err := io.ReadAll(io.LimitReader(env.Stdin, 4096))
	if err != nil {
		return helperFail(env, "cannot read the server URL from stdin")
	}
	server := strings.TrimSpace(string(data))
	host := serverHost(server)
	if host == "" {
		return helperFail(env, notFound)
	}
	var regs []string
	name, _, _ := strings.Cut(host, ":")
	switch {
	case isECRHost(name):
		regs = []string{host}
	case host == serverHost(env.getenv("ECR_PTC_REGISTRY")):
		// The caller's own registry under another name (the sandbox on loopback).
	default:
		return helperFail(env, notFound)
	}
	// Nothing but the token cache is written: no config.json, no $REGISTRY_AUTH_FILE.
	quiet := env
	quiet.Getenv = func(k string) string {
		if k == "REGISTRY_AUTH_FILE" {
			return ""
		}
		return env.getenv(k)
	}
	lf := loginFlags{registries: regs, noDocker: true, ci: "none", tokenCache: cmp.Or(f.tokenCache, helperCacheDir(env))}
	cfg, src, err := f.af.loadAWS(ctx, quiet)
	if err != nil {
		return helperFail(env, "ecr-ptc: "+sentence(err))
	}
	res, err := lf.login(ctx, quiet, cfg, src, loginRun{})
	if err != nil {
		return helperFail(env, "ecr-ptc: "+sentence(err))
	}
	for _, a := range res.Registries {
		if a.Host == host {
			return json.NewEncoder(env.Stdout).Encode(map[string]string{"ServerURL": server, "Username": a.Username, "Secret": a.Password})
		}
	}
	return helperFail(env, notFound)
}

// serverHost is the registry host[:port] of a server URL as clients pass it: "host", "https://host/v2/".
func serverHost(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

func isECRHost(name string) bool {
	_, ok := imageref.ParseECRHost(name)
	return ok
}

// helperCacheDir is where a credential helper, which Docker runs without flags, caches tokens: a
// directory of its own, since the token cache must be ours alone with mode 0700 ($RUNNER_TEMP/ecr-ptc is the
// action's work directory, and ~/.cache/ecr-ptc holds other caches).
func helperCacheDir(env Env) string {
	if d := jobTokenDir(env, ""); d != "" {
		return d
	}
	switch {
	case env.getenv("XDG_CACHE_HOME") != "":
		return filepath.Join(env.getenv("XDG_CACHE_HOME"), "ecr-ptc", "tokens")
	case env.getenv("HOME") != "":
		return filepath.Join(env.getenv("HOME"), ".cache", "ecr-ptc", "tokens")
	}
	return ""
}
