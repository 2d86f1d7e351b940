// Package sandbox is a local emulation of Amazon ECR with the pull-through cache — the ECR and STS APIs,
// an OIDC issuer, a registry data plane and upstream stand-ins — so that ecr-ptc can be tried and tested
// with no AWS account. Every emulated behaviour cites the fact it follows in
// ../shared/reference/ecr-pull-through-cache.md or the ECR service model; docs/aws-facts.md lists them
// with their public sources and whether a live run confirmed them.
//
// Upstream stand-ins (Sandbox.Upstreams, Env's ECR_PTC_SANDBOX_UPSTREAM_*): docker-hub
// (registry-1.docker.io), github (ghcr.io), quay (quay.io), ecr-public (public.ecr.aws), and ecr, an
// upstream private ECR registry in another account and region for ECR-to-ECR rules: host
// 210987654321.dkr.ecr.us-west-2.amazonaws.com (UpstreamECRHost, ECR_PTC_SANDBOX_UPSTREAM_ECR_HOST),
// seeded with team/app:1 and team/app:2, which lets a rule pull only with customRoleArn
// arn:aws:iam::<Config.AccountID>:role/ecr-ptc-sandbox-upstream (Sandbox.UpstreamECRRoleArn,
// ECR_PTC_SANDBOX_UPSTREAM_ECR_ROLE_ARN). A rule {ecrRepositoryPrefix: "ecr-team",
// upstreamRegistryUrl: that host, upstreamRepositoryPrefix: "team", customRoleArn: that role} serves
// <registry>/ecr-team/app:1 from the upstream's team/app:1; `ecr-ptc sandbox --with-rules` creates the
// rule "ecr" (upstreamRepositoryPrefix ROOT): <registry>/ecr/team/app:1.
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Store is the state the sandbox's ECR API and registry data plane share: rules, repositories, images,
// blobs and the authorization tokens GetAuthorizationToken issued. It is safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	now       func() time.Time
	accountID string
	region    string
	rules     map[string]*RuleRecord // by ecrRepositoryPrefix without trailing slash
	repos     map[string]*Repository // by repository name
	blobs     map[string][]byte      // by digest, registry-wide like ECR's layer storage
	tokens    map[string]time.Time   // password → expiry
	admin     adminState             // lifecycle policies, creation templates, repository tags (cacheadmin.go)
	tokenTTL  time.Duration          // GetAuthorizationToken's validity when set (tokenttl.go)
}

// RuleRecord is a pull-through cache rule with ECR's bookkeeping.
type RuleRecord struct {
	rules.Rule
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Repository is one ECR repository, created by the first pull through a rule (or explicitly).
type Repository struct {
	Name      string
	CreatedAt time.Time
	// Rule is the prefix of the pull-through cache rule that created the repository ("" when created
	// otherwise).
	Rule   string
	Images map[string]*Image // by manifest digest
	Tags   map[string]string // tag → manifest digest
	// TagChecked is when each tag was last resolved upstream: ECR re-checks a tag at most about once
	// per refresh window (reference: "Tags are re-checked upstream at most about once every 24 hours").
	TagChecked map[string]time.Time
}

// Image is one stored manifest (an image manifest or an index).
type Image struct {
	Digest    string
	MediaType string
	Manifest  []byte
	// Size is what DescribeImages reports as imageSizeInBytes: the manifest's layers (config excluded)
	// or, for an index, the largest child's (reference: "imageSizeInBytes for an index is the largest
	// child manifest").
	Size         int64
	PushedAt     time.Time
	LastPulledAt time.Time
}

// NewStore returns an empty store for one account and region; now is the clock (time.Now when nil).
func NewStore(accountID, region string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		now: now, accountID: accountID, region: region,
		rules: map[string]*RuleRecord{}, repos: map[string]*Repository{},
		blobs: map[string][]byte{}, tokens: map[string]time.Time{},
	}
}

func trimPrefix(p string) string { return strings.TrimSuffix(p, "/") }

// PutRule stores r; it reports false (and stores nothing) when a rule with the prefix exists.
func (s *Store) PutRule(r rules.Rule) (RuleRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := trimPrefix(r.ECRRepositoryPrefix)
	if old, ok := s.rules[p]; ok {
		return *old, false
	}
	now := s.now()
	rec := &RuleRecord{Rule: r, CreatedAt: now, UpdatedAt: now}
	rec.RegistryID = s.accountID
	s.rules[p] = rec
	return *rec, true
}

// UpdateRule replaces the credential of an existing rule.
func (s *Store) UpdateRule(prefix, credentialArn string) (RuleRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.rules[trimPrefix(prefix)]
	if !ok {
		return RuleRecord{}, false
	}
	rec.CredentialArn = credentialArn
	rec.UpdatedAt = s.now()
	return *rec, true
}

// DeleteRule removes a rule and returns it.
func (s *Store) DeleteRule(prefix string) (RuleRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := trimPrefix(prefix)
	rec, ok := s.rules[p]
	if !ok {
		return RuleRecord{}, false
	}
	delete(s.rules, p)
	return *rec, true
}

// Rules lists the rules by prefix.
func (s *Store) Rules() []RuleRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RuleRecord, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ECRRepositoryPrefix < out[j].ECRRepositoryPrefix })
	return out
}

// RuleFor finds the rule whose prefix starts the repository name and returns the upstream repository
// path: the rest of the name, under the rule's upstreamRepositoryPrefix unless that is ROOT (reference,
// "Rule fields added in 2025"). The longest prefix wins; a ROOT rule (ECR-to-ECR) covers every name no
// other rule does.
func (s *Store) RuleFor(repo string) (RuleRecord, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *RuleRecord
	var rest string
	for p, r := range s.rules {
		if after, ok := strings.CutPrefix(repo, p+"/"); ok && p != rules.Root && (best == nil || len(p) > len(trimPrefix(best.ECRRepositoryPrefix))) {
			best, rest = r, after
		}
	}
	if root, ok := s.rules[rules.Root]; ok && best == nil {
		best, rest = root, repo
	}
	if best == nil {
		return RuleRecord{}, "", false
	}
	if up := trimPrefix(best.UpstreamRepositoryPrefix); up != "" && up != rules.Root {
		rest = up + "/" + rest
	}
	return *best, rest, true
}

// IssueToken creates an authorization token password valid for ttl (ECR: 12 hours).
func (s *Store) IssueToken(ttl time.Duration) (password string, expiresAt time.Time) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	password = "sandbox-ecr-" + hex.EncodeToString(b)
	expiresAt = s.now().Add(ttl)
	s.mu.Lock()
	s.tokens[password] = expiresAt
	s.mu.Unlock()
	return password, expiresAt
}

// ValidToken reports whether password is an unexpired token.
func (s *Store) ValidToken(password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[password]
	return ok && s.now().Before(exp)
}

// ExpireTokens makes every issued token expired (fault injection: "an expired ECR token").
func (s *Store) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// Repository returns a copy of a repository, safe to read while pulls go on.
func (s *Store) Repository(name string) (*Repository, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[name]
	if !ok {
		return nil, false
	}
	c := *r
	c.Images, c.Tags, c.TagChecked = maps.Clone(r.Images), maps.Clone(r.Tags), maps.Clone(r.TagChecked)
	return &c, true
}

// Repositories lists repository names in order.
func (s *Store) Repositories() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.repos))
	for n := range s.repos {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// EnsureRepository creates the repository if it does not exist and reports whether it did.
func (s *Store) EnsureRepository(name, rule string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[name]; ok {
		return false
	}
	s.repos[name] = &Repository{Name: name, CreatedAt: s.now(), Rule: rule, Images: map[string]*Image{}, Tags: map[string]string{}, TagChecked: map[string]time.Time{}}
	return true
}

// PutImage stores a manifest in a repository (which must exist) and points tag at it when tag is set.
// Re-putting the same digest keeps its PushedAt.
func (s *Store) PutImage(repo, tag string, img Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repo]
	if r == nil {
		return
	}
	if old, ok := r.Images[img.Digest]; ok {
		img.PushedAt = old.PushedAt
		img.LastPulledAt = old.LastPulledAt
	} else if img.PushedAt.IsZero() {
		img.PushedAt = s.now()
	}
	r.Images[img.Digest] = &img
	if tag != "" {
		r.Tags[tag] = img.Digest
		r.TagChecked[tag] = s.now()
	}
}

// LookupImage finds a manifest by tag or digest.
func (s *Store) LookupImage(repo, tagOrDigest string) (Image, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repo]
	if r == nil {
		return Image{}, false
	}
	d := tagOrDigest
	if !strings.HasPrefix(d, "sha256:") {
		var ok bool
		if d, ok = r.Tags[tagOrDigest]; !ok {
			return Image{}, false
		}
	}
	img, ok := r.Images[d]
	if !ok {
		return Image{}, false
	}
	return *img, true
}

// TagCheckedAt is when tag was last resolved upstream (zero if never).
func (s *Store) TagCheckedAt(repo, tag string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repo]; r != nil {
		return r.TagChecked[tag]
	}
	return time.Time{}
}

// TagsOf lists the tags pointing at digest in repo.
func (s *Store) TagsOf(repo, digest string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if r := s.repos[repo]; r != nil {
		for t, d := range r.Tags {
			if d == digest {
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Images lists a repository's images by digest.
func (s *Store) Images(repo string) []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repo]
	if r == nil {
		return nil
	}
	out := make([]Image, 0, len(r.Images))
	for _, img := range r.Images {
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out
}

// MarkPulled records a pull of digest in repo, at most once a day.
func (s *Store) MarkPulled(repo, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repo]; r != nil {
		// lastRecordedPullTime moves about once a day (reference), so it cannot show per-build hits.
		if img := r.Images[digest]; img != nil && s.now().Sub(img.LastPulledAt) >= 24*time.Hour {
			img.LastPulledAt = s.now()
		}
	}
}

// PutBlob stores a blob by digest.
func (s *Store) PutBlob(digest string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[digest] = data
}

// Blob returns a stored blob.
func (s *Store) Blob(digest string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[digest]
	return b, ok
}
