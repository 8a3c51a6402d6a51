#!/bin/bash
# Re-captures keepalived-2.2.7-adverts.txt. Needs root, keepalived and tcpdump.
# Runs keepalived only inside two throwaway network namespaces joined by a veth
# pair (TEST-NET 192.0.2.0/24); everything is torn down on exit.
# Usage: sudo ./capture.sh OUTDIR   (then extract with the python snippet in
# notes/vrrp-core.md, "Test vectors").
set -eu
OUT=${1:?outdir}
HERE=$(cd "$(dirname "$0")" && pwd)
A=ka-cap-a-$$; B=ka-cap-b-$$
TD=
cleanup() {
  [ -f "$OUT/ka.pid" ] && kill "$(cat "$OUT/ka.pid")" 2>/dev/null || true
  sleep 1
  [ -n "$TD" ] && kill "$TD" 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$OUT"
ip netns add "$A"; ip netns add "$B"
ip link add vk0 netns "$A" type veth peer name vk1 netns "$B"
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" addr add 192.0.2.1/24 dev vk0
ip -n "$B" addr add 192.0.2.2/24 dev vk1
ip -n "$A" link set vk0 up; ip -n "$B" link set vk1 up
sleep 3 # IPv6 DAD for the link-local address
ip netns exec "$B" tcpdump -i vk1 -U -w "$OUT/cap.pcap" 'ip proto 112 or ip proto 51 or ip6 proto 112' >"$OUT/td.log" 2>&1 &
TD=$!
sleep 1
ip netns exec "$A" keepalived -n -l -P -D -f "$HERE/capture-keepalived.conf" \
  -p "$OUT/ka.pid" -r "$OUT/vrrp.pid" -c "$OUT/chk.pid" >"$OUT/ka.log" 2>&1 &
sleep 8
