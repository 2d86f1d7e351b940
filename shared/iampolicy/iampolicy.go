// Package iampolicy writes least-privilege IAM policies for pulling through an ECR pull-through cache
// and for managing its rules.
package iampolicy

import (
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
)

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// Options scope the policy.
type Options struct {
	Account string // "" → *
	Region  string // "" → *
	// Partition of the ARNs ("aws", "aws-cn", "aws-us-gov", ...); "" → the region's (ecrhost.PartitionOf).
	Partition string
	Prefixes  []string
	// EnsureRules lets the CI role create the rules its Dockerfiles need.
	EnsureRules bool
}

func (o Options) arn(resource string) string {
	acct, region := o.Account, o.Region
	if acct == "" {
		acct = "*"
	}
	if region == "" {
		region = "*"
	}
	partition := o.Partition
	if partition == "" {
		partition = ecrhost.PartitionOf(o.Region)
	}
	return "arn:" + partition + ":ecr:" + region + ":" + acct + ":" + resource
}

func (o Options) repositories() []string {
	out := make([]string, 0, len(o.Prefixes))
	for _, p := range o.Prefixes {
		p = strings.TrimSuffix(p, "/")
		if p == "ROOT" {
			out = append(out, o.arn("repository/*"))
			continue
		}
		out = append(out, o.arn("repository/"+p+"/*"))
	}
	return out
}

// CI is the policy a build role needs: log in, read and validate rules (`ecr-ptc doctor`), and pull
// through the cache. A first pull creates the repository and imports the image, which needs
// ecr:BatchImportUpstreamImage and ecr:CreateRepository on top of the usual pull actions (reference).
// Rule actions act on the registry, which IAM names with "*".
func CI(o Options) Document {
	d := Document{Version: "2012-10-17", Statement: []Statement{
		{Sid: "EcrLogin", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "ReadPullThroughCacheRules", Effect: "Allow", Action: []string{"ecr:DescribePullThroughCacheRules", "ecr:ValidatePullThroughCacheRule"}, Resource: []string{"*"}},
		{Sid: "PullThroughCache", Effect: "Allow", Action: []string{
			"ecr:BatchCheckLayerAvailability",
			"ecr:BatchGetImage",
			"ecr:BatchImportUpstreamImage",
			"ecr:CreateRepository",
			"ecr:DescribeImages",
			"ecr:DescribeRepositories",
			"ecr:GetDownloadUrlForLayer",
		}, Resource: o.repositories()},
	}}
	if o.EnsureRules {
		d.Statement = append(d.Statement, Statement{Sid: "EnsurePullThroughCacheRules", Effect: "Allow", Action: []string{"ecr:CreatePullThroughCacheRule"}, Resource: []string{"*"}})
	}
	return d
}

// Admin is the policy of the role that manages the rules.
func Admin(o Options) Document {
	return Document{Version: "2012-10-17", Statement: []Statement{
		{Sid: "ManagePullThroughCacheRules", Effect: "Allow", Action: []string{
			"ecr:CreatePullThroughCacheRule",
			"ecr:DeletePullThroughCacheRule",
			"ecr:DescribePullThroughCacheRules",
			"ecr:UpdatePullThroughCacheRule",
			"ecr:ValidatePullThroughCacheRule",
		}, Resource: []string{"*"}},
		{Sid: "InspectCache", Effect: "Allow", Action: []string{"ecr:DescribeImages", "ecr:DescribeRepositories"}, Resource: o.repositories()},
		cacheHousekeeping(o), creationTemplates(), // housekeeping.go
	}}
}
