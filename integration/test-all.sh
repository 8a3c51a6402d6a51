#!/usr/bin/env bash
# The one command that runs every test tier on a fresh machine (as root):
#   sudo integration/test-all.sh
# It installs what the tests need (Debian packages, cargo tools), then runs:
#   1. cargo fmt --check and cargo clippy -D warnings
#   2. cargo test --workspace: unit, sans-IO, replay, and the root-only
#      namespace / interop / packaging / VM tests in integration/
#   3. every fuzz target for a short, bounded time on its committed corpus
# Environment: SKIP_INSTALL=1 skips step 0, FUZZ_SECS (default 20) per target.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\n=== %s\n' "$*"; }

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
  log "installing test dependencies"
  if [[ $(id -u) == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # keepalived 2.2.7: the interop peer and the -t reference (never started as a service here)
    apt-get install -y -qq --no-install-recommends \
      keepalived tcpdump tshark iproute2 iputils-ping nftables procps psmisc \
      qemu-system-x86 busybox-static ipvsadm cpio zstd xz-utils kmod \
      rsyslog rpm dpkg-dev fakeroot systemd linux-libc-dev >/dev/null
  else
    echo "not root: skipping apt-get; root-only tests will skip" >&2
  fi
  # tier 4: Debian's stock kernel (IPVS as modules) and a cached initramfs for qemu
  if [[ $(id -u) == 0 ]]; then
    integration/vm/rig.sh prepare
  fi
  for tool in cargo-deb cargo-generate-rpm cargo-fuzz; do
    command -v "$tool" >/dev/null || cargo install --locked -q "$tool"
  done
fi

log "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

log "tests (unit, sans-IO, replay, namespaces, interop, packaging, VM)"
cargo test --workspace --no-fail-fast 2>&1 | tee /tmp/keepalived-rs-test.log

if [[ -d fuzz ]]; then
  log "fuzz targets (${FUZZ_SECS:-20} s each)"
  fuzz/run.sh "${FUZZ_SECS:-20}"
fi
