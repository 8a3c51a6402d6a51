//! Tracking: `vrrp_script` rise/fall counting ([`ScriptTracker`]) and the
//! weight rules that turn tracked states into an instance's effective
//! priority or FAULT (keepalived `vrrp/vrrp_track.c`,
//! `vrrp/vrrp_scheduler.c` `vrrp_script_child_thread`, `trackers/track_file.c`).
//!
//! A script is shared by all instances tracking it, so its counter lives
//! outside the instances: the daemon owns one [`ScriptTracker`] per
//! `vrrp_script`, feeds it each exit result, and when it reports a change
//! sends [`crate::Input::Tracker`] to every instance that tracks it.

use crate::config::{TrackConfig, TrackKind};

/// Current state of a tracked object as the instance sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackStatus {
    /// Not known yet (a script that has not completed a first run). A
    /// weight-0 tracker in this state keeps the instance from starting
    /// (keepalived `num_script_init`); a weighted one contributes nothing.
    Unknown,
    /// OK / up.
    Up,
    /// Failed / down.
    Down,
    /// A `track_file` value.
    Value(i64),
}

/// keepalived clamps track_file contributions to −254..253; −254 is FAULT.
const FILE_FAULT: i64 = -254;

/// What one tracker does to its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Adds this (possibly negative or zero) amount to the priority.
    Weight(i32),
    /// Puts the instance in FAULT.
    Fault,
    /// Keeps the instance from leaving its initial state (script not run yet).
    Init,
}

/// The effect of `status` on an instance for tracker `t`.
///
/// * weight 0: failing (up == reverse) → FAULT.
/// * weight w ≠ 0: contributes `w × m` (m = −1 with `reverse`) when
///   `w > 0` and up, or `w < 0` and down; otherwise 0.
/// * track_file: `value × w × m` clamped to −254..253, −254 → FAULT; with
///   weight 0 a non-zero value (zero with `reverse`) → FAULT.
pub fn effect(t: &TrackConfig, status: TrackStatus) -> Effect {
    let mult: i64 = if t.reverse { -1 } else { 1 };
    let w = i64::from(t.weight);
    match status {
        TrackStatus::Unknown => {
            if t.weight == 0 && t.kind == TrackKind::Script {
                Effect::Init
            } else {
                Effect::Weight(0)
            }
        }
        TrackStatus::Up | TrackStatus::Down => {
            let up = status == TrackStatus::Up;
            if w == 0 {
                if up == t.reverse {
                    Effect::Fault
                } else {
                    Effect::Weight(0)
                }
            } else if (w > 0 && up) || (w < 0 && !up) {
                Effect::Weight((w * mult) as i32)
            } else {
                Effect::Weight(0)
            }
        }
        TrackStatus::Value(v) => {
            if w == 0 {
                if (v != 0) != t.reverse {
                    Effect::Fault
                } else {
                    Effect::Weight(0)
                }
            } else {
                let c = v
                    .saturating_mul(w)
                    .saturating_mul(mult)
                    .clamp(FILE_FAULT, 253);
                if c == FILE_FAULT {
                    Effect::Fault
                } else {
                    Effect::Weight(c as i32)
                }
            }
        }
    }
}

/// Outcome of one run of a `vrrp_script`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Exited with this status (0 = success).
    Exited(i32),
    /// Killed by this signal (not by our timeout handling).
    Signalled(i32),
    /// Killed because it ran longer than `timeout`.
    TimedOut,
}

/// Result of feeding an outcome to a [`ScriptTracker`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptReport {
    /// `Some(ok)` when the script's state changed: forward
    /// [`TrackStatus::Up`] / [`TrackStatus::Down`] to the instances.
    pub changed: Option<bool>,
    /// Log lines in keepalived's wording.
    pub log: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitState {
    Init,
    Failed,
    Done,
}

/// Rise/fall counter of one `vrrp_script` (keepalived's `result` counter:
/// 0..rise+fall−1, OK when ≥ rise).
#[derive(Debug, Clone)]
pub struct ScriptTracker {
    name: String,
    rise: u32,
    fall: u32,
    result: u32,
    init: InitState,
    last_status: i32,
}

impl ScriptTracker {
    /// A tracker for script `name`. Without `init_fail` one success is
    /// enough to be OK and one failure to fail (keepalived sets
    /// `result = rise − 1`); with `init_fail` it starts failed and needs
    /// `rise` successes. `rise` and `fall` below 1 are taken as 1.
    pub fn new(name: &str, rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        ScriptTracker {
            name: name.to_owned(),
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            init: if init_fail {
                InitState::Failed
            } else {
                InitState::Init
            },
            last_status: 0,
        }
    }

    /// The script's current state: `None` before its first result (unless
    /// `init_fail`), else whether it is OK.
    pub fn status(&self) -> TrackStatus {
        match self.init {
            InitState::Init => TrackStatus::Unknown,
            _ if self.result >= self.rise => TrackStatus::Up,
            _ => TrackStatus::Down,
        }
    }

    /// Feeds one run's outcome.
    pub fn report(&mut self, outcome: ScriptOutcome) -> ScriptReport {
        let mut rep = ScriptReport::default();
        let (success, exit_type, reason): (bool, &str, Option<(&str, i32)>) = match outcome {
            ScriptOutcome::Exited(status) => {
                if status != self.last_status {
                    rep.log
                        .push(format!("Script `{}` now returning {}", self.name, status));
                }
                self.last_status = status;
                if status == 0 {
                    (true, "succeeded", None)
                } else {
                    (false, "failed", Some(("exited with status", status)))
                }
            }
            ScriptOutcome::Signalled(sig) => (false, "failed", Some(("due to signal", sig))),
            ScriptOutcome::TimedOut => (false, "timed_out", None),
        };
        let top = self.rise + self.fall - 1;
        if success {
            if self.result + 1 < self.rise {
                self.result += 1;
            } else if self.result != top {
                if self.result < self.rise {
                    rep.log
                        .push(format!("VRRP_Script({}) {}", self.name, exit_type));
                    rep.changed = Some(true);
                }
                self.result = top;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || self.init == InitState::Init {
                match reason {
                    Some((r, c)) => rep.log.push(format!(
                        "VRRP_Script({}) {} ({} {})",
                        self.name, exit_type, r, c
                    )),
                    None => rep
                        .log
                        .push(format!("VRRP_Script({}) {}", self.name, exit_type)),
                }
                rep.changed = Some(false);
            }
            self.result = 0;
        }
        self.init = InitState::Done;
        rep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(kind: TrackKind, weight: i32, reverse: bool) -> TrackConfig {
        TrackConfig {
            kind,
            name: "x".into(),
            weight,
            reverse,
        }
    }

    #[test]
    fn weights() {
        let s = tc(TrackKind::Script, -30, false);
        assert_eq!(effect(&s, TrackStatus::Down), Effect::Weight(-30));
        assert_eq!(effect(&s, TrackStatus::Up), Effect::Weight(0));
        let s = tc(TrackKind::Script, 20, false);
        assert_eq!(effect(&s, TrackStatus::Up), Effect::Weight(20));
        assert_eq!(effect(&s, TrackStatus::Down), Effect::Weight(0));
        let s = tc(TrackKind::Script, 20, true);
        assert_eq!(effect(&s, TrackStatus::Up), Effect::Weight(-20));
        assert_eq!(effect(&s, TrackStatus::Down), Effect::Weight(0));
        let s = tc(TrackKind::Script, 0, false);
        assert_eq!(effect(&s, TrackStatus::Down), Effect::Fault);
        assert_eq!(effect(&s, TrackStatus::Up), Effect::Weight(0));
        assert_eq!(effect(&s, TrackStatus::Unknown), Effect::Init);
        let s = tc(TrackKind::Interface, 0, true);
        assert_eq!(effect(&s, TrackStatus::Up), Effect::Fault);
        assert_eq!(
            effect(&tc(TrackKind::Interface, 0, false), TrackStatus::Unknown),
            Effect::Weight(0)
        );
    }

    #[test]
    fn track_file_values() {
        let f = tc(TrackKind::File, 10, false);
        assert_eq!(effect(&f, TrackStatus::Value(3)), Effect::Weight(30));
        assert_eq!(effect(&f, TrackStatus::Value(100)), Effect::Weight(253));
        assert_eq!(effect(&f, TrackStatus::Value(-100)), Effect::Fault);
        assert_eq!(effect(&f, TrackStatus::Value(-25)), Effect::Weight(-250));
        let f0 = tc(TrackKind::File, 0, false);
        assert_eq!(effect(&f0, TrackStatus::Value(1)), Effect::Fault);
        assert_eq!(effect(&f0, TrackStatus::Value(0)), Effect::Weight(0));
        let f0r = tc(TrackKind::File, 0, true);
        assert_eq!(effect(&f0r, TrackStatus::Value(0)), Effect::Fault);
    }

    #[test]
    fn script_rise_fall() {
        let mut s = ScriptTracker::new("chk", 2, 3, false);
        assert_eq!(s.status(), TrackStatus::Unknown);
        // First success: result = rise-1 = 1 -> OK at once.
        let r = s.report(ScriptOutcome::Exited(0));
        assert_eq!(r.changed, Some(true));
        assert_eq!(r.log, vec!["VRRP_Script(chk) succeeded"]);
        assert_eq!(s.status(), TrackStatus::Up);
        // Needs `fall` = 3 failures.
        let r = s.report(ScriptOutcome::Exited(1));
        assert_eq!(
            (r.changed, r.log),
            (None, vec!["Script `chk` now returning 1".to_owned()])
        );
        assert_eq!(s.report(ScriptOutcome::Exited(1)).changed, None);
        let r = s.report(ScriptOutcome::Exited(1));
        assert_eq!(r.changed, Some(false));
        assert_eq!(
            r.log,
            vec!["VRRP_Script(chk) failed (exited with status 1)"]
        );
        assert_eq!(s.status(), TrackStatus::Down);
        // Needs `rise` = 2 successes.
        let r = s.report(ScriptOutcome::Exited(0));
        assert_eq!(
            (r.changed, r.log),
            (None, vec!["Script `chk` now returning 0".to_owned()])
        );
        let r = s.report(ScriptOutcome::Exited(0));
        assert_eq!(r.changed, Some(true));
        assert!(s.report(ScriptOutcome::TimedOut).log.is_empty());
        assert!(s.report(ScriptOutcome::TimedOut).log.is_empty());
        assert_eq!(
            s.report(ScriptOutcome::TimedOut).log,
            vec!["VRRP_Script(chk) timed_out"]
        );
    }

    #[test]
    fn script_first_failure_and_init_fail() {
        let mut s = ScriptTracker::new("chk", 1, 3, false);
        let r = s.report(ScriptOutcome::Signalled(9));
        assert_eq!(r.changed, Some(false));
        assert_eq!(r.log, vec!["VRRP_Script(chk) failed (due to signal 9)"]);
        let mut s = ScriptTracker::new("chk", 2, 1, true);
        assert_eq!(s.status(), TrackStatus::Down);
        assert_eq!(s.report(ScriptOutcome::Exited(0)).changed, None);
        assert_eq!(s.report(ScriptOutcome::Exited(0)).changed, Some(true));
    }
}
