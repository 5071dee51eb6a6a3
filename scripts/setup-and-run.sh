#!/usr/bin/env bash
# The main job: install what Berth needs, build release binaries, make the
# default busybox image offline (from Debian's busybox-static) and load it
# into berth's store, then run a container from it. The runtime bundle
# demo (berth-runtime alone) follows as a second example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build-release.sh
berth=$PWD/.build/release/berth
scripts/make-busybox-image.sh "$berth" >/dev/null
echo "== berth run --rm busybox echo hello"
"$berth" run --rm busybox echo hello
echo "== a detached container: run -d, logs, exec, stop, rm"
id=$("$berth" run -d --name berth-demo-$$ busybox sh -c 'echo up; trap "exit 0" TERM; while true; do sleep 1; done')
sleep 0.2
"$berth" logs "$id"
"$berth" exec "$id" sh -c 'echo "exec in $(hostname): $(id)"'
"$berth" stop "$id" >/dev/null
"$berth" rm "$id" >/dev/null
echo "== berth-runtime alone, on an OCI bundle"
bundle=${BERTH_BUNDLE:-/var/tmp/berth-busybox-bundle}
scripts/make-busybox-bundle.sh "$bundle" "$PWD/.build/release/berth-runtime" >/dev/null
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["sh", "-c", "echo hello from a berth-runtime container: $(hostname), pid $$, $(id)"]
json.dump(c, open(p, "w"), indent=2)
PY
cd "$bundle"
exec "$OLDPWD/.build/release/berth-runtime" run "berth-hello-$$"
