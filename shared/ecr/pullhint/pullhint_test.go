package pullhint_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/ecr-ptc/ecr-ptc/shared/ecr/pullhint"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// ECR's text for a wrong path or an image missing upstream (reference, "Registry error bodies":
// containers-roadmap#2211, #2354), and for a pull without the import permission (AccessDenied names the
// action).
const (
	upstreamAuth = "The authentication to the upstream registry failed. Verify that the credentials in the secret are correct"
	noImport     = "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:BatchImportUpstreamImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/library/node because no identity-based policy allows the ecr:BatchImportUpstreamImage action"
)

// resolveAgainst resolves ref with containerd's registry client against a registry that answers every
// request with status and the registry error code/message: the error the warm path sees.
func resolveAgainst(t *testing.T, status int, code, message string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, message)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	res := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts))})
	_, _, err := res.Resolve(context.Background(), host+"/docker-hub/node:20")
	if err == nil {
		t.Fatal("resolve succeeded")
	}
	return err
}

func TestFromError(t *testing.T) {
	for _, c := range []struct {
		status  int
		code    string
		message string
		want    pullhint.Failure
	}{
		{403, "DENIED", upstreamAuth, pullhint.Failure{Status: 403, Code: "DENIED", Message: upstreamAuth}},
		{401, "DENIED", "Your authorization token has expired. Reauthenticate and try again.", pullhint.Failure{Status: 401}}, // a HEAD answer has no body; containerd GETs it only for a 403
		{429, "TOOMANYREQUESTS", "Rate exceeded", pullhint.Failure{Status: 429}},
		{404, "MANIFEST_UNKNOWN", "Requested image not found", pullhint.Failure{Status: 404}},
	} {
		err := resolveAgainst(t, c.status, c.code, c.message)
		got := pullhint.FromError(err)
		if got.Status != c.want.Status || got.Code != c.want.Code || got.Message != c.want.Message {
			t.Errorf("%d %s: FromError(%v) = %+v, want %+v", c.status, c.code, err, got, c.want)
		}
		// The same failure read back from the error's text, as the frontend gets it through BuildKit's API.
		txt := pullhint.FromText("rpc error: code = Unknown desc = failed to resolve source metadata for x: " + err.Error())
		if txt.Status != c.want.Status || (c.want.Code != "" && txt.Code != c.want.Code) {
			t.Errorf("%d %s: FromText(%q) = %+v, want %+v", c.status, c.code, err.Error(), txt, c.want)
		}
	}
}

func TestHint(t *testing.T) {
	const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	m := mapping.New(reg)
	wrong := pullhint.PathOf(m.Map(reg + "/docker-hub/node:20"))
	right := pullhint.PathOf(m.Map("node:20"))
	cases := []struct {
		name     string
		f        pullhint.Failure
		p        pullhint.Path
		want     []string
		dontWant []string
	}{
		// A 403 on a PTC path is a path, upstream or credential problem, never "log in again".
		{"403 wrong path", pullhint.Failure{Status: 403, Code: "DENIED", Message: upstreamAuth}, wrong,
			[]string{"use " + reg + "/docker-hub/library/node:20", "docker.io/library/node:20 exists upstream", "will not help", "credential"}, []string{"ecr-ptc login"}},
		{"403 right path", pullhint.Failure{Status: 403, Code: "DENIED", Message: upstreamAuth}, right,
			[]string{"library/", "docker.io/library/node:20 exists upstream", `the rule "docker-hub" has a credential`}, []string{"ecr-ptc login"}},
		{"DENIED without status", pullhint.Failure{Code: "DENIED"}, right, []string{"library/", "will not help"}, []string{"ecr-ptc login"}},
		{"upstream text on a 404", pullhint.Failure{Status: 404, Code: "MANIFEST_UNKNOWN", Message: upstreamAuth}, right, []string{"will not help"}, []string{"ecr-ptc login"}},
		{"404", pullhint.Failure{Status: 404}, right, []string{"not found through the cache", "library/", "exists upstream"}, []string{"ecr-ptc login"}},
		{"404 digest", pullhint.Failure{Status: 404}, pullhint.PathOf(m.Map("node@sha256:" + strings.Repeat("a", 64))), []string{"does not fill a cold cache"}, nil},
		{"404 unknown path", pullhint.Failure{Status: 404}, pullhint.Path{}, []string{"library/", "ecr-pullthroughcache/"}, []string{"ecr-ptc login"}},
		// Only a 401 is a login problem.
		{"401", pullhint.Failure{Status: 401, Code: "DENIED", Message: "Not Authorized"}, right, []string{"ecr-ptc login"}, []string{"library/"}},
		{"missing import permission", pullhint.Failure{Status: 403, Code: "DENIED", Message: noImport}, right,
			[]string{"not allowed ecr:BatchImportUpstreamImage", "allow ecr:BatchImportUpstreamImage", "iam-policy --for ci"}, []string{"ecr-ptc login"}},
		{"429", pullhint.Failure{Status: 429}, right, []string{"rate-limited"}, nil},
		{"503", pullhint.Failure{Status: 503}, right, []string{"HTTP 503", "retry later"}, nil},
	}
	for _, c := range cases {
		got := pullhint.Hint(c.f, c.p)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: hint %q lacks %q", c.name, got, w)
			}
		}
		for _, w := range c.dontWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: hint %q must not say %q", c.name, got, w)
			}
		}
	}
}

// The rule's own credential is named: a secret, or an ECR-to-ECR rule's customRoleArn.
func TestHintNamesTheCredential(t *testing.T) {
	const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	s, err := rules.Parse("r.json", []byte(`[
		{"ecrRepositoryPrefix":"hub","upstreamRegistryUrl":"registry-1.docker.io","upstreamRegistry":"docker-hub","credentialArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-x"},
		{"ecrRepositoryPrefix":"central","upstreamRegistryUrl":"444455556666.dkr.ecr.us-west-2.amazonaws.com","upstreamRegistry":"ecr","customRoleArn":"arn:aws:iam::123456789012:role/pull","upstreamRepositoryPrefix":"team"}]`))
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.New(reg, mapping.WithRules(s))
	f := pullhint.Failure{Status: 403, Code: "DENIED", Message: upstreamAuth}
	if got := pullhint.Hint(f, pullhint.PathOf(m.Map("node:20"))); !strings.Contains(got, "ecr-pullthroughcache/hub-x holds a valid username and accessToken") {
		t.Errorf("secret: %q", got)
	}
	got := pullhint.Hint(f, pullhint.PathOf(m.Map("444455556666.dkr.ecr.us-west-2.amazonaws.com/team/app:1")))
	if !strings.Contains(got, "role arn:aws:iam::123456789012:role/pull may pull") || !strings.Contains(got, "444455556666.dkr.ecr.us-west-2.amazonaws.com/team/app:1 exists upstream") || strings.Contains(got, "library/") {
		t.Errorf("ECR-to-ECR: %q", got)
	}
}
