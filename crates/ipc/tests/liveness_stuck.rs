//! A process whose loop stops beating is stopped by its own kernel timer
//! (the parent then sees it stopped through waitpid/SIGCHLD), without any
//! help from outside. The test binary re-runs itself as that process.

use keepalived_ipc::liveness::{Beacon, Watch};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

const ROLE: &str = "KA_LIVENESS_STUCK_CHILD";

#[test]
fn a_stuck_loop_is_stopped_by_its_own_timer() {
    if std::env::var_os(ROLE).is_some() {
        // The "child": beat once, then never come back to the loop.
        let (_w, tx) = Watch::new().unwrap();
        let mut b = Beacon::new(tx, Duration::from_millis(50));
        b.set_kill_timer(Duration::from_millis(200)).unwrap();
        let mut sched = sched::Sched::new().unwrap();
        b.kick(&mut sched);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            std::hint::spin_loop(); // stuck
        }
        std::process::exit(0);
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_stuck_loop_is_stopped_by_its_own_timer",
            "--nocapture",
        ])
        .env(ROLE, "1")
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let t = Instant::now();
    let st = waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap();
    let took = t.elapsed();
    assert!(
        matches!(
            st,
            WaitStatus::Stopped(_, nix::sys::signal::Signal::SIGSTOP)
        ),
        "{st:?}"
    );
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    child.kill().unwrap();
    let _ = child.wait();
}
