package ecr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/ecr-ptc/ecr-ptc/shared/awscreds"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
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

// registryError says why a pull through the cache failed, in one sentence, with the fix for what the
// registry answered (pullhint: a 403/DENIED on a cache path is a path, upstream or credential problem;
// only a 401 asks for a new login).
func registryError(err error, p pullhint.Path) string {
	f := pullhint.FromError(err)
	hint := pullhint.Hint(f, p)
	if hint == "" {
		return warmError(err)
	}
	if f.Status == http.StatusNotFound && f.Code == "" {
		return hint // "not found through the cache: ..."
	}
	what := "the cache answered"
	if f.Status != 0 {
		what += fmt.Sprintf(" %d %s", f.Status, http.StatusText(f.Status))
	}
	switch {
	case f.Code != "" && f.Message != "":
		what += fmt.Sprintf(" (%s: %s)", f.Code, strings.TrimSuffix(f.Message, "."))
	case f.Code != "":
		what += " (" + f.Code + ")"
	}
	return what + ": " + hint
}

// withPermissionFix adds the policy fix to an AccessDenied that names the IAM action the caller lacks.
func withPermissionFix(err error) error {
	if a := pullhint.MissingAction(err.Error()); a != "" {
		return &wrapped{msg: err.Error() + "; " + pullhint.PermissionFix(a), err: err}
	}
	return err
}
