#!/usr/bin/env bash
# Benchmark (not a test): pull a Debian bookworm minbase image from a local
# registry into an empty store with berth, with `podman pull`, and with
# `skopeo copy` + `umoci unpack`, and time `tar -xzf` of the same layer, in
# one run. Prints medians and ratios; the target is berth within 1.5x of
# tar and far ahead of podman.
#
# Usage: scripts/bench-pull.sh [RUNS]      (default 5)
#        scripts/bench-pull.sh --mirror    (print the mirror debootstrap would use)
# Env:   BERTH=path/to/berth (default: .build/release/berth from
#        scripts/build-release.sh, run when missing), FIXTURES=dir (default
#        fixtures/bench-pull), MIRROR=URI (default: the Debian archive in
#        apt's sources).
# Needs root and Debian's debootstrap, docker-registry, skopeo, umoci,
# podman, jq, python3; the first run fetches bookworm from that mirror.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
FIXTURES=${FIXTURES:-$REPO/fixtures/bench-pull}
RESULTS=$REPO/bench-results
SUITE=bookworm

# apt_mirror: the mirror this machine already uses (scripts/apt-mirror.sh).
source "$REPO/scripts/apt-mirror.sh"

if [ "${1:-}" = --mirror ]; then
  mirror=${MIRROR:-$(apt_mirror)}
  echo "$mirror"
  exit 0
fi
RUNS=${1:-5}

for tool in debootstrap docker-registry skopeo umoci podman jq python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench-pull: $tool is missing (apt-get install it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench-pull: run as root (debootstrap, podman's store)" >&2; exit 1; }

if [ -z "${BERTH:-}" ]; then
  # The binary that ships, built the one way the scripts build it.
  BERTH=$REPO/.build/release/berth
  if [ ! -x "$BERTH" ]; then
    echo "bench-pull: no $BERTH, running scripts/build-release.sh..." >&2
    "$REPO/scripts/build-release.sh" >&2
  fi
fi

mkdir -p "$FIXTURES" "$RESULTS"
LAYER=$FIXTURES/rootfs.tar.gz
if [ ! -s "$LAYER" ]; then
  if [ ! -x "$FIXTURES/rootfs/bin/sh" ]; then
    # Looked up only here: once the fixture exists no mirror is needed.
    mirror=${MIRROR:-$(apt_mirror)}
    echo "bench-pull: debootstrap $SUITE minbase from $mirror (once)..." >&2
    rm -rf "$FIXTURES/rootfs"
    debootstrap --variant=minbase "$SUITE" "$FIXTURES/rootfs" "$mirror" >&2
  fi
  # Reproducible tar: sorted names, numeric owners, fixed mtime for the root.
  tar -C "$FIXTURES/rootfs" --sort=name --numeric-owner -cf - . | gzip -n -6 > "$LAYER.tmp"
  mv "$LAYER.tmp" "$LAYER"
fi

WORK=$(mktemp -d /tmp/bench-pull.XXXXXX)
REGISTRY_PID=
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
  grep -o " $WORK[^ ]*" /proc/mounts | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# An OCI layout with the layer, built by hand so nothing re-compresses it.
LAYOUT=$WORK/layout
mkdir -p "$LAYOUT/blobs/sha256"
blob() { # file media-type -> prints a descriptor
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$LAYOUT/blobs/sha256/$digest"
  jq -nc --arg m "$2" --arg d "sha256:$digest" --argjson s "$size" \
    '{mediaType: $m, digest: $d, size: $s}'
}
DIFF_ID=sha256:$(gzip -dc "$LAYER" | sha256sum | cut -d' ' -f1)
LAYER_DESC=$(blob "$LAYER" application/vnd.oci.image.layer.v1.tar+gzip)
jq -nc --arg d "$DIFF_ID" '{architecture: "amd64", os: "linux",
  config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["bash"]},
  rootfs: {type: "layers", diff_ids: [$d]}}' > "$WORK/config.json"
CONFIG_DESC=$(blob "$WORK/config.json" application/vnd.oci.image.config.v1+json)
jq -nc --argjson c "$CONFIG_DESC" --argjson l "$LAYER_DESC" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' \
  > "$WORK/manifest.json"
MANIFEST_DESC=$(blob "$WORK/manifest.json" application/vnd.oci.image.manifest.v1+json)
jq -nc --argjson m "$MANIFEST_DESC" \
  '{schemaVersion: 2, manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": "bookworm"}}]}' \
  > "$LAYOUT/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null && break
  sleep 0.05
done
IMAGE=127.0.0.1:$PORT/bench/bookworm:latest
skopeo copy --quiet --dest-tls-verify=false "oci:$LAYOUT:bookworm" "docker://$IMAGE"

now() { date +%s.%N; }
declare -A TIMES
measure() { # name command...
  local name=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  local start end
  start=$(now)
  "$@" >/dev/null 2>&1 || { echo "bench-pull: $name failed: $*" >&2; exit 1; }
  end=$(now)
  TIMES[$name]+="$(python3 -c "print($end - $start)") "
}

for run in $(seq "$RUNS"); do
  echo "bench-pull: run $run/$RUNS" >&2
  rm -rf "$WORK/b" "$WORK/p" "$WORK/pr" "$WORK/s" "$WORK/t"
  measure berth "$BERTH" --root "$WORK/b" pull -q --tls-verify=false "$IMAGE"
  measure podman podman --root "$WORK/p" --runroot "$WORK/pr" --storage-driver overlay \
    pull -q --tls-verify=false "$IMAGE"
  podman --root "$WORK/p" --runroot "$WORK/pr" --storage-driver overlay system reset -f >/dev/null 2>&1 || true
  measure skopeo+umoci sh -c "skopeo copy --quiet --src-tls-verify=false docker://$IMAGE oci:$WORK/s:bookworm && umoci unpack --image $WORK/s:bookworm $WORK/s-bundle && rm -rf $WORK/s-bundle"
  measure tar-xzf sh -c "mkdir -p $WORK/t && tar -C $WORK/t -xzf $LAYER"
done

REPORT=$RESULTS/bench-pull-$(date -u +%Y%m%dT%H%M%SZ).txt
python3 - "$LAYER" "${TIMES[berth]}" "${TIMES[podman]}" "${TIMES[skopeo+umoci]}" "${TIMES[tar-xzf]}" <<'PY' | tee "$REPORT"
import os, statistics, sys
layer, *series = sys.argv[1:]
names = ["berth pull", "podman pull", "skopeo copy + umoci unpack", "tar -xzf"]
medians = {}
print(f"layer: {os.path.getsize(layer) / 1e6:.1f} MB compressed; runs: {len(series[0].split())}")
for name, values in zip(names, series):
    times = [float(v) for v in values.split()]
    medians[name] = statistics.median(times)
    print(f"{name:28} median {medians[name]:7.3f} s   runs {' '.join(f'{t:.3f}' for t in times)}")
berth, tar = medians["berth pull"], medians["tar -xzf"]
print(f"berth / tar -xzf:            {berth / tar:5.2f}x (target <= 1.5x)")
print(f"podman / berth:              {medians['podman pull'] / berth:5.2f}x")
print(f"skopeo+umoci / berth:        {medians['skopeo copy + umoci unpack'] / berth:5.2f}x")
PY
echo "bench-pull: report in $REPORT" >&2
