//! Reload time of a large configuration (2,000 virtual servers × 10 real
//! servers, no checkers) with the in-memory IPVS backend: mapping, engine
//! reload and reconciliation of an unchanged configuration (0 operations).
//! Prints the figures; the bound is loose (debug build, shared CI cores).

use std::time::{Duration, Instant};

use ipc::{ChildFlags, ChildHandler};
use keepalived_check_daemon::backend::{IpvsBackend, MemoryIpvs};
use keepalived_check_daemon::CheckRuntime;
use sched::Sched;

fn config(n_vs: usize, per: usize) -> String {
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

#[test]
fn reload_of_2000_services_20000_real_servers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(&p, config(2_000, 10)).unwrap();
    let t0 = Instant::now();
    let cfg = config::load(&config::LoadOptions {
        path: p,
        config_id: Some("t".into()),
        lenient: false,
    })
    .unwrap()
    .config;
    let load = t0.elapsed();
    let mem = MemoryIpvs::default();
    let state = mem.state.clone();
    let mut rt = CheckRuntime::with_backend(
        ChildFlags::default(),
        Box::new(move || Ok(Box::new(mem.clone()) as Box<dyn IpvsBackend>)),
    );
    let mut sched = Sched::new().unwrap();
    let t1 = Instant::now();
    rt.configure(&mut sched, &cfg, false).unwrap();
    let start = t1.elapsed();
    assert_eq!(state.lock().unwrap().ops.len(), 22_000);
    let t2 = Instant::now();
    rt.configure(&mut sched, &cfg, true).unwrap();
    let reload = t2.elapsed();
    assert_eq!(
        state.lock().unwrap().ops.len(),
        22_000,
        "reload changed the table"
    );
    println!(
        "config load {:.0} ms, start (22,000 IPVS operations) {:.0} ms, reload {:.0} ms",
        load.as_secs_f64() * 1e3,
        start.as_secs_f64() * 1e3,
        reload.as_secs_f64() * 1e3
    );
    assert!(reload < Duration::from_secs(5), "reload took {reload:?}");
}
