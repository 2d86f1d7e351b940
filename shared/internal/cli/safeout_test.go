package cli

import (
	"strings"
	"testing"
)

// On GitHub every line ecr-ptc prints is read for workflow commands: none may start one.
func TestCommandGuard(t *testing.T) {
	var b strings.Builder
	g := &commandGuard{w: &b}
	for _, chunk := range []string{"ok ::x\n", "::add-mask::s", "ecret\n", "  :", ":warning::pwned\n", ":a\n", ":\n", "\t::error::x\nend\n"} {
		if _, err := g.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("line %q starts a workflow command", line)
		}
	}
	if want := "ok ::x\n\\::add-mask::secret\n  \\::warning::pwned\n:a\n:\n\t\\::error::x\nend\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
