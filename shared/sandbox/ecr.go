package sandbox

// The sandbox's ECR API: the AWS JSON 1.1 protocol (POST /, X-Amz-Target:
// AmazonEC2ContainerRegistry_V20150921.<Operation>) for the operations ecr-ptc uses. Shapes, error codes
// and constraints follow the ECR service model (../shared/reference/aws-models/ecr-2015-09-21.service-2.json,
// "the model" below) and the reference (../shared/reference/ecr-pull-through-cache.md).
//
// Error-code rule: where the model lists ValidationException for an operation (the pull-through cache
// rule operations), violations of the model's constraints answer ValidationException with the
// "N validation error(s) detected" text; elsewhere they answer InvalidParameterException with ECR's
// "Invalid parameter at '<field>' failed to satisfy constraint" text. Semantic problems with otherwise
// well-formed input answer InvalidParameterException everywhere.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

const ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// ptcRuleQuota is ECR's "pull through cache rules per registry" service quota (default 50). It is not
// in the reference; the value is the documented default as the author knows it.
const ptcRuleQuota = 50

// authTokenTTL: GetAuthorizationToken's token is valid 12 hours (reference).
const authTokenTTL = 12 * time.Hour

// Model patterns.
var (
	registryIDPattern     = regexp.MustCompile(`^[0-9]{12}$`)
	repositoryNamePattern = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	ptcPrefixPattern      = regexp.MustCompile(`^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$`)
	credentialArnPattern  = regexp.MustCompile(`^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache\/[a-zA-Z0-9\/_+=.@-]+$`)
	digestPattern         = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
)

// upstreamRegistryEnum is the model's UpstreamRegistry enum.
var upstreamRegistryEnum = []string{"ecr", "ecr-public", "quay", "k8s", "docker-hub", "github-container-registry", "azure-container-registry", "gitlab-container-registry", "chainguard"}

// opsWithValidationException are the operations whose model errors include ValidationException.
var opsWithValidationException = map[string]bool{
	"DescribePullThroughCacheRules": true, "CreatePullThroughCacheRule": true, "DeletePullThroughCacheRule": true,
	"UpdatePullThroughCacheRule": true, "ValidatePullThroughCacheRule": true,
}

// ecrCall is one request being served.
type ecrCall struct {
	ctx  context.Context
	op   string
	who  identity
	body []byte
}

type ecrAPI struct {
	d   *deps
	ops map[string]func(*ecrCall) (any, *apiError)
}

func newECRHandler(d *deps) http.Handler {
	e := &ecrAPI{d: d}
	e.ops = map[string]func(*ecrCall) (any, *apiError){
		"GetAuthorizationToken":         e.getAuthorizationToken,
		"DescribePullThroughCacheRules": e.describePullThroughCacheRules,
		"CreatePullThroughCacheRule":    e.createPullThroughCacheRule,
		"DeletePullThroughCacheRule":    e.deletePullThroughCacheRule,
		"UpdatePullThroughCacheRule":    e.updatePullThroughCacheRule,
		"ValidatePullThroughCacheRule":  e.validatePullThroughCacheRule,
		"DescribeImages":                e.describeImages,
		"DescribeRepositories":          e.describeRepositories,
		"BatchGetImage":                 e.batchGetImage,
	}
	registerCacheAdminOps(e) // cacheadmin.go
	return e
}

func (e *ecrAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCommonHeaders(w, e.d, newRequestID())
	if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ecrPublicTargetPrefix); ok {
		e.serveECRPublic(w, r, op)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ecrTargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeJSON11Error(w, newAPIError(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %q", r.Header.Get("X-Amz-Target")))
		return
	}
	e.d.stats.Update(func(st *StatsSnapshot) { st.ECRRequests[op]++ })
	body, err := readBody(r)
	if err != nil {
		writeJSON11Error(w, newAPIError(http.StatusBadRequest, "SerializationException", "cannot read the request body: %v", err))
		return
	}
	who, aerr := e.d.creds.verify(r, body, "ecr")
	if aerr != nil {
		writeJSON11Error(w, ecrAuthError(aerr))
		return
	}
	handler, ok := e.ops[op]
	if !ok {
		// AWS JSON protocol: an X-Amz-Target naming no operation of the service.
		writeJSON11Error(w, newAPIError(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %s", op))
		return
	}
	if f, ok := e.d.faults.Take("ecr:" + op); ok {
		if ferr := ecrFault(r.Context(), f); ferr != nil {
			writeJSON11Error(w, ferr)
			return
		}
		if r.Context().Err() != nil {
			return
		}
	}
	if terr := e.d.cfg.RateLimits.throttleECR(op); terr != nil {
		writeJSON11Error(w, terr)
		return
	}
	out, apiErr := handler(&ecrCall{ctx: r.Context(), op: op, who: who, body: body})
	if apiErr != nil {
		writeJSON11Error(w, apiErr)
		return
	}
	writeJSON11(w, out)
}

// ecrAuthError maps a SigV4 failure to the JSON-protocol error AWS answers with.
func ecrAuthError(e *authError) *apiError {
	switch e.Kind {
	case authMissing:
		return newAPIError(http.StatusForbidden, "MissingAuthenticationTokenException", "%s", e.Msg)
	case authIncomplete:
		return newAPIError(http.StatusBadRequest, "IncompleteSignatureException", "%s", e.Msg)
	case authUnknownKey:
		return newAPIError(http.StatusBadRequest, "UnrecognizedClientException", "%s", e.Msg)
	case authExpiredToken:
		return newAPIError(http.StatusBadRequest, "ExpiredTokenException", "%s", e.Msg)
	default: // bad signature and clock skew ("Signature expired: ...") are both InvalidSignatureException
		return newAPIError(http.StatusBadRequest, "InvalidSignatureException", "%s", e.Msg)
	}
}

// ecrFault turns an injected fault into ECR's error, or holds the request (FaultTimeout) and returns nil
// so that it proceeds once the hold ends (or is abandoned when the client has gone).
func ecrFault(ctx context.Context, f Fault) *apiError {
	switch f.Kind {
	case FaultThrottle:
		// The SDK retries ThrottlingException (aws/retry DefaultThrottleErrorCodes).
		return newAPIError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case FaultServerError:
		// Model: ServerException is the operations' fault (HTTP 500), retried by the SDK.
		return newAPIError(http.StatusInternalServerError, "ServerException", "An internal error occurred (injected fault)")
	case FaultLimitExceeded:
		// Reference: LimitExceededException is a quota that the Go SDK retries as throttling.
		return newAPIError(http.StatusBadRequest, "LimitExceededException", "The operation did not succeed because it would have exceeded a service limit for your account. (injected fault)")
	case FaultExpiredToken:
		return newAPIError(http.StatusBadRequest, "ExpiredTokenException", "%s", msgExpiredToken)
	case FaultTimeout:
		hold(ctx)
	}
	return nil
}

// --- input helpers ---

// decode reads the JSON input; AWS JSON services answer SerializationException for a body that is not
// a JSON object.
func (c *ecrCall) decode(v any) *apiError {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return newAPIError(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	return nil
}

// paramErr reports one violated model constraint, by the operation's error-code rule (file comment).
func (c *ecrCall) paramErr(value any, field, constraint string) *apiError {
	if opsWithValidationException[c.op] {
		var ve validationErrors
		ve.add(value, field, constraint)
		return ve.err("ValidationException")
	}
	return newAPIError(http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at '%s' failed to satisfy constraint: '%s'", field, constraint)
}

func invalidParam(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

// checkRegistry accepts the caller's own registry. Another account's registry is refused the way IAM
// refuses a cross-account call without a registry policy (AccessDeniedException, which every AWS API
// may return although the model does not list it): the sandbox emulates one registry only.
func (e *ecrAPI) checkRegistry(c *ecrCall, registryID string) *apiError {
	if registryID == "" || registryID == e.d.cfg.AccountID {
		return nil
	}
	if !registryIDPattern.MatchString(registryID) {
		return c.paramErr(registryID, "registryId", "Member must satisfy regular expression pattern: [0-9]{12}")
	}
	return newAPIError(http.StatusBadRequest, "AccessDeniedException",
		"User: %s is not authorized to perform: ecr:%s on resource: arn:aws:ecr:%s:%s:repository/* because no resource-based policy allows the ecr:%s action",
		c.who.Arn, c.op, e.d.cfg.Region, registryID, c.op)
}

func (c *ecrCall) checkRepositoryName(name string) *apiError {
	switch {
	case name == "":
		return c.paramErr(nil, "repositoryName", "Member must not be null")
	case len(name) < 2 || len(name) > 256:
		return c.paramErr(name, "repositoryName", "Member must have length between 2 and 256")
	case !repositoryNamePattern.MatchString(name):
		return c.paramErr(name, "repositoryName", "Member must satisfy regular expression pattern: "+repositoryNamePattern.String())
	}
	return nil
}

// page slices keys (sorted) for maxResults/nextToken pagination (model: MaxResults 1–1000; the
// operations return up to 100 results when maxResults is not used). The token is opaque to clients:
// here the last key returned.
func (c *ecrCall) page(keys []string, nextToken string, maxResults *int) (start, end int, next string, err *apiError) {
	limit := 100
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 1000 {
			return 0, 0, "", c.paramErr(*maxResults, "maxResults", "Member must have value between 1 and 1000")
		}
		limit = *maxResults
	}
	if nextToken != "" {
		last, derr := base64.RawURLEncoding.DecodeString(nextToken)
		if derr != nil {
			return 0, 0, "", invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
		}
		for start < len(keys) && keys[start] <= string(last) {
			start++
		}
	}
	end = min(start+limit, len(keys))
	if end < len(keys) {
		next = base64.RawURLEncoding.EncodeToString([]byte(keys[end-1]))
	}
	return start, end, next, nil
}

// --- GetAuthorizationToken ---

type authorizationData struct {
	AuthorizationToken string     `json:"authorizationToken"`
	ExpiresAt          *epochTime `json:"expiresAt"`
	ProxyEndpoint      string     `json:"proxyEndpoint"`
}

// getAuthorizationToken: base64("AWS:"+password), valid 12 h (reference). proxyEndpoint is plain http
// because the sandbox registry listens on loopback without TLS (reference: https://<registry> on AWS).
func (e *ecrAPI) getAuthorizationToken(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	// Model: GetAuthorizationTokenRegistryIdList has 1–10 members matching [0-9]{12}. The member is
	// deprecated (the SDK docs: the token works for every registry the principal can access). Other
	// accounts' registries do not exist in the sandbox, so they are refused with InvalidParameterException,
	// the only client error the model lists here, rather than given an endpoint that leads nowhere.
	if in.RegistryIDs != nil && (len(in.RegistryIDs) < 1 || len(in.RegistryIDs) > 10) {
		return nil, c.paramErr(len(in.RegistryIDs), "registryIds", "Member must have length between 1 and 10")
	}
	for _, id := range in.RegistryIDs {
		if !registryIDPattern.MatchString(id) {
			return nil, c.paramErr(id, "registryIds", "Member must satisfy regular expression pattern: [0-9]{12}")
		}
		if id != e.d.cfg.AccountID {
			return nil, invalidParam("Invalid parameter at 'registryIds' failed to satisfy constraint: 'the sandbox has only the registry %s, not %s'", e.d.cfg.AccountID, id)
		}
	}
	password, expires := e.d.store.IssueToken(e.d.store.authTokenTTL())
	e.d.owners.set(password, c.who) // the data plane checks the puller's permissions (roles.go)
	data := authorizationData{
		AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		ExpiresAt:          epochPtr(expires),
		ProxyEndpoint:      "http://" + e.d.registryHost,
	}
	return map[string]any{"authorizationData": []authorizationData{data}}, nil
}

// --- ECR Public ---

// ecrPublicTargetPrefix is the ECR Public API's X-Amz-Target prefix (service model ecr-public
// 2020-10-30, signing name ecr-public, us-east-1 only). The sandbox answers its GetAuthorizationToken
// on the ECR endpoint (AWS_ENDPOINT_URL_ECR_PUBLIC points here) so that logins to public.ecr.aws, which
// raise the anonymous pull limits, can be tested.
const ecrPublicTargetPrefix = "SpencerFrontendService."

func (e *ecrAPI) serveECRPublic(w http.ResponseWriter, r *http.Request, op string) {
	e.d.stats.Update(func(st *StatsSnapshot) { st.ECRRequests["ecr-public:"+op]++ })
	body, err := readBody(r)
	if err != nil {
		writeJSON11Error(w, newAPIError(http.StatusBadRequest, "SerializationException", "cannot read the request body: %v", err))
		return
	}
	if _, aerr := e.d.creds.verify(r, body, "ecr-public"); aerr != nil {
		writeJSON11Error(w, ecrAuthError(aerr))
		return
	}
	if op != "GetAuthorizationToken" {
		writeJSON11Error(w, newAPIError(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %s", op))
		return
	}
	// ECR Public: one authorizationData object (not a list) without proxyEndpoint; the registry is
	// always public.ecr.aws.
	password, expires := e.d.store.IssueToken(e.d.store.authTokenTTL())
	writeJSON11(w, map[string]any{"authorizationData": map[string]any{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		"expiresAt":          epochPtr(expires),
	}})
}

// --- pull through cache rules ---

type ptcRuleJSON struct {
	EcrRepositoryPrefix      string     `json:"ecrRepositoryPrefix"`
	UpstreamRegistryURL      string     `json:"upstreamRegistryUrl,omitempty"`
	CreatedAt                *epochTime `json:"createdAt,omitempty"`
	RegistryID               string     `json:"registryId,omitempty"`
	CredentialArn            string     `json:"credentialArn,omitempty"`
	CustomRoleArn            string     `json:"customRoleArn,omitempty"`
	UpstreamRepositoryPrefix string     `json:"upstreamRepositoryPrefix,omitempty"`
	UpstreamRegistry         string     `json:"upstreamRegistry,omitempty"`
	UpdatedAt                *epochTime `json:"updatedAt,omitempty"`
}

// ruleJSON is the model's PullThroughCacheRule (DescribePullThroughCacheRules); the other operations
// drop the members their output shapes lack.
func ruleJSON(r RuleRecord) ptcRuleJSON {
	return ptcRuleJSON{
		EcrRepositoryPrefix: r.ECRRepositoryPrefix, UpstreamRegistryURL: r.UpstreamRegistryURL,
		CreatedAt: epochPtr(r.CreatedAt), RegistryID: r.RegistryID, CredentialArn: r.CredentialArn,
		CustomRoleArn: r.CustomRoleArn, UpstreamRepositoryPrefix: r.UpstreamRepositoryPrefix,
		UpstreamRegistry: r.UpstreamRegistry, UpdatedAt: epochPtr(r.UpdatedAt),
	}
}

func (e *ecrAPI) ruleNotFound(prefix string) *apiError {
	return newAPIError(http.StatusBadRequest, "PullThroughCacheRuleNotFoundException",
		"The pull through cache rule with prefix '%s' does not exist in the registry with id '%s'", prefix, e.d.cfg.AccountID)
}

// findRule looks a rule up by prefix; "docker-hub" and "docker-hub/" name the same rule (the API
// reference: "There is always an assumed / applied to the end of the prefix").
func (e *ecrAPI) findRule(prefix string) (RuleRecord, bool) {
	for _, r := range e.d.store.Rules() {
		if trimPrefix(r.ECRRepositoryPrefix) == trimPrefix(prefix) {
			return r, true
		}
	}
	return RuleRecord{}, false
}

// checkPrefix applies the model's PullThroughCacheRuleRepositoryPrefix constraints (2–30 characters,
// the pattern; reference: "Prefix: 2–30 characters, dots and slashes allowed").
func checkPrefix(ve *validationErrors, field, p string) {
	switch {
	case len(p) < 2:
		ve.add(p, field, "Member must have length greater than or equal to 2")
	case len(p) > 30:
		ve.add(p, field, "Member must have length less than or equal to 30")
	case !ptcPrefixPattern.MatchString(p):
		ve.add(p, field, "Member must satisfy regular expression pattern: "+ptcPrefixPattern.String())
	}
}

func checkCredentialArn(ve *validationErrors, arn string) {
	switch {
	case len(arn) < 50:
		ve.add(arn, "credentialArn", "Member must have length greater than or equal to 50")
	case len(arn) > 612:
		ve.add(arn, "credentialArn", "Member must have length less than or equal to 612")
	case !credentialArnPattern.MatchString(arn):
		ve.add(arn, "credentialArn", "Member must satisfy regular expression pattern: "+credentialArnPattern.String())
	}
}

// checkSecret emulates ECR reading the Secrets Manager secret of a well-formed credentialArn.
// Reference: the secret must be in the rule's account and region, so another account's or region's
// secret cannot be accessed (UnableToAccessSecretException). Every other ecr-pullthroughcache/ secret
// counts as existing, except, so that tests can reach the model's other errors, a secret name ending
// in "-missing" (SecretNotFoundException) or "-undecryptable" (UnableToDecryptSecretValueException).
func (e *ecrAPI) checkSecret(arn string) *apiError {
	parts := strings.SplitN(arn, ":", 7) // arn aws secretsmanager region account secret name
	if len(parts) != 7 || parts[3] != e.d.cfg.Region || parts[4] != e.d.cfg.AccountID {
		return newAPIError(http.StatusBadRequest, "UnableToAccessSecretException",
			"Unable to access the secret %s: the secret must be in the registry's account %s and region %s", arn, e.d.cfg.AccountID, e.d.cfg.Region)
	}
	if problem := secretProblem(arn); problem != nil {
		return problem
	}
	return nil
}

func secretProblem(arn string) *apiError {
	switch {
	case strings.HasSuffix(arn, "-missing"):
		return newAPIError(http.StatusBadRequest, "SecretNotFoundException", "The specified secret %s does not exist", arn)
	case strings.HasSuffix(arn, "-undecryptable"):
		return newAPIError(http.StatusBadRequest, "UnableToDecryptSecretValueException", "Unable to decrypt the value of the secret %s", arn)
	}
	return nil
}

// resolveUpstream finds which supported upstream a URL names. Reference: Docker Hub is exactly
// registry-1.docker.io; public.ecr.aws, quay.io, registry.k8s.io, ghcr.io, registry.gitlab.com, cgr.dev;
// <name>.azurecr.io; ECR-to-ECR uses another private ECR host. An optional https:// is tolerated and
// dropped.
func resolveUpstream(url string) (rules.Upstream, string, bool) {
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(url), "https://"), "/")
	for _, u := range rules.Upstreams() {
		if u.URL != "" && u.URL == host {
			return u, host, true
		}
	}
	if name, ok := strings.CutSuffix(host, ".azurecr.io"); ok && name != "" && !strings.ContainsAny(name, "/:") {
		u, _ := rules.ByEnum("azure-container-registry")
		return u, host, true
	}
	if _, ok := imageref.ParseECRHost(host); ok {
		u, _ := rules.ByEnum("ecr")
		return u, host, true
	}
	return rules.Upstream{}, host, false
}

func (e *ecrAPI) describePullThroughCacheRules(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID            string   `json:"registryId"`
		EcrRepositoryPrefixes []string `json:"ecrRepositoryPrefixes"`
		NextToken             string   `json:"nextToken"`
		MaxResults            *int     `json:"maxResults"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	var ve validationErrors
	if in.EcrRepositoryPrefixes != nil && (len(in.EcrRepositoryPrefixes) < 1 || len(in.EcrRepositoryPrefixes) > 100) {
		ve.add(len(in.EcrRepositoryPrefixes), "ecrRepositoryPrefixes", "Member must have length between 1 and 100")
	}
	for i, p := range in.EcrRepositoryPrefixes {
		checkPrefix(&ve, fmt.Sprintf("ecrRepositoryPrefixes.%d.member", i+1), p)
	}
	if err := ve.err("ValidationException"); err != nil {
		return nil, err
	}
	all := e.d.store.Rules()
	var selected []RuleRecord
	if in.EcrRepositoryPrefixes == nil {
		selected = all
	} else {
		// Model: PullThroughCacheRuleNotFoundException when a named prefix has no rule.
		for _, p := range in.EcrRepositoryPrefixes {
			r, ok := e.findRule(p)
			if !ok {
				return nil, e.ruleNotFound(p)
			}
			selected = append(selected, r)
		}
	}
	sort.Slice(selected, func(i, j int) bool {
		return trimPrefix(selected[i].ECRRepositoryPrefix) < trimPrefix(selected[j].ECRRepositoryPrefix)
	})
	keys := make([]string, len(selected))
	for i, r := range selected {
		keys[i] = trimPrefix(r.ECRRepositoryPrefix)
	}
	start, end, next, err := c.page(keys, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []ptcRuleJSON{}
	for _, r := range selected[start:end] {
		j := ruleJSON(r)
		j.UpstreamRepositoryPrefix = e.describedUpstreamPrefix(r)
		out = append(out, j)
	}
	return struct {
		Rules     []ptcRuleJSON `json:"pullThroughCacheRules"`
		NextToken string        `json:"nextToken,omitempty"`
	}{out, next}, nil
}

func (e *ecrAPI) createPullThroughCacheRule(c *ecrCall) (any, *apiError) {
	var in struct {
		EcrRepositoryPrefix      *string `json:"ecrRepositoryPrefix"`
		UpstreamRegistryURL      *string `json:"upstreamRegistryUrl"`
		RegistryID               string  `json:"registryId"`
		UpstreamRegistry         string  `json:"upstreamRegistry"`
		CredentialArn            string  `json:"credentialArn"`
		CustomRoleArn            string  `json:"customRoleArn"`
		UpstreamRepositoryPrefix string  `json:"upstreamRepositoryPrefix"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	// Model constraints: required members, prefix length and pattern, the UpstreamRegistry enum, the
	// CredentialArn length and pattern (secret name under ecr-pullthroughcache/), CustomRoleArn length.
	var ve validationErrors
	if in.EcrRepositoryPrefix == nil {
		ve.add(nil, "ecrRepositoryPrefix", "Member must not be null")
	} else {
		checkPrefix(&ve, "ecrRepositoryPrefix", *in.EcrRepositoryPrefix)
	}
	if in.UpstreamRegistryURL == nil {
		ve.add(nil, "upstreamRegistryUrl", "Member must not be null")
	}
	if in.UpstreamRegistry != "" && !slices.Contains(upstreamRegistryEnum, in.UpstreamRegistry) {
		ve.add(in.UpstreamRegistry, "upstreamRegistry", "Member must satisfy enum value set: ["+strings.Join(upstreamRegistryEnum, ", ")+"]")
	}
	if in.CredentialArn != "" {
		checkCredentialArn(&ve, in.CredentialArn)
	}
	if len(in.CustomRoleArn) > 2048 {
		ve.add(in.CustomRoleArn, "customRoleArn", "Member must have length less than or equal to 2048")
	}
	if in.UpstreamRepositoryPrefix != "" {
		checkPrefix(&ve, "upstreamRepositoryPrefix", in.UpstreamRepositoryPrefix)
	}
	if err := ve.err("ValidationException"); err != nil {
		return nil, err
	}
	prefix := *in.EcrRepositoryPrefix

	// The upstream must be one ECR supports, named by its exact registry URL (reference "Upstream
	// URLs"); ECR's text for another URL is from goharbor/harbor#20174.
	up, host, ok := resolveUpstream(*in.UpstreamRegistryURL)
	unsupported := newAPIError(http.StatusBadRequest, "UnsupportedUpstreamRegistryException",
		"The upstream registry URL %s is invalid. Specify a valid upstream registry URL and try again", *in.UpstreamRegistryURL)
	if !ok || (in.UpstreamRegistry != "" && in.UpstreamRegistry != up.Enum) {
		return nil, unsupported
	}
	// Reference: ROOT and upstreamRepositoryPrefix exist for ECR-to-ECR rules only.
	if up.Enum != "ecr" && prefix == rules.Root {
		return nil, invalidParam("Invalid parameter at 'ecrRepositoryPrefix' failed to satisfy constraint: 'ROOT is supported only for an upstream registry of type ecr'")
	}
	if err := e.checkRuleFields2025(prefix, in.UpstreamRepositoryPrefix, in.CustomRoleArn, up.Enum); err != nil {
		return nil, err
	}
	if up.Enum != "ecr" && in.UpstreamRepositoryPrefix != "" && in.UpstreamRepositoryPrefix != rules.Root {
		return nil, invalidParam("Invalid parameter at 'upstreamRepositoryPrefix' failed to satisfy constraint: 'upstreamRepositoryPrefix is supported only for an upstream registry of type ecr'")
	}
	if up.Enum == "ecr" {
		// ECR-to-ECR uses an IAM role (reference); a cross-account upstream needs customRoleArn
		// (hashicorp/terraform-provider-aws#41933).
		reg, _ := imageref.ParseECRHost(host)
		if reg.AccountID != e.d.cfg.AccountID && in.CustomRoleArn == "" {
			return nil, invalidParam("Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'customRoleArn is required for an upstream registry in another account'")
		}
		if in.CredentialArn != "" {
			return nil, invalidParam("Invalid parameter at 'credentialArn' failed to satisfy constraint: 'an upstream registry of type ecr uses customRoleArn, not a secret'")
		}
	}
	// Reference: Docker Hub, GHCR, ACR, GitLab and Chainguard need a Secrets Manager secret. ECR's
	// answer without one is UnsupportedUpstreamRegistryException (aws-controllers-k8s/community#2589).
	if up.NeedsCredential && in.CredentialArn == "" {
		return nil, newAPIError(http.StatusBadRequest, "UnsupportedUpstreamRegistryException",
			"The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN and try again.")
	}
	if in.CredentialArn != "" {
		if err := e.checkSecret(in.CredentialArn); err != nil {
			return nil, err
		}
	}
	if _, exists := e.findRule(prefix); exists {
		return nil, newAPIError(http.StatusBadRequest, "PullThroughCacheRuleAlreadyExistsException",
			"The pull through cache rule with prefix '%s' already exists in the registry with id '%s'", prefix, e.d.cfg.AccountID)
	}
	if len(e.d.store.Rules()) >= ptcRuleQuota {
		return nil, newAPIError(http.StatusBadRequest, "LimitExceededException",
			"The operation did not succeed because it would have exceeded a service limit for your account. (pull through cache rules per registry: %d)", ptcRuleQuota)
	}
	rec, created := e.d.store.PutRule(rules.Rule{
		ECRRepositoryPrefix: prefix, UpstreamRegistryURL: host, UpstreamRegistry: up.Enum,
		CredentialArn: in.CredentialArn, CustomRoleArn: in.CustomRoleArn, UpstreamRepositoryPrefix: storedUpstreamPrefix(in.UpstreamRepositoryPrefix, up.Enum),
	})
	if !created { // lost a race with a concurrent create
		return nil, newAPIError(http.StatusBadRequest, "PullThroughCacheRuleAlreadyExistsException",
			"The pull through cache rule with prefix '%s' already exists in the registry with id '%s'", prefix, e.d.cfg.AccountID)
	}
	out := ruleJSON(rec)
	out.UpdatedAt = nil // not in CreatePullThroughCacheRuleResponse
	return out, nil
}

// ruleInput reads and checks the ecrRepositoryPrefix and registryId every rule operation takes.
func (e *ecrAPI) ruleInput(c *ecrCall) (string, *apiError) {
	var in struct {
		EcrRepositoryPrefix *string `json:"ecrRepositoryPrefix"`
		RegistryID          string  `json:"registryId"`
	}
	if err := c.decode(&in); err != nil {
		return "", err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return "", err
	}
	var ve validationErrors
	if in.EcrRepositoryPrefix == nil {
		ve.add(nil, "ecrRepositoryPrefix", "Member must not be null")
	} else {
		checkPrefix(&ve, "ecrRepositoryPrefix", *in.EcrRepositoryPrefix)
	}
	if err := ve.err("ValidationException"); err != nil {
		return "", err
	}
	return *in.EcrRepositoryPrefix, nil
}

func (e *ecrAPI) deletePullThroughCacheRule(c *ecrCall) (any, *apiError) {
	prefix, err := e.ruleInput(c)
	if err != nil {
		return nil, err
	}
	rec, ok := e.d.store.DeleteRule(prefix)
	if !ok {
		return nil, e.ruleNotFound(prefix)
	}
	out := ruleJSON(rec)
	out.UpstreamRegistry, out.UpdatedAt = "", nil // not in DeletePullThroughCacheRuleResponse
	return out, nil
}

func (e *ecrAPI) updatePullThroughCacheRule(c *ecrCall) (any, *apiError) {
	prefix, err := e.ruleInput(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		CredentialArn string `json:"credentialArn"`
		CustomRoleArn string `json:"customRoleArn"`
	}
	_ = json.Unmarshal(c.body, &in)
	var ve validationErrors
	if in.CredentialArn != "" {
		checkCredentialArn(&ve, in.CredentialArn)
	}
	if len(in.CustomRoleArn) > 2048 {
		ve.add(in.CustomRoleArn, "customRoleArn", "Member must have length less than or equal to 2048")
	}
	if err := ve.err("ValidationException"); err != nil {
		return nil, err
	}
	rec, ok := e.findRule(prefix)
	if !ok {
		return nil, e.ruleNotFound(prefix)
	}
	if rec.UpstreamRegistry == "ecr" || in.CustomRoleArn != "" {
		// ECR-to-ECR: the role is what an update changes (ecr_rules2025.go).
		if rec, err = e.updateRuleRole(rec, in.CredentialArn, in.CustomRoleArn); err != nil {
			return nil, err
		}
	} else if in.CredentialArn == "" {
		if up, ok := rules.ByEnum(rec.UpstreamRegistry); ok && up.NeedsCredential {
			return nil, newAPIError(http.StatusBadRequest, "UnsupportedUpstreamRegistryException",
				"The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN and try again.")
		}
	} else if err := e.checkSecret(in.CredentialArn); err != nil {
		return nil, err
	}
	if rec.UpstreamRegistry != "ecr" {
		if rec, ok = e.d.store.UpdateRule(prefix, in.CredentialArn); !ok {
			return nil, e.ruleNotFound(prefix)
		}
	}
	out := ruleJSON(rec)
	// UpdatePullThroughCacheRuleResponse has no upstreamRegistryUrl, createdAt or upstreamRegistry.
	out.UpstreamRegistryURL, out.CreatedAt, out.UpstreamRegistry = "", nil, ""
	return out, nil
}

// validatePullThroughCacheRule checks that ECR could use the rule (reference: "returns isValid +
// failure"). In the sandbox a rule is valid when its upstream has a stand-in and its secret is usable.
func (e *ecrAPI) validatePullThroughCacheRule(c *ecrCall) (any, *apiError) {
	prefix, err := e.ruleInput(c)
	if err != nil {
		return nil, err
	}
	rec, ok := e.findRule(prefix)
	if !ok {
		return nil, e.ruleNotFound(prefix)
	}
	failure := ""
	if _, ok := e.d.upstreams[rec.UpstreamRegistryURL]; !ok {
		failure = fmt.Sprintf("Unable to reach the upstream registry %s: the sandbox has no stand-in for it", rec.UpstreamRegistryURL)
	} else if f := e.ecrRuleFailure(rec); f != "" {
		failure = f
	} else if rec.CredentialArn != "" {
		if problem := secretProblem(rec.CredentialArn); problem != nil {
			failure = problem.Code + ": " + problem.Message
		}
	}
	out := struct {
		ptcRuleJSON
		IsValid bool   `json:"isValid"`
		Failure string `json:"failure,omitempty"`
	}{ruleJSON(rec), failure == "", failure}
	out.CreatedAt, out.UpdatedAt, out.UpstreamRegistry = nil, nil, "" // not in ValidatePullThroughCacheRuleResponse
	return out, nil
}

// --- repositories and images ---

type imageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

// String formats an image id the way ECR's ImageNotFoundException text does.
func (id imageIdentifier) String() string {
	q := func(s string) string {
		if s == "" {
			return "null"
		}
		return "'" + s + "'"
	}
	return fmt.Sprintf("{imageDigest:%s, imageTag:%s}", q(id.ImageDigest), q(id.ImageTag))
}

func (e *ecrAPI) repositoryNotFound(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "RepositoryNotFoundException",
		"The repository with name '%s' does not exist in the registry with id '%s'", name, e.d.cfg.AccountID)
}

// lookup resolves an image id: by digest, by tag, or both (then the tag must point at the digest).
func (e *ecrAPI) lookup(repo string, id imageIdentifier) (Image, bool) {
	switch {
	case id.ImageDigest != "" && id.ImageTag != "":
		img, ok := e.d.store.LookupImage(repo, id.ImageTag)
		return img, ok && img.Digest == id.ImageDigest
	case id.ImageDigest != "":
		return e.d.store.LookupImage(repo, id.ImageDigest)
	case id.ImageTag != "":
		return e.d.store.LookupImage(repo, id.ImageTag)
	}
	return Image{}, false
}

type imageDetail struct {
	RegistryID             string     `json:"registryId"`
	RepositoryName         string     `json:"repositoryName"`
	ImageDigest            string     `json:"imageDigest"`
	ImageTags              []string   `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64      `json:"imageSizeInBytes"`
	ImagePushedAt          *epochTime `json:"imagePushedAt,omitempty"`
	ImageManifestMediaType string     `json:"imageManifestMediaType,omitempty"`
	LastRecordedPullTime   *epochTime `json:"lastRecordedPullTime,omitempty"`
	ImageStatus            string     `json:"imageStatus"`
}

func (e *ecrAPI) detail(repo string, img Image) imageDetail {
	return imageDetail{
		RegistryID: e.d.cfg.AccountID, RepositoryName: repo, ImageDigest: img.Digest,
		ImageTags:              e.d.store.TagsOf(repo, img.Digest),
		ImageSizeInBytes:       img.Size, // reference: for an index, the largest child manifest's size
		ImagePushedAt:          epochPtr(img.PushedAt),
		ImageManifestMediaType: img.MediaType,
		// Reference: lastRecordedPullTime is ECR's record of the last pull (updated about once a day on
		// AWS); the sandbox reports the Store's last pull.
		LastRecordedPullTime: epochPtr(img.LastPulledAt),
		ImageStatus:          "ACTIVE",
	}
}

func (e *ecrAPI) describeImages(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID     string            `json:"registryId"`
		RepositoryName string            `json:"repositoryName"`
		ImageIDs       []imageIdentifier `json:"imageIds"`
		NextToken      string            `json:"nextToken"`
		MaxResults     *int              `json:"maxResults"`
		Filter         *struct {
			TagStatus   string `json:"tagStatus"`
			ImageStatus string `json:"imageStatus"`
		} `json:"filter"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	if err := c.checkRepositoryName(in.RepositoryName); err != nil {
		return nil, err
	}
	if in.ImageIDs != nil && (len(in.ImageIDs) < 1 || len(in.ImageIDs) > 100) {
		return nil, c.paramErr(len(in.ImageIDs), "imageIds", "Member must have length between 1 and 100")
	}
	// API reference: maxResults and nextToken cannot be used together with imageIds.
	if in.ImageIDs != nil && (in.MaxResults != nil || in.NextToken != "") {
		return nil, invalidParam("Invalid parameter at 'maxResults' failed to satisfy constraint: 'This option cannot be used when you specify images with imageIds'")
	}
	// Reference: RepositoryNotFoundException means a certain cold miss.
	if _, ok := e.d.store.Repository(in.RepositoryName); !ok {
		return nil, e.repositoryNotFound(in.RepositoryName)
	}
	details := []imageDetail{}
	if in.ImageIDs != nil {
		seen := map[string]bool{}
		for _, id := range in.ImageIDs {
			img, ok := e.lookup(in.RepositoryName, id)
			if !ok {
				// Model: ImageNotFoundException for DescribeImages with an id that is not there.
				return nil, newAPIError(http.StatusBadRequest, "ImageNotFoundException",
					"The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'",
					id, in.RepositoryName, e.d.cfg.AccountID)
			}
			if !seen[img.Digest] {
				seen[img.Digest] = true
				details = append(details, e.detail(in.RepositoryName, img))
			}
		}
		return map[string]any{"imageDetails": details}, nil
	}
	tagStatus, imageStatus := "ANY", "ANY"
	if in.Filter != nil {
		if in.Filter.TagStatus != "" {
			tagStatus = in.Filter.TagStatus
		}
		if in.Filter.ImageStatus != "" {
			imageStatus = in.Filter.ImageStatus
		}
	}
	if !slices.Contains([]string{"TAGGED", "UNTAGGED", "ANY"}, tagStatus) {
		return nil, c.paramErr(tagStatus, "filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
	}
	if !slices.Contains([]string{"ACTIVE", "ARCHIVED", "ACTIVATING", "ANY"}, imageStatus) {
		return nil, c.paramErr(imageStatus, "filter.imageStatus", "Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]")
	}
	var imgs []Image
	for _, img := range e.d.store.Images(in.RepositoryName) {
		tagged := len(e.d.store.TagsOf(in.RepositoryName, img.Digest)) > 0
		if (tagStatus == "TAGGED" && !tagged) || (tagStatus == "UNTAGGED" && tagged) {
			continue
		}
		if imageStatus == "ARCHIVED" || imageStatus == "ACTIVATING" { // every sandbox image is ACTIVE
			continue
		}
		imgs = append(imgs, img)
	}
	keys := make([]string, len(imgs))
	for i, img := range imgs {
		keys[i] = img.Digest
	}
	start, end, next, err := c.page(keys, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	for _, img := range imgs[start:end] {
		details = append(details, e.detail(in.RepositoryName, img))
	}
	return struct {
		ImageDetails []imageDetail `json:"imageDetails"`
		NextToken    string        `json:"nextToken,omitempty"`
	}{details, next}, nil
}

type repositoryJSON struct {
	RepositoryArn              string     `json:"repositoryArn"`
	RegistryID                 string     `json:"registryId"`
	RepositoryName             string     `json:"repositoryName"`
	RepositoryURI              string     `json:"repositoryUri"`
	CreatedAt                  *epochTime `json:"createdAt,omitempty"`
	ImageTagMutability         string     `json:"imageTagMutability"`
	ImageScanningConfiguration struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration"`
	EncryptionConfiguration struct {
		EncryptionType string `json:"encryptionType"`
	} `json:"encryptionConfiguration"`
}

func (e *ecrAPI) repositoryJSON(r *Repository) repositoryJSON {
	out := repositoryJSON{
		RepositoryArn:  fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", e.d.cfg.Region, e.d.cfg.AccountID, r.Name),
		RegistryID:     e.d.cfg.AccountID,
		RepositoryName: r.Name,
		// On AWS: <account>.dkr.ecr.<region>.amazonaws.com/<name>; the sandbox registry's host here.
		RepositoryURI:      e.d.registryHost + "/" + r.Name,
		CreatedAt:          epochPtr(r.CreatedAt),
		ImageTagMutability: "MUTABLE",
	}
	out.EncryptionConfiguration.EncryptionType = "AES256"
	return out
}

func (e *ecrAPI) describeRepositories(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID      string   `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
		NextToken       string   `json:"nextToken"`
		MaxResults      *int     `json:"maxResults"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	if in.RepositoryNames != nil {
		if len(in.RepositoryNames) < 1 || len(in.RepositoryNames) > 100 {
			return nil, c.paramErr(len(in.RepositoryNames), "repositoryNames", "Member must have length between 1 and 100")
		}
		// API reference: maxResults cannot be used when repositoryNames is given.
		if in.MaxResults != nil || in.NextToken != "" {
			return nil, invalidParam("Invalid parameter at 'maxResults' failed to satisfy constraint: 'This option cannot be used when you specify repositories with repositoryNames'")
		}
		out := []repositoryJSON{}
		for _, name := range in.RepositoryNames {
			if err := c.checkRepositoryName(name); err != nil {
				return nil, err
			}
			r, ok := e.d.store.Repository(name)
			if !ok {
				return nil, e.repositoryNotFound(name)
			}
			out = append(out, e.repositoryJSON(r))
		}
		return map[string]any{"repositories": out}, nil
	}
	names := e.d.store.Repositories()
	start, end, next, err := c.page(names, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []repositoryJSON{}
	for _, name := range names[start:end] {
		if r, ok := e.d.store.Repository(name); ok {
			out = append(out, e.repositoryJSON(r))
		}
	}
	return struct {
		Repositories []repositoryJSON `json:"repositories"`
		NextToken    string           `json:"nextToken,omitempty"`
	}{out, next}, nil
}

// --- BatchGetImage ---

// Contract with the data plane's pullThrough(ctx, d, repo, tag) (registry.go), which BatchGetImage
// calls when Config.BatchGetImageImports is set: on failure its error tells what went wrong upstream,
// read here with errors.As in this order:
//
//   - *UpstreamError (registry.go): its Code is the model's ImageFailureCode, reported as is
//     (UpstreamAccessDenied, UpstreamTooManyRequests, UpstreamUnavailable, ImageNotFound);
//   - interface{ FailureCode() string }: likewise, for any other error type that names its code;
//   - interface{ StatusCode() int }: the upstream's HTTP status. 401, 403 and 404 are
//     UpstreamAccessDenied (reference: a wrong path or an image missing upstream comes back as the
//     misleading "authentication to the upstream registry failed"), 429 is UpstreamTooManyRequests,
//     anything else UpstreamUnavailable;
//   - anything else (network errors, context deadline) is UpstreamUnavailable.
//
// The error's text becomes failureReason.
func importFailureCode(err error) string {
	var ue *UpstreamError
	if errors.As(err, &ue) && ue.Code != "" {
		return ue.Code
	}
	var coded interface{ FailureCode() string }
	if errors.As(err, &coded) && coded.FailureCode() != "" {
		return coded.FailureCode()
	}
	var status interface{ StatusCode() int }
	if errors.As(err, &status) {
		switch s := status.StatusCode(); {
		case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
			return "UpstreamAccessDenied"
		case s == http.StatusTooManyRequests:
			return "UpstreamTooManyRequests"
		}
	}
	return "UpstreamUnavailable"
}

type batchImage struct {
	RegistryID             string          `json:"registryId"`
	RepositoryName         string          `json:"repositoryName"`
	ImageID                imageIdentifier `json:"imageId"`
	ImageManifest          string          `json:"imageManifest"`
	ImageManifestMediaType string          `json:"imageManifestMediaType,omitempty"`
}

type imageFailure struct {
	ImageID       imageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

func (e *ecrAPI) batchGetImage(c *ecrCall) (any, *apiError) {
	var in struct {
		RegistryID         string            `json:"registryId"`
		RepositoryName     string            `json:"repositoryName"`
		ImageIDs           []imageIdentifier `json:"imageIds"`
		AcceptedMediaTypes []string          `json:"acceptedMediaTypes"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := e.checkRegistry(c, in.RegistryID); err != nil {
		return nil, err
	}
	if err := c.checkRepositoryName(in.RepositoryName); err != nil {
		return nil, err
	}
	if len(in.ImageIDs) < 1 || len(in.ImageIDs) > 100 {
		return nil, c.paramErr(len(in.ImageIDs), "imageIds", "Member must have length between 1 and 100")
	}
	if in.AcceptedMediaTypes != nil && (len(in.AcceptedMediaTypes) < 1 || len(in.AcceptedMediaTypes) > 100) {
		return nil, c.paramErr(len(in.AcceptedMediaTypes), "acceptedMediaTypes", "Member must have length between 1 and 100")
	}
	_, hasRepo := e.d.store.Repository(in.RepositoryName)
	_, _, hasRule := e.d.store.RuleFor(in.RepositoryName)
	// Reference: whether BatchGetImage by tag imports through the cache is unverified, so it is
	// Config.BatchGetImageImports; without it a repository that was never pulled does not exist.
	imports := e.d.cfg.BatchGetImageImports && hasRule
	if !hasRepo && !imports {
		return nil, e.repositoryNotFound(in.RepositoryName)
	}

	images, failures := []batchImage{}, []imageFailure{}
	fail := func(id imageIdentifier, code, reason string) {
		failures = append(failures, imageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
	}
	for _, id := range in.ImageIDs {
		switch {
		case id.ImageDigest == "" && id.ImageTag == "":
			fail(id, "MissingDigestAndTag", "Missing image digest and tag")
			continue
		case id.ImageDigest != "" && !digestPattern.MatchString(id.ImageDigest):
			fail(id, "InvalidImageDigest", "Invalid image digest")
			continue
		case len(id.ImageTag) > 300:
			fail(id, "InvalidImageTag", "Invalid image tag")
			continue
		}
		img, ok := e.lookup(in.RepositoryName, id)
		if !ok && id.ImageDigest != "" && id.ImageTag != "" {
			if _, tagged := e.d.store.LookupImage(in.RepositoryName, id.ImageTag); tagged {
				fail(id, "ImageTagDoesNotMatchDigest", "Invalid image tag and digest combination")
				continue
			}
		}
		// Only a tag can be imported: reference, "Digest pulls do not fill a cold cache".
		if !ok && imports && id.ImageDigest == "" {
			var err error
			img, err = pullThrough(context.WithValue(c.ctx, pullerKey{}, c.who), e.d, in.RepositoryName, id.ImageTag)
			if err != nil {
				fail(id, importFailureCode(err), err.Error())
				continue
			}
			ok = true
		}
		if !ok {
			fail(id, "ImageNotFound", "Requested image not found")
			continue
		}
		// A BatchGetImage is a pull: it is what lastRecordedPullTime records.
		e.d.store.MarkPulled(in.RepositoryName, img.Digest)
		rid := id
		if rid.ImageDigest == "" {
			rid.ImageDigest = img.Digest
		}
		images = append(images, batchImage{
			RegistryID: e.d.cfg.AccountID, RepositoryName: in.RepositoryName, ImageID: rid,
			ImageManifest: string(img.Manifest), ImageManifestMediaType: img.MediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}
