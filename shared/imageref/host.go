package imageref

import (
	"fmt"
	"strconv"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
)

// ValidHost checks, syntactically, that s is a registry host as Docker and BuildKit accept it (a DNS name,
// an IPv4 address or a bracketed IPv6 address, optionally with :port, and nothing else). Values that reach
// a Dockerfile, a TOML file or a CI file command go through it first, so a hostile --registry cannot
// inject a line. It is the one host parser's validator (ecrhost.ValidateRegistryHost).
func ValidHost(s string) error { return ecrhost.ValidateRegistryHost(s) }

// clipQuote quotes s for an error message, cut to a short prefix when long: errors name a value, they
// do not echo a file.
func clipQuote(s string) string {
	const max = 80
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}
