package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// Reference: "STS AssumeRoleWithWebIdentity: DurationSeconds 900 up to the role's MaxSessionDuration
// (default 3600, at most 43200); above it STS answers ValidationError '... exceeds the
// MaxSessionDuration set for this role'" (STS API reference, DurationSeconds).
func TestRolesMaxSessionDuration(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Roles: map[string]sandbox.RoleTrust{
		"ci":   {},                                  // IAM's default: 1 h
		"long": {MaxSessionDuration: 4 * time.Hour}, // raised by the account
	}})
	ctx := context.Background()
	tok, err := sb.MintToken(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	anon := stsClient(t, sb, aws.AnonymousCredentials{}, 1)
	assume := func(role string, seconds int32) error {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + role), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok)}
		if seconds != 0 {
			in.DurationSeconds = aws.Int32(seconds)
		}
		_, err := anon.AssumeRoleWithWebIdentity(ctx, in)
		return err
	}
	for _, c := range []struct {
		role    string
		seconds int32
		ok      bool
	}{
		{"ci", 0, true}, {"ci", 3600, true}, {"ci", 3601, false}, {"ci", 43200, false},
		{"long", 4 * 3600, true}, {"long", 4*3600 + 1, false},
	} {
		err := assume(c.role, c.seconds)
		if c.ok && err != nil {
			t.Errorf("%s for %d s: %v", c.role, c.seconds, err)
		}
		if !c.ok {
			wantCode(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	// IAM refuses a MaxSessionDuration outside 1–12 h.
	if _, err := sandbox.Start(ctx, sandbox.Config{NoSeed: true, Roles: map[string]sandbox.RoleTrust{"x": {MaxSessionDuration: 13 * time.Hour}}}); err == nil {
		t.Error("a 13 h MaxSessionDuration was accepted")
	}
}
