package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// secretCheck applies ECR's rule for upstream credentials: a Secrets Manager secret whose name starts
// with ecr-pullthroughcache/ (reference).
func secretCheck(r rules.Rule) Check {
	name := "secret for " + r.ECRRepositoryPrefix
	up, _ := rules.ByEnum(r.UpstreamRegistry)
	switch {
	case r.CredentialArn == "" && up.NeedsCredential:
		return Check{Name: name, Info: r.UpstreamRegistryURL + " needs credentials but the rule has none", Fix: "recreate the rule with --credential-arn (a secret named ecr-pullthroughcache/...)"}
	case r.CredentialArn == "":
		return Check{Name: name, OK: true, Info: "none needed for " + r.UpstreamRegistryURL}
	case !strings.Contains(r.CredentialArn, ":secret:ecr-pullthroughcache/"):
		return Check{Name: name, Info: r.CredentialArn + " is not named ecr-pullthroughcache/...", Fix: "ECR only reads secrets whose name starts with ecr-pullthroughcache/; create one and update the rule"}
	}
	return Check{Name: name, OK: true, Info: r.CredentialArn}
}

// reachability checks that the registry answers /v2/ with the login.
func reachability(ctx context.Context, a ecrx.Auth) Check {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(a.ProxyEndpoint, "/")+"/v2/", nil)
	if err != nil {
		return Check{Name: "registry", Info: err.Error()}
	}
	req.SetBasicAuth(a.Username, a.Password)
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return Check{Name: "registry", Info: "cannot reach " + a.Host + ": " + err.Error(), Fix: "check the network path (proxy, VPC endpoint for ecr.dkr) to the registry"}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fix := "check the network path (proxy, VPC endpoint policy) to the registry"
		if resp.StatusCode == http.StatusUnauthorized {
			fix = "log in again; the token may have expired"
		}
		return Check{Name: "registry", Info: fmt.Sprintf("%s answered HTTP %d to the login", a.Host, resp.StatusCode), Fix: fix}
	}
	return Check{Name: "registry", OK: true, Info: a.Host + " accepts the login"}
}
