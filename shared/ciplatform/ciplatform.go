// Package ciplatform is what ecr-ptc needs from a CI platform, as one interface: whether the job runs
// on it, how to mask a secret, where its OIDC tokens come from, how to name an AWS session after the
// job, where the job's temporary directory is, and how to publish the cache report in the platform's
// language. The doors (actions/, gitlab/, codebuild/) implement it, one package per platform; the
// command line holds a list of Platforms and never names a platform's variables itself.
package ciplatform

import (
	"context"
	"fmt"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// Getenv is the process environment, injected so that tests and the main choose it.
type Getenv = func(string) string

// Platform is one CI platform.
type Platform interface {
	// Name is what --ci takes: "github", "gitlab", "codebuild".
	Name() string
	// Detect reports whether the process runs on this platform.
	Detect(getenv Getenv) bool
	// Mask hides a secret in the platform's log before anything could print it.
	Mask(secret string)
	// IDToken is the platform's OIDC token for req, or nil when this job has none.
	IDToken(getenv Getenv, req TokenRequest) *IDToken
	// SessionName names an AWS role session after the job, for CloudTrail; "" outside the platform.
	SessionName(getenv Getenv) string
	// TempDir is the job's own temporary directory, emptied after the job; "" when there is none.
	TempDir(getenv Getenv) string
	// Publish speaks the platform's language once setup has finished: outputs, exported variables,
	// summaries and report files.
	Publish(ctx context.Context, p Publication) error
}

// TokenRequest is what a web identity needs from the platform.
type TokenRequest struct {
	Audience string
	// Variable names the job variable holding a token the platform hands out as a variable (GitLab's
	// id_tokens).
	Variable string
	// HaveTokenFile: AWS_WEB_IDENTITY_TOKEN_FILE is set, and wins unless the platform's own token was
	// asked for explicitly.
	HaveTokenFile bool
}

// IDToken is a source of OIDC tokens.
type IDToken struct {
	// Fetch returns a token; it is called again for every attempt, since tokens are short-lived.
	Fetch func(ctx context.Context) (string, error)
	// Source says where tokens come from, for messages ("GitHub Actions OIDC").
	Source string
	// Kind is the machine-readable credential source ("github-oidc").
	Kind string
}

// Publication is what setup hands a Platform.
type Publication struct {
	Report *report.Report
	// Exports are the non-secret KEY=VALUE values later steps need (ECR_PTC_REGISTRY, ECR_PTC_RULES,
	// totals, and what the frontend needs).
	Exports []string
	// ReportJSON is the path of the JSON report, when one was written.
	ReportJSON string
	// Getenv is the process environment, for the platform's files (GITHUB_OUTPUT, ...).
	Getenv Getenv
}

// Find picks the Platform for --ci: a name, "auto" (the first that detects itself), or "none" (nil).
func Find(ps []Platform, getenv Getenv, name string) (Platform, error) {
	switch name {
	case "none", "":
		return nil, nil
	case "auto":
		return Detect(ps, getenv), nil
	}
	for _, p := range ps {
		if p.Name() == name {
			return p, nil
		}
	}
	names := []string{"none", "auto"}
	for _, p := range ps {
		names = append(names, p.Name())
	}
	return nil, fmt.Errorf("--ci %q: this build knows %s", name, strings.Join(names, ", "))
}

// Detect is the first Platform the process runs on, or nil.
func Detect(ps []Platform, getenv Getenv) Platform {
	for _, p := range ps {
		if p.Detect(getenv) {
			return p
		}
	}
	return nil
}

// SessionName is the first session name a platform gives, or "ecr-ptc".
func SessionName(ps []Platform, getenv Getenv) string {
	for _, p := range ps {
		if s := p.SessionName(getenv); s != "" {
			return s
		}
	}
	return "ecr-ptc"
}

// TempDir is the first job temporary directory a platform gives, or "".
func TempDir(ps []Platform, getenv Getenv) string {
	for _, p := range ps {
		if d := p.TempDir(getenv); d != "" {
			return d
		}
	}
	return ""
}

// IDTokenFor is the first platform token source for req, or nil.
func IDTokenFor(ps []Platform, getenv Getenv, req TokenRequest) *IDToken {
	for _, p := range ps {
		if t := p.IDToken(getenv, req); t != nil {
			return t
		}
	}
	return nil
}

// File is one report file a platform reads after the step.
type File struct {
	Path string
	Data []byte
	What string // "the dotenv report", for the error
}

// WriteFiles replaces each file atomically, creating its directory, so that no step ever reads half of
// one. Callers render every file before calling it: a bad value leaves none half-done.
func WriteFiles(files ...File) error {
	for _, f := range files {
		if err := atomicfile.WriteAll(f.Path, f.Data, 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %v", f.What, err)
		}
	}
	return nil
}

// Keys are the names of KEY=VALUE pairs, for the log line that lists what a file exports.
func Keys(kvs []string) []string {
	keys := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}

// Fallbacks are the images the build pulls from their public registry.
func Fallbacks(r *report.Report) []report.Image {
	var out []report.Image
	for _, im := range r.Images {
		if im.Outcome == report.Fallback {
			out = append(out, im)
		}
	}
	return out
}

// OrGetenv is g, or def when g is nil.
func OrGetenv(g, def Getenv) Getenv {
	if g == nil {
		return def
	}
	return g
}
