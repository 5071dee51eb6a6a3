#!/usr/bin/env bash
# Times `berth build` next to `buildah bud` (Debian's, overlay storage,
# chroot isolation) in one run, on a multi-stage Containerfile over a
# context of 2,000 files: a cold build (nothing cached), a rebuild with no
# change, and a rebuild after one source file changed (which reruns the RUN
# steps after the COPY that takes it: 1.5 s of them on the critical path,
# for both builders). Then the same one-file rebuild of a multi-stage
# Containerfile that copies its sources last, as dependency-first files
# do, where only the build machinery is left to time. Also times the RUN
# steps' commands by themselves (the same shell commands on the host), the
# floor a cold build approaches. Prints medians of RUNS runs (default 3).
#
# Usage: scripts/bench-build.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
bench_setup bench-build "$@"
RUNS=${1:-3}
scripts/deps.sh
scripts/build-release.sh
release=$PWD/.build/release
work=$(mktemp -d /var/tmp/bench-build.XXXXXX)
berth="$release/berth --root $work/berth --runroot $work/berth-run"
buildah="buildah --root $work/buildah --runroot $work/buildah-run --storage-driver overlay"
export BERTH_CGROUP_PARENT=/berth-bench-build
cleanup() {
  $buildah rm --all >/dev/null 2>&1 || true
  $buildah rmi --all --force >/dev/null 2>&1 || true
  $berth system reset -f >/dev/null 2>&1 || true
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
  for d in /sys/fs/cgroup/*/berth-bench-build; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
scripts/make-busybox-image.sh "$release/berth" --archive "$work/busybox.tar" --root "$work/berth" --runroot "$work/berth-run" >/dev/null
$buildah pull -q "docker-archive:$work/busybox.tar" >/dev/null

# The context: 2,000 small files in 20 directories, and the Containerfile.
ctx=$work/context
for d in $(seq 1 20); do
  mkdir -p "$ctx/src/d$d"
  for f in $(seq 1 100); do echo "file $d/$f" > "$ctx/src/d$d/f$f.txt"; done
done
# Each RUN does a fixed amount of work (sleep stands in for a compiler).
step1='sleep 1 && echo deps > /deps'
step2='sleep 1 && find /src -type f | wc -l > /count'
step3='sleep 0.5 && cat /count'
cat > "$ctx/Sourcelast" <<CF
FROM busybox AS deps
RUN $step1
FROM busybox
COPY --from=deps /deps /deps
COPY src /app/src
CMD ["ls", "/app/src"]
CF
cat > "$ctx/Containerfile" <<CF
FROM busybox AS deps
RUN $step1
FROM busybox AS build
COPY src /src
RUN $step2
FROM busybox
COPY --from=deps /deps /deps
COPY --from=build /count /count
COPY src /app/src
RUN $step3
CMD ["cat", "/count"]
CF

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk -v ns="$1" 'BEGIN {printf "%.0f", ns / 1e6}'; }
time_it() {
  local start; start=$(now)
  "$@" >"$work/last.log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$work/last.log" >&2; exit 1; }
  echo $(( $(now) - start ))
}

berth_build() { $berth build --network none "$@" -t localhost/bench "$ctx"; }
# chroot isolation shares the host network (it takes no --network); berth runs
# its RUN steps with none, which only costs berth (a namespace each).
buildah_build() { $buildah bud --isolation chroot --pull=never --layers "$@" -t localhost/bench "$ctx"; }

declare -A result
for engine in berth buildah; do
  fn=${engine}_build
  for kind in cold nochange onechange sourcelast; do
    samples=()
    for _ in $(seq "$RUNS"); do
      case $kind in
        cold) samples+=("$(time_it "$fn" --no-cache)") ;;
        nochange) "$fn" >/dev/null 2>&1; samples+=("$(time_it "$fn")") ;;
        onechange)
          "$fn" >/dev/null 2>&1
          echo "changed $RANDOM$RANDOM" > "$ctx/src/d7/f42.txt"
          samples+=("$(time_it "$fn")") ;;
        sourcelast)
          "$fn" -f "$ctx/Sourcelast" >/dev/null 2>&1
          echo "changed $RANDOM$RANDOM" > "$ctx/src/d7/f42.txt"
          samples+=("$(time_it "$fn" -f "$ctx/Sourcelast")") ;;
      esac
    done
    result[$engine,$kind]=$(printf '%s\n' "${samples[@]}" | median)
  done
done
# The RUN steps by themselves: the same commands on the host, in sequence.
mkdir -p "$work/alone/src"; cp -r "$ctx/src/." "$work/alone/src/"
alone=$(time_it sh -c "cd $work/alone && sleep 1 && echo deps > deps && sleep 1 && find src -type f | wc -l > count && sleep 0.5 && cat count")
critical=$(time_it sh -c "sleep 1 && sleep 0.5")

printf '%-28s %10s %10s %8s\n' "" berth buildah ratio
for kind in cold nochange onechange sourcelast; do
  b=${result[berth,$kind]} h=${result[buildah,$kind]}
  printf '%-28s %8s ms %7s ms %8s\n' "$kind" "$(ms "$b")" "$(ms "$h")" "$(awk -v a="$b" -v b="$h" 'BEGIN {printf "%.3f", a / b}')"
done
echo "RUN steps alone, in sequence: $(ms "$alone") ms; on the critical path (stages in parallel): $(ms "$critical") ms"
echo "cold build / RUN steps alone: $(awk -v a="${result[berth,cold]}" -v b="$alone" 'BEGIN {printf "%.2f", a / b}')"
