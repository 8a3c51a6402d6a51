# chaos.sh — guest side of the checker chaos exerciser
# (integration/tests/check_chaos_vm.rs generates /guest/chaos/steps.sh, the
# configurations conf/N.conf, the expected tables exp/N.txt and the sampled
# "must stay" sets must/N.tok (sampler tokens; must/N.txt is the same in
# `ipvsadm -Sn` form, must/N.soft the rules counted apart); this file is the
# mechanics and the audits).
#
# Topology: netns "lb" runs keepalived -C (its own IPVS table) and this script;
# netns "be" holds the backends 198.51.100.11.. (busybox httpd each), reached
# over the veth lb:v0 198.51.100.1/24 -- be:v1. The MISC_CHECK looks at
# /run/chaos/flag/N (misc.sh). Output lines for the host start with "@":
#   @STEP n kind desc | @CONV n secs departures | @RESPAWN n secs | @WATCHDOG n secs
#   @SAMPLES n total deviating missing soft-missing | @LOGCHG n count | @HUPS n count
#   @CHILD n pid | @AUDIT n ok | @FAIL n reason | @STOPPED services_left=N | @DONE failed
set -u
C=/guest/chaos
KA_BIN=${KA_BIN:-/usr/local/bin/keepalived}
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN{printf "%.2f", b-a}'; }
# before T0 TENTHS: true while less than TENTHS/10 s have passed since T0.
before() { awk -v a="$1" -v b="$(up)" -v l="$2" 'BEGIN{exit !((b-a)*10 < l)}'; }
STEP=0
T0=0

# ---- backends (run from netns lb; the httpd runs in netns be) -------------
be_addr() { echo "198.51.100.$((10 + $1))"; }
be_http_on() {
  [ -f /run/chaos/pid/$1 ] && return 0
  # `ip netns exec` execs in place: $! is the httpd.
  /usr/sbin/ip netns exec be busybox httpd -f -p "$(be_addr $1):80" -h /www/b$1 &
  echo $! > /run/chaos/pid/$1
}
be_http_off() {
  [ -f /run/chaos/pid/$1 ] || return 0
  p=$(cat /run/chaos/pid/$1); rm -f /run/chaos/pid/$1
  kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
  return 0
}
be_page_on() { echo "b$1" > /www/b$1/index.html; }
be_page_off() { rm -f /www/b$1/index.html; }
be_flag_on() { : > /run/chaos/flag/$1; }
be_flag_off() { rm -f /run/chaos/flag/$1; }
# be_hole / be_unhole: take the backend's address away (SYNs to it vanish: the
# probes time out) / give it back. be_up and be_down give it back too.
be_hole() { /usr/sbin/ip -n be addr del "$(be_addr $1)/32" dev v1 2>/dev/null; : > /run/chaos/hole/$1; }
be_unhole() { [ -f /run/chaos/hole/$1 ] || return 0; /usr/sbin/ip -n be addr add "$(be_addr $1)/32" dev v1; rm -f /run/chaos/hole/$1; }
be_up() { for b in "$@"; do be_unhole $b; be_page_on $b; be_flag_on $b; be_http_on $b; done; }
be_down() { for b in "$@"; do be_http_off $b; be_page_off $b; be_flag_off $b; be_unhole $b; done; }
be_is_up() { [ -f /run/chaos/pid/$1 ]; }
# flap TENTHS TOGGLES B...: toggle every backend every TENTHS/10 s, TOGGLES times.
flap() {
  fp=$(awk -v t="$1" 'BEGIN{printf "%.1f", t/10}'); fn=$2; shift 2; fk=0
  while [ $fk -lt $fn ]; do
    for b in "$@"; do if be_is_up $b; then be_down $b; else be_up $b; fi; done
    fk=$((fk + 1)); [ $fk -lt $fn ] && sleep "$fp"
  done
  return 0
}

setup_backends() { # N
  mkdir -p /run/chaos/pid /run/chaos/flag /run/chaos/hole
  i=1
  while [ $i -le $1 ]; do
    /usr/sbin/ip -n be addr add "$(be_addr $i)/32" dev v1
    mkdir -p /www/b$i
    i=$((i + 1))
  done
}

# ---- keepalived ---------------------------------------------------------
child_pid() { cat /run/ka-chk.pid 2>/dev/null; }
ppid_of() { awk '{print $4}' /proc/$1/stat 2>/dev/null; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; }
ka_start() { # CONF-NUMBER
  cp $C/conf/$1.conf /tmp/ka.conf
  "$KA_BIN" -n -l -C -D -f /tmp/ka.conf -p /run/ka.pid -c /run/ka-chk.pid -r /run/ka-vrrp.pid > /tmp/ka.log 2>&1 &
  KP=$!
  wait_until 300 test -s /run/ka-chk.pid || { fail "keepalived did not start"; return 1; }
}
ka_conf() { cp $C/conf/$1.conf /tmp/ka.conf.new && mv /tmp/ka.conf.new /tmp/ka.conf; }
ka_hup() { kill -HUP "$KP"; }
# hup_storm COUNT: COUNT SIGHUPs, 10 a second. Each `sleep` costs a fork under
# TCG: the pause is re-tuned every 10 signals to keep to the schedule.
hup_storm() {
  hs=0; hstart=$(up); hsl=70   # pause in ms
  while [ $hs -lt $1 ]; do
    kill -HUP "$KP" || break
    hs=$((hs + 1))
    if [ $((hs % 10)) = 0 ]; then
      if before "$hstart" "$hs"; then [ $hsl -lt 100 ] && hsl=$((hsl + 10)); elif [ $hsl -ge 10 ]; then hsl=$((hsl - 10)); fi
    fi
    [ $hsl -gt 0 ] && sleep "0.$(printf %03d $hsl)"
  done
  echo "@HUPS $STEP $hs $(since $hstart)"
}
# wait_respawn OLD TENTHS: until the -c pid file names a live child of the parent other than OLD.
respawned() { c=$(child_pid); [ -n "$c" ] && [ "$c" != "$1" ] && alive "$c" && [ "$(ppid_of $c)" = "$KP" ]; }
kill_child() {
  c0=$(child_pid); t=$(up)
  kill -9 "$c0"
  if wait_until 900 respawned "$c0"; then echo "@RESPAWN $STEP $(since $t)"; else fail "checker child not respawned within 90 s"; return 1; fi
}
# stop_child TENTHS: SIGSTOP; 0 = leave it stopped until the parent replaces it.
stop_child() {
  # keepalived 2.2.7 (reference runs) has no heartbeat watchdog: a 3 s stop instead.
  [ "$1" = 0 ] && [ "$KA_BIN" = /usr/sbin/keepalived ] && set -- 30
  c0=$(child_pid); t=$(up)
  kill -STOP "$c0"
  if [ "$1" = 0 ]; then
    if wait_until 900 respawned "$c0"; then echo "@WATCHDOG $STEP $(since $t)"; else fail "stopped checker child not replaced within 90 s"; kill -CONT "$c0"; return 1; fi
  else
    sleep "$(awk -v t="$1" 'BEGIN{printf "%.1f", t/10}')"
    kill -CONT "$c0" 2>/dev/null
    respawned "$c0" && echo "@WATCHDOG $STEP $(since $t)"
  fi
  return 0
}

# ---- sampler: every ~50 ms, without exec ---------------------------------
# `ipvsadm -Sn` costs a fork + exec (~60-250 ms under TCG); the sampler copies
# /proc/net/ip_vs with busybox cat (an applet: fork without exec, ~10 ms) and
# parses it with shell builtins into tokens: "C0000201:0050/rr" for a service,
# "C0000201:0050>C633640B:0050/3" for a destination with its weight (addresses
# and ports in the kernel's hex), the form the host writes must/N.tok and
# must/N.soft in. The copy matters: the shell's `read` takes one byte per
# read(2), and /proc/net/ip_vs re-walks the service table by index at every
# record a read(2) starts, so a service deleted meanwhile shifts the index and
# the next service is skipped — a false "missing" (seen once in a long run).
# cat reads the whole (small) table in one read(2), one walk.
snap() {
  S=""; cur=""
  cat /proc/net/ip_vs > /tmp/smp.snap
  while read -r a b c d e; do
    case $a in
      TCP|UDP|SCTP|FWM) cur=$b; S="$S $b/$c" ;;
      "->") [ -n "$cur" ] && S="$S $cur>$b/$d" ;;
    esac
  done < /tmp/smp.snap
}
# absent TOKENS: the tokens not in the snapshot $S, in $ABSENT.
absent() { ABSENT=""; for t in $1; do case "$S " in *" $t "*) ;; *) ABSENT="$ABSENT $t" ;; esac; done; }
# sampler_start MUST-TOKENS [SOFT-TOKENS]: samples until sampler_stop; a sample
# that differs from the table at the start (the audited one) is "deviating"; one
# that lacks a token of MUST is "missing" (the first ones are kept in
# /tmp/smp.log with `ipvsadm -Sn`); one that lacks a token of SOFT is counted
# apart ("soft").
sampler_start() {
  rm -f /tmp/smp.stop /tmp/smp.res /tmp/smp.log
  [ -p /tmp/smp.fifo ] || mkfifo /tmp/smp.fifo
  (
    MT=""; while read -r t; do MT="$MT $t"; done < "$1"
    ST=""; [ -n "${2:-}" ] && while read -r t; do ST="$ST $t"; done < "$2"
    snap; base=$S; last=$S; n=0; dev=0; miss=0; smiss=0
    while [ ! -f /tmp/smp.stop ]; do
      snap; n=$((n + 1))
      if [ "$S" != "$base" ]; then
        dev=$((dev + 1))
        [ $dev -le 2 ] && [ "$S" != "$last" ] && { echo "sample $n at $(up) differs from the audited table:"; ipvsadm -Sn | diff /tmp/base - | grep -E '^[-+]-[aA] ' | sed 's/^/  /'; } >> /tmp/smp.log
        absent "$MT"
        if [ -n "$ABSENT" ]; then
          miss=$((miss + 1))
          [ $miss -le 3 ] && { echo "sample $n at $(up): missing$ABSENT"; ipvsadm -Sn | sed 's/^/  /'; } >> /tmp/smp.log
        fi
        absent "$ST"
        if [ -n "$ABSENT" ]; then
          smiss=$((smiss + 1))
          [ $smiss -le 2 ] && echo "sample $n at $(up) (soft): missing$ABSENT" >> /tmp/smp.log
        fi
      fi
      last=$S
      read -t 0.03 x <> /tmp/smp.fifo
    done
    echo "$n $dev $miss $smiss" > /tmp/smp.res
  ) &
  SMP=$!
}
sampler_stop() {
  : > /tmp/smp.stop; wait "$SMP" 2>/dev/null
  echo "@SAMPLES $STEP $(cat /tmp/smp.res)"
  [ -s /tmp/smp.log ] && sed 's/^/  /' /tmp/smp.log
  return 0
}

# ---- audits -------------------------------------------------------------
FAILED=0
fail() { echo "@FAIL $STEP $*"; FAILED=1; }
tbl() { ipvsadm -Sn | sort; }
log_mark() { LOGMARK=$(wc -l < /tmp/ka.log); }
# Table changes the daemon logged since log_mark.
log_changes() { tail -n +$((LOGMARK + 1)) /tmp/ka.log | grep -c -E 'Removing service|Adding service|Disabling service|Enabling service|Changing weight|sorry server'; }
step() { STEP=$1; echo "@STEP $1 $2 $3"; T0=$(up); }
mark() { T0=$(up); }
# audit BOUND-TENTHS [STABLE-TENTHS]: the table equals exp/STEP.txt and then stays
# equal for STABLE tenths (default 20), the equal stretch beginning within BOUND of
# T0. Convergence = the start of that stretch; departures = how often the table
# had reached the expected state and left it again (a check finishing late, a
# respawned child re-adding what it had not checked yet). Then processes, panics.
audit() {
  sort $C/exp/$STEP.txt > /tmp/exp.s
  st=${2:-20}; eq=""; dep=0
  while :; do
    tbl > /tmp/cur.s
    if cmp -s /tmp/cur.s /tmp/exp.s; then
      [ -z "$eq" ] && eq=$(up)
      before "$eq" "$st" || break
    else
      [ -n "$eq" ] && { dep=$((dep + 1)); eq=""; cp /tmp/cur.s /tmp/dep.s; }
      if ! before "$T0" "$1"; then
        fail "table not as expected $(since $T0) s after the fault ($dep departures)"
        echo "--- diff expected actual"; diff /tmp/exp.s /tmp/cur.s
        dump_state; return 1
      fi
    fi
    sleep 0.1
  done
  echo "@CONV $STEP $(awk -v a="$T0" -v b="$eq" 'BEGIN{printf "%.2f", b-a}') $dep"
  if [ $dep -gt 0 ]; then echo "  (left the expected state $dep time(s); last departure:"; diff /tmp/exp.s /tmp/dep.s | grep -E '^[-+]-[aA] ' | sed 's/^/    /'; echo "  )"; fi
  ipvsadm -Sn > /tmp/base
  procs_ok || { dump_state; return 1; }
  echo "@CHILD $STEP $(child_pid)"
  if grep -q -E 'panicked|RUST_BACKTRACE' /tmp/ka.log; then fail "panic in the log"; grep -B2 -A8 panicked /tmp/ka.log | head -40; return 1; fi
  echo "@AUDIT $STEP ok"
}
# keepalived processes (comm), zombies whose parent is a keepalived.
ka_pids() { for f in /proc/[0-9]*/stat; do { read -r l < "$f"; } 2>/dev/null && echo "$l"; done | awk '$2=="(keepalived)"{print $1}'; }
ka_zombies() { for f in /proc/[0-9]*/stat; do { read -r l < "$f"; } 2>/dev/null && echo "$l"; done | awk -v p="$KP" -v c="$(child_pid)" '$3=="Z" && ($4==p || $4==c) {print $1}' | sort; }
procs_ok() {
  alive "$KP" || { fail "parent $KP is gone"; return 1; }
  c=$(child_pid)
  alive "$c" || { fail "checker child ($c) is not running"; return 1; }
  [ "$(ppid_of $c)" = "$KP" ] || { fail "checker child $c is not a child of $KP"; return 1; }
  # A forked MISC script is "keepalived" until it execs: re-check a few times.
  k=0
  while [ "$(ka_pids | wc -l)" != 2 ]; do
    k=$((k + 1)); [ $k -ge 8 ] && { fail "keepalived processes: $(ka_pids | tr '\n' ' ')(expected 2)"; return 1; }
    sleep 0.3
  done
  z1=$(ka_zombies)
  if [ -n "$z1" ]; then
    sleep 1; z2=$(ka_zombies)
    zz=$(for z in $z1; do echo "$z2" | grep -x "$z"; done)
    [ -n "$zz" ] && { fail "zombie children of keepalived for 1 s: $zz"; return 1; }
  fi
  return 0
}
dump_state() {
  echo "--- ipvsadm -Sn"; ipvsadm -Sn
  echo "--- backends"; for f in /www/b*; do b=${f#/www/b}; echo "b$b http=$([ -f /run/chaos/pid/$b ] && echo on || echo off) page=$([ -f $f/index.html ] && echo on || echo off) flag=$([ -f /run/chaos/flag/$b ] && echo on || echo off) addr=$([ -f /run/chaos/hole/$b ] && echo removed || echo present)"; done
  echo "--- processes"; for f in /proc/[0-9]*/stat; do { read -r l < "$f"; } 2>/dev/null && echo "$l"; done | awk '$2 !~ /^\((kworker|ksoftirq|rcu|migration|cpuhp|kthreadd|idle_inject|watchdog)/ && $4 != 2 {print $1, $2, $3, "ppid", $4}'
  echo "--- keepalived log (last 60 lines)"; tail -60 /tmp/ka.log
}
SHOW_LOG=${SHOW_LOG:-0}
finish() {
  echo "--- log summary: $(wc -l < /tmp/ka.log) lines, $(grep -c -E 'Removing service|Disabling service' /tmp/ka.log) removals, $(grep -c -E 'Adding service|Enabling service' /tmp/ka.log) additions, $(grep -c 'Reload' /tmp/ka.log) reload lines, $(grep -c -E 'Respawning|has not answered' /tmp/ka.log) respawn lines"
  [ "$SHOW_LOG" = 1 ] || [ "$FAILED" = 1 ] && { echo "--- keepalived log"; cat /tmp/ka.log; }
  kill -TERM "$KP" 2>/dev/null
  wait_until 150 eval '! kill -0 $KP'
  rest=$(ipvsadm -Sn | grep -c .)
  echo "@STOPPED services_left=$rest"
  echo "@DONE $FAILED"
}
