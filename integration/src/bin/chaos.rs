//! The chaos exerciser, long-running:
//! `cargo run -p keepalived-integration --bin chaos -- --steps 200 --seed N [--storm-secs 60] [--with-keepalived]`.
//! `--with-keepalived`: node 2 runs keepalived 2.2.7 (`/usr/sbin/keepalived
//! -P`) instead of ours.
//! Needs root (network namespaces). Exit 0 when every audit passed, 1 on a
//! failed audit (the seed, the steps and the logs are printed), 2 on usage.

use keepalived_integration::chaos::{self, Options};

fn main() {
    let mut opts = Options {
        seed: chaos::random_seed(),
        steps: 200,
        storm_secs: 60,
        ..Options::default()
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--with-keepalived" {
            opts.with_keepalived = true;
            i += 1;
            continue;
        }
        if args[i] == "--deal" {
            // Kinds (1..=13, see `Fault::draw_kind`) dealt first, e.g. 11,12,13.
            let kinds: Option<Vec<u64>> = args
                .get(i + 1)
                .and_then(|v| v.split(',').map(|k| k.parse().ok()).collect());
            match kinds {
                Some(k) if k.iter().all(|&k| k <= chaos::Fault::KINDS) => opts.deal = Some(k),
                _ => {
                    eprintln!("chaos: --deal wants kinds 0..={}", chaos::Fault::KINDS);
                    std::process::exit(2);
                }
            }
            i += 2;
            continue;
        }
        let val = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), val) {
            ("--seed", Some(v)) => opts.seed = v,
            ("--steps", Some(v)) => opts.steps = v as usize,
            ("--storm-secs", Some(v)) => opts.storm_secs = v,
            _ => {
                eprintln!("usage: chaos [--steps N] [--seed N] [--storm-secs N] [--with-keepalived] [--deal K,K,...]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    if !keepalived_integration::is_root() {
        eprintln!("chaos: needs root (network namespaces)");
        std::process::exit(2);
    }
    // SIGINT/SIGTERM end the run after the current step (the namespaces and
    // daemons are then torn down): blocked here, before any thread exists,
    // and waited for by one thread.
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGINT);
    set.add(nix::sys::signal::Signal::SIGTERM);
    if set.thread_block().is_ok() {
        std::thread::spawn(move || {
            if let Ok(sig) = set.wait() {
                eprintln!("chaos: {sig} - stopping after this step");
                chaos::STOP.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    match chaos::run(opts) {
        Ok(r) => println!("{r}"),
        Err(f) => {
            eprintln!("{f}");
            std::process::exit(1);
        }
    }
}
