# Guest script: our IPVS crate (through ipvs-probe) against ipvsadm on the real kernel.
# Files: /guest/{ipvs-rules-all,reconcile-before,reconcile-after,reconcile-plan}.txt
fail=0
check() { # got want name
  if [ "$1" = "$2" ]; then echo "ok: $3"; else
    echo "FAIL: $3"; echo "--- want"; echo "$2"; echo "--- got"; echo "$1"; echo "---"; fail=1; fi
}
t0=$(cut -d' ' -f1 /proc/uptime)

# (a) programming with plain NEW_SERVICE / NEW_DEST, read back by ipvsadm
check "$(ipvs-probe info)" "$(ipvsadm -Ln | head -1)" "GET_INFO version line"
ipvs-probe add ipvs-rules-all.txt || { echo "FAIL: ipvs-probe add rc=$?"; fail=1; }
# ipvsadm -S has no thresholds: drop them from the expectation; order: the kernel's hash order
check "$(ipvsadm -Sn | sort)" "$(sed 's/ -x [0-9]* -y [0-9]*//' ipvs-rules-all.txt | sort)" "ipvsadm -Sn shows what we programmed"
check "$(ipvs-probe save)" "$(ipvsadm -Sn)" "our dump, printed, equals ipvsadm -Sn (same order)"
check "$(ipvsadm -Ln --thresholds | grep 198.51.100.9 | awk '{print $3, $4}')" "100 10" "thresholds (u/l)"
check "$(ipvs-probe plan ipvs-rules-all.txt 2>/dev/null)" "" "identical table: empty plan"
ipvs-probe set-timeouts 900 120 300
check "$(ipvsadm -L --timeout)" "Timeout (tcp tcpfin udp): 900 120 300" "SET_CONFIG seen by ipvsadm"
ipvsadm --set 800 100 200
check "$(ipvs-probe timeouts)" "800 100 200" "GET_CONFIG"
ipvs-probe flush
check "$(ipvsadm -Sn)" "" "FLUSH"

# (b) reconcile a table that ipvsadm made
ipvsadm -R < reconcile-before.txt
check "$(ipvs-probe plan reconcile-after.txt 2>/dev/null)" "$(cat reconcile-plan.txt)" "plan: minimal ops, weight/fwd change as -e"
ipvs-probe sync reconcile-after.txt >/dev/null 2>&1 || { echo "FAIL: sync rc=$?"; fail=1; }
check "$(ipvsadm -Sn | sort)" "$(sort reconcile-after.txt)" "after sync the kernel equals the desired table"
check "$(ipvs-probe plan reconcile-after.txt 2>/dev/null)" "" "second plan is empty (converged)"
# a foreign service survives --keep, and goes without it
ipvsadm -A -t 203.0.113.1:80 -s rr
check "$(ipvs-probe plan reconcile-after.txt --keep 2>/dev/null)" "" "--keep leaves a foreign service alone"
check "$(ipvs-probe plan reconcile-after.txt 2>/dev/null)" "-D -t 203.0.113.1:80" "without --keep it is deleted"
ipvsadm -C

# errors come back typed: a second add of the same service is EEXIST
ipvsadm -A -t 192.0.2.1:80 -s rr
printf -- '-A -t 192.0.2.1:80 -s rr\n' > dup.txt
err=$(ipvs-probe add dup.txt 2>&1); rc=$?
check "$rc $err" "1 ipvs-probe: IPVS command 1 failed: File exists" "EEXIST reported"
ipvsadm -C

# (c) real traffic through a NAT service (local client -> VIP on lo -> real server in a
# netns): our stats decode equals ipvsadm's, and a weight change applied by our
# reconciliation keeps the destination (its counters survive; a re-add would zero them).
ip addr add 192.0.2.100/32 dev lo
ip netns add rs; ip link add veth0 type veth peer name eth0 netns rs
ip addr add 198.51.100.1/24 dev veth0; ip link set veth0 up
ip -n rs addr add 198.51.100.2/24 dev eth0; ip -n rs link set eth0 up; ip -n rs link set lo up; ip -n rs route add default via 198.51.100.1
mkdir -p /tmp/www; echo rs > /tmp/www/index.html
ip netns exec rs httpd -p 80 -h /tmp/www

ipvs-probe sync traffic-w1.txt >/dev/null
got=""; for i in 1 2 3; do got="$got$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 2 192.0.2.100 80 | tail -1)"; done
check "$got" "rsrsrs" "3 HTTP requests through the IPVS NAT service"
sleep 2.5   # the kernel folds per-CPU counters into the totals every 2 s (estimator)
ours=$(ipvs-probe stats)
theirs=$(ipvsadm -Ln --stats --exact | awk 'NR>3 {print $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF}')
check "$ours" "$theirs" "stats decode equals ipvsadm --stats --exact"
check "$(echo "$ours" | awk 'NR==2{print $1}')" "3" "destination counted 3 connections"
check "$(ipvs-probe plan traffic-w5.txt 2>/dev/null)" "-e -t 192.0.2.100:80 -r 198.51.100.2:80 -m -w 5" "weight change planned as one edit"
ipvs-probe sync traffic-w5.txt >/dev/null 2>&1
check "$(ipvs-probe stats | awk 'NR==2{print $1}') $(ipvsadm -Ln | awk '/198.51.100.2:80/{print $4}')" "3 5" "after the edit: weight 5, counters kept (not re-added)"
ipvs-probe zero
check "$(ipvs-probe stats | awk '{print $1}' | tr '\n' ' ')" "0 0 " "ZERO: counters reset"
ipvsadm -C; ip netns del rs; ip addr del 192.0.2.100/32 dev lo

# (d) keepalived 2.2.7 programs a config; our crate reads exactly the table we would have
# programmed for it (empty plan), and programs the same table from scratch.
ka_start ka /guest/keepalived-vs.conf
wait_until 100 test "$(ipvsadm -Sn | grep -c '^-a')" -ge 4
ka_table=$(ipvsadm -Sn)
check "$(echo "$ka_table" | grep -c .)" "7" "keepalived programmed 3 services, 4 destinations"
check "$(ipvs-probe plan keepalived-vs.txt 2>/dev/null)" "" "keepalived's table needs no change to match ours"
ka_stop ka || echo "keepalived did not stop"; cat /tmp/ka.log
ipvsadm -C
ipvs-probe sync keepalived-vs.txt >/dev/null 2>&1
check "$(ipvsadm -Sn)" "$ka_table" "our programming == keepalived's (ipvsadm -Sn)"
ipvsadm -C

# (e) a client opened in another network namespace (keepalived's net_namespace_ipvs)
ip netns add x
# a NAT destination must be a routable unicast address inside the namespace
ip -n x link set lo up; ip -n x link add d0 type dummy; ip -n x addr add 198.51.100.1/24 dev d0; ip -n x link set d0 up
ipvs-probe --netns /run/netns/x sync traffic-w1.txt >/dev/null 2>&1
check "$(ip netns exec x ipvsadm -Sn)" "$(cat traffic-w1.txt)" "--netns: table programmed inside netns x"
check "$(ipvsadm -Sn)" "" "--netns: root namespace untouched"
ip netns del x

# (g) connection sync daemons (lvs_sync_daemon), both directions against ipvsadm
ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up
ipvs-probe daemon-start master v0 51 || echo "FAIL: daemon-start rc=$?"
check "$(ipvsadm -L --daemon | grep -o 'master sync daemon (mcast=v0, syncid=51')" "master sync daemon (mcast=v0, syncid=51" "NEW_DAEMON seen by ipvsadm"
check "$(ipvs-probe daemons)" "master v0 51 maxlen=1472 group=224.0.0.81 port=8848 ttl=1" "GET_DAEMON with the kernel defaults"
ipvs-probe daemon-stop master 51
check "$(ipvsadm -L --daemon)" "" "DEL_DAEMON"
ipvsadm --start-daemon backup --mcast-interface v1 --syncid 7
check "$(ipvs-probe daemons | cut -d' ' -f1-3)" "backup v1 7" "GET_DAEMON of a daemon ipvsadm started"
ipvsadm --stop-daemon backup
ip link del v0

# (f) pipelined sync with one failing step: the others are applied, the failure is reported
printf -- '-A -t 192.0.2.30:80 -s rr\n-a -t 192.0.2.30:80 -r 224.0.0.9:80 -m -w 1\n-a -t 192.0.2.30:80 -r 198.51.100.31:80 -m -w 1\n-A -t 192.0.2.31:80 -s rr\n' > partial.txt
err=$(ipvs-probe sync partial.txt 2>&1 >/dev/null); rc=$?
check "$rc $(echo "$err" | grep 'step 2')" "1 ipvs-probe: step 2 failed: -a -t 192.0.2.30:80 -r 224.0.0.9:80 -m -w 1: IPVS command 5 failed: Invalid argument" "failing step reported, exit 1"
check "$(ipvsadm -Sn)" "$(grep -v 224.0.0.9 partial.txt)" "the other steps applied"
ipvsadm -C

t1=$(cut -d' ' -f1 /proc/uptime)
echo "guest checks took $(echo "$t0 $t1" | awk '{printf "%.2f", $2-$1}') s"
exit $fail
