//! The chaos exerciser in CI, two clusters in parallel:
//! * a fixed seed, three nodes of ours (VRRP and checker children), 16
//!   steps: the first 13 deal every fault kind once;
//! * a random seed (printed), node 2 running keepalived 2.2.7 (VRRP only)
//!   when `/usr/sbin/keepalived` exists, 10 steps.
//!
//! `CHAOS_SEED=N` runs only seed N (`CHAOS_WITH_KEEPALIVED=1` for the
//! 2.2.7 node); `CHAOS_STEPS=N` changes the step count. SIGHUP storms last
//! 5 s here (60 s in the CLI: `cargo run -p keepalived-integration --bin
//! chaos -- --steps 200 --seed N [--with-keepalived]`).

use keepalived_integration::chaos::{self, cluster::UPSTREAM_BIN, Options};
use keepalived_integration::skip_unless_root;

/// The fixed seed of the CI run.
const FIXED_SEED: u64 = 20261122;
/// Steps of the fixed-seed run (every kind is dealt in the first 13).
const FIXED_STEPS: usize = 16;
/// Steps of the random-seed run.
const RANDOM_STEPS: usize = 10;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

fn run_seed(seed: u64, steps: usize, with_keepalived: bool) -> Result<String, String> {
    let opts = Options {
        seed,
        steps,
        storm_secs: 5,
        with_keepalived,
        ..Options::default()
    };
    chaos::run(opts)
        .map(|r| r.to_string())
        .map_err(|f| f.to_string())
}

#[test]
fn chaos_fixed_and_random_seed() {
    if skip_unless_root("chaos_fixed_and_random_seed") {
        return;
    }
    let steps = env_u64("CHAOS_STEPS").map(|v| v as usize);
    let upstream = std::path::Path::new(UPSTREAM_BIN).exists();
    if let Some(seed) = env_u64("CHAOS_SEED") {
        let with = env_u64("CHAOS_WITH_KEEPALIVED") == Some(1);
        match run_seed(seed, steps.unwrap_or(FIXED_STEPS), with) {
            Ok(r) => eprintln!("{r}"),
            Err(f) => panic!("{f}"),
        }
        return;
    }
    let random = chaos::random_seed();
    eprintln!(
        "fixed seed: CHAOS_SEED={FIXED_SEED}; random seed: CHAOS_SEED={random} CHAOS_STEPS={}{}",
        steps.unwrap_or(RANDOM_STEPS),
        if upstream {
            " CHAOS_WITH_KEEPALIVED=1"
        } else {
            " (no keepalived 2.2.7 here: ours only)"
        }
    );
    let runs: Vec<_> = [
        (FIXED_SEED, steps.unwrap_or(FIXED_STEPS), false),
        (random, steps.unwrap_or(RANDOM_STEPS), upstream),
    ]
    .into_iter()
    .map(|(seed, n, with)| std::thread::spawn(move || (seed, run_seed(seed, n, with))))
    .collect();
    let mut failed = Vec::new();
    for h in runs {
        match h.join() {
            Ok((_, Ok(r))) => eprintln!("{r}"),
            Ok((seed, Err(f))) => {
                eprintln!("{f}");
                failed.push(seed);
            }
            Err(_) => failed.push(0),
        }
    }
    assert!(
        failed.is_empty(),
        "chaos failed for seed(s) {failed:?} (see above)"
    );
}
