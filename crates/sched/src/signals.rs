//! Reading the signalfd and naming signals.

use crate::Event;
use nix::sys::signalfd::SignalFd;

/// One delivered signal (from `struct signalfd_siginfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalInfo {
    /// Signal number (real-time signals included).
    pub signo: i32,
    /// Sender pid (for SIGCHLD: the child).
    pub pid: u32,
    /// Sender uid.
    pub uid: u32,
    /// `si_code` (e.g. `SI_USER`, `CLD_EXITED`).
    pub code: i32,
    /// For SIGCHLD: exit status or signal.
    pub status: i32,
}

pub(crate) fn drain(fd: &SignalFd, out: &mut Vec<Event>) {
    while let Ok(Some(si)) = fd.read_signal() {
        out.push(Event::Signal(SignalInfo {
            signo: si.ssi_signo as i32,
            pid: si.ssi_pid,
            uid: si.ssi_uid,
            code: si.ssi_code,
            status: si.ssi_status,
        }));
    }
}

/// `SIGTERM`, `SIGRTMIN+2`, … for logs.
pub fn signal_name(sig: i32) -> String {
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
        return s.as_str().to_string();
    }
    let min = sys::process::sigrtmin();
    let max = sys::process::sigrtmax();
    if sig == min {
        "SIGRTMIN".into()
    } else if sig == max {
        "SIGRTMAX".into()
    } else if sig > min && sig < max {
        if sig - min <= max - sig {
            format!("SIGRTMIN+{}", sig - min)
        } else {
            format!("SIGRTMAX-{}", max - sig)
        }
    } else {
        format!("signal {sig}")
    }
}
