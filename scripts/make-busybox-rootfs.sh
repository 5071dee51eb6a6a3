#!/usr/bin/env bash
# Builds a busybox rootfs from Debian's busybox-static: /bin/busybox, its
# applet links, /etc/passwd, /etc/group and /etc/hostname. Shared by
# make-busybox-bundle.sh and make-busybox-image.sh so both hold the same tree.
# DIR is removed first. Modes are set explicitly, so the tree (and the image
# layer made from it) does not depend on the caller's umask.
# Usage: scripts/make-busybox-rootfs.sh DIR
set -euo pipefail
rootfs=${1:?usage: make-busybox-rootfs.sh DIR}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-busybox-rootfs: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
  echo "make-busybox-rootfs: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }

rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run}
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
find "$rootfs" -type d -exec chmod 0755 {} +
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs/bin/busybox"
chmod 0644 "$rootfs"/etc/{passwd,group,hostname}
