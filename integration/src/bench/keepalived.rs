//! One keepalived (ours or 2.2.7) in a node namespace: `-n -l -D -P` with
//! its own `-p -r -c -b` pid files and a log file in the scratch directory.

use super::topo::Topo;
use super::{now_epoch, Error, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// keepalived-rs.
    Ours,
    /// Debian's keepalived 2.2.7 (`/usr/sbin/keepalived`).
    Theirs,
}

impl Impl {
    /// Short label for tables: `ours` / `keepalived`.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Theirs => "keepalived",
        }
    }
}

/// Path of keepalived 2.2.7.
pub const THEIRS_BIN: &str = "/usr/sbin/keepalived";

/// A running keepalived.
#[derive(Debug)]
pub struct Keepalived {
    /// Implementation.
    pub which: Impl,
    /// Node number (1-based).
    pub node: usize,
    child: Option<Child>,
    /// Log file (stdout + stderr of `-l`).
    pub log: PathBuf,
    pidfile: PathBuf,
    vrrp_pidfile: PathBuf,
    /// When it was spawned (epoch seconds).
    pub started_at: f64,
    pids_seen: Vec<i32>,
}

fn read_pid(p: &Path) -> Option<i32> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

impl Keepalived {
    /// Write `conf` as `<tag>.conf` and start `bin` on node `n`; waits until
    /// both pid files (parent, VRRP child) exist.
    pub fn start(
        topo: &Topo,
        n: usize,
        which: Impl,
        bin: &Path,
        conf: &str,
        tag: &str,
    ) -> Result<Keepalived> {
        let d = &topo.dir;
        let cfg = d.join(format!("{tag}.conf"));
        fs::write(&cfg, conf).map_err(|e| Error::Io(cfg.display().to_string(), e))?;
        let log = d.join(format!("{tag}.log"));
        let logf = fs::File::create(&log).map_err(|e| Error::Io(log.display().to_string(), e))?;
        let logf2 = logf
            .try_clone()
            .map_err(|e| Error::Io(log.display().to_string(), e))?;
        let pidfile = d.join(format!("{tag}.pid"));
        let vrrp_pidfile = d.join(format!("{tag}-vrrp.pid"));
        for f in [&pidfile, &vrrp_pidfile] {
            let _ = fs::remove_file(f);
        }
        let started_at = now_epoch();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", topo.ns(n)]).arg(bin);
        if which == Impl::Ours {
            // Our status socket (no keepalived equivalent) is a fixed path in
            // the shared /run: any client on the machine asking it for status
            // made the parent poll its VRRP child every second for 120 s,
            // which showed up in the idle figures. Off in the benchmark.
            cmd.args(["--status-socket", "none"]);
        }
        let child = cmd
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&cfg)
            .arg("-p")
            .arg(&pidfile)
            .arg("-r")
            .arg(&vrrp_pidfile)
            .arg("-c")
            .arg(d.join(format!("{tag}-chk.pid")))
            .arg("-b")
            .arg(d.join(format!("{tag}-bfd.pid")))
            .stdin(Stdio::null())
            .stdout(logf)
            .stderr(logf2)
            .spawn()
            .map_err(|e| Error::Spawn(bin.display().to_string(), e))?;
        let mut k = Keepalived {
            which,
            node: n,
            child: Some(child),
            log,
            pidfile,
            vrrp_pidfile,
            started_at,
            pids_seen: Vec::new(),
        };
        let t0 = Instant::now();
        while k.parent_pid().is_none() || k.vrrp_pid().is_none() {
            if t0.elapsed() > Duration::from_secs(10) || k.exited() {
                return Err(Error::Other(format!(
                    "{} on node {n} did not start; log:\n{}",
                    which.label(),
                    k.log_text()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        k.pids_seen = [k.parent_pid(), k.vrrp_pid()]
            .into_iter()
            .flatten()
            .collect();
        Ok(k)
    }

    fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Parent pid (from `-p`).
    pub fn parent_pid(&self) -> Option<i32> {
        read_pid(&self.pidfile)
    }

    /// VRRP child pid (from `-r`).
    pub fn vrrp_pid(&self) -> Option<i32> {
        read_pid(&self.vrrp_pidfile)
    }

    /// Parent and VRRP child pids as seen at start.
    pub fn pids(&self) -> &[i32] {
        &self.pids_seen
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Lines of the log containing `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// Wait until the log contains `needle` at least `count` times.
    pub fn wait_log(&self, needle: &str, count: usize, timeout: Duration) -> Result<()> {
        let t0 = Instant::now();
        loop {
            if self.log_text().matches(needle).count() >= count {
                return Ok(());
            }
            if t0.elapsed() > timeout {
                return Err(Error::Timeout(format!(
                    "\"{needle}\" in the log of {} on node {}",
                    self.which.label(),
                    self.node
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM to the parent (graceful stop: a master sends priority 0).
    /// Returns the epoch time of the kill.
    pub fn term(&self) -> f64 {
        let t = now_epoch();
        if let Some(p) = self.parent_pid() {
            let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
        }
        t
    }

    /// A crash: SIGKILL of the VRRP child and the parent together (SIGKILL
    /// of the parent alone is not a crash: the child has PDEATHSIG and
    /// stops gracefully). Returns the epoch time of the kill.
    pub fn crash(&self) -> f64 {
        let (c, p) = (self.vrrp_pid(), self.parent_pid());
        let t = now_epoch();
        for pid in [c, p].into_iter().flatten() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        t
    }

    /// Wait up to `t` for the parent to exit (reaping it).
    pub fn wait_exit(&mut self, t: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < t {
            if self.exited() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// SIGTERM, up to 5 s grace, then SIGKILL of every pid seen; reaps.
    pub fn stop(&mut self) {
        if self.child.is_none() {
            return;
        }
        self.term();
        self.wait_exit(Duration::from_secs(5));
        for &p in &self.pids_seen {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.stop();
    }
}
