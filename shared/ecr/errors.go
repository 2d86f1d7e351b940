package ecr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
)

// apiError says what an AWS call answered in one short sentence: the error code and message, the HTTP
// status and the attempts the SDK made — not the SDK's nested "operation error ..." chain.
func apiError(op string, err error) error {
	// Credentials that could not be had say so themselves, with the fix and without the raw STS text.
	var ce *awscreds.Error
	if errors.As(err, &ce) {
		return ce
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return &wrapped{msg: op + " failed: " + transportMessage(err), err: err}
	}
	msg := fmt.Sprintf("%s failed: %s: %s", op, ae.ErrorCode(), strings.TrimSuffix(ae.ErrorMessage(), "."))
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		msg += fmt.Sprintf(" (HTTP %d", re.HTTPStatusCode())
		var ma *retry.MaxAttemptsError
		if errors.As(err, &ma) {
			msg += fmt.Sprintf(", after %d attempts", ma.Attempt)
		}
		msg += ")"
	}
	return &wrapped{msg: msg, err: err}
}

// transportMessage describes a request that got no answer: a timeout or a connection failure, with the
// attempts the SDK made.
func transportMessage(err error) string {
	var ne net.Error
	msg := ""
	switch {
	case strings.Contains(err.Error(), "failed to refresh cached credentials"):
		// The SDK's credential chain found nothing; the caller turns this into the fix.
		return NoCredentials + " (" + innermost(err).Error() + ")"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		msg = "the endpoint did not answer in time"
	default:
		msg = innermost(err).Error()
	}
	var ma *retry.MaxAttemptsError
	if errors.As(err, &ma) {
		msg += fmt.Sprintf(" (after %d attempts)", ma.Attempt)
	}
	return msg
}

// NoCredentials starts the message of a call that had no credentials to sign with.
const NoCredentials = "no AWS credentials could be found"

func innermost(err error) error {
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err
}

// wrapped keeps the SDK error for errors.As while printing the short message.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// registryStatus is the HTTP status a registry request failed with, or 0.
func registryStatus(err error) int {
	var us remoteerrors.ErrUnexpectedStatus
	if errors.As(err, &us) {
		return us.StatusCode
	}
	return 0
}

// transientRegistryError: worth another try after a pause.
func transientRegistryError(err error) bool {
	s := registryStatus(err)
	return s == 429 || s >= 500
}

// registryError says why a pull through the cache failed, in one sentence.
func registryError(err error) string {
	switch s := registryStatus(err); {
	case s == 429:
		return "the cache answered 429 Too Many Requests: the upstream registry rate-limited the cache's first pull (Docker Hub's anonymous limit?); give the rule a credential or retry later"
	case s == 401 || s == 403:
		return fmt.Sprintf("the cache refused the login (HTTP %d): run `ecr-ptc login` again, and check the role may pull (`ecr-ptc iam-policy --for ci`)", s)
	case s >= 500:
		return fmt.Sprintf("the cache registry answered HTTP %d (the upstream may be unavailable); retry later", s)
	}
	return warmError(err)
}
