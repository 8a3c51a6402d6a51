//! The instance runtime: owns the protocol cores, feeds them inputs at the
//! right time and performs their actions (keepalived's `vrrp_scheduler.c`
//! dispatcher plus the action side of `vrrp.c`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use config::Config;
use ipc::ChildFlags;
use mio::Token;
use netlink::{Announcer, EventSocket, Link, Rtnl};
use sched::{Sched, TimerId};
use vrrp::ratelimit::{RateLimiter, Verdict};
use vrrp::wire::Family;
use vrrp::{Action, Input, LogLevel, State, TimerKind};

use crate::garp::GarpQueue;
use crate::map::{InstanceKey, VipLine};
use crate::net::Sockets;
use crate::notifier::Notifier;
use crate::trackers::Trackers;

/// The second heap trim after a (re)configuration: past the first
/// master-down (3 × advert + skew) and the second GARP burst
/// (`vrrp_garp_master_delay`, 5 s) of ordinary configurations.
const TRIM_AGAIN_AFTER: Duration = Duration::from_secs(15);

/// Size of the receive buffer: any IP datagram (65,535 bytes at most) fits
/// in it, and it is larger than the C allocator's threshold for serving a
/// block from its own anonymous mapping (128 KiB at start-up), so that the
/// block is not carved out of the heap: the kernel's zero pages stay
/// unmapped until a datagram is read into them, and only the first page or
/// two become resident. Served from the heap, the zeroed block was 64 KiB
/// resident for good.
pub const RX_BUFFER: usize = 132 * 1024;

/// A zeroed receive buffer of [`RX_BUFFER`] bytes.
pub fn rx_buffer() -> Vec<u8> {
    vec![0u8; RX_BUFFER]
}

/// mio token of the netlink event socket.
pub const NETLINK_TOKEN: Token = Token(1);

/// Who a sched timer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimerOwner {
    /// The protocol timers of an instance (one sched timer at the
    /// earliest of the core's deadlines, see [`Runtime::sync_timer`]).
    Inst(u64),
    /// The next run of a `vrrp_script`.
    Script(String),
    /// Script / notify timeouts.
    Runner,
    /// Paced GARP/NA sending.
    Garp,
    /// `track_file` polling.
    FilePoll,
    /// `track_process` polling of `/proc`.
    ProcessPoll,
    /// End of `vrrp_startup_delay`.
    Startup,
    /// End of a loop round: deferred VIP changes and GARPs go out.
    Flush,
    /// Wall-clock reading for `auth_hmac` instances.
    WallClock,
    /// Give the heap's free memory back after a (re)configuration
    /// ([`Runtime::arm_trim`]).
    Trim,
}

/// One running `vrrp_instance`.
#[derive(Debug)]
pub(crate) struct Inst {
    /// Stable id (timers refer to it).
    pub id: u64,
    /// The protocol core.
    pub core: vrrp::Instance,
    /// Reload identity.
    pub key: InstanceKey,
    /// What the instance keeps of its configuration block.
    pub vcfg: crate::map::InstCfg,
    /// Index of the instance's interface (None while it does not exist).
    pub ifindex: Option<u32>,
    /// Source address handed to the core (configured or primary).
    pub src: Option<IpAddr>,
    /// The sched timer at the core's earliest deadline (one per instance,
    /// not one per timer kind: each sched timer costs a heap entry, an
    /// armed-map entry and a `timer_owner` entry).
    pub timer: Option<TimerId>,
    /// VIP and eVIP lines.
    pub vips: Vec<VipLine>,
    /// Sync group name.
    pub group: Option<String>,
    /// The core asked to go MASTER and waits for its sync group.
    pub want_master: bool,
    /// Notify scripts (`None` when the block has none: most instances,
    /// and the struct is 560 bytes).
    pub notify: Option<Box<notify::NotifyScripts>>,
    /// `smtp_alert` in force.
    pub smtp: bool,
    /// `notify_priority_changes` in force.
    pub prio_changes: bool,
    /// Being removed by a reload (notify DELETED instead of STOP).
    pub deleting: bool,
    /// `use_vmac`.
    pub vmac: Option<Box<crate::vmac::Vmac>>,
    /// An `auth_hmac` key file could not be used: never started.
    pub disabled: bool,
}

/// At most this many of an instance's timer kinds are handled in one
/// expiry (there are four; the bound only guards against a core that would
/// keep re-arming in the past).
const EXPIRIES_PER_WAKE: usize = 8;

/// Sync-group bookkeeping.
#[derive(Debug)]
pub(crate) struct Group {
    /// Member instance names.
    pub members: Vec<String>,
    /// Group notify scripts.
    pub notify: notify::NotifyScripts,
    /// `smtp_alert`.
    pub smtp: bool,
    /// Last notified group state.
    pub state: State,
}

/// Everything the VRRP child runs.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub flags: ChildFlags,
    pub origin: std::time::Instant,
    /// The configuration in force without its `vrrp_instance` blocks (each
    /// [`Inst`] keeps its own) and without the checker's virtual servers:
    /// shared, so handing it around is a reference count.
    pub cfg: std::sync::Arc<Config>,
    pub rtnl: Rtnl,
    pub events: EventSocket,
    pub announcer: Option<Announcer>,
    pub links: HashMap<u32, Link>,
    pub socks: Sockets,
    pub insts: Vec<Inst>,
    pub next_id: u64,
    pub timer_owner: HashMap<TimerId, TimerOwner>,
    pub trackers: Trackers,
    pub notifier: Notifier,
    pub garp: GarpQueue,
    pub limiter: RateLimiter<String, &'static str>,
    pub groups: HashMap<String, Group>,
    pub pending: VecDeque<(u64, Input<'static>)>,
    /// One actions vector reused for every input (no allocation per advert).
    actbuf: Vec<Action>,
    pub stopping: bool,
    pub rxbuf: Vec<u8>,
    /// Every VIP and eVIP address of every instance.
    pub vip_set: std::collections::HashSet<IpAddr>,
    /// Base-interface sysctls changed for VMACs (restored at exit).
    pub saved_sysctls: Vec<crate::vmac::SavedSysctl>,
    /// `track_process` blocks in use.
    pub processes: crate::process::Processes,
    /// The vrrp_strict / no_accept nftables tables, when some instance needs them.
    pub nft: Option<nft::Nft>,
    /// Families whose table was created.
    pub nft_families: Vec<nft::Family>,
    /// VIP additions/removals deferred to the end of the loop round (see
    /// `vips.rs`): one netlink batch for every instance that changed state
    /// in the round, then their GARPs.
    pub pending_addrs: Vec<crate::vips::PendingAddr>,
    /// Zero-delay timer ending the round ([`TimerOwner::Flush`]).
    pub flush_timer: Option<TimerId>,
    /// Periodic wall-clock reading while an instance uses `auth_hmac`
    /// ([`TimerOwner::WallClock`]).
    pub wall_timer: Option<TimerId>,
}

/// Errors building the runtime.
#[derive(Debug)]
pub enum RuntimeError {
    /// Netlink could not be opened.
    Netlink(netlink::Error),
    /// Registering with the loop failed.
    Io(std::io::Error),
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Netlink(e) => write!(f, "netlink: {e}"),
            RuntimeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// What the VRRP child keeps of a configuration: everything but the
/// `vrrp_instance` blocks (kept per instance) and the virtual servers (the
/// checker's).
pub(crate) fn vrrp_view(cfg: &Config) -> Config {
    Config {
        global: cfg.global.clone(),
        child_wait_time: cfg.child_wait_time,
        net_namespace: cfg.net_namespace.clone(),
        instance: cfg.instance.clone(),
        vrrp_scripts: cfg.vrrp_scripts.clone(),
        track_files: cfg.track_files.clone(),
        track_processes: cfg.track_processes.clone(),
        static_ipaddress: cfg.static_ipaddress.clone(),
        static_routes: cfg.static_routes.clone(),
        static_rules: cfg.static_rules.clone(),
        vrrp_sync_groups: cfg.vrrp_sync_groups.clone(),
        ..Config::default()
    }
}

impl Runtime {
    /// Opens netlink and the announcer; no instance yet.
    /// `rxbuf` is the receive buffer ([`rx_buffer`]).
    pub fn new(
        sched: &mut Sched,
        flags: ChildFlags,
        cfg: &Config,
        rxbuf: Vec<u8>,
    ) -> Result<Runtime, RuntimeError> {
        let rtnl = Rtnl::new().map_err(RuntimeError::Netlink)?;
        let mut events = EventSocket::new().map_err(RuntimeError::Netlink)?;
        let links = rtnl.links().map_err(RuntimeError::Netlink)?;
        events.prime(&links);
        sched
            .registry()
            .register(
                &mut mio::unix::SourceFd(&std::os::fd::AsRawFd::as_raw_fd(&events)),
                NETLINK_TOKEN,
                mio::Interest::READABLE,
            )
            .map_err(RuntimeError::Io)?;
        let announcer = match Announcer::new() {
            Ok(a) => Some(a),
            Err(e) => {
                log::error!("Unable to open the gratuitous ARP/NA socket: {e}");
                None
            }
        };
        Ok(Runtime {
            flags,
            origin: std::time::Instant::now(),
            cfg: std::sync::Arc::new(vrrp_view(cfg)),
            rtnl,
            events,
            announcer,
            links: links.into_iter().map(|l| (l.index, l)).collect(),
            socks: Sockets::default(),
            insts: Vec::new(),
            next_id: 1,
            timer_owner: HashMap::new(),
            trackers: Trackers::default(),
            notifier: Notifier::new(cfg),
            garp: GarpQueue::default(),
            limiter: RateLimiter::new(Duration::from_secs(1)),
            groups: HashMap::new(),
            pending: VecDeque::new(),
            actbuf: Vec::with_capacity(8),
            stopping: false,
            rxbuf,
            vip_set: std::collections::HashSet::new(),
            saved_sysctls: Vec::new(),
            processes: crate::process::Processes::default(),
            nft: None,
            nft_families: Vec::new(),
            pending_addrs: Vec::new(),
            flush_timer: None,
            wall_timer: None,
        })
    }

    /// The core's clock.
    pub fn now(&self) -> vrrp::time::Instant {
        vrrp::time::Instant::from_micros(
            u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX),
        )
    }

    fn std_at(&self, at: vrrp::time::Instant) -> std::time::Instant {
        self.origin + Duration::from_micros(at.as_micros())
    }

    /// Position of instance `id` in `insts`. Ids grow with each instance
    /// built and `insts` only gets new instances appended (removals keep
    /// the order), so `insts` is sorted by id.
    pub fn idx(&self, id: u64) -> Option<usize> {
        self.insts.binary_search_by_key(&id, |i| i.id).ok()
    }

    /// The interface index of a name.
    pub fn ifindex_of(&self, name: &str) -> Option<u32> {
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.index)
    }

    /// The address adverts of an instance come from when none is
    /// configured: the interface's primary IPv4 address (first non-
    /// secondary address that is not one of our VIPs), or its IPv6
    /// link-local address.
    pub fn primary_address(&self, ifindex: u32, family: Family) -> Option<IpAddr> {
        let fam = match family {
            Family::V4 => netlink::Family::V4,
            Family::V6 => netlink::Family::V6,
        };
        let addrs = self.rtnl.addresses(Some(fam), Some(ifindex)).ok()?;
        addrs
            .iter()
            .filter(|a| !self.vip_set.contains(&a.addr))
            .find(|a| match a.addr {
                IpAddr::V4(_) => !a.flags.contains(netlink::AddrFlags::SECONDARY),
                // A tentative link-local (DAD running) cannot be a source yet;
                // the kernel announces it again when DAD completes.
                IpAddr::V6(v6) => {
                    v6.segments()[0] & 0xffc0 == 0xfe80
                        && !a.flags.contains(netlink::AddrFlags::TENTATIVE)
                }
            })
            .map(|a| a.addr)
    }

    /// Feeds `input` to instance `id` and performs the actions, then any
    /// follow-up inputs (sync groups).
    pub fn drive(&mut self, sched: &mut Sched, id: u64, input: Input<'_>) {
        let Some(i) = self.idx(id) else { return };
        let now = self.now();
        let mut acts = std::mem::take(&mut self.actbuf);
        self.insts[i].core.handle_into(now, input, &mut acts);
        self.apply(sched, id, &mut acts);
        while let Some((id, input)) = self.pending.pop_front() {
            let Some(i) = self.idx(id) else { continue };
            let now = self.now();
            self.insts[i].core.handle_into(now, input, &mut acts);
            self.apply(sched, id, &mut acts);
        }
        self.actbuf = acts;
    }

    fn log_line(&self, level: LogLevel, text: &str) {
        match level {
            LogLevel::Info => log::info!("{text}"),
            LogLevel::Detail => log::debug!("{text}"),
        }
    }

    /// Performs the actions of instance `id`, in order.
    /// `actions` is left empty (drained), ready for the next input.
    pub fn apply(&mut self, sched: &mut Sched, id: u64, actions: &mut Vec<Action>) {
        let wants = actions.iter().any(|a| matches!(a, Action::SyncWantMaster));
        let rearmed_down = actions.iter().any(|a| {
            matches!(
                a,
                Action::ArmTimer {
                    kind: TimerKind::MasterDown,
                    ..
                }
            )
        });
        if let Some(i) = self.idx(id) {
            if rearmed_down && !wants {
                self.insts[i].want_master = false;
            }
        }
        let mut timers_changed = false;
        for a in actions.drain(..) {
            let Some(i) = self.idx(id) else { return };
            match a {
                Action::SendAdvert { packets, .. } => {
                    let Some(ifindex) = self.tx_ifindex(i) else {
                        continue;
                    };
                    let inst = &self.insts[i];
                    let fam = inst.key.family;
                    let src = inst.src;
                    for p in packets {
                        if let Err(e) = self.socks.send(ifindex, fam, src, p.dst, &p.data) {
                            let name = self.insts[i].vcfg.name.to_string();
                            let now = self.now();
                            if let Verdict::Log { .. } = self.limiter.check(now, &name, &"send") {
                                log::info!("({name}) Unable to send advert to {}: {e}", p.dst);
                            }
                        }
                    }
                }
                Action::ArmTimer { .. } | Action::CancelTimer { .. } => timers_changed = true,
                Action::AddVips => {
                    // Routes may name a VIP as source: with routes or rules
                    // the VIPs go in at once, else at the end of the round.
                    let defer = !self.insts[i].vcfg.has_routes();
                    self.add_vips(i, defer);
                    self.add_virtual_routes(i);
                    self.firewall_add(i);
                }
                Action::RemoveVips => {
                    if self.stopping && self.flags.dont_release_vrrp {
                        continue;
                    }
                    // Batched at shutdown only (every priority 0 first); a
                    // master stepping down for a peer's advert drops its VIPs
                    // at once, so both nodes hold them for as short a time
                    // as possible.
                    let defer = self.stopping && !self.insts[i].vcfg.has_routes();
                    self.firewall_del(i);
                    self.remove_virtual_routes(i);
                    self.remove_vips(i, defer);
                }
                Action::SendGratuitous { repeat } => self.queue_gratuitous(sched, i, repeat),
                Action::Notify(ev) => self.notify_instance(i, ev),
                Action::PriorityChanged { to, .. } => {
                    if self.insts[i].prio_changes {
                        let st = if self.insts[i].core.state() == State::Master {
                            notify::NotifyState::MasterPriority
                        } else {
                            notify::NotifyState::BackupPriority
                        };
                        let name = self.insts[i].vcfg.name.clone();
                        self.notifier
                            .fifo(notify::NotifyKind::Instance, &name, st, to);
                    }
                }
                Action::StateChanged { from, to } => self.state_changed(i, from, to),
                Action::SyncWantMaster => {
                    self.insts[i].want_master = true;
                    self.sync_want_master(i);
                }
                Action::Rejected(e) => {
                    let name = self.insts[i].vcfg.name.to_string();
                    if let (Some(line), Some(level)) = (e.log_line(&name), e.log_level()) {
                        let now = self.now();
                        if let Verdict::Log { .. } = self.limiter.check(now, &name, &e.kind()) {
                            self.log_line(level, &line);
                        }
                    }
                }
                Action::Log(l) => self.log_line(l.level, &l.text),
            }
        }
        if timers_changed {
            self.sync_timer(sched, id);
        }
        if !self.pending_addrs.is_empty() {
            self.arm_flush(sched);
        }
    }

    /// Keeps instance `id`'s sched timer at its core's earliest deadline
    /// (disarmed when the core has none).
    pub fn sync_timer(&mut self, sched: &mut Sched, id: u64) {
        let Some(i) = self.idx(id) else { return };
        match self.insts[i].core.next_deadline() {
            Some((_, at)) => {
                let when = self.std_at(at);
                match self.insts[i].timer {
                    Some(t) => sched.rearm_at(t, when),
                    None => {
                        let t = sched.timer_at(when);
                        self.insts[i].timer = Some(t);
                        self.timer_owner.insert(t, TimerOwner::Inst(id));
                    }
                }
            }
            None => {
                if let Some(t) = self.insts[i].timer {
                    sched.cancel(t);
                }
            }
        }
    }

    /// Instance `id`'s sched timer fired: every core timer that is due
    /// expires, earliest first, then the sched timer follows the core's
    /// next deadline.
    fn instance_timer(&mut self, sched: &mut Sched, id: u64) {
        for _ in 0..EXPIRIES_PER_WAKE {
            let Some(i) = self.idx(id) else { return };
            match self.insts[i].core.next_deadline() {
                Some((kind, at)) if at <= self.now() => {
                    self.drive(sched, id, Input::TimerExpired(kind));
                }
                _ => break,
            }
        }
        self.sync_timer(sched, id);
    }

    /// A timer fired.
    pub fn timer(&mut self, sched: &mut Sched, t: TimerId) {
        let Some(owner) = self.timer_owner.get(&t).cloned() else {
            return;
        };
        match owner {
            TimerOwner::Inst(id) => self.instance_timer(sched, id),
            TimerOwner::Script(name) => self.run_script(sched, &name),
            TimerOwner::Runner => self.poll_children(sched),
            TimerOwner::Garp => self.flush_gratuitous(sched),
            TimerOwner::FilePoll => self.poll_files(sched, t),
            TimerOwner::ProcessPoll => self.poll_processes(sched, t),
            TimerOwner::Startup => self.start_all(sched),
            TimerOwner::Flush => self.flush_round(sched),
            TimerOwner::WallClock => self.read_wall_clock(sched, t),
            TimerOwner::Trim => self.trim(sched, t),
        }
    }

    fn state_changed(&mut self, i: usize, from: State, to: State) {
        if to == State::Master {
            self.insts[i].want_master = false;
        }
        let name = self.insts[i].vcfg.name.to_string();
        self.limiter.reset_instance(&name);
        let Some(g) = self.insts[i].group.clone() else {
            return;
        };
        let members: Vec<usize> = self.group_members(&g);
        // A member left MASTER (or faulted): the whole group follows.
        if from == State::Master && to != State::Master && !self.stopping {
            let others: Vec<u64> = members
                .iter()
                .filter(|&&m| m != i && self.insts[m].core.state() == State::Master)
                .map(|&m| self.insts[m].id)
                .collect();
            if !others.is_empty() {
                let what = if to == State::Fault {
                    "FAULT"
                } else {
                    "BACKUP"
                };
                log::info!("VRRP_Group({g}) Syncing instances to {what} state");
                for id in others {
                    self.pending.push_back((id, Input::SyncGoBackup));
                }
            }
        }
        if to == State::Fault && !self.stopping {
            for &m in &members {
                if m != i {
                    self.insts[m].want_master = false;
                }
            }
        }
        self.update_group_state(&g);
    }

    pub fn group_members(&self, g: &str) -> Vec<usize> {
        self.insts
            .iter()
            .enumerate()
            .filter(|(_, x)| x.group.as_deref() == Some(g))
            .map(|(k, _)| k)
            .collect()
    }

    fn sync_want_master(&mut self, i: usize) {
        let Some(g) = self.insts[i].group.clone() else {
            self.pending
                .push_back((self.insts[i].id, Input::SyncGoMaster));
            return;
        };
        let members = self.group_members(&g);
        let all = members.iter().all(|&m| {
            let x = &self.insts[m];
            x.want_master || x.core.state() == State::Master
        });
        if all {
            let go: Vec<u64> = members
                .iter()
                .filter(|&&m| self.insts[m].core.state() == State::Backup)
                .map(|&m| self.insts[m].id)
                .collect();
            if members.len() > 1 {
                log::info!("VRRP_Group({g}) Syncing instances to MASTER state");
            }
            for id in go {
                self.pending.push_back((id, Input::SyncGoMaster));
            }
        }
    }

    fn update_group_state(&mut self, g: &str) {
        let members = self.group_members(g);
        let states: Vec<State> = members
            .iter()
            .map(|&m| self.insts[m].core.state())
            .collect();
        let st = if states.contains(&State::Fault) {
            State::Fault
        } else if !states.is_empty() && states.iter().all(|s| *s == State::Master) {
            State::Master
        } else if states.iter().all(|s| *s == State::Stopped) {
            State::Stopped
        } else if states.iter().all(|s| *s == State::Backup) {
            State::Backup
        } else {
            return;
        };
        let Some(grp) = self.groups.get_mut(g) else {
            return;
        };
        if grp.state == st {
            return;
        }
        grp.state = st;
        let ns = match st {
            State::Master => notify::NotifyState::Master,
            State::Backup => notify::NotifyState::Backup,
            State::Fault => notify::NotifyState::Fault,
            State::Stopped => notify::NotifyState::Stop,
            State::Init => return,
        };
        let scripts = grp.notify.for_event(notify::NotifyKind::Group, g, ns, 0);
        let smtp = grp.smtp;
        self.notifier.run(&format!("GROUP {g}"), scripts);
        self.notifier.fifo(notify::NotifyKind::Group, g, ns, 0);
        if smtp {
            self.notifier.group_alert(g, ns);
        }
    }

    fn notify_instance(&mut self, i: usize, ev: vrrp::NotifyEvent) {
        let inst = &self.insts[i];
        let ns = match ev {
            vrrp::NotifyEvent::Master => notify::NotifyState::Master,
            vrrp::NotifyEvent::Backup => notify::NotifyState::Backup,
            vrrp::NotifyEvent::Fault => notify::NotifyState::Fault,
            vrrp::NotifyEvent::Stop if inst.deleting => notify::NotifyState::Deleted,
            vrrp::NotifyEvent::Stop => notify::NotifyState::Stop,
            vrrp::NotifyEvent::MasterRxLowerPri => notify::NotifyState::MasterRxLowerPri,
        };
        let name = inst.vcfg.name.clone();
        let prio = inst.core.effective_priority();
        let scripts = inst.notify.as_ref().map_or_else(Vec::new, |n| {
            n.for_event(notify::NotifyKind::Instance, &name, ns, prio)
        });
        let smtp = inst.smtp;
        self.notifier.run(&name, scripts);
        self.notifier
            .fifo(notify::NotifyKind::Instance, &name, ns, prio);
        if smtp {
            self.notifier.instance_alert(&name, ns);
        }
    }

    /// SIGCHLD or a runner deadline: reap scripts.
    pub fn poll_children(&mut self, sched: &mut Sched) {
        self.poll_scripts(sched);
        self.notifier.poll();
        self.arm_runner_timer(sched);
    }

    /// Keeps one timer at the earliest script/notify deadline.
    pub fn arm_runner_timer(&mut self, sched: &mut Sched) {
        let d = [
            self.trackers.runner_deadline(),
            self.notifier.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let id = match self
            .timer_owner
            .iter()
            .find(|(_, o)| **o == TimerOwner::Runner)
        {
            Some((t, _)) => *t,
            None => {
                let t = sched.timer_after(Duration::from_secs(3600));
                sched.cancel(t);
                self.timer_owner.insert(t, TimerOwner::Runner);
                t
            }
        };
        match d {
            Some(at) => sched.rearm_at(id, at),
            None => {
                sched.cancel(id);
            }
        }
    }

    /// After a (re)configuration: the configuration the parent sent is
    /// dropped by ipc once `configure` returns, and the transitions that
    /// follow the start (master-down, first GARP burst, its repeat
    /// `garp_master_delay` later) allocate and free their batches. What they
    /// freed stays resident in the C heap unless given back: once on the
    /// next loop turn, once again after the start-up transients.
    pub fn arm_trim(&mut self, sched: &mut Sched) {
        for after in [Duration::ZERO, TRIM_AGAIN_AFTER] {
            let t = sched.timer_after(after);
            self.timer_owner.insert(t, TimerOwner::Trim);
        }
    }

    fn trim(&mut self, sched: &mut Sched, t: TimerId) {
        sched.cancel(t);
        self.timer_owner.remove(&t);
        sys::mem::trim_heap();
    }

    /// Rebuilds [`Runtime::vip_set`] (start, reload).
    pub fn rebuild_vip_set(&mut self) {
        self.vip_set = self
            .insts
            .iter()
            .flat_map(|i| i.vips.iter().map(|v| v.addr.addr))
            .collect();
    }

    /// Drops the sched timers of instance `i` (before removing it).
    pub fn drop_timers(&mut self, sched: &mut Sched, i: usize) {
        if let Some(t) = self.insts[i].timer {
            sched.cancel(t);
            self.timer_owner.remove(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every instance is one element of `Runtime::insts`: what is inline
    /// there is paid 200 times with 200 instances. Rarely used parts are
    /// boxed (notify scripts, VMAC, auth_hmac state) and the configuration
    /// block is kept compact (`map::InstCfg`); this keeps it that way.
    #[test]
    fn an_instance_stays_small() {
        use std::mem::size_of;
        assert!(
            size_of::<super::Inst>() <= 768,
            "{}",
            size_of::<super::Inst>()
        );
        assert!(
            size_of::<vrrp::Instance>() <= 544,
            "{}",
            size_of::<vrrp::Instance>()
        );
        assert!(size_of::<crate::map::InstCfg>() <= 80);
    }
}
