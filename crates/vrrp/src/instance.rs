//! One VRRP instance as a sans-IO state machine:
//! [`Instance::handle`]`(now, input) -> Vec<Action>`.
//!
//! Behaviour follows keepalived 2.2.7 (`vrrp/vrrp.c`, `vrrp/vrrp_scheduler.c`,
//! `vrrp/vrrp_track.c`); deviations are listed in `notes/vrrp-core.md`.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use crate::action::{Action, Input, LogLine, NotifyEvent, OutPacket, State, TimerKind};
use crate::auth_hmac::{self, HmacState};
use crate::config::{Auth, InitialState, InstanceConfig, TrackConfig, TrackKind, V3Checksum};
use crate::rx::{Counter, LogLevel, RxError, RxPacket};
use crate::stats::Stats;
use crate::time::{Centis, Instant};
use crate::timers;
use crate::track::{effect, Effect, TrackStatus};
use crate::wire::{self, ah, ipv4, vrrp as wv, ChecksumMode, Family, Version, VrrpRepr};

/// An advert that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// Source address of the sender.
    pub src: IpAddr,
    /// Its priority.
    pub priority: u8,
    /// Its advert interval (v3: the master's interval to adopt).
    pub adver_int: Centis,
    /// AH sequence number (auth_type AH only).
    pub ah_seq: Option<u32>,
}

/// Why the instance cannot run (FAULT or waiting for scripts).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    NoAddress,
    Interface(String),
    Script(String),
    File(String, i64),
    Other(String),
    Sync,
    Init,
}

/// An optional point in time in 8 bytes (`Option<Instant>` takes 16, and
/// an instance keeps eleven): `u64::MAX` stands for "none". A time of
/// exactly `u64::MAX` µs (what saturated arithmetic gives, half a million
/// years away) is kept as `u64::MAX - 1`, so nothing set becomes unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct When(u64);

impl When {
    const NONE: When = When(u64::MAX);

    fn from(t: Option<Instant>) -> When {
        t.map_or(When::NONE, |t| When(t.as_micros().min(u64::MAX - 1)))
    }

    fn get(self) -> Option<Instant> {
        (self != When::NONE).then_some(Instant::from_micros(self.0))
    }
}

/// A VRRP instance.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    wantstate: State,
    base_priority: u8,
    effective_priority: u8,
    /// µs, keepalived `master_adver_int` (in Centis for v3 adoption).
    master_adver_int: Centis,
    /// µs, keepalived `ms_down_timer`.
    ms_down_timer: u32,
    timers: [When; 4],
    announced: [When; 4],
    garp_refresh_at: When,
    preempt_time: When,
    master_saddr: Option<IpAddr>,
    master_priority: u8,
    vipset: bool,
    ip_id: u16,
    /// keepalived `ipsecah_counter`: one counter for both the sequence
    /// numbers we send and the anti-replay check on what we receive.
    ah_seq: u32,
    ah_cycle: bool,
    chksum_compat_auto: bool,
    src: Option<IpAddr>,
    interface_up: bool,
    sync_fault: bool,
    delayed_start: When,
    track_status: Box<[TrackStatus]>,
    stats: Stats,
    /// `auth_hmac` state (sequence, replay marks). Boxed: most instances
    /// have none, and the state is ~200 bytes.
    hmac: Option<Box<HmacState>>,
    /// Time of the input being handled (for `auth_hmac`).
    now: Instant,
}

impl Instance {
    /// A new instance in [`State::Init`]. Send [`Input::Startup`] (after any
    /// [`Input::Interface`] / [`Input::Tracker`] inputs giving the initial
    /// states of the interface and tracked objects) to start it.
    pub fn new(cfg: InstanceConfig) -> Self {
        let n = cfg.trackers.len();
        let src = cfg.src_addr;
        let prio = cfg.priority;
        let adv = cfg.adver_int;
        Instance {
            cfg,
            state: State::Init,
            wantstate: State::Backup,
            base_priority: prio,
            effective_priority: prio,
            master_adver_int: adv,
            ms_down_timer: 0,
            timers: [When::NONE; 4],
            announced: [When::NONE; 4],
            garp_refresh_at: When::NONE,
            preempt_time: When::NONE,
            master_saddr: None,
            master_priority: 0,
            vipset: false,
            ip_id: 0,
            ah_seq: 0,
            ah_cycle: false,
            chksum_compat_auto: false,
            src,
            interface_up: true,
            sync_fault: false,
            delayed_start: When::NONE,
            track_status: vec![TrackStatus::Unknown; n].into_boxed_slice(),
            stats: Stats::default(),
            hmac: None,
            now: Instant::from_micros(0),
        }
        .with_hmac()
    }

    fn with_hmac(mut self) -> Self {
        self.hmac = self.cfg.auth_hmac.as_deref().cloned().map(|c| {
            let mut h = HmacState::new(c);
            h.set_max_senders(self.cfg.unicast_peers.len());
            Box::new(h)
        });
        self
    }

    /// Report the wall clock (UTC µs since the Unix epoch) read at monotonic
    /// `now`, for `auth_hmac`. Call once before [`Input::Startup`], then
    /// every few seconds: a disagreement that lasts is followed (see
    /// [`crate::auth_hmac`]). Returns a log line for the events worth one (a
    /// new step, and the moment the clock starts following it).
    pub fn set_wall_clock(&mut self, now: Instant, unix_micros: u64) -> Option<LogLine> {
        let ev = self.hmac.as_mut()?.observe_wall_clock(now, unix_micros);
        ev.log_line(&self.cfg.name).map(|text| LogLine {
            level: LogLevel::Info,
            text,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
    /// Instance name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Effective priority (base + tracker weights, clamped 1..254; 255 for
    /// the owner).
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// Zeroes the counters (SIGRTMAX-1 "stats clear").
    pub fn clear_stats(&mut self) {
        self.stats = Stats::default();
    }
    /// The advert interval in use for timers (v3 backups: the master's).
    pub fn master_adver_int(&self) -> Centis {
        self.master_adver_int
    }
    /// Address and priority of the master last accepted by this backup.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master_saddr.map(|a| (a, self.master_priority))
    }
    /// The state this instance would be in disregarding its sync group
    /// (keepalived `wantstate`).
    pub fn wantstate(&self) -> State {
        self.wantstate
    }
    /// The instance cannot run for a reason of its own (interface, tracker,
    /// address, script not run yet), as opposed to being held in FAULT by
    /// its sync group.
    pub fn own_fault(&self) -> bool {
        self.block_ignoring_sync().is_some()
    }
    /// The VIPs are currently installed (as far as this instance asked).
    pub fn vips_set(&self) -> bool {
        self.vipset
    }
    /// The earliest pending timer.
    pub fn next_deadline(&self) -> Option<(TimerKind, Instant)> {
        TimerKind::ALL
            .into_iter()
            .filter_map(|k| self.timers[k.index()].get().map(|t| (k, t)))
            .min_by_key(|(_, t)| *t)
    }
    /// Current Skew_Time in µs.
    pub fn skew_time_us(&self) -> u32 {
        timers::skew_us(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int,
        )
    }
    /// Current Master_Down_Interval in µs.
    pub fn master_down_interval_us(&self) -> u32 {
        timers::master_down_us(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        )
    }

    /// Processes one input at time `now`; returns the actions to perform,
    /// in order. Timer actions come last.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// [`Instance::handle`] appending to `out`, so a caller can reuse one
    /// vector for every input (no allocation per received advert).
    pub fn handle_into(&mut self, now: Instant, input: Input<'_>, out: &mut Vec<Action>) {
        self.now = now;
        match input {
            Input::Startup => self.startup(now, out),
            Input::Packet(p) => self.receive(now, p, out),
            Input::TimerExpired(k) => self.timer(now, k, out),
            Input::Interface { up } => {
                self.interface_up = up;
                self.reevaluate(now, out);
            }
            Input::Tracker { kind, name, status } => {
                for i in 0..self.cfg.trackers.len() {
                    let t = &self.cfg.trackers[i];
                    if t.kind != kind || t.name != name {
                        continue;
                    }
                    let before = effect(t, self.track_status[i]);
                    let after = effect(t, status);
                    if kind == TrackKind::File
                        && self.state != State::Init
                        && (before == Effect::Fault) != (after == Effect::Fault)
                    {
                        // trackers/track_file.c, logged with -D only
                        let what = if after == Effect::Fault {
                            "now FAULT state"
                        } else {
                            "leaving FAULT state"
                        };
                        let text = format!("({}): tracked file {} {}", self.cfg.name, name, what);
                        self.log(out, LogLevel::Detail, text);
                    }
                    self.track_status[i] = status;
                }
                self.reevaluate(now, out);
            }
            Input::SourceAddress(a) => {
                self.src = self.cfg.src_addr.or(a);
                self.reevaluate(now, out);
            }
            Input::SyncGoMaster => {
                if self.state == State::Backup {
                    self.enter_master(now, out);
                }
            }
            Input::SyncFault(f) => {
                self.sync_fault = f;
                self.reevaluate(now, out);
            }
            Input::SyncGoBackup => {
                if self.state == State::Master {
                    self.wantstate = State::Backup;
                    self.leave_master(now, State::Backup, false, out);
                } else {
                    self.wantstate = State::Backup;
                }
            }
            Input::Reload(cfg) => self.reload(now, *cfg, out),
            Input::Shutdown => self.shutdown(out),
        }
        self.sync_timers(out);
    }

    // ===== helpers =====

    fn log(&self, out: &mut Vec<Action>, level: LogLevel, text: String) {
        out.push(Action::Log(LogLine { level, text }));
    }

    fn set_state(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        if from != to {
            self.state = to;
            out.push(Action::StateChanged { from, to });
        }
    }

    fn set_timer(&mut self, kind: TimerKind, at: Option<Instant>) {
        self.timers[kind.index()] = When::from(at);
    }

    fn sync_timers(&mut self, out: &mut Vec<Action>) {
        for k in TimerKind::ALL {
            let i = k.index();
            if self.timers[i] != self.announced[i] {
                match self.timers[i].get() {
                    Some(at) => out.push(Action::ArmTimer { kind: k, at }),
                    None => out.push(Action::CancelTimer { kind: k }),
                }
                self.announced[i] = self.timers[i];
            }
        }
    }

    /// keepalived `vrrp_init_instance_sands`.
    fn init_sands(&mut self, now: Instant) {
        match self.state {
            State::Master => {
                self.set_timer(TimerKind::MasterDown, None);
                self.set_timer(
                    TimerKind::Advert,
                    Some(now.add_micros(u64::from(self.cfg.adver_int.as_micros()))),
                );
            }
            State::Backup => {
                self.set_timer(TimerKind::Advert, None);
                let base = match self.delayed_start.get() {
                    Some(ds) if now < ds => ds,
                    _ => {
                        self.delayed_start = When::NONE;
                        now
                    }
                };
                self.set_timer(
                    TimerKind::MasterDown,
                    Some(base.add_micros(u64::from(self.ms_down_timer))),
                );
            }
            _ => {
                self.set_timer(TimerKind::Advert, None);
                self.set_timer(TimerKind::MasterDown, None);
            }
        }
    }

    fn is_owner(&self) -> bool {
        self.base_priority == 255
    }

    fn want_master_at_start(&self) -> bool {
        self.cfg.initial_state == InitialState::Master
    }

    /// The reason the instance cannot run, if any (keepalived
    /// `num_script_if_fault` / `num_script_init`).
    fn block(&self) -> Option<Block> {
        if self.src.is_none() {
            return Some(Block::NoAddress);
        }
        if !self.interface_up && !self.cfg.dont_track_primary {
            return Some(Block::Interface(self.cfg.interface.to_string()));
        }
        let mut init = false;
        for (t, s) in self.cfg.trackers.iter().zip(&self.track_status) {
            match effect(t, *s) {
                Effect::Fault => return Some(fault_of(t, *s)),
                Effect::Init => init = true,
                Effect::Weight(_) => {}
            }
        }
        if init {
            return Some(Block::Init);
        }
        self.sync_fault.then_some(Block::Sync)
    }

    fn block_ignoring_sync(&self) -> Option<Block> {
        self.block().filter(|b| *b != Block::Sync)
    }

    fn total_priority(&self) -> i64 {
        let mut total = i64::from(self.base_priority);
        for (t, s) in self.cfg.trackers.iter().zip(&self.track_status) {
            if let Effect::Weight(w) = effect(t, *s) {
                total += i64::from(w);
            }
        }
        total
    }

    /// keepalived `vrrp_set_effective_priority`.
    fn set_effective_priority(&mut self, out: &mut Vec<Action>) {
        if self.is_owner() {
            return;
        }
        let new = self.total_priority().clamp(1, 254) as u8;
        if new == self.effective_priority {
            return;
        }
        let old = self.effective_priority;
        self.log(
            out,
            LogLevel::Info,
            format!(
                "({}) Changing effective priority from {} to {}",
                self.cfg.name, old, new
            ),
        );
        self.effective_priority = new;
        let old_down = self.ms_down_timer;
        self.ms_down_timer = self.master_down_interval_us();
        if self.state == State::Backup {
            if let Some(t) = self.timers[TimerKind::MasterDown.index()].get() {
                let shifted = if old_down < self.ms_down_timer {
                    t.add_micros(u64::from(self.ms_down_timer - old_down))
                } else {
                    Instant(t.0.saturating_sub(u64::from(old_down - self.ms_down_timer)))
                };
                self.set_timer(TimerKind::MasterDown, Some(shifted));
            }
        }
        out.push(Action::PriorityChanged { from: old, to: new });
    }

    // ===== startup / tracking =====

    /// keepalived `initialise_tracking_priorities` + `vrrp_init_state` +
    /// `vrrp_init_instance_sands`.
    fn startup(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        if !self.cfg.startup_delay.is_zero() {
            self.delayed_start = When::from(Some(now.add_duration(self.cfg.startup_delay)));
        }
        let block = self.block();
        if let Some(b) = &block {
            if let Some(line) = self.fault_line(b) {
                self.log(out, LogLevel::Info, line);
            }
        }
        self.set_effective_priority(out);
        self.wantstate = if self.want_master_at_start() {
            State::Master
        } else {
            State::Backup
        };
        self.master_adver_int = self.cfg.adver_int;
        match block {
            None if self.wantstate == State::Master && self.is_owner() => {
                // keepalived: "The simplest way to become master is to time
                // out from the backup state very quickly (1 µs)". No log.
                self.state = State::Backup;
                out.push(Action::StateChanged {
                    from: State::Init,
                    to: State::Backup,
                });
                self.ms_down_timer = 1;
            }
            None => {
                self.ms_down_timer = self.master_down_interval_us();
                self.log(
                    out,
                    LogLevel::Info,
                    format!("({}) Entering BACKUP STATE (init)", self.cfg.name),
                );
                self.set_state(State::Backup, out);
                out.push(Action::Notify(NotifyEvent::Backup));
            }
            Some(b) => {
                self.ms_down_timer = self.master_down_interval_us();
                if b == Block::Init {
                    // Observed with keepalived 2.2.7: an instance waiting for a
                    // weight-0 script's first result logs nothing and does
                    // not notify.
                    self.set_state(State::Fault, out);
                } else {
                    // vrrp_complete_init (vrrp/vrrp.c): lower-case line, then
                    // notify — observed with 2.2.7 and a down track_interface.
                    self.log(
                        out,
                        LogLevel::Info,
                        format!("({}) entering FAULT state", self.cfg.name),
                    );
                    self.set_state(State::Fault, out);
                    out.push(Action::Notify(NotifyEvent::Fault));
                }
            }
        }
        self.init_sands(now);
    }

    fn fault_line(&self, b: &Block) -> Option<String> {
        let n = &self.cfg.name;
        Some(match b {
            Block::NoAddress => format!(
                "({n}) entering FAULT state (no IPv{} address for interface)",
                if self.cfg.family == Family::V4 { 4 } else { 6 }
            ),
            Block::Interface(i) => format!("({n}): entering FAULT state (interface {i} down)"),
            Block::Script(s) => format!("({n}): entering FAULT state due to script {s}"),
            Block::File(f, v) => {
                format!("({n}): entering FAULT state (tracked file {f} has status {v})")
            }
            Block::Other(s) => format!("({n}) entering FAULT state (tracked {s})"),
            Block::Init | Block::Sync => return None,
        })
    }

    /// After any tracker/interface/address change: priority, then FAULT
    /// in or out (keepalived `down_instance` / `try_up_instance`).
    fn reevaluate(&mut self, now: Instant, out: &mut Vec<Action>) {
        if matches!(self.state, State::Init | State::Stopped) {
            return;
        }
        self.set_effective_priority(out);
        let block = self.block();
        match (self.state, block) {
            (State::Fault, None) => self.try_up(now, out),
            (State::Fault, Some(_)) => {}
            (_, Some(Block::Init)) => {}
            // vrrp_sync_fault: leave_master(isync, false) — one priority 0 only
            (_, Some(Block::Sync)) => self.down(now, false, out),
            (_, Some(_)) => self.down(now, true, out),
            (_, None) => {}
        }
    }

    /// keepalived `down_instance`.
    fn down(&mut self, now: Instant, adv_f: bool, out: &mut Vec<Action>) {
        self.wantstate = State::Fault;
        if self.state == State::Master {
            self.leave_master(now, State::Fault, adv_f, out);
        } else {
            // vrrp_state_leave_fault with wantstate FAULT.
            self.log(
                out,
                LogLevel::Info,
                format!("({}) Entering FAULT STATE", self.cfg.name),
            );
            self.set_state(State::Fault, out);
            out.push(Action::Notify(NotifyEvent::Fault));
            self.master_adver_int = self.cfg.adver_int;
            self.ms_down_timer = self.master_down_interval_us();
            self.init_sands(now);
        }
    }

    /// keepalived `try_up_instance` + `vrrp_state_leave_fault`.
    fn try_up(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.wantstate = if self.want_master_at_start() && self.is_owner() {
            State::Master
        } else {
            State::Backup
        };
        self.master_adver_int = self.cfg.adver_int;
        if self.wantstate == State::Master {
            self.goto_master(now, out);
        } else {
            self.log(
                out,
                LogLevel::Info,
                format!("({}) Entering BACKUP STATE", self.cfg.name),
            );
            self.set_state(State::Backup, out);
            out.push(Action::Notify(NotifyEvent::Backup));
            self.preempt_time = When::NONE;
        }
        self.master_adver_int = self.cfg.adver_int;
        self.ms_down_timer = self.master_down_interval_us();
        self.init_sands(now);
    }

    // ===== MASTER =====

    /// keepalived `vrrp_state_goto_master`.
    fn goto_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.cfg.sync_group {
            self.wantstate = State::Master;
            out.push(Action::SyncWantMaster);
            return;
        }
        self.enter_master(now, out);
    }

    fn enter_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.ah_cycle {
            self.ah_cycle = false;
            self.ah_seq = 0;
        }
        self.wantstate = State::Master;
        let from = self.state;
        self.state = State::Master;
        self.init_sands(now);
        self.master_tx(now, Some(from), out);
    }

    /// keepalived `vrrp_state_master_tx`.
    fn master_tx(&mut self, now: Instant, entering_from: Option<State>, out: &mut Vec<Action>) {
        // "the old master needs to remove the VIPs before we send the
        // gratuitous ARPs, so send the advert first"
        self.send_advert(self.effective_priority, out);
        if !self.vipset {
            self.log(
                out,
                LogLevel::Info,
                format!("({}) Entering MASTER STATE", self.cfg.name),
            );
            if let Some(from) = entering_from {
                if from != State::Master {
                    out.push(Action::StateChanged {
                        from,
                        to: State::Master,
                    });
                }
            }
            self.become_master(now, out);
            if !self.cfg.garp_master_delay.is_zero() {
                self.set_timer(
                    TimerKind::GarpDelay,
                    Some(now.add_duration(self.cfg.garp_master_delay)),
                );
            }
        } else if let Some(at) = self.garp_refresh_at.get() {
            if now > at {
                out.push(Action::SendGratuitous {
                    repeat: self.cfg.garp_master_refresh_repeat,
                });
                self.garp_refresh_at =
                    When::from(Some(now.add_duration(self.cfg.garp_master_refresh)));
            }
        }
    }

    /// keepalived `vrrp_state_become_master`.
    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.stats.become_master = self.stats.become_master.wrapping_add(1);
        if self.cfg.version == Version::V3 && self.master_adver_int != self.cfg.adver_int {
            self.log(
                out,
                LogLevel::Detail,
                format!(
                    "({}) changing advert interval from {}ms to locally configured {}ms",
                    self.cfg.name,
                    u32::from(self.master_adver_int.0) * 10,
                    u32::from(self.cfg.adver_int.0) * 10
                ),
            );
        }
        self.master_adver_int = self.cfg.adver_int;
        out.push(Action::AddVips);
        self.vipset = true;
        if self.cfg.garp_master_repeat > 0 {
            out.push(Action::SendGratuitous {
                repeat: self.cfg.garp_master_repeat,
            });
        }
        self.garp_refresh_at = When::from(if self.cfg.garp_master_refresh.is_zero() {
            None
        } else {
            Some(now.add_duration(self.cfg.garp_master_refresh))
        });
        out.push(Action::Notify(NotifyEvent::Master));
    }

    /// keepalived `vrrp_state_leave_master` (+ `vrrp_restore_interface`).
    fn leave_master(&mut self, now: Instant, to: State, adv_f: bool, out: &mut Vec<Action>) {
        match to {
            State::Backup => {
                self.log(
                    out,
                    LogLevel::Info,
                    format!("({}) Entering BACKUP STATE", self.cfg.name),
                );
                self.preempt_time = When::NONE;
            }
            _ => {
                self.log(
                    out,
                    LogLevel::Info,
                    format!("({}) Entering FAULT STATE", self.cfg.name),
                );
                self.send_advert(0, out);
            }
        }
        self.restore_interface(adv_f, out);
        self.set_state(to, out);
        out.push(Action::Notify(if to == State::Backup {
            NotifyEvent::Backup
        } else {
            NotifyEvent::Fault
        }));
        if to != State::Backup {
            self.master_adver_int = self.cfg.adver_int;
        }
        self.ms_down_timer = self.master_down_interval_us();
        self.init_sands(now);
        self.stats.release_master = self.stats.release_master.wrapping_add(1);
    }

    /// keepalived `vrrp_restore_interface`.
    fn restore_interface(&mut self, adv_f: bool, out: &mut Vec<Action>) {
        if adv_f {
            self.send_advert(0, out);
            self.stats.pri_zero_sent = self.stats.pri_zero_sent.wrapping_add(1);
            self.log(
                out,
                LogLevel::Detail,
                format!("({}) sent 0 priority", self.cfg.name),
            );
        }
        self.set_timer(TimerKind::GarpDelay, None);
        self.set_timer(TimerKind::GarpLowerPrio, None);
        self.garp_refresh_at = When::NONE;
        if self.vipset {
            out.push(Action::RemoveVips);
            self.vipset = false;
        }
    }

    // ===== timers =====

    fn timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        match self.timers[kind.index()].get() {
            Some(at) if at <= now => {}
            _ => return, // stale or early
        }
        // The daemon's timer is consumed by this expiry.
        self.set_timer(kind, None);
        self.announced[kind.index()] = When::NONE;
        match (kind, self.state) {
            (TimerKind::MasterDown, State::Backup) => {
                self.log(
                    out,
                    LogLevel::Detail,
                    format!("({}) Receive advertisement timeout", self.cfg.name),
                );
                self.wantstate = State::Master;
                self.goto_master(now, out);
                if self.state == State::Backup {
                    // sync group held us back: re-arm with the full interval
                    // like keepalived's vrrp_sync_can_goto_master
                    self.ms_down_timer = self.master_down_interval_us();
                    self.init_sands(now);
                }
            }
            (TimerKind::Advert, State::Master) => {
                self.master_tx(now, None, out);
                self.init_sands(now);
            }
            (TimerKind::GarpDelay, State::Master) if self.vipset => {
                out.push(Action::SendGratuitous {
                    repeat: self.cfg.garp_master_repeat,
                });
            }
            (TimerKind::GarpLowerPrio, State::Master) if self.vipset => {
                out.push(Action::SendGratuitous {
                    repeat: self.cfg.garp_lower_prio_repeat,
                });
            }
            _ => {}
        }
    }

    // ===== receive =====

    fn receive(&mut self, now: Instant, p: RxPacket<'_>, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Backup | State::Master) {
            return;
        }
        if let RxPacket::V6 { multicast, .. } = p {
            if multicast == self.cfg.is_unicast() {
                out.push(Action::Rejected(RxError::WrongCastV6 {
                    multicast,
                    unicast_instance: self.cfg.is_unicast(),
                }));
                return;
            }
        }
        match self.state {
            State::Backup => self.backup_rx(now, p, out),
            State::Master => self.master_rx(now, p, out),
            _ => {}
        }
    }

    fn reject(&mut self, e: RxError, out: &mut Vec<Action>) {
        if let Some(c) = e.counter() {
            let s = &mut self.stats;
            match c {
                Counter::PacketLen => s.packet_len_err = s.packet_len_err.wrapping_add(1),
                Counter::IpTtl => s.ip_ttl_err = s.ip_ttl_err.wrapping_add(1),
                Counter::Version => s.vers_err = s.vers_err.wrapping_add(1),
                Counter::InvalidAuthType => s.invalid_authtype = s.invalid_authtype.wrapping_add(1),
                Counter::AuthTypeMismatch => {
                    s.authtype_mismatch = s.authtype_mismatch.wrapping_add(1)
                }
                Counter::AuthFailure => s.auth_failure = s.auth_failure.wrapping_add(1),
                Counter::InvalidType => s.invalid_type_rcvd = s.invalid_type_rcvd.wrapping_add(1),
                Counter::AddrList => s.addr_list_err = s.addr_list_err.wrapping_add(1),
                Counter::Checksum => s.chk_err = s.chk_err.wrapping_add(1),
            }
        }
        out.push(Action::Rejected(e));
    }

    /// keepalived `vrrp_state_backup`.
    fn backup_rx(&mut self, now: Instant, p: RxPacket<'_>, out: &mut Vec<Action>) {
        let src = rx_src(&p);
        let check_addr = !self.cfg.skip_check_adv_addr || src.is_none() || self.master_saddr != src;
        let mut ignore = false;
        match self.check_packet(p, check_addr, out) {
            Err(e) => {
                self.reject(e, out);
                ignore = true;
            }
            Ok(adv) if adv.priority == 0 => {
                self.log(
                    out,
                    LogLevel::Detail,
                    format!(
                        "({}) Backup received priority 0 advertisement",
                        self.cfg.name
                    ),
                );
                self.ms_down_timer = self.skew_time_us();
            }
            Ok(adv)
                if self.cfg.nopreempt
                    || adv.priority >= self.effective_priority
                    || (!self.cfg.preempt_delay.is_zero()
                        && self.preempt_time.get().is_none_or(|t| t > now)) =>
            {
                if self.cfg.version == Version::V3 && self.master_adver_int != adv.adver_int {
                    self.update_master_adver_int(adv.adver_int, out);
                }
                self.ms_down_timer = self.master_down_interval_us();
                self.master_saddr = Some(adv.src);
                self.master_priority = adv.priority;
                if !self.cfg.preempt_delay.is_zero() {
                    if adv.priority >= self.effective_priority {
                        if self.preempt_time.get().is_some() {
                            self.log(
                                out,
                                LogLevel::Detail,
                                format!("({}) stop preempt delay", self.cfg.name),
                            );
                            self.preempt_time = When::NONE;
                        }
                    } else if self.preempt_time.get().is_none() {
                        let d = self.cfg.preempt_delay;
                        self.log(
                            out,
                            LogLevel::Detail,
                            format!(
                                "({}) start preempt delay ({}.{:06})",
                                self.cfg.name,
                                d.as_secs(),
                                d.subsec_micros()
                            ),
                        );
                        self.preempt_time = When::from(Some(now.add_duration(d)));
                    }
                }
                self.wantstate = State::Backup;
            }
            Ok(adv) => {
                self.log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({}) received lower priority ({}) advert from {} - discarding",
                        self.cfg.name, adv.priority, adv.src
                    ),
                );
                ignore = true;
                self.master_saddr = Some(adv.src);
            }
        }
        if ignore {
            let left = self.timers[TimerKind::MasterDown.index()]
                .get()
                .map_or(0, |t| t.micros_since(now));
            self.ms_down_timer = u32::try_from(left).unwrap_or(u32::MAX);
        }
        self.init_sands(now);
    }

    fn update_master_adver_int(&mut self, adv: Centis, out: &mut Vec<Action>) {
        self.log(
            out,
            LogLevel::Detail,
            format!(
                "({}) advertisement interval updated from {}ms to {}ms by master",
                self.cfg.name,
                u32::from(self.master_adver_int.0) * 10,
                u32::from(adv.0) * 10
            ),
        );
        self.master_adver_int = adv;
    }

    /// keepalived `vrrp_state_master_rx` (+ the dispatcher's timer reset).
    fn master_rx(&mut self, now: Instant, p: RxPacket<'_>, out: &mut Vec<Action>) {
        let adv = match self.check_packet(p, true, out) {
            Ok(a) => a,
            Err(e) => {
                self.reject(e, out);
                return;
            }
        };
        let addr_cmp = match self.src {
            Some(ours) if Family::of(&ours) == Family::of(&adv.src) => adv.src.cmp(&ours),
            _ => Ordering::Equal,
        };
        let eff = self.effective_priority;
        if adv.priority == 0
            || (self.cfg.higher_prio_send_advert
                && (adv.priority > eff || (adv.priority == eff && addr_cmp == Ordering::Greater)))
        {
            self.send_advert(eff, out);
            self.init_sands(now);
            if adv.priority == 0 {
                self.log(
                    out,
                    LogLevel::Detail,
                    format!("({}) Master received priority 0 message", self.cfg.name),
                );
                return;
            }
        }
        if adv.priority == self.effective_priority {
            if addr_cmp == Ordering::Equal {
                self.log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({}) WARNING - equal priority advert received from remote host with our IP address.",
                        self.cfg.name
                    ),
                );
            } else if self.effective_priority == 255 {
                self.log(out, LogLevel::Info, format!("({}) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority", self.cfg.name));
                self.effective_priority = 254;
                self.base_priority = 254;
            }
        }
        let eff = self.effective_priority;
        if adv.priority < eff || (adv.priority == eff && addr_cmp == Ordering::Less) {
            self.log(
                out,
                LogLevel::Info,
                format!(
                    "({}) Received advert from {} with lower priority {}, ours {}{}",
                    self.cfg.name,
                    adv.src,
                    adv.priority,
                    eff,
                    if self.cfg.lower_prio_no_advert {
                        ""
                    } else {
                        ", forcing new election"
                    }
                ),
            );
            if let Some(seq) = adv.ah_seq {
                // keepalived resynchronises its (shared tx/rx) AH counter here
                self.log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({}) IPSEC-AH : Syncing seq_num - Increment seq",
                        self.cfg.name
                    ),
                );
                self.ah_seq = seq.wrapping_add(1);
                self.ah_cycle = false;
            }
            if !self.cfg.lower_prio_no_advert {
                self.send_advert(eff, out);
                self.init_sands(now);
            }
            if self.cfg.garp_lower_prio_repeat > 0 {
                if self.vipset {
                    out.push(Action::SendGratuitous {
                        repeat: self.cfg.garp_lower_prio_repeat,
                    });
                }
                if !self.cfg.garp_lower_prio_delay.is_zero() {
                    self.set_timer(
                        TimerKind::GarpLowerPrio,
                        Some(now.add_duration(self.cfg.garp_lower_prio_delay)),
                    );
                }
            }
            out.push(Action::Notify(NotifyEvent::MasterRxLowerPri));
            return;
        }
        if adv.priority > eff || (adv.priority == eff && addr_cmp == Ordering::Greater) {
            if adv.priority > eff {
                self.log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({}) Master received advert from {} with higher priority {}, ours {}",
                        self.cfg.name, adv.src, adv.priority, eff
                    ),
                );
            } else {
                self.log(
                    out,
                    LogLevel::Info,
                    format!(
                        "({}) Master received advert from {} with same priority {} but higher IP address than ours",
                        self.cfg.name, adv.src, adv.priority
                    ),
                );
            }
            if adv.ah_seq.is_some() {
                self.ah_cycle = false;
            }
            if self.cfg.version == Version::V3 && self.master_adver_int != adv.adver_int {
                self.update_master_adver_int(adv.adver_int, out);
            }
            self.master_priority = adv.priority;
            self.wantstate = State::Backup;
            self.leave_master(now, State::Backup, false, out);
        }
    }

    /// keepalived `vrrp_check_packet` (2.2.7 order).
    fn check_packet(
        &mut self,
        p: RxPacket<'_>,
        check_vip_addr: bool,
        out: &mut Vec<Action>,
    ) -> Result<Advert, RxError> {
        let unicast = self.cfg.is_unicast();
        let auth = self.cfg.effective_auth();
        let fam = self.cfg.family;
        let pfam = match p {
            RxPacket::V4(_) => Family::V4,
            RxPacket::V6 { .. } => Family::V6,
        };
        if pfam != fam {
            return Err(RxError::FamilyMismatch);
        }
        let (data, vrrp_off, src, dst_multicast, ttl, ip_info) = match p {
            RxPacket::V4(d) => {
                let pk = wire::peek(Family::V4, d).map_err(RxError::Malformed)?;
                let ip = ipv4::Ipv4Packet::new_checked(d)
                    .map_err(|_| RxError::Malformed(wire::PeekError::Ipv4TooShort(d.len())))?;
                let info = (ip.header_len(), pk.ah, ip.total_len(), ip.src(), ip.dst());
                (
                    d,
                    pk.vrrp_offset,
                    IpAddr::V4(ip.src()),
                    ip.dst().is_multicast(),
                    Some(ip.ttl()),
                    Some(info),
                )
            }
            RxPacket::V6 {
                payload,
                src,
                multicast,
                hop_limit,
            } => {
                wire::peek(Family::V6, payload).map_err(RxError::Malformed)?;
                (payload, 0, IpAddr::V6(src), multicast, hop_limit, None)
            }
        };
        if data[vrrp_off + 1] != self.cfg.vrid {
            return Err(RxError::WrongVrid(data[vrrp_off + 1]));
        }
        let buflen = data.len();
        let hd = wv::Packet::new_unchecked(&data[vrrp_off..]);
        // 1. AH presence (IPv4).
        let mut expected = 0usize;
        if let Some((ihl, has_ah, ..)) = ip_info {
            let want_ah = matches!(auth, Auth::Ah(_));
            if has_ah != want_ah {
                return Err(RxError::AhPresence {
                    received_ah: has_ah,
                });
            }
            expected = ihl + if want_ah { ah::AH_LEN } else { 0 };
        }
        // 2. Length (an auth_hmac trailer adds exactly 28 octets).
        expected += wv::expected_len(fam, hd.version_nibble(), hd.count());
        let mut trailer = None;
        if self.hmac.is_some() && buflen == expected + auth_hmac::TRAILER_LEN {
            trailer = Some(expected);
            expected += auth_hmac::TRAILER_LEN;
        }
        if buflen != expected {
            return Err(RxError::Length {
                received: buflen,
                expected,
            });
        }
        // From here the whole VRRP message is present.
        // 3. TTL (multicast only).
        if !unicast {
            if let Some(t) = ttl {
                if t != 255 {
                    return Err(RxError::Ttl { received: t });
                }
            }
        }
        // 4. Version.
        if hd.version_nibble() != self.cfg.version.number() {
            return Err(RxError::Version {
                received: hd.version_nibble(),
                expected: self.cfg.version.number(),
            });
        }
        // 5. auth_hmac (keepalived 2.4: before any field reaches the FSM).
        if let Some(h) = self.hmac.as_mut() {
            if unicast && !self.cfg.unicast_peers.iter().any(|u| u.addr == src) {
                return Err(RxError::NotUnicastPeer(src));
            }
            let end = trailer.unwrap_or(buflen);
            let pdu = &data[vrrp_off..end];
            let tr = trailer.map(|t| &data[t..]);
            h.verify(self.now, fam, src, pdu, tr)
                .map_err(|err| RxError::AuthHmac { err, src })?;
        }
        let mut ah_seq = None;
        // 6. v2 auth and interval.
        if self.cfg.version == Version::V2 {
            let at = hd.auth_type();
            if at > 2 {
                return Err(RxError::InvalidAuthType(at));
            }
            let ours = match auth {
                Auth::None => 0,
                Auth::Pass(_) => 1,
                Auth::Ah(_) => 2,
            };
            if at != ours {
                return Err(RxError::AuthTypeMismatch {
                    received: at,
                    expected: ours,
                });
            }
            match auth {
                Auth::Pass(pw) => {
                    if !ct_eq(hd.auth_data(fam), &pw) {
                        return Err(RxError::BadPassword);
                    }
                }
                Auth::Ah(key) => {
                    let (ihl, ..) = ip_info.unwrap_or((
                        20,
                        true,
                        0,
                        Ipv4Addr::UNSPECIFIED,
                        Ipv4Addr::UNSPECIFIED,
                    ));
                    let ahp =
                        ah::AhPacket::new_checked(&data[ihl..]).map_err(|_| RxError::AhNotVrrp)?;
                    if ahp.next_header() != wire::checksum::IPPROTO_VRRP {
                        return Err(RxError::AhNotVrrp);
                    }
                    let icv = ah::compute_icv(
                        &key,
                        &data[..ihl],
                        &data[ihl..ihl + ah::AH_LEN],
                        &data[vrrp_off..],
                        unicast,
                    );
                    if !ct_eq(ahp.icv(), &icv) {
                        return Err(RxError::AhIcv);
                    }
                    let saddr = match src {
                        IpAddr::V4(a) => a.octets(),
                        IpAddr::V6(_) => [0; 4],
                    };
                    if ahp.spi() != saddr {
                        // keepalived prints both raw values as host-order integers
                        return Err(RxError::AhSpi {
                            saddr: u32::from_ne_bytes(saddr),
                            spi: u32::from_ne_bytes(ahp.spi()),
                        });
                    }
                    let seq = ahp.seq();
                    ah_seq = Some(seq);
                    if seq > self.ah_seq {
                        self.ah_seq = seq;
                    } else {
                        return Err(RxError::AhSequence {
                            received: seq,
                            local: self.ah_seq,
                        });
                    }
                    if self.state == State::Backup {
                        self.ah_cycle = false;
                    }
                }
                Auth::None => {}
            }
            if self.cfg.adver_int.as_micros() != u32::from(hd.adver_int_v2()) * 1_000_000 {
                return Err(RxError::AdvertInterval {
                    mine: self.cfg.adver_int.as_secs(),
                    received: hd.adver_int_v2(),
                });
            }
        }
        // 7. Type.
        if hd.type_nibble() != wv::TYPE_ADVERTISEMENT {
            return Err(RxError::InvalidType(hd.type_nibble()));
        }
        // Address count.
        if check_vip_addr && usize::from(hd.count()) != self.cfg.vips.len() {
            return Err(RxError::AddressCount {
                received: hd.count(),
                expected: self.cfg.vips.len(),
            });
        }
        // 8. IPv4 total length.
        if let Some((_, _, tot_len, ..)) = ip_info {
            if usize::from(tot_len) != buflen {
                return Err(RxError::TotalLength {
                    tot_len,
                    received: buflen,
                });
            }
        }
        // 10. Checksum (IPv4; the kernel checks IPv6).
        if let Some((_, _, _, ip_src, ip_dst)) = ip_info {
            match self.cfg.version {
                Version::V2 => {
                    if !hd.verify_checksum_v2(Family::V4) {
                        return Err(RxError::Checksum { version: 2 });
                    }
                }
                Version::V3 if self.cfg.v3_checksum == V3Checksum::AsV2 => {
                    if !hd.verify_checksum_v2(Family::V4) {
                        return Err(RxError::Checksum { version: 3 });
                    }
                }
                Version::V3 => {
                    let group = match self.cfg.mcast_group {
                        IpAddr::V4(g) => g,
                        IpAddr::V6(_) => crate::config::MCAST_GROUP4,
                    };
                    let compat =
                        self.cfg.v3_checksum == V3Checksum::OldUnicast || self.chksum_compat_auto;
                    let pdst = if compat { group } else { ip_dst };
                    if !hd.verify_checksum_v3_ipv4(ip_src, pdst) {
                        let mut ok = false;
                        if unicast
                            && !compat
                            && ip_dst != group
                            && hd.verify_checksum_v3_ipv4(ip_src, group)
                        {
                            self.chksum_compat_auto = true;
                            self.log(
                                out,
                                LogLevel::Info,
                                format!(
                                    "({}) Setting unicast VRRPv3 checksum to old version",
                                    self.cfg.name
                                ),
                            );
                            ok = true;
                        }
                        if !ok {
                            return Err(RxError::Checksum { version: 3 });
                        }
                    }
                }
            }
        }
        // 11. Unicast vs multicast destination.
        if dst_multicast == unicast {
            return Err(RxError::WrongCast {
                unicast_instance: unicast,
            });
        }
        self.stats.advert_rcvd = self.stats.advert_rcvd.wrapping_add(1);
        if check_vip_addr {
            for v in &self.cfg.vips {
                if !hd.addresses(fam).any(|a| a == *v) {
                    return Err(RxError::VipMissing {
                        vrid: self.cfg.vrid,
                        addr: *v,
                    });
                }
            }
            if unicast && self.cfg.check_unicast_src {
                let peer = self.cfg.unicast_peers.iter().find(|u| u.addr == src);
                let Some(peer) = peer else {
                    return Err(RxError::NotUnicastPeer(src));
                };
                if let Some(t) = ttl {
                    if t < peer.min_ttl || t > peer.max_ttl {
                        return Err(RxError::UnicastTtl {
                            received: t,
                            min: peer.min_ttl,
                            max: peer.max_ttl,
                        });
                    }
                }
            }
        }
        let priority = hd.priority();
        if priority == 0 {
            self.stats.pri_zero_rcvd = self.stats.pri_zero_rcvd.wrapping_add(1);
        }
        let adver_int = match self.cfg.version {
            Version::V3 => Centis(hd.adver_int_v3()),
            Version::V2 => Centis(u16::from(hd.adver_int_v2()) * 100),
        };
        Ok(Advert {
            src,
            priority,
            adver_int,
            ah_seq,
        })
    }

    // ===== send =====

    /// keepalived `vrrp_send_adv`: one advert (per destination).
    fn send_advert(&mut self, priority: u8, out: &mut Vec<Action>) {
        self.ip_id = self.ip_id.wrapping_add(1);
        if self.ip_id == 0 {
            self.ip_id = 1;
        }
        if matches!(self.cfg.effective_auth(), Auth::Ah(_)) {
            if self.ah_seq > 0xFFFF_FFFD {
                self.ah_cycle = true;
            } else {
                self.ah_seq += 1;
            }
        }
        let mut packets: Vec<OutPacket> = if self.cfg.is_unicast() {
            let mut v = Vec::with_capacity(self.cfg.unicast_peers.len());
            for i in 0..self.cfg.unicast_peers.len() {
                let dst = self.cfg.unicast_peers[i].addr;
                let data = self.build_advert(priority, dst);
                v.push(OutPacket { dst, data });
            }
            v
        } else {
            let dst = self.cfg.mcast_group;
            vec![OutPacket {
                dst,
                data: self.build_advert(priority, dst),
            }]
        };
        self.sign_adverts(&mut packets);
        out.push(Action::SendAdvert { priority, packets });
        self.stats.advert_sent = self.stats.advert_sent.wrapping_add(1);
    }

    /// Append the `auth_hmac` trailer, signed once for every copy (the
    /// HMAC reads the checksum as zero and does not cover the destination).
    fn sign_adverts(&mut self, packets: &mut [OutPacket]) {
        let Some(h) = self.hmac.as_mut() else {
            return;
        };
        let Some(first) = packets.first() else {
            return;
        };
        let fam = self.cfg.family;
        let voff = match fam {
            Family::V4 => {
                ipv4::MIN_HEADER_LEN
                    + if matches!(self.cfg.effective_auth(), Auth::Ah(_)) {
                        ah::AH_LEN
                    } else {
                        0
                    }
            }
            Family::V6 => 0,
        };
        let src = self.src.unwrap_or(match fam {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        let Some(tr) = h.sign(self.now, fam, src, &first.data[voff..]) else {
            return;
        };
        for p in packets.iter_mut() {
            p.data.extend_from_slice(&tr);
            if fam == Family::V4 {
                set_ipv4_total_len(&mut p.data);
            }
        }
    }

    /// Builds the datagram for one destination (see [`OutPacket::data`]),
    /// without the `auth_hmac` trailer.
    pub fn build_advert(&self, priority: u8, dst: IpAddr) -> Vec<u8> {
        let fam = self.cfg.family;
        let auth = self.cfg.effective_auth();
        let repr = VrrpRepr {
            version: self.cfg.version,
            kind: wv::TYPE_ADVERTISEMENT,
            vrid: self.cfg.vrid,
            priority,
            adver_int: self.cfg.adver_int,
            auth_type: match auth {
                Auth::None => wv::AuthType::None,
                Auth::Pass(_) => wv::AuthType::Pass,
                Auth::Ah(_) => wv::AuthType::Ah,
            },
            auth_data: match auth {
                Auth::Pass(p) => p,
                _ => [0; 8],
            },
            addresses: self
                .cfg
                .vips
                .iter()
                .filter(|a| Family::of(a) == fam)
                .copied()
                .collect(),
        };
        match (fam, dst) {
            (Family::V4, IpAddr::V4(dst4)) => {
                let src4 = match self.src {
                    Some(IpAddr::V4(a)) => a,
                    _ => Ipv4Addr::UNSPECIFIED,
                };
                let group = match self.cfg.mcast_group {
                    IpAddr::V4(g) => g,
                    IpAddr::V6(_) => crate::config::MCAST_GROUP4,
                };
                let mode = match (self.cfg.version, self.cfg.v3_checksum) {
                    (Version::V2, _) | (Version::V3, V3Checksum::AsV2) => ChecksumMode::Plain,
                    (Version::V3, V3Checksum::OldUnicast) => ChecksumMode::PseudoV4 {
                        src: src4,
                        dst: group,
                    },
                    (Version::V3, V3Checksum::PseudoHeader) => ChecksumMode::PseudoV4 {
                        src: src4,
                        dst: if self.chksum_compat_auto { group } else { dst4 },
                    },
                };
                let vlen = repr.buffer_len(Family::V4);
                let ah_len = if matches!(auth, Auth::Ah(_)) {
                    ah::AH_LEN
                } else {
                    0
                };
                let mut buf = vec![0u8; ipv4::MIN_HEADER_LEN + ah_len + vlen];
                let ip = ipv4::Ipv4Repr {
                    tos: ipv4::TOS_NETWORK_CONTROL,
                    ident: self.ip_id,
                    ttl: self.cfg.ttl,
                    protocol: if ah_len > 0 {
                        ipv4::IPPROTO_AH
                    } else {
                        wire::checksum::IPPROTO_VRRP
                    },
                    src: src4,
                    dst: dst4,
                    payload_len: (ah_len + vlen) as u16,
                };
                let _ = ip.emit(&mut buf);
                let voff = ipv4::MIN_HEADER_LEN + ah_len;
                let _ = repr.emit(&mut buf[voff..], Family::V4, mode);
                if let Auth::Ah(key) = auth {
                    let _ = ah::emit_header(&mut buf[20..44], src4, self.ah_seq);
                    let icv = ah::compute_icv(
                        &key,
                        &buf[..20],
                        &buf[20..44],
                        &buf[44..],
                        self.cfg.is_unicast(),
                    );
                    buf[32..44].copy_from_slice(&icv);
                }
                buf
            }
            _ => repr.to_bytes(Family::V6, ChecksumMode::Zero),
        }
    }

    // ===== reload / shutdown =====

    fn reload(&mut self, now: Instant, cfg: InstanceConfig, out: &mut Vec<Action>) {
        let old_status: Vec<(TrackConfig, TrackStatus)> = self
            .cfg
            .trackers
            .iter()
            .cloned()
            .zip(self.track_status.iter().copied())
            .collect();
        self.track_status = cfg
            .trackers
            .iter()
            .map(|t| {
                old_status
                    .iter()
                    .find(|(o, _)| o.kind == t.kind && o.name == t.name)
                    .map_or(TrackStatus::Unknown, |(_, s)| *s)
            })
            .collect();
        if self.base_priority != 254 || cfg.priority != 255 {
            self.base_priority = cfg.priority;
        }
        if self.is_owner() {
            self.effective_priority = 255;
        }
        if self.state != State::Backup || cfg.version == Version::V2 {
            self.master_adver_int = cfg.adver_int;
        }
        if cfg.src_addr.is_some() {
            self.src = cfg.src_addr;
        }
        self.cfg = cfg;
        match (self.hmac.as_mut(), self.cfg.auth_hmac.as_deref().cloned()) {
            (Some(h), Some(c)) => {
                h.reconfigure(c);
                h.set_max_senders(self.cfg.unicast_peers.len());
            }
            (None, Some(c)) => {
                let mut h = HmacState::new(c);
                h.set_max_senders(self.cfg.unicast_peers.len());
                self.hmac = Some(Box::new(h));
            }
            (_, None) => self.hmac = None,
        }
        self.reevaluate(now, out);
    }

    fn shutdown(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Stopped) {
            return;
        }
        if self.state == State::Master {
            self.restore_interface(true, out);
        }
        self.set_state(State::Stopped, out);
        out.push(Action::Notify(NotifyEvent::Stop));
        self.timers = [When::NONE; 4];
    }
}

/// Rewrite an emitted IPv4 header's total length (and its checksum) after
/// the `auth_hmac` trailer was appended.
fn set_ipv4_total_len(d: &mut [u8]) {
    if d.len() < ipv4::MIN_HEADER_LEN {
        return;
    }
    let tot = u16::try_from(d.len()).unwrap_or(u16::MAX);
    d[2..4].copy_from_slice(&tot.to_be_bytes());
    d[10] = 0;
    d[11] = 0;
    let c = wire::checksum::checksum(&d[..ipv4::MIN_HEADER_LEN]);
    d[10..12].copy_from_slice(&c.to_be_bytes());
}

fn rx_src(p: &RxPacket<'_>) -> Option<IpAddr> {
    match p {
        RxPacket::V4(d) => ipv4::Ipv4Packet::new_checked(*d)
            .ok()
            .map(|ip| IpAddr::V4(ip.src())),
        RxPacket::V6 { src, .. } => Some(IpAddr::V6(*src)),
    }
}

fn fault_of(t: &TrackConfig, s: TrackStatus) -> Block {
    match t.kind {
        TrackKind::Script => Block::Script(t.name.clone()),
        TrackKind::Interface => Block::Interface(t.name.clone()),
        TrackKind::File => Block::File(
            t.name.clone(),
            if let TrackStatus::Value(v) = s { v } else { 0 },
        ),
        TrackKind::Process => Block::Other(format!("process {}", t.name)),
        TrackKind::Bfd => Block::Other(format!("bfd {}", t.name)),
    }
}

/// Constant-time comparison (keepalived `memcmp_constant_time`).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
