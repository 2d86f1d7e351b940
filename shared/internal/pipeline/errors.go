package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

// UsageError marks an error in what the user asked for (the command line exits 2 on it).
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// CredSource says where the credentials came from, for logs (never the secrets).
type CredSource struct {
	Kind   string // "github-oidc", "gitlab-oidc", "token-file", "assume-role", "default-chain"
	Detail string
}

func (c CredSource) String() string {
	if c.Detail == "" {
		return c.Kind
	}
	return c.Kind + " (" + c.Detail + ")"
}

// CredentialsError explains a failure to get credentials in one sentence.
func CredentialsError(err error, src CredSource) error {
	var ae *awscreds.Error
	if errors.As(err, &ae) {
		return ae
	}
	if strings.Contains(err.Error(), ecrx.NoCredentials) || strings.Contains(err.Error(), "failed to refresh cached credentials") {
		return fmt.Errorf("no AWS credentials (%s): in GitHub Actions pass role-to-assume with `permissions: id-token: write`; in GitLab pass --role-arn with an id_tokens variable; on CodeBuild the service role is used; locally configure a profile or AWS_ACCESS_KEY_ID", src)
	}
	return err
}
