package cli

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/spf13/cobra"
)

// helperFlags are login's --helper mode: credHelpers entries instead of passwords.
type helperFlags struct {
	helper  bool
	replace bool
}

func (h *helperFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&h.helper, "helper", false, "write credHelpers entries pointing at docker-credential-ecr-ptc instead of passwords (tokens are then fetched on demand)")
	cmd.Flags().BoolVar(&h.replace, "replace-helper", false, "with --helper: replace a credHelpers entry that names another helper for the same registry")
}

// helperResult is what login --helper did, without secrets.
type helperResult struct {
	Registries   []string `json:"registries"`
	DockerConfig string   `json:"dockerConfig,omitempty"`
	AuthFile     string   `json:"authFile,omitempty"`
	Removed      []string `json:"removedPasswords,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
}

// run logs in once (which proves the credentials work and fills the token cache), then writes
// credHelpers entries for the registries into the Docker config and the containers auth file.
func (h *helperFlags) run(ctx context.Context, env Env, lf loginFlags, cfg aws.Config, src credSource, run loginRun, asJSON bool) error {
	dockerPath := ""
	if !lf.noDocker {
		dockerPath = authfile.DockerConfigPath(cmp.Or(lf.dockerConfig, env.getenv("DOCKER_CONFIG")), env.getenv("HOME"))
	}
	authPath := cmp.Or(lf.authFile, env.getenv("REGISTRY_AUTH_FILE"))
	for _, p := range []string{dockerPath, authPath} {
		if p != "" {
			if err := authfile.Check(p); err != nil {
				return err
			}
		}
	}
	quiet := env
	quiet.Getenv = func(k string) string {
		if k == "REGISTRY_AUTH_FILE" {
			return ""
		}
		return env.getenv(k)
	}
	lf.noDocker, lf.authFile = true, ""
	if lf.tokenCache == "" {
		lf.tokenCache = helperCacheDir(env)
	}
	login, err := lf.login(ctx, quiet, cfg, src, run)
	if err != nil {
		return err
	}
	res, err := helperRegistries(login.Registries)
	if err != nil {
		return err
	}
	if err := h.writeHelpers(&res, authPath, dockerPath); err != nil {
		return err
	}
	if !onPath(env.getenv("PATH"), HelperProgram) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s is not on PATH, so clients cannot run it: ln -s \"$(command -v ecr-ptc)\" /usr/local/bin/%s", HelperProgram, HelperProgram))
	}
	return printHelperResult(env, res, asJSON)
}

// writeHelpers points the auth file, then the Docker config, at the helper for res.Registries. The
// auth file goes first: Docker's config is the one a failure must not leave half-done.
func (h *helperFlags) writeHelpers(res *helperResult, authPath, dockerPath string) error {
	for _, p := range []string{authPath, dockerPath} {
		if p == "" {
			continue
		}
		w, err := authfile.WriteHelpers(p, res.Registries, "ecr-ptc", h.replace)
		if err != nil {
			return err
		}
		res.Removed = append(res.Removed, w.Removed...)
		res.Warnings = append(res.Warnings, w.Warnings...)
		if p == dockerPath {
			res.DockerConfig = p
		} else {
			res.AuthFile = p
		}
	}
	return nil
}

// helperRegistries are the private registries of the logins the helper answers for.
func helperRegistries(auths []ecrx.Auth) (helperResult, error) {
	var res helperResult
	for _, a := range auths {
		switch {
		case a.Host == ecrx.PublicHost:
			res.Warnings = append(res.Warnings, "public.ecr.aws is left out: the helper answers for private registries only (pulls from it stay anonymous)")
			continue
		case !isECRHost(hostName(a.Host)):
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s is not an ECR host name: docker-credential-ecr-ptc answers for it only where $ECR_PTC_REGISTRY names it", a.Host))
		}
		if !slices.Contains(res.Registries, a.Host) {
			res.Registries = append(res.Registries, a.Host)
		}
	}
	if len(res.Registries) == 0 {
		return res, fmt.Errorf("no private registry to point at the helper")
	}
	return res, nil
}

func printHelperResult(env Env, res helperResult, asJSON bool) error {
	if asJSON {
		return writeJSON(env.Stdout, res)
	}
	for _, r := range res.Registries {
		fmt.Fprintf(env.Stdout, "%s: tokens from %s on demand (no password stored)\n", r, HelperProgram)
	}
	for _, p := range []string{res.DockerConfig, res.AuthFile} {
		if p != "" {
			fmt.Fprintf(env.Stderr, "wrote credHelpers to %s\n", p)
		}
	}
	for _, r := range res.Removed {
		fmt.Fprintf(env.Stderr, "removed the stored password for %s\n", r)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(env.Stderr, "warning: "+w)
	}
	return nil
}

func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// onPath reports whether an executable file named name is in one of the PATH directories.
func onPath(path, name string) bool {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}
