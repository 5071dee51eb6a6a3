#!/usr/bin/env bash
# Release build with the Swift runtime linked statically, stripped: the
# binaries in .build/release/, berth-runtime a static PIE (see Package.swift).
# Prints the compiler's output only on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -disable-concrete-type-metadata-mangled-name-accessors: the compiler then
# reaches a concrete generic type (a Codable type's keyed container, say)
# through an accessor that passes its conformances, not by demangling a name
# at run time. Demangling looks each conformance up, and a first lookup scans
# all 11,000 conformance records of the binary: half of the 97 such scans a
# `berth run` made, about 1.3 ms, for 1% more code.
if ! BERTH_STATIC_RUNTIME=1 swift build -c release --static-swift-stdlib --disable-local-rpath \
  -Xswiftc -Osize \
  -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
  >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
grep -E 'Build complete' "$log" || true
for bin in berth-runtime berth berth-monitor berth-init berth-nft; do
  strip .build/release/$bin
done
