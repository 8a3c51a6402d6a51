//! Heap profile of the VRRP runtime on a configuration, in process (no
//! parent: the configuration is loaded here). Run it in a network namespace
//! that has the configuration's interfaces — its sockets, VIPs and adverts
//! are real:
//!
//! ```text
//! ip netns add ka-mem; ip -n ka-mem link set lo up
//! ip -n ka-mem link add eth0 type veth peer name peer0
//! ip -n ka-mem link set eth0 up; ip -n ka-mem link set peer0 up
//! ip -n ka-mem addr add 192.0.2.11/24 dev eth0
//! ip netns exec ka-mem target/debug/examples/mem_profile FILE [SECONDS]
//! ip netns del ka-mem
//! ```
//!
//! Prints the anonymous memory (`smaps_rollup`) and the `[heap]` RSS after
//! each phase: configuration loaded, runtime configured
//! (configuration dropped, as the child does), after SECONDS of running,
//! after `malloc_trim`. The difference between "before configure" and
//! "running" is what the runtime keeps. With `--forget` the runtime is
//! leaked at exit so that a heap profiler (heaptrack) reports what it held.

use std::time::{Duration, Instant};

use ipc::{ChildFlags, ChildHandler};
use keepalived_vrrp_daemon::VrrpRuntime;
use sched::Sched;

fn report(what: &str) -> i64 {
    let anon = sys::mem::self_rollup_kb("Anonymous:");
    println!(
        "{what:<30} Anonymous {anon:>6} kB  [heap] RSS {:>6} kB",
        sys::mem::self_heap_rss_kb()
    );
    i64::try_from(anon).unwrap_or(i64::MAX)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: mem_profile FILE [SECONDS] [--forget]");
        std::process::exit(2);
    };
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let forget = args.iter().any(|a| a == "--forget");
    let mut sched = Sched::new().unwrap_or_else(|e| {
        eprintln!("sched: {e}");
        std::process::exit(1)
    });
    let base = report("start");
    let cfg = match config::load(&config::LoadOptions {
        path: path.into(),
        config_id: None,
        lenient: false,
    }) {
        Ok(l) => l.config,
        Err(f) => {
            eprintln!("{:?}", f.diagnostics);
            std::process::exit(1);
        }
    };
    let n = cfg.vrrp_instances.len();
    report("config loaded");
    let mut rt = VrrpRuntime::new(ChildFlags::default());
    let t = Instant::now();
    if let Err(e) = rt.configure(&mut sched, &cfg, false) {
        eprintln!("configure: {e}");
        std::process::exit(1);
    }
    let took = t.elapsed();
    drop(cfg);
    let after = report("configured, config dropped");
    println!("configure took {took:?}");
    let end = Instant::now() + Duration::from_secs(secs);
    let mut events = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        events.clear();
        if sched.wait(&mut events, Some(end - now)).is_err() {
            break;
        }
        for ev in &events {
            rt.event(&mut sched, ev);
        }
    }
    drop(events);
    let run = report(&format!("after {secs} s"));
    sys::mem::trim_heap();
    report("after malloc_trim");
    println!(
        "{n} instances: runtime anonymous memory {} kB after configure, {} kB running ({} B per instance incl. fixed)",
        after - base,
        run - base,
        (run - base) * 1024 / i64::try_from(n.max(1)).unwrap_or(1)
    );
    if forget {
        std::mem::forget(rt);
        std::mem::forget(sched);
    } else {
        rt.shutdown(&mut sched);
    }
}
