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
