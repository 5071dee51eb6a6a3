#!/usr/bin/env bash
# Benchmark (not a test): what a container's network costs, berth next to
# podman, in one run. `run --rm busybox true` on each engine's default
# bridge network and with --network none; the network's cost is the
# difference of the medians. Runs in a private network namespace, so the
# bridges, veths and firewall rules of both engines stay off the host.
# Usage: scripts/bench-network.sh [runs]   (as root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
. scripts/bench-common.sh
bench_setup bench-network "$@"
if [ -z "${BERTH_BENCH_NETNS:-}" ]; then
  export BERTH_BENCH_NETNS=1
  exec unshare --net -- "$0" "$@"
fi
ip link set lo up
bench_engines berth-bench-network
podman_flags="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /berth-bench-podman"
# First runs make each engine's bridge, rules and the monitor's bind mount.
$berth run --rm busybox true
$podman run --rm $podman_flags busybox true

echo "== hyperfine: $runs runs each of run --rm busybox true, bridge and none"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/net.json" \
  -n "berth bridge" "$berth run --rm busybox true" \
  -n "berth none" "$berth run --rm --network none busybox true" \
  -n "podman bridge" "$podman run --rm $podman_flags busybox true" \
  -n "podman none" "$podman run --rm $podman_flags --network none busybox true" >/dev/null

python3 - "$work" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(f"{sys.argv[1]}/net.json"))["results"]}
print(f"{'run --rm true':<16}{'bridge ms':>10}{'none ms':>10}{'network ms':>12}")
for e in ["berth", "podman"]:
    print(f"{e:<16}{r[e+' bridge']:>10.2f}{r[e+' none']:>10.2f}{r[e+' bridge']-r[e+' none']:>12.2f}")
b = r["berth bridge"] - r["berth none"]; p = r["podman bridge"] - r["podman none"]
print(f"network cost berth / podman {b/p:.3f} (target <= 0.1)")
PY
