#!/usr/bin/env bash
# Builds the default test bundle from Debian's busybox-static: a rootfs with
# /bin/busybox, its applet links, /etc/passwd and /etc/group, and a
# config.json from `berth-runtime spec` (terminal off, runs `sh`).
# Usage: scripts/make-busybox-bundle.sh DIR [BERTH_RUNTIME]
set -euo pipefail
dir=${1:?usage: make-busybox-bundle.sh DIR [berth-runtime binary]}
runtime=${2:-}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-busybox-bundle: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
  echo "make-busybox-bundle: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }

rootfs="$dir/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -sf /bin/busybox "$rootfs/$applet"
done
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
user:x:1000:
nogroup:x:65534:
GROUP
echo "berth" > "$rootfs/etc/hostname"
if [ -n "$runtime" ]; then
  rm -f "$dir/config.json"
  "$runtime" spec --bundle "$dir"
  # Tests and the main job run without a terminal.
  python3 - "$dir/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)
PY
fi
echo "bundle ready: $dir"
