package pipeline

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/lock"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// LoginFunc logs in to the registries; fresh skips any cached token (the registry refused it).
type LoginFunc func(ctx context.Context, fresh bool) ([]ecrx.Auth, error)

// Options describe a Session. The command line fills them from flags and the environment.
type Options struct {
	AWS    aws.Config
	Source CredSource
	// Registry is the cache registry the user named (--registry, $ECR_PTC_REGISTRY); "" picks it from
	// the logins (CacheRegistry).
	Registry string
	// Rules is the rule set the user gave (--rules, --rule); nil uses the registry's own.
	Rules *rules.Set
	// Lock pins the mapped references to their locked digests.
	Lock *lock.File
	// Login logs in; nil calls GetAuthorizationToken for the caller's registry, logging in nowhere else.
	Login LoginFunc
}

// Session is what every use case works over, built once per command: the credentials, the ECR
// client, the logins and the cache registry; the registry's rules are listed once, on first use.
type Session struct {
	AWS      aws.Config
	Source   CredSource
	ECR      *ecr.Client
	Auths    []ecrx.Auth
	Registry string
	// RulesCache, when set, is where the registry's rules are listed through and what rules ensured in
	// this session are written back to, so that the next job does not map without them.
	RulesCache *ecrx.RulesCache

	opts   Options
	live   *rules.Set // the registry's rules, once listed
	mapper *mapping.Mapper
}

// New is a session that does not log in (rules need no login): its registry is the one named.
func New(o Options) *Session {
	return &Session{AWS: o.AWS, Source: o.Source, ECR: ecr.NewFromConfig(o.AWS), Registry: o.Registry, opts: o}
}

// Open logs in and picks the cache registry. Login errors are returned as they are: the login
// function knows best how to explain them.
func Open(ctx context.Context, o Options) (*Session, error) {
	s := New(o)
	auths, err := s.login(ctx, false)
	if err != nil {
		return nil, err
	}
	s.Auths = auths
	s.Registry = CacheRegistry(o.Registry, auths, o.AWS.Region)
	return s, nil
}

func (s *Session) login(ctx context.Context, fresh bool) ([]ecrx.Auth, error) {
	if s.opts.Login != nil {
		return s.opts.Login(ctx, fresh)
	}
	auths, err := ecrx.Login(ctx, s.ECR)
	if err != nil {
		return nil, CredentialsError(err, s.Source)
	}
	return auths, nil
}

// Relogin logs in again without the token cache, for a warmer whose token the registry refused.
func (s *Session) Relogin(ctx context.Context) ([]ecrx.Auth, error) { return s.login(ctx, true) }

// LiveRules are the registry's pull-through cache rules, listed once per session.
func (s *Session) LiveRules(ctx context.Context) (rules.Set, error) {
	set, err := s.listRules(ctx)
	if err != nil {
		return rules.Set{}, CredentialsError(err, s.Source)
	}
	return set, nil
}

// listRules lists the registry's rules the first time, with the SDK's error.
func (s *Session) listRules(ctx context.Context) (rules.Set, error) {
	if s.live == nil {
		set, err := s.RulesCache.List(ctx, s.ECR) // a nil cache lists
		if err != nil {
			return rules.Set{}, err
		}
		s.live = &set
	}
	return *s.live, nil
}

// Mapper maps references onto the cache registry with the user's rules, else the registry's, and the
// lock's pins.
func (s *Session) Mapper(ctx context.Context) (*mapping.Mapper, error) {
	if s.mapper != nil {
		return s.mapper, nil
	}
	set := s.opts.Rules
	if set == nil {
		live, err := s.LiveRules(ctx)
		if err != nil {
			return nil, err
		}
		set = &live
	}
	opts := []mapping.Option{mapping.WithRules(*set)}
	if s.opts.Lock != nil {
		opts = append(opts, mapping.WithPins(s.opts.Lock.Lookup))
	}
	s.mapper = mapping.New(s.Registry, opts...)
	return s.mapper, nil
}

// addRules records rules ensured on the registry, as a second listing would have found them, and maps
// with them from now on unless the user gave the rules.
func (s *Session) addRules(ensured []ecrx.EnsureResult) {
	if s.live == nil || len(ensured) == 0 {
		return
	}
	set := *s.live
	sorted := slices.IsSortedFunc(set.Rules, byPrefix)
	set.Rules = slices.Clone(set.Rules)
	for _, r := range ensured {
		if !slices.ContainsFunc(set.Rules, func(x rules.Rule) bool { return byPrefix(x, r.Rule) == 0 }) {
			set.Rules = append(set.Rules, r.Rule)
		}
	}
	if sorted {
		slices.SortStableFunc(set.Rules, byPrefix)
	}
	s.live = &set
	if s.RulesCache != nil {
		_ = s.RulesCache.Put(set) // a cache that cannot be written costs the next job a listing
	}
	if s.opts.Rules == nil {
		s.mapper = nil
	}
}

func byPrefix(a, b rules.Rule) int {
	return strings.Compare(strings.TrimSuffix(a.ECRRepositoryPrefix, "/"), strings.TrimSuffix(b.ECRRepositoryPrefix, "/"))
}

// CacheRegistry picks the cache registry: the one named, else the registry of the logins that is a
// private ECR registry in region (the caller's own), else the first one that is not ECR Public — ECR
// Public is a registry to log in to, never the cache.
func CacheRegistry(named string, auths []ecrx.Auth, region string) string {
	if named != "" {
		return named
	}
	for _, a := range auths {
		if reg, ok := imageref.ParseECRHost(a.Host); ok && reg.Region == region {
			return a.Host
		}
	}
	for _, a := range auths {
		if a.Host != ecrx.PublicHost {
			return a.Host
		}
	}
	return ""
}
