package mirrorconfig

import (
	"fmt"
	"net"
	"strings"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Node formats: what Kubernetes nodes need for runtime pulls. docs/node-mirrors.md says what each
// platform can and cannot do; the comments in each output repeat the part a reader must not miss.

// mirrorURL is the cache path a mirror sends an upstream to: the API root with /v2 and the rule prefix,
// the form containerd takes with override_path (hosts.toml) and as a legacy registry.mirrors endpoint
// (containerd 1.7 pkg/cri/server/image_pull.go keeps a non-empty endpoint path as the API root).
func mirrorURL(registry string, m Mirror) string {
	scheme := "https"
	if imageref.IsLoopbackHost(registry) {
		scheme = "http"
	}
	return strings.TrimSuffix(scheme+"://"+registry+"/v2/"+m.Path, "/")
}

// KubeletCredentialProvider is a kubelet CredentialProviderConfig that runs AWS's ecr-credential-provider
// for images named by their cache references.
func KubeletCredentialProvider(registry string) string {
	registry = mapping.NormalizeRegistry(registry)
	var b strings.Builder
	b.WriteString("# kubelet --image-credential-provider-config: ECR logins for images named by their cache reference\n")
	fmt.Fprintf(&b, "# (%s/<prefix>/...: manifests rewritten with `ecr-ptc map`). kubelet matches the image name as\n", registry)
	b.WriteString("# written, so it does NOT send these credentials for docker.io/... names that containerd mirrors to the\n")
	b.WriteString("# cache: such pulls reach the cache without a login and fall back to the upstream (docs/node-mirrors.md).\n")
	b.WriteString("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n")
	b.WriteString("  - name: ecr-credential-provider\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n")
	b.WriteString("    # The token lasts 12 hours; the provider returns its own cache duration.\n    defaultCacheDuration: \"12h\"\n")
	fmt.Fprintf(&b, "    matchImages:\n      - %q\n", registry)
	if _, ok := imageref.ParseECRHost(hostOnly(registry)); !ok {
		b.WriteString("    # ecr-credential-provider answers only for ECR host names: this registry is not one.\n")
	}
	return b.String()
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// Bottlerocket is a Bottlerocket settings TOML (user data) with a registry mirror per upstream.
func Bottlerocket(registry string, set rules.Set) string {
	registry = mapping.NormalizeRegistry(registry)
	ms, skipped := Mirrors(set)
	var b strings.Builder
	b.WriteString("# Bottlerocket user data: pull upstream registries through the ECR pull-through cache " + registry + ".\n")
	b.WriteString("# Bottlerocket writes these as containerd registry.mirrors endpoints; after a mirror error containerd\n")
	b.WriteString("# pulls from the upstream itself, without saying so. Bottlerocket has no way to hand ECR tokens to a\n")
	b.WriteString("# mirror: kubelet's credential provider sees only the upstream name (bottlerocket#3631), and\n")
	b.WriteString("# settings.container-registry.credentials holds a static login, while an ECR token lasts 12 hours.\n")
	b.WriteString("# Unless something renews that login (below), pulls through the mirror are anonymous and ECR refuses them.\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "\n[[settings.container-registry.mirrors]]\nregistry = %q\nendpoint = [%q]\n", m.Upstream, mirrorURL(registry, m))
	}
	b.WriteString("\n# A login for the cache, renewed by a host or bootstrap container every few hours, e.g.:\n")
	b.WriteString("#   apiclient set --json \"$(ecr-ptc credential-helper get <<< " + registry + " | jq -c '{\"container-registry\":{\"credentials\":[{registry: .ServerURL, username: .Username, password: .Secret}]}}')\"\n")
	b.WriteString("# Never put the password itself in user data.\n")
	writeSkipped(&b, skipped)
	return b.String()
}

// Nodeadm is EC2 user data (MIME multi-part) for EKS AL2023 nodes (nodeadm; Karpenter's EC2NodeClass
// userData takes the same): a NodeConfig pointing containerd at /etc/containerd/certs.d, and a script that
// writes one hosts.toml per upstream there.
func Nodeadm(registry string, set rules.Set) string {
	registry = mapping.NormalizeRegistry(registry)
	files, skipped := Containerd(registry, set)
	const boundary = "ECR-PTC-BOUNDARY"
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\n")
	b.WriteString("--" + boundary + "\nContent-Type: application/node.eks.aws\n\n")
	b.WriteString("# EKS AL2023 (nodeadm) / Karpenter user data: containerd reads one hosts.toml per upstream from\n")
	b.WriteString("# /etc/containerd/certs.d and pulls through the ECR pull-through cache " + registry + ".\n")
	b.WriteString("# After a mirror error containerd pulls from the upstream itself, without saying so. kubelet's\n")
	b.WriteString("# ecr-credential-provider matches image names as written, so pulls of docker.io/... names reach the\n")
	b.WriteString("# cache without an ECR login and fall back to the upstream: see docs/node-mirrors.md for what works.\n")
	b.WriteString("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  containerd:\n    config: |\n")
	b.WriteString("      [plugins.\"io.containerd.grpc.v1.cri\".registry]\n        config_path = \"/etc/containerd/certs.d\"\n\n")
	b.WriteString("--" + boundary + "\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n#!/bin/sh\nset -eu\n")
	for _, f := range files {
		dir := "/etc/containerd/certs.d/" + strings.TrimSuffix(f.Path, "/hosts.toml")
		fmt.Fprintf(&b, "mkdir -p '%s'\ncat > '%s/hosts.toml' <<'ECR_PTC_EOF'\n%sECR_PTC_EOF\n", dir, dir, f.Content)
	}
	for _, s := range skipped {
		fmt.Fprintf(&b, "# skipped the rule %q for %s: %s\n", s.Prefix, s.Upstream, s.Reason)
	}
	b.WriteString("\n--" + boundary + "--\n")
	return b.String()
}
