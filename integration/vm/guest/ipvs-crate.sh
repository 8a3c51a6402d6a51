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

t1=$(cut -d' ' -f1 /proc/uptime)
echo "guest checks took $(echo "$t0 $t1" | awk '{printf "%.2f", $2-$1}') s"
exit $fail
