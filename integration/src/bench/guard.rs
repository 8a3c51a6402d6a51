//! Cleanup on signals: namespaces registered here are emptied (every
//! process inside SIGKILLed by pid) and deleted when SIGINT, SIGTERM or
//! SIGHUP arrives, then the program exits 130. Normal teardown goes through
//! `Drop` of [`crate::bench::topo::Topo`], which unregisters.

use nix::sys::signal::{SigSet, Signal};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static NAMESPACES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Block SIGINT/SIGTERM/SIGHUP in the calling thread (call first in `main`,
/// before any thread exists, so every later thread inherits the mask) and
/// start the thread that waits for them and cleans up. Children started
/// with `std::process::Command` get an empty signal mask again.
pub fn install() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGHUP);
    if set.thread_block().is_err() {
        eprintln!("warning: cannot block signals; Ctrl-C will not clean up");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("cleanup-on-signal".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("\n{sig}: cleaning up namespaces and processes…");
                cleanup_all();
                std::process::exit(130);
            }
        });
    if spawned.is_err() {
        eprintln!("warning: cannot start the signal thread; Ctrl-C will not clean up");
    }
}

/// True once a signal asked us to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Remember a namespace for cleanup on a signal.
pub fn register(ns: &str) {
    if let Ok(mut v) = NAMESPACES.lock() {
        v.push(ns.to_owned());
    }
}

/// Forget a namespace (it was torn down normally).
pub fn unregister(ns: &str) {
    if let Ok(mut v) = NAMESPACES.lock() {
        v.retain(|n| n != ns);
    }
}

/// Pids of the processes in namespace `ns` (`ip netns pids`).
pub fn ns_pids(ns: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// SIGKILL every process in `ns` (twice, for processes forked meanwhile),
/// then delete it.
pub fn destroy_ns(ns: &str) {
    for round in 0..2 {
        let pids = ns_pids(ns);
        if pids.is_empty() {
            break;
        }
        for p in pids {
            if p > 1 && p != std::process::id() as i32 {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        if round == 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
}

/// Destroy every registered namespace (last registered first).
pub fn cleanup_all() {
    let list: Vec<String> = NAMESPACES
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    for ns in list.iter().rev() {
        destroy_ns(ns);
    }
}
