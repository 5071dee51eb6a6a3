#!/usr/bin/env bash
# Installs the Debian packages Berth builds and tests with (as root).
set -euo pipefail
packages=(
  # build (the static CLI links SQLite, libseccomp, libarchive and the
  # compression libraries libarchive reads layers with from their archives)
  libseccomp-dev libarchive-dev libnftables-dev libsqlite3-dev pkg-config
  zlib1g-dev libbz2-dev liblzma-dev libzstd-dev liblz4-dev
  # fixtures and peers the tests compare against
  busybox-static runc crun podman conmon skopeo umoci docker-registry uidmap
  fuse-overlayfs passt slirp4netns nftables apache2-utils openssl gzip xz-utils zstd
  buildah debootstrap docker-compose docker.io
  # test and benchmark tools
  hyperfine time jq tmux iproute2 procps python3 file util-linux sqlite3 curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
