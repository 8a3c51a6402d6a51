//! The chaos exerciser in CI: a fixed seed (25 steps) and one random seed
//! (printed; `CHAOS_SEED=N` replaces both with N, `CHAOS_STEPS=N` changes
//! the step count). SIGHUP storms last 5 s here (60 s in the CLI).

use keepalived_integration::chaos::{self, Options};
use keepalived_integration::skip_unless_root;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

fn run_seed(seed: u64, steps: usize) {
    let opts = Options {
        seed,
        steps,
        storm_secs: 5,
        ..Options::default()
    };
    match chaos::run(opts) {
        Ok(r) => eprintln!("{r}"),
        Err(f) => panic!("{f}"),
    }
}

#[test]
fn chaos_fixed_and_random_seed() {
    if skip_unless_root("chaos_fixed_and_random_seed") {
        return;
    }
    let steps = env_u64("CHAOS_STEPS").map_or(25, |v| v as usize);
    if let Some(seed) = env_u64("CHAOS_SEED") {
        run_seed(seed, steps);
        return;
    }
    run_seed(20261122, steps);
    let seed = chaos::random_seed();
    eprintln!("random seed: CHAOS_SEED={seed}");
    run_seed(seed, steps.min(10));
}
