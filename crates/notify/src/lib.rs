//! Scripts, notifications and alerts for the VRRP and checker children.
//!
//! * [`argv`]: splitting a configured script line as keepalived does.
//! * [`runner`]: the non-blocking script runner (process group, uid/gid,
//!   minimal environment, timeout with group kill, reaping without zombies).
//! * [`security`]: `enable_script_security` path checks with keepalived's
//!   log wording.
//! * [`notify`]: per-instance ordered notify queues, `notify` arguments and
//!   `notify_fifo` lines.
//! * [`smtp`]: SMTP alert mails sent from a worker thread.

pub mod argv;
pub mod notify;
pub mod runner;
pub mod security;
pub mod smtp;

pub use argv::{split_script_line, SplitError};
pub use notify::{
    fifo_line, notify_args, NotifyDone, NotifyFifo, NotifyKind, NotifyQueues, NotifyScripts,
    NotifyState, Outcome,
};
pub use runner::{
    ExecMode, ExitKind, Finished, Handle, RunnerOptions, ScriptRunner, ScriptSpec, SpawnError,
};
pub use security::{check_script_secure, ScriptCheck};
