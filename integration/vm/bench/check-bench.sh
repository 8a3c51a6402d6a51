# Guest script: checker benchmark, keepalived 2.2.7 against ours on the same
# configurations (driven by integration/tests/check_bench_vm.rs).
#   /guest/bench.conf   N TCP_CHECK + N HTTP_GET real servers, delay_loop 1,
#                       1/6 refused (port 81), 1/6 timing out (SYN dropped)
#   /guest/reload.conf  2,000 services x 10 real servers, no checkers
# Topology: netns "dir" (the checker, its own IPVS table) --veth-- netns "be":
#   10.10.0.0/16 is a local route on be's lo (AnyIP): http-responder on :80
#   answers every address, :81 has no listener (RST); 10.30.0.0/16 is routed
#   to be, which neither owns nor forwards it: SYNs vanish (connect timeout).
# Variables: WHO ("REAL OURS"), WARMUP (s), MEASURE (s), EXPECT_ALIVE, RELOAD_RULES.
set -u
ip() { /usr/sbin/ip "$@"; }
REAL=/usr/sbin/keepalived
OURS=/usr/local/bin/keepalived
WHO=${WHO:-REAL OURS}
WARMUP=${WARMUP:-20}
MEASURE=${MEASURE:-60}
up() { cut -d' ' -f1 /proc/uptime; }
span() { awk -v a=$1 -v b=$2 'BEGIN{printf "%.3f", b-a}'; }
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
# CPU ns of every thread of PID (schedstat is per thread).
sched_ns() { s=0; for t in /proc/$1/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 $t))); done; echo $s; }
pss() { awk '/^Pss:/{print $2}' /proc/$1/smaps_rollup; }
rss() { awk '/^VmRSS:/{print $2}' /proc/$1/status; }
nthreads() { ls /proc/$1/task | wc -l; }
# TCP ActiveOpens of the checker's namespace (connection attempts = probes started).
opens() { ip netns exec dir cat /proc/net/snmp | awk '/^Tcp:/ {if (h) print $6; h=1}'; }
dests() { ip netns exec dir ipvsadm -Sn | grep -c '^-a'; }
rules() { ip netns exec dir ipvsadm -Sn | wc -l; }
killall_dir() { for p in $(ip netns pids dir); do kill -9 $p; done; i=0; while [ -n "$(ip netns pids dir)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ip netns exec dir ipvsadm -C; }
start() { # bin conf tag
  ip netns exec dir $1 -n -l -C -f $2 -p /run/$3.pid -c /run/$3.c.pid -r /run/$3.r.pid > /tmp/$3.log 2>&1 &
  i=0; while { [ ! -s /run/$3.c.pid ] || [ ! -s /run/$3.pid ]; } && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  # $! would be the subshell running the ip() function, not keepalived: use the pid files.
  P=$(cat /run/$3.pid 2>/dev/null || echo 0)
  C=$(cat /run/$3.c.pid 2>/dev/null || echo 0)
}

echo "== setup"
# keepalived 2.2.7 syslogs with LOG_CONS: without a syslog daemon every line goes to the
# serial console, which under TCG costs the guest more CPU than the checks themselves.
busybox syslogd -n -O /dev/null &
sleep 0.2
# The checker's namespace, made afresh for each reload run: IPVS keeps
# deleted destinations in a per-namespace trash list that every later
# add-destination scans, so after a flush of 22,000 rules the next program
# run in the same namespace is several times slower (seen: whoever ran
# second lost, 6.3 s vs 25 s and 7.6 s vs 13.2 s).
mk_dir() {
  ip netns add dir
  ip link add veth-d netns dir type veth peer name veth-b netns be
  ip -n dir link set lo up
  ip -n dir addr add 172.31.0.1/30 dev veth-d; ip -n dir link set veth-d up
  ip -n be addr add 172.31.0.2/30 dev veth-b; ip -n be link set veth-b up
  ip -n dir route add 10.0.0.0/8 via 172.31.0.2
}
ip netns add be; ip -n be link set lo up
mk_dir
ip -n be route add local 10.10.0.0/16 dev lo
ip netns exec be sysctl -qw net.ipv4.ip_forward=0
ip netns exec be http-responder 0.0.0.0:80 8 &
sleep 0.5
t0=$(up); r=$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec dir nc -w 3 10.10.3.7 80 | tail -1); t1=$(up)
echo "backend alive 10.10.3.7:80 -> '$r' in $(span $t0 $t1) s"
t0=$(up); ip netns exec dir nc -w 3 10.10.3.7 81 </dev/null >/dev/null 2>&1; t1=$(up)
echo "backend dead 10.10.3.7:81 -> refused in $(span $t0 $t1) s"
t0=$(up); ip netns exec dir nc -w 3 10.30.0.5 80 </dev/null >/dev/null 2>&1; t1=$(up)
echo "backend timing out 10.30.0.5:80 -> gave up after $(span $t0 $t1) s (nc -w 3)"

PHASES=${PHASES:-checkers reload}
case " $PHASES " in *" checkers "*) ;; *) WHO_CHECKERS= ;; esac
for who in ${WHO_CHECKERS-$WHO}; do
  eval b=\$$who
  echo "== checkers: $who ($b)"
  ts=$(up)
  start $b /guest/bench.conf bench-$who
  sleep $WARMUP
  c0=$(ticks $C); n0=$(sched_ns $C); t0=$(up); f0=$(grep -c -e 'Removing service' -e 'Adding service' /tmp/bench-$who.log); o0=$(opens)
  sleep $MEASURE
  c1=$(ticks $C); n1=$(sched_ns $C); t1=$(up); f1=$(grep -c -e 'Removing service' -e 'Adding service' /tmp/bench-$who.log); o1=$(opens)
  d=$(dests)
  echo "bench: $who TCP connection attempts in the window: $((o1-o0)) ($(awk -v o=$((o1-o0)) -v a=$t0 -v b=$t1 'BEGIN{printf "%.0f", o/(b-a)}')/s), CPU per attempt $(awk -v n=$((n1-n0)) -v o=$((o1-o0)) 'BEGIN{if (o) printf "%.0f", n/1e3/o; else print "-"}') us"
  echo "bench: $who during the window: $((f1-f0)) Removing/Adding lines (0 = no flapping); guest loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "bench: $who checker pid $C threads $(nthreads $C): cpu $(awk -v c=$((c1-c0)) -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", c/100*60/(b-a)}') s/min (utime+stime ticks $((c1-c0)) over $(span $t0 $t1) s), schedstat $(awk -v n=$((n1-n0)) -v a=$t0 -v b=$t1 'BEGIN{printf "%.3f", n/1e9*60/(b-a)}') s/min, PSS $(pss $C) kB, RSS $(rss $C) kB, parent PSS $(pss $P) kB, dests in table $d (expected alive ${EXPECT_ALIVE:-?})"
  grep -c -E 'Removing service' /tmp/bench-$who.log | sed "s/^/bench: $who 'Removing service' lines: /"
  grep -E 'Timeout connect|Error connecting|connection to .* failed|HTTP status|Removing service' /tmp/bench-$who.log | head -3 | sed "s/^/  $who| /"
  killall_dir
done

case " $PHASES " in *" reload "*) ;; *) WHO_RELOAD= ;; esac
for who in ${WHO_RELOAD-$WHO}; do
  eval b=\$$who
  echo "== reload: $who"
  ip netns del dir; sleep 0.5; mk_dir
  cp /guest/reload.conf /tmp/reload-$who.conf
  ts=$(up)
  start $b /tmp/reload-$who.conf reload-$who
  # Timeline: rules in the kernel (/proc/net/ip_vs lines, cheaper than ipvsadm -Sn),
  # CPU ticks (user/system) of the parent and of the checker child.
  tl=""; i=0
  while :; do
    n=$(ip netns exec dir cat /proc/net/ip_vs | wc -l); n=$((n > 3 ? n - 3 : 0))
    tl="$tl $(span $ts $(up)):$n:$(awk '{print $14"/"$15}' /proc/$P/stat 2>/dev/null):$(awk '{print $14"/"$15}' /proc/$C/stat 2>/dev/null)"
    [ "$n" -ge "${RELOAD_RULES:-22000}" ] && break
    i=$((i+1)); [ $i -ge 240 ] && break
    sleep 0.5
  done
  te=$(up)
  echo "reload: $who programmed $(rules) rules in $(span $ts $te) s from start"
  echo "reload: $who timeline (s:rules:parent utime/stime:checker utime/stime ticks):$tl" | fold -w 200
  i=0; while ! grep -q 'Startup complete' /tmp/reload-$who.log && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  grep -n -m3 -E 'Starting Healthcheck|Startup complete|Initializing ipvs' /tmp/reload-$who.log | sed "s/^/  $who| /"
  sleep 2
  for step in unchanged weight-edit; do
    if [ $step = weight-edit ]; then
      awk '!d && /weight 1$/ {sub(/weight 1$/, "weight 5"); d=1} 1' /tmp/reload-$who.conf > /tmp/x.conf && cat /tmp/x.conf > /tmp/reload-$who.conf
    fi
    k0=$(grep -c 'Reload complete' /tmp/reload-$who.log)
    c0=$(ticks $C); n0=$(sched_ns $C)
    t0=$(up); kill -HUP $P
    i=0; while [ "$(grep -c 'Reload complete' /tmp/reload-$who.log)" = "$k0" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done
    t1=$(up)
    sleep 4
    c1=$(ticks $C); n1=$(sched_ns $C)
    echo "reload: $who $step: SIGHUP -> 'Reload complete' $(span $t0 $t1) s (polled every 20 ms); checker CPU for it $(awk -v n=$((n1-n0)) 'BEGIN{printf "%.3f", n/1e9}') s (schedstat, 4 s after), ticks $((c1-c0)); rules $(rules); PSS $(pss $C) kB"
  done
  ip netns exec dir ipvsadm -Sn | grep -m1 -- '-w 5' | sed "s/^/reload: $who weight edit visible: /"
  grep -E 'Reload|Reloading' /tmp/reload-$who.log | head -6 | sed "s/^/  $who| /"
  killall_dir
done
echo "bench done"
