package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/mirrorconfig"
	"github.com/spf13/cobra"
)

// maxHostsTOML bounds what doctor reads of a node's hosts.toml (untrusted input).
const maxHostsTOML = 64 << 10

// containerdHostsChecks checks a node's containerd hosts directory (certs.d) against the rules: for each
// upstream a rule serves, containerd's own parser (core/remotes/docker/config, the code ctr and the CRI
// plugin run) must put the cache first, at the rule's path, able to pull and resolve.
func containerdHostsChecks(ctx context.Context, dir string, m *mapping.Mapper) []check {
	var out []check
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return []check{{Name: "containerd hosts", Info: fmt.Sprintf("%s is not a directory", dir),
			Fix: "pass the node's hosts directory (config_path in containerd's config, usually /etc/containerd/certs.d)"}}
	}
	registry := mapping.NormalizeRegistry(m.Registry())
	scheme := "https"
	if imageref.IsLoopbackHost(registry) {
		scheme = "http"
	}
	mirrors, skipped := mirrorconfig.Mirrors(m.Rules())
	hostsFn := config.ConfigureHosts(ctx, config.HostOptions{HostDir: config.HostDirFromRoot(dir)})
	for _, mr := range mirrors {
		out = append(out, hostsCheck(dir, registry, scheme, mr, hostsFn))
	}
	for _, s := range skipped {
		out = append(out, check{Name: "containerd hosts " + s.Upstream, OK: true, Info: "no mirror possible for the rule " + s.Prefix + ": " + s.Reason})
	}
	return out
}

// hostsCheck checks one upstream's hosts.toml: the cache first, at the rule's path, able to pull and resolve.
func hostsCheck(dir, registry, scheme string, mr mirrorconfig.Mirror, hostsFn docker.RegistryHosts) check {
	name := "containerd hosts " + mr.Upstream
	want := "/v2"
	if mr.Path != "" {
		want += "/" + mr.Path
	}
	fix := fmt.Sprintf("ecr-ptc mirror-config --format containerd --registry %s --dir %s", registry, dir)
	file := filepath.Join(dir, hostDirName(mr.Upstream), "hosts.toml")
	if why := boundedRegular(file); why != "" {
		return check{Name: name, Info: why + ": containerd pulls " + mr.Upstream + " without the cache", Fix: fix}
	}
	hosts, err := hostsFn(mr.Upstream)
	if err != nil {
		return check{Name: name, Info: fmt.Sprintf("%s does not parse: %v", file, oneLine(err.Error())), Fix: fix}
	}
	if len(hosts) == 0 || hosts[0].Host != registry {
		return check{Name: name, Info: fmt.Sprintf("%s does not send %s to the cache %s first", file, mr.Upstream, registry), Fix: fix}
	}
	h := hosts[0]
	var problems []string
	if h.Path != want {
		p := fmt.Sprintf("the cache path is %s, the rule needs %s", h.Path, want)
		if strings.HasSuffix(h.Path, "/v2") && h.Path != "/v2" {
			p += " (override_path = true is missing, so containerd appended /v2)"
		}
		problems = append(problems, p)
	}
	if h.Scheme != scheme {
		problems = append(problems, fmt.Sprintf("the cache is reached over %s, not %s", h.Scheme, scheme))
	}
	if h.Capabilities&docker.HostCapabilityPull == 0 || h.Capabilities&docker.HostCapabilityResolve == 0 {
		problems = append(problems, `capabilities must include "pull" and "resolve"`)
	}
	if len(problems) > 0 {
		return check{Name: name, Info: file + ": " + strings.Join(problems, "; "), Fix: fix}
	}
	info := fmt.Sprintf("%s://%s%s", h.Scheme, h.Host, h.Path)
	if last := hosts[len(hosts)-1]; len(hosts) > 1 {
		info += fmt.Sprintf("; after a cache error containerd pulls from %s://%s without saying so", last.Scheme, last.Host)
	}
	return check{Name: name, OK: true, Info: info}
}

// hostDirName is containerd's directory name for a host ("host:port" becomes "host_port_").
func hostDirName(host string) string {
	if i := strings.LastIndex(host, ":"); i > 0 {
		return host[:i] + "_" + host[i+1:] + "_"
	}
	return host
}

// boundedRegular says why path is not a regular file of bounded size ("" when it is).
func boundedRegular(path string) string {
	fi, err := os.Lstat(path)
	switch {
	case os.IsNotExist(err):
		return "no " + path
	case err != nil:
		return oneLine(pathError(err).Error())
	case !fi.Mode().IsRegular():
		return path + " is not a regular file"
	case fi.Size() > maxHostsTOML:
		return fmt.Sprintf("%s is larger than %d KiB", path, maxHostsTOML>>10)
	}
	return ""
}

// oneLine keeps the first line of a message, printable and short.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// containerdHostsFlags are doctor's --containerd-hosts mode: a node's hosts.toml files instead of AWS.
type containerdHostsFlags struct {
	dir string
	mf  mapFlags
}

func (f *containerdHostsFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "containerd-hosts", "", "check a node's containerd hosts directory (e.g. /etc/containerd/certs.d) against the rules (--registry, --rules or --rule), without AWS")
	f.mf.add(cmd)
}

// checks runs the hosts checks when --containerd-hosts is given, else the doctor's own.
func (f *containerdHostsFlags) checks(ctx context.Context, env Env, otherwise func() []check) ([]check, error) {
	if f.dir == "" {
		return otherwise(), nil
	}
	m, err := f.mf.mapper(env)
	if err != nil {
		return nil, err
	}
	return containerdHostsChecks(ctx, f.dir, m), nil
}
