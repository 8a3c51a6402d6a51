//! Non-blocking script runner: spawn, time out, kill the whole process
//! group, reap.
//!
//! The VRRP and checker children own one [`ScriptRunner`] each and drive it
//! from their event loop: [`ScriptRunner::spawn`] returns at once with a
//! [`Handle`]; the loop calls [`ScriptRunner::poll`] when SIGCHLD arrives and
//! when [`ScriptRunner::next_deadline`] is reached, and gets back the
//! [`Finished`] scripts. Nothing here ever waits for a script.
//!
//! What a script gets (keepalived: `system_call_script`, `lib/notify.c`):
//!
//! * its own process group (`setpgid(0, 0)`), so a timeout kills the script
//!   **and everything it started** (`kill(-pgid, …)`);
//! * the configured uid/gid: `setgid`, supplementary groups cleared, `setuid`
//!   (upstream sets the supplementary list to the single gid; we clear it:
//!   the primary gid still applies);
//! * `PR_SET_PDEATHSIG = SIGTERM`, so a script dies with the daemon (the
//!   kernel ties it to the *thread* that spawned: spawn from the loop's
//!   thread, not from a short-lived worker);
//! * stdin, stdout and stderr on `/dev/null`; the working directory `/`;
//! * a minimal environment instead of keepalived's whole environment: see
//!   [`script_environment`].
//!
//! Timeouts follow `vrrp_script_child_thread` (`vrrp/vrrp_scheduler.c`):
//! at the deadline the group gets SIGTERM; [`RunnerOptions::kill_grace`]
//! (2 s upstream) later, SIGKILL; the result says `timed_out`.
//!
//! Reaping uses `waitpid(pid, WNOHANG)` on our own children only, so it
//! cooperates with other code that reaps *its* children by pid. Code that
//! reaps with `waitpid(-1)` would steal our statuses: a child that vanished
//! that way is reported as [`ExitKind::Lost`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid};

use crate::argv::shell_command;

/// The `PATH` scripts run with (keepalived passes its own environment; we
/// pass this fixed, documented value).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How a script is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// `execve(argv[0], argv, env)` directly (keepalived's default since 2.0).
    Direct,
    /// `/bin/sh -c '<argv quoted>'`: used when the line needs a shell, i.e. its
    /// first word starts with `<` or `>` (the `</dev/tcp/host/port` idiom), or
    /// the file has no `#!` and is not a binary (upstream decides this with
    /// libmagic and logs "Please add a #! shebang to script %s").
    Shell,
}

/// One script to run: the argument vector, the identity and the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// `argv[0]` is the program (absolute path preferred), the rest its arguments.
    pub argv: Vec<String>,
    /// User to run as (`script_user`, or the per-script `user`).
    pub uid: u32,
    /// Group to run as.
    pub gid: u32,
    /// Kill the process group after this long; `None` runs without limit.
    pub timeout: Option<Duration>,
    /// Direct exec or through `/bin/sh -c`.
    pub mode: ExecMode,
    /// Extra environment variables, added to [`script_environment`].
    pub env: Vec<(String, String)>,
}

impl ScriptSpec {
    /// A spec running `argv` as the current user with no timeout. The exec
    /// mode is chosen from the line ([`ScriptSpec::mode_for`]).
    pub fn new(argv: Vec<String>) -> Self {
        let mode = Self::mode_for(&argv);
        ScriptSpec {
            argv,
            uid: Uid::effective().as_raw(),
            gid: Gid::effective().as_raw(),
            timeout: None,
            mode,
            env: Vec::new(),
        }
    }

    /// Parses a configured script line (see [`crate::argv::split_script_line`]).
    pub fn from_line(line: &str) -> Result<Self, crate::argv::SplitError> {
        Ok(Self::new(crate::argv::split_script_line(line)?))
    }

    /// Sets the user and group.
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Whether the line itself needs a shell: first word beginning with
    /// `<` or `>` (keepalived's `SC_SYSTEM` case).
    pub fn mode_for(argv: &[String]) -> ExecMode {
        match argv.first() {
            Some(a) if a.starts_with('<') || a.starts_with('>') => ExecMode::Shell,
            _ => ExecMode::Direct,
        }
    }

    /// The command line as a human reads it (for logs).
    pub fn display(&self) -> String {
        shell_command(&self.argv)
    }
}

/// The environment every script starts with (no variable of the daemon's
/// environment leaks into it except the locale and time zone ones listed):
///
/// | variable | value |
/// |---|---|
/// | `PATH` | [`SCRIPT_PATH`] |
/// | `HOME` | `/` |
/// | `LANG`, `LC_ALL`, `TZ` | copied from the daemon when set |
///
/// plus [`ScriptSpec::env`].
pub fn script_environment() -> Vec<(OsString, OsString)> {
    let mut env = vec![
        (OsString::from("PATH"), OsString::from(SCRIPT_PATH)),
        (OsString::from("HOME"), OsString::from("/")),
    ];
    for k in ["LANG", "LC_ALL", "TZ"] {
        if let Some(v) = std::env::var_os(k) {
            env.push((OsString::from(k), v));
        }
    }
    env
}

/// Identifies one spawned script within its [`ScriptRunner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(pub u64);

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Exited with this status (0 = success).
    Exited(i32),
    /// Killed by this signal number.
    Signaled(i32),
    /// Its status was reaped by someone else (`waitpid(-1)` elsewhere).
    Lost,
}

impl fmt::Display for ExitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitKind::Exited(c) => write!(f, "exited with status {c}"),
            ExitKind::Signaled(s) => write!(f, "killed by signal {s}"),
            ExitKind::Lost => f.write_str("status lost"),
        }
    }
}

/// A script that has ended and been reaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The handle [`ScriptRunner::spawn`] returned.
    pub handle: Handle,
    /// The process id (also the process group id) it ran as.
    pub pid: u32,
    /// Exit status or signal.
    pub exit: ExitKind,
    /// Whether the runner killed it for running past its timeout.
    pub timed_out: bool,
    /// Wall time from spawn to reap.
    pub duration: Duration,
}

impl Finished {
    /// Exit status 0 and not timed out.
    pub fn success(&self) -> bool {
        self.exit == ExitKind::Exited(0) && !self.timed_out
    }
}

/// Why a script could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// The spec has an empty argument vector.
    EmptyArgv,
    /// fork/exec failed (`"Error exec-ing command '%s', error %d: %m"` upstream).
    Exec {
        /// `argv[0]`.
        program: String,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::EmptyArgv => f.write_str("script has no command"),
            SpawnError::Exec { program, source } => write!(
                f,
                "Error exec-ing command '{program}', error {}: {source}",
                source.raw_os_error().unwrap_or(0)
            ),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Exec { source, .. } => Some(source),
            SpawnError::EmptyArgv => None,
        }
    }
}

/// Runner settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerOptions {
    /// Time between SIGTERM and SIGKILL of a timed-out group (keepalived: 2 s).
    pub kill_grace: Duration,
    /// Send SIGTERM to running scripts when the daemon dies (keepalived does).
    pub parent_death_signal: bool,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            kill_grace: Duration::from_secs(2),
            parent_death_signal: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillStage {
    Running,
    TermSent,
    KillSent,
}

#[derive(Debug)]
struct Running {
    child: Child,
    program: String,
    started: Instant,
    deadline: Option<Instant>,
    stage: KillStage,
    timed_out: bool,
}

/// Spawns scripts and tracks them until they are reaped. See the module docs.
#[derive(Debug)]
pub struct ScriptRunner {
    opts: RunnerOptions,
    next: u64,
    running: BTreeMap<Handle, Running>,
}

impl Default for ScriptRunner {
    fn default() -> Self {
        Self::new(RunnerOptions::default())
    }
}

impl ScriptRunner {
    /// An empty runner.
    pub fn new(opts: RunnerOptions) -> Self {
        ScriptRunner {
            opts,
            next: 1,
            running: BTreeMap::new(),
        }
    }

    /// Starts `spec` now (fork + exec; does not wait). `now` is the loop's
    /// clock, used for the timeout.
    pub fn spawn(&mut self, spec: &ScriptSpec, now: Instant) -> Result<Handle, SpawnError> {
        let Some(program) = spec.argv.first() else {
            return Err(SpawnError::EmptyArgv);
        };
        let child = match self.command(spec, spec.mode).spawn() {
            // A file without `#!` that is not a binary: keepalived runs such
            // scripts through `/bin/sh -c` ("Please add a #! shebang").
            Err(e) if spec.mode == ExecMode::Direct && e.raw_os_error() == Some(libc::ENOEXEC) => {
                self.command(spec, ExecMode::Shell).spawn()
            }
            other => other,
        }
        .map_err(|source| SpawnError::Exec {
            program: program.clone(),
            source,
        })?;
        let handle = Handle(self.next);
        self.next += 1;
        self.running.insert(
            handle,
            Running {
                child,
                program: program.clone(),
                started: now,
                deadline: spec.timeout.map(|t| now + t),
                stage: KillStage::Running,
                timed_out: false,
            },
        );
        Ok(handle)
    }

    fn command(&self, spec: &ScriptSpec, mode: ExecMode) -> Command {
        let program = spec.argv.first().map(String::as_str).unwrap_or_default();
        let mut cmd = match mode {
            ExecMode::Direct => {
                let mut c = Command::new(program);
                c.args(&spec.argv[1..]);
                c
            }
            ExecMode::Shell => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(shell_command(&spec.argv));
                c
            }
        };
        cmd.env_clear()
            .envs(script_environment())
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Our own process group: a timeout kill reaches the script's children.
        sys::process::new_process_group_on_exec(&mut cmd);
        // No signal blocked (our signalfd mask) or ignored (SIGPIPE).
        sys::process::default_signals_on_exec(&mut cmd);
        if spec.gid != Gid::effective().as_raw() {
            cmd.gid(spec.gid);
        }
        if spec.uid != Uid::effective().as_raw() {
            // std clears the supplementary groups before setuid when it can.
            cmd.uid(spec.uid);
        }
        if self.opts.parent_death_signal {
            sys::process::pdeathsig_on_exec(&mut cmd, Signal::SIGTERM);
        }
        cmd
    }

    /// Number of scripts not yet reaped.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Whether `h` is still running (not yet reaped).
    pub fn is_running(&self, h: Handle) -> bool {
        self.running.contains_key(&h)
    }

    /// The pid of a running script.
    pub fn pid(&self, h: Handle) -> Option<u32> {
        self.running.get(&h).map(|r| r.child.id())
    }

    /// The earliest instant at which [`ScriptRunner::poll`] has a signal to
    /// send; the loop arms a timer for it. `None` when nothing has a deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.running.values().filter_map(|r| r.deadline).min()
    }

    /// Reaps finished scripts and enforces timeouts. Call on SIGCHLD and at
    /// [`ScriptRunner::next_deadline`]. Never blocks.
    pub fn poll(&mut self, now: Instant) -> Vec<Finished> {
        let mut done = Vec::new();
        let grace = self.opts.kill_grace;
        for (h, r) in self.running.iter_mut() {
            if let Some(f) = try_reap(*h, r, now) {
                done.push(f);
                continue;
            }
            // Still running: deadline?
            if let Some(d) = r.deadline {
                if now >= d {
                    let pgid = Pid::from_raw(r.child.id() as i32);
                    let (sig, next, wait) = match r.stage {
                        KillStage::Running => (Signal::SIGTERM, KillStage::TermSent, grace),
                        KillStage::TermSent => (Signal::SIGKILL, KillStage::KillSent, grace),
                        KillStage::KillSent => {
                            log::info!(
                                "Script {} child (PID {}) failed to terminate after kill",
                                r.program,
                                r.child.id()
                            );
                            (
                                Signal::SIGKILL,
                                KillStage::KillSent,
                                Duration::from_secs(10),
                            )
                        }
                    };
                    r.timed_out = true;
                    if let Err(e) = killpg(pgid, sig) {
                        log::info!(
                            "kill -{} of process {}({}) failed with errno {}",
                            sig as i32,
                            r.program,
                            pgid,
                            e as i32
                        );
                    }
                    r.stage = next;
                    r.deadline = Some(now + wait);
                    // The kill may already have ended it.
                    if let Some(f) = try_reap(*h, r, now) {
                        done.push(f);
                    }
                }
            }
        }
        for f in &done {
            self.running.remove(&f.handle);
        }
        done
    }

    /// Hands over a status reaped elsewhere (e.g. by a loop that calls
    /// `waitpid(-1)` on SIGCHLD, such as `sched::reap_children`). Returns the
    /// finished script if `pid` is one of ours; otherwise `None` (the pid
    /// belongs to someone else).
    pub fn child_exited(&mut self, pid: i32, exit: ExitKind, now: Instant) -> Option<Finished> {
        let h = *self
            .running
            .iter()
            .find(|(_, r)| r.child.id() as i32 == pid)?
            .0;
        let r = self.running.remove(&h)?;
        if r.timed_out {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        Some(Finished {
            handle: h,
            pid: pid as u32,
            exit,
            timed_out: r.timed_out,
            duration: now.saturating_duration_since(r.started),
        })
    }

    /// Sends `sig` to the process group of a running script.
    pub fn signal(&self, h: Handle, sig: Signal) -> bool {
        match self.running.get(&h) {
            Some(r) => killpg(Pid::from_raw(r.child.id() as i32), sig).is_ok(),
            None => false,
        }
    }

    /// Kills every running script's group (SIGKILL) and reaps them, blocking
    /// until they are gone. For shutdown and `Drop`.
    pub fn kill_all(&mut self) -> Vec<Finished> {
        let now = Instant::now();
        let mut done = Vec::new();
        for (h, mut r) in std::mem::take(&mut self.running) {
            let _ = killpg(Pid::from_raw(r.child.id() as i32), Signal::SIGKILL);
            r.timed_out = true;
            let exit = match r.child.wait() {
                Ok(st) => exit_kind(st),
                Err(_) => ExitKind::Lost,
            };
            done.push(Finished {
                handle: h,
                pid: r.child.id(),
                exit,
                timed_out: true,
                duration: now.saturating_duration_since(r.started),
            });
        }
        done
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        if !self.running.is_empty() {
            self.kill_all();
        }
    }
}

fn exit_kind(st: std::process::ExitStatus) -> ExitKind {
    if let Some(c) = st.code() {
        ExitKind::Exited(c)
    } else if let Some(s) = st.signal() {
        ExitKind::Signaled(s)
    } else {
        ExitKind::Lost
    }
}

fn try_reap(h: Handle, r: &mut Running, now: Instant) -> Option<Finished> {
    let exit = match r.child.try_wait() {
        Ok(Some(st)) => exit_kind(st),
        Ok(None) => return None,
        // ECHILD: reaped by someone else.
        Err(_) => ExitKind::Lost,
    };
    if r.timed_out {
        // The leader is gone; make sure nothing it started survives the
        // SIGTERM (keepalived does the same after a timed-out script).
        let _ = killpg(Pid::from_raw(r.child.id() as i32), Signal::SIGKILL);
    }
    Some(Finished {
        handle: h,
        pid: r.child.id(),
        exit,
        timed_out: r.timed_out,
        duration: now.saturating_duration_since(r.started),
    })
}

/// Where `argv[0]` resolves when it is a bare name (searched in [`SCRIPT_PATH`]).
pub fn resolve_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name));
    }
    SCRIPT_PATH
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}
