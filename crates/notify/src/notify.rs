//! VRRP notifications: the `notify*` scripts, run per instance in event
//! order, and the `notify_fifo` lines.
//!
//! keepalived (`vrrp/vrrp_notify.c`) forks every notify script the moment the
//! state changes and never waits, so a fast MASTER→BACKUP→MASTER flap can run
//! the scripts out of order (keepalived issues 1055, 996, 2158). Here each
//! queue (one per VRRP instance, one per sync group) runs its scripts one
//! after the other, in the order the events happened, each with a timeout and
//! a process-group kill. Different queues run in parallel.
//!
//! Arguments and lines are keepalived's:
//!
//! * the state script (`notify_master` …) gets only its configured arguments;
//! * the generic `notify` script gets four more: `INSTANCE|GROUP`, the name,
//!   `MASTER|BACKUP|FAULT|STOP|DELETED`, and the priority (0 for a group);
//! * the FIFO line is `INSTANCE "VI_1" MASTER 100\n` (also
//!   `MASTER_RX_LOWER_PRI`, `MASTER_PRIORITY`, `BACKUP_PRIORITY` events).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::stat::Mode;

use crate::runner::{Finished, Handle, RunnerOptions, ScriptRunner, ScriptSpec, SpawnError};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    /// A `vrrp_instance`.
    Instance,
    /// A `vrrp_sync_group`.
    Group,
}

impl NotifyKind {
    /// `INSTANCE` or `GROUP`, as in the script arguments and FIFO lines.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Instance => "INSTANCE",
            NotifyKind::Group => "GROUP",
        }
    }
}

/// A state (or event) being notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// Entered MASTER.
    Master,
    /// Entered BACKUP.
    Backup,
    /// Entered FAULT.
    Fault,
    /// Stopping (shutdown).
    Stop,
    /// Removed by a reload (only with `notify_deleted`; otherwise FAULT is sent).
    Deleted,
    /// A master received an advert with a lower priority (FIFO and
    /// `notify_master_rx_lower_pri` only).
    MasterRxLowerPri,
    /// A master's effective priority changed (FIFO only).
    MasterPriority,
    /// A backup's effective priority changed (FIFO only).
    BackupPriority,
}

impl NotifyState {
    /// The word keepalived writes.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }

    /// Whether this is a state change (as opposed to an event that only
    /// goes to the FIFO).
    pub fn is_state(self) -> bool {
        matches!(
            self,
            NotifyState::Master
                | NotifyState::Backup
                | NotifyState::Fault
                | NotifyState::Stop
                | NotifyState::Deleted
        )
    }
}

impl fmt::Display for NotifyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four arguments appended to the generic `notify` script:
/// `INSTANCE|GROUP NAME STATE PRIORITY`.
pub fn notify_args(kind: NotifyKind, name: &str, state: NotifyState, priority: u8) -> [String; 4] {
    [
        kind.as_str().to_string(),
        name.to_string(),
        state.as_str().to_string(),
        priority.to_string(),
    ]
}

/// One FIFO line, newline included: `INSTANCE "VI_1" MASTER 100\n`.
pub fn fifo_line(kind: NotifyKind, name: &str, state: NotifyState, priority: u8) -> String {
    format!(
        "{} \"{}\" {} {}\n",
        kind.as_str(),
        name,
        state.as_str(),
        priority
    )
}

/// The notify scripts of one instance or sync group (parsed configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    /// `notify_master`.
    pub master: Option<ScriptSpec>,
    /// `notify_backup`.
    pub backup: Option<ScriptSpec>,
    /// `notify_fault`.
    pub fault: Option<ScriptSpec>,
    /// `notify_stop`.
    pub stop: Option<ScriptSpec>,
    /// `notify_deleted` (instances only).
    pub deleted: Option<ScriptSpec>,
    /// `notify_master_rx_lower_pri` (instances only).
    pub master_rx_lower_pri: Option<ScriptSpec>,
    /// `notify` (the generic script, called with the four extra arguments).
    pub generic: Option<ScriptSpec>,
}

impl NotifyScripts {
    /// The scripts to run for an event, in keepalived's order: the state
    /// script first, then the generic one with its four extra arguments.
    /// Priority is reported as 0 for groups, as keepalived does.
    pub fn for_event(
        &self,
        kind: NotifyKind,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> Vec<ScriptSpec> {
        let mut out = Vec::new();
        let specific = match state {
            NotifyState::Master => &self.master,
            NotifyState::Backup => &self.backup,
            NotifyState::Fault => &self.fault,
            NotifyState::Stop => &self.stop,
            NotifyState::Deleted => &self.deleted,
            NotifyState::MasterRxLowerPri => &self.master_rx_lower_pri,
            NotifyState::MasterPriority | NotifyState::BackupPriority => &None,
        };
        if let Some(s) = specific {
            out.push(s.clone());
        }
        if state.is_state() {
            if let Some(g) = &self.generic {
                let mut g = g.clone();
                let prio = if kind == NotifyKind::Group {
                    0
                } else {
                    priority
                };
                g.argv.extend(notify_args(kind, name, state, prio));
                out.push(g);
            }
        }
        out
    }
}

/// How a queued script ended.
#[derive(Debug)]
pub enum Outcome {
    /// It ran and was reaped.
    Finished(Finished),
    /// It could not be started.
    SpawnFailed(SpawnError),
}

/// A queued script that is done.
#[derive(Debug)]
pub struct NotifyDone {
    /// The queue (instance or group key) it belonged to.
    pub queue: String,
    /// Its sequence number (increasing in enqueue order across all queues).
    pub seq: u64,
    /// The command line, for logs.
    pub command: String,
    /// What happened.
    pub outcome: Outcome,
}

#[derive(Debug)]
struct Job {
    seq: u64,
    spec: ScriptSpec,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Job>,
    active: Option<(Handle, Job)>,
}

/// Per-queue serialised notify runner. Queue keys are chosen by the caller
/// (the VRRP child uses the instance name, and `GROUP <name>` for sync groups).
#[derive(Debug)]
pub struct NotifyQueues {
    runner: ScriptRunner,
    default_timeout: Option<Duration>,
    queues: HashMap<String, Queue>,
    next_seq: u64,
    /// Results not yet returned by `poll` (spawn failures, statuses handed over).
    failed: Vec<NotifyDone>,
}

impl NotifyQueues {
    /// `default_timeout` applies to scripts whose spec has none (keepalived
    /// has no notify timeout at all; a hung notify script would block its
    /// queue forever, so the daemon should pass one).
    pub fn new(opts: RunnerOptions, default_timeout: Option<Duration>) -> Self {
        NotifyQueues {
            runner: ScriptRunner::new(opts),
            default_timeout,
            queues: HashMap::new(),
            next_seq: 1,
            failed: Vec::new(),
        }
    }

    /// Appends `scripts` to `queue` in order, and starts the first one at
    /// once if the queue was idle. Returns the sequence numbers given. Spawn
    /// failures are reported by the next [`NotifyQueues::poll`].
    pub fn enqueue(&mut self, queue: &str, scripts: Vec<ScriptSpec>, now: Instant) -> Vec<u64> {
        let q = self.queues.entry(queue.to_string()).or_default();
        let mut seqs = Vec::new();
        for spec in scripts {
            let seq = self.next_seq;
            self.next_seq += 1;
            seqs.push(seq);
            q.waiting.push_back(Job { seq, spec });
        }
        let failed = self.start_idle(now);
        self.failed.extend(failed);
        seqs
    }

    fn start_idle(&mut self, now: Instant) -> Vec<NotifyDone> {
        let mut done = Vec::new();
        for (name, q) in self.queues.iter_mut() {
            while q.active.is_none() {
                let Some(mut job) = q.waiting.pop_front() else {
                    break;
                };
                if job.spec.timeout.is_none() {
                    job.spec.timeout = self.default_timeout;
                }
                match self.runner.spawn(&job.spec, now) {
                    Ok(h) => q.active = Some((h, job)),
                    Err(e) => {
                        log::info!("{e}");
                        done.push(NotifyDone {
                            queue: name.clone(),
                            seq: job.seq,
                            command: job.spec.display(),
                            outcome: Outcome::SpawnFailed(e),
                        });
                    }
                }
            }
        }
        done
    }

    /// Starts the next script of every idle queue, reaps finished ones and
    /// enforces timeouts. Call on SIGCHLD, at [`NotifyQueues::next_deadline`],
    /// and after [`NotifyQueues::enqueue`]. Never blocks.
    pub fn poll(&mut self, now: Instant) -> Vec<NotifyDone> {
        let mut done = std::mem::take(&mut self.failed);
        let finished = self.runner.poll(now);
        for f in finished {
            for (name, q) in self.queues.iter_mut() {
                if q.active.as_ref().is_some_and(|(h, _)| *h == f.handle) {
                    if let Some((_, job)) = q.active.take() {
                        done.push(NotifyDone {
                            queue: name.clone(),
                            seq: job.seq,
                            command: job.spec.display(),
                            outcome: Outcome::Finished(f),
                        });
                    }
                    break;
                }
            }
        }
        done.extend(self.start_idle(now));
        self.queues
            .retain(|_, q| q.active.is_some() || !q.waiting.is_empty());
        done.sort_by_key(|d| d.seq);
        done
    }

    /// Hands over a status reaped elsewhere (`waitpid(-1)` in the loop); see
    /// [`ScriptRunner::child_exited`]. Returns true if the pid was ours; the
    /// result is then reported by the next [`NotifyQueues::poll`], which also
    /// starts the queue's next script.
    pub fn child_exited(&mut self, pid: i32, exit: crate::runner::ExitKind, now: Instant) -> bool {
        let Some(f) = self.runner.child_exited(pid, exit, now) else {
            return false;
        };
        for (name, q) in self.queues.iter_mut() {
            if q.active.as_ref().is_some_and(|(h, _)| *h == f.handle) {
                if let Some((_, job)) = q.active.take() {
                    self.failed.push(NotifyDone {
                        queue: name.clone(),
                        seq: job.seq,
                        command: job.spec.display(),
                        outcome: Outcome::Finished(f),
                    });
                }
                break;
            }
        }
        true
    }

    /// When the loop must call [`NotifyQueues::poll`] at the latest.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.runner.next_deadline()
    }

    /// Scripts queued or running for `queue`.
    pub fn pending(&self, queue: &str) -> usize {
        self.queues
            .get(queue)
            .map(|q| q.waiting.len() + usize::from(q.active.is_some()))
            .unwrap_or(0)
    }

    /// Scripts queued or running in all queues.
    pub fn total_pending(&self) -> usize {
        self.queues.keys().map(|k| self.pending(k)).sum()
    }

    /// Shutdown: keeps running the queues (the STOP notifies) until they are
    /// empty or `deadline` passes, then kills what is left. Blocks (polls
    /// every 10 ms); only for the exit path.
    pub fn drain(&mut self, deadline: Instant) -> Vec<NotifyDone> {
        let mut done = Vec::new();
        loop {
            let now = Instant::now();
            done.extend(self.poll(now));
            if self.total_pending() == 0 && self.failed.is_empty() {
                return done;
            }
            if now >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for f in self.runner.kill_all() {
            for (name, q) in self.queues.iter_mut() {
                if q.active.as_ref().is_some_and(|(h, _)| *h == f.handle) {
                    if let Some((_, job)) = q.active.take() {
                        done.push(NotifyDone {
                            queue: name.clone(),
                            seq: job.seq,
                            command: job.spec.display(),
                            outcome: Outcome::Finished(f),
                        });
                    }
                    break;
                }
            }
        }
        self.queues.clear();
        done
    }
}

/// Why a FIFO could not be opened or written.
#[derive(Debug)]
pub enum FifoError {
    /// `mkfifo` failed (other than "exists"): `"Unable to create %snotify fifo %s"`.
    Create(PathBuf, Errno),
    /// `open` failed: `"Unable to open %snotify fifo %s - errno %d"`.
    Open(PathBuf, Errno),
    /// The path exists and is not a FIFO.
    NotFifo(PathBuf),
    /// A write failed (other than a full pipe).
    Write(io::Error),
}

impl fmt::Display for FifoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FifoError::Create(p, _) => write!(f, "Unable to create notify fifo {}", p.display()),
            FifoError::Open(p, e) => {
                write!(
                    f,
                    "Unable to open notify fifo {} - errno {}",
                    p.display(),
                    *e as i32
                )
            }
            FifoError::NotFifo(p) => write!(f, "notify fifo {} is not a FIFO", p.display()),
            FifoError::Write(e) => write!(f, "notify fifo write failed: {e}"),
        }
    }
}

impl std::error::Error for FifoError {}

/// An open `notify_fifo` (or `vrrp_notify_fifo`).
///
/// Created with mode 0644 if absent (and removed again on drop, as keepalived
/// does), opened `O_RDWR|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC`: read-write so the
/// open never fails for lack of a reader, non-blocking so a stalled reader
/// never blocks the VRRP loop (a line that does not fit is dropped and counted).
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    created: bool,
    /// Lines dropped because the pipe was full.
    pub dropped: u64,
}

impl NotifyFifo {
    /// Creates (if needed) and opens the FIFO at `path`.
    pub fn open(path: &Path) -> Result<Self, FifoError> {
        Self::open_owned(path, None)
    }

    /// Like [`NotifyFifo::open`]; a FIFO created here is given to
    /// `owner` (uid, gid), as `notify_fifo PATH USER GROUP` asks. A failed
    /// chown is logged with keepalived's line and is not fatal.
    pub fn open_owned(path: &Path, owner: Option<(u32, u32)>) -> Result<Self, FifoError> {
        let mut created = false;
        match nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o644)) {
            Ok(()) => {
                created = true;
                if let Some((uid, gid)) = owner {
                    if nix::unistd::chown(
                        path,
                        Some(nix::unistd::Uid::from_raw(uid)),
                        Some(nix::unistd::Gid::from_raw(gid)),
                    )
                    .is_err()
                    {
                        log::info!("Failed to set uid:gid for fifo {}", path.display());
                    }
                }
            }
            Err(Errno::EEXIST) => {}
            Err(e) => return Err(FifoError::Create(path.to_path_buf(), e)),
        }
        // Refuse to write into a regular file someone put there.
        use std::os::unix::fs::FileTypeExt;
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_fifo() => {}
            _ => return Err(FifoError::NotFifo(path.to_path_buf())),
        }
        // std adds O_CLOEXEC itself.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| {
                if created {
                    let _ = std::fs::remove_file(path);
                }
                FifoError::Open(
                    path.to_path_buf(),
                    Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                )
            })?;
        Ok(NotifyFifo {
            path: path.to_path_buf(),
            file,
            created,
            dropped: 0,
        })
    }

    /// The FIFO's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line (use [`fifo_line`]). A full pipe drops the line
    /// (returns `Ok(false)`) instead of blocking.
    pub fn write_line(&mut self, line: &str) -> Result<bool, FifoError> {
        match self.file.write(line.as_bytes()) {
            // Lines are far below PIPE_BUF, so writes are atomic: all or nothing.
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.dropped += 1;
                Ok(false)
            }
            Err(e) => Err(FifoError::Write(e)),
        }
    }

    /// Convenience: formats and writes an event.
    pub fn notify(
        &mut self,
        kind: NotifyKind,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> Result<bool, FifoError> {
        self.write_line(&fifo_line(kind, name, state, priority))
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
