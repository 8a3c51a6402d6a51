//! `vrrp_track_process` (keepalived `vrrp_track_process.c`): counts the
//! running processes that match a `process NAME [PARAMS]` line and feeds
//! up/down to the instances that track it.
//!
//! keepalived learns about forks and exits from the kernel's proc
//! connector; we poll `/proc` every [`POLL`] instead (no netlink connector
//! socket, no CAP_NET_ADMIN subtleties, and the same result within the
//! poll period). The cost is one `/proc` directory walk per period, only
//! when some instance tracks a process.
//!
//! Matching, as documented for keepalived:
//! * the name is compared with `/proc/PID/stat`'s command name (the kernel
//!   keeps 15 characters, so only the first 15 of the configured name
//!   count), or with `full_command`, with the process's `argv[0]`;
//! * parameters, if given, are compared with `argv[1..]`: all equal
//!   (`exact`, the default), a prefix (`param_match initial`), or a
//!   contiguous run anywhere (`param_match partial`);
//! * status is up while `quorum <= count <= quorum_max`;
//! * a change waits `fork_delay` (gained) / `terminate_delay` (lost), both
//!   defaulting to `delay`, and is dropped if the count returns meanwhile.
//!
//! Log line as upstream: `Quorum gained|lost for tracked process NAME`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use config::{ParamMatch, TrackProcess};
use sched::{Sched, TimerId};
use vrrp::{TrackKind, TrackStatus};

use crate::runtime::{Runtime, TimerOwner};

/// `/proc` poll period.
pub const POLL: Duration = Duration::from_millis(200);

/// One running process as seen in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// `comm` from `/proc/PID/stat` (at most 15 bytes).
    pub comm: String,
    /// `/proc/PID/cmdline` split at NULs (empty for kernel threads).
    pub argv: Vec<String>,
}

/// Whether `p` matches the `process` line of `tp`.
pub fn matches(tp: &TrackProcess, p: &ProcInfo) -> bool {
    let Some((name, params)) = tp.process.split_first() else {
        return false;
    };
    let name_ok = if tp.full_command {
        p.argv.first().is_some_and(|a| a == name)
    } else {
        let want: String = name.chars().take(15).collect();
        p.comm == want
    };
    if !name_ok {
        return false;
    }
    if params.is_empty() {
        return true;
    }
    let have = p.argv.get(1..).unwrap_or(&[]);
    match tp.param_match.unwrap_or(ParamMatch::Exact) {
        ParamMatch::Exact => have == params,
        ParamMatch::Initial => have.starts_with(params),
        ParamMatch::Partial => have.windows(params.len()).any(|w| w == params),
    }
}

/// Whether `count` processes satisfy the quorum of `tp`.
pub fn quorum_ok(tp: &TrackProcess, count: u32) -> bool {
    count >= tp.quorum && tp.quorum_max.is_none_or(|m| count <= m)
}

fn parse_comm(stat: &str) -> Option<String> {
    // "PID (comm) S ..." — comm may contain spaces and parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    (close > open).then(|| stat[open + 1..close].to_string())
}

/// Every process currently in `/proc` (threads are not listed there).
pub fn snapshot() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // exited meanwhile
        };
        let Some(comm) = parse_comm(&stat) else {
            continue;
        };
        let argv = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|&c| c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.push(ProcInfo { comm, argv });
    }
    out
}

/// One tracked process block in use.
#[derive(Debug)]
pub struct ProcessState {
    /// The configuration block.
    pub block: TrackProcess,
    /// Reported status.
    pub up: bool,
    /// A change waiting for its delay: (new status, due).
    pending: Option<(bool, Instant)>,
}

/// Every tracked process block, by name, and the poll timer.
#[derive(Debug, Default)]
pub struct Processes {
    /// By `vrrp_track_process` name.
    pub by_name: HashMap<String, ProcessState>,
    timer: Option<TimerId>,
}

impl Processes {
    /// Current status of a tracked process block.
    pub fn status(&self, name: &str) -> TrackStatus {
        match self.by_name.get(name) {
            Some(p) if p.up => TrackStatus::Up,
            Some(_) => TrackStatus::Down,
            None => TrackStatus::Unknown,
        }
    }
}

fn count(tp: &TrackProcess, procs: &[ProcInfo]) -> u32 {
    u32::try_from(procs.iter().filter(|p| matches(tp, p)).count()).unwrap_or(u32::MAX)
}

impl Runtime {
    /// (Re)builds the tracked process table from the instances' trackers;
    /// new blocks get their status from `/proc` at once (no delay).
    pub(crate) fn setup_processes(&mut self, sched: &mut Sched) {
        let used: Vec<String> = self
            .insts
            .iter()
            .flat_map(|i| i.core.config().trackers.iter())
            .filter(|t| t.kind == TrackKind::Process)
            .map(|t| t.name.clone())
            .collect();
        let cfg = self.cfg.clone();
        self.processes
            .by_name
            .retain(|n, p| used.contains(n) && cfg.track_processes.contains(&p.block));
        let procs = if used.is_empty() {
            Vec::new()
        } else {
            snapshot()
        };
        for n in &used {
            if self.processes.by_name.contains_key(n) {
                continue;
            }
            let Some(block) = cfg.track_processes.iter().find(|b| &b.name == n) else {
                continue;
            };
            let up = quorum_ok(block, count(block, &procs));
            self.processes.by_name.insert(
                n.clone(),
                ProcessState {
                    block: block.clone(),
                    up,
                    pending: None,
                },
            );
        }
        match (self.processes.by_name.is_empty(), self.processes.timer) {
            (false, None) => {
                let t = sched.timer_after(POLL);
                self.timer_owner.insert(t, TimerOwner::ProcessPoll);
                self.processes.timer = Some(t);
            }
            (true, Some(t)) => {
                sched.cancel(t);
                self.timer_owner.remove(&t);
                self.processes.timer = None;
            }
            _ => {}
        }
    }

    /// Poll timer: count the processes again, apply due changes.
    pub(crate) fn poll_processes(&mut self, sched: &mut Sched, t: TimerId) {
        sched.rearm_after(t, POLL);
        let procs = snapshot();
        let now = Instant::now();
        let mut changed = Vec::new();
        for (n, p) in self.processes.by_name.iter_mut() {
            let want = quorum_ok(&p.block, count(&p.block, &procs));
            if want == p.up {
                p.pending = None;
                continue;
            }
            let delay = if want {
                p.block.fork_delay.or(p.block.delay)
            } else {
                p.block.terminate_delay.or(p.block.delay)
            }
            .map_or(Duration::ZERO, |d| d.as_duration());
            let due = match p.pending {
                Some((w, due)) if w == want => due,
                _ => {
                    let due = now + delay;
                    p.pending = Some((want, due));
                    due
                }
            };
            if now >= due {
                p.up = want;
                p.pending = None;
                changed.push((n.clone(), want));
            }
        }
        for (n, up) in changed {
            log::info!(
                "Quorum {} for tracked process {n}",
                if up { "gained" } else { "lost" }
            );
            let status = if up {
                TrackStatus::Up
            } else {
                TrackStatus::Down
            };
            self.feed_tracker(sched, TrackKind::Process, &n, status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(process: &[&str], pm: Option<ParamMatch>, full: bool) -> TrackProcess {
        TrackProcess {
            name: "p".into(),
            process: process.iter().map(|s| s.to_string()).collect(),
            param_match: pm,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            terminate_delay: None,
            fork_delay: None,
            full_command: full,
        }
    }

    fn pi(comm: &str, argv: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn name_and_params() {
        let nginx = pi("nginx", &["nginx: master", "-g", "daemon off;"]);
        assert!(matches(&tp(&["nginx"], None, false), &nginx));
        assert!(!matches(&tp(&["ngin"], None, false), &nginx));
        // 15-character kernel command names.
        let long = pi("a_very_long_nam", &["/usr/bin/a_very_long_name_indeed"]);
        assert!(matches(
            &tp(&["a_very_long_name_indeed"], None, false),
            &long
        ));
        assert!(matches(
            &tp(&["/usr/bin/a_very_long_name_indeed"], None, true),
            &long
        ));
        assert!(!matches(
            &tp(&["a_very_long_name_indeed"], None, true),
            &long
        ));
        let sleep = pi("sleep", &["sleep", "100", "200", "300"]);
        assert!(matches(
            &tp(&["sleep", "100", "200", "300"], None, false),
            &sleep
        ));
        assert!(!matches(&tp(&["sleep", "100"], None, false), &sleep));
        assert!(matches(
            &tp(&["sleep", "100"], Some(ParamMatch::Initial), false),
            &sleep
        ));
        assert!(!matches(
            &tp(&["sleep", "200"], Some(ParamMatch::Initial), false),
            &sleep
        ));
        assert!(matches(
            &tp(&["sleep", "200", "300"], Some(ParamMatch::Partial), false),
            &sleep
        ));
        assert!(!matches(
            &tp(&["sleep", "300", "200"], Some(ParamMatch::Partial), false),
            &sleep
        ));
    }

    #[test]
    fn quorum_bounds() {
        let mut t = tp(&["x"], None, false);
        t.quorum = 2;
        t.quorum_max = Some(3);
        assert!(!quorum_ok(&t, 1));
        assert!(quorum_ok(&t, 2));
        assert!(quorum_ok(&t, 3));
        assert!(!quorum_ok(&t, 4));
        t.quorum = 0;
        t.quorum_max = Some(0);
        assert!(quorum_ok(&t, 0));
        assert!(!quorum_ok(&t, 1));
    }

    #[test]
    fn comm_with_parens() {
        assert_eq!(parse_comm("12 (a (b) c) S 1").as_deref(), Some("a (b) c"));
        assert_eq!(parse_comm("garbage"), None);
    }

    #[test]
    fn snapshot_sees_this_test_process_parent() {
        // Our own pid is skipped; pid 1 (or something) is always there.
        assert!(!snapshot().is_empty());
    }
}
