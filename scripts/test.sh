#!/usr/bin/env bash
# Runs every test: formatting check, unit tests and the integration tests
# that drive the built binaries against the kernel and real peers. The
# test process runs in a private mount namespace, so nothing a test mounts
# can leak onto the host even when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
echo "== swift format lint"
swift format lint --strict --recursive Sources Tests Package.swift
echo "== build"
# berth-runtime as it ships: a static PIE (see Package.swift).
export BERTH_STATIC_RUNTIME=1
build=(--disable-local-rpath)
log=$(mktemp)
if ! swift build --build-tests "${build[@]}" >"$log" 2>&1; then
  grep -E 'error|warning: unre' "$log" || cat "$log"
  rm -f "$log"
  exit 1
fi
grep -E 'Build complete' "$log" || true
rm -f "$log"
fixtures=.build/fixtures
scripts/make-busybox-bundle.sh "$fixtures/busybox" >/dev/null
# The engine tests load this docker-archive of busybox into their stores.
scripts/make-busybox-image.sh --archive "$fixtures/busybox-image.tar" --no-load >/dev/null
# The build tests' Debian base (debootstrap from apt's own mirror, once).
scripts/make-debian-rootfs.sh "$fixtures/debian-rootfs.tar" \
  || echo "no Debian base (debootstrap failed): the build test that needs it will skip"
export BERTH_FIXTURES="$PWD/$fixtures"
if [ "$(id -u)" = 0 ]; then
  # The unprivileged user the rootless tests run as, with subordinate ids
  # for newuidmap/newgidmap (the tests copy the runtime where it can run it).
  id berth-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh berth-test
  grep -q '^berth-test:' /etc/subuid || echo "berth-test:300000:65536" >> /etc/subuid
  grep -q '^berth-test:' /etc/subgid || echo "berth-test:300000:65536" >> /etc/subgid
  # `--userns auto` as root takes its ranges from the user "containers", as podman's does.
  grep -q '^containers:' /etc/subuid || echo "containers:1000000:1048576" >> /etc/subuid
  grep -q '^containers:' /etc/subgid || echo "containers:1000000:1048576" >> /etc/subgid
fi
echo "== tests"
if [ "$(id -u)" = 0 ]; then
  # The rootless tests open /dev/net/tun to the user (pasta needs it; some
  # hosts ship it 0600): its mode is put back when the run ends.
  tun_mode=$(stat -c %a /dev/net/tun 2>/dev/null || true)
  status=0
  unshare --mount --propagation private -- swift test --skip-build "${build[@]}" "$@" || status=$?
  [ -z "$tun_mode" ] || chmod "$tun_mode" /dev/net/tun
  exit $status
else
  echo "not root: tests that need root will skip with their reason"
  exec swift test --skip-build "${build[@]}" "$@"
fi
