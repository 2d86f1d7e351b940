package cli

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"
	"github.com/ecr-ptc/ecr-ptc/shared/internal/pipeline"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/spf13/cobra"
)

// loginFlags choose which registries to log in to and where the logins go.
type loginFlags struct {
	registries   []string
	dockerConfig string
	noDocker     bool
	authFile     string
	tokenCache   string
	ci           string
}

// loginRun is how one login runs, beside the flags.
type loginRun struct {
	door  ciplatform.Platform // the platform --ci names; masks the passwords
	fresh bool                // skip the token cache: the registry refused the cached token
	// aliases are more registry hosts to log in to under the host given (the cache registry's FIPS or
	// dual-stack host, from setup's --registry).
	aliases []string
}

func (f *loginFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.registries, "registries", nil, "registries to log in to: account IDs, registry hosts or public.ecr.aws, comma-separated (default: the caller's account in --region)")
	fl.StringVar(&f.dockerConfig, "docker-config", "", "Docker config directory to write (default $DOCKER_CONFIG or ~/.docker)")
	fl.BoolVar(&f.noDocker, "no-docker-config", false, "do not write the Docker config")
	fl.StringVar(&f.authFile, "auth-file", "", "also write this containers auth file for podman/buildah (default $REGISTRY_AUTH_FILE when set)")
	fl.StringVar(&f.ci, "ci", "auto", "CI platform whose log masks secrets and which gets outputs: auto, none, github, gitlab, codebuild")
	fl.StringVar(&f.tokenCache, "token-cache", "", "directory caching login tokens between steps of one job (default $ECR_PTC_TOKEN_CACHE or $RUNNER_TEMP/ecr-ptc-tokens; it must be yours with mode 0700)")
}

// loginResult is what login did, without secrets.
type loginResult struct {
	Registries   []ecrx.Auth `json:"registries"`
	DockerConfig string      `json:"dockerConfig,omitempty"`
	AuthFile     string      `json:"authFile,omitempty"`
	Cached       bool        `json:"cached"`
	Warnings     []string    `json:"warnings,omitempty"`
}

// cacheRegistry picks the cache registry: --registry, $ECR_PTC_REGISTRY, else one of the logins'
// (pipeline.CacheRegistry).
func cacheRegistry(explicit string, env Env, auths []ecrx.Auth, region string) string {
	return pipeline.CacheRegistry(namedRegistry(explicit, env), auths, region)
}

// namedRegistry is the cache registry the user named: --registry, else $ECR_PTC_REGISTRY.
func namedRegistry(flag string, env Env) string { return cmp.Or(flag, env.getenv("ECR_PTC_REGISTRY")) }

// regionRequest is one GetAuthorizationToken call: a region and the accounts in it, or ECR Public.
type regionRequest struct {
	region   string
	accounts []string
	public   bool
}

// plan groups --registries by region; hosts carry their region, account IDs use the default one.
func (f *loginFlags) plan(defaultRegion string) ([]regionRequest, error) {
	byRegion := map[string][]string{}
	var public []regionRequest
	for _, r := range f.registries {
		r = strings.TrimSpace(r)
		switch {
		case r == "":
		case r == ecrx.PublicHost || r == "ecr-public":
			if len(public) == 0 {
				public = append(public, regionRequest{region: "us-east-1", public: true})
			}
		case len(r) == 12 && strings.Trim(r, "0123456789") == "":
			byRegion[defaultRegion] = append(byRegion[defaultRegion], r)
		default:
			reg, ok := imageref.ParseECRHost(strings.TrimPrefix(strings.TrimPrefix(r, "https://"), "http://"))
			if !ok {
				return nil, usagef("--registries %q is neither a 12-digit account ID nor an ECR registry host", r)
			}
			byRegion[reg.Region] = append(byRegion[reg.Region], reg.AccountID)
		}
	}
	if len(byRegion) == 0 {
		// No private registry named: the caller's own (ECR Public alone is never the cache).
		return append(public, regionRequest{region: defaultRegion}), nil
	}
	out := public
	for region, accts := range byRegion {
		out = append(out, regionRequest{region: region, accounts: accts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].region < out[j].region })
	return out, nil
}

// login gets (or reuses) the tokens and writes the auth files.
func (f *loginFlags) login(ctx context.Context, env Env, cfg aws.Config, src credSource, run loginRun) (loginResult, error) {
	var res loginResult
	if err := f.checkDestinations(env); err != nil {
		return res, err
	}
	reqs, err := f.plan(cfg.Region)
	if err != nil {
		return res, err
	}
	cache := ecrx.TokenCache{Dir: jobTokenDir(env, f.tokenCache)}
	if cache.Dir != "" {
		if err := cache.CheckDir(); err != nil {
			return res, err
		}
	}
	// A cached token is reused only after the caller's own credentials have proved who it is
	// (GetCallerIdentity): the cache directory is a file system, not a credential, and a token planted
	// or left there by someone else must never stand in for a login.
	identity, account := "", ""
	if cache.Dir != "" && !run.fresh {
		if id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			identity, account = stableIdentity(aws.ToString(id.Arn)), aws.ToString(id.Account)
		}
	}
	for _, rq := range reqs {
		if err := f.loginTo(ctx, env, cfg, src, rq, cache, identity, account, &res); err != nil {
			return res, err
		}
	}
	res.Registries = withHostAliases(res.Registries, append(slices.Clone(f.registries), run.aliases...))
	if run.door != nil {
		for _, a := range res.Registries {
			run.door.Mask(a.Password)
		}
	}
	return res, f.writeLogins(env, &res)
}

// loginTo gets the tokens of one request, from the cache when the proven identity has them there.
func (f *loginFlags) loginTo(ctx context.Context, env Env, cfg aws.Config, src credSource, rq regionRequest, cache ecrx.TokenCache, identity, account string, res *loginResult) error {
	key := ecrx.Key(fmt.Sprint(env.getenv("AWS_ENDPOINT_URL_ECR"), "|", rq.region, "|", rq.public), identity, rq.accounts)
	if identity != "" {
		cached := func() bool {
			auths, ok := cache.GetFor(key, registryOf(rq, account, loopbackECR(env)))
			if ok {
				res.Registries, res.Cached = append(res.Registries, auths...), true
			}
			return ok
		}
		if cached() {
			return nil
		}
		// One login per runner at a time: the others wait and take its token from the cache.
		if unlock := cache.Lock(ctx, key); unlock != nil {
			defer unlock()
			if cached() {
				return nil
			}
		}
	}
	var auths []ecrx.Auth
	if rq.public {
		a, err := ecrx.LoginPublic(ctx, ecrpublic.NewFromConfig(cfg, func(o *ecrpublic.Options) { o.Region = rq.region }))
		if err != nil {
			return credentialsError(err, src)
		}
		auths = []ecrx.Auth{a}
	} else {
		client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.Region = rq.region })
		var err error
		if auths, err = ecrx.Login(ctx, client, rq.accounts...); err != nil {
			return credentialsError(err, src)
		}
	}
	if identity == "" {
		// Unproved identity (the STS call failed): nothing is cached under it.
	} else if err := cache.Put(key, auths); err != nil {
		res.Warnings = append(res.Warnings, "cannot cache the login token: "+err.Error())
	}
	res.Registries = append(res.Registries, auths...)
	return nil
}

// writeLogins writes the Docker config and the containers auth file, checking both before either.
func (f *loginFlags) writeLogins(env Env, res *loginResult) error {
	creds := make([]authfile.Credential, len(res.Registries))
	for i, a := range res.Registries {
		creds[i] = authfile.Credential{Host: a.Host, Username: a.Username, Password: a.Password}
	}
	dockerPath := ""
	if !f.noDocker {
		dockerPath = authfile.DockerConfigPath(cmp.Or(f.dockerConfig, env.getenv("DOCKER_CONFIG")), env.getenv("HOME"))
	}
	authPath := cmp.Or(f.authFile, env.getenv("REGISTRY_AUTH_FILE"))
	// Both files are checked before either is written: a bad one must not leave the other half-done.
	for _, p := range []string{dockerPath, authPath} {
		if p != "" {
			if err := authfile.Check(p); err != nil {
				return err
			}
		}
	}
	if dockerPath != "" {
		w, err := authfile.Write(dockerPath, creds)
		if err != nil {
			return err
		}
		res.DockerConfig, res.Warnings = dockerPath, append(res.Warnings, w.Warnings...)
	}
	if authPath != "" {
		if _, err := authfile.Write(authPath, creds); err != nil {
			return err
		}
		res.AuthFile = authPath
	}
	return nil
}

// stableIdentity is the caller's ARN without an assumed role's session name, which may differ from
// step to step of one job while the role, and so its registries, stay the same.
func stableIdentity(arn string) string {
	if i := strings.Index(arn, ":assumed-role/"); i >= 0 {
		rest := arn[i+len(":assumed-role/"):]
		if role, _, ok := strings.Cut(rest, "/"); ok {
			return arn[:i] + ":assumed-role/" + role
		}
	}
	return arn
}

// registryOf accepts a cached login only for a registry the request is for: ECR Public for a public
// request, else a private ECR host in the request's region of one of its accounts (the caller's own
// account when none was named). An emulated ECR on loopback (the sandbox) serves loopback registries.
func registryOf(rq regionRequest, callerAccount string, loopback bool) func(ecrx.Auth) bool {
	return func(a ecrx.Auth) bool {
		if loopback && imageref.IsLoopbackHost(a.Host) {
			return true
		}
		if rq.public {
			return a.Host == ecrx.PublicHost
		}
		reg, ok := imageref.ParseECRHost(a.Host)
		if !ok || reg.Region != rq.region {
			return false
		}
		if len(rq.accounts) == 0 {
			return reg.AccountID == callerAccount
		}
		for _, acct := range rq.accounts {
			if reg.AccountID == acct {
				return true
			}
		}
		return false
	}
}

// checkDestinations refuses, before any token is fetched, logins that have nowhere safe to go.
func (f *loginFlags) checkDestinations(env Env) error {
	if f.noDocker && f.dockerConfig != "" {
		return usagef("use --docker-config or --no-docker-config, not both")
	}
	// With neither set, ~/.docker resolves under the current directory: the password would sit in the
	// workspace, where COPY . . or an artifact upload picks it up.
	if !f.noDocker && f.dockerConfig == "" && env.getenv("DOCKER_CONFIG") == "" && env.getenv("HOME") == "" {
		return usagef("neither DOCKER_CONFIG nor HOME is set, and ecr-ptc never writes the ECR password under the current directory: set DOCKER_CONFIG or HOME, or pass --docker-config DIR or --no-docker-config")
	}
	return checkPathArgs("--docker-config", f.dockerConfig)
}

// loopbackECR reports whether the ECR endpoint is on this machine (the sandbox).
func loopbackECR(env Env) bool {
	u, err := url.Parse(env.getenv("AWS_ENDPOINT_URL_ECR"))
	return err == nil && u.Host != "" && imageref.IsLoopbackHost(u.Host)
}

const loginLong = `login calls ECR GetAuthorizationToken for each registry (accounts and regions; the caller's registry by
default) and merges the logins into the Docker config ($DOCKER_CONFIG/config.json, mode 0600, other
registries' entries untouched) and, with --auth-file or $REGISTRY_AUTH_FILE, a containers auth file.
Tokens last 12 hours; within one job they are cached (--token-cache) and reused until half-life.
Credentials come from the CI job's OIDC token when --role-arn is given, else from the default chain.`

func newLoginCmd(env Env) *cobra.Command {
	var (
		af     awsFlags
		lf     loginFlags
		hf     helperFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "login [--registries ACCOUNT|HOST,...] [--docker-config DIR] [--auth-file FILE]",
		Short: "Log in to ECR registries for Docker, BuildKit, podman and buildah",
		Long:  loginLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, err := door(env, lf.ci)
			if err != nil {
				return err
			}
			cfg, src, err := af.loadAWS(ctx, env)
			if err != nil {
				return err
			}
			if hf.helper {
				return hf.run(ctx, env, lf, withMasks(cfg, d), src, loginRun{door: d}, asJSON)
			}
			res, err := lf.login(ctx, env, withMasks(cfg, d), src, loginRun{door: d})
			if err != nil {
				return err
			}
			return printLogin(env, res, asJSON)
		},
	}
	af.add(cmd)
	lf.add(cmd)
	hf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the registries and files as JSON (never the password)")
	return cmd
}

// printLogin says where the logins went (never the password), or prints them as JSON.
func printLogin(env Env, res loginResult, asJSON bool) error {
	if asJSON {
		return writeJSON(env.Stdout, res)
	}
	for _, a := range res.Registries {
		fmt.Fprintf(env.Stdout, "Logged in to %s (token valid until %s)\n", a.Host, a.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if res.DockerConfig != "" {
		fmt.Fprintf(env.Stderr, "wrote %s\n", res.DockerConfig)
	}
	if res.AuthFile != "" {
		fmt.Fprintf(env.Stderr, "wrote %s\n", res.AuthFile)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(env.Stderr, "warning: "+w)
	}
	return nil
}
