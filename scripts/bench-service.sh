#!/usr/bin/env bash
# Benchmark (not a test): the Docker API side by side, in one run. The docker
# CLI runs `docker run --rm --network none busybox true` through berth's
# service and through `podman system service`, next to `berth run --rm` from
# the CLI alone (what the service adds is the difference); then `docker ps
# -a` with 100 containers through each service. Prints medians (hyperfine).
# Usage: scripts/bench-service.sh [runs]   (as root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
. scripts/bench-common.sh
bench_setup bench-service "$@"
bench_engines berth-bench-service
docker=/usr/local/bin/docker
[ -x "$docker" ] || { echo "bench-service: needs the docker CLI at $docker" >&2; exit 1; }
berth_sock=$work/run/berth.sock
podman_sock=$work/run/podman.sock
$berth system service --time 0 "unix://$berth_sock" >"$work/berth-service.log" 2>&1 &
berth_service=$!
# podman's service: the same limits its runs need on this machine (containers.conf).
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
cgroup_parent = "/berth-bench-podman"
CONF
CONTAINERS_CONF=$work/containers.conf $podman system service --time 0 "unix://$podman_sock" >"$work/podman-service.log" 2>&1 &
podman_service=$!
trap 'kill -CONT $podman_service 2>/dev/null; kill $berth_service $podman_service 2>/dev/null || true; bench_engines_cleanup' EXIT
for _ in $(seq 50); do [ -S "$berth_sock" ] && [ -S "$podman_sock" ] && break; sleep 0.1; done
# Warm up both (the monitor's read-only bind mount is made once per boot).
DOCKER_HOST=unix://$berth_sock $docker run --rm --network none busybox true
DOCKER_HOST=unix://$podman_sock $docker run --rm --network none busybox true

# An idle podman service keeps working (about a third of a CPU here), so it
# is stopped (SIGSTOP) while berth is measured and resumed for its own runs.
echo "== docker run --rm --network none busybox true ($runs runs each)"
kill -STOP $podman_service
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/run-berth.json" \
  -n "docker → berth service" "env DOCKER_HOST=unix://$berth_sock $docker run --rm --network none busybox true" \
  -n "berth run --rm (CLI)" "$berth run --rm --network none busybox true" \
  -n "docker version → berth" "env DOCKER_HOST=unix://$berth_sock $docker version" \
  -n "docker --version (no server)" "$docker --version" >/dev/null
kill -CONT $podman_service
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/run-podman.json" \
  -n "docker → podman service" "env DOCKER_HOST=unix://$podman_sock $docker run --rm --network none busybox true" >/dev/null

echo "== docker ps -a with 100 containers"
for i in $(seq 100); do
  $berth create --network none busybox true >/dev/null
  DOCKER_HOST=unix://$podman_sock $docker create --network none busybox true >/dev/null
done
kill -STOP $podman_service
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/ps-berth.json" \
  -n "docker ps → berth service" "env DOCKER_HOST=unix://$berth_sock $docker ps -a" >/dev/null
kill -CONT $podman_service
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/ps-podman.json" \
  -n "docker ps → podman service" "env DOCKER_HOST=unix://$podman_sock $docker ps -a" >/dev/null
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
for name in ("run", "ps"):
    results = []
    for engine in ("berth", "podman"):
        results += json.load(open(f"{work}/{name}-{engine}.json"))["results"]
    json.dump({"results": results}, open(f"{work}/{name}.json", "w"))
PY

python3 - "$work/run.json" "$work/ps.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    base = results[0]["median"]
    for r in results:
        print(f"  {r['command']:28} median {r['median']*1000:8.1f} ms   ratio to first {r['median']/base:6.3f}")
run = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
added = (run["docker → berth service"] - run["berth run --rm (CLI)"]) * 1000
print(f"berth's service adds {added:.1f} ms over berth run --rm (target: at most 5 ms)")
# The docker CLI's own cost (a Go process start, a ping and one request) is
# in the first number and not in berth run's: what the service itself adds
# is what remains once that is taken out.
floor = run["docker version → berth"] * 1000
print(f"of which the docker CLI's own start and first request (docker version): {floor:.1f} ms;"
      f" the service's part: {added - floor:.1f} ms")
# The docker CLI alone, contacting no server at all: no service, however
# fast, brings docker run under this plus the container's own run.
alone = run["docker --version (no server)"] * 1000
print(f"the docker CLI's start alone (docker --version, no request): {alone:.1f} ms;"
      f" the service's part with only that taken out: {added - alone:.1f} ms")
PY
