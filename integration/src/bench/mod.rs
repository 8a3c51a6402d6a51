//! Demo and benchmark harness: namespaces, keepalived processes (ours or
//! keepalived 2.2.7), packet capture, address monitor, process CPU/PSS,
//! statistics and reports. Used by `src/bin/demo.rs` and
//! `src/bin/bench_vrrp.rs`; unlike the test harness, nothing here panics on
//! a failed command: errors are [`Error`] values.
//!
//! Safety net: [`guard::install`] turns SIGINT/SIGTERM/SIGHUP into a
//! cleanup (every process in our namespaces killed by pid, namespaces
//! deleted) followed by exit 130. Nothing is created in the root network
//! namespace: links are created from inside the bridge namespace
//! (`ip -n BR link add … peer … netns NODE`), every process runs in a
//! namespace of ours.

pub mod capture;
pub mod guard;
pub mod keepalived;
pub mod procstat;
pub mod report;
pub mod stats;
pub mod topo;

use std::fmt;
use std::io;
use std::process::Command;

/// What went wrong in the demo or benchmark.
#[derive(Debug)]
pub enum Error {
    /// A command could not be started.
    Spawn(String, io::Error),
    /// A command exited non-zero (command line, stderr).
    Cmd(String, String),
    /// Something did not happen in time (what).
    Timeout(String),
    /// File I/O (what, error).
    Io(String, io::Error),
    /// The run was interrupted (signal).
    Interrupted,
    /// Anything else.
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn(c, e) => write!(f, "cannot run {c}: {e}"),
            Error::Cmd(c, e) => write!(f, "{c} failed: {}", e.trim()),
            Error::Timeout(w) => write!(f, "timed out waiting for {w}"),
            Error::Io(w, e) => write!(f, "{w}: {e}"),
            Error::Interrupted => write!(f, "interrupted"),
            Error::Other(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Run `prog args…`, error unless it exits 0; returns stdout.
pub fn run(prog: &str, args: &[&str]) -> Result<String> {
    let line = format!("{prog} {}", args.join(" "));
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| Error::Spawn(line.clone(), e))?;
    if !out.status.success() {
        return Err(Error::Cmd(
            line,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Seconds since the Unix epoch (CLOCK_REALTIME, the clock of tcpdump and
/// `ip -ts monitor` timestamps).
pub fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A small xorshift generator seeded from the clock (random advert phase;
/// no cryptographic use).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock and pid.
    pub fn from_clock() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(t ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}
