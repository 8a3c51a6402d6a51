//! Smoke test of the README demo (root; skipped otherwise): the demo binary
//! in `--short` mode (SIGTERM failover only) prints a measured failover
//! time and leaves no namespace behind.

use keepalived_integration::{keepalived_bin, skip_unless_root};
use std::process::Command;

#[test]
fn demo_prints_failover_and_cleans_up() {
    if skip_unless_root("demo_prints_failover_and_cleans_up") {
        return;
    }
    let prefix = format!("kdsmoke-{}", std::process::id());
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--short", "--prefix", &prefix, "--keepalived"])
        .arg(keepalived_bin())
        .output()
        .expect("run the demo binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("node1 is MASTER"), "{stdout}");
    assert!(stdout.contains("Entering MASTER STATE"), "{stdout}");
    // ">>> failover after SIGTERM: 0.650 s (…)"
    let secs: f64 = stdout
        .lines()
        .find_map(|l| {
            l.split_once("failover after SIGTERM: ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no failover time printed:\n{stdout}"));
    // advert_int 1, backup priority 90: skew time 0.648 s; allow for load.
    assert!((0.6..2.0).contains(&secs), "failover {secs} s:\n{stdout}");
    assert!(stdout.contains("cleaned up"), "{stdout}");
    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(!list.contains(&prefix), "namespaces left behind:\n{list}");
}
