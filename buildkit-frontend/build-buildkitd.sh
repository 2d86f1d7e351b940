#!/usr/bin/env bash
# build-buildkitd.sh VERSION DIR: builds buildkitd VERSION from the Go module proxy into DIR/VERSION/buildkitd,
# once (an existing binary is kept). `go install pkg@version` refuses modules whose go.mod has exclude
# directives (v0.20 and later), so the module is built as the main module from a copy of its source.
set -euo pipefail
version=${1:?usage: build-buildkitd.sh VERSION DIR}
dir=${2:?usage: build-buildkitd.sh VERSION DIR}
case "$version" in v[0-9]*.[0-9]*.[0-9]*) ;; *) echo "build-buildkitd.sh: $version is not a vX.Y.Z version" >&2; exit 2 ;; esac
out="$dir/$version"
if [ -x "$out/buildkitd" ]; then exit 0; fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
src=$(cd "$tmp" && GOFLAGS='' go mod download -json "github.com/moby/buildkit@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "build-buildkitd.sh: cannot download github.com/moby/buildkit@$version" >&2; exit 1; }
cp -r "$src" "$tmp/buildkit"
chmod -R u+w "$tmp/buildkit"
echo "building buildkitd $version into $out (once)"
(cd "$tmp/buildkit" && GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/moby/buildkit/version.Version=$version" -o "$out/buildkitd.tmp" ./cmd/buildkitd)
mv "$out/buildkitd.tmp" "$out/buildkitd"
