#!/usr/bin/env bash
# Release build with the Swift runtime linked statically (starts in ~2 ms),
# stripped: the binaries in .build/release/.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib -Xswiftc -Osize 2>&1 | grep -vE '^\[|^Compiling|^Building' || true
for bin in berth-runtime berth; do
  strip .build/release/$bin
done
