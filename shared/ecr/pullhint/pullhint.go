// Package pullhint says what to check when a pull through an ECR pull-through cache fails — the one hint
// every client path (probe, warm, the BuildKit frontend, doctor) gives. It is a package of its own, without
// the AWS SDK, so the frontend can use it without growing.
//
// The hint follows what ECR answers (reference, "Registry error bodies"): a wrong path (Docker Hub without
// library/) or an image missing upstream comes back as DENIED "The authentication to the upstream registry
// failed", most likely HTTP 403 — not a login problem; only a 401 means the login itself was refused.
package pullhint

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Failure is what the registry answered to a failed pull.
type Failure struct {
	Status  int    // HTTP status; 0 when unknown
	Code    string // registry error code, upper case: DENIED, MANIFEST_UNKNOWN, NAME_UNKNOWN, UNAUTHORIZED, ...
	Message string // the registry's message, one line; may be empty
}

// FromError reads a failed registry request: containerd's ErrUnexpectedStatus with the registry's JSON
// body when the error carries it, else the error's text (errors that crossed BuildKit's gRPC API).
func FromError(err error) Failure {
	if err == nil {
		return Failure{}
	}
	var us remoteerrors.ErrUnexpectedStatus
	if errors.As(err, &us) {
		f := Failure{Status: us.StatusCode}
		var body struct {
			Errors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(us.Body, &body) == nil && len(body.Errors) > 0 {
			f.Code, f.Message = strings.ToUpper(body.Errors[0].Code), oneLine(body.Errors[0].Message)
		}
		return f
	}
	f := FromText(err.Error())
	if f.Status == 0 && errdefs.IsNotFound(err) {
		f.Status = 404
	}
	return f
}

var (
	statusText = regexp.MustCompile(`unexpected status(?: code)?(?: from \w+ request to \S+)?:? (\d{3})\b`)
	// containerd prints registry errors as "<code in lower case with spaces>: <message>".
	// The colon matters: "pull access denied, ..." is BuildKit's own text, not a registry code.
	codeText = regexp.MustCompile(`(?i)\b(denied|unauthorized|toomanyrequests|too many requests|manifest unknown|name unknown|blob unknown|unavailable):\s*([^\n]*)`)
)

// FromText reads a registry failure from an error's text, as BuildKit and containerd print it.
func FromText(s string) Failure {
	var f Failure
	if m := statusText.FindStringSubmatch(s); m != nil {
		f.Status, _ = strconv.Atoi(m[1])
	}
	if m := codeText.FindStringSubmatch(s); m != nil {
		f.Code = strings.ReplaceAll(strings.ToUpper(m[1]), " ", "_")
		if f.Code == "TOO_MANY_REQUESTS" {
			f.Code = "TOOMANYREQUESTS"
		}
		f.Message = oneLine(m[2])
	}
	lower := strings.ToLower(s)
	switch {
	case f.Status == 0 && f.Code == "" && strings.Contains(lower, "not found"):
		f.Status = 404
	case f.Message == "" && strings.Contains(lower, "authentication to the upstream registry failed"):
		f.Message = "The authentication to the upstream registry failed"
	}
	if f.Message == "" {
		if m := missingAction.FindString(s); m != "" {
			f.Message = m
		}
	}
	return f
}

// Path is what the cache reference that failed stands for; every field may be empty.
type Path struct {
	CacheRef    string      // the reference pulled from the cache registry
	UpstreamRef string      // the upstream image it stands for ("docker.io/library/node:20")
	Rule        *rules.Rule // the rule that serves it
	Fix         string      // the cache reference to use instead, when the path is known to be wrong
}

// PathOf describes a mapping result's cache reference.
func PathOf(m mapping.Result) Path {
	p := Path{UpstreamRef: m.UpstreamRef, Rule: m.Rule, Fix: m.Fix, CacheRef: m.Output}
	if !m.Rewritten {
		p.CacheRef = m.Ref
	}
	return p
}

// missingAction finds the IAM action an AccessDenied text names (ECR: "User: arn:... is not authorized to
// perform: ecr:BatchImportUpstreamImage on resource: ...").
var missingAction = regexp.MustCompile(`not authorized to perform: ([a-z0-9-]+:[A-Za-z0-9]+)`)

// MissingAction is the IAM action an access-denied text says the caller lacks, or "".
func MissingAction(text string) string {
	if m := missingAction.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// PermissionFix is the fix for a missing IAM action on the cache repositories.
func PermissionFix(action string) string {
	why := ""
	switch action {
	case "ecr:BatchImportUpstreamImage":
		why = " (a first pull through a rule imports the image)"
	case "ecr:CreateRepository":
		why = " (a first pull through a rule creates the repository)"
	}
	return fmt.Sprintf("allow %s%s on the cache repositories (arn:aws:ecr:REGION:ACCOUNT:repository/PREFIX/*) in the pulling role's policy; `ecr-ptc iam-policy --for ci` prints the whole policy", action, why)
}

// Hint says what to do about f, a failed pull of p through the cache, in a sentence or two; "" when
// there is nothing to add.
func Hint(f Failure, p Path) string {
	if a := MissingAction(f.Message); a != "" {
		return fmt.Sprintf("the pulling role is not allowed %s: %s", a, PermissionFix(a))
	}
	switch {
	case f.Status == 401 || (f.Status == 0 && f.Code == "UNAUTHORIZED"):
		return "the cache registry refused the login (HTTP 401): the token expired or is for another registry; run `ecr-ptc login` again"
	case f.Status == 429 || f.Code == "TOOMANYREQUESTS":
		return "the upstream registry rate-limited the cache's first pull (Docker Hub's anonymous limit?); give the rule a credential or retry later"
	case f.Status >= 500 || f.Code == "UNAVAILABLE":
		status := ""
		if f.Status != 0 {
			status = fmt.Sprintf(" answered HTTP %d", f.Status)
		} else {
			status = " is unavailable"
		}
		return "the cache registry" + status + " (the upstream may be unavailable); retry later"
	case f.Status == 403 || f.Code == "DENIED" || upstreamAuthText(f.Message):
		return "ECR answers a wrong path or an image missing upstream with DENIED (\"authentication to the upstream registry failed\"), as it does a bad upstream credential, so logging in again will not help; " + checks(p, false)
	case f.Status == 404 || strings.HasSuffix(f.Code, "_UNKNOWN"):
		return "not found through the cache; " + checks(p, true)
	}
	return ""
}

func upstreamAuthText(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "authentication to the upstream registry failed")
}

// checks lists what to check for a path the cache could not fill.
func checks(p Path, notFound bool) string {
	var c []string
	upstreamHost := ""
	if r, err := imageref.Parse(p.UpstreamRef); err == nil {
		upstreamHost = r.Host
	} else if p.Rule != nil {
		upstreamHost = p.Rule.UpstreamHost()
	}
	fix := ""
	switch {
	case p.Fix != "":
		fix = "use " + p.Fix + " (Docker Hub official images need library/ in the cache path; ECR does not add it); "
	case p.UpstreamRef == "" && (upstreamHost == imageref.DockerHub || upstreamHost == ""):
		// With the upstream ref known, mapping built (or checked) the path: library/ is there.
		c = append(c, "the path has library/ for Docker Hub official images (<registry>/<prefix>/library/node:20, not <registry>/<prefix>/node:20)")
	}
	if p.UpstreamRef != "" {
		c = append(c, p.UpstreamRef+" exists upstream (repository and tag)")
	} else {
		c = append(c, "the upstream path is right and the image exists upstream")
	}
	if notFound && p.CacheRef != "" {
		if r, err := imageref.Parse(p.CacheRef); err == nil && r.Tag == "" && r.Digest != "" {
			c = append(c, "the cache already holds the digest: a pull by digest does not fill a cold cache (aws/containers-roadmap#2837)")
		}
	}
	c = append(c, credentialCheck(p.Rule))
	last := len(c) - 1
	c[last] = "and that " + c[last]
	return fix + "check that " + strings.Join(c, "; that ")
}

// credentialCheck names the rule's credential to check, as a clause that follows "that".
func credentialCheck(r *rules.Rule) string {
	if r == nil {
		return "the rule's credential (a Secrets Manager secret named ecr-pullthroughcache/..., or an ECR-to-ECR rule's customRoleArn) is valid"
	}
	name := fmt.Sprintf("the rule %q", strings.TrimSuffix(r.ECRRepositoryPrefix, "/"))
	up, _ := rules.ByEnum(r.UpstreamRegistry)
	if r.UpstreamRegistry == "" {
		up, _ = rules.ForHost(r.UpstreamHost())
	}
	switch {
	case r.CustomRoleArn != "":
		return fmt.Sprintf("%s's role %s may pull from %s", name, r.CustomRoleArn, r.UpstreamRegistryURL)
	case r.CredentialArn != "":
		return fmt.Sprintf("%s's secret %s holds a valid username and accessToken for %s", name, r.CredentialArn, r.UpstreamRegistryURL)
	case up.NeedsCredential:
		return fmt.Sprintf("%s has a credential: %s needs one (a Secrets Manager secret named ecr-pullthroughcache/...)", name, r.UpstreamRegistryURL)
	case up.Enum == "ecr":
		return fmt.Sprintf("%s can reach %s (an ECR-to-ECR rule pulls with its customRoleArn)", name, r.UpstreamRegistryURL)
	}
	return fmt.Sprintf("%s points at %s", name, r.UpstreamRegistryURL)
}

// oneLine keeps the first line of s, at most 300 bytes.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Explain is "; " and the hint for err, a failed pull of m's cache reference, or "" when there is none:
// for appending to a message that already quotes the error.
func Explain(err error, m mapping.Result) string {
	if h := Hint(FromError(err), PathOf(m)); h != "" {
		return "; " + h
	}
	return ""
}
