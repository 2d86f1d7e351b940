package cli_test

import (
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/freshness"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// stale asks the upstream with the credentials `docker login` stored for it (a private upstream
// repository, or a paid Docker Hub account), and says so when the upstream refuses.
func TestE2EStaleUpstreamCredentials(t *testing.T) {
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "upstream-token-1" {
			w.Header().Set("WWW-Authenticate", `Basic realm="upstream"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(256, 1)
	ref, _ := name.ParseReference(host+"/private-org/app:1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "robot", Password: "upstream-token-1"})); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	w := newWorld(t, sandbox.Config{})
	w.ruleDefaults("docker-hub")
	src := w.dockerfile("FROM private-org/app:1\n")
	args := []string{"stale", src, "--upstream-endpoint", "docker.io=" + host, "--json"}

	r := w.run(args...)
	got := staleResults(t, r.stdout)["docker.io/private-org/app:1"]
	if r.code != 0 || got.Verdict != freshness.Unknown || !strings.Contains(got.Reason, "refused the request (HTTP 401)") {
		t.Fatalf("anonymous: %+v %+v", r, got)
	}
	os.MkdirAll(w.env["DOCKER_CONFIG"], 0o700)
	auth := base64.StdEncoding.EncodeToString([]byte("robot:upstream-token-1"))
	if err := os.WriteFile(filepath.Join(w.env["DOCKER_CONFIG"], "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = w.run(args...)
	got = staleResults(t, r.stdout)["docker.io/private-org/app:1"]
	if r.code != 0 || got.UpstreamDigest != want.String() || strings.Contains(r.stdout+r.stderr, "upstream-token-1") {
		t.Fatalf("with the docker login: %+v %+v", r, got)
	}
}
