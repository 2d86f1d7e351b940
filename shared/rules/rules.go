// Package rules models ECR pull-through cache rules in the shape DescribePullThroughCacheRules returns,
// and knows the upstream registries ECR supports, so that rules can be matched by upstream host whatever
// their prefixes are called.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

// Rule is one pull-through cache rule. The JSON names are ECR's, so the output of
// `aws ecr describe-pull-through-cache-rules` decodes as is.
type Rule struct {
	ECRRepositoryPrefix      string `json:"ecrRepositoryPrefix"`
	UpstreamRegistryURL      string `json:"upstreamRegistryUrl"`
	UpstreamRegistry         string `json:"upstreamRegistry,omitempty"`
	CredentialArn            string `json:"credentialArn,omitempty"`
	CustomRoleArn            string `json:"customRoleArn,omitempty"`
	UpstreamRepositoryPrefix string `json:"upstreamRepositoryPrefix,omitempty"`
	RegistryID               string `json:"registryId,omitempty"`
}

// Root is the ecrRepositoryPrefix (and upstreamRepositoryPrefix) value meaning "no prefix"; ECR accepts it
// only for ECR-to-ECR rules.
const Root = "ROOT"

// UpstreamHost is the canonical host the rule's upstream URL names ("docker.io" for Docker Hub).
func (r Rule) UpstreamHost() string {
	return imageref.CanonicalHost(ecrhost.Normalize(r.UpstreamRegistryURL))
}

// Set is the rules of one registry, as DescribePullThroughCacheRules lists them.
type Set struct {
	Rules []Rule `json:"pullThroughCacheRules"`
}

// FileError reports a rules file that cannot be used.
type FileError struct {
	File string
	Msg  string
}

func (e *FileError) Error() string { return e.File + ": " + e.Msg }

// Parse decodes a rules document: the JSON that `aws ecr describe-pull-through-cache-rules` prints
// (an object with "pullThroughCacheRules"), or a bare array of rules. file names the source in errors.
func Parse(file string, data []byte) (Set, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return Set{}, &FileError{File: file, Msg: "the rules file is empty; expected the JSON of `aws ecr describe-pull-through-cache-rules`"}
	}
	var set Set
	var err error
	if trimmed[0] == '[' {
		err = strictDecode(trimmed, &set.Rules)
	} else {
		var doc struct {
			Rules     *[]Rule `json:"pullThroughCacheRules"`
			NextToken string  `json:"nextToken"`
		}
		err = strictDecode(trimmed, &doc)
		if err == nil && doc.Rules == nil {
			return Set{}, &FileError{File: file, Msg: `no "pullThroughCacheRules" key; expected the JSON of ` + "`aws ecr describe-pull-through-cache-rules`"}
		}
		if doc.Rules != nil {
			set.Rules = *doc.Rules
		}
	}
	if err != nil {
		return Set{}, &FileError{File: file, Msg: jsonMessage(trimmed, err)}
	}
	for i, r := range set.Rules {
		if err := r.Validate(); err != nil {
			return Set{}, &FileError{File: file, Msg: fmt.Sprintf("rule %d: %v", i+1, err)}
		}
	}
	if err := set.checkDuplicates(); err != nil {
		return Set{}, &FileError{File: file, Msg: err.Error()}
	}
	return set, nil
}

// strictDecode decodes one JSON value and rejects trailing data. Unknown fields are allowed: ECR adds
// fields (createdAt, updatedAt, ...) that do not matter here.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON document")
	}
	return nil
}

// jsonMessage turns a decoding error into one sentence with a line number.
func jsonMessage(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("line %d: invalid JSON: %v", lineOf(data, syn.Offset), syn)
	case errors.As(err, &typ):
		return fmt.Sprintf("line %d: %q must be a %s, not a JSON %s", lineOf(data, typ.Offset), typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("line %d: invalid JSON: the document ends before it is complete", lineOf(data, int64(len(data))))
	default:
		return "invalid JSON: " + err.Error()
	}
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// prefixPattern is ECR's PullThroughCacheRuleRepositoryPrefix pattern from the service model.
var prefixPattern = regexp.MustCompile(`^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$`)

// ValidatePrefix applies ECR's limits to an ecrRepositoryPrefix: 2–30 characters of the model's pattern.
func ValidatePrefix(p string) error {
	if len(p) < 2 || len(p) > 30 {
		return fmt.Errorf("ecrRepositoryPrefix %q must be 2 to 30 characters long", p)
	}
	if !prefixPattern.MatchString(p) {
		return fmt.Errorf("ecrRepositoryPrefix %q may contain only lowercase letters, digits, and . _ - / between them", p)
	}
	return nil
}

// Validate checks the fields a rule needs for mapping.
func (r Rule) Validate() error {
	if r.ECRRepositoryPrefix == "" {
		return errors.New(`"ecrRepositoryPrefix" is missing`)
	}
	if err := ValidatePrefix(r.ECRRepositoryPrefix); err != nil {
		return err
	}
	if strings.TrimSpace(r.UpstreamRegistryURL) == "" {
		return errors.New(`"upstreamRegistryUrl" is missing`)
	}
	if r.UpstreamRegistry != "" {
		if _, ok := ByEnum(r.UpstreamRegistry); !ok {
			return fmt.Errorf("upstreamRegistry %q is not one ECR knows (%s)", r.UpstreamRegistry, strings.Join(Enums(), ", "))
		}
	}
	// upstreamRepositoryPrefix defaults to ROOT, and DescribePullThroughCacheRules may print it as "ROOT" on
	// every rule (reference, "Rule fields added in 2025": unverified either way): ROOT is "no prefix".
	up := r.UpstreamPrefix()
	if r.UpstreamRepositoryPrefix != "" && r.UpstreamRepositoryPrefix != Root {
		if err := ValidatePrefix(r.UpstreamRepositoryPrefix); err != nil {
			return errors.New("upstream" + strings.TrimPrefix(err.Error(), "ecr"))
		}
	}
	// ROOT and an upstream repository prefix exist for ECR-to-ECR rules only; an upstream prefix is settable
	// only when ecrRepositoryPrefix is not ROOT (reference).
	if (r.ECRRepositoryPrefix == Root || up != "") && !r.ecrToECR() {
		return fmt.Errorf("ROOT and upstreamRepositoryPrefix are for ECR-to-ECR rules only, not %s", r.UpstreamRegistryURL)
	}
	if r.ECRRepositoryPrefix == Root && up != "" {
		return fmt.Errorf("upstreamRepositoryPrefix %q needs an ecrRepositoryPrefix other than ROOT", r.UpstreamRepositoryPrefix)
	}
	return nil
}

// UpstreamPrefix is the rule's upstream repository prefix without a trailing slash, "" for none (absent
// or ROOT).
func (r Rule) UpstreamPrefix() string {
	p := strings.TrimSuffix(r.UpstreamRepositoryPrefix, "/")
	if p == Root {
		return ""
	}
	return p
}

// IsECRToECR reports a rule whose upstream is a private ECR registry.
func (r Rule) IsECRToECR() bool { return r.ecrToECR() }

// ecrToECR reports a rule whose upstream is a private ECR registry.
func (r Rule) ecrToECR() bool {
	if r.UpstreamRegistry != "" {
		return r.UpstreamRegistry == "ecr"
	}
	_, ok := imageref.ParseECRHost(r.UpstreamHost())
	return ok
}

func (s Set) checkDuplicates() error {
	seen := map[string]bool{}
	for _, r := range s.Rules {
		p := strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
		if seen[p] {
			return fmt.Errorf("two rules use the prefix %q", p)
		}
		seen[p] = true
	}
	return nil
}

// ForHost returns the rules whose upstream is host (any Docker Hub alias matches Docker Hub), the longest
// upstreamRepositoryPrefix first so the most specific ECR-to-ECR rule wins.
// An ECR upstream matches on any of its hosts (standard, FIPS, dual-stack: ecrhost.Key).
func (s Set) ForHost(host string) []Rule {
	key := ecrhost.Key(imageref.CanonicalHost(host))
	var out []Rule
	for _, r := range s.Rules {
		if ecrhost.Key(r.UpstreamHost()) == key {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return len(out[i].UpstreamPrefix()) > len(out[j].UpstreamPrefix())
	})
	return out
}
