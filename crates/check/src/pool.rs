//! Real servers, virtual servers, quorum and the desired IPVS table
//! (keepalived `check/ipwrapper.c`: `init_service_rs` 400-440,
//! `update_quorum_state` 512-585, `perform_svr_state` 587-625,
//! `update_svr_wgt` 692-720, `update_svr_checker_state` 742-771;
//! ha_suspend `check/check_api.c:517-536`, `650-690`).
//!
//! [`Engine`] owns every checker. The daemon calls [`Engine::on_timer`] when
//! [`Engine::next_wakeup`] passes, starts the probes it is asked for, reports
//! results with [`Engine::on_result`], and after [`Action::TableChanged`]
//! maps [`Engine::desired_table`] onto IPVS.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::checker::{
    CheckKind, Checker, CheckerConfig, CheckerStep, Names, ProbeOutcome, ProbeRequest,
};
use crate::file::FileChange;
use crate::log::{self, LogLine};
use crate::service::{Proto, RsAddr, VsName};
use crate::time::Millis;

/// keepalived's `IPVS_WEIGHT_LIMIT` (INT32_MAX).
pub const WEIGHT_LIMIT: i64 = i32::MAX as i64;

/// `sorry_server IP PORT` of a virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServerConfig {
    /// Address and port.
    pub addr: SocketAddr,
    /// Weight used while it is active (keepalived: 1).
    pub weight: u32,
    /// `sorry_server_inhibit`: keep it in the table with weight 0 when unused.
    pub inhibit: bool,
}

/// One `real_server` block, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerConfig {
    /// Address and port.
    pub addr: SocketAddr,
    /// `weight` (default 1).
    pub weight: u32,
    /// `inhibit_on_failure`: weight 0 instead of removal.
    pub inhibit_on_failure: bool,
    /// The checkers; all must be up for the server to be alive. A server
    /// without checkers is always alive. (The engine moves them into its
    /// checkers: the kept `RealServerConfig` has an empty list.)
    pub checkers: Vec<CheckerConfig>,
}

/// One `virtual_server` block, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerConfig {
    /// How it is named in logs.
    pub name: VsName,
    /// `protocol` (for real server names in logs).
    pub proto: Proto,
    /// `quorum` (default 1, already capped to the sum of weights).
    pub quorum: u32,
    /// `hysteresis` (default 0, already < quorum).
    pub hysteresis: u32,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `omega`: send down notifications at shutdown.
    pub omega: bool,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServerConfig>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServerConfig>,
}

/// Identifies a checker: indexes into the configuration lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckerId {
    /// Virtual server index.
    pub vs: usize,
    /// Real server index within the virtual server.
    pub rs: usize,
    /// Checker index within the real server.
    pub checker: usize,
}

/// Notifications for scripts (`notify_up`/`notify_down`,
/// `quorum_up`/`quorum_down`), SMTP alerts and the notify FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// A real server became alive.
    RsUp {
        /// Virtual server index.
        vs: usize,
        /// Real server index.
        rs: usize,
    },
    /// A real server went down.
    RsDown {
        /// Virtual server index.
        vs: usize,
        /// Real server index.
        rs: usize,
    },
    /// The virtual server gained quorum.
    QuorumUp {
        /// Virtual server index.
        vs: usize,
    },
    /// The virtual server lost quorum.
    QuorumDown {
        /// Virtual server index.
        vs: usize,
    },
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Log this line at LOG_INFO.
    Log(LogLine),
    /// Start a probe for this checker.
    StartProbe {
        /// Which checker.
        id: CheckerId,
        /// Token, url index and deadline.
        probe: ProbeRequest,
    },
    /// Abandon the probe in flight (close the socket / kill the script's
    /// process group); its failure was already accounted for.
    AbortProbe {
        /// Which checker.
        id: CheckerId,
        /// The probe's token.
        token: u64,
    },
    /// Run notifications.
    Notify(Notify),
    /// The desired table of this virtual server changed.
    TableChanged {
        /// Virtual server index.
        vs: usize,
    },
}

/// One destination of the desired table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredDest {
    /// Address and port.
    pub addr: SocketAddr,
    /// Weight to program when present.
    pub weight: u32,
    /// Whether the destination must exist in IPVS.
    pub present: bool,
    /// Whether this is the sorry server.
    pub sorry: bool,
}

#[derive(Debug)]
struct RsState {
    cfg: RealServerConfig,
    alive: bool,
    effective_weight: i64,
    checkers: Vec<Checker>,
}

impl RsState {
    /// The name in log lines (`proto` is the virtual server's).
    fn name(&self, proto: Proto) -> RsAddr {
        RsAddr {
            addr: self.cfg.addr,
            proto,
        }
    }
    fn all_up(&self) -> bool {
        self.checkers.iter().all(Checker::is_up)
    }
    /// The configured weight, plus `misc_dynamic` (absolute weights, as
    /// deltas), plus FILE_CHECK contributions (`set_effective_weights`).
    fn dynamic_effective_weight(&self) -> i64 {
        let base = i64::from(self.cfg.weight);
        base + self
            .checkers
            .iter()
            .filter_map(Checker::dynamic_weight)
            .map(|w| w - base)
            .sum::<i64>()
            + self
                .checkers
                .iter()
                .filter_map(Checker::file_weight)
                .sum::<i64>()
    }
}

#[derive(Debug)]
struct VsState {
    cfg: VirtualServerConfig,
    rss: Vec<RsState>,
    quorum_up: bool,
    sorry_active: bool,
    vip_count: u32,
}

fn real_weight(w: i64) -> i64 {
    w.clamp(0, WEIGHT_LIMIT)
}

impl VsState {
    fn weight_sum(&self) -> i64 {
        self.rss
            .iter()
            .filter(|r| r.alive)
            .map(|r| real_weight(r.effective_weight))
            .sum()
    }

    fn sorry_name(&self) -> Option<RsAddr> {
        self.cfg.sorry_server.as_ref().map(|s| RsAddr {
            addr: s.addr,
            proto: self.cfg.proto,
        })
    }

    /// `update_quorum_state`.
    fn update_quorum(&mut self, vs: usize, init: bool, out: &mut Vec<Action>) {
        let sum = self.weight_sum();
        let q = i64::from(self.cfg.quorum);
        let h = i64::from(self.cfg.hysteresis);
        let threshold = if self.quorum_up { q - h } else { q + h };
        if !self.quorum_up && sum >= threshold {
            self.quorum_up = true;
            out.push(Action::Log(log::gained_quorum(
                self.cfg.quorum,
                self.cfg.hysteresis,
                threshold,
                sum,
                &self.cfg.name,
            )));
            if self.sorry_active {
                let inhibit = self.cfg.sorry_server.as_ref().is_some_and(|s| s.inhibit);
                if let Some(name) = self.sorry_name() {
                    out.push(Action::Log(log::sorry_change(
                        false,
                        inhibit,
                        &name,
                        &self.cfg.name,
                    )));
                }
                self.sorry_active = false;
                out.push(Action::Log(log::quorum_pool(true, &self.cfg.name)));
                out.push(Action::TableChanged { vs });
            }
            out.push(Action::Notify(Notify::QuorumUp { vs }));
        } else if (self.quorum_up && (sum == 0 || sum < threshold))
            || (init && !self.quorum_up && self.cfg.sorry_server.is_some() && !self.sorry_active)
        {
            self.quorum_up = false;
            out.push(Action::Log(log::lost_quorum(
                init,
                self.cfg.quorum,
                self.cfg.hysteresis,
                threshold,
                sum,
                &self.cfg.name,
            )));
            if self.cfg.sorry_server.is_some() && !self.sorry_active {
                let inhibit = self.cfg.sorry_server.as_ref().is_some_and(|s| s.inhibit);
                if let Some(name) = self.sorry_name() {
                    out.push(Action::Log(log::sorry_change(
                        true,
                        inhibit,
                        &name,
                        &self.cfg.name,
                    )));
                }
                out.push(Action::Log(log::quorum_pool(false, &self.cfg.name)));
                self.sorry_active = true;
                out.push(Action::TableChanged { vs });
            }
            out.push(Action::Notify(Notify::QuorumDown { vs }));
        }
    }

    /// `perform_svr_state`.
    fn set_rs_alive(&mut self, vs: usize, rs: usize, alive: bool, out: &mut Vec<Action>) {
        let proto = self.cfg.proto;
        let r = &mut self.rss[rs];
        if r.alive == alive {
            return;
        }
        out.push(Action::Log(log::service_change(
            alive,
            r.cfg.inhibit_on_failure,
            &r.name(proto),
            &self.cfg.name,
        )));
        r.alive = alive;
        if !self.sorry_active {
            out.push(Action::TableChanged { vs });
        }
        out.push(Action::Notify(if alive {
            Notify::RsUp { vs, rs }
        } else {
            Notify::RsDown { vs, rs }
        }));
        self.update_quorum(vs, false, out);
    }

    /// `update_svr_wgt`.
    fn set_rs_weight(&mut self, vs: usize, rs: usize, new: i64, out: &mut Vec<Action>) {
        let proto = self.cfg.proto;
        let r = &mut self.rss[rs];
        let old_w = real_weight(r.effective_weight);
        let new_w = real_weight(new);
        r.effective_weight = new;
        if old_w == new_w {
            return;
        }
        out.push(Action::Log(log::weight_change(
            old_w,
            new_w,
            r.alive,
            &r.name(proto),
            &self.cfg.name,
        )));
        if r.alive && !self.sorry_active {
            out.push(Action::TableChanged { vs });
        }
        self.update_quorum(vs, false, out);
    }
}

fn renumber(a: Action, vs: usize) -> Action {
    match a {
        Action::TableChanged { .. } => Action::TableChanged { vs },
        Action::Notify(Notify::QuorumUp { .. }) => Action::Notify(Notify::QuorumUp { vs }),
        Action::Notify(Notify::QuorumDown { .. }) => Action::Notify(Notify::QuorumDown { vs }),
        Action::Notify(Notify::RsUp { rs, .. }) => Action::Notify(Notify::RsUp { vs, rs }),
        Action::Notify(Notify::RsDown { rs, .. }) => Action::Notify(Notify::RsDown { vs, rs }),
        Action::StartProbe { id, probe } => Action::StartProbe {
            id: CheckerId { vs, ..id },
            probe,
        },
        Action::AbortProbe { id, token } => Action::AbortProbe {
            id: CheckerId { vs, ..id },
            token,
        },
        other => other,
    }
}

/// The checker core for all virtual servers.
#[derive(Debug)]
pub struct Engine {
    vss: Vec<VsState>,
    next_token: u64,
    /// Wake-up times; entries whose checker has moved on are stale and are
    /// dropped lazily (see `prune`); the heap is rebuilt when stale entries
    /// would make it grow past twice the scheduled checkers.
    timers: BinaryHeap<Reverse<TimerKey>>,
    /// Number of scheduled checkers (live timer entries).
    scheduled: usize,
}

/// Timer heap size for `n` scheduled checkers: each has one live entry,
/// the rest is room for stale ones (a probe's deadline after its result).
fn timer_room(n: usize) -> usize {
    n + n / 2 + 16
}

/// A timer entry: (time, vs, rs, checker), 24 bytes instead of 32; ordered
/// like `(Millis, CheckerId)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TimerKey {
    at: Millis,
    vs: u32,
    rs: u32,
    checker: u32,
}

impl TimerKey {
    fn new(at: Millis, id: CheckerId) -> TimerKey {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        TimerKey {
            at,
            vs: n(id.vs),
            rs: n(id.rs),
            checker: n(id.checker),
        }
    }
    fn id(self) -> CheckerId {
        CheckerId {
            vs: self.vs as usize,
            rs: self.rs as usize,
            checker: self.checker as usize,
        }
    }
}

impl Engine {
    /// Builds the state at daemon start and returns the start-up actions
    /// (initial tables, `Gained quorum` / `Starting with quorum down`,
    /// `Activating healthchecker ...`).
    ///
    /// `warmup_jitter` returns the random part of each checker's first delay
    /// given its `warmup` (keepalived: `warmup * random() / RAND_MAX`);
    /// `vip_present(vs)` tells whether an ha_suspend VS's address is local.
    pub fn new(
        configs: Vec<VirtualServerConfig>,
        now: Millis,
        warmup_jitter: &mut dyn FnMut(Duration) -> Duration,
        vip_present: &dyn Fn(usize) -> bool,
    ) -> (Engine, Vec<Action>) {
        let mut out = Vec::new();
        let mut vss = Vec::with_capacity(configs.len());
        for (vi, mut cfg) in configs.into_iter().enumerate() {
            let rs_cfgs = std::mem::take(&mut cfg.real_servers);
            let rss = rs_cfgs
                .into_iter()
                .map(|mut rc| {
                    // The checkers own their configuration: not kept twice.
                    let checkers = std::mem::take(&mut rc.checkers)
                        .into_iter()
                        .map(|c| {
                            let j = warmup_jitter(c.warmup);
                            Checker::new(c, now, j)
                        })
                        .collect();
                    let mut r = RsState {
                        effective_weight: i64::from(rc.weight),
                        cfg: rc,
                        alive: false,
                        checkers,
                    };
                    r.effective_weight = r.dynamic_effective_weight();
                    r
                })
                .collect();
            let mut vs = VsState {
                rss,
                quorum_up: false,
                sorry_active: false,
                vip_count: u32::from(vip_present(vi)),
                cfg,
            };
            // init_service_rs: servers whose checkers all start up are alive.
            for r in &mut vs.rss {
                r.alive = r.all_up();
            }
            vs.update_quorum(vi, true, &mut out);
            out.push(Action::TableChanged { vs: vi });
            vss.push(vs);
        }
        // register_checkers_thread: one line per checker.
        for (vi, vs) in vss.iter_mut().enumerate() {
            let enabled = !vs.cfg.ha_suspend || vs.vip_count > 0;
            let _ = vi;
            for r in &mut vs.rss {
                let name = r.name(vs.cfg.proto);
                for c in r.checkers.iter_mut().filter(|c| c.scheduled()) {
                    c.set_enabled_quiet(enabled);
                    out.push(Action::Log(log::checker_start(
                        enabled,
                        &name,
                        &vs.cfg.name,
                    )));
                }
            }
        }
        out.dedup_by(|a, b| {
            matches!((a, b), (Action::TableChanged { vs: x }, Action::TableChanged { vs: y }) if x == y)
        });
        let mut e = Engine {
            vss,
            next_token: 1,
            timers: BinaryHeap::new(),
            scheduled: 0,
        };
        e.rebuild_timers();
        (e, out)
    }

    /// Reload with new configurations (SIGHUP). Virtual servers are matched
    /// by name, real servers by address, checkers by position and type;
    /// matched state is kept so an unchanged configuration changes nothing
    /// (keepalived `clear_diff_services` / `migrate_checkers`). Returns the
    /// actions; the daemon then reconciles every `desired_table`, removing
    /// the virtual servers that are gone.
    pub fn reload(
        &mut self,
        configs: Vec<VirtualServerConfig>,
        now: Millis,
        warmup_jitter: &mut dyn FnMut(Duration) -> Duration,
        vip_present: &dyn Fn(usize) -> bool,
    ) -> Vec<Action> {
        let mut old: Vec<Option<VsState>> = std::mem::take(&mut self.vss)
            .into_iter()
            .map(Some)
            .collect();
        let mut out = Vec::new();
        for (vi, cfg) in configs.into_iter().enumerate() {
            let found = old.iter().position(|o| {
                o.as_ref()
                    .is_some_and(|o| o.cfg.name == cfg.name && o.cfg.proto == cfg.proto)
            });
            let Some(oi) = found else {
                let (mut e, acts) =
                    Engine::new(vec![cfg], now, warmup_jitter, &|_| vip_present(vi));
                debug_assert!(e.vss.len() == 1);
                out.extend(acts.into_iter().map(|a| renumber(a, vi)));
                self.vss.append(&mut e.vss);
                continue;
            };
            let Some(mut ovs) = old[oi].take() else {
                continue;
            };
            let mut cfg = cfg;
            let rs_cfgs = std::mem::take(&mut cfg.real_servers);
            let mut rss = Vec::with_capacity(rs_cfgs.len());
            for mut rc in rs_cfgs {
                let mut checkers: Vec<Checker> = std::mem::take(&mut rc.checkers)
                    .into_iter()
                    .map(|c| {
                        let j = warmup_jitter(c.warmup);
                        Checker::new(c, now, j)
                    })
                    .collect();
                let prev = ovs
                    .rss
                    .iter()
                    .position(|r| r.cfg.addr == rc.addr)
                    .map(|i| ovs.rss.swap_remove(i));
                let Some(prev) = prev else {
                    let mut r = RsState {
                        effective_weight: i64::from(rc.weight),
                        alive: checkers.iter().all(Checker::is_up),
                        cfg: rc,
                        checkers,
                    };
                    r.effective_weight = r.dynamic_effective_weight();
                    rss.push(r);
                    continue;
                };
                for (i, c) in checkers.iter_mut().enumerate() {
                    match prev.checkers.get(i) {
                        Some(o)
                            if std::mem::discriminant(&o.config().kind)
                                == std::mem::discriminant(&c.config().kind) =>
                        {
                            c.migrate_from(o)
                        }
                        _ => c.reset_for_reload(),
                    }
                }
                let failed = checkers.iter().any(|c| c.has_run() && !c.is_up());
                let any_run = checkers.iter().any(Checker::has_run);
                if failed || (!prev.alive && !any_run) {
                    checkers.iter_mut().for_each(Checker::pessimise_if_not_run);
                }
                rss.push(RsState {
                    effective_weight: prev.effective_weight,
                    alive: prev.alive,
                    cfg: rc,
                    checkers,
                });
            }
            for gone in &ovs.rss {
                out.push(Action::Log(log::service_gone(&gone.name(ovs.cfg.proto))));
            }
            let mut vs = VsState {
                rss,
                quorum_up: ovs.quorum_up,
                sorry_active: ovs.sorry_active && cfg.sorry_server.is_some(),
                vip_count: ovs.vip_count,
                cfg,
            };
            for ri in 0..vs.rss.len() {
                let w = vs.rss[ri].dynamic_effective_weight();
                if w != vs.rss[ri].effective_weight {
                    vs.set_rs_weight(vi, ri, w, &mut out);
                }
                let up = vs.rss[ri].all_up();
                if up != vs.rss[ri].alive {
                    vs.set_rs_alive(vi, ri, up, &mut out);
                }
            }
            vs.update_quorum(vi, true, &mut out);
            out.push(Action::TableChanged { vs: vi });
            self.vss.push(vs);
        }
        self.rebuild_timers();
        out
    }

    /// A virtual server's configuration; its `real_servers` list is empty
    /// (see [`Engine::rs_config`]).
    pub fn vs_config(&self, vs: usize) -> Option<&VirtualServerConfig> {
        self.vss.get(vs).map(|v| &v.cfg)
    }

    /// Number of real servers of a virtual server.
    pub fn rs_len(&self, vs: usize) -> usize {
        self.vss.get(vs).map_or(0, |v| v.rss.len())
    }

    /// A real server's configuration; its `checkers` list is empty (see
    /// [`Engine::checker`]).
    pub fn rs_config(&self, vs: usize, rs: usize) -> Option<&RealServerConfig> {
        self.vss.get(vs)?.rss.get(rs).map(|r| &r.cfg)
    }

    /// Number of checkers of a real server.
    pub fn checker_len(&self, vs: usize, rs: usize) -> usize {
        self.vss
            .get(vs)
            .and_then(|v| v.rss.get(rs))
            .map_or(0, |r| r.checkers.len())
    }

    /// Number of virtual servers.
    pub fn len(&self) -> usize {
        self.vss.len()
    }

    /// Whether there is no virtual server.
    pub fn is_empty(&self) -> bool {
        self.vss.is_empty()
    }

    /// The earliest time [`Engine::on_timer`] has work to do.
    pub fn next_wakeup(&self) -> Option<Millis> {
        self.timers.peek().map(|Reverse(k)| k.at)
    }

    fn rebuild_timers(&mut self) {
        let n: usize = self
            .vss
            .iter()
            .flat_map(|v| v.rss.iter())
            .map(|r| r.checkers.iter().filter(|c| c.scheduled()).count())
            .sum();
        self.scheduled = n;
        // Room for a stale entry per two checkers before the next rebuild;
        // the buffer is reused (a rebuild while probing allocates nothing).
        let room = timer_room(n);
        let mut timers = std::mem::take(&mut self.timers).into_vec();
        timers.clear();
        if timers.capacity() > 2 * room {
            timers.shrink_to(room);
        }
        timers.reserve_exact(room);
        for (vi, v) in self.vss.iter().enumerate() {
            for (ri, r) in v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if !c.scheduled() {
                        continue;
                    }
                    let id = CheckerId {
                        vs: vi,
                        rs: ri,
                        checker: ci,
                    };
                    timers.push(Reverse(TimerKey::new(c.next_wakeup(), id)));
                }
            }
        }
        self.timers = BinaryHeap::from(timers);
    }

    fn is_current(&self, t: Millis, id: CheckerId) -> bool {
        self.checker(id).is_some_and(|c| c.next_wakeup() == t)
    }

    /// Drops stale entries from the top of the heap so `peek` is valid.
    fn prune(&mut self) {
        while let Some(Reverse(k)) = self.timers.peek().copied() {
            if self.is_current(k.at, k.id()) {
                break;
            }
            self.timers.pop();
        }
    }

    fn rearm(&mut self, id: CheckerId) {
        if let Some(c) = self.checker(id).filter(|c| c.scheduled()) {
            let t = c.next_wakeup();
            if self.timers.len() == self.timers.capacity()
                && self.timers.len() >= timer_room(self.scheduled)
            {
                // Full of stale entries: rebuild rather than grow (this
                // checker's new time is in the rebuilt heap).
                self.rebuild_timers();
                return;
            }
            self.timers.push(Reverse(TimerKey::new(t, id)));
        }
    }

    /// Runs every due timer: starts probes, fails probes past their deadline.
    /// Cost: O(due · log n), not a scan of all checkers.
    pub fn on_timer(&mut self, now: Millis) -> Vec<Action> {
        let mut out = Vec::new();
        let mut due = Vec::new();
        while let Some(Reverse(k)) = self.timers.peek().copied() {
            if k.at > now {
                break;
            }
            self.timers.pop();
            if self.is_current(k.at, k.id()) {
                due.push(k.id());
            }
        }
        due.dedup();
        for id in due {
            let token = self.next_token;
            let Some(step) = self.with_checker(id, |c, names| c.on_timer(now, token, names)) else {
                continue;
            };
            if step.start.is_some() {
                self.next_token += 1;
            }
            self.apply(id, step, &mut out);
            self.rearm(id);
        }
        self.prune();
        out
    }

    /// A probe finished.
    pub fn on_result(
        &mut self,
        now: Millis,
        id: CheckerId,
        token: u64,
        outcome: ProbeOutcome,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        // Tokens are unique engine-wide: after a reload the daemon may
        // report an in-flight probe under the checker's old id.
        let id = match self.checker(id) {
            Some(c) if c.in_flight() == Some(token) => id,
            _ => match self.find_token(token) {
                Some(id) => id,
                None => return out,
            },
        };
        let Some(step) = self.with_checker(id, |c, names| c.on_result(now, token, outcome, names))
        else {
            return out;
        };
        self.apply(id, step, &mut out);
        self.rearm(id);
        self.prune();
        out
    }

    /// Whether a probe with this token is still awaited (after a reload the
    /// daemon can abort the probes that are not).
    pub fn is_in_flight(&self, token: u64) -> bool {
        self.find_token(token).is_some()
    }

    fn find_token(&self, token: u64) -> Option<CheckerId> {
        for (vi, v) in self.vss.iter().enumerate() {
            for (ri, r) in v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if c.in_flight() == Some(token) {
                        return Some(CheckerId {
                            vs: vi,
                            rs: ri,
                            checker: ci,
                        });
                    }
                }
            }
        }
        None
    }

    /// Runs `f` on a checker with the names its log lines use.
    fn with_checker<R>(
        &mut self,
        id: CheckerId,
        f: impl FnOnce(&mut Checker, Names<'_>) -> R,
    ) -> Option<R> {
        let vs = self.vss.get_mut(id.vs)?;
        let r = vs.rss.get_mut(id.rs)?;
        let name = r.name(vs.cfg.proto);
        let c = r.checkers.get_mut(id.checker)?;
        Some(f(
            c,
            Names {
                rs: &name,
                vs: &vs.cfg.name,
            },
        ))
    }

    /// A checker's state, for status dumps.
    pub fn checker(&self, id: CheckerId) -> Option<&Checker> {
        self.vss
            .get(id.vs)?
            .rss
            .get(id.rs)?
            .checkers
            .get(id.checker)
    }

    fn apply(&mut self, id: CheckerId, step: CheckerStep, out: &mut Vec<Action>) {
        let vs = &mut self.vss[id.vs];
        if let Some(token) = step.abort {
            out.push(Action::AbortProbe { id, token });
        }
        if let Some(dw) = step.dynamic_weight.filter(|d| !d.silent) {
            let _ = dw;
            let w = vs.rss[id.rs].dynamic_effective_weight();
            vs.set_rs_weight(id.vs, id.rs, w, out);
        }
        out.extend(step.logs.into_iter().map(Action::Log));
        if step.changed.is_some() {
            let all_up = vs.rss[id.rs].all_up();
            vs.set_rs_alive(id.vs, id.rs, all_up, out);
        }
        if step.dynamic_weight.is_some_and(|d| d.silent) {
            vs.rss[id.rs].effective_weight = vs.rss[id.rs].dynamic_effective_weight();
        }
        if let Some(probe) = step.start {
            out.push(Action::StartProbe { id, probe });
        }
    }

    /// FILE_CHECK: track file `name` now holds `value` (the daemon read
    /// it after an inotify event; a deleted file is 0). Every checker of
    /// that file is updated as keepalived's
    /// `process_update_checker_track_file_status`: FAULT takes the checker
    /// down (its weight withdrawn), leaving FAULT adds its weight and
    /// brings it up, otherwise the real server's weight changes
    /// (`Changing weight from A to B ...`).
    pub fn track_file_value(&mut self, name: &str, value: i64) -> Vec<Action> {
        let mut out = Vec::new();
        for (vi, v) in self.vss.iter_mut().enumerate() {
            for ri in 0..v.rss.len() {
                for ci in 0..v.rss[ri].checkers.len() {
                    let c = &mut v.rss[ri].checkers[ci];
                    if !matches!(&c.config().kind, CheckKind::File { name: n, .. } if n == name) {
                        continue;
                    }
                    let Some(ch) = c.set_file_value(value) else {
                        continue;
                    };
                    match ch {
                        FileChange::ToFault => {
                            let up = v.rss[ri].all_up();
                            v.set_rs_alive(vi, ri, up, &mut out);
                            v.rss[ri].effective_weight = v.rss[ri].dynamic_effective_weight();
                        }
                        FileChange::FromFault(_) => {
                            v.rss[ri].effective_weight = v.rss[ri].dynamic_effective_weight();
                            let up = v.rss[ri].all_up();
                            v.set_rs_alive(vi, ri, up, &mut out);
                        }
                        FileChange::Weight(..) => {
                            let w = v.rss[ri].dynamic_effective_weight();
                            v.set_rs_weight(vi, ri, w, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    /// The names of the track files FILE_CHECKs refer to.
    pub fn track_files(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .vss
            .iter()
            .flat_map(|v| v.rss.iter())
            .flat_map(|r| r.checkers.iter())
            .filter_map(|c| match &c.config().kind {
                CheckKind::File { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// An address of ha_suspend virtual server `vs` was added or removed
    /// locally (the daemon matches addresses to virtual servers).
    pub fn vip_event(&mut self, vs: usize, added: bool) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(v) = self.vss.get_mut(vs) else {
            return out;
        };
        if !v.cfg.ha_suspend {
            return out;
        }
        if added {
            v.vip_count = v.vip_count.saturating_add(1);
        } else {
            v.vip_count = v.vip_count.saturating_sub(1);
        }
        let count = v.vip_count;
        for r in &mut v.rss {
            let name = r.name(v.cfg.proto);
            let names = Names {
                rs: &name,
                vs: &v.cfg.name,
            };
            for c in r.checkers.iter_mut().filter(|c| c.scheduled()) {
                if added != c.enabled() && (added || count == 0) {
                    if let Some(l) = c.set_enabled(added, names) {
                        out.push(Action::Log(l));
                    }
                }
            }
        }
        out
    }

    /// Shutdown notifications for `omega` virtual servers.
    pub fn shutdown(&self) -> Vec<Action> {
        let mut out = Vec::new();
        for (vi, v) in self.vss.iter().enumerate().filter(|(_, v)| v.cfg.omega) {
            for (ri, r) in v.rss.iter().enumerate() {
                if r.alive {
                    out.push(Action::Notify(Notify::RsDown { vs: vi, rs: ri }));
                }
            }
            out.push(Action::Notify(Notify::QuorumDown { vs: vi }));
        }
        out
    }

    /// Whether the virtual server has quorum.
    pub fn quorum_up(&self, vs: usize) -> bool {
        self.vss.get(vs).is_some_and(|v| v.quorum_up)
    }

    /// Whether a real server is alive (all its checkers up).
    pub fn rs_alive(&self, vs: usize, rs: usize) -> bool {
        self.vss
            .get(vs)
            .and_then(|v| v.rss.get(rs))
            .is_some_and(|r| r.alive)
    }

    /// The desired destinations of a virtual server: every real server and
    /// the sorry server, with whether each must be present and its weight.
    pub fn desired_table(&self, vs: usize) -> Vec<DesiredDest> {
        let Some(v) = self.vss.get(vs) else {
            return Vec::new();
        };
        let mut t: Vec<DesiredDest> = v
            .rss
            .iter()
            .map(|r| {
                let in_pool = r.alive && !v.sorry_active;
                DesiredDest {
                    addr: r.cfg.addr,
                    weight: if in_pool {
                        u32::try_from(real_weight(r.effective_weight)).unwrap_or(u32::MAX)
                    } else {
                        0
                    },
                    present: in_pool || r.cfg.inhibit_on_failure,
                    sorry: false,
                }
            })
            .collect();
        if let Some(s) = &v.cfg.sorry_server {
            t.push(DesiredDest {
                addr: s.addr,
                weight: if v.sorry_active { s.weight } else { 0 },
                present: v.sorry_active || s.inhibit,
                sorry: true,
            });
        }
        t
    }
}
