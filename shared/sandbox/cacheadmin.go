package sandbox

// Cache housekeeping on the sandbox's ECR API: BatchDeleteImage, lifecycle policies (Get/Put/Delete,
// applied on the sandbox clock), repository creation templates (Create/Describe/Update/Delete, applied to
// the repositories a pull-through cache rule creates) and ListTagsForResource for the tags a template
// puts on them. Shapes and error codes follow the ECR service model
// (../shared/reference/aws-models/ecr-2015-09-21.service-2.json); lifecycle policy syntax follows the ECR
// user guide's "Lifecycle policy properties" (rulePriority, selection.tagStatus/tagPrefixList/
// tagPatternList/countType/countUnit/countNumber, action.type).
//
// Error-code rule for these operations (they all list ValidationException and InvalidParameterException):
// a violated model constraint (length, pattern, enum, required member) answers ValidationException with
// the "N validation error(s) detected" text; a policy text that parses but breaks the lifecycle rules
// answers InvalidParameterException "Invalid parameter at 'LifecyclePolicyText' failed to satisfy
// constraint: 'Lifecycle policy validation failure: ...'", as ECR does.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// registerCacheAdminOps adds the operations of this file to the ECR endpoint, and makes every ECR call
// first apply the lifecycle policies that are due on the sandbox clock (ECR evaluates policies on its
// own schedule, "within 24 hours"; the sandbox does it at the next API call so that tests are exact).
func registerCacheAdminOps(e *ecrAPI) {
	add := map[string]func(*ecrCall) (any, *apiError){
		"BatchDeleteImage":                    e.batchDeleteImage,
		"GetLifecyclePolicy":                  e.getLifecyclePolicy,
		"PutLifecyclePolicy":                  e.putLifecyclePolicy,
		"DeleteLifecyclePolicy":               e.deleteLifecyclePolicy,
		"CreateRepositoryCreationTemplate":    e.createRepositoryCreationTemplate,
		"DescribeRepositoryCreationTemplates": e.describeRepositoryCreationTemplates,
		"UpdateRepositoryCreationTemplate":    e.updateRepositoryCreationTemplate,
		"DeleteRepositoryCreationTemplate":    e.deleteRepositoryCreationTemplate,
		"ListTagsForResource":                 e.listTagsForResource,
	}
	for k, v := range add {
		e.ops[k] = v
	}
	for k, v := range e.ops {
		e.ops[k] = func(c *ecrCall) (any, *apiError) {
			e.d.store.ApplyLifecycle()
			return v(c)
		}
	}
}

// adminState is the Store's housekeeping state, guarded by Store.mu.
type adminState struct {
	policies  map[string]*lifecycleRecord // by repository
	templates map[string]*creationTemplate
	repoTags  map[string][]Tag // by repository
}

type lifecycleRecord struct {
	Text            string
	LastEvaluatedAt time.Time
}

// Tag is a resource tag (the model's Tag: Key, Value).
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type creationTemplate struct {
	Prefix             string   `json:"prefix"`
	Description        string   `json:"description,omitempty"`
	ResourceTags       []Tag    `json:"resourceTags,omitempty"`
	ImageTagMutability string   `json:"imageTagMutability,omitempty"`
	RepositoryPolicy   string   `json:"repositoryPolicy,omitempty"`
	LifecyclePolicy    string   `json:"lifecyclePolicy,omitempty"`
	AppliedFor         []string `json:"appliedFor,omitempty"`
	CustomRoleArn      string   `json:"customRoleArn,omitempty"`
	EncryptionConfig   *struct {
		EncryptionType string `json:"encryptionType"`
		KmsKey         string `json:"kmsKey,omitempty"`
	} `json:"encryptionConfiguration,omitempty"`
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`
}

func (s *Store) adminLocked() *adminState {
	if s.admin.policies == nil {
		s.admin = adminState{policies: map[string]*lifecycleRecord{}, templates: map[string]*creationTemplate{}, repoTags: map[string][]Tag{}}
	}
	return &s.admin
}

// --- Store: deletion, lifecycle, templates ---

// DeleteImageResult is one BatchDeleteImage outcome.
type DeleteImageResult struct {
	Digest, Tag string
	Failure     string // an ImageFailureCode, "" on success
}

// DeleteImage removes a tag (and the image once its last tag is gone, as BatchDeleteImage does) or, by
// digest, the image with all its tags. A manifest that a stored index references cannot be deleted by
// digest (ImageReferencedByManifestList).
func (s *Store) DeleteImage(repo, tag, digest string) []DeleteImageResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repo]
	if r == nil {
		return []DeleteImageResult{{Digest: digest, Tag: tag, Failure: "ImageNotFound"}}
	}
	d := digest
	if tag != "" {
		td, ok := r.Tags[tag]
		if !ok || (digest != "" && td != digest) {
			return []DeleteImageResult{{Digest: digest, Tag: tag, Failure: "ImageNotFound"}}
		}
		d = td
	}
	if _, ok := r.Images[d]; !ok {
		return []DeleteImageResult{{Digest: digest, Tag: tag, Failure: "ImageNotFound"}}
	}
	if tag != "" {
		delete(r.Tags, tag)
		delete(r.TagChecked, tag)
		if len(tagsOfLocked(r, d)) > 0 {
			return []DeleteImageResult{{Digest: d, Tag: tag}}
		}
		s.removeImageLocked(r, d)
		return []DeleteImageResult{{Digest: d, Tag: tag}}
	}
	if referencedLocked(r, d) {
		return []DeleteImageResult{{Digest: d, Failure: "ImageReferencedByManifestList"}}
	}
	var out []DeleteImageResult
	for _, t := range tagsOfLocked(r, d) {
		out = append(out, DeleteImageResult{Digest: d, Tag: t})
		delete(r.Tags, t)
		delete(r.TagChecked, t)
	}
	if len(out) == 0 {
		out = []DeleteImageResult{{Digest: d}}
	}
	s.removeImageLocked(r, d)
	return out
}

// removeImageLocked deletes an image and, for an index, its untagged children no other index references.
func (s *Store) removeImageLocked(r *Repository, d string) {
	img := r.Images[d]
	delete(r.Images, d)
	if img == nil || !isIndexType(img.MediaType) {
		return
	}
	for _, child := range childDigests(img.Manifest) {
		if _, ok := r.Images[child]; ok && len(tagsOfLocked(r, child)) == 0 && !referencedLocked(r, child) {
			delete(r.Images, child)
		}
	}
}

func tagsOfLocked(r *Repository, d string) []string {
	var out []string
	for t, td := range r.Tags {
		if td == d {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func referencedLocked(r *Repository, d string) bool {
	for _, img := range r.Images {
		if isIndexType(img.MediaType) {
			for _, c := range childDigests(img.Manifest) {
				if c == d {
					return true
				}
			}
		}
	}
	return false
}

func childDigests(manifest []byte) []string {
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	_ = json.Unmarshal(manifest, &idx)
	out := make([]string, 0, len(idx.Manifests))
	for _, m := range idx.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

// PutLifecyclePolicy sets a repository's policy text (already validated).
func (s *Store) PutLifecyclePolicy(repo, text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo] == nil {
		return false
	}
	s.adminLocked().policies[repo] = &lifecycleRecord{Text: text}
	return true
}

// LifecyclePolicy returns a repository's policy text and when it was last evaluated.
func (s *Store) LifecyclePolicy(repo string) (text string, lastEvaluated time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.adminLocked().policies[repo]
	if p == nil {
		return "", time.Time{}, false
	}
	return p.Text, p.LastEvaluatedAt, true
}

func (s *Store) deleteLifecyclePolicy(repo string) (*lifecycleRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.adminLocked()
	p, ok := a.policies[repo]
	delete(a.policies, repo)
	return p, ok
}

// RepositoryTags lists the tags on a repository (from the creation template that made it).
func (s *Store) RepositoryTags(repo string) []Tag {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Tag(nil), s.adminLocked().repoTags[repo]...)
}

// ApplyLifecycle expires, in every repository with a lifecycle policy, the images the policy selects at
// the sandbox clock's now, and returns how many images it expired.
func (s *Store) ApplyLifecycle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.adminLocked()
	now := s.now()
	n := 0
	for repo, p := range a.policies {
		r := s.repos[repo]
		if r == nil {
			continue
		}
		pol, err := parseLifecyclePolicy(p.Text)
		if err != nil {
			continue
		}
		p.LastEvaluatedAt = now
		for _, d := range pol.expired(r, now) {
			for _, t := range tagsOfLocked(r, d) {
				delete(r.Tags, t)
				delete(r.TagChecked, t)
			}
			if _, ok := r.Images[d]; ok {
				s.removeImageLocked(r, d)
				n++
			}
		}
	}
	return n
}

// applyCreationTemplate gives a repository that scenario (PULL_THROUGH_CACHE) just created the settings
// of the template with the longest matching prefix (ROOT matches every repository no other template
// matches). ECR applies templates only when it creates a repository, never to existing ones.
func (s *Store) applyCreationTemplate(repo, scenario string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.adminLocked()
	var best *creationTemplate
	for p, t := range a.templates {
		if !slices.Contains(t.AppliedFor, scenario) {
			continue
		}
		if p == "ROOT" {
			if best == nil {
				best = t
			}
			continue
		}
		if strings.HasPrefix(repo, strings.TrimSuffix(p, "/")+"/") && (best == nil || best.Prefix == "ROOT" || len(p) > len(best.Prefix)) {
			best = t
		}
	}
	if best == nil {
		return
	}
	if best.LifecyclePolicy != "" {
		a.policies[repo] = &lifecycleRecord{Text: best.LifecyclePolicy}
	}
	if len(best.ResourceTags) > 0 {
		a.repoTags[repo] = append([]Tag(nil), best.ResourceTags...)
	}
}

// --- lifecycle policy text ---

type lifecyclePolicy struct {
	Rules []lifecycleRule `json:"rules"`
}

type lifecycleRule struct {
	RulePriority *int   `json:"rulePriority"`
	Description  string `json:"description,omitempty"`
	Selection    struct {
		TagStatus      string   `json:"tagStatus"`
		TagPrefixList  []string `json:"tagPrefixList,omitempty"`
		TagPatternList []string `json:"tagPatternList,omitempty"`
		StorageClass   string   `json:"storageClass,omitempty"`
		CountType      string   `json:"countType"`
		CountUnit      string   `json:"countUnit,omitempty"`
		CountNumber    *int     `json:"countNumber"`
	} `json:"selection"`
	Action struct {
		Type               string `json:"type"`
		TargetStorageClass string `json:"targetStorageClass,omitempty"`
	} `json:"action"`
}

// parseLifecyclePolicy checks a policy against the user guide's lifecycle policy properties.
func parseLifecyclePolicy(text string) (lifecyclePolicy, error) {
	var p lifecyclePolicy
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("the policy is not valid JSON: %v", err)
	}
	if len(p.Rules) == 0 {
		return p, fmt.Errorf("the policy must have at least one rule")
	}
	prios := map[int]bool{}
	untagged, maxPrio, anyPrio := 0, 0, -1
	for i, r := range p.Rules {
		where := fmt.Sprintf("rule %d", i+1)
		if r.RulePriority == nil || *r.RulePriority < 1 {
			return p, fmt.Errorf("%s: rulePriority must be a positive integer", where)
		}
		prio := *r.RulePriority
		if prios[prio] {
			return p, fmt.Errorf("%s: rulePriority %d is used twice", where, prio)
		}
		prios[prio] = true
		maxPrio = max(maxPrio, prio)
		sel := r.Selection
		switch sel.TagStatus {
		case "tagged":
			if len(sel.TagPrefixList) == 0 && len(sel.TagPatternList) == 0 {
				return p, fmt.Errorf("%s: a tagged selection needs tagPrefixList or tagPatternList", where)
			}
		case "untagged":
			untagged++
			if len(sel.TagPrefixList) > 0 || len(sel.TagPatternList) > 0 {
				return p, fmt.Errorf("%s: an untagged selection cannot have tagPrefixList or tagPatternList", where)
			}
		case "any":
			anyPrio = prio
		default:
			return p, fmt.Errorf("%s: tagStatus must be tagged, untagged or any", where)
		}
		switch sel.CountType {
		case "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned":
			if sel.CountUnit != "days" {
				return p, fmt.Errorf("%s: countType %s needs countUnit days", where, sel.CountType)
			}
		case "imageCountMoreThan":
			if sel.CountUnit != "" {
				return p, fmt.Errorf("%s: countType imageCountMoreThan takes no countUnit", where)
			}
		default:
			return p, fmt.Errorf("%s: countType must be imageCountMoreThan, sinceImagePushed, sinceImagePulled or sinceImageTransitioned", where)
		}
		if sel.CountNumber == nil || *sel.CountNumber < 1 {
			return p, fmt.Errorf("%s: countNumber must be a positive integer", where)
		}
		if r.Action.Type != "expire" && r.Action.Type != "transition" {
			return p, fmt.Errorf("%s: action type must be expire or transition", where)
		}
	}
	if untagged > 1 {
		return p, fmt.Errorf("only one rule may select untagged images")
	}
	if anyPrio >= 0 && anyPrio != maxPrio {
		return p, fmt.Errorf("a rule with tagStatus any must have the highest rulePriority")
	}
	sort.Slice(p.Rules, func(i, j int) bool { return *p.Rules[i].RulePriority < *p.Rules[j].RulePriority })
	return p, nil
}

// selects reports whether the rule's tag selection matches an image with tags.
func (r lifecycleRule) selects(tags []string) bool {
	switch r.Selection.TagStatus {
	case "untagged":
		return len(tags) == 0
	case "any":
		return true
	}
	if len(tags) == 0 {
		return false
	}
	for _, p := range r.Selection.TagPrefixList {
		if !anyTag(tags, func(t string) bool { return strings.HasPrefix(t, p) }) {
			return false
		}
	}
	for _, p := range r.Selection.TagPatternList {
		if !anyTag(tags, func(t string) bool { ok, _ := path.Match(p, t); return ok }) {
			return false
		}
	}
	return true
}

func anyTag(tags []string, f func(string) bool) bool {
	for _, t := range tags {
		if f(t) {
			return true
		}
	}
	return false
}

// expired lists the digests the policy expires in r at now. Each image is considered by the first rule
// (by priority) whose tag selection matches it, and by no later one (user guide: "an image that matches
// the tagging requirements of a higher priority rule cannot be expired by a rule with a lower
// priority"). Manifests an index references go with their index, not on their own. Transition rules
// (to the archive storage class) claim images without expiring them.
func (p lifecyclePolicy) expired(r *Repository, now time.Time) []string {
	claimed := map[string]bool{}
	var out []string
	for _, rule := range p.Rules {
		var sel []*Image
		for d, img := range r.Images {
			if claimed[d] || referencedLocked(r, d) {
				continue
			}
			if rule.selects(tagsOfLocked(r, d)) {
				claimed[d] = true
				sel = append(sel, img)
			}
		}
		if rule.Action.Type != "expire" {
			continue
		}
		n := *rule.Selection.CountNumber
		age := time.Duration(n) * 24 * time.Hour
		switch rule.Selection.CountType {
		case "imageCountMoreThan":
			sort.Slice(sel, func(i, j int) bool { return sel[i].PushedAt.After(sel[j].PushedAt) })
			for i := n; i < len(sel); i++ {
				out = append(out, sel[i].Digest)
			}
		case "sinceImagePushed":
			for _, img := range sel {
				if now.Sub(img.PushedAt) >= age {
					out = append(out, img.Digest)
				}
			}
		case "sinceImagePulled":
			// An image never pulled counts from when it was pushed.
			for _, img := range sel {
				last := img.LastPulledAt
				if last.IsZero() {
					last = img.PushedAt
				}
				if now.Sub(last) >= age {
					out = append(out, img.Digest)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// --- operations ---

// checkModel collects model-constraint violations for the operations of this file.
func lengthBetween(ve *validationErrors, field, v string, lo, hi int) {
	if len(v) < lo || len(v) > hi {
		ve.add(v, field, fmt.Sprintf("Member must have length between %d and %d", lo, hi))
	}
}

func (e *ecrAPI) batchDeleteImage(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID     string            `json:"registryId"`
		RepositoryName string            `json:"repositoryName"`
		ImageIDs       []imageIdentifier `json:"imageIds"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	if err := c.checkRepositoryName(in.RepositoryName); err != nil {
		return nil, err
	}
	if len(in.ImageIDs) < 1 || len(in.ImageIDs) > 100 {
		return nil, c.paramErr(len(in.ImageIDs), "imageIds", "Member must have length between 1 and 100")
	}
	if _, ok := e.d.store.Repository(in.RepositoryName); !ok {
		return nil, e.repositoryNotFound(in.RepositoryName)
	}
	deleted, failures := []imageIdentifier{}, []imageFailure{}
	for _, id := range in.ImageIDs {
		switch {
		case id.ImageDigest == "" && id.ImageTag == "":
			failures = append(failures, imageFailure{ImageID: id, FailureCode: "MissingDigestAndTag", FailureReason: "Missing image digest and tag"})
			continue
		case id.ImageDigest != "" && !digestPattern.MatchString(id.ImageDigest):
			failures = append(failures, imageFailure{ImageID: id, FailureCode: "InvalidImageDigest", FailureReason: "Invalid image digest"})
			continue
		}
		for _, res := range e.d.store.DeleteImage(in.RepositoryName, id.ImageTag, id.ImageDigest) {
			switch res.Failure {
			case "":
				deleted = append(deleted, imageIdentifier{ImageDigest: res.Digest, ImageTag: res.Tag})
			case "ImageReferencedByManifestList":
				failures = append(failures, imageFailure{ImageID: id, FailureCode: res.Failure, FailureReason: "Requested image referenced by a manifest list: [" + res.Digest + "]"})
			default:
				failures = append(failures, imageFailure{ImageID: id, FailureCode: res.Failure, FailureReason: "Requested image not found"})
			}
		}
	}
	return map[string]any{"imageIds": deleted, "failures": failures}, nil
}

func (e *ecrAPI) lifecycleRepo(c *ecrCall, registryID, repo string) *apiError {
	if err := e.checkRegistry(c, registryID); err != nil {
		return err
	}
	if err := c.checkRepositoryName(repo); err != nil {
		return err
	}
	if _, ok := e.d.store.Repository(repo); !ok {
		return e.repositoryNotFound(repo)
	}
	return nil
}

func (e *ecrAPI) lifecyclePolicyNotFound(repo string) *apiError {
	return newAPIError(http.StatusBadRequest, "LifecyclePolicyNotFoundException",
		"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", repo, e.d.cfg.AccountID)
}

func (e *ecrAPI) getLifecyclePolicy(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.lifecycleRepo(c, in.RegistryID, in.RepositoryName); err != nil {
		return nil, err
	}
	text, evaluated, ok := e.d.store.LifecyclePolicy(in.RepositoryName)
	if !ok {
		return nil, e.lifecyclePolicyNotFound(in.RepositoryName)
	}
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryName": in.RepositoryName,
		"lifecyclePolicyText": text, "lastEvaluatedAt": epochPtr(evaluated)}, nil
}

func lifecycleInvalid(field string, err error) *apiError {
	return invalidParam("Invalid parameter at '%s' failed to satisfy constraint: 'Lifecycle policy validation failure: %v'", field, err)
}

func (e *ecrAPI) putLifecyclePolicy(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID          string `json:"registryId"`
		RepositoryName      string `json:"repositoryName"`
		LifecyclePolicyText string `json:"lifecyclePolicyText"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var ve validationErrors
	lengthBetween(&ve, "lifecyclePolicyText", in.LifecyclePolicyText, 100, 30720)
	if err := ve.err("ValidationException"); err != nil {
		return nil, err
	}
	if err := e.lifecycleRepo(c, in.RegistryID, in.RepositoryName); err != nil {
		return nil, err
	}
	if _, err := parseLifecyclePolicy(in.LifecyclePolicyText); err != nil {
		return nil, lifecycleInvalid("LifecyclePolicyText", err)
	}
	e.d.store.PutLifecyclePolicy(in.RepositoryName, in.LifecyclePolicyText)
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryName": in.RepositoryName, "lifecyclePolicyText": in.LifecyclePolicyText}, nil
}

func (e *ecrAPI) deleteLifecyclePolicy(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.lifecycleRepo(c, in.RegistryID, in.RepositoryName); err != nil {
		return nil, err
	}
	p, ok := e.d.store.deleteLifecyclePolicy(in.RepositoryName)
	if !ok {
		return nil, e.lifecyclePolicyNotFound(in.RepositoryName)
	}
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryName": in.RepositoryName,
		"lifecyclePolicyText": p.Text, "lastEvaluatedAt": epochPtr(p.LastEvaluatedAt)}, nil
}

// --- repository creation templates ---

var templatePrefixPattern = regexp.MustCompile(`^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$`)

type templateInput struct {
	creationTemplate
	present map[string]json.RawMessage
}

func (c *ecrCall) decodeTemplate(requireAppliedFor bool) (templateInput, *apiError) {
	var in templateInput
	if err := c.decode(&in.creationTemplate); err != nil {
		return in, err
	}
	_ = json.Unmarshal(c.body, &in.present)
	var ve validationErrors
	if in.Prefix == "" {
		ve.add(nil, "prefix", "Member must not be null")
	} else {
		lengthBetween(&ve, "prefix", in.Prefix, 1, 256)
		if !templatePrefixPattern.MatchString(in.Prefix) {
			ve.add(in.Prefix, "prefix", "Member must satisfy regular expression pattern: "+templatePrefixPattern.String())
		}
	}
	if len(in.Description) > 256 {
		ve.add(in.Description, "description", "Member must have length less than or equal to 256")
	}
	if requireAppliedFor && len(in.AppliedFor) == 0 {
		ve.add(nil, "appliedFor", "Member must not be null")
	}
	for _, a := range in.AppliedFor {
		if !slices.Contains([]string{"REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH"}, a) {
			ve.add(a, "appliedFor", "Member must satisfy enum value set: [REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH]")
		}
	}
	if m := in.ImageTagMutability; m != "" && !slices.Contains([]string{"MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"}, m) {
		ve.add(m, "imageTagMutability", "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]")
	}
	if len(in.LifecyclePolicy) > 30720 {
		ve.add(len(in.LifecyclePolicy), "lifecyclePolicy", "Member must have length less than or equal to 30720")
	}
	for _, t := range in.ResourceTags {
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 {
			ve.add(t.Key, "resourceTags", "Tag keys have 1–128 characters and values at most 256")
		}
	}
	if err := ve.err("ValidationException"); err != nil {
		return in, err
	}
	if in.LifecyclePolicy != "" {
		if _, err := parseLifecyclePolicy(in.LifecyclePolicy); err != nil {
			return in, lifecycleInvalid("lifecyclePolicy", err)
		}
	}
	return in, nil
}

func (e *ecrAPI) templateJSON(t *creationTemplate) map[string]any {
	out := map[string]any{"prefix": t.Prefix, "appliedFor": t.AppliedFor, "createdAt": epochPtr(t.CreatedAt), "updatedAt": epochPtr(t.UpdatedAt),
		"imageTagMutability": cmpOr(t.ImageTagMutability, "MUTABLE")}
	if t.Description != "" {
		out["description"] = t.Description
	}
	if len(t.ResourceTags) > 0 {
		out["resourceTags"] = t.ResourceTags
	}
	if t.LifecyclePolicy != "" {
		out["lifecyclePolicy"] = t.LifecyclePolicy
	}
	if t.RepositoryPolicy != "" {
		out["repositoryPolicy"] = t.RepositoryPolicy
	}
	if t.CustomRoleArn != "" {
		out["customRoleArn"] = t.CustomRoleArn
	}
	enc := map[string]any{"encryptionType": "AES256"}
	if t.EncryptionConfig != nil && t.EncryptionConfig.EncryptionType != "" {
		enc["encryptionType"] = t.EncryptionConfig.EncryptionType
		if t.EncryptionConfig.KmsKey != "" {
			enc["kmsKey"] = t.EncryptionConfig.KmsKey
		}
	}
	out["encryptionConfiguration"] = enc
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func templateNotFound(prefix string) *apiError {
	return newAPIError(http.StatusBadRequest, "TemplateNotFoundException", "The specified repository creation template with prefix '%s' does not exist.", prefix)
}

func (e *ecrAPI) createRepositoryCreationTemplate(c *ecrCall) (any, *apiError) {
	in, err := c.decodeTemplate(true)
	if err != nil {
		return nil, err
	}
	s := e.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.adminLocked()
	if _, ok := a.templates[in.Prefix]; ok {
		return nil, newAPIError(http.StatusBadRequest, "TemplateAlreadyExistsException", "The repository creation template with prefix '%s' already exists.", in.Prefix)
	}
	t := in.creationTemplate
	t.CreatedAt, t.UpdatedAt = s.now(), s.now()
	a.templates[in.Prefix] = &t
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryCreationTemplate": e.templateJSON(&t)}, nil
}

func (e *ecrAPI) updateRepositoryCreationTemplate(c *ecrCall) (any, *apiError) {
	in, err := c.decodeTemplate(false)
	if err != nil {
		return nil, err
	}
	s := e.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked().templates[in.Prefix]
	if !ok {
		return nil, templateNotFound(in.Prefix)
	}
	// Members the request names replace the template's; the others stay.
	set := func(k string) bool { _, ok := in.present[k]; return ok }
	if set("description") {
		t.Description = in.Description
	}
	if set("resourceTags") {
		t.ResourceTags = in.ResourceTags
	}
	if set("imageTagMutability") {
		t.ImageTagMutability = in.ImageTagMutability
	}
	if set("repositoryPolicy") {
		t.RepositoryPolicy = in.RepositoryPolicy
	}
	if set("lifecyclePolicy") {
		t.LifecyclePolicy = in.LifecyclePolicy
	}
	if set("appliedFor") {
		t.AppliedFor = in.AppliedFor
	}
	if set("customRoleArn") {
		t.CustomRoleArn = in.CustomRoleArn
	}
	if set("encryptionConfiguration") {
		t.EncryptionConfig = in.EncryptionConfig
	}
	t.UpdatedAt = s.now()
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryCreationTemplate": e.templateJSON(t)}, nil
}

func (e *ecrAPI) deleteRepositoryCreationTemplate(c *ecrCall) (any, *apiError) {
	var in struct {
		Prefix string `json:"prefix"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var ve validationErrors
	if in.Prefix == "" {
		ve.add(nil, "prefix", "Member must not be null")
	}
	if err := ve.err("ValidationException"); err != nil {
		return nil, err
	}
	s := e.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.adminLocked()
	t, ok := a.templates[in.Prefix]
	if !ok {
		return nil, templateNotFound(in.Prefix)
	}
	delete(a.templates, in.Prefix)
	return map[string]any{"registryId": e.d.cfg.AccountID, "repositoryCreationTemplate": e.templateJSON(t)}, nil
}

func (e *ecrAPI) describeRepositoryCreationTemplates(c *ecrCall) (any, *apiError) {
	var in struct {
		Prefixes   []string `json:"prefixes"`
		NextToken  string   `json:"nextToken"`
		MaxResults *int     `json:"maxResults"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s := e.d.store
	s.mu.Lock()
	a := s.adminLocked()
	var keys []string
	if in.Prefixes != nil {
		for _, p := range in.Prefixes {
			if _, ok := a.templates[p]; ok {
				keys = append(keys, p)
			}
		}
	} else {
		for p := range a.templates {
			keys = append(keys, p)
		}
	}
	sort.Strings(keys)
	s.mu.Unlock()
	start, end, next, err := c.page(keys, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	s.mu.Lock()
	for _, k := range keys[start:end] {
		if t := a.templates[k]; t != nil {
			out = append(out, e.templateJSON(t))
		}
	}
	s.mu.Unlock()
	res := map[string]any{"registryId": e.d.cfg.AccountID, "repositoryCreationTemplates": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// listTagsForResource answers for repository ARNs (arn:aws:ecr:<region>:<account>:repository/<name>).
func (e *ecrAPI) listTagsForResource(c *ecrCall) (any, *apiError) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/", e.d.cfg.Region, e.d.cfg.AccountID)
	repo, ok := strings.CutPrefix(in.ResourceArn, prefix)
	if !ok {
		return nil, invalidParam("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN %s'", in.ResourceArn)
	}
	if _, ok := e.d.store.Repository(repo); !ok {
		return nil, e.repositoryNotFound(repo)
	}
	tags := e.d.store.RepositoryTags(repo)
	if tags == nil {
		tags = []Tag{}
	}
	return map[string]any{"tags": tags}, nil
}
