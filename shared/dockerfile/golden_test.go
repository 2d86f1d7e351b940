package dockerfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const cacheHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// testMapper sends Docker Hub, GHCR and Quay through the cache and refuses references already on it.
func testMapper(ref string) (string, bool) {
	if strings.HasPrefix(ref, cacheHost+"/") {
		return "", false
	}
	for _, p := range [][2]string{{"docker.io/", "docker-hub/"}, {"ghcr.io/", "github/"}, {"quay.io/", "quay/"}} {
		if rest, ok := strings.CutPrefix(ref, p[0]); ok {
			return cacheHost + "/" + p[1] + rest, true
		}
	}
	return "", false
}

func identityMapper(string) (string, bool) { return "", false }

// goldenCase is one Dockerfile in testdata analysed and rewritten with fixed options.
type goldenCase struct {
	name string // golden file base name
	file string // testdata/<file>.Dockerfile
	opts Options
}

var goldenCases = []goldenCase{
	{"args", "args", Options{}},
	{"args-override", "args", Options{BuildArgs: map[string]string{
		"NODE_VERSION": "18.19", "BASE": "python:3.11", "DISTRO": "ubuntu", "REGISTRY": "quay.io", "UNDECLARED": "x"}}},
	{"platform", "platform", Options{Platform: "linux/arm64"}},
	{"platform-buildarg", "platform", Options{Platform: "linux/arm/v7", BuildArgs: map[string]string{"BUILDPLATFORM": "linux/arm64", "TARGETARCH": "riscv64"}}},
	{"multistage", "multistage", Options{}},
	{"multistage-target", "multistage", Options{Target: "Tester"}},
	{"multistage-all", "multistage", Options{Target: "builder", AllStages: true}},
	{"heredoc", "heredoc", Options{}},
	{"escape", "escape", Options{}},
	{"lowercase", "lowercase", Options{BuildArgs: map[string]string{"VARIANT": "bookworm"}}},
	{"onbuild", "onbuild", Options{Target: "app"}},
	{"onbuild-all", "onbuild", Options{AllStages: true}},
	{"refs", "refs", Options{}},
	{"varrepo", "varrepo", Options{}},
	{"varrepo-buildargs", "varrepo", Options{BuildArgs: map[string]string{"BASE": "quay.io/prometheus/busybox:glibc", "REG": "quay.io"}}},
	{"varrepo-stage", "varrepo-stage", Options{}},
	{"varrepo-stage-buildargs", "varrepo-stage", Options{BuildArgs: map[string]string{"TAG": "v2"}}},
}

func readCase(t testing.TB, c goldenCase) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", c.file+".Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			data := readCase(t, c)
			file := c.file + ".Dockerfile"
			a, err := Analyze(file, data, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(a, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name+".scan.json", append(js, '\n'))

			out, changes, err := Rewrite(file, data, c.opts, testMapper)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.Write(out)
			b.WriteString("\n#### changes ####\n")
			for _, ch := range changes {
				to := ch.To
				if to == "" {
					to = "(unchanged)"
				}
				fmt.Fprintf(&b, "# %d %s %q -> %q", ch.Line, ch.Instruction, ch.From, to)
				if ch.Note != "" {
					fmt.Fprintf(&b, " [%s]", ch.Note)
				}
				b.WriteByte('\n')
			}
			checkGolden(t, c.name+".rewrite", b.Bytes())

			// Idempotent: a second pass maps nothing.
			again, changes2, err := Rewrite(file, out, c.opts, testMapper)
			if err != nil {
				t.Fatalf("rewriting the output: %v", err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("second rewrite changed the output:\n%s", again)
			}
			for _, ch := range changes2 {
				if ch.To != "" {
					t.Errorf("second rewrite reported a change: %+v", ch)
				}
			}

			// The identity mapper changes nothing.
			same, _, err := Rewrite(file, data, c.opts, identityMapper)
			if err != nil || !bytes.Equal(same, data) {
				t.Errorf("identity rewrite changed the file (err %v)", err)
			}
		})
	}
}
