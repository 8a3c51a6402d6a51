//! The chaos exerciser in CI: a fixed seed (20 steps) and one random seed
//! (10 steps, printed), on two clusters in parallel. `CHAOS_SEED=N` runs
//! only seed N; `CHAOS_STEPS=N` changes the step count. SIGHUP storms last
//! 5 s here (60 s in the CLI: `cargo run -p keepalived-integration --bin
//! chaos -- --steps 200 --seed N`).

use keepalived_integration::chaos::{self, Options};
use keepalived_integration::skip_unless_root;

/// The fixed seed of the CI run.
const FIXED_SEED: u64 = 20261122;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

fn run_seed(seed: u64, steps: usize) -> Result<String, String> {
    let opts = Options {
        seed,
        steps,
        storm_secs: 5,
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
    if let Some(seed) = env_u64("CHAOS_SEED") {
        match run_seed(seed, steps.unwrap_or(20)) {
            Ok(r) => eprintln!("{r}"),
            Err(f) => panic!("{f}"),
        }
        return;
    }
    let random = chaos::random_seed();
    eprintln!("fixed seed: CHAOS_SEED={FIXED_SEED}; random seed: CHAOS_SEED={random}");
    let runs: Vec<_> = [
        (FIXED_SEED, steps.unwrap_or(20)),
        (random, steps.unwrap_or(10)),
    ]
    .into_iter()
    .map(|(seed, n)| std::thread::spawn(move || (seed, run_seed(seed, n))))
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
