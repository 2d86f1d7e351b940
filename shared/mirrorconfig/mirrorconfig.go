// Package mirrorconfig renders registry mirror configuration that sends the pulls of upstream registries
// to an ECR pull-through cache, for builders one controls: BuildKit's buildkitd.toml (path mirrors) and
// containerd's hosts.toml files (override_path).
package mirrorconfig

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/ecrhost"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Mirror is one upstream registry served by a path in the cache registry.
type Mirror struct {
	Upstream string // the registry as image references name it: docker.io, ghcr.io, ...
	Server   string // the upstream's API host: registry-1.docker.io for Docker Hub, else Upstream
	Path     string // the repository path prefix in the cache ("docker-hub"); empty for a ROOT rule
	Prefix   string // the rule's ecrRepositoryPrefix, as written
}

// Skipped is a rule no mirror can express.
type Skipped struct {
	Upstream string
	Prefix   string
	Reason   string
}

// Mirrors is one mirror per upstream host the rules serve, sorted by host. A mirror rewrites the host
// and prepends a path; it cannot strip an upstreamRepositoryPrefix, so such ECR-to-ECR rules are skipped.
func Mirrors(set rules.Set) ([]Mirror, []Skipped) {
	seen := map[string]bool{}
	var ms []Mirror
	var skipped []Skipped
	for _, r := range set.Rules {
		host := r.UpstreamHost()
		prefix := strings.TrimSuffix(r.ECRRepositoryPrefix, "/")
		if up := r.UpstreamPrefix(); up != "" {
			skipped = append(skipped, Skipped{host, prefix, fmt.Sprintf("the rule serves only %s/%s/*, and a mirror cannot strip that prefix from the path", host, up)})
			continue
		}
		// An ECR upstream is one registry under any of its hosts (standard, FIPS, dual-stack).
		if seen[ecrhost.Key(host)] {
			skipped = append(skipped, Skipped{host, prefix, "another rule already serves " + host})
			continue
		}
		seen[ecrhost.Key(host)] = true
		m := Mirror{Upstream: host, Server: host, Prefix: prefix}
		if host == imageref.DockerHub {
			m.Server = imageref.DockerHubUpstreamURL
		}
		if prefix != rules.Root {
			m.Path = prefix
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Upstream < ms[j].Upstream })
	return ms, skipped
}

// Buildkitd is a buildkitd.toml fragment with a path mirror per upstream.
func Buildkitd(registry string, set rules.Set) string {
	registry = mapping.NormalizeRegistry(registry)
	ms, skipped := Mirrors(set)
	var b strings.Builder
	fmt.Fprintf(&b, "# buildkitd.toml: pull upstream registries through the ECR pull-through cache %s.\n", registry)
	b.WriteString("# BuildKit looks up credentials for the mirror host (`ecr-ptc login` writes them); after a mirror\n")
	b.WriteString("# error it pulls from the upstream registry itself, without saying so.\n")
	for _, m := range ms {
		target := registry
		if m.Path != "" {
			target += "/" + m.Path
		}
		fmt.Fprintf(&b, "\n[registry.%q]\n  mirrors = [%q]\n", m.Upstream, target)
	}
	if imageref.IsLoopbackHost(registry) {
		// A local sandbox registry speaks plain http.
		fmt.Fprintf(&b, "\n[registry.%q]\n  http = true\n", registry)
	}
	writeSkipped(&b, skipped)
	return b.String()
}

// File is one generated file, its path relative to containerd's certs.d directory.
type File struct {
	Path    string
	Content string
}

// Containerd is one hosts.toml per upstream (certs.d/<upstream>/hosts.toml), each sending pulls to the
// cache path with override_path, the upstream itself staying the server.
func Containerd(registry string, set rules.Set) ([]File, []Skipped) {
	registry = mapping.NormalizeRegistry(registry)
	scheme := "https"
	if imageref.IsLoopbackHost(registry) {
		scheme = "http"
	}
	ms, skipped := Mirrors(set)
	var files []File
	for _, m := range ms {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s through the ECR pull-through cache %s (rule prefix %q).\n", m.Upstream, registry, m.Prefix)
		fmt.Fprintf(&b, "server = %q\n\n", "https://"+m.Server)
		// override_path: the host URL is the API root, /v2 included, so the cache path can follow it.
		fmt.Fprintf(&b, "[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n", scheme+"://"+strings.TrimSuffix(registry+"/v2/"+m.Path, "/"))
		files = append(files, File{Path: m.Upstream + "/hosts.toml", Content: b.String()})
	}
	return files, skipped
}

// ContainerdText is every hosts.toml in one text, each after a comment naming its path.
func ContainerdText(registry string, set rules.Set) string {
	files, skipped := Containerd(registry, set)
	var b strings.Builder
	for i, f := range files {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# ---- /etc/containerd/certs.d/%s\n%s", f.Path, f.Content)
	}
	writeSkipped(&b, skipped)
	return b.String()
}

func writeSkipped(b *strings.Builder, skipped []Skipped) {
	for _, s := range skipped {
		fmt.Fprintf(b, "\n# skipped the rule %q for %s: %s\n", s.Prefix, s.Upstream, s.Reason)
	}
}
