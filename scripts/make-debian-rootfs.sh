#!/usr/bin/env bash
# Makes the Debian base the build tests use: bookworm minbase by
# debootstrap from the mirror apt already uses, as a reproducible tar
# (sorted names, numeric owners). Made once; kept at OUT.
#
# Usage: scripts/make-debian-rootfs.sh OUT.tar
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: make-debian-rootfs.sh OUT.tar}
[ -s "$out" ] && exit 0
source "$REPO/scripts/apt-mirror.sh"
mirror=${MIRROR:-$(apt_mirror)}
work=$(mktemp -d /var/tmp/berth-debian.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "make-debian-rootfs: debootstrap $SUITE minbase from $mirror (once)..." >&2
debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$work/log" 2>&1 \
  || { tail -20 "$work/log" >&2; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*_Packages
tar -C "$work/rootfs" --sort=name --numeric-owner -cf "$out.tmp" .
mv "$out.tmp" "$out"
