//! The LVS-NAT end-to-end scenario of issue 4 (test-rig facts §B `lvs-nat`),
//! in the qemu guest (Debian 6.1 kernel, real IPVS), one boot for every pair
//! of directors:
//!
//! ```text
//!   client cl 192.0.2.100 --[brc]-- ka1 .11 / ka2 .12 (VIP 192.0.2.200)
//!                                   ka1 198.51.100.11 / ka2 .12 (VIP 198.51.100.1)
//!                           --[brs]-- rs1 198.51.100.21, rs2 198.51.100.22 (busybox httpd)
//! ```
//!
//! Two directors run VRRP (a sync group of two instances: the client-side VIP
//! and the inside VIP the real servers route back through) and the checker
//! (one `virtual_server 192.0.2.200 80`, rr, NAT, rs1 TCP_CHECK, rs2
//! HTTP_GET, `delay_loop 1`). IPVS is per network namespace: each director
//! namespace has its own table, programmed by its own checker.
//!
//! Pairs (master ka1 prio 100 / backup ka2 prio 90): ours/ours,
//! ours/keepalived 2.2.7, keepalived 2.2.7/ours. For each, asserted:
//! * the master holds both VIPs, both directors' tables hold both real servers;
//! * the client gets answers from both real servers through the VIP (rr);
//! * rs2's httpd stopped → rs2 leaves the master's table within delay_loop +
//!   (retry+1) × connect_timeout + delay_before_retry + slack (6 s); back →
//!   re-added within 6 s; the same for rs1 (TCP_CHECK);
//! * SIGTERM of the master's keepalived → the backup holds both VIPs within
//!   5 s and the client gets an answer within 8 s of the signal, then from
//!   both real servers again; the stopped director's table is empty.
//!
//! Needs root and qemu; skipped otherwise. `KEEPALIVED_STATIC_BIN=path` uses
//! an already built static binary instead of building one.

#[path = "../vm/rig.rs"]
mod rig;

use rig::GuestFile;

/// Director configuration, `@ROUTER@`, `@PRIO@`, `@STATE@` substituted.
const DIRECTOR_CONF: &str = "global_defs {
  router_id @ROUTER@
}
vrrp_sync_group G {
  group {
    OUT
    IN
  }
}
vrrp_instance OUT {
  state @STATE@
  interface eth0
  virtual_router_id 51
  priority @PRIO@
  advert_int 1
  virtual_ipaddress {
    192.0.2.200/24
  }
}
vrrp_instance IN {
  state @STATE@
  interface eth1
  virtual_router_id 52
  priority @PRIO@
  advert_int 1
  virtual_ipaddress {
    198.51.100.1/24
  }
}
virtual_server 192.0.2.200 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.21 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
  real_server 198.51.100.22 80 {
    weight 1
    HTTP_GET {
      url {
        path /index.html
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
}
";

/// The guest script: `scenario BIN1 BIN2 LABEL` for each pair.
const SCRIPT: &str = r#"
set -u
ip() { /usr/sbin/ip "$@"; }
REAL=/usr/sbin/keepalived
OURS=/usr/local/bin/keepalived
fails=0
ok() { echo "ok: [$LABEL] $*"; }
fail() { echo "FAIL: [$LABEL] $*"; fails=$((fails+1)); }
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a=$1 -v b=$(up) 'BEGIN{printf "%.2f s", b-a}'; }
hget() { printf 'GET /index.html HTTP/1.0\r\n\r\n' | ip netns exec cl nc -w 2 192.0.2.200 80 2>/dev/null | tail -1; }
tbl() { ip netns exec $1 ipvsadm -Sn; }
in_tbl() { tbl $1 | grep -q -- "-r $2:80 -m"; }
not_in_tbl() { ! in_tbl "$@"; }
has_vips() { ip -n $1 -o -4 addr show dev eth0 | grep -q 192.0.2.200 && ip -n $1 -o -4 addr show dev eth1 | grep -q '198.51.100.1/'; }
no_vips() { ! ip -n $1 -o -4 addr | grep -q -e 192.0.2.200 -e '198.51.100.1/'; }
answers() { r=$(hget); [ "$r" = rs1 ] || [ "$r" = rs2 ]; }
# poll "desc" TENTHS cmd...: poll every 0.1 s; ok with the time taken, or fail with logs.
poll() {
  local d lim pt0 pi n
  d=$1; lim=$2; shift 2; pt0=$(up); pi=0
  while [ $pi -lt $lim ]; do
    if "$@"; then ok "$d ($(since $pt0))"; return 0; fi
    sleep 0.1; pi=$((pi+1))
  done
  fail "$d (not within $((lim/10)).$((lim%10)) s)"
  for n in ka1 ka2; do echo "--- $n table"; tbl $n; echo "--- $n log"; grep -v 'gratuitous ARP' /tmp/$LABEL-$n.log | tail -25; done
  return 1
}
rr_both() { # what
  local r k
  r=""; for k in 1 2 3 4; do r="$r $(hget)"; done
  if echo "$r" | grep -q rs1 && echo "$r" | grep -q rs2; then ok "client via VIP gets both real servers ($1):$r"; else fail "client via VIP ($1):$r"; fi
}
httpd_start() { ip netns exec rs$1 busybox httpd -p 80 -h /tmp/www$1; }
gone() { [ -z "$(ip netns pids $1)" ]; }
both_in() { in_tbl $1 198.51.100.21 && in_tbl $1 198.51.100.22; }
httpd_stop() { for p in $(ip netns pids rs$1); do kill $p; done; wait_until 30 gone rs$1; }

setup() {
  ip netns add sw
  for b in brc brs; do ip -n sw link add $b type bridge; ip -n sw link set $b up; done
  for n in ka1 ka2 rs1 rs2 cl; do ip netns add $n; ip -n $n link set lo up; done
  plug() { ip link add "$1$2" netns sw type veth peer name "$2" netns "$1"; ip -n sw link set "$1$2" master "$3" up; ip -n "$1" link set "$2" up; }
  plug cl eth0 brc; plug ka1 eth0 brc; plug ka2 eth0 brc; plug ka1 eth1 brs; plug ka2 eth1 brs
  plug rs1 eth0 brs; plug rs2 eth0 brs
  ip -n cl addr add 192.0.2.100/24 dev eth0
  ip -n ka1 addr add 192.0.2.11/24 dev eth0; ip -n ka1 addr add 198.51.100.11/24 dev eth1
  ip -n ka2 addr add 192.0.2.12/24 dev eth0; ip -n ka2 addr add 198.51.100.12/24 dev eth1
  for i in 1 2; do
    ip -n rs$i addr add 198.51.100.2$i/24 dev eth0; ip -n rs$i route add default via 198.51.100.1
    mkdir -p /tmp/www$i; echo "rs$i" > /tmp/www$i/index.html
    httpd_start $i
  done
  for n in ka1 ka2; do ip netns exec $n sysctl -qw net.ipv4.ip_forward=1; done
}
teardown() {
  for n in ka1 ka2; do [ -f /run/$LABEL-$n.pid ] && kill "$(cat /run/$LABEL-$n.pid)" 2>/dev/null; done
  wait_until 50 gone ka1; wait_until 50 gone ka2
  for n in ka1 ka2 rs1 rs2 cl; do for p in $(ip netns pids $n); do kill -9 $p; done; done
  sleep 0.2; for n in ka1 ka2 rs1 rs2 cl sw; do ip netns del $n; done
}
director() { # ns bin
  ip netns exec $1 $2 -n -l -D -f /guest/$1.conf -p /run/$LABEL-$1.pid -r /run/$LABEL-$1-vrrp.pid -c /run/$LABEL-$1-chk.pid > /tmp/$LABEL-$1.log 2>&1 &
}

scenario() { # BIN_MASTER BIN_BACKUP LABEL
  LABEL=$3
  echo "== $LABEL: ka1 (MASTER, prio 100) = $1, ka2 (BACKUP, prio 90) = $2"
  setup
  director ka1 $1; director ka2 $2
  poll "ka1 holds both VIPs" 150 has_vips ka1
  poll "ka1 table has rs1 and rs2" 100 both_in ka1
  poll "ka2 (backup) table has rs1 and rs2" 100 both_in ka2
  no_vips ka2 && ok "ka2 holds no VIP" || fail "ka2 holds a VIP"
  echo "--- ka1 table"; tbl ka1
  rr_both "start"
  # Health checks on the master: HTTP_GET (rs2), then TCP_CHECK (rs1).
  for rsn in 2 1; do
    httpd_stop $rsn
    poll "rs$rsn stopped: removed from ka1's table" 60 not_in_tbl ka1 198.51.100.2$rsn
    poll "rs$rsn stopped: removed from ka2's table" 60 not_in_tbl ka2 198.51.100.2$rsn
    r=""; for k in 1 2; do r="$r $(hget)"; done
    o=$((3-rsn)); [ "$r" = " rs$o rs$o" ] && ok "client gets only rs$o:$r" || fail "client with rs$rsn down:$r"
    httpd_start $rsn
    poll "rs$rsn back: re-added to ka1's table" 60 in_tbl ka1 198.51.100.2$rsn
    poll "rs$rsn back: re-added to ka2's table" 60 in_tbl ka2 198.51.100.2$rsn
  done
  rr_both "after the health-check round trip"
  # Director failover: SIGTERM the master's keepalived.
  t0=$(up)
  kill -TERM "$(cat /run/$LABEL-ka1.pid)"
  poll "SIGTERM ka1: ka2 holds both VIPs" 50 has_vips ka2
  poll "SIGTERM ka1: client answered through ka2" 80 answers
  echo "failover: service answering $(since $t0) after SIGTERM of the master"
  wait_until 100 gone ka1 && ok "ka1 exited" || fail "ka1 still running"
  no_vips ka1 && ok "ka1 released its VIPs" || fail "ka1 kept a VIP"
  [ -z "$(tbl ka1 | grep -- '^-A')" ] && ok "ka1's services removed at stop" || { fail "ka1 table after stop"; tbl ka1; }
  rr_both "after failover"
  grep -E 'Entering MASTER|Removing service|Adding service|TCP connection|HTTP status|Timeout connect|Error connecting' /tmp/$LABEL-ka1.log | head -8 | sed 's/^/  ka1| /'
  grep -E 'Entering MASTER|Entering BACKUP' /tmp/$LABEL-ka2.log | head -4 | sed 's/^/  ka2| /'
  teardown
}

for pair in $PAIRS; do
  case $pair in
    ours-ours) scenario $OURS $OURS ours-ours ;;
    ours-ka) scenario $OURS $REAL ours-ka ;;
    ka-ours) scenario $REAL $OURS ka-ours ;;
    ka-ka) scenario $REAL $REAL ka-ka ;;
  esac
done
echo "failures: $fails"
[ $fails = 0 ]
"#;

fn conf(router: &str, prio: u8, state: &str) -> String {
    DIRECTOR_CONF
        .replace("@ROUTER@", router)
        .replace("@PRIO@", &prio.to_string())
        .replace("@STATE@", state)
}

#[test]
fn lvs_nat_two_directors_in_guest() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let bin = rig::keepalived_bin(false);
    // KA_LVS_PAIRS="ka-ka" runs the reference alone (the scenario's own check).
    let pairs =
        std::env::var("KA_LVS_PAIRS").unwrap_or_else(|_| "ours-ours ours-ka ka-ours".into());
    let script = format!("PAIRS='{pairs}'\n{SCRIPT}");
    let files = vec![
        GuestFile::bin(&bin),
        GuestFile::data("/guest/ka1.conf", conf("ka1", 100, "MASTER")),
        GuestFile::data("/guest/ka2.conf", conf("ka2", 90, "BACKUP")),
    ];
    let r = rig::run_in_guest_timeout(&files, &script, std::time::Duration::from_secs(600))
        .expect("guest run");
    println!("{}", r.stdout);
    println!(
        "boot+run wall {:.1} s (guest ready {:?} s, done {:?} s)",
        r.wall.as_secs_f64(),
        r.guest_ready_s,
        r.guest_done_s
    );
    if r.exit == -1 {
        println!("--- console\n{}", r.console);
    }
    assert!(
        !r.stdout.contains("FAIL:"),
        "failures in the guest:\n{}",
        r.stdout
    );
    assert_eq!(r.exit, 0, "{}", r.stdout);
    for pair in pairs.split_whitespace() {
        assert!(
            r.stdout.contains(&format!(
                "ok: [{pair}] client via VIP gets both real servers (after failover)"
            )),
            "{pair}: scenario did not reach the end:\n{}",
            r.stdout
        );
    }
}
