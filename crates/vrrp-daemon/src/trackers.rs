//! Tracked objects: `vrrp_script` (run periodically through notify's
//! runner with its timeout and user, rise/fall in [`vrrp::ScriptTracker`]),
//! `track_file` (polled once a second), `track_interface` and the
//! instances' own interfaces (netlink events).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use notify::{ExitKind, Handle, ScriptRunner, ScriptSpec};
use sched::{Sched, TimerId};
use vrrp::{Input, ScriptOutcome, ScriptTracker, TrackKind, TrackStatus};

use crate::runtime::{Runtime, TimerOwner};

/// One `vrrp_script` in use.
#[derive(Debug)]
pub struct ScriptState {
    spec: ScriptSpec,
    interval: Duration,
    tracker: ScriptTracker,
    timer: TimerId,
    running: Option<Handle>,
    /// The configuration block, to detect changes at reload.
    pub block: config::VrrpScript,
}

/// One `track_file` in use.
#[derive(Debug)]
pub struct FileState {
    path: std::path::PathBuf,
    value: Option<i64>,
}

/// Scripts and files being tracked.
#[derive(Debug, Default)]
pub struct Trackers {
    runner: ScriptRunner,
    /// By script name.
    pub scripts: HashMap<String, ScriptState>,
    /// By track_file name.
    pub files: HashMap<String, FileState>,
    file_timer: Option<TimerId>,
}

impl Trackers {
    /// Earliest script timeout deadline.
    pub fn runner_deadline(&self) -> Option<Instant> {
        self.runner.next_deadline()
    }

    /// Current status of a tracked script.
    pub fn script_status(&self, name: &str) -> TrackStatus {
        self.scripts
            .get(name)
            .map_or(TrackStatus::Unknown, |s| s.tracker.status())
    }

    /// Current value of a tracked file.
    pub fn file_status(&self, name: &str) -> TrackStatus {
        match self.files.get(name).and_then(|f| f.value) {
            Some(v) => TrackStatus::Value(v),
            None => TrackStatus::Value(0),
        }
    }

    /// Kills every running script (shutdown).
    pub fn kill_all(&mut self) {
        let _ = self.runner.kill_all();
    }
}

/// keepalived reads a tracked file as a decimal integer (leading
/// whitespace, optional sign); anything else counts as 0.
pub fn parse_file_value(text: &str) -> i64 {
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}

fn read_file_value(p: &std::path::Path) -> Option<i64> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| parse_file_value(&s))
}

impl Runtime {
    /// (Re)builds the script and file tables from the configuration, keeping
    /// the state of unchanged scripts (reload), and starts new scripts now.
    pub(crate) fn setup_trackers(&mut self, sched: &mut Sched) {
        let cfg = self.cfg.clone();
        let used_scripts: Vec<String> = self
            .insts
            .iter()
            .flat_map(|i| i.core.config().trackers.iter())
            .filter(|t| t.kind == TrackKind::Script)
            .map(|t| t.name.clone())
            .collect();
        for s in &cfg.vrrp_scripts {
            if !used_scripts.contains(&s.name) {
                log::info!("Warning - script {} is not used", s.name);
            }
        }
        // Drop scripts no longer used or changed.
        let names: Vec<String> = self.trackers.scripts.keys().cloned().collect();
        for n in names {
            let keep = used_scripts.contains(&n)
                && cfg.vrrp_script(&n) == Some(&self.trackers.scripts[&n].block);
            if !keep {
                if let Some(s) = self.trackers.scripts.remove(&n) {
                    sched.cancel(s.timer);
                    self.timer_owner.remove(&s.timer);
                }
            }
        }
        for n in &used_scripts {
            if self.trackers.scripts.contains_key(n) {
                continue;
            }
            let Some(block) = cfg.vrrp_script(n) else {
                continue;
            };
            let mut script = block.script.clone();
            if script.user.is_none() {
                if let Some(u) = &block.user {
                    script.user = Some(u.user.clone());
                    script.group = u.group.clone();
                }
            }
            let interval = block.interval.as_duration().max(Duration::from_millis(10));
            let timeout = block.timeout.map_or(interval, |t| t.as_duration());
            let spec = crate::map::script_spec(&cfg, &script).timeout(timeout);
            let timer = sched.timer_after(Duration::ZERO);
            self.timer_owner
                .insert(timer, TimerOwner::Script(n.clone()));
            self.trackers.scripts.insert(
                n.clone(),
                ScriptState {
                    spec,
                    interval,
                    tracker: ScriptTracker::new(n, block.rise, block.fall, block.init_fail),
                    timer,
                    running: None,
                    block: block.clone(),
                },
            );
        }
        // Files.
        let used_files: Vec<String> = self
            .insts
            .iter()
            .flat_map(|i| i.core.config().trackers.iter())
            .filter(|t| t.kind == TrackKind::File)
            .map(|t| t.name.clone())
            .collect();
        self.trackers.files.retain(|n, _| used_files.contains(n));
        for n in &used_files {
            if self.trackers.files.contains_key(n) {
                continue;
            }
            let Some(tf) = cfg.track_file(n) else {
                continue;
            };
            if let Some((v, overwrite)) = tf.init_file {
                if overwrite || !tf.file.exists() {
                    let _ = std::fs::write(&tf.file, format!("{v}\n"));
                }
            }
            let value = read_file_value(&tf.file);
            self.trackers.files.insert(
                n.clone(),
                FileState {
                    path: tf.file.clone(),
                    value,
                },
            );
        }
        if !self.trackers.files.is_empty() && self.trackers.file_timer.is_none() {
            let t = sched.timer_after(Duration::from_secs(1));
            self.timer_owner.insert(t, TimerOwner::FilePoll);
            self.trackers.file_timer = Some(t);
        }
    }

    /// A script's interval timer fired: start it unless still running.
    pub(crate) fn run_script(&mut self, sched: &mut Sched, name: &str) {
        let now = Instant::now();
        let Some(s) = self.trackers.scripts.get_mut(name) else {
            return;
        };
        sched.rearm_after(s.timer, s.interval);
        if s.running
            .is_some_and(|h| self.trackers.runner.is_running(h))
        {
            return;
        }
        match self.trackers.runner.spawn(&s.spec, now) {
            Ok(h) => s.running = Some(h),
            Err(e) => {
                log::info!("VRRP_Script({name}) cannot be run: {e}");
                s.running = None;
                let rep = s.tracker.report(ScriptOutcome::Exited(127));
                let changed = rep.changed;
                for l in rep.log {
                    log::info!("{l}");
                }
                if let Some(ok) = changed {
                    self.script_changed(sched, name, ok);
                }
            }
        }
        self.arm_runner_timer(sched);
    }

    /// Reaps finished scripts and feeds their results.
    pub(crate) fn poll_scripts(&mut self, sched: &mut Sched) {
        let done = self.trackers.runner.poll(Instant::now());
        for f in done {
            let Some((name, s)) = self
                .trackers
                .scripts
                .iter_mut()
                .find(|(_, s)| s.running == Some(f.handle))
            else {
                continue;
            };
            s.running = None;
            let outcome = if f.timed_out {
                ScriptOutcome::TimedOut
            } else {
                match f.exit {
                    ExitKind::Exited(c) => ScriptOutcome::Exited(c),
                    ExitKind::Signaled(sig) => ScriptOutcome::Signalled(sig),
                    ExitKind::Lost => ScriptOutcome::Exited(0),
                }
            };
            let rep = s.tracker.report(outcome);
            let name = name.clone();
            for l in rep.log {
                log::info!("{l}");
            }
            if let Some(ok) = rep.changed {
                self.script_changed(sched, &name, ok);
            }
        }
    }

    fn script_changed(&mut self, sched: &mut Sched, name: &str, ok: bool) {
        let status = if ok {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        };
        self.feed_tracker(sched, TrackKind::Script, name, status);
    }

    /// Sends a tracker status to every instance tracking `name`.
    pub(crate) fn feed_tracker(
        &mut self,
        sched: &mut Sched,
        kind: TrackKind,
        name: &str,
        status: TrackStatus,
    ) {
        let ids: Vec<u64> = self
            .insts
            .iter()
            .filter(|i| {
                i.core
                    .config()
                    .trackers
                    .iter()
                    .any(|t| t.kind == kind && t.name == name)
            })
            .map(|i| i.id)
            .collect();
        for id in ids {
            self.drive(
                sched,
                id,
                Input::Tracker {
                    kind,
                    name: name.to_string(),
                    status,
                },
            );
        }
    }

    /// Once a second: re-read tracked files.
    pub(crate) fn poll_files(&mut self, sched: &mut Sched, t: TimerId) {
        sched.rearm_after(t, Duration::from_secs(1));
        let mut changed = Vec::new();
        for (n, f) in self.trackers.files.iter_mut() {
            let v = read_file_value(&f.path);
            if v != f.value {
                log::info!(
                    "Tracked file {n} value changed to {}",
                    v.map_or_else(|| "(missing)".to_string(), |v| v.to_string())
                );
                f.value = v;
                changed.push((n.clone(), v.unwrap_or(0)));
            }
        }
        for (n, v) in changed {
            self.feed_tracker(sched, TrackKind::File, &n, TrackStatus::Value(v));
        }
    }

    /// Netlink events: links up/down, addresses.
    pub(crate) fn netlink_events(&mut self, sched: &mut Sched) {
        let evs = match self.events.drain() {
            Ok(e) => e,
            Err(e) => {
                log::info!("Netlink: error reading events: {e}");
                return;
            }
        };
        // Source addresses are re-derived once per interface at the end,
        // and only for address changes that are not our own VIPs (a
        // MASTER adding 200 VIPs must not cause 200 × 200 dumps).
        let mut touched: Vec<u32> = Vec::new();
        for ev in evs {
            match ev {
                netlink::Event::LinkAdded(l) => {
                    let up = l.is_up();
                    let (index, name) = (l.index, l.name.clone());
                    self.links.insert(l.index, l);
                    self.link_changed(sched, index, &name, up);
                }
                netlink::Event::LinkUp { index, name }
                | netlink::Event::LinkDown { index, name } => {
                    if let Ok(l) = self.rtnl.link_by_index(index) {
                        self.links.insert(index, l);
                    }
                    let up = self.links.get(&index).is_some_and(|l| l.is_up());
                    log::info!("Netlink reports {name} {}", if up { "up" } else { "down" });
                    self.link_changed(sched, index, &name, up);
                }
                netlink::Event::LinkChanged(l) => {
                    self.links.insert(l.index, l);
                }
                netlink::Event::LinkRemoved { index, name } => {
                    self.links.remove(&index);
                    self.link_changed(sched, index, &name, false);
                }
                netlink::Event::AddrAdded(a) => {
                    if self.flags.address_monitoring {
                        log::info!("Netlink: address {a} added on ifindex {}", a.ifindex);
                    }
                    if !self.is_our_vip(&a.addr) && !touched.contains(&a.ifindex) {
                        touched.push(a.ifindex);
                    }
                }
                netlink::Event::AddrRemoved(a) => {
                    if self.flags.address_monitoring {
                        log::info!("Netlink: address {a} removed from ifindex {}", a.ifindex);
                    }
                    self.address_removed(&a);
                    if !self.is_our_vip(&a.addr) && !touched.contains(&a.ifindex) {
                        touched.push(a.ifindex);
                    }
                }
                netlink::Event::Overrun => {
                    if let Ok(links) = self.rtnl.links() {
                        self.events.prime(&links);
                        let states: Vec<(u32, String, bool)> = links
                            .iter()
                            .map(|l| (l.index, l.name.clone(), l.is_up()))
                            .collect();
                        self.links = links.into_iter().map(|l| (l.index, l)).collect();
                        for (i, n, up) in states {
                            self.link_changed(sched, i, &n, up);
                        }
                    }
                }
            }
        }
        for ifindex in touched {
            self.source_maybe_changed(sched, ifindex);
        }
    }

    fn link_changed(&mut self, sched: &mut Sched, index: u32, name: &str, up: bool) {
        // The instances' own interfaces.
        let own: Vec<(u64, bool)> = self
            .insts
            .iter_mut()
            .filter(|i| *i.key.interface == *name)
            .map(|i| {
                let fresh = i.ifindex != Some(index);
                i.ifindex = Some(index);
                (i.id, fresh)
            })
            .collect();
        let any = !own.is_empty();
        for (id, fresh) in own {
            if fresh && up {
                self.open_sockets_for(sched, id);
            }
            self.drive(sched, id, Input::Interface { up });
        }
        if any && up {
            self.source_maybe_changed(sched, index);
        }
        self.feed_tracker(
            sched,
            TrackKind::Interface,
            name,
            if up {
                TrackStatus::Up
            } else {
                TrackStatus::Down
            },
        );
    }

    /// Whether `a` is a VIP or eVIP of one of our instances.
    pub(crate) fn is_our_vip(&self, a: &std::net::IpAddr) -> bool {
        self.vip_set.contains(a)
    }

    /// The primary address of `ifindex` may have changed: update the
    /// instances without a configured source.
    pub(crate) fn source_maybe_changed(&mut self, sched: &mut Sched, ifindex: u32) {
        let ids: Vec<(u64, vrrp::wire::Family)> = self
            .insts
            .iter()
            .filter(|i| i.ifindex == Some(ifindex) && i.vcfg.src_ip.is_none())
            .map(|i| (i.id, i.key.family))
            .collect();
        let mut primary: HashMap<vrrp::wire::Family, Option<std::net::IpAddr>> = HashMap::new();
        for (id, fam) in ids {
            let a = *primary
                .entry(fam)
                .or_insert_with(|| self.primary_address(ifindex, fam));
            let Some(k) = self.idx(id) else { continue };
            if self.insts[k].src != a {
                self.insts[k].src = a;
                self.drive(sched, id, Input::SourceAddress(a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_file_value;

    #[test]
    fn file_values() {
        assert_eq!(parse_file_value("5\n"), 5);
        assert_eq!(parse_file_value("  -20 junk"), -20);
        assert_eq!(parse_file_value("abc"), 0);
        assert_eq!(parse_file_value(""), 0);
    }
}
