#!/bin/bash
# Memory rig for the VRRP child (notes/vrrp-daemon.md, "Memory"): runs BIN
# (ours or /usr/sbin/keepalived) with N `vrrp_instance` blocks in the
# benchmark's shape (state MASTER, one /32 VIP each, v2 advert 1) alone in a
# fresh network namespace (a veth pair inside it; the root namespace is
# never touched), waits SETTLE seconds and prints the VRRP child's
# smaps_rollup. Root only. Environment: SMAPS=1 keeps /proc/CHILD/smaps in
# ./smaps-LABEL-N; GDBSTATS=1 prints glibc's malloc_stats() (needs gdb).
#
#   sudo crates/vrrp-daemon/examples/mem_rig.sh COPY_OF_BINARY 200 20 ours
set -u
BIN=$1; N=$2; SETTLE=${3:-8}; LABEL=${4:-x}
NS=ka-mem-$$
D=$(mktemp -d /tmp/ka-mem-rig.XXXXXX)
PP=
cleanup() { [ -n "$PP" ] && kill $PP 2>/dev/null; sleep 0.5; for p in $(ip netns pids $NS 2>/dev/null); do kill -9 $p; done; ip netns del $NS 2>/dev/null; rm -rf $D; }
trap cleanup EXIT
ip netns add $NS
ip -n $NS link add eth0 type veth peer name peer0; ip -n $NS link set peer0 up
ip -n $NS link set lo up
ip -n $NS link set eth0 up
ip -n $NS addr add 192.0.2.11/24 dev eth0
{
printf 'global_defs {\n  router_id node1\n  vrrp_version 2\n}\n'
if [ "$N" = 1 ]; then
printf 'vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.200/24\n  }\n}\n'
else
for v in $(seq 1 $N); do
printf 'vrrp_instance VI_%d {\n  state MASTER\n  interface eth0\n  virtual_router_id %d\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    198.51.100.%d/32\n  }\n}\n' $v $v $v
done
fi
} > $D/k.conf
EXTRA=""
case "$BIN" in /usr/sbin/*) ;; *) EXTRA="--status-socket none";; esac
ip netns exec $NS $BIN $EXTRA -n -l -D -P -f $D/k.conf -p $D/k.pid -r $D/v.pid -c $D/c.pid -b $D/b.pid > $D/log 2>&1 &
PP=$!
sleep $SETTLE
V=$(cat $D/v.pid 2>/dev/null)
if [ -z "$V" ]; then echo "no vrrp child"; tail $D/log; exit 1; fi
echo "== $LABEL N=$N child=$V"
grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Anonymous)' /proc/$V/smaps_rollup | tr -s ' ' | paste -sd' '
if [ -n "${SMAPS:-}" ]; then cp /proc/$V/smaps ./smaps-$LABEL-$N; fi
if [ -n "${GDBSTATS:-}" ]; then
  gdb -p $V -batch -ex "call (void)malloc_stats()" >/dev/null 2>&1; sleep 0.3
  sed -n '/^Arena 0/,/^max mmap bytes/p' $D/log
fi
