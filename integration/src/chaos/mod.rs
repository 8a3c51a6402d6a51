//! The chaos exerciser (issue 6): a seeded, randomised series of faults over
//! a three-node namespace cluster of our keepalived (VRRP and checker
//! children; optionally node 2 runs keepalived 2.2.7), each followed by an
//! audit (one holder per VIP seen from every node and by ARP from a client,
//! every checker's IPVS table equal to the backends' health, no zombies or
//! orphans, fds and RSS flat, no panics in the logs), and crafted VRRP
//! packets for the wire tests.
//!
//! * [`cluster`] — the namespaces, configs, scripts and daemons.
//! * [`backends`] — the real servers (TCP and HTTP listeners that flap) and
//!   the checker table as dumped by `SIGUSR1`.
//! * [`runner`] — [`Fault`]s, the audit, [`run`] with a [`Report`] or a
//!   [`Failure`] that names the seed, the steps and the logs.
//! * [`craft`] — IPv4 + VRRPv2 packets built by hand, sent with a raw socket
//!   from inside a namespace.
//! * [`procs`] — `/proc` walk limited to our namespaces.
//! * [`rng`] — SplitMix64.

pub mod backends;
pub mod cluster;
pub mod craft;
pub mod procs;
pub mod rng;
pub mod runner;

/// Set (e.g. from a signal-waiting thread) to end a run after the current
/// step, so that the namespaces are still torn down.
pub static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub use runner::{Failure, Fault, Options, Report, Runner};

/// Build the cluster and run; the seed is printed first.
pub fn run(opts: Options) -> Result<Report, Box<Failure>> {
    eprintln!("CHAOS_SEED={}", opts.seed);
    let seed = opts.seed;
    let repro = opts.repro();
    let r = Runner::new(opts).map_err(|what| {
        Box::new(Failure {
            seed,
            steps: Vec::new(),
            what,
            logs: String::new(),
            repro,
        })
    })?;
    r.run()
}

/// A seed from the clock (for the "one random seed" run).
pub fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    rng::Rng::new(t ^ u64::from(std::process::id())).next_u64() % 1_000_000
}
