// Package ecrhost is the one parser of Amazon ECR private registry hosts: every partition and endpoint
// flavour a registry answers on (standard, FIPS, dual-stack), with the account, region and ARN partition
// it names; and a strict syntactic check of registry hosts given on a command line.
package ecrhost

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Partition names, as they appear in ARNs.
const (
	AWS      = "aws"
	China    = "aws-cn"
	GovCloud = "aws-us-gov"
	EUSC     = "aws-eusc" // AWS European Sovereign Cloud
	ISO      = "aws-iso"
	ISOB     = "aws-iso-b"
	ISOE     = "aws-iso-e"
	ISOF     = "aws-iso-f"
)

// suffix is a DNS suffix ECR registry hosts use: the IPv4 one and the dual-stack one of a partition.
type suffix struct {
	partition string
	standard  string // <acct>.dkr.ecr[-fips].<region>.<standard>
	dualStack string // <acct>.dkr-ecr[-fips].<region>.<dualStack>
}

// suffixes follows amazon-ecr-credential-helper's ExtractRegistry pattern (ecr-login/api/client.go:
// amazonaws.com(.cn), amazonaws.eu, on.aws, on.amazonwebservices.com.cn, sc2s.sgov.gov, c2s.ic.gov,
// cloud.adc-e.uk, csp.hci.ic.gov) and Renovate's ECR host pattern (lib/modules/datasource/docker/ecr.ts)
// for the dual-stack names of the sovereign and ISO partitions. GovCloud shares the commercial suffixes;
// its regions tell it apart.
var suffixes = []suffix{
	{AWS, "amazonaws.com", "on.aws"},
	{China, "amazonaws.com.cn", "on.amazonwebservices.com.cn"},
	{EUSC, "amazonaws.eu", "on.amazonwebservices.eu"},
	{ISO, "c2s.ic.gov", "on.aws.ic.gov"},
	{ISOB, "sc2s.sgov.gov", "on.aws.scloud"},
	{ISOE, "cloud.adc-e.uk", "on.cloud-aws.adc-e.uk"},
	{ISOF, "csp.hci.ic.gov", "on.aws.hci.ic.gov"},
}

// hostPattern: account, "." (standard) or "-" (dual-stack), "-fips", region, DNS suffix.
var hostPattern = regexp.MustCompile(`^(\d{12})\.dkr([.-])ecr(-fips)?\.([a-z0-9][a-z0-9-]*)\.([a-z0-9.-]+)$`)

// Registry is what an ECR registry host names.
type Registry struct {
	AccountID string
	Region    string
	Partition string // "aws", "aws-cn", "aws-us-gov", "aws-eusc", "aws-iso", ...
	FIPS      bool   // dkr.ecr-fips / dkr-ecr-fips
	DualStack bool   // dkr-ecr.<region>.on.aws and its partition's equivalent
}

// Normalize is the one normalisation of a registry as users write it: surrounding space, an http(s)://
// scheme and trailing slashes dropped, lower case. Registry hosts are case-insensitive.
func Normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	return strings.TrimRight(s, "/")
}

// Parse reports whether host (no port; any case; a leading https:// and trailing / are ignored) is a
// private ECR registry host, and what it names.
func Parse(host string) (Registry, bool) {
	h := Normalize(host)
	m := hostPattern.FindStringSubmatch(h)
	if m == nil {
		return Registry{}, false
	}
	r := Registry{AccountID: m[1], Region: m[4], FIPS: m[3] != ""}
	dashed := m[2] == "-"
	for _, s := range suffixes {
		switch m[5] {
		case s.standard:
		case s.dualStack:
			r.DualStack = true
		default:
			continue
		}
		// A dual-stack host is spelled dkr-ecr; the credential helper also accepts dkr-ecr on the IPv4
		// suffix, so does this parser (it names the same registry either way).
		r.DualStack = r.DualStack || dashed
		r.Partition = s.partition
		if s.partition == AWS && strings.HasPrefix(r.Region, "us-gov-") {
			r.Partition = GovCloud
		}
		return r, true
	}
	return Registry{}, false
}

// IsECR reports whether host is a private ECR registry host.
func IsECR(host string) bool {
	_, ok := Parse(host)
	return ok
}

// Host is the registry's standard host: IPv4, not FIPS — the one GetAuthorizationToken's proxyEndpoint
// names.
func (r Registry) Host() string { return HostFor(r.AccountID, r.Region) }

// Same reports whether r and o are one registry (an account in a region), whatever host named them.
func (r Registry) Same(o Registry) bool {
	return r.AccountID == o.AccountID && r.Region == o.Region && r.Partition == o.Partition
}

// SameRegistry reports whether two registry hosts name one registry: equal hosts (any case), or two
// hosts of one ECR registry (standard, FIPS, dual-stack).
func SameRegistry(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ra, okA := Parse(a)
	rb, okB := Parse(b)
	return okA && okB && ra.Same(rb)
}

// Key is the host that stands for every host of the same registry: an ECR host's standard host, any
// other host lower-cased. Hosts with equal keys name one registry.
func Key(host string) string {
	if r, ok := Parse(host); ok {
		return r.Host()
	}
	return strings.ToLower(host)
}

// HostFor is the standard registry host of an account in a region, in the region's partition.
func HostFor(accountID, region string) string {
	p := PartitionOf(region)
	dns := suffixes[0].standard
	for _, s := range suffixes {
		if s.partition == p {
			dns = s.standard
		}
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s", accountID, region, dns)
}

// PartitionOf is the ARN partition of a region (the SDK's partition table: cn-*, us-gov-*, eusc-*,
// us-iso-*, us-isob-*, *-isoe-*, *-isof-*); "aws" for every other or unknown region.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return China
	case strings.HasPrefix(region, "us-gov-"):
		return GovCloud
	case strings.HasPrefix(region, "eusc-"):
		return EUSC
	case strings.HasPrefix(region, "us-iso-"):
		return ISO
	case strings.HasPrefix(region, "us-isob-"):
		return ISOB
	case strings.Contains(region, "-isoe-"):
		return ISOE
	case strings.Contains(region, "-isof-"):
		return ISOF
	}
	return AWS
}

// dnsLabel is one label of a host name (RFC 1123).
var dnsLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// ValidateRegistryHost checks, by syntax only, that s is a registry host as --registry takes it: a DNS
// name, an IPv4 address or a bracketed IPv6 address, with an optional :port — no scheme, path, user,
// spaces, control characters or any of # ? \. The value may be hostile: the error quotes at most a short,
// escaped part of it.
func ValidateRegistryHost(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("registry host %s is not valid: %s", quoteShort(s), why)
	}
	switch {
	case s == "":
		return bad("it is empty")
	case len(s) > 261: // 253 for the name, ":65535"
		return bad("it is longer than a host name can be")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r > 0x7e }):
		return bad("it contains spaces, control or non-ASCII characters")
	case strings.Contains(s, "://"):
		return bad("drop the scheme (https://); give the host only")
	case strings.ContainsAny(s, `/#?\@`):
		return bad("a host has no path, user or any of / # ? \\ @")
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("the IPv6 address has no closing ]")
		}
		host, port = s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil || strings.Contains(host, "%") {
			return bad("the part in brackets is not an IPv6 address")
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return bad("only :port may follow the IPv6 address")
			}
			port = p
		}
	} else if h, p, ok := strings.Cut(s, ":"); ok {
		host, port = h, p
		if strings.Contains(port, ":") {
			return bad("an IPv6 address must be in brackets, e.g. [::1]:5000")
		}
	}
	if port != "" || strings.HasSuffix(s, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("the port must be a number from 1 to 65535")
		}
	}
	if strings.HasPrefix(s, "[") {
		return nil
	}
	if len(host) > 253 {
		return bad("the host name is longer than 253 characters")
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return bad("each dot-separated part of a host name is 1 to 63 letters, digits or inner hyphens")
		}
	}
	// An all-numeric name must be an IPv4 address: 1.2.3 or 999.1.1.1 are neither names nor addresses.
	if strings.Trim(host, "0123456789.") == "" && net.ParseIP(host).To4() == nil {
		return bad("it is not a valid IPv4 address")
	}
	return nil
}

// quoteShort quotes (escaping control characters) at most the first 64 bytes of s.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
