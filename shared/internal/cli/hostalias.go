package cli

import (
	"strings"

	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
)

// withHostAliases adds a login for each ECR host in hosts that names a logged-in registry under another
// host (FIPS, dual-stack): GetAuthorizationToken's proxyEndpoint names the standard host only, and Docker
// looks credentials up by the host a reference names.
func withHostAliases(auths []ecrx.Auth, hosts []string) []ecrx.Auth {
	out := auths
	for _, h := range hosts {
		h = mapping.NormalizeRegistry(h)
		if !ecrhost.IsECR(h) || ecrhost.ValidateRegistryHost(h) != nil {
			continue
		}
		var match *ecrx.Auth
		for i, a := range out {
			if strings.EqualFold(a.Host, h) {
				match = nil
				break
			}
			if match == nil && ecrhost.SameRegistry(a.Host, h) {
				match = &out[i]
			}
		}
		if match != nil {
			alias := *match
			alias.Host, alias.ProxyEndpoint = h, "https://"+h
			out = append(out, alias)
		}
	}
	return out
}
