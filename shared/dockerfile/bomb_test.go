package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// Issue 11: resource bombs. ARG B=$A$A doubles at each step and thousands of chained ARGs make BuildKit's
// EnvList allocate a map per ARG: both end in one error at the offending line, not in exhausted memory.
func TestARGBombs(t *testing.T) {
	var doubling, chain strings.Builder
	doubling.WriteString("ARG A0=xxxxxxxx\n")
	chain.WriteString("ARG A0=x\n")
	for i := 1; i < 10000; i++ {
		if i < 100 {
			fmt.Fprintf(&doubling, "ARG A%d=${A%d}${A%d}\n", i, i-1, i-1)
		}
		fmt.Fprintf(&chain, "ARG A%d=${A%d}\n", i, i-1)
	}
	doubling.WriteString("FROM alpine:${A99}\n")
	chain.WriteString("FROM alpine:${A9999}\n")
	for name, c := range map[string]struct{ body, want string }{
		"doubling": {doubling.String(), "Dockerfile:15: ARG A14 expands to 131072 bytes"},
		"chain":    {chain.String(), "Dockerfile:1001: more than 1000 ARGs before the first FROM"},
	} {
		_, err := Analyze("Dockerfile", []byte(c.body), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
