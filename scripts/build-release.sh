#!/usr/bin/env bash
# Release build with the Swift runtime linked statically, stripped: the
# binaries in .build/release/, berth-runtime a static PIE (see Package.swift).
# Prints the compiler's output only on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! BERTH_STATIC_RUNTIME=1 swift build -c release --static-swift-stdlib --disable-local-rpath \
  -Xswiftc -Osize >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
grep -E 'Build complete' "$log" || true
for bin in berth-runtime berth berth-monitor berth-init; do
  strip .build/release/$bin
done
