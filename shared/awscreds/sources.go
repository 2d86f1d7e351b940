package awscreds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
)

// DefaultAudience is the audience AWS's IAM OIDC providers expect by default.
const DefaultAudience = "sts.amazonaws.com"

// StaticToken returns the same token every time: a GitLab id_tokens variable holds one token per job.
func StaticToken(name, value string) TokenFunc {
	return func(context.Context) (string, error) {
		if strings.TrimSpace(value) == "" {
			return "", &Error{Op: "read the GitLab id_token", Msg: "$" + name + " is empty", Hint: "declare it in the job: `id_tokens: " + name + ": aud: sts.amazonaws.com`"}
		}
		return strings.TrimSpace(value), nil
	}
}

// maxTokenFile bounds a web identity token file; real tokens are 1–4 KiB.
const maxTokenFile = 64 << 10

// FileToken re-reads a token file on every call, as Kubernetes and CodeBuild rotate them.
func FileToken(path string) TokenFunc {
	return func(context.Context) (string, error) {
		// A token is a few KiB: bound the read (the path may be /dev/zero) and take regular files only.
		data, err := safefile.Read(path, maxTokenFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = fmt.Errorf("%s: %v", pe.Path, pe.Err)
			}
			return "", fmt.Errorf("cannot read the web identity token file %w", err)
		}
		tok := strings.TrimSpace(string(data))
		if tok == "" {
			return "", fmt.Errorf("the web identity token file %s is empty", path)
		}
		return tok, nil
	}
}
