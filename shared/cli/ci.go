package cli

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// Door is a CI platform's native language: GitHub Actions, GitLab CI, CodeBuild. The packages actions/,
// gitlab/ and codebuild/ implement it and the main hands them to the CLI, so the command line never
// imports a platform and the platforms never reimplement the flow.
type Door interface {
	// Name is what --ci takes: "github", "gitlab", "codebuild".
	Name() string
	// Detect reports whether the process runs on this platform.
	Detect(getenv func(string) string) bool
	// Mask hides a secret in the platform's log before anything could print it.
	Mask(secret string)
	// Publish speaks the platform's language once setup has finished: outputs, exported variables,
	// summaries and report files.
	Publish(ctx context.Context, p Publication) error
}

// Publication is what setup hands a Door.
type Publication struct {
	Report *report.Report
	// Exports are the non-secret KEY=VALUE values later steps need (ECR_PTC_REGISTRY, ECR_PTC_RULES,
	// totals, and what the frontend needs).
	Exports []string
	// ReportJSON is the path of the JSON report, when one was written.
	ReportJSON string
	// Getenv is the process environment, for the platform's files (GITHUB_OUTPUT, ...).
	Getenv func(string) string
}

// door picks the Door for --ci: a name, "auto" (detect), or "none".
func door(env Env, name string) (Door, error) {
	switch name {
	case "none", "":
		return nil, nil
	case "auto":
		for _, d := range env.Doors {
			if d.Detect(env.getenv) {
				return d, nil
			}
		}
		return nil, nil
	}
	for _, d := range env.Doors {
		if d.Name() == name {
			return d, nil
		}
	}
	return nil, usagef("--ci %q: this build knows %s", name, doorNames(env))
}

func doorNames(env Env) string {
	s := "none, auto"
	for _, d := range env.Doors {
		s += ", " + d.Name()
	}
	return s
}

// maskingProvider masks every credential it hands out before the SDK can use it anywhere.
type maskingProvider struct {
	aws.CredentialsProvider
	mask func(string)
}

func (m maskingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err == nil {
		m.mask(c.SecretAccessKey)
		m.mask(c.SessionToken)
	}
	return c, err
}

// withMasks makes cfg's credentials pass through d.Mask; the access key ID is not a secret.
func withMasks(cfg aws.Config, d Door) aws.Config {
	if d == nil || cfg.Credentials == nil {
		return cfg
	}
	cfg.Credentials = aws.NewCredentialsCache(maskingProvider{CredentialsProvider: cfg.Credentials, mask: func(s string) {
		if s != "" {
			d.Mask(s)
		}
	}})
	return cfg
}
