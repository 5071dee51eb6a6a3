# Sourced by the benchmark scripts: root, one private mount namespace for
# the whole run, and Debian 12's crun made usable. It refuses the hybrid
# cgroup layout when cgroup2 has controllers (this machine's has hugetlb),
# so the cgroup2 mount is hidden in the namespace, for every runtime alike.
bench_setup() { # name, then the script's own arguments
  local name=$1
  shift
  [ "$(id -u)" = 0 ] || { echo "$name: run as root" >&2; exit 1; }
  if [ -z "${BERTH_BENCH_NS:-}" ]; then
    export BERTH_BENCH_NS=1
    exec unshare --mount --propagation private -- "$0" "$@"
  fi
  if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
    umount -l /sys/fs/cgroup/unified
    echo "note: cgroup2 at /sys/fs/cgroup/unified hidden in this namespace (crun rejects hybrid mode)"
  fi
}

# The engine benchmarks' common ground: release binaries, a work directory
# with its run state on tmpfs (where /run lives), berth and podman each on
# their own store there, both loaded with the same busybox image, and a
# cleanup trap. Sets $release, $work, $berth and $podman.
bench_engines() { # work directory prefix
  scripts/deps.sh
  scripts/build-release.sh
  release=$PWD/.build/release
  # Just built, berth's binaries sit in the page cache as the linker and
  # strip wrote them; the other engines' were read from disk. Dropped and
  # read back, ours are cached the way an installed binary is: otherwise the
  # same binary's `ps` measured 3.3 or 4.1 ms depending on its writing.
  python3 - "$release"/berth "$release"/berth-monitor "$release"/berth-runtime <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
PY
  work=$(mktemp -d "/var/tmp/$1.XXXXXX")
  mkdir "$work/run"
  mount -t tmpfs -o mode=0755 berth-bench "$work/run"
  berth="$release/berth --root $work/berth --runroot $work/run/berth"
  podman="podman --root $work/podman --runroot $work/run/podman --tmpdir $work/run/podman-tmp --cgroup-manager cgroupfs --events-backend file"
  trap bench_engines_cleanup EXIT
  export BERTH_CGROUP_PARENT=/berth-bench-berth
  scripts/make-busybox-image.sh "$release/berth" --archive "$work/busybox.tar" --root "$work/berth" --runroot "$work/run/berth" >/dev/null
  $podman load -q -i "$work/busybox.tar" >/dev/null
}

bench_engines_cleanup() {
  $berth rm -af >/dev/null 2>&1 || true
  $berth system reset -f >/dev/null 2>&1 || true
  $podman rm -af -t 0 >/dev/null 2>&1 || true
  $podman system reset -f >/dev/null 2>&1 || true
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
  for d in /sys/fs/cgroup/*/berth-bench*; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done
}
