//! Our keepalived running in a namespace, with its own pid files and log
//! files in a temporary directory (never `/run`), killed on `Drop`.

use crate::netns::Netns;
use crate::wait::wait_for;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Path of our `keepalived` binary: `$KEEPALIVED_BIN`, else built once per
/// test process with `cargo build -p keepalived` into the workspace target
/// dir (debug profile).
pub fn keepalived_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("KEEPALIVED_BIN") {
            return PathBuf::from(p);
        }
        let root = workspace_root();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .current_dir(&root)
            .args(["build", "-q", "-p", "keepalived"])
            .status()
            .expect("run cargo build -p keepalived");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join("debug").join("keepalived");
        // In a tree others are editing, a failed build with an existing binary
        // still lets the process tests run (on the last good build).
        assert!(
            status.success() || bin.exists(),
            "cargo build -p keepalived failed"
        );
        if !status.success() {
            eprintln!(
                "WARNING: cargo build -p keepalived failed; testing the existing {}",
                bin.display()
            );
        }
        bin
    })
    .clone()
}

/// Which keepalived process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// The parent.
    Parent,
    /// The VRRP child.
    Vrrp,
    /// The checker child.
    Checker,
}

/// A running keepalived (`-n`, syslog off, pid and log files in `dir`).
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    exit: Option<ExitStatus>,
    /// Temporary directory with `keepalived.conf`, pid files and logs.
    pub dir: tempfile::TempDir,
    seen_pids: Vec<i32>,
}

impl Daemon {
    /// Write `config` to `dir/keepalived.conf` and start keepalived in `ns`
    /// with `-n -G -D -f … -p … -r … -c … -g…` plus `extra` arguments, and
    /// `TMPDIR=dir` so dump files are written there too.
    pub fn start(ns: &Netns, config: &str, extra: &[&str]) -> io::Result<Daemon> {
        Daemon::start_env(ns, config, extra, &[])
    }

    /// [`Daemon::start`] with extra environment variables.
    pub fn start_env(
        ns: &Netns,
        config: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> io::Result<Daemon> {
        let dir = tempfile::Builder::new().prefix("ka-test-").tempdir()?;
        fs::write(dir.path().join("keepalived.conf"), config)?;
        let mut d = Daemon {
            child: None,
            exit: None,
            dir,
            seen_pids: Vec::new(),
        };
        let p = |n: &str| d.path(n).to_string_lossy().into_owned();
        let mut args = vec![
            "-n".to_string(),
            "-G".to_string(),
            "-D".to_string(),
            "-f".to_string(),
            p("keepalived.conf"),
            "-p".to_string(),
            p("keepalived.pid"),
            "-r".to_string(),
            p("vrrp.pid"),
            "-c".to_string(),
            p("checkers.pid"),
            format!("-g{}", p("keepalived.log")),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let console = fs::File::create(d.path("console.log"))?;
        let child = ns
            .command(&keepalived_bin().to_string_lossy())
            .args(&args)
            // Dumps (keepalived*.data, .stats, .json) land in the test directory.
            .env("TMPDIR", d.dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console)
            .spawn()?;
        d.seen_pids.push(child.id() as i32);
        d.child = Some(child);
        Ok(d)
    }

    /// A file in the daemon's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.path("keepalived.conf")
    }

    /// Replace the configuration file (then send SIGHUP to reload).
    pub fn write_config(&self, text: &str) -> io::Result<()> {
        fs::write(self.config_path(), text)
    }

    /// The pid file of `which`.
    pub fn pid_file(&self, which: Proc) -> PathBuf {
        self.path(match which {
            Proc::Parent => "keepalived.pid",
            Proc::Vrrp => "vrrp.pid",
            Proc::Checker => "checkers.pid",
        })
    }

    /// The pid recorded in `which`'s pid file, if any.
    pub fn pid(&mut self, which: Proc) -> Option<i32> {
        let pid = fs::read_to_string(self.pid_file(which))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if !self.seen_pids.contains(&pid) {
            self.seen_pids.push(pid);
        }
        Some(pid)
    }

    /// The pid of the process we spawned (the parent with `-n`).
    pub fn spawned_pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// Wait up to `timeout` for `which` to have a pid file naming a live process.
    pub fn wait_pid(&mut self, which: Proc, timeout: Duration) -> Option<i32> {
        let mut found = None;
        wait_for(timeout, || {
            found = self.pid(which).filter(|p| alive(*p));
            found.is_some()
        });
        found
    }

    /// Everything logged so far: parent, VRRP and checker log files and the console.
    pub fn log(&self) -> String {
        [
            "keepalived.log",
            "keepalived_vrrp.log",
            "keepalived_check.log",
            "console.log",
        ]
        .iter()
        .map(|f| {
            let text = fs::read_to_string(self.path(f)).unwrap_or_default();
            format!("==> {f} <==\n{text}")
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// The parent's log file only.
    pub fn parent_log(&self) -> String {
        fs::read_to_string(self.path("keepalived.log")).unwrap_or_default()
    }

    /// The log file of one child.
    pub fn child_log(&self, which: Proc) -> String {
        let f = match which {
            Proc::Parent => "keepalived.log",
            Proc::Vrrp => "keepalived_vrrp.log",
            Proc::Checker => "keepalived_check.log",
        };
        fs::read_to_string(self.path(f)).unwrap_or_default()
    }

    /// Wait up to `timeout` for `needle` to appear in the logs.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.log().contains(needle))
    }

    /// Send `sig` to `which` (by its pid file).
    pub fn signal(&mut self, which: Proc, sig: nix::sys::signal::Signal) -> io::Result<()> {
        let pid = self
            .pid(which)
            .ok_or_else(|| io::Error::other(format!("no pid file for {which:?}")))?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(io::Error::from)
    }

    /// Wait up to `timeout` for the spawned process to exit; its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_some() {
            return self.exit;
        }
        let child = self.child.as_mut()?;
        let mut status = None;
        wait_for(timeout, || {
            status = child.try_wait().ok().flatten();
            status.is_some()
        });
        self.exit = status;
        status
    }
}

/// True when `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            // State is the field after the parenthesised command name.
            let state = s
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// True when `pid` runs our keepalived binary (guards kills against pid reuse).
pub fn is_keepalived(pid: i32) -> bool {
    fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| {
            p.to_string_lossy()
                .trim_end_matches(" (deleted)")
                .ends_with("/keepalived")
        })
        .unwrap_or(false)
}

/// The parent pid of `pid` (from `/proc`).
pub fn ppid(pid: i32) -> Option<i32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for which in [Proc::Parent, Proc::Vrrp, Proc::Checker] {
            let _ = self.pid(which);
        }
        for &pid in &self.seen_pids {
            if pid > 0 && alive(pid) && is_keepalived(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() || std::env::var_os("KA_TEST_KEEP_LOGS").is_some() {
            eprintln!(
                "---- logs of {} ----\n{}",
                self.dir.path().display(),
                self.log()
            );
        }
    }
}
