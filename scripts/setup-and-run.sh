#!/usr/bin/env bash
# The main job: install what Berth needs, build release binaries, make the
# default busybox bundle and run a container in it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build-release.sh
bundle=${BERTH_BUNDLE:-/var/tmp/berth-busybox-bundle}
scripts/make-busybox-bundle.sh "$bundle" "$PWD/.build/release/berth-runtime" >/dev/null
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["sh", "-c", "echo hello from a berth container: $(hostname), pid $$, $(id)"]
json.dump(c, open(p, "w"), indent=2)
PY
cd "$bundle"
exec "$OLDPWD/.build/release/berth-runtime" run "berth-hello-$$"
