package imageref

import (
	"strings"
	"testing"
)

func TestValidHost(t *testing.T) {
	for _, ok := range []string{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:5000", "127.0.0.1:41234", "[::1]:5000", "[::1]", "registry.example.com"} {
		if err := ValidHost(ok); err != nil {
			t.Errorf("ValidHost(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x\nRUN curl evil | sh", "evil.example.com/path", "https://x.example.com", "a b", "x#y", "x?y", `x\y`, `x"y`, "x:", "x:0", "x:99999", "-x.example.com", "x..y", "[1.2.3.4]", "[::1", "x]", "ü.example", strings.Repeat("a", 300), "x:5000:6000"} {
		err := ValidHost(bad)
		if err == nil {
			t.Errorf("ValidHost(%q) accepted", bad)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 300 {
			t.Errorf("ValidHost(%q) error is not one short line: %q", bad, err)
		}
	}
}
