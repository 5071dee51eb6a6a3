#!/usr/bin/env bash
# Benchmark (not a test): `run` of a busybox /bin/true bundle with
# berth-runtime (as installed, and from a read-only mount), crun and runc
# side by side in one hyperfine run; a container's whole life as separate
# create/start/state/kill/delete calls (what podman and containerd do); `run`
# with Podman's seccomp profile; then peak RSS and private memory of each.
# Prints medians and ratios against crun.
# Usage: scripts/bench-runtime.sh [runs]   (as root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
. scripts/bench-common.sh
bench_setup bench-runtime "$@"
scripts/deps.sh
scripts/build-release.sh
berth="$PWD/.build/release/berth-runtime"
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
# State directories on tmpfs, where they live in use (/run/runc, /run/crun,
# /run/berth): on this disk's ext4, creating inodes next to freshly deleted
# ones costs each runtime up to a millisecond per file.
mkdir "$work/run"
mount -t tmpfs -o mode=0700 berth-bench "$work/run"
trap 'umount "$work/ro" 2>/dev/null; umount "$work/run"; rm -rf "$work"' EXIT
scripts/make-busybox-bundle.sh "$work/bundle" "$berth" >/dev/null
# A second bundle with Podman's default seccomp profile (as Podman renders it).
cp -r "$work/bundle" "$work/seccomp"
scripts/podman-seccomp-profile.py > "$work/profile.json"
python3 - "$work/bundle/config.json" "$work/seccomp/config.json" "$work/profile.json" <<'PY'
import json, sys
for path, seccomp in ((sys.argv[1], None), (sys.argv[2], json.load(open(sys.argv[3])))):
    c = json.load(open(path))
    c["process"]["args"] = ["/bin/true"]
    # Debian 12's crun 1.8 only accepts 1.0.x versions.
    c["ociVersion"] = "1.0.2"
    c["linux"]["cgroupsPath"] = "/berth-bench/true"
    if seccomp:
        c["linux"]["seccomp"] = seccomp
    json.dump(c, open(path, "w"), indent=2)
PY
# berth-runtime also from a read-only bind mount, as on a read-only /usr:
# there it needs no CVE-2019-5736 re-exec (see BinaryProtection).
mkdir "$work/ro"
cp "$berth" "$work/ro/berth-runtime"
mount --bind "$work/ro" "$work/ro"
mount -o remount,bind,ro "$work/ro"
declare -A cmd=(
  [berth-runtime]="$berth --root $work/run/state-berth run --bundle $work/bundle bench"
  [berth-ro-usr]="$work/ro/berth-runtime --root $work/run/state-ro run --bundle $work/bundle bench"
  [crun]="crun --root $work/run/state-crun run --bundle $work/bundle bench"
  [runc]="runc --root $work/run/state-runc run --bundle $work/bundle bench"
)
order=(berth-runtime berth-ro-usr crun runc)
args=()
for name in "${order[@]}"; do args+=(-n "$name" "${cmd[$name]}"); done
echo "== hyperfine: $runs runs each of \`run\` with busybox /bin/true"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/h.json" "${args[@]}" >/dev/null
echo "== a container's life as podman and containerd drive it: create, start, state, kill, delete"
cp -r "$work/bundle" "$work/sleep"
sed -i 's|"/bin/true"|"/bin/sleep", "0.5"|' "$work/sleep/config.json"
cat > "$work/cycle.sh" <<'SH'
#!/bin/sh
set -e
rt="$1 --root $2"
$rt create --bundle "$3" --pid-file "$2.pid" life
$rt start life
$rt state life >/dev/null
$rt kill life KILL
$rt delete --force life
SH
chmod +x "$work/cycle.sh"
life=()
for name in berth-runtime crun runc; do
  bin=${cmd[$name]%% *}
  life+=(-n "$name" "$work/cycle.sh $bin $work/run/life-$name $work/sleep")
done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/life.json" "${life[@]}" >/dev/null
echo "== with Podman's default seccomp profile: berth cold (cache emptied before each run), berth cached, crun"
hyperfine -N --warmup 3 --runs "$runs" --prepare "rm -rf $work/run/state-sc-cold/@seccomp" \
  --export-json "$work/cold.json" -n "berth seccomp cold" \
  "$berth --root $work/run/state-sc-cold run --bundle $work/seccomp bench" >/dev/null
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/sc.json" \
  -n "berth seccomp cached" "$berth --root $work/run/state-sc run --bundle $work/seccomp bench" \
  -n "crun seccomp" "crun --root $work/run/state-crun-sc run --bundle $work/seccomp bench" >/dev/null
echo "== memory: peak RSS (max of 20 runs, /usr/bin/time); private (anonymous) memory of the"
echo "   runtime while its container sleeps (RssAnon: the rest of RSS is the binary's page cache)"
declare -A rss anon
for name in "${order[@]}"; do
  max=0
  for _ in $(seq 20); do
    kb=$( { /usr/bin/time -f '%M' ${cmd[$name]} >/dev/null; } 2>&1 | tail -1)
    [ "$kb" -gt "$max" ] && max=$kb
  done
  rss[$name]=$max
  ${cmd[$name]/$work\/bundle/$work/sleep} &
  sleep 0.25
  anon[$name]=$(awk '/^RssAnon:/ {print $2}' /proc/$!/status)
  wait
done
for d in /sys/fs/cgroup/*/berth-bench; do rmdir "$d" 2>/dev/null || true; done
python3 - "$work/h.json" "$work/cold.json" "$work/sc.json" "$work/life.json" \
  "${rss[berth-runtime]}" "${rss[berth-ro-usr]}" "${rss[crun]}" "${rss[runc]}" \
  "${anon[berth-runtime]}" "${anon[berth-ro-usr]}" "${anon[crun]}" "${anon[runc]}" <<'PY'
import json, sys
names = ["berth-runtime", "berth-ro-usr", "crun", "runc"]
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
seccomp = {r["command"]: r for f in sys.argv[2:4] for r in json.load(open(f))["results"]}
life = {r["command"]: r for r in json.load(open(sys.argv[4]))["results"]}
rss = dict(zip(names, map(int, sys.argv[5:9])))
anon = dict(zip(names, map(int, sys.argv[9:13])))
base = results["crun"]["median"]
print(f"{'runtime':<14}{'median ms':>10}{'mean ms':>10}{'vs crun':>9}{'peak RSS KiB':>14}"
      f"{'vs crun':>9}{'RssAnon KiB':>13}{'vs crun':>9}")
for name in names:
    r = results[name]
    print(f"{name:<14}{r['median']*1000:>10.2f}{r['mean']*1000:>10.2f}{r['median']/base:>9.2f}"
          f"{rss[name]:>14}{rss[name]/rss['crun']:>9.2f}{anon[name]:>13}{anon[name]/anon['crun']:>9.2f}")
print()
base = life["crun"]["median"]
print(f"{'create..delete':<14}{'median ms':>10}{'mean ms':>10}{'vs crun':>9}   (five invocations)")
for name in ["berth-runtime", "crun", "runc"]:
    r = life[name]
    print(f"{name:<14}{r['median']*1000:>10.2f}{r['mean']*1000:>10.2f}{r['median']/base:>9.2f}")
print()
base = seccomp["crun seccomp"]["median"]
print(f"{'with seccomp':<22}{'median ms':>10}{'vs crun':>9}")
for name in ["berth seccomp cold", "berth seccomp cached", "crun seccomp"]:
    r = seccomp[name]
    print(f"{name:<22}{r['median']*1000:>10.2f}{r['median']/base:>9.2f}")
cold, warm = seccomp["berth seccomp cold"]["median"], seccomp["berth seccomp cached"]["median"]
print(f"the cache saves {(cold - warm) * 1000:.2f} ms per container")
PY
