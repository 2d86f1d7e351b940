package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// genDockerfile builds a realistic ~30-line multi-stage Dockerfile, varied by i.
func genDockerfile(i int) []byte {
	langs := []struct{ image, build string }{
		{"golang", "go build -o /out/app ./..."},
		{"node", "npm ci && npm run build"},
		{"python", "pip wheel -w /out ."},
		{"rust", "cargo build --release"},
	}
	l := langs[i%len(langs)]
	var b strings.Builder
	fmt.Fprintf(&b, "# syntax=docker/dockerfile:1.%d\n", 4+i%4)
	fmt.Fprintf(&b, "ARG VERSION=1.%d\n", i%30)
	b.WriteString("ARG REGISTRY=ghcr.io/acme\n")
	fmt.Fprintf(&b, "ARG RUNTIME=debian:bookworm-%d-slim\n", i%5)
	b.WriteString("\n")
	fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM %s:${VERSION} AS deps\n", l.image)
	b.WriteString("WORKDIR /src\n")
	b.WriteString("COPY go.mod go.sum package.json ./\n")
	b.WriteString("RUN --mount=type=cache,target=/root/.cache \\\n    echo fetching dependencies\n")
	b.WriteString("\n")
	b.WriteString("FROM deps AS build\n")
	b.WriteString("ARG TARGETOS TARGETARCH\n")
	b.WriteString("COPY . .\n")
	fmt.Fprintf(&b, "RUN --mount=type=bind,from=ghcr.io/acme/tools:%d,target=/tools \\\n    GOOS=$TARGETOS GOARCH=$TARGETARCH %s\n", i%9, l.build)
	b.WriteString("\n")
	b.WriteString("FROM deps AS test\n")
	b.WriteString("RUN <<EOT\nset -e\necho running tests\nEOT\n")
	b.WriteString("\n")
	fmt.Fprintf(&b, "FROM ${RUNTIME} AS runtime\n")
	b.WriteString("RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\\n    && rm -rf /var/lib/apt/lists/*\n")
	fmt.Fprintf(&b, "COPY --from=busybox:1.%d /bin/busybox /bin/busybox\n", 30+i%7)
	b.WriteString("COPY --from=build /out /app\n")
	b.WriteString("USER 65532:65532\n")
	b.WriteString("ENTRYPOINT [\"/app/app\"]\n")
	return []byte(b.String())
}

// BenchmarkAnalyze1000 analyses 1,000 generated Dockerfiles sequentially; one op is all 1,000.
func BenchmarkAnalyze1000(b *testing.B) {
	files := make([][]byte, 1000)
	for i := range files {
		files[i] = genDockerfile(i)
	}
	if _, err := Analyze("Dockerfile", files[0], Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			if _, err := Analyze("Dockerfile", f, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestGeneratedDockerfile keeps the benchmark input honest: it parses and pulls what it should.
func TestGeneratedDockerfile(t *testing.T) {
	df := genDockerfile(5)
	if n := strings.Count(string(df), "\n"); n < 25 || n > 40 {
		t.Errorf("generated Dockerfile has %d lines", n)
	}
	a, err := Analyze("Dockerfile", df, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, u := range a.Images {
		refs = append(refs, u.Instruction+" "+u.Ref)
	}
	want := []string{
		"syntax docker.io/docker/dockerfile:1.5",
		"FROM docker.io/library/node:1.5",
		"RUN --mount ghcr.io/acme/tools:5",
		"FROM docker.io/library/debian:bookworm-0-slim",
		"COPY --from docker.io/library/busybox:1.35",
	}
	if strings.Join(refs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s", strings.Join(refs, "\n"))
	}
	compareWithBuildKit(t, "Dockerfile", df, Options{})
}
