//! The health-checker child process (keepalived's `check_daemon.c`).
//!
//! [`CheckRuntime`] implements [`ipc::ChildHandler`]: it maps the
//! configuration ([`mapping`]), runs the sans-IO [`check::Engine`], performs
//! its probes on the child's single mio loop ([`probe`]; MISC_CHECK through
//! `notify::ScriptRunner`), and keeps the IPVS table equal to the engine's
//! desired table by applying only differences ([`backend`], `ipvs::diff`).
//!
//! IPVS lifecycle: at start the kernel table is read and only the difference
//! is applied (a restarted child adopts the table without flapping); on
//! reload the engine keeps each real server's state and only differences are
//! applied; at stop our services are removed unless `-I`. Without IPVS in the
//! kernel the child logs `IPVS: Can't initialize ipvs: ...` and exits with
//! keepalived's FATAL status, which stops the daemon, as 2.2.7 does.

pub mod alerts;
pub mod backend;
pub mod dump;
pub mod files;
pub mod mapping;
pub mod mirror;
pub mod probe;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use check::{Action, CheckerId, Engine, Millis, Notify, ProbeOutcome, ProbeRequest};
use config::{Config, Script};
use ipc::{ChildFlags, ChildHandler, ChildOptions, DumpKind};
use ipvs::{DiffOptions, IpvsError, ServiceKey, VirtualService};
use mio::Token;
use notify::{ExitKind, Handle, RunnerOptions, ScriptRunner, ScriptSpec};
use sched::{Event, Sched, TimerId};

use crate::backend::IpvsBackend;
use crate::mapping::{
    desired_services, map_config, set_track_file_values, track_file_names, Mapped, ProbeKind,
};
use crate::probe::{ProbeIo, Started};

/// Token of the netlink address-event socket (ha_suspend).
const ADDR_EVENTS_TOKEN: Token = Token(usize::MAX - 16);

/// Token of the inotify descriptor of the FILE_CHECK track files.
const FILE_EVENTS_TOKEN: Token = Token(usize::MAX - 17);

/// keepalived's `KEEPALIVED_EXIT_FATAL` as the watchdog reads it.
pub const EXIT_FATAL: i32 = 1;

/// How the runtime gets its IPVS backend.
pub type BackendFactory = Box<dyn FnMut() -> Result<Box<dyn IpvsBackend>, IpvsError>>;

/// A probe in flight.
#[derive(Debug)]
struct Active {
    id: CheckerId,
    /// Boxed: the table of probes in flight stays small (64-byte entries)
    /// when a slow host lets thousands pile up.
    io: Option<Box<ProbeIo>>,
    script: Option<Handle>,
    /// UDP_CHECK without `require_reply`: silence until then is success.
    quiet_success_at: Option<Instant>,
}

/// Captured log lines (tests).
pub type LogCapture = Arc<Mutex<Vec<String>>>;

/// State of the checker child.
pub struct CheckRuntime {
    flags: ChildFlags,
    pid_file: Option<PathBuf>,
    factory: BackendFactory,
    backend: Option<Box<dyn IpvsBackend>>,
    exit_on_fatal: bool,
    start: Instant,
    /// `lvs_flush_onstop` of the configuration in force (the configuration
    /// itself is not kept: ipc holds the parsed copy).
    lvs_flush_on_stop: bool,
    mapped: Option<Mapped>,
    engine: Option<Engine>,
    mirror: mirror::Mirror,
    active: HashMap<u64, Active>,
    scripts: HashMap<Handle, u64>,
    runner: ScriptRunner,
    tls: Option<Arc<rustls::ClientConfig>>,
    tick: Option<TimerId>,
    seq: u16,
    rng: u64,
    reloads: u64,
    capture: Option<LogCapture>,
    ipvs_ops: u64,
    alerts: Option<alerts::Alerts>,
    addr_events: Option<netlink::EventSocket>,
    track_files: Option<files::TrackFiles>,
    /// Per virtual server: sends SMTP alerts; per real server likewise.
    alert_flags: Vec<(bool, Vec<bool>)>,
    last_quorum_line: String,
    /// The heap is trimmed at the first event after `configure` (ipc drops
    /// the configuration it passed only once `configure` has returned).
    trim_pending: bool,
    /// Next periodic trim (probe buffers churn the heap).
    next_trim: Instant,
}

/// The checker's C heap mmap threshold: the configuration's large buffers
/// and the engine's timer heap (24 bytes per checker) get mappings of their
/// own instead of pinning heap pages between probe allocations.
const MMAP_THRESHOLD: usize = 64 * 1024;

/// How often the heap's free pages are given back while probing.
const TRIM_INTERVAL: Duration = Duration::from_secs(30);

impl std::fmt::Debug for CheckRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckRuntime")
            .field("flags", &self.flags)
            .field("active", &self.active.len())
            .field("reloads", &self.reloads)
            .finish_non_exhaustive()
    }
}

/// keepalived's warmup jitter: `warmup * random() / RAND_MAX` (xorshift64*).
fn jitter(rng: &mut u64) -> impl FnMut(Duration) -> Duration + '_ {
    move |warmup: Duration| {
        let mut x = *rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let ms = u64::try_from(warmup.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(r % (ms + 1))
        }
    }
}

fn open_kernel() -> Result<Box<dyn IpvsBackend>, IpvsError> {
    ipvs::Ipvs::open().map(|i| Box::new(i) as Box<dyn IpvsBackend>)
}

fn script_spec(s: &Script, timeout: Option<Duration>) -> ScriptSpec {
    let mut spec = ScriptSpec::new(s.argv.clone());
    spec.mode = ScriptSpec::mode_for(&s.argv);
    if let Some(u) = &s.user {
        if let Some((uid, gid)) = lookup_user(u, s.group.as_deref()) {
            spec = spec.user(uid, gid);
        }
    }
    if let Some(t) = timeout {
        spec = spec.timeout(t);
    }
    spec
}

fn lookup_user(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name(user).ok().flatten()?;
    let gid = match group {
        Some(g) => nix::unistd::Group::from_name(g)
            .ok()
            .flatten()?
            .gid
            .as_raw(),
        None => u.gid.as_raw(),
    };
    Some((u.uid.as_raw(), gid))
}

/// Whether `ip` is an address of this host (bind test), for `ha_suspend`.
fn address_is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

impl CheckRuntime {
    /// A runtime programming the kernel's IPVS.
    pub fn new(flags: ChildFlags, pid_file: Option<PathBuf>) -> CheckRuntime {
        let mut rt = Self::with_backend(flags, Box::new(open_kernel));
        rt.pid_file = pid_file;
        rt
    }

    /// A runtime with another IPVS backend (tests). A backend that cannot be
    /// opened makes `configure` fail (no process exit).
    pub fn with_backend(flags: ChildFlags, factory: BackendFactory) -> CheckRuntime {
        let seed = u64::from(std::process::id())
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9e37_79b9);
        CheckRuntime {
            flags,
            pid_file: None,
            factory,
            backend: None,
            exit_on_fatal: false,
            start: Instant::now(),
            lvs_flush_on_stop: false,
            mapped: None,
            engine: None,
            mirror: mirror::Mirror::default(),
            active: HashMap::new(),
            scripts: HashMap::new(),
            runner: ScriptRunner::new(RunnerOptions::default()),
            tls: None,
            tick: None,
            seq: 0,
            rng: seed | 1,
            reloads: 0,
            capture: None,
            ipvs_ops: 0,
            alerts: None,
            addr_events: None,
            track_files: None,
            alert_flags: Vec::new(),
            last_quorum_line: String::new(),
            trim_pending: false,
            next_trim: Instant::now() + TRIM_INTERVAL,
        }
    }

    /// Record every log line the runtime emits (tests).
    pub fn capture_logs(&mut self) -> LogCapture {
        let c = LogCapture::default();
        self.capture = Some(Arc::clone(&c));
        c
    }

    /// The engine (state of every checker).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// The mapped configuration in force.
    pub fn mapped(&self) -> Option<&Mapped> {
        self.mapped.as_ref()
    }

    /// IPVS operations applied since start.
    pub fn ipvs_ops(&self) -> u64 {
        self.ipvs_ops
    }

    /// The kernel table as the runtime believes it is (its mirror).
    pub fn table(&self) -> Vec<VirtualService> {
        self.mirror.table()
    }

    fn emit(&self, line: &str) {
        log::info!("{line}");
        if let Some(c) = &self.capture {
            if let Ok(mut v) = c.lock() {
                v.push(line.to_string());
            }
        }
    }

    fn now(&self) -> Millis {
        Millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn instant(&self, m: Millis) -> Instant {
        self.start + Duration::from_millis(m.0)
    }

    fn vip_flags(mapped: &Mapped) -> Vec<bool> {
        mapped
            .plans
            .iter()
            .map(|p| p.ha_suspend_vip.is_none_or(address_is_local))
            .collect()
    }

    /// IPVS could not be opened: keepalived 2.2.7 logs the reason, shuts
    /// down each service it would have had, and its checker exits FATAL.
    fn ipvs_unavailable(&mut self, e: &IpvsError, mapped: &Mapped) -> String {
        let line = e.keepalived_log_line();
        self.emit(&line);
        for (vs, p) in mapped.engine.iter().zip(&mapped.plans) {
            for rs in &vs.real_servers {
                if rs.checkers.iter().all(|c| !c.alpha) {
                    let name = check::RsAddr {
                        addr: rs.addr,
                        proto: vs.proto,
                    };
                    self.emit(&format!("Shutting down service {name} from VS {}", p.name));
                }
            }
        }
        line
    }

    /// A restarted child adopting a table: a real server of a virtual server
    /// whose service is already in the kernel starts as the table shows it
    /// (absent, or at weight 0 with `inhibit_on_failure`, = down until its
    /// first success, as `alpha`), so that the start changes nothing —
    /// a sorry server in use stays (quorum down at start). A virtual server
    /// without any service in the table starts as usual.
    fn seed_from_table(&self, mapped: &Mapped, configs: &mut [check::VirtualServerConfig]) {
        for (cfg, plan) in configs.iter_mut().zip(&mapped.plans) {
            let Some(current) = plan
                .services
                .iter()
                .find(|s| self.mirror.contains(&s.key))
                .map(|s| s.key)
            else {
                continue;
            };
            for (rs, rplan) in cfg.real_servers.iter_mut().zip(&plan.real_servers) {
                let found = self
                    .mirror
                    .dest_weight(&current, |k| {
                        k.addr == rplan.dest.addr && (plan.group || k.port == rplan.dest.port)
                    })
                    .flatten();
                let down = match found {
                    None => true,
                    Some(w) => w == 0 && rs.inhibit_on_failure && rs.weight > 0,
                };
                if down {
                    rs.checkers.iter_mut().for_each(|c| c.alpha = true);
                }
            }
        }
    }

    fn start_engine(&mut self, sched: &mut Sched, mut mapped: Mapped) {
        let now = self.now();
        let vips = Self::vip_flags(&mapped);
        // The engine owns the checker configurations; the kept plan does
        // not duplicate them (its `engine` list is left empty).
        let mut configs = std::mem::take(&mut mapped.engine);
        self.seed_from_table(&mapped, &mut configs);
        self.mapped = Some(mapped);
        let mut rng = self.rng;
        let (engine, actions) = Engine::new(configs, now, &mut jitter(&mut rng), &|vs| {
            vips.get(vs).copied().unwrap_or(true)
        });
        self.rng = rng;
        self.engine = Some(engine);
        self.run_actions(sched, actions);
    }

    fn refresh_mirror(&mut self) {
        let Some(b) = self.backend.as_mut() else {
            return;
        };
        match b.table() {
            Ok(t) => self.mirror.load(t),
            Err(e) => log::info!("IPVS: cannot read the table: {e}"),
        }
    }

    /// Applies the difference between the kernel and the desired table of
    /// the virtual servers `vss`, and deletes the services in `gone`.
    fn reconcile(&mut self, vss: &BTreeSet<usize>, gone: &[ServiceKey]) {
        // A refused operation means the mirror was wrong (someone else
        // changed the table): re-read it and try once more.
        if self.reconcile_once(vss, gone) {
            self.refresh_mirror();
            if self.reconcile_once(vss, gone) {
                self.refresh_mirror();
            }
        }
    }

    /// One reconciliation pass; true when an operation failed.
    fn reconcile_once(&mut self, vss: &BTreeSet<usize>, gone: &[ServiceKey]) -> bool {
        let (Some(engine), Some(mapped)) = (self.engine.as_ref(), self.mapped.as_ref()) else {
            return false;
        };
        let mut desired = Vec::new();
        for &vs in vss {
            if let Some(plan) = mapped.plans.get(vs) {
                desired.extend(desired_services(plan, &engine.desired_table(vs)));
            }
        }
        let mut ops: Vec<ipvs::Op> = gone
            .iter()
            .filter(|k| self.mirror.contains(k))
            .map(|k| ipvs::Op::DelService(*k))
            .collect();
        // Service by service against the mirror's entry: an identical one
        // (the common case, e.g. an unchanged reload) is skipped without
        // building anything; otherwise only that service is expanded.
        let opts = DiffOptions {
            remove_unknown_services: false,
        };
        for d in &desired {
            if self.mirror.same(d) {
                continue;
            }
            let current: Vec<VirtualService> =
                self.mirror.get(&d.service.key).into_iter().collect();
            ops.extend(ipvs::diff(&current, std::slice::from_ref(d), opts));
        }
        if ops.is_empty() {
            return false;
        }
        let Some(backend) = self.backend.as_mut() else {
            return false;
        };
        let failures = backend.apply_ops(&ops);
        let failed = !failures.is_empty();
        let bad: HashSet<usize> = failures.iter().map(|(i, _)| *i).collect();
        for (i, op) in ops.iter().enumerate() {
            if bad.contains(&i) {
                continue;
            }
            self.ipvs_ops += 1;
            self.mirror.apply(op);
        }
        for (i, e) in &failures {
            let line = e.keepalived_cmd_log_line().unwrap_or_else(|| {
                let op = ops.get(*i).map(ipvs::ipvsadm::op_line).unwrap_or_default();
                format!("IPVS: {op} failed: {e}")
            });
            log::info!("{line}");
        }
        failed
    }

    fn run_actions(&mut self, sched: &mut Sched, actions: Vec<Action>) {
        let mut queue: VecDeque<Action> = actions.into();
        let mut changed = BTreeSet::new();
        while let Some(a) = queue.pop_front() {
            match a {
                Action::Log(l) => {
                    if l.0.starts_with("Gained quorum") || l.0.starts_with("Lost quorum") {
                        self.last_quorum_line.clone_from(&l.0);
                    }
                    self.emit(&l.0)
                }
                Action::StartProbe { id, probe } => {
                    if let Some(outcome) = self.start_probe(sched, id, probe) {
                        let now = self.now();
                        if let Some(e) = self.engine.as_mut() {
                            queue.extend(e.on_result(now, id, probe.token, outcome));
                        }
                    }
                }
                Action::AbortProbe { token, .. } => self.drop_probe(sched, token),
                Action::Notify(n) => self.notify(n),
                Action::TableChanged { vs } => {
                    changed.insert(vs);
                }
            }
        }
        if !changed.is_empty() {
            self.reconcile(&changed, &[]);
        }
    }

    fn alert(&self, n: Notify) {
        let (Some(al), Some(mapped), Some(engine)) = (
            self.alerts.as_ref(),
            self.mapped.as_ref(),
            self.engine.as_ref(),
        ) else {
            return;
        };
        match n {
            Notify::RsUp { vs, rs } | Notify::RsDown { vs, rs } => {
                let on = self
                    .alert_flags
                    .get(vs)
                    .and_then(|v| v.1.get(rs))
                    .copied()
                    .unwrap_or(false);
                let (Some(v), Some(p)) = (engine.vs_config(vs), mapped.plans.get(vs)) else {
                    return;
                };
                let Some(r) = engine.rs_config(vs, rs) else {
                    return;
                };
                if on {
                    let up = matches!(n, Notify::RsUp { .. });
                    let name = check::RsAddr {
                        addr: r.addr,
                        proto: v.proto,
                    };
                    let first = engine.checker(CheckerId { vs, rs, checker: 0 });
                    let body = alerts::rs_body(first.map(|c| &c.config().kind), up);
                    al.rs(&name.to_string(), &p.name.to_string(), up, &body);
                }
            }
            Notify::QuorumUp { vs } | Notify::QuorumDown { vs } => {
                if self.alert_flags.get(vs).is_some_and(|v| v.0) {
                    if let Some(p) = mapped.plans.get(vs) {
                        let up = matches!(n, Notify::QuorumUp { .. });
                        al.vs(&p.name.to_string(), up, &self.last_quorum_line);
                    }
                }
            }
        }
    }

    /// ha_suspend: watch address additions/removals (keepalived tracks them
    /// through netlink too) while some virtual server uses it.
    fn setup_addr_events(&mut self, sched: &mut Sched) {
        let wanted = self
            .mapped
            .as_ref()
            .is_some_and(|m| m.plans.iter().any(|p| p.ha_suspend_vip.is_some()));
        match (wanted, self.addr_events.is_some()) {
            (true, false) => match netlink::EventSocket::new() {
                Ok(s) => {
                    use std::os::fd::AsRawFd;
                    let fd = s.as_raw_fd();
                    if let Err(e) = sched.registry().register(
                        &mut mio::unix::SourceFd(&fd),
                        ADDR_EVENTS_TOKEN,
                        mio::Interest::READABLE,
                    ) {
                        log::info!("ha_suspend: cannot watch addresses: {e}");
                    } else {
                        self.addr_events = Some(s);
                    }
                }
                Err(e) => log::info!("ha_suspend: cannot watch addresses: {e}"),
            },
            (false, true) => {
                if let Some(s) = self.addr_events.take() {
                    use std::os::fd::AsRawFd;
                    let fd = s.as_raw_fd();
                    let _ = sched.registry().deregister(&mut mio::unix::SourceFd(&fd));
                }
            }
            _ => {}
        }
    }

    /// FILE_CHECK: (re)creates the track-file watches (keepalived stops and
    /// re-initialises them at reload) and sets the values read now into the
    /// mapped checkers.
    fn setup_track_files(
        &mut self,
        sched: &mut Sched,
        config: &Config,
        mapped: &mut Mapped,
        reload: bool,
    ) {
        use std::os::fd::AsRawFd;
        if let Some(old) = self.track_files.take() {
            if let Some(i) = old.inotify() {
                let fd = i.as_raw_fd();
                let _ = sched.registry().deregister(&mut mio::unix::SourceFd(&fd));
            }
        }
        let names = track_file_names(mapped);
        if names.is_empty() {
            return;
        }
        let (tf, lines) = files::TrackFiles::setup(config, &names, reload);
        for l in &lines {
            self.emit(l);
        }
        set_track_file_values(mapped, &|n| tf.value(n));
        if let Some(i) = tf.inotify() {
            let fd = i.as_raw_fd();
            if let Err(e) = sched.registry().register(
                &mut mio::unix::SourceFd(&fd),
                FILE_EVENTS_TOKEN,
                mio::Interest::READABLE,
            ) {
                self.emit(&format!("Unable to monitor track files: {e}"));
            }
        }
        self.track_files = Some(tf);
    }

    fn on_file_events(&mut self, sched: &mut Sched) {
        let Some(tf) = self.track_files.as_mut() else {
            return;
        };
        let (changes, lines) = tf.on_readable();
        for l in &lines {
            self.emit(l);
        }
        for (name, value) in changes {
            let actions = match self.engine.as_mut() {
                Some(e) => e.track_file_value(&name, value),
                None => Vec::new(),
            };
            self.run_actions(sched, actions);
        }
    }

    fn on_addr_events(&mut self, sched: &mut Sched) {
        let Some(sock) = self.addr_events.as_mut() else {
            return;
        };
        let events = match sock.drain() {
            Ok(e) => e,
            Err(e) => {
                log::info!("ha_suspend: address events: {e}");
                return;
            }
        };
        let Some(mapped) = self.mapped.as_ref() else {
            return;
        };
        let mut changes = Vec::new();
        for ev in events {
            let (addr, added) = match ev {
                netlink::Event::AddrAdded(a) => (a.addr, true),
                netlink::Event::AddrRemoved(a) => (a.addr, false),
                _ => continue,
            };
            for (vs, p) in mapped.plans.iter().enumerate() {
                if p.ha_suspend_vip == Some(addr) {
                    changes.push((vs, added));
                }
            }
        }
        for (vs, added) in changes {
            let actions = match self.engine.as_mut() {
                Some(e) => e.vip_event(vs, added),
                None => Vec::new(),
            };
            self.run_actions(sched, actions);
        }
    }

    fn setup_alerts(&mut self, config: &Config) {
        self.alert_flags = config
            .virtual_servers
            .iter()
            .map(|vs| {
                let v = alerts::vs_alert(config, vs);
                let r = vs
                    .real_servers
                    .iter()
                    .map(|r| r.smtp_alert.unwrap_or(v))
                    .collect();
                (v, r)
            })
            .collect();
        let wanted = self
            .alert_flags
            .iter()
            .any(|(v, r)| *v || r.iter().any(|x| *x));
        if let Some(a) = self.alerts.take() {
            drop(a);
        }
        if wanted {
            self.alerts = alerts::Alerts::new(config);
        }
    }

    fn notify(&mut self, n: Notify) {
        self.alert(n);
        let Some(mapped) = self.mapped.as_ref() else {
            return;
        };
        let script = match n {
            Notify::RsUp { vs, rs } => mapped
                .plans
                .get(vs)
                .and_then(|p| p.real_servers.get(rs))
                .and_then(|r| r.notify_up.as_deref().cloned()),
            Notify::RsDown { vs, rs } => mapped
                .plans
                .get(vs)
                .and_then(|p| p.real_servers.get(rs))
                .and_then(|r| r.notify_down.as_deref().cloned()),
            Notify::QuorumUp { vs } => mapped.plans.get(vs).and_then(|p| p.quorum_up.clone()),
            Notify::QuorumDown { vs } => mapped.plans.get(vs).and_then(|p| p.quorum_down.clone()),
        };
        if let Some(s) = script {
            let spec = script_spec(&s, None);
            if let Err(e) = self.runner.spawn(&spec, Instant::now()) {
                self.emit(&e.to_string());
            }
        }
    }

    /// How to probe a checker.
    fn probe_spec(&self, id: CheckerId) -> Option<&mapping::ProbeSpec> {
        self.mapped
            .as_ref()?
            .plans
            .get(id.vs)?
            .real_servers
            .get(id.rs)?
            .probes
            .get(id.checker)
    }

    /// Starts a probe; `Some(outcome)` when it finished at once.
    fn start_probe(
        &mut self,
        sched: &mut Sched,
        id: CheckerId,
        probe: ProbeRequest,
    ) -> Option<ProbeOutcome> {
        // What to prepare, without copying the spec (once per probe).
        let (misc, ssl, quiet) = match &self.probe_spec(id)?.kind {
            ProbeKind::Misc(m) => (Some((**m).clone()), false, false),
            ProbeKind::Http(h) => (None, h.ssl, false),
            ProbeKind::Udp(u) => (None, false, !u.expect.require_reply),
            _ => (None, false, false),
        };
        self.seq = self.seq.wrapping_add(1);
        let mut active = Active {
            id,
            io: None,
            script: None,
            quiet_success_at: None,
        };
        if let Some(m) = misc {
            let s = Script {
                argv: m.argv,
                user: m.user.as_ref().map(|u| u.0.clone()),
                group: m.user.as_ref().and_then(|u| u.1.clone()),
            };
            let spec = script_spec(&s, Some(m.timeout));
            match self.runner.spawn(&spec, Instant::now()) {
                Ok(h) => {
                    self.scripts.insert(h, probe.token);
                    active.script = Some(h);
                }
                Err(e) => {
                    self.emit(&e.to_string());
                    return Some(ProbeOutcome::Misc(check::MiscExit::Exited(127)));
                }
            }
        } else {
            if ssl && self.tls.is_none() {
                match check::tls::client_config() {
                    Ok(c) => self.tls = Some(c),
                    Err(e) => log::info!("SSL_GET: TLS configuration failed: {e}"),
                }
            }
            if quiet {
                let deadline = self.instant(probe.deadline);
                active.quiet_success_at = Some(
                    deadline
                        .checked_sub(Duration::from_millis(2))
                        .unwrap_or(deadline),
                );
            }
            let spec = self.probe_spec(id)?;
            match probe::start(
                spec,
                probe.url,
                Token(probe.token as usize),
                sched.registry(),
                self.tls.as_ref(),
                self.seq,
            ) {
                Started::Io(io) => active.io = Some(Box::new(io)),
                Started::Done(o) => return Some(o),
            }
        }
        self.active.insert(probe.token, active);
        None
    }

    fn drop_probe(&mut self, sched: &mut Sched, token: u64) {
        if let Some(mut a) = self.active.remove(&token) {
            if let Some(io) = a.io.as_mut() {
                probe::deregister(io, sched.registry());
            }
            if let Some(h) = a.script {
                // The runner already enforces misc_timeout (TERM, then KILL
                // the process group); make sure it goes now.
                let _ = self.runner.signal(h, nix::sys::signal::Signal::SIGKILL);
                self.scripts.remove(&h);
            }
        }
    }

    fn finish_probe(&mut self, sched: &mut Sched, token: u64, outcome: ProbeOutcome) {
        let Some(mut a) = self.active.remove(&token) else {
            return;
        };
        if let Some(io) = a.io.as_mut() {
            probe::deregister(io, sched.registry());
        }
        let now = self.now();
        let actions = match self.engine.as_mut() {
            Some(e) => e.on_result(now, a.id, token, outcome),
            None => return,
        };
        self.run_actions(sched, actions);
    }

    fn poll_scripts(&mut self, sched: &mut Sched) {
        let done = self.runner.poll(Instant::now());
        for f in done {
            let Some(token) = self.scripts.remove(&f.handle) else {
                continue;
            };
            let exit = if f.timed_out {
                check::MiscExit::TimedOut
            } else {
                match f.exit {
                    ExitKind::Exited(c) => check::MiscExit::Exited((c & 0xff) as u8),
                    ExitKind::Signaled(s) => check::MiscExit::Signaled(s),
                    ExitKind::Lost => check::MiscExit::Exited(0),
                }
            };
            self.finish_probe(sched, token, ProbeOutcome::Misc(exit));
        }
    }

    fn on_tick(&mut self, sched: &mut Sched) {
        let now_i = Instant::now();
        let quiet: Vec<u64> = self
            .active
            .iter()
            .filter(|(_, a)| a.quiet_success_at.is_some_and(|t| t <= now_i))
            .map(|(t, _)| *t)
            .collect();
        for t in quiet {
            self.finish_probe(sched, t, ProbeOutcome::Success(None));
        }
        self.poll_scripts(sched);
        let now = self.now();
        let actions = match self.engine.as_mut() {
            Some(e) => e.on_timer(now),
            None => Vec::new(),
        };
        self.run_actions(sched, actions);
    }

    /// Gives back what bursts left allocated: the probe table after the
    /// start (every checker probes within its first second), the mirror's
    /// destination lists after removals.
    fn compact(&mut self) {
        if self.active.capacity() > 2 * self.active.len() + 64 {
            self.active.shrink_to(self.active.len() * 2);
        }
        self.mirror.compact();
    }

    fn rearm(&mut self, sched: &mut Sched) {
        let mut next: Option<Instant> = self
            .engine
            .as_ref()
            .and_then(|e| e.next_wakeup())
            .map(|m| self.instant(m));
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        if let Some(t) = self.runner.next_deadline() {
            consider(t);
        }
        for a in self.active.values() {
            if let Some(t) = a.quiet_success_at {
                consider(t);
            }
        }
        if self.runner.running() > 0 {
            // SIGCHLD may be taken by another thread in tests: poll too.
            consider(Instant::now() + Duration::from_millis(50));
        }
        match (next, self.tick) {
            (Some(t), Some(id)) => sched.rearm_at(id, t),
            (Some(t), None) => self.tick = Some(sched.timer_at(t)),
            (None, Some(id)) => {
                sched.cancel(id);
            }
            (None, None) => {}
        }
    }

    /// Maps the in-flight probes to their (possibly renumbered) checkers
    /// after a reload; drops the probes the engine no longer waits for.
    fn remap_active(&mut self, sched: &mut Sched) {
        let (Some(engine), Some(mapped)) = (self.engine.as_ref(), self.mapped.as_ref()) else {
            return;
        };
        let mut by_token = HashMap::new();
        for (vs, p) in mapped.plans.iter().enumerate() {
            for (rs, r) in p.real_servers.iter().enumerate() {
                for checker in 0..r.probes.len() {
                    let id = CheckerId { vs, rs, checker };
                    if let Some(t) = engine.checker(id).and_then(|c| c.in_flight()) {
                        by_token.insert(t, id);
                    }
                }
            }
        }
        let tokens: Vec<u64> = self.active.keys().copied().collect();
        for t in tokens {
            match by_token.get(&t) {
                Some(id) => {
                    if let Some(a) = self.active.get_mut(&t) {
                        a.id = *id;
                    }
                }
                None => self.drop_probe(sched, t),
            }
        }
    }

    fn all_keys(mapped: &Mapped) -> HashSet<ServiceKey> {
        mapped
            .plans
            .iter()
            .flat_map(|p| p.services.iter().map(|s| s.key))
            .collect()
    }

    fn release_ipvs(&mut self) {
        let Some(mapped) = self.mapped.as_ref() else {
            return;
        };
        let mut lines = Vec::new();
        if let Some(engine) = self.engine.as_ref() {
            for (vi, p) in mapped.plans.iter().enumerate() {
                let proto = engine.vs_config(vi).map(|v| v.proto);
                for (ri, d) in engine.desired_table(vi).iter().enumerate() {
                    if d.present && !d.sorry && ri < p.real_servers.len() {
                        if let Some(proto) = proto {
                            let rs = check::RsAddr {
                                addr: d.addr,
                                proto,
                            };
                            lines.push(format!("Shutting down service {rs} from VS {}", p.name));
                        }
                    }
                }
            }
        }
        let keys = Self::all_keys(mapped);
        for l in lines {
            self.emit(&l);
        }
        let flush = self.lvs_flush_on_stop;
        let Some(backend) = self.backend.as_mut() else {
            return;
        };
        if flush {
            if let Err(e) = backend.flush() {
                log::info!("IPVS: flush failed: {e}");
            }
            return;
        }
        for k in self.mirror.keys() {
            if keys.contains(k) {
                if let Err(e) = backend.apply_op(&ipvs::Op::DelService(*k)) {
                    log::info!("IPVS: removing {k} failed: {e}");
                }
            }
        }
    }
}

impl ChildHandler for CheckRuntime {
    fn configure(
        &mut self,
        sched: &mut Sched,
        config: &Config,
        reload: bool,
    ) -> Result<(), String> {
        let t0 = Instant::now();
        let mut mapped = map_config(config);
        let t_map = t0.elapsed();
        for w in &mapped.warnings {
            self.emit(w);
        }
        self.setup_track_files(sched, config, &mut mapped, reload);
        if !reload || self.engine.is_none() {
            match (self.factory)() {
                Ok(b) => self.backend = Some(b),
                Err(e) => {
                    let line = self.ipvs_unavailable(&e, &mapped);
                    if self.exit_on_fatal {
                        if let Some(p) = &self.pid_file {
                            ipc::pidfile::remove_if_ours(p, std::process::id());
                        }
                        self.emit("Stopped");
                        std::process::exit(EXIT_FATAL);
                    }
                    return Err(line);
                }
            }
            let lt = &config.global.lvs_timeouts;
            if lt.tcp.is_some() || lt.tcpfin.is_some() || lt.udp.is_some() {
                let secs = |m: Option<config::Micros>| {
                    m.map(|m| u32::try_from(m.0 / 1_000_000).unwrap_or(u32::MAX))
                        .unwrap_or(0)
                };
                let t = ipvs::Timeouts {
                    tcp: secs(lt.tcp),
                    tcp_fin: secs(lt.tcpfin),
                    udp: secs(lt.udp),
                };
                if let Some(b) = self.backend.as_mut() {
                    if let Err(e) = b.set_timeouts(&t) {
                        log::info!("IPVS: setting timeouts failed: {e}");
                    }
                }
            }
            if config.global.lvs_flush {
                if let Some(b) = self.backend.as_mut() {
                    if let Err(e) = b.flush() {
                        log::info!("IPVS: flush failed: {e}");
                    }
                }
            }
            self.refresh_mirror();
            self.lvs_flush_on_stop = config.global.lvs_flush_on_stop == Some(true);
            self.setup_alerts(config);
            self.start_engine(sched, mapped);
        } else {
            self.reloads += 1;
            let old_keys = self.mapped.as_ref().map(Self::all_keys).unwrap_or_default();
            let new_keys = Self::all_keys(&mapped);
            let gone: Vec<ServiceKey> = self
                .mirror
                .keys()
                .iter()
                .filter(|k| old_keys.contains(k) && !new_keys.contains(k))
                .copied()
                .collect();
            let now = self.now();
            let vips = Self::vip_flags(&mapped);
            let configs = std::mem::take(&mut mapped.engine);
            let n = mapped.plans.len();
            self.mapped = Some(mapped);
            self.lvs_flush_on_stop = config.global.lvs_flush_on_stop == Some(true);
            self.setup_alerts(config);
            let mut rng = self.rng;
            let actions = match self.engine.as_mut() {
                Some(e) => e.reload(configs, now, &mut jitter(&mut rng), &|vs| {
                    vips.get(vs).copied().unwrap_or(true)
                }),
                None => Vec::new(),
            };
            self.rng = rng;
            let t_engine = t0.elapsed();
            let ops0 = self.ipvs_ops;
            self.remap_active(sched);
            self.reconcile(&BTreeSet::new(), &gone);
            self.run_actions(sched, actions);
            let all: BTreeSet<usize> = (0..n).collect();
            self.reconcile(&all, &[]);
            // Per-phase figures of a reload (-D).
            log::debug!(
                "Reload: mapping {:.1} ms, engine {:.1} ms, reconcile {:.1} ms, {} IPVS operations",
                t_map.as_secs_f64() * 1e3,
                (t_engine - t_map).as_secs_f64() * 1e3,
                (t0.elapsed() - t_engine).as_secs_f64() * 1e3,
                self.ipvs_ops - ops0
            );
        }
        self.setup_addr_events(sched);
        self.rearm(sched);
        // The configuration received, mapped and diffed leaves megabytes of
        // freed heap behind (temporaries, and the `Config` itself once ipc
        // drops it after this returns): give it back now and at the next event.
        sys::mem::trim_heap();
        self.trim_pending = true;
        Ok(())
    }

    fn event(&mut self, sched: &mut Sched, event: &Event) {
        if self.trim_pending || Instant::now() >= self.next_trim {
            self.compact();
            self.trim_pending = false;
            self.next_trim = Instant::now() + TRIM_INTERVAL;
            sys::mem::trim_heap();
        }
        match event {
            Event::Io(io) if io.token == ADDR_EVENTS_TOKEN => self.on_addr_events(sched),
            Event::Io(io) if io.token == FILE_EVENTS_TOKEN => self.on_file_events(sched),
            Event::Io(io) => {
                let token = io.token.0 as u64;
                let outcome = self
                    .active
                    .get_mut(&token)
                    .and_then(|a| a.io.as_mut())
                    .and_then(|p| p.on_event(io));
                if let Some(o) = outcome {
                    self.finish_probe(sched, token, o);
                }
            }
            Event::Timer(id) if Some(*id) == self.tick => self.on_tick(sched),
            Event::Signal(si) if si.signo == libc::SIGCHLD => self.poll_scripts(sched),
            _ => return,
        }
        self.rearm(sched);
    }

    fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        match kind {
            DumpKind::Data => {
                let text = dump::data_text(self);
                let path = dump::data_path();
                status::write_dump_file(&path, text.as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Ok(path.display().to_string())
            }
            other => Err(format!("checker {other:?} dump not supported")),
        }
    }

    fn status(&mut self) -> String {
        dump::status_json(self)
    }

    fn shutdown(&mut self, _sched: &mut Sched) {
        if let Some(e) = self.engine.as_ref() {
            let actions = e.shutdown();
            for a in actions {
                if let Action::Notify(n) = a {
                    self.notify(n);
                }
            }
        }
        if !self.flags.dont_release_ipvs {
            self.release_ipvs();
        }
        self.runner.kill_all();
    }
}

/// Main of the checker child; returns the exit code.
pub fn run(opts: &ChildOptions) -> i32 {
    // Before the configuration is decoded: its large buffers get their own
    // mappings and leave no holes in the heap once dropped.
    sys::mem::set_mmap_threshold(MMAP_THRESHOLD);
    let mut rt = CheckRuntime::new(opts.flags, opts.pid_file.clone());
    rt.exit_on_fatal = true;
    ipc::run_child(opts, &mut rt)
}

/// Drives a runtime without a parent process (tests, tools): the same
/// dispatch as `ipc::run_child` for the runtime's own events.
pub fn drive(sched: &mut Sched, rt: &mut CheckRuntime, for_how_long: Duration) {
    let end = Instant::now() + for_how_long;
    let mut events = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        events.clear();
        if sched.wait(&mut events, Some(end - now)).is_err() {
            break;
        }
        for ev in &events {
            rt.event(sched, ev);
        }
    }
}
