//! Shared fixture of the namespace tests (root only): two network
//! namespaces `<prefix>-<pid>-<n>-{a,b}` joined by a veth pair (`va` in A,
//! `vb` in B; 02:00:00:00:0b:01 / :02, 192.0.2.1/24 and 192.0.2.2/24),
//! deleted by a Drop guard, and threads that `setns()` into one of them (the
//! network namespace is per thread).
#![allow(dead_code)] // each test file uses its own subset

use std::fs::File;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces and a veth between them; deleted on drop.
pub struct Pair {
    pub a: String,
    pub b: String,
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The pair of namespaces, or `None` (with a message) when not root.
pub fn setup(prefix: &str) -> Option<Pair> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: namespace tests need root");
        return None;
    }
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let base = format!("{prefix}-{}-{n}", std::process::id());
    let p = Pair {
        a: format!("{base}-a"),
        b: format!("{base}-b"),
    };
    run(&["ip", "netns", "add", &p.a]);
    run(&["ip", "netns", "add", &p.b]);
    run(&[
        "ip", "link", "add", "va", "netns", &p.a, "type", "veth", "peer", "name", "vb", "netns",
        &p.b,
    ]);
    for (ns, dev, mac, ip) in [
        (&p.a, "va", "02:00:00:00:0b:01", "192.0.2.1/24"),
        (&p.b, "vb", "02:00:00:00:0b:02", "192.0.2.2/24"),
    ] {
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        run(&["ip", "-n", ns, "link", "set", dev, "address", mac]);
        run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        run(&["ip", "-n", ns, "addr", "add", ip, "dev", dev]);
    }
    Some(p)
}

/// Runs `f` on a new thread that has entered namespace `ns`.
pub fn spawn_in<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("setns CLONE_NEWNET");
        f()
    })
}

/// Runs `f` on a thread inside namespace `ns` and returns its result.
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    match spawn_in(ns, f).join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}
