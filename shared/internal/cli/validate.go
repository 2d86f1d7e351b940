package cli

import (
	"context"
	"regexp"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/ciplatform"

	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/spf13/cobra"
)

// roleARNPattern is an IAM role ARN in any partition: a line break or a space in it would otherwise
// reach STS and come back as a misleading error.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)

// validateFlags checks the values shared by several commands before any command runs, so that a
// nonsensical value is one sentence and exit 2 instead of being accepted silently or failing late.
func validateFlags(cmd *cobra.Command, _ []string) error {
	fl := cmd.Flags()
	if f := fl.Lookup("concurrency"); f != nil {
		if n, err := fl.GetInt("concurrency"); err == nil && (n < 1 || n > 256) {
			return usagef("--concurrency %d: use 1 to 256", n)
		}
	}
	if f := fl.Lookup("aws-timeout"); f != nil && f.Changed {
		if d, err := fl.GetDuration("aws-timeout"); err == nil && d <= 0 {
			return usagef("--aws-timeout %v: use a positive duration such as 30s", d)
		}
	}
	if f := fl.Lookup("role-duration"); f != nil && f.Changed {
		// STS: DurationSeconds 900 up to 43200 (the role's MaxSessionDuration).
		if d, err := fl.GetDuration("role-duration"); err == nil && (d < 15*time.Minute || d > 12*time.Hour) {
			return usagef("--role-duration %v: STS takes 15m to 12h", d)
		}
	}
	if f := fl.Lookup("role-arn"); f != nil && f.Value.String() != "" {
		if arn := f.Value.String(); !roleARNPattern.MatchString(arn) {
			return usagef("--role-arn %q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", clipArg(arn))
		}
	}
	for _, name := range []string{"rate-window", "tag-refresh", "upstream-latency"} {
		if f := fl.Lookup(name); f != nil && f.Changed {
			if d, err := fl.GetDuration(name); err == nil && d < 0 {
				return usagef("--%s %v: use a duration of 0 or more", name, d)
			}
		}
	}
	if fl.Lookup("registry") != nil {
		if reg, err := fl.GetString("registry"); err == nil && reg != "" {
			if err := validRegistry("--registry", reg); err != nil {
				return err
			}
		}
	}
	return nil
}

// validRegistry checks a cache registry host (a flag or $ECR_PTC_REGISTRY) with the one host check, so
// that nothing but a host reaches a Dockerfile, a TOML file or a CI file.
func validRegistry(what, reg string) error {
	n := mapping.NormalizeRegistry(reg)
	if err := imageref.ValidHost(n); err != nil {
		return usagef("%s: %v", what, err)
	}
	return nil
}

// checkRuleUpstreams refuses --rule upstreams an ECR pull-through cache rule cannot have: a known
// upstream, an Azure registry or another private ECR registry only (a loopback registry is allowed for
// the sandbox and local tests).
func checkRuleUpstreams(set rules.Set) error {
	for _, r := range set.Rules {
		if r.UpstreamRegistry != "" {
			continue
		}
		host := r.UpstreamRegistryURL
		if err := imageref.ValidHost(host); err != nil {
			return usagef("--rule: upstream: %v", err)
		}
		if imageref.IsLoopbackHost(host) {
			continue
		}
		return usagef("--rule: %s is not an upstream an ECR pull-through cache rule can have (Docker Hub, ECR Public, Quay, registry.k8s.io, GHCR, ACR, GitLab, Chainguard or a private ECR registry)", clipArg(host))
	}
	return nil
}

// maskDoor is the ciplatform.Platform that masks secrets in the log: the command's own, else the CI platform this
// runs on (warm, lock and doctor have no --ci, and their STS credentials must be masked too).
func maskDoor(env Env, d ciplatform.Platform) ciplatform.Platform {
	if d != nil {
		return d
	}
	d, _ = door(env, "auto")
	return d
}

// maskedToken masks each OIDC token as soon as it is fetched: a token in the log could be replayed
// against STS until it expires.
func maskedToken(env Env, tok awscreds.TokenFunc) awscreds.TokenFunc {
	return func(ctx context.Context) (string, error) {
		t, err := tok(ctx)
		if err == nil && t != "" {
			if d := maskDoor(env, nil); d != nil {
				d.Mask(t)
			}
		}
		return t, err
	}
}

// maskAuths masks the ECR passwords of a login that does not go through `login` (warm, lock, doctor),
// before anything could print them.
func maskAuths(env Env, d ciplatform.Platform) func([]ecrx.Auth, error) ([]ecrx.Auth, error) {
	return func(auths []ecrx.Auth, err error) ([]ecrx.Auth, error) {
		if d := maskDoor(env, d); d != nil {
			for _, a := range auths {
				if a.Password != "" {
					d.Mask(a.Password)
				}
			}
		}
		return auths, err
	}
}
