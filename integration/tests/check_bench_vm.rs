//! Checker benchmark of issue 4, in the qemu guest, ours against keepalived
//! 2.2.7 on the same configurations (ignored by default: minutes under TCG):
//!
//! ```text
//! cargo test -p keepalived-integration --test check_bench_vm -- --ignored --nocapture
//! ```
//!
//! * `N` (`KA_BENCH_N`, default 1000) real servers with TCP_CHECK and N with
//!   HTTP_GET in 20 virtual servers, `delay_loop 1`, connect_timeout 2,
//!   retry 1, delay_before_retry 1; one in six refused (port without a
//!   listener), one in six timing out (SYN dropped): a third dead or timing
//!   out. Reported per implementation: CPU time per minute of the checker
//!   child (utime+stime from `/proc/PID/stat` and the sum of its threads'
//!   `schedstat`), PSS (`smaps_rollup`), the number of destinations left in
//!   the table (must be the alive ones).
//! * Reload of a 2,000-service / 20,000-real-server configuration: SIGHUP →
//!   `Reload complete` in the log (20 ms polling), unchanged and with one
//!   weight edited, plus the checker's CPU for it.
//!
//! The guest script is `vm/bench/check-bench.sh`; the backends are
//! `vm/bench/http-responder.rs` (built here with rustc, static). Our binary is
//! the release static build (`KEEPALIVED_STATIC_BIN` overrides it). Host load
//! average is printed before and after: TCG figures are only comparable as
//! ratios within one run. Environment: `KA_BENCH_WARMUP`, `KA_BENCH_MEASURE`
//! (seconds, default 20 and 60), `KA_BENCH_WHO` (default `REAL OURS`),
//! `KA_BENCH_PHASES` (default `checkers reload`).

#[path = "../vm/rig.rs"]
mod rig;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use rig::GuestFile;

/// Address and port of real server `i`, and whether it is alive.
fn backend(i: usize) -> (String, u16, bool) {
    let (a, b) = (i / 256, i % 256);
    match i % 6 {
        4 => (format!("10.10.{a}.{b}"), 81, false), // refused
        5 => (format!("10.30.{a}.{b}"), 80, false), // SYN dropped
        _ => (format!("10.10.{a}.{b}"), 80, true),
    }
}

/// The checker configuration: `n` TCP_CHECK + `n` HTTP_GET real servers in
/// 20 virtual servers. Returns (text, alive count).
fn bench_config(n: usize) -> (String, usize) {
    let mut t = String::from("global_defs {\n  router_id BENCH\n}\n");
    let per_vs = n.div_ceil(10);
    let mut alive = 0;
    for kind in 0..2 {
        for v in 0..10 {
            let _ = writeln!(
                t,
                "virtual_server 192.0.2.{} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP",
                kind * 10 + v + 1
            );
            for r in 0..per_vs {
                let j = v * per_vs + r;
                if j >= n {
                    break;
                }
                let (addr, port, up) = backend(kind * n + j);
                alive += usize::from(up);
                let check = if kind == 0 {
                    "    TCP_CHECK {\n      connect_timeout 2\n      retry 1\n      delay_before_retry 1\n    }\n"
                } else {
                    "    HTTP_GET {\n      url {\n        path /index.html\n        status_code 200\n      }\n      connect_timeout 2\n      retry 1\n      delay_before_retry 1\n    }\n"
                };
                let _ = write!(
                    t,
                    "  real_server {addr} {port} {{\n    weight 1\n{check}  }}\n"
                );
            }
            t += "}\n";
        }
    }
    (t, alive)
}

/// `services` virtual servers × `per` real servers without checkers.
fn reload_config(services: usize, per: usize) -> String {
    let mut t = String::from("global_defs {\n  router_id RELOAD\n}\n");
    for s in 0..services {
        let _ = writeln!(
            t,
            "virtual_server 100.64.{}.{} 80 {{\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP",
            s / 250,
            1 + s % 250
        );
        for d in 0..per {
            let j = s * per + d;
            let _ = writeln!(
                t,
                "  real_server 10.10.{}.{} 80 {{\n    weight 1\n  }}",
                j / 256,
                j % 256
            );
        }
        t += "}\n";
    }
    t
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn build_responder() -> PathBuf {
    let root = rig::workspace_root();
    let out = root.join("target/static/http-responder");
    let src = root.join("integration/vm/bench/http-responder.rs");
    let st = Command::new("rustc")
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
            "-o",
        ])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("rustc");
    assert!(st.success(), "rustc http-responder failed");
    out
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

#[test]
#[ignore]
fn checker_benchmark_against_keepalived() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let n: usize = env_or("KA_BENCH_N", "1000").parse().unwrap_or(1000);
    let bin = rig::keepalived_bin(true);
    let responder = build_responder();
    let (conf, alive) = bench_config(n);
    let services = 2 * n;
    let script = format!(
        "WHO='{}'\nPHASES='{}'\nWARMUP={}\nMEASURE={}\nEXPECT_ALIVE={alive}\nRELOAD_RULES={}\n{}",
        env_or("KA_BENCH_WHO", "REAL OURS"),
        env_or("KA_BENCH_PHASES", "checkers reload"),
        env_or("KA_BENCH_WARMUP", "20"),
        env_or("KA_BENCH_MEASURE", "60"),
        services * 11,
        include_str!("../vm/bench/check-bench.sh")
    );
    let files = vec![
        GuestFile::bin(&bin),
        GuestFile::bin(&responder),
        GuestFile::data("/guest/bench.conf", conf),
        GuestFile::data("/guest/reload.conf", reload_config(services, 10)),
    ];
    println!("host loadavg before: {}", loadavg());
    let r = rig::run_in_guest_timeout(&files, &script, std::time::Duration::from_secs(1200))
        .expect("guest run");
    println!("{}", r.stdout);
    println!("host loadavg after: {}", loadavg());
    println!("boot+run wall {:.1} s", r.wall.as_secs_f64());
    if r.exit == -1 {
        println!("--- console\n{}", r.console);
    }
    assert_eq!(r.exit, 0, "{}", r.stdout);
    assert!(r.stdout.contains("bench done"), "{}", r.stdout);
}
