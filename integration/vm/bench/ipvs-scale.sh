# Guest script: reload-size figures for the IPVS crate against ipvsadm -R.
# 2,000 services x 10 destinations = 22,000 objects. Under TCG every figure is
# several times what real hardware gives; compare within one run only.
up() { cut -d' ' -f1 /proc/uptime; }
span() { echo "$1 $2" | awk '{printf "%.2f", $2-$1}'; }
awk 'BEGIN {
  for (s = 0; s < 2000; s++) {
    a = sprintf("10.%d.%d.1", int(s / 200), s % 200)
    printf "-A -t %s:80 -s wrr\n", a
    for (d = 1; d <= 10; d++) printf "-a -t %s:80 -r 172.16.%d.%d:80 -m -w 1\n", a, int(s / 200), d + 10 * (s % 20)
  }
}' > /tmp/big.txt
echo "rules: $(grep -c '^-A' /tmp/big.txt) services, $(grep -c '^-a' /tmp/big.txt) destinations"
t0=$(up); ipvsadm -R < /tmp/big.txt; t1=$(up)
echo "ipvsadm -R (one request at a time): $(span $t0 $t1) s"
t0=$(up); ipvsadm -Sn > /tmp/saved.txt; t1=$(up)
echo "ipvsadm -Sn: $(span $t0 $t1) s"
ipvsadm -C
t0=$(up); ipvs-probe sync /tmp/big.txt --quiet; t1=$(up)
echo "ipvs-probe sync from empty (pipelined): $(span $t0 $t1) s"
test "$(ipvsadm -Sn | sort)" = "$(sort /tmp/big.txt)" && echo "ok: table equals the rules" || { echo "FAIL: table differs"; exit 1; }
t0=$(up); ipvs-probe plan /tmp/big.txt --quiet; t1=$(up)
echo "ipvs-probe plan, nothing to do: $(span $t0 $t1) s"
sed -e '5s/-w 1/-w 7/' -e '/-r 172.16.9.200:80/d' /tmp/big.txt > /tmp/big2.txt
t0=$(up); ipvs-probe sync /tmp/big2.txt; t1=$(up)
echo "ipvs-probe sync, 1 weight + deletions: $(span $t0 $t1) s"
test "$(ipvsadm -Sn | sort)" = "$(sort /tmp/big2.txt)" && echo "ok: table equals the changed rules" || { echo "FAIL"; exit 1; }
ipvsadm -C
