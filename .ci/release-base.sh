#!/usr/bin/env bash
# The tool image's base for both platforms: Debian's busybox-static for amd64 and arm64, fetched with apt
# through private package lists (the machine's apt configuration and dpkg state are not touched), and the
# list of its applets. Usage: .ci/release-base.sh OUTDIR
set -euo pipefail
out=${1:?usage: release-base.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
apt_opts=(-qq -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64" -o "APT::Sandbox::User=root")
# Ubuntu (GitHub's runners) serves arm64 from ports.ubuntu.com, not from the amd64 archive: a private sources
# list names both. Debian serves every architecture from the same mirrors as the machine's own sources.
# shellcheck disable=SC1091
. /etc/os-release
if [ "${ID:-}" = ubuntu ]; then
  cat > "$tmp/sources.list" <<SOURCES
deb [arch=amd64] http://archive.ubuntu.com/ubuntu ${VERSION_CODENAME} main universe
deb [arch=arm64] http://ports.ubuntu.com/ubuntu-ports ${VERSION_CODENAME} main universe
SOURCES
  apt_opts+=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/no-parts")
  mkdir -p "$tmp/no-parts"
fi
apt-get "${apt_opts[@]}" update
(cd "$tmp/deb" && apt-get "${apt_opts[@]}" download busybox-static:amd64 busybox-static:arm64)
for arch in amd64 arm64; do
  deb=$(ls "$tmp/deb/"busybox-static_*_"$arch".deb)
  dpkg-deb -x "$deb" "$tmp/x-$arch"
  install -m 0755 "$tmp/x-$arch/bin/busybox" "$out/busybox-linux-$arch"
  basename "$deb" > "$out/busybox-linux-$arch.deb-name"
done
host=$(dpkg --print-architecture)
"$out/busybox-linux-$host" --list-full | sort > "$out/applets.txt"
echo "busybox for amd64 and arm64 and $(wc -l < "$out/applets.txt") applets in $out"
