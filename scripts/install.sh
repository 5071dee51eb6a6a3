#!/usr/bin/env bash
# Installs berth, berth-monitor, berth-init, berth-nft and berth-runtime
# (the release build) into one directory that is then bind-mounted
# read-only onto itself, with symlinks in a bin directory. From a read-only mount the binaries that
# enter containers are protected against CVE-2019-5736 as they are: no
# copy and no re-exec per container (berth-runtime's fast path), and the
# engine spawns its monitors from there directly. A systemd mount unit
# makes the read-only bind again at every boot.
# Usage: scripts/install.sh [PREFIX]   (default /usr/local; as root)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
[ "$(id -u)" = 0 ] || { echo "install: run as root" >&2; exit 1; }
for bin in berth berth-monitor berth-runtime berth-init berth-nft; do
  [ -x ".build/release/$bin" ] || { echo "install: .build/release/$bin is missing: run scripts/build-release.sh" >&2; exit 1; }
done
dir=$prefix/lib/berth
mkdir -p "$dir" "$prefix/bin"
# A read-only bind from an earlier install comes off before the copy.
while mountpoint -q "$dir"; do umount "$dir"; done
for bin in berth berth-monitor berth-runtime berth-init berth-nft; do
  install -m 0755 ".build/release/$bin" "$dir/$bin.new"
  mv -f "$dir/$bin.new" "$dir/$bin"
  ln -sfn "$dir/$bin" "$prefix/bin/$bin"
done
mount --bind "$dir" "$dir"
mount -o remount,bind,ro "$dir"
unit=$(systemd-escape -p --suffix=mount "$dir" 2>/dev/null || echo "${dir#/}" | tr / - | sed 's/$/.mount/')
cat > "/etc/systemd/system/$unit" <<UNIT
# Keeps $dir read-only (CVE-2019-5736 protection without a re-exec).
[Unit]
Description=Berth binaries, read-only
DefaultDependencies=no
After=local-fs.target
Before=multi-user.target

[Mount]
What=$dir
Where=$dir
Type=none
Options=bind,ro

[Install]
WantedBy=multi-user.target
UNIT
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable "$unit" >/dev/null
  echo "installed in $dir (read-only; $unit enabled for boots)"
else
  echo "installed in $dir (read-only now; systemd is not running, so enable /etc/systemd/system/$unit on a systemd host)"
fi
