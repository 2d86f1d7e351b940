package frontend_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// prefetchCases (a subtest of TestE2EFrontend, so it runs on every buildkitd of `make test-compat`): the
// frontend pulls each resolved image's layers as a step of its own, at the digest the build uses, and
// the build's result and report do not change; ECR_PTC_PREFETCH=false turns it off, a value that is not
// a boolean fails the build. On a daemon without
// the capabilities it needs it would be skipped: every daemon of the matrix has them.
func prefetchCases(t *testing.T, w *world, cfg map[string]string, syntax string) {
	df := syntax + "FROM alpine:3.20 AS a\nFROM busybox:static\nCOPY --from=a /etc/sandbox-image /from-alpine\n"
	step := regexp.MustCompile(`(?m)^#\d+ \[ecr-ptc\] prefetch ` + regexp.QuoteMeta(w.sb.RegistryHost) + `/docker-hub/library/(alpine:3\.20|busybox:static)@sha256:[0-9a-f]{64}$`)
	bad := map[string]string{"ECR_PTC_PREFETCH": "maybe"}
	for k, v := range cfg {
		bad[k] = v
	}
	if r := w.build(build{dockerfile: df, args: bad}); r.err == nil || !strings.Contains(r.out, "ECR_PTC_PREFETCH") {
		t.Errorf("ECR_PTC_PREFETCH=maybe: want a build error naming it\n%s", r.out)
	}
	for _, off := range []bool{false, true} {
		args := map[string]string{}
		for k, v := range cfg {
			args[k] = v
		}
		if off {
			args["ECR_PTC_PREFETCH"] = "false"
		}
		r := w.build(build{dockerfile: df, args: args})
		ok(t, r)
		fileHas(t, r, "from-alpine", "registry-1.docker.io/library/alpine:3.20 linux/amd64")
		cached(t, image(t, r, "docker.io/library/alpine:3.20", ""), w.sb.RegistryHost+"/docker-hub/library/alpine:3.20@")
		cached(t, image(t, r, "docker.io/library/busybox:static", ""), w.sb.RegistryHost+"/docker-hub/library/busybox:static@")
		steps := map[string]bool{}
		for _, m := range step.FindAllStringSubmatch(r.out, -1) {
			steps[m[1]] = true
		}
		switch {
		case off && len(steps) > 0:
			t.Errorf("ECR_PTC_PREFETCH=false, and the images were prefetched:\n%s", r.out)
		case !off && len(steps) != 2:
			t.Errorf("prefetch steps for %v, want both images:\n%s", steps, r.out)
		}
		if _, err := os.Lstat(filepath.Join(r.dir, ".ecr-ptc-prefetch")); err == nil {
			t.Error("the prefetch's directory is in the build's result")
		}
	}
}
