//! Memory and time profile of the checker runtime on a configuration, in
//! process, IPVS in memory (no parent: the configuration is loaded here).
//! Run it in a network namespace — its probes are real:
//!
//! ```text
//! ip netns add ka-mem; ip -n ka-mem link set lo up
//! ip netns exec ka-mem target/release/examples/mem_profile FILE [SECONDS] [--reload N]
//! ```
//!
//! Prints PSS/heap after each phase (config load, configure, probing for
//! SECONDS) and, with `--reload N`, the time of N reloads of the same file
//! split into load and configure. With `MEM_PROFILE_LEAK=1` the runtime is
//! not freed at exit, so under `heaptrack` the "leaked" memory is the
//! runtime's live set after probing (the configuration is dropped after
//! `configure`, as in the daemon).

use std::time::{Duration, Instant};

use ipc::{ChildFlags, ChildHandler};
use keepalived_check_daemon::backend::{IpvsBackend, MemoryIpvs};
use keepalived_check_daemon::{drive, CheckRuntime};
use sched::Sched;

fn report(what: &str) {
    println!(
        "{what:<28} PSS {:>7} kB  heap RSS {:>7} kB",
        sys::mem::self_rollup_kb("Pss:"),
        sys::mem::self_heap_rss_kb()
    );
}

fn load(path: &str) -> config::Config {
    config::load(&config::LoadOptions {
        path: path.into(),
        config_id: None,
        lenient: false,
    })
    .unwrap_or_else(|f| panic!("{:?}", f.diagnostics))
    .config
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: mem_profile FILE [SECONDS] [--reload N]");
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let reloads: usize = args
        .iter()
        .position(|a| a == "--reload")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    report("start");
    let t = Instant::now();
    let cfg = load(path);
    println!("config load {:?}", t.elapsed());
    report("config loaded");
    // What ipc does with it: JSON out in the parent, JSON in in the child.
    let t = Instant::now();
    let json = serde_json::to_string(&cfg).expect("json");
    let ser = t.elapsed();
    let t = Instant::now();
    let back: config::Config = serde_json::from_str(&json).expect("json");
    println!(
        "config as JSON: {} bytes, serialise {:?}, deserialise {:?}",
        json.len(),
        ser,
        t.elapsed()
    );
    drop((json, back));
    let mem = MemoryIpvs::default();
    let mut rt = CheckRuntime::with_backend(
        ChildFlags::default(),
        Box::new(move || Ok(Box::new(mem.clone()) as Box<dyn IpvsBackend>)),
    );
    let mut sched = Sched::new().expect("sched");
    let t = Instant::now();
    rt.configure(&mut sched, &cfg, false).expect("configure");
    println!(
        "configure (start) {:?}, {} IPVS ops",
        t.elapsed(),
        rt.ipvs_ops()
    );
    // The daemon keeps no configuration after configure (ipc drops it).
    drop(cfg);
    sys::mem::trim_heap();
    report("configured");
    drive(&mut sched, &mut rt, Duration::from_secs(secs));
    report(&format!("after {secs} s of probes"));
    sys::mem::trim_heap();
    report("after malloc_trim");
    for i in 0..reloads {
        let t = Instant::now();
        let c = load(path);
        let l = t.elapsed();
        let t = Instant::now();
        rt.configure(&mut sched, &c, true).expect("reload");
        println!(
            "reload {i}: load {:?} configure {:?} ops {}",
            l,
            t.elapsed(),
            rt.ipvs_ops()
        );
    }
    if reloads > 0 {
        report("after reloads");
    }
    // Under heaptrack, what is still allocated at exit is the runtime's
    // live set ("leaked" = kept by the checker after probing).
    if std::env::var_os("MEM_PROFILE_LEAK").is_some() {
        std::mem::forget(rt);
        std::mem::forget(sched);
    }
}
