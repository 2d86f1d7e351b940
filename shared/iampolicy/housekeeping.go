package iampolicy

// cacheHousekeeping is what `ecr-ptc refresh`, `cache report` and `cache lifecycle` do to the cache
// repositories: delete a cached tag to re-import it, read and set lifecycle policies, read tags.
func cacheHousekeeping(o Options) Statement {
	return Statement{Sid: "CacheHousekeeping", Effect: "Allow", Action: []string{
		"ecr:BatchDeleteImage",
		"ecr:GetLifecyclePolicy",
		"ecr:ListTagsForResource",
		"ecr:PutLifecyclePolicy",
	}, Resource: o.repositories()}
}

// creationTemplates manages the repository creation templates that carry the lifecycle policy to the
// cache repositories created later. Templates are registry-level resources, which IAM names with "*".
func creationTemplates() Statement {
	return Statement{Sid: "RepositoryCreationTemplates", Effect: "Allow", Action: []string{
		"ecr:CreateRepositoryCreationTemplate",
		"ecr:DeleteRepositoryCreationTemplate",
		"ecr:DescribeRepositoryCreationTemplates",
		"ecr:UpdateRepositoryCreationTemplate",
	}, Resource: []string{"*"}}
}
