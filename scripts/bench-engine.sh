#!/usr/bin/env bash
# Benchmark (not a test): the engine side by side with podman and crun, in
# one run: `berth run --rm busybox true` (no network), `podman run --rm
# --network none busybox true`, and `crun run` of a busybox bundle; 16 such
# runs started at once per engine; the private memory (Pss, anonymous) of
# berth's monitor next to conmon's for an idle container; `ps -a` with 100
# containers. Prints medians and ratios.
# Usage: scripts/bench-engine.sh [runs]   (as root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
. scripts/bench-common.sh
bench_setup bench-engine "$@"
bench_engines berth-bench-engine
podman_run="--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /berth-bench-podman"
scripts/make-busybox-bundle.sh "$work/bundle" "$release/berth-runtime" >/dev/null
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
c["ociVersion"] = "1.0.2"  # Debian 12's crun 1.8 only accepts 1.0.x
c["linux"]["cgroupsPath"] = "/berth-bench-crun/true"
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
# The first berth run makes the monitor's read-only bind mount (once per boot).
$berth run --rm --network none busybox true
$podman run --rm $podman_run busybox true

echo "== hyperfine: $runs runs each of one container running /bin/true"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" \
  -n "berth run --rm" "$berth run --rm --network none busybox true" \
  -n "podman run --rm" "$podman run --rm $podman_run busybox true" \
  -n "crun run" "crun --root $work/run/crun run --bundle $work/bundle bench" >/dev/null

echo "== 16 at once: wall time until all 16 have exited"
cat > "$work/sixteen.sh" <<'SH'
#!/bin/bash
for i in $(seq 16); do $1 & done
wait
SH
chmod +x "$work/sixteen.sh"
# crun needs a distinct id per container.
cat > "$work/sixteen-crun.sh" <<SH
#!/bin/bash
for i in \$(seq 16); do crun --root $work/run/crun run --bundle $work/bundle bench-\$i & done
wait
SH
chmod +x "$work/sixteen-crun.sh"
hyperfine -N --warmup 1 --runs "$(( (runs + 4) / 5 ))" --export-json "$work/sixteen.json" \
  -n "berth x16" "$work/sixteen.sh '$berth run --rm --network none busybox true'" \
  -n "podman x16" "$work/sixteen.sh '$podman run --rm $podman_run busybox true'" \
  -n "crun x16" "$work/sixteen-crun.sh" >/dev/null

echo "== memory of the per-container monitor while its container sleeps (smaps_rollup)"
id=$($berth run -d --network none busybox sleep 600)
# The monitor trims its memory 0.3 s and 2.3 s after the container starts.
sleep 3
monitor=$(pgrep -f "berth-monitor start(-when-told)? $work/run/berth/containers/$id")
pid=$($podman run -d $podman_run busybox sleep 600)
sleep 3
conmon=$(pgrep -f "conmon.*$pid" | head -1)
mem() { awk '/^(Pss|Private_Clean|Private_Dirty|Anonymous):/ {v[$1]=$2} END {printf "%d %d %d\n", v["Pss:"], v["Private_Clean:"]+v["Private_Dirty:"], v["Anonymous:"]}' /proc/$1/smaps_rollup; }
read -r bpss bpriv banon < <(mem "$monitor")
read -r cpss cpriv canon < <(mem "$conmon")
# With one container, every page of a monitor's static binary counts as
# private (no other process maps it), while conmon shares libc's with the
# whole system. With ten idle containers each, the monitors share their
# text as conmons do: the mean per monitor is what each further container costs.
ids=$id
pids=$pid
for i in $(seq 9); do
  ids="$ids $($berth run -d --network none busybox sleep 600)"
  pids="$pids $($podman run -d $podman_run busybox sleep 600)"
done
sleep 3
mean() { # pids...: mean Pss, private and anonymous KiB
  for p in "$@"; do mem "$p"; done | awk '{a+=$1; b+=$2; c+=$3; n++} END {printf "%d %d %d\n", a/n, b/n, c/n}'
}
read -r bpss10 bpriv10 banon10 < <(mean $(for i in $ids; do pgrep -f "berth-monitor start(-when-told)? $work/run/berth/containers/$i"; done))
read -r cpss10 cpriv10 canon10 < <(mean $(for p in $pids; do pgrep -f "conmon.*$p" | head -1; done))
$berth rm -f $ids >/dev/null
$podman rm -f -t 0 $pids >/dev/null

echo "== ps -a with 100 containers"
for i in $(seq 100); do $berth create --network none busybox true >/dev/null; done
for i in $(seq 100); do $podman create $podman_run busybox true >/dev/null; done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/ps.json" \
  -n "berth ps -a" "$berth ps -a" -n "podman ps -a" "$podman ps -a" >/dev/null

python3 - "$work" "$bpss" "$bpriv" "$banon" "$cpss" "$cpriv" "$canon" \
  "$bpss10" "$bpriv10" "$banon10" "$cpss10" "$cpriv10" "$canon10" <<'PY'
import json, sys
work = sys.argv[1]
b = list(map(int, sys.argv[2:5])); c = list(map(int, sys.argv[5:8]))
b10 = list(map(int, sys.argv[8:11])); c10 = list(map(int, sys.argv[11:14]))
def load(name):
    return {r["command"]: r for r in json.load(open(f"{work}/{name}.json"))["results"]}
run, six, ps = load("run"), load("sixteen"), load("ps")
ms = lambda r: r["median"] * 1000
print(f"{'one container':<18}{'median ms':>10}{'mean ms':>10}")
for name in ["berth run --rm", "podman run --rm", "crun run"]:
    print(f"{name:<18}{ms(run[name]):>10.2f}{run[name]['mean']*1000:>10.2f}")
print(f"berth / podman {ms(run['berth run --rm'])/ms(run['podman run --rm']):.3f} (target <= 0.1);"
      f" berth / crun {ms(run['berth run --rm'])/ms(run['crun run']):.2f} (target <= 2)")
print()
print(f"{'16 at once':<18}{'median ms':>10}")
for name in ["berth x16", "podman x16", "crun x16"]:
    print(f"{name:<18}{ms(six[name]):>10.1f}")
print(f"berth / podman {ms(six['berth x16'])/ms(six['podman x16']):.3f} (target <= 0.1)")
print()
print(f"{'idle monitor KiB':<18}{'Pss':>8}{'private':>9}{'anon':>8}")
print(f"{'berth-monitor':<18}{b[0]:>8}{b[1]:>9}{b[2]:>8}")
print(f"{'conmon':<18}{c[0]:>8}{c[1]:>9}{c[2]:>8}")
print("each of ten idle containers' (mean):")
print(f"{'berth-monitor':<18}{b10[0]:>8}{b10[1]:>9}{b10[2]:>8}")
print(f"{'conmon':<18}{c10[0]:>8}{c10[1]:>9}{c10[2]:>8}")
print("target: a monitor's private memory under 512 KiB")
print()
print(f"{'100 containers':<18}{'median ms':>10}")
for name in ["berth ps -a", "podman ps -a"]:
    print(f"{name:<18}{ms(ps[name]):>10.2f}")
print(f"berth ps -a: target < 20 ms")
PY
