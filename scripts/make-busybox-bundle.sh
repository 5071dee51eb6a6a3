#!/usr/bin/env bash
# Builds the default test bundle from Debian's busybox-static: a rootfs with
# /bin/busybox, its applet links, /etc/passwd and /etc/group, and a
# config.json from `berth-runtime spec` (terminal off, runs `sh`).
# Usage: scripts/make-busybox-bundle.sh DIR [BERTH_RUNTIME]
set -euo pipefail
dir=${1:?usage: make-busybox-bundle.sh DIR [berth-runtime binary]}
runtime=${2:-}
# The rootfs is shared with make-busybox-image.sh.
"$(dirname "$0")/make-busybox-rootfs.sh" "$dir/rootfs"
if [ -n "$runtime" ]; then
  rm -f "$dir/config.json"
  "$runtime" spec --bundle "$dir"
  # Tests and the main job run without a terminal.
  python3 - "$dir/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)
PY
fi
echo "bundle ready: $dir"
