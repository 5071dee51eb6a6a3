#!/usr/bin/env bash
# Makes the default `busybox` image (docker.io/library/busybox:latest) offline
# from Debian's busybox-static and loads it into berth's store, so
# `berth run busybox ...` needs no registry. The rootfs is the one
# make-busybox-bundle.sh uses. The docker-archive (`docker save` format, one
# uncompressed layer) is reproducible: sorted entries, owners 0:0, fixed
# mtimes, canonical JSON; the same busybox gives the same image id anywhere.
# Prints the image id on standard output.
#
# Usage: scripts/make-busybox-image.sh [BERTH] [--archive FILE] [--no-load] [BERTH-FLAGS...]
#   BERTH           berth binary (default .build/release/berth, else
#                   .build/debug/berth, else berth on PATH)
#   --archive FILE  keep the docker-archive at FILE
#   --no-load       only write the archive (needs --archive); prints the id
#   BERTH-FLAGS     passed to berth before the verb, e.g. --root DIR
# Env: SOURCE_DATE_EPOCH  mtime and created time (default 0)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TAG=docker.io/library/busybox:latest

berth=
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then berth=$1; shift; fi
archive=
load=1
berth_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --archive) archive=${2:?make-busybox-image: --archive needs a FILE}; shift 2 ;;
    --archive=*) archive=${1#--archive=}; shift ;;
    --no-load) load=; shift ;;
    *) berth_args+=("$1"); shift ;;
  esac
done
[ -n "$load" ] || [ -n "$archive" ] || { echo "make-busybox-image: --no-load needs --archive FILE" >&2; exit 1; }
if [ -n "$load" ] && [ -z "$berth" ]; then
  for candidate in "$REPO/.build/release/berth" "$REPO/.build/debug/berth" "$(command -v berth || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { berth=$candidate; break; }
  done
  [ -n "$berth" ] || { echo "make-busybox-image: no berth binary: run scripts/build-release.sh or give BERTH" >&2; exit 1; }
fi
# Checked before building anything, so a typo fails at once.
if [ -n "$load" ] && ! command -v "$berth" >/dev/null; then
  echo "make-busybox-image: $berth is not an executable" >&2; exit 1
fi

# The image's platform is the host's, in Go/OCI architecture names.
host_arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
variant=
case $host_arch in
  amd64 | x86_64) arch=amd64 ;;
  arm64 | aarch64) arch=arm64 variant=v8 ;;
  armhf | armv7l) arch=arm variant=v7 ;;
  armel) arch=arm variant=v5 ;;
  i386 | i686) arch=386 ;;
  ppc64el | ppc64le) arch=ppc64le ;;
  mips64el) arch=mips64le ;;
  s390x | riscv64 | loong64) arch=$host_arch ;;
  *) echo "make-busybox-image: unknown architecture $host_arch" >&2; exit 1 ;;
esac

work=$(mktemp -d /tmp/make-busybox-image.XXXXXX)
out=${archive:-$work/busybox.tar}
trap 'rm -rf "$work" "$out.tmp"' EXIT
"$REPO/scripts/make-busybox-rootfs.sh" "$work/rootfs"
# The version line comes from the binary itself, so the history entry (part of
# the id) changes exactly when busybox does.
version=$(/bin/busybox 2>&1 | head -n1 || true)

# Written beside the target and renamed, so a failure leaves no partial archive.
image_id=$(python3 - "$work/rootfs" "$out.tmp" "$work" "$TAG" "$arch" "$variant" \
  "${SOURCE_DATE_EPOCH:-0}" "$version" <<'PY'
import datetime, hashlib, io, json, os, stat, sys, tarfile

rootfs, out, work, tag, arch, variant, epoch, version = sys.argv[1:]
epoch = int(epoch)

def entry(name, kind, mode, size=0, link=""):
    # Owners, names and times fixed: nothing of the building machine leaks in.
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = epoch
    return info

def walk(top, prefix=""):
    # Depth first, names sorted in each directory, parents before children.
    for name in sorted(os.listdir(top)):
        path, rel = os.path.join(top, name), prefix + name
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            yield entry(rel + "/", tarfile.DIRTYPE, mode), None
            yield from walk(path, rel + "/")
        elif stat.S_ISLNK(st.st_mode):
            yield entry(rel, tarfile.SYMTYPE, 0o777, link=os.readlink(path)), None
        elif stat.S_ISREG(st.st_mode):
            yield entry(rel, tarfile.REGTYPE, mode, st.st_size), path
        else:
            sys.exit(f"make-busybox-image: unexpected file type: {path}")

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

# ustar, not Python's default format (which has changed between versions).
layer = os.path.join(work, "layer.tar")
with tarfile.open(layer, "w", format=tarfile.USTAR_FORMAT) as tar:
    for info, path in walk(rootfs):
        if path is None:
            tar.addfile(info)
        else:
            with open(path, "rb") as f:
                tar.addfile(info, f)
diff_id = sha256(layer)

created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
config = {
    "architecture": arch,
    "os": "linux",
    "created": created,
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
    "history": [{"created": created, "created_by": "make-busybox-image.sh: " + version}],
}
if variant:
    config["variant"] = variant
config_bytes = canonical(config)
config_id = hashlib.sha256(config_bytes).hexdigest()
manifest = [{"Config": config_id + ".json", "RepoTags": [tag], "Layers": [diff_id + ".tar"]}]

members = {
    "manifest.json": lambda: io.BytesIO(canonical(manifest)),
    config_id + ".json": lambda: io.BytesIO(config_bytes),
    diff_id + ".tar": lambda: open(layer, "rb"),
}
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
    for name in sorted(members):
        with members[name]() as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(0)
            tar.addfile(entry(name, tarfile.REGTYPE, 0o644, size), f)
print("sha256:" + config_id)
PY
)
mv "$out.tmp" "$out"
[ -z "$archive" ] || echo "make-busybox-image: archive in $archive" >&2

if [ -n "$load" ]; then
  "$berth" "${berth_args[@]}" load -i "$out" >&2
  # berth's image id is the config digest; a different one means the load went wrong.
  loaded=$("$berth" "${berth_args[@]}" image inspect --format '{{.Id}}' "$TAG")
  [ "sha256:${loaded#sha256:}" = "$image_id" ] || {
    echo "make-busybox-image: berth has $TAG as $loaded, expected $image_id" >&2; exit 1; }
fi
echo "$image_id"
