//! The chaos exerciser, long-running:
//! `cargo run -p keepalived-integration --bin chaos -- --steps 200 --seed N [--storm-secs 60]`.
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
        let val = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), val) {
            ("--seed", Some(v)) => opts.seed = v,
            ("--steps", Some(v)) => opts.steps = v as usize,
            ("--storm-secs", Some(v)) => opts.storm_secs = v,
            _ => {
                eprintln!("usage: chaos [--steps N] [--seed N] [--storm-secs N]");
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
