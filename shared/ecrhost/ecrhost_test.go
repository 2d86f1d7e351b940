package ecrhost_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
)

// Host forms: the reference ("Registry hosts") and amazon-ecr-credential-helper's ExtractRegistry
// pattern (ecr-login/api/client.go); sovereign/ISO dual-stack names from Renovate's ECR host pattern.
func TestParse(t *testing.T) {
	const acct = "123456789012"
	cases := []struct {
		host string
		want ecrhost.Registry
	}{
		{acct + ".dkr.ecr.us-east-1.amazonaws.com", ecrhost.Registry{AccountID: acct, Region: "us-east-1", Partition: "aws"}},
		{"https://" + acct + ".dkr.ecr.us-east-1.amazonaws.com/", ecrhost.Registry{AccountID: acct, Region: "us-east-1", Partition: "aws"}},
		{strings.ToUpper(acct + ".DKR.ECR.US-EAST-1.AMAZONAWS.COM"), ecrhost.Registry{AccountID: acct, Region: "us-east-1", Partition: "aws"}},
		{acct + ".dkr.ecr-fips.us-east-1.amazonaws.com", ecrhost.Registry{AccountID: acct, Region: "us-east-1", Partition: "aws", FIPS: true}},
		{acct + ".dkr-ecr.eu-west-1.on.aws", ecrhost.Registry{AccountID: acct, Region: "eu-west-1", Partition: "aws", DualStack: true}},
		{acct + ".dkr-ecr-fips.us-east-2.on.aws", ecrhost.Registry{AccountID: acct, Region: "us-east-2", Partition: "aws", FIPS: true, DualStack: true}},
		{acct + ".dkr.ecr.us-gov-west-1.amazonaws.com", ecrhost.Registry{AccountID: acct, Region: "us-gov-west-1", Partition: "aws-us-gov"}},
		{acct + ".dkr.ecr-fips.us-gov-west-1.amazonaws.com", ecrhost.Registry{AccountID: acct, Region: "us-gov-west-1", Partition: "aws-us-gov", FIPS: true}},
		{acct + ".dkr-ecr.us-gov-east-1.on.aws", ecrhost.Registry{AccountID: acct, Region: "us-gov-east-1", Partition: "aws-us-gov", DualStack: true}},
		{acct + ".dkr.ecr.cn-north-1.amazonaws.com.cn", ecrhost.Registry{AccountID: acct, Region: "cn-north-1", Partition: "aws-cn"}},
		{acct + ".dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", ecrhost.Registry{AccountID: acct, Region: "cn-northwest-1", Partition: "aws-cn", DualStack: true}},
		{acct + ".dkr.ecr.eusc-de-east-1.amazonaws.eu", ecrhost.Registry{AccountID: acct, Region: "eusc-de-east-1", Partition: "aws-eusc"}},
		{acct + ".dkr-ecr.eusc-de-east-1.on.amazonwebservices.eu", ecrhost.Registry{AccountID: acct, Region: "eusc-de-east-1", Partition: "aws-eusc", DualStack: true}},
		{acct + ".dkr.ecr.us-iso-east-1.c2s.ic.gov", ecrhost.Registry{AccountID: acct, Region: "us-iso-east-1", Partition: "aws-iso"}},
		{acct + ".dkr.ecr.us-isob-east-1.sc2s.sgov.gov", ecrhost.Registry{AccountID: acct, Region: "us-isob-east-1", Partition: "aws-iso-b"}},
		{acct + ".dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", ecrhost.Registry{AccountID: acct, Region: "eu-isoe-west-1", Partition: "aws-iso-e"}},
		{acct + ".dkr.ecr.us-isof-south-1.csp.hci.ic.gov", ecrhost.Registry{AccountID: acct, Region: "us-isof-south-1", Partition: "aws-iso-f"}},
	}
	for _, c := range cases {
		got, ok := ecrhost.Parse(c.host)
		if !ok || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.host, got, ok, c.want)
		}
	}
	for _, h := range []string{
		"public.ecr.aws", "docker.io", "ghcr.io", "",
		"12345.dkr.ecr.us-east-1.amazonaws.com",                // not 12 digits
		acct + ".dkr.ecr.us-east-1.amazonaws.com:443",          // a port: not a bare host
		acct + ".dkr.ecr.us-east-1.amazonaws.com.evil.example", // suffix must end the host
		acct + ".dkr.ecr.us-east-1.example.com",
		"api.ecr.us-east-1.amazonaws.com",
		acct + ".dkr.ecr..amazonaws.com",
	} {
		if r, ok := ecrhost.Parse(h); ok {
			t.Errorf("Parse(%q) = %+v; want not an ECR host", h, r)
		}
	}
}

// One registry, several hosts: a ref on the FIPS or dual-stack host of the cache registry is on the
// cache registry (issue 10, point 5).
func TestSameRegistry(t *testing.T) {
	const std = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	for _, h := range []string{std, "123456789012.DKR.ECR.us-east-1.amazonaws.com", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "123456789012.dkr-ecr.us-east-1.on.aws", "123456789012.dkr-ecr-fips.us-east-1.on.aws"} {
		if !ecrhost.SameRegistry(std, h) || !ecrhost.SameRegistry(h, std) {
			t.Errorf("%s and %s are one registry", std, h)
		}
		if got := ecrhost.Key(h); got != std {
			t.Errorf("Key(%s) = %s", h, got)
		}
	}
	for _, h := range []string{"210987654321.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-west-2.amazonaws.com", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "127.0.0.1:5000"} {
		if ecrhost.SameRegistry(std, h) {
			t.Errorf("%s and %s are not one registry", std, h)
		}
	}
	if !ecrhost.SameRegistry("127.0.0.1:5000", "127.0.0.1:5000") || ecrhost.Key("LocalHost:5000") != "localhost:5000" {
		t.Error("non-ECR hosts compare as strings, any case")
	}
}

func TestHostForAndPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":       "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"us-gov-west-1":   "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
		"cn-north-1":      "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"eusc-de-east-1":  "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
		"us-iso-east-1":   "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
		"us-isob-east-1":  "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
		"eu-isoe-west-1":  "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
		"us-isof-south-1": "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
	} {
		got := ecrhost.HostFor("123456789012", region)
		if got != want {
			t.Errorf("HostFor(%s) = %s, want %s", region, got, want)
		}
		r, ok := ecrhost.Parse(got)
		if !ok || r.Partition != ecrhost.PartitionOf(region) || r.Host() != got {
			t.Errorf("HostFor(%s) does not parse back: %+v %v", region, r, ok)
		}
	}
}

func TestValidateRegistryHost(t *testing.T) {
	for _, ok := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr-ecr.us-east-1.on.aws",
		"localhost", "localhost:5000", "127.0.0.1:38123", "127.0.0.1", "[::1]:5000", "[::1]",
		"registry.example.com", "my-registry.example.com:443", "A.B",
	} {
		if err := ecrhost.ValidateRegistryHost(ok); err != nil {
			t.Errorf("ValidateRegistryHost(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", " ", "reg.example.com ", "reg.example.com\nmirrors = []", "reg\r", "reg\x00x", "reg\tx",
		"reg#x", "reg?x", `reg\x`, "reg/x", "user@reg", "https://reg.example.com",
		"reg.example.com:", "reg.example.com:0", "reg.example.com:65536", "reg.example.com:http", "reg:01",
		"::1", "[::1", "[1.2.3.4]", "[::1]x", "-reg.example.com", "reg-.example.com", "reg..example.com",
		".reg", "reg.", "reg_x.example.com", "999.1.1.1", "1.2.3", "réseau.example", strings.Repeat("a", 64) + ".com",
		strings.Repeat("a.", 200) + "com",
	} {
		err := ecrhost.ValidateRegistryHost(bad)
		if err == nil {
			t.Errorf("ValidateRegistryHost(%q) = nil, want an error", bad)
			continue
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x00") || len(msg) > 200 {
			t.Errorf("the error for %q must be one short line: %q", bad, msg)
		}
	}
}

// Hostile input never panics, and what passes is safe to put in a command line, TOML or a summary.
func FuzzValidateRegistryHost(f *testing.F) {
	for _, s := range []string{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "[::1]:5000", "a\nb", "x:0", "[", "]:", "1.2.3.4:65535", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ecrhost.Parse(s)
		err := ecrhost.ValidateRegistryHost(s)
		if err == nil && strings.ContainsAny(s, " \t\r\n\"'#?\\/@$`;|&<>(){}") {
			t.Fatalf("ValidateRegistryHost accepted %q", s)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("multi-line error for %q", s)
		}
	})
}
