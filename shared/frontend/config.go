package frontend

import (
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// The build args the frontend reads. They configure the frontend, not the Dockerfile, so they are taken
// out of the options before the Dockerfile frontend sees them.
const (
	ArgRegistry = "ECR_PTC_REGISTRY" // cache registry host[:port]
	ArgRules    = "ECR_PTC_RULES"    // UPSTREAM=PREFIX[,UPSTREAM=PREFIX...]
	ArgStrict   = "ECR_PTC_STRICT"   // fail instead of falling back
	ArgDisable  = "ECR_PTC_DISABLE"  // resolve every image as the stock frontend does
	ArgLock     = "ECR_PTC_LOCK"     // REF=DIGEST[,REF=DIGEST...]: the digest lock (`ecr-ptc lock`)
)

const (
	buildArgPrefix = "build-arg:"
	ownArgPrefix   = buildArgPrefix + "ECR_PTC_"
	keySource      = "source"  // the frontend image ref, as the build named it
	keyCmdline     = "cmdline" // set by BuildKit when it forwards to a frontend image
)

// Config is the frontend's configuration for one build.
type Config struct {
	Registry string    // cache registry host[:port]; empty when none is known
	Rules    rules.Set // the rules in use (rules.Defaults() unless ECR_PTC_RULES is given)
	// RulesGiven reports ECR_PTC_RULES; without it the prefixes are assumed, which a fallback says.
	RulesGiven bool
	Strict     bool
	Disabled   bool
	// Source is the frontend's own image ref; RegistryFromSource reports that Registry came from it.
	Source             string
	RegistryFromSource bool
	// Lock pins normalised references to digests (ECR_PTC_LOCK): a locked image is served at that
	// digest from the cache or the build fails — a lock never falls back to other bytes.
	Lock map[string]string
}

// ParseConfig reads the build args from the frontend options. A bad value is an error: a typo in
// ECR_PTC_RULES must not quietly send the build around the cache.
func ParseConfig(opts map[string]string) (Config, error) {
	cfg := Config{Rules: rules.Defaults(), Source: opts[keySource]}
	known := map[string]bool{ArgRegistry: true, ArgRules: true, ArgStrict: true, ArgDisable: true, ArgLock: true}
	var unknown []string
	for k := range opts {
		if name, ok := strings.CutPrefix(k, buildArgPrefix); ok && strings.HasPrefix(name, "ECR_PTC_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Config{}, fmt.Errorf("ecr-ptc: unknown build arg %s (the frontend reads %s, %s, %s, %s and %s)",
			strings.Join(unknown, ", "), ArgRegistry, ArgRules, ArgStrict, ArgDisable, ArgLock)
	}
	var err error
	if cfg.Strict, err = boolArg(opts, ArgStrict); err != nil {
		return Config{}, err
	}
	if cfg.Disabled, err = boolArg(opts, ArgDisable); err != nil {
		return Config{}, err
	}
	if spec := strings.TrimSpace(opts[buildArgPrefix+ArgRules]); spec != "" {
		set, err := rules.ParseSpec(spec)
		if err != nil {
			return Config{}, fmt.Errorf("ecr-ptc: build arg %s: %v", ArgRules, err)
		}
		if len(set.Rules) == 0 {
			return Config{}, fmt.Errorf("ecr-ptc: build arg %s names no rule; expected UPSTREAM=PREFIX pairs such as docker.io=docker-hub,ghcr.io=github", ArgRules)
		}
		cfg.Rules, cfg.RulesGiven = set, true
	}
	if v := strings.TrimSpace(opts[buildArgPrefix+ArgLock]); v != "" {
		lf, err := lock.ParseBuildArg(v)
		if err != nil {
			return Config{}, fmt.Errorf("ecr-ptc: build arg %s: %v", ArgLock, err)
		}
		cfg.Lock = map[string]string{}
		for _, e := range lf.Images {
			cfg.Lock[e.Ref] = e.Digest
		}
	}
	if reg := opts[buildArgPrefix+ArgRegistry]; strings.TrimSpace(reg) != "" {
		cfg.Registry = mapping.NormalizeRegistry(reg)
		if strings.ContainsAny(cfg.Registry, "/ @") {
			return Config{}, fmt.Errorf("ecr-ptc: build arg %s=%q must be a registry host[:port] without a path", ArgRegistry, reg)
		}
		// A build arg is untrusted: nothing but a host may reach a reference or a report.
		if err := imageref.ValidHost(cfg.Registry); err != nil {
			return Config{}, fmt.Errorf("ecr-ptc: build arg %s: %v", ArgRegistry, err)
		}
	} else if host, ok := ecrHostOf(cfg.Source); ok {
		cfg.Registry, cfg.RegistryFromSource = host, true
	}
	return cfg, nil
}

// ecrHostOf is the private ECR registry a frontend image ref names, if it names one: a frontend pulled
// through the user's own ECR tells which registry is the cache.
func ecrHostOf(source string) (string, bool) {
	if source == "" {
		return "", false
	}
	ref, err := imageref.Parse(source)
	if err != nil {
		return "", false
	}
	if _, ok := imageref.ParseECRHost(ref.Host); !ok {
		return "", false
	}
	return ref.Host, true
}

func boolArg(opts map[string]string, name string) (bool, error) {
	v, ok := opts[buildArgPrefix+name]
	if !ok || strings.TrimSpace(v) == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("ecr-ptc: build arg %s=%q: expected true or false (or 1 or 0)", name, v)
	}
	return b, nil
}

// stockOpts are the options the stock Dockerfile frontend gets: without our build args (so they never
// reach the Dockerfile, its lint checks or its provenance args), and with cmdline set so that it never
// forwards the build to the frontend a `# syntax=` line names — that frontend would resolve images
// around the cache (see README, "Nested # syntax=").
func stockOpts(opts map[string]string) map[string]string {
	out := maps.Clone(opts)
	if out == nil {
		out = map[string]string{}
	}
	for k := range out {
		if strings.HasPrefix(k, ownArgPrefix) {
			delete(out, k)
		}
	}
	if _, ok := out[keyCmdline]; !ok {
		cmd := out[keySource]
		if cmd == "" {
			cmd = "ecr-ptc"
		}
		out[keyCmdline] = cmd
	}
	return out
}
