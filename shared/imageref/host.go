package imageref

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// maxHostLen is DNS's limit on a name; a registry host[:port] is never longer than that plus a port.
const maxHostLen = 253 + len(":65535")

// ValidHost checks, syntactically, that s is a registry host as Docker and BuildKit accept it: a DNS
// name, an IPv4 address or a bracketed IPv6 address, optionally with :port, and nothing else — no scheme,
// path, query, space, quote, backslash or control character. Values that reach a Dockerfile, a TOML file
// or a CI file command go through it first, so a hostile --registry cannot inject a line.
func ValidHost(s string) error {
	if s == "" {
		return fmt.Errorf("the registry host is empty")
	}
	if len(s) > maxHostLen {
		return fmt.Errorf("the registry host is %d bytes long, more than a host name can be", len(s))
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("the registry host %s has a space, control or non-ASCII character", clipQuote(s))
		}
	}
	if strings.ContainsAny(s, "/?#@\\\"'`;,=&|$%*{}<>^~+!()") {
		return fmt.Errorf("the registry host %s must be a host[:port] without a path, scheme or special characters", clipQuote(s))
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return fmt.Errorf("the registry host %s has an unclosed [", clipQuote(s))
		}
		host, port = s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return fmt.Errorf("the registry host %s is not a bracketed IPv6 address", clipQuote(s))
		}
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return fmt.Errorf("the registry host %s has text after ]", clipQuote(s))
			}
			port = port[1:]
		} else {
			return nil
		}
	} else if h, p, ok := strings.Cut(s, ":"); ok {
		host, port = h, p
		if port == "" {
			return fmt.Errorf("the registry host %s ends with ':' and no port", clipQuote(s))
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("the registry host %s has an invalid port", clipQuote(s))
		}
	}
	if strings.HasPrefix(s, "[") {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("the registry host %s is longer than a DNS name can be", clipQuote(s))
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("the registry host %s is not a DNS name (an empty or over-long label)", clipQuote(s))
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("the registry host %s is not a DNS name (a label starts or ends with '-')", clipQuote(s))
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("the registry host %s is not a DNS name", clipQuote(s))
			}
		}
	}
	return nil
}

// clipQuote quotes s for an error message, cut to a short prefix when long: errors name a value, they
// do not echo a file.
func clipQuote(s string) string {
	const max = 80
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}
