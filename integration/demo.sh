#!/usr/bin/env bash
# The README's main command:
#   sudo integration/demo.sh [--short]
# Builds keepalived-rs (release) and the demo, installs ping/tcpdump if they
# are missing (Debian/Ubuntu), then runs two keepalived-rs nodes with the
# shipped etc/keepalived.conf in network namespaces: shows who is MASTER,
# stops the master (SIGTERM) and crashes the next one (SIGKILL), printing the
# measured failover times. Everything runs in namespaces kdemo-<pid>-*; the
# root network namespace is never touched, and everything is removed at the
# end, on failure and on Ctrl-C.
# Environment: KEEPALIVED_BIN (use this binary, skip the build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) != 0 ]]; then
  echo "the demo needs root (network namespaces): sudo $0 $*" >&2
  exit 1
fi
missing=()
command -v ping >/dev/null || missing+=(iputils-ping)
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v ip >/dev/null || missing+=(iproute2)
if ((${#missing[@]})) && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "could not install ${missing[*]}: the demo skips what needs them" >&2
fi
if [[ -z ${KEEPALIVED_BIN:-} ]]; then
  cargo build -q --release -p keepalived
  export KEEPALIVED_BIN=${CARGO_TARGET_DIR:-target}/release/keepalived
fi
cargo build -q -p keepalived-integration --bin demo
exec "${CARGO_TARGET_DIR:-target}/debug/demo" --keepalived "$KEEPALIVED_BIN" "$@"
