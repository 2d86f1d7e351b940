// Package cachecost reports what the repositories a pull-through cache created hold and cost, and keeps
// them tidy with lifecycle policies and repository creation templates. The cache never deletes what
// it imported: without a lifecycle policy every digest a moving tag ever named stays, billed as storage
// (aws/containers-roadmap#1758, #2054, #2705, #2728).
package cachecost

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// GiB is the unit storage is priced in (a "GB-month" on the ECR price list).
const GiB = 1 << 30

// ReportAPI is the ECR calls Build needs.
type ReportAPI interface {
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	GetLifecyclePolicy(ctx context.Context, in *ecr.GetLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyOutput, error)
}

// Options tune the report.
type Options struct {
	PricePerGBMonth float64 // USD per GiB-month (ECR: 0.10)
	UnpulledDays    int     // an image not pulled for this many days counts as unpulled
	UntaggedDays    int     // the proposed policy's age for untagged images (default 1)
	Now             time.Time
}

// Repository is one cache repository.
type Repository struct {
	Name          string     `json:"name"`
	Rule          string     `json:"rule"` // the ecrRepositoryPrefix that created it
	CreatedAt     *time.Time `json:"createdAt,omitempty"`
	Images        int        `json:"images"`
	Untagged      int        `json:"untagged"`
	Bytes         int64      `json:"bytes"`
	LastPull      *time.Time `json:"lastPull,omitempty"` // the latest lastRecordedPullTime
	Unpulled      int        `json:"unpulled"`           // images not pulled for UnpulledDays (never pulled: counted from the push)
	UnpulledBytes int64      `json:"unpulledBytes"`
	Lifecycle     bool       `json:"lifecyclePolicy"`
	MonthlyCost   float64    `json:"monthlyCostUSD"`
	// Savings is the monthly cost of what the proposed policy (untagged after UntaggedDays, unpulled
	// after UnpulledDays) would expire now: a lower bound (see Build).
	Savings float64 `json:"savingsUSD"`
}

// Report is every cache repository with totals.
type Report struct {
	GeneratedAt     time.Time    `json:"generatedAt"`
	PricePerGBMonth float64      `json:"pricePerGBMonth"`
	UnpulledDays    int          `json:"unpulledDays"`
	Repositories    []Repository `json:"repositories"`
	Total           Repository   `json:"total"`
	WithoutPolicy   int          `json:"repositoriesWithoutPolicy"`
}

// Prefixes lists the rules' ecrRepositoryPrefix values without trailing slashes.
func Prefixes(set rules.Set) []string {
	var out []string
	for _, r := range set.Rules {
		out = append(out, strings.TrimSuffix(r.ECRRepositoryPrefix, "/"))
	}
	sort.Strings(out)
	return out
}

// RuleOf is the longest prefix that starts repo ("" when none: not a cache repository). ROOT matches
// every repository.
func RuleOf(prefixes []string, repo string) string {
	best := ""
	for _, p := range prefixes {
		if p == rules.Root {
			if best == "" {
				best = p
			}
			continue
		}
		if strings.HasPrefix(repo, p+"/") && (best == "" || best == rules.Root || len(p) > len(best)) {
			best = p
		}
	}
	return best
}

// CacheRepositories lists the repositories the rules created (matched by rule prefix), with createdAt.
func CacheRepositories(ctx context.Context, client ReportAPI, prefixes []string) ([]Repository, error) {
	var out []Repository
	p := ecr.NewDescribeRepositoriesPaginator(client, &ecr.DescribeRepositoriesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ECR DescribeRepositories: %w", err)
		}
		for _, r := range page.Repositories {
			name := aws.ToString(r.RepositoryName)
			if rule := RuleOf(prefixes, name); rule != "" {
				out = append(out, Repository{Name: name, Rule: rule, CreatedAt: r.CreatedAt})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Build reads every cache repository's images and lifecycle policy.
func Build(ctx context.Context, client ReportAPI, prefixes []string, o Options) (Report, error) {
	if o.UntaggedDays == 0 {
		o.UntaggedDays = 1
	}
	rep := Report{GeneratedAt: o.Now, PricePerGBMonth: o.PricePerGBMonth, UnpulledDays: o.UnpulledDays, Repositories: []Repository{}}
	repos, err := CacheRepositories(ctx, client, prefixes)
	if err != nil {
		return rep, err
	}
	unpulledAge := time.Duration(o.UnpulledDays) * 24 * time.Hour
	untaggedAge := time.Duration(o.UntaggedDays) * 24 * time.Hour
	for _, r := range repos {
		var expirable int64
		p := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{RepositoryName: aws.String(r.Name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			var gone *types.RepositoryNotFoundException
			if errors.As(err, &gone) {
				break // deleted meanwhile
			}
			if err != nil {
				return rep, fmt.Errorf("ECR DescribeImages %s: %w", r.Name, err)
			}
			for _, img := range page.ImageDetails {
				size := aws.ToInt64(img.ImageSizeInBytes)
				index := isIndex(aws.ToString(img.ImageManifestMediaType))
				r.Images++
				if !index {
					// An index's imageSizeInBytes is its largest child (reference), and the children are
					// images of their own: count the bytes once, on the children.
					r.Bytes += size
				}
				last := img.LastRecordedPullTime
				if last != nil && (r.LastPull == nil || last.After(*r.LastPull)) {
					r.LastPull = last
				}
				ref := last
				if ref == nil {
					ref = img.ImagePushedAt
				}
				unpulled := ref != nil && o.Now.Sub(*ref) >= unpulledAge
				if unpulled {
					r.Unpulled++
					if !index {
						r.UnpulledBytes += size
						expirable += size
					}
				}
				untagged := len(img.ImageTags) == 0
				if untagged {
					r.Untagged++
				}
				// An old untagged index (a digest a moved tag left behind) goes with its children: its
				// size, the largest child, is a lower bound of what expiring it frees. Untagged image
				// manifests may be children of a live index, so they count only once unpulled.
				if index && untagged && !unpulled && img.ImagePushedAt != nil && o.Now.Sub(*img.ImagePushedAt) >= untaggedAge {
					expirable += size
				}
			}
		}
		_, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(r.Name)})
		var none *types.LifecyclePolicyNotFoundException
		switch {
		case err == nil:
			r.Lifecycle = true
		case errors.As(err, &none):
		default:
			return rep, fmt.Errorf("ECR GetLifecyclePolicy %s: %w", r.Name, err)
		}
		r.MonthlyCost = cost(r.Bytes, o.PricePerGBMonth)
		r.Savings = cost(expirable, o.PricePerGBMonth)
		rep.Repositories = append(rep.Repositories, r)
		t := &rep.Total
		t.Images += r.Images
		t.Untagged += r.Untagged
		t.Bytes += r.Bytes
		t.Unpulled += r.Unpulled
		t.UnpulledBytes += r.UnpulledBytes
		t.MonthlyCost += r.MonthlyCost
		t.Savings += r.Savings
		if r.LastPull != nil && (t.LastPull == nil || r.LastPull.After(*t.LastPull)) {
			t.LastPull = r.LastPull
		}
		if !r.Lifecycle {
			rep.WithoutPolicy++
		}
	}
	rep.Total.Name = fmt.Sprintf("%d repositories", len(rep.Repositories))
	return rep, nil
}

func isIndex(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.index.v1+json" || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func cost(bytes int64, price float64) float64 { return float64(bytes) / GiB * price }

// HumanBytes renders a size with binary units (the cache report's renderer; an empty size is 0 B here).
func HumanBytes(n int64) string {
	if n <= 0 {
		return "0 B"
	}
	return report.HumanSize(n)
}
