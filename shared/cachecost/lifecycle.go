package cachecost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// TemplateDescription marks the templates ecr-ptc manages.
const TemplateDescription = "ecr-ptc: lifecycle policy for pull-through cache repositories"

// Policy is the lifecycle policy text: expire untagged images untaggedDays after they were pushed
// (old digests a moved tag left behind, and index children), and any image not pulled for unpulledDays
// (ECR user guide, lifecycle policy properties: countType sinceImagePushed / sinceImagePulled). A zero
// number leaves that rule out; at least one is needed.
func Policy(untaggedDays, unpulledDays int) (string, error) {
	if untaggedDays < 0 || unpulledDays < 0 || untaggedDays > 3650 || unpulledDays > 3650 {
		return "", errors.New("the expiry days must be between 1 and 3650 (0 leaves the rule out)")
	}
	if untaggedDays == 0 && unpulledDays == 0 {
		return "", errors.New("nothing to expire: give --expire-untagged-days and/or --expire-unpulled-days")
	}
	type sel struct {
		TagStatus   string `json:"tagStatus"`
		CountType   string `json:"countType"`
		CountUnit   string `json:"countUnit"`
		CountNumber int    `json:"countNumber"`
	}
	type rule struct {
		RulePriority int    `json:"rulePriority"`
		Description  string `json:"description"`
		Selection    sel    `json:"selection"`
		Action       struct {
			Type string `json:"type"`
		} `json:"action"`
	}
	var rs []rule
	if untaggedDays > 0 {
		r := rule{RulePriority: len(rs) + 1, Description: fmt.Sprintf("ecr-ptc: expire untagged images %d day(s) after they were cached", untaggedDays),
			Selection: sel{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: untaggedDays}}
		r.Action.Type = "expire"
		rs = append(rs, r)
	}
	if unpulledDays > 0 {
		r := rule{RulePriority: len(rs) + 1, Description: fmt.Sprintf("ecr-ptc: expire images not pulled for %d day(s); the cache imports them again on the next pull", unpulledDays),
			Selection: sel{TagStatus: "any", CountType: "sinceImagePulled", CountUnit: "days", CountNumber: unpulledDays}}
		r.Action.Type = "expire"
		rs = append(rs, r)
	}
	out, err := json.Marshal(map[string]any{"rules": rs})
	return string(out), err
}

// LifecycleAPI is the ECR calls Plan and Apply need.
type LifecycleAPI interface {
	ReportAPI
	PutLifecyclePolicy(ctx context.Context, in *ecr.PutLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.PutLifecyclePolicyOutput, error)
	DescribeRepositoryCreationTemplates(ctx context.Context, in *ecr.DescribeRepositoryCreationTemplatesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoryCreationTemplatesOutput, error)
	CreateRepositoryCreationTemplate(ctx context.Context, in *ecr.CreateRepositoryCreationTemplateInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryCreationTemplateOutput, error)
	UpdateRepositoryCreationTemplate(ctx context.Context, in *ecr.UpdateRepositoryCreationTemplateInput, optFns ...func(*ecr.Options)) (*ecr.UpdateRepositoryCreationTemplateOutput, error)
}

// Action is what a change does.
type Action string

// Actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
)

// Change is one lifecycle policy (on a repository) or template (for a rule prefix) to set.
type Change struct {
	Kind    string `json:"kind"` // "repository" or "template"
	Name    string `json:"name"` // repository name or template prefix
	Action  Action `json:"action"`
	Old     string `json:"old,omitempty"` // the policy text now
	New     string `json:"new"`
	Warning string `json:"warning,omitempty"`
	// AppliedFor is set on a template change: the scenarios after it (PULL_THROUGH_CACHE added).
	AppliedFor []string `json:"appliedFor,omitempty"`
}

// Plan compares every cache repository's policy and each prefix's creation template with policy.
func Plan(ctx context.Context, client LifecycleAPI, prefixes []string, policy string) ([]Change, error) {
	repos, err := CacheRepositories(ctx, client, prefixes)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, r := range repos {
		c := Change{Kind: "repository", Name: r.Name, New: policy, Action: Create}
		got, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(r.Name)})
		var none *types.LifecyclePolicyNotFoundException
		switch {
		case err == nil:
			c.Old = aws.ToString(got.LifecyclePolicyText)
			c.Action = Update
			if SamePolicy(c.Old, policy) {
				c.Action = Unchanged
			}
		case errors.As(err, &none):
		default:
			return nil, fmt.Errorf("ECR GetLifecyclePolicy %s: %w", r.Name, err)
		}
		out = append(out, c)
	}
	existing := map[string]types.RepositoryCreationTemplate{}
	if len(prefixes) > 0 {
		p := ecr.NewDescribeRepositoryCreationTemplatesPaginator(client, &ecr.DescribeRepositoryCreationTemplatesInput{Prefixes: prefixes})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("ECR DescribeRepositoryCreationTemplates: %w", err)
			}
			for _, t := range page.RepositoryCreationTemplates {
				existing[aws.ToString(t.Prefix)] = t
			}
		}
	}
	for _, prefix := range prefixes {
		c := Change{Kind: "template", Name: prefix, New: policy, Action: Create, AppliedFor: []string{string(types.RCTAppliedForPullThroughCache)}}
		if t, ok := existing[prefix]; ok {
			c.Old = aws.ToString(t.LifecyclePolicy)
			applied := make([]string, 0, len(t.AppliedFor)+1)
			for _, a := range t.AppliedFor {
				applied = append(applied, string(a))
			}
			if !slices.Contains(applied, string(types.RCTAppliedForPullThroughCache)) {
				applied = append(applied, string(types.RCTAppliedForPullThroughCache))
			}
			c.AppliedFor = applied
			c.Action = Update
			if SamePolicy(c.Old, policy) && len(applied) == len(t.AppliedFor) {
				c.Action = Unchanged
			}
			if len(t.ResourceTags) > 0 {
				c.Warning = "this template puts resource tags on the repositories it creates: tags on templates have broken pull-through cache imports before (repositories not created, pulls failing); check a first pull after changing it"
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Apply carries out the changes that are not Unchanged, in order, and stops at the first failure.
func Apply(ctx context.Context, client LifecycleAPI, changes []Change) error {
	for _, c := range changes {
		if c.Action == Unchanged {
			continue
		}
		var err error
		switch {
		case c.Kind == "repository":
			_, err = client.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(c.Name), LifecyclePolicyText: aws.String(c.New)})
		case c.Action == Create:
			// No resourceTags: tags on templates have broken pull-through cache imports before.
			_, err = client.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
				Prefix: aws.String(c.Name), Description: aws.String(TemplateDescription), LifecyclePolicy: aws.String(c.New),
				AppliedFor: appliedFor(c.AppliedFor),
			})
		default:
			_, err = client.UpdateRepositoryCreationTemplate(ctx, &ecr.UpdateRepositoryCreationTemplateInput{
				Prefix: aws.String(c.Name), LifecyclePolicy: aws.String(c.New), AppliedFor: appliedFor(c.AppliedFor),
			})
		}
		if err != nil {
			return fmt.Errorf("cannot %s the %s %s: %w", c.Action, c.Kind, c.Name, err)
		}
	}
	return nil
}

func appliedFor(s []string) []types.RCTAppliedFor {
	out := make([]types.RCTAppliedFor, len(s))
	for i, a := range s {
		out[i] = types.RCTAppliedFor(a)
	}
	return out
}

// SamePolicy compares two policy texts as JSON (ECR may reformat what it stores).
func SamePolicy(a, b string) bool {
	return canonical(a) == canonical(b)
}

func canonical(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// Pretty indents a policy text for a diff.
func Pretty(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}

// Diff is a line diff of two texts ("- " removed, "+ " added, "  " kept), by longest common subsequence.
func Diff(old, new string) []string {
	a, b := strings.Split(old, "\n"), strings.Split(new, "\n")
	if old == "" {
		a = nil
	}
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "+ "+b[j])
			j++
		default:
			out = append(out, "- "+a[i])
			i++
		}
	}
	return out
}
