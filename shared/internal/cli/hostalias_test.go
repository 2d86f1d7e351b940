package cli

import (
	"testing"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
)

// GetAuthorizationToken's proxyEndpoint names the standard host; a registry given by its FIPS or
// dual-stack host (reference, "Registry hosts") gets the same login under that host, so Docker finds it.
func TestWithHostAliases(t *testing.T) {
	std := ecrx.Auth{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ProxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", Username: "AWS", Password: "pw"}
	other := ecrx.Auth{Host: "210987654321.dkr.ecr.eu-west-1.amazonaws.com", ProxyEndpoint: "https://210987654321.dkr.ecr.eu-west-1.amazonaws.com", Username: "AWS", Password: "pw2"}
	got := withHostAliases([]ecrx.Auth{std, other}, []string{
		"https://123456789012.dkr-ecr.us-east-1.on.aws/", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com", // already there
		"123456789012.dkr.ecr.us-west-2.amazonaws.com", // another registry: not logged in
		"", "127.0.0.1:5000", "123456789012.dkr-ecr.us-east-1.on.aws\nx",
	})
	if len(got) != 4 {
		t.Fatalf("got %d logins: %+v", len(got), got)
	}
	for i, h := range []string{"123456789012.dkr-ecr.us-east-1.on.aws", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"} {
		a := got[2+i]
		if a.Host != h || a.ProxyEndpoint != "https://"+h || a.Password != "pw" || a.Username != "AWS" {
			t.Errorf("alias %d = %+v", i, a)
		}
	}
}
