//! The checker daemon in a real IPVS kernel (Debian 6.1 under qemu, see
//! `vm/rig.sh`), one boot for everything:
//!
//! (a) table parity: for every configuration of a corpus (each
//!     `etc/samples/*` file with a `virtual_server`, plus generated ones with
//!     every scheduler, forwarding method, protocol, fwmark, group, IPv6,
//!     persistence, sorry server, inhibit, thresholds), keepalived 2.2.7 and
//!     then ours run with `-C` on a clean table; `ipvsadm -Sn` (sorted) must
//!     be identical;
//! (b) live backends (busybox httpd on guest addresses, HTTP_GET, delay_loop
//!     1): a backend stops → removed (weight 0 with inhibit_on_failure); all
//!     down → sorry server; back → re-added; SIGHUP with the same config → the
//!     table does not change; SIGKILL of the checker child → the respawned
//!     child adopts the table without flapping; SIGTERM → our services go,
//!     with `-I` they stay.
//!
//! Needs root and qemu; skipped otherwise.

#[path = "../vm/rig.rs"]
mod rig;

use std::path::Path;

use rig::GuestFile;

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "fo", "ovf", "mh",
];

fn rs_block(addrs: &[(&str, u16, u32)]) -> String {
    addrs
        .iter()
        .map(|(a, p, w)| format!("  real_server {a} {p} {{\n    weight {w}\n  }}\n"))
        .collect()
}

/// Generated configurations: (name, text).
fn generated() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rs = rs_block(&[("198.51.100.11", 80, 1), ("198.51.100.12", 80, 3)]);
    // Every scheduler, one VS each.
    let mut t = String::new();
    for (i, s) in SCHEDULERS.iter().enumerate() {
        t += &format!(
            "virtual_server 192.0.2.{} 80 {{\n  lb_algo {s}\n  lb_kind NAT\n  protocol TCP\n{rs}}}\n",
            i + 1
        );
    }
    t += "virtual_server 192.0.2.50 80 {\n  lb_algo sh\n  sh-port\n  sh-fallback\n  lb_kind NAT\n  protocol TCP\n";
    t += &rs;
    t += "}\nvirtual_server 192.0.2.51 80 {\n  lb_algo mh\n  mh-port\n  lb_kind NAT\n  protocol TCP\n";
    t += &rs;
    t += "}\n";
    out.push(("gen-schedulers".into(), t));
    // Forwarding methods and per-RS override, thresholds.
    let t = format!(
        "virtual_server 192.0.2.1 80 {{\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n{rs}}}\n\
         virtual_server 192.0.2.2 80 {{\n  lb_algo wrr\n  lb_kind TUN\n  protocol TCP\n{rs}}}\n\
         virtual_server 192.0.2.3 80 {{\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n\
           real_server 198.51.100.11 8080 {{\n    weight 2\n    lvs_method DR\n    uthreshold 100\n    lthreshold 10\n  }}\n\
           real_server 198.51.100.12 8080 {{\n    weight 0\n  }}\n}}\n"
    );
    out.push(("gen-kinds".into(), t));
    // Protocols.
    let t = format!(
        "virtual_server 192.0.2.1 53 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol UDP\n{rs}}}\n\
         virtual_server 192.0.2.1 5060 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol SCTP\n{rs}}}\n\
         virtual_server 192.0.2.1 80 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{rs}}}\n\
         virtual_server 192.0.2.2 80 {{\n  lb_algo rr\n  lb_kind NAT\n{rs}}}\n"
    );
    out.push(("gen-protocols".into(), t));
    // fwmark and groups.
    let t = format!(
        "virtual_server fwmark 7 {{\n  lb_algo wlc\n  lb_kind DR\n  protocol TCP\n{rs}}}\n\
         virtual_server_group web {{\n  192.0.2.10 80\n  192.0.2.20-22 443\n  fwmark 9\n}}\n\
         virtual_server group web {{\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n{rs}}}\n"
    );
    out.push(("gen-fwmark-group".into(), t));
    // IPv6 and persistence.
    let rs6 = rs_block(&[("2001:db8::11", 80, 1), ("2001:db8::12", 80, 2)]);
    let t = format!(
        "virtual_server 2001:db8::1 80 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{rs6}}}\n\
         virtual_server 2001:db8::2 443 {{\n  lb_algo wlc\n  lb_kind DR\n  protocol TCP\n  persistence_timeout 600\n  persistence_granularity 64\n{rs6}}}\n\
         virtual_server 192.0.2.1 80 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout\n{rs}}}\n\
         virtual_server 192.0.2.2 80 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout 30\n  persistence_granularity 255.255.255.0\n{rs}}}\n\
         virtual_server fwmark 8 {{\n  ip_family inet6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n{rs6}}}\n"
    );
    out.push(("gen-ipv6-persistence".into(), t));
    // Sorry server (quorum down at start with alpha), inhibit.
    let t = "virtual_server 192.0.2.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  alpha\n  sorry_server 198.51.100.99 80\n\
             real_server 198.51.100.11 80 {\n    TCP_CHECK {\n      connect_timeout 5\n    }\n  }\n}\n\
             virtual_server 192.0.2.2 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  sorry_server 198.51.100.99 80\n  sorry_server_inhibit\n\
             real_server 198.51.100.11 80 {\n    weight 4\n  }\n}\n\
             virtual_server 192.0.2.3 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  alpha\n  inhibit_on_failure\n\
             real_server 198.51.100.11 80 {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 5\n    }\n  }\n\
             real_server 198.51.100.12 80 {\n  }\n}\n"
        .to_string();
    out.push(("gen-sorry-inhibit".into(), t));
    out
}

/// The live-backend scenario's configuration.
const LIVE: &str = "global_defs {\n  router_id LIVE\n}\n\
virtual_server 192.0.2.100 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  sorry_server 198.51.100.99 80\n\
  real_server 198.51.100.11 80 {\n    weight 1\n    HTTP_GET {\n      url {\n        path /\n      }\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n  }\n\
  real_server 198.51.100.12 80 {\n    weight 2\n    inhibit_on_failure\n    HTTP_GET {\n      url {\n        path /\n      }\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n  }\n}\n";

const SCRIPT: &str = r#"
set -u
ip() { /usr/sbin/ip "$@"; }
REAL=/usr/sbin/keepalived
OURS=/usr/local/bin/keepalived
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
up() { cut -d' ' -f1 /proc/uptime; }
tbl() { ipvsadm -Sn | sort; }
# Wait until the table is non-empty and unchanged for 0.3 s (at most 10 s).
settle() {
  i=0; prev=x
  while [ $i -lt 100 ]; do
    cur=$(tbl)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then return 0; fi
    prev=$cur; sleep 0.3; i=$((i+1))
  done
  return 1
}
start() { # bin conf tag [extra]
  b=$1; c=$2; t=$3; shift 3
  $b -n -l -C -f "$c" -p /tmp/$t.pid -c /tmp/$t.c.pid -r /tmp/$t.r.pid "$@" > /tmp/$t.log 2>&1 &
  PID=$!
}
stop() { kill -TERM "$1" 2>/dev/null; i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; wait "$1" 2>/dev/null; }

echo "== (a) table parity"
for c in /guest/cfg/*.conf; do
  n=$(basename "$c" .conf)
  ipvsadm -C
  start $REAL "$c" ref; settle; tbl > /tmp/ref.txt; stop $PID
  ipvsadm -C
  start $OURS "$c" ours; settle; tbl > /tmp/ours.txt; stop $PID
  after=$(ipvsadm -Sn | wc -l)
  if [ -s /tmp/ref.txt ] && diff /tmp/ref.txt /tmp/ours.txt > /tmp/d.txt; then
    ok "table $n ($(wc -l < /tmp/ref.txt) rules)"
  else
    fail "table $n"; cat /tmp/d.txt; echo "-- ref"; cat /tmp/ref.txt; echo "-- ours log"; tail -20 /tmp/ours.log
  fi
  [ "$after" = 0 ] && ok "stop removed our services ($n)" || { fail "services left after stop ($n)"; ipvsadm -Sn; }
done

echo "== (b) live backends"
ipvsadm -C
ip addr add 198.51.100.11/32 dev lo
ip addr add 198.51.100.12/32 dev lo
mkdir -p /www/a /www/b; echo a > /www/a/index.html; echo b > /www/b/index.html
busybox httpd -f -p 198.51.100.11:80 -h /www/a & H1=$!
busybox httpd -f -p 198.51.100.12:80 -h /www/b & H2=$!
sleep 0.3
want1='-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1'
want2='-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 2'
has() { ipvsadm -Sn | grep -q -- "$1"; }
both() { has "$want1" && has "$want2"; }
not_rs1() { ! has "198.51.100.11:80"; }
# wait_for "desc" cond... : polls 0.1 s up to $LIMIT tenths (default 200), prints the time taken.
wait_for() {
  d=$1; shift; t0=$(up); i=0; lim=${LIMIT:-200}; LIMIT=200
  while [ $i -lt $lim ]; do
    if "$@"; then ok "$d ($(awk -v a=$t0 -v b=$(up) 'BEGIN{printf "%.2f s", b-a}'))"; return 0; fi
    sleep 0.1; i=$((i+1))
  done
  fail "$d"; ipvsadm -Sn; tail -30 /tmp/live.log; return 1
}
# Reference: keepalived 2.2.7 on the same scenario (removal time).
start $REAL /guest/live.conf ref -D
RPID=$PID
wait_for "keepalived 2.2.7: both real servers in the table" both
kill $H1; wait $H1 2>/dev/null
wait_for "keepalived 2.2.7: stopped backend removed" not_rs1
busybox httpd -f -p 198.51.100.11:80 -h /www/a & H1=$!
wait_for "keepalived 2.2.7: backend back" both
stop $RPID
ipvsadm -C
start $OURS /guest/live.conf live -D
KPID=$PID
settle
wait_for "both real servers in the table" both
kill $H1; wait $H1 2>/dev/null
# delay_loop 1 + connect_timeout 1 (+ TCG slack)
LIMIT=40 wait_for "stopped backend removed" not_rs1
grep -q "Removing service \[198.51.100.11\]:tcp:80 from VS \[192.0.2.100\]:tcp:80" /tmp/live.log && ok "log: Removing service" || fail "log: Removing service"
kill $H2; wait $H2 2>/dev/null
rs2_w0() { has '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 0'; }
LIMIT=40 wait_for "inhibit_on_failure backend at weight 0" rs2_w0
sorry() { has '-a -t 192.0.2.100:80 -r 198.51.100.99:80 -m -w 1'; }
wait_for "all down: sorry server in" sorry
busybox httpd -f -p 198.51.100.11:80 -h /www/a & H1=$!
back() { has "$want1" && ! has "198.51.100.99:80"; }
LIMIT=40 wait_for "backend back: re-added, sorry server out" back
busybox httpd -f -p 198.51.100.12:80 -h /www/b & H2=$!
wait_for "inhibited backend back at weight 2" both
settle
tbl > /tmp/before.txt
lines_before=$(wc -l < /tmp/live.log)
kill -HUP $KPID
sleep 3
tbl > /tmp/after.txt
if diff /tmp/before.txt /tmp/after.txt >/dev/null; then ok "reload with the same config: table unchanged"; else fail "reload changed the table"; diff /tmp/before.txt /tmp/after.txt; fi
tail -n +$((lines_before+1)) /tmp/live.log | grep -E "Removing service|Adding service|Disabling|Enabling" && fail "reload logged table changes" || ok "reload logged no table change"
CPID=$(cat /tmp/live.c.pid)
kill -KILL $CPID
respawned() { [ -f /tmp/live.c.pid ] && [ "$(cat /tmp/live.c.pid)" != "$CPID" ] && kill -0 "$(cat /tmp/live.c.pid)" 2>/dev/null; }
wait_for "checker child respawned" respawned
sleep 3
tbl > /tmp/adopt.txt
if diff /tmp/before.txt /tmp/adopt.txt >/dev/null; then ok "respawned child adopted the table"; else fail "table changed across the respawn"; diff /tmp/before.txt /tmp/adopt.txt; fi
stop $KPID
[ -z "$(ipvsadm -Sn)" ] && ok "SIGTERM removed our services" || { fail "services left at stop"; ipvsadm -Sn; }
start $OURS /guest/live.conf live2 -I
settle
stop $PID
[ -n "$(ipvsadm -Sn)" ] && ok "-I kept the services at stop" || fail "-I: services removed"
echo "== $fails failures"
[ $fails = 0 ]
"#;

#[test]
fn checker_daemon_in_guest() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let bin = rig::keepalived_bin(false);
    let mut files = vec![
        GuestFile::bin(&bin),
        GuestFile::data("/guest/live.conf", LIVE),
    ];
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/samples");
    let mut n_samples = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&samples)
        .expect("etc/samples")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        if !text.contains("virtual_server") {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        files.push(GuestFile::data(&format!("/guest/cfg/sample-{name}"), text));
        n_samples += 1;
    }
    let gen = generated();
    for (name, text) in &gen {
        files.push(GuestFile::data(
            &format!("/guest/cfg/{name}.conf"),
            text.clone(),
        ));
    }
    let r = rig::run_in_guest_timeout(&files, SCRIPT, std::time::Duration::from_secs(900))
        .expect("guest run");
    println!("{}", r.stdout);
    println!(
        "boot+run wall {:.1} s, guest script {:?}..{:?} s",
        r.wall.as_secs_f64(),
        r.guest_ready_s,
        r.guest_done_s
    );
    if r.exit == -1 {
        println!("--- console\n{}", r.console);
    }
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
    assert_eq!(r.exit, 0, "{}", r.stdout);
    let tables = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok: table "))
        .count();
    assert_eq!(tables, n_samples + gen.len(), "{}", r.stdout);
}

/// The generated corpus is valid for keepalived 2.2.7 (`keepalived -t`; 0 =
/// clean, anything else printed). Runs on the host, no daemon started.
#[test]
fn generated_corpus_passes_keepalived_config_test() {
    if !Path::new("/usr/sbin/keepalived").exists() {
        eprintln!("skipped: keepalived 2.2.7 not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut all = generated();
    all.push(("live".into(), LIVE.to_string()));
    for (name, text) in all {
        let p = dir.path().join(format!("{name}.conf"));
        std::fs::write(&p, text).unwrap();
        let out = std::process::Command::new("/usr/sbin/keepalived")
            .arg("-t")
            .arg("-f")
            .arg(&p)
            .output()
            .unwrap();
        let msg = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        // Warnings only for the VS without `protocol` (UDP default) are expected.
        assert!(
            out.status.code() == Some(0) || !msg.contains("rror"),
            "{name}: rc {:?}\n{msg}",
            out.status.code()
        );
        println!("{name}: rc {:?} {}", out.status.code(), msg.trim());
    }
}

/// Benchmark configuration: `n_tcp` TCP_CHECK and `n_http` HTTP_GET real
/// servers (10 per virtual server), delay_loop 1; one sixth refused
/// (closed port) and one sixth timing out (an address behind a dummy
/// interface, connect_timeout 2), the rest answer (busybox httpd).
fn bench_config(n_tcp: usize, n_http: usize) -> String {
    let mut t = String::new();
    let total = n_tcp + n_http;
    let mut i = 0;
    while i < total {
        let vs = i / 10;
        t += &format!(
            "virtual_server 192.0.{}.{} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n",
            10 + vs / 250,
            1 + vs % 250
        );
        for _ in 0..10 {
            if i >= total {
                break;
            }
            let (ip, port) = match i % 6 {
                0 => ("127.0.0.1", 9),
                1 => ("203.0.113.50", 80),
                _ => ("127.0.0.1", 8080),
            };
            let chk = if i < n_tcp {
                format!(
                    "TCP_CHECK {{\n connect_ip {ip}\n connect_port {port}\n connect_timeout 2\n }}"
                )
            } else {
                format!("HTTP_GET {{\n url {{\n path /\n }}\n connect_ip {ip}\n connect_port {port}\n connect_timeout 2\n }}")
            };
            t += &format!(
                " real_server 10.{}.{}.{} 80 {{\n {chk}\n }}\n",
                i / 65536,
                (i / 256) % 256,
                i % 256
            );
            i += 1;
        }
        t += "}\n";
    }
    t
}

/// A reload-time configuration: `n_vs` services with `per` real servers each,
/// no checkers.
fn reload_config(n_vs: usize, per: usize) -> String {
    let mut t = String::new();
    for v in 0..n_vs {
        t += &format!(
            "virtual_server 192.1.{}.{} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n",
            v / 250,
            1 + v % 250
        );
        for r in 0..per {
            let i = v * per + r;
            t += &format!(
                " real_server 10.{}.{}.{} 80 {{\n }}\n",
                i / 65536,
                (i / 256) % 256,
                i % 256
            );
        }
        t += "}\n";
    }
    t
}

const BENCH: &str = r#"
set -u
ip() { /usr/sbin/ip "$@"; }
REAL=/usr/sbin/keepalived
OURS=/usr/local/bin/keepalived
up() { cut -d' ' -f1 /proc/uptime; }
ip link add dummy0 type dummy; ip addr add 203.0.113.1/24 dev dummy0; ip link set dummy0 up
mkdir -p /www; echo ok > /www/index.html
busybox httpd -f -p 127.0.0.1:8080 -h /www &
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pss() { awk '/^Pss:/{print $2}' /proc/$1/smaps_rollup; }
for who in REAL OURS; do
  eval b=\$$who
  ipvsadm -C
  extra=""; [ $who = OURS ] && extra="--child-heartbeat-timeout=600"
  $b -n -l -C -f /guest/bench.conf -p /tmp/b.pid -c /tmp/b.c.pid -r /tmp/b.r.pid $extra > /tmp/bench-$who.log 2>&1 &
  P=$!
  sleep 8
  C=$(cat /tmp/b.c.pid)
  c0=$(cpu $C); t0=$(up)
  sleep 30
  c1=$(cpu $C); t1=$(up)
  echo "bench: $who checker cpu_ticks=$((c1-c0)) over $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}') s, per minute $(awk -v c=$((c1-c0)) -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f s", c/100*60/(b-a)}'), PSS $(pss $C) kB, dests $(ipvsadm -Sn | grep -c '^-a')"
  echo "bench: $who log: $(wc -l < /tmp/bench-$who.log) lines, $(grep -c -E 'Respawning|has not answered' /tmp/bench-$who.log) respawns"
  kill -TERM $P; i=0; while kill -0 $P 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
done
# Reload time of a large configuration (ours): SIGHUP → "Reload finished".
ipvsadm -C
$OURS -n -l -C -f /guest/reload.conf -p /tmp/r.pid -c /tmp/r.c.pid -r /tmp/r.r.pid --child-heartbeat-timeout=600 > /tmp/reload.log 2>&1 &
P=$!
i=0; while [ $i -lt 600 ]; do grep -q "Startup complete" /tmp/reload.log && break; sleep 0.5; i=$((i+1)); done
s0=$(up)
echo "reload: started, $(ipvsadm -Sn | wc -l) rules, startup at $(grep -m1 -n 'Startup complete' /tmp/reload.log | cut -d: -f1)"
t0=$(up); kill -HUP $P
i=0; while [ $i -lt 1200 ]; do grep -q "Reload finished" /tmp/reload.log && break; sleep 0.05; i=$((i+1)); done
t1=$(up)
echo "reload: SIGHUP to 'Reload finished' $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f s", b-a}') (polled every 50 ms), rules $(ipvsadm -Sn | wc -l)"
grep -E "Reload|reload|Respawn|heartbeat" /tmp/reload.log | tail -5
kill -TERM $P; i=0; while kill -0 $P 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
true
"#;

/// The issue's benchmark (ignored by default: minutes under TCG):
/// `cargo test -p keepalived-integration --test ipvs_daemon_vm -- --ignored --nocapture`.
#[test]
#[ignore]
fn checker_benchmark_in_guest() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let n: usize = std::env::var("KA_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let bin = rig::keepalived_bin(false);
    let files = vec![
        GuestFile::bin(&bin),
        GuestFile::data("/guest/bench.conf", bench_config(n, n)),
        GuestFile::data("/guest/reload.conf", reload_config(2 * n, 10)),
    ];
    let r = rig::run_in_guest_timeout(&files, BENCH, std::time::Duration::from_secs(1500))
        .expect("guest run");
    println!("{}", r.stdout);
    println!("boot+run wall {:.1} s", r.wall.as_secs_f64());
    if r.exit == -1 {
        println!("--- console\n{}", r.console);
    }
    assert_eq!(r.exit, 0, "{}", r.stdout);
}
