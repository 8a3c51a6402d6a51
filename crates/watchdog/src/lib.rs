//! The parent process ("watchdog"): validates the configuration once,
//! starts the VRRP and checker children as fork+exec of the same binary,
//! feeds them their configuration over typed IPC, watches them (SIGCHLD and
//! heartbeats), restarts them with keepalived's back-off, reloads them in
//! place on SIGHUP, forwards the dump signals and stops them on
//! SIGTERM/SIGINT. Upstream: `core/main.c`, `lib/scheduler.c`,
//! `vrrp/vrrp_daemon.c`, `check/check_daemon.c` (anatomy §1).

mod backoff;
pub mod scripts;
pub mod sdnotify;
pub mod security;

pub use backoff::RestartBackoff;
use sdnotify::Notifier;

use config::{Config, LoadOptions};
use ipc::{
    pidfile, ChildServer, ConfigPayload, DumpKind, FromChild, ParentLink, Received, Role, ToChild,
};
use sched::{reap_children, signal_name, ChildExit, Event, Sched, TimerId};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// keepalived's `KEEPALIVED_EXIT_FATAL`.
pub const EXIT_FATAL: i32 = 1;
/// keepalived's `KEEPALIVED_EXIT_CONFIG`.
pub const EXIT_CONFIG: i32 = 2;
/// keepalived's `KEEPALIVED_EXIT_MISSING_PERMISSION`.
pub const EXIT_MISSING_PERMISSION: i32 = 4;
/// keepalived's `KEEPALIVED_EXIT_NO_CONFIG` (configuration file missing).
pub const EXIT_NO_CONFIG: i32 = 6;

/// Everything the parent needs, from the command line.
#[derive(Debug, Clone)]
pub struct WatchdogOptions {
    /// How to load the configuration (`-f`, `-i`, `--lenient`).
    pub load: LoadOptions,
    /// Start the VRRP child (false with `-C/--check`).
    pub vrrp: bool,
    /// Start the checker child (false with `-P/--vrrp`).
    pub checker: bool,
    /// `--all`: start enabled children even without configuration for them.
    pub all: bool,
    /// `-R/--dont-respawn`: a dead child stops the daemon.
    pub dont_respawn: bool,
    /// Parent pid file (`-p`).
    pub pid_file: PathBuf,
    /// VRRP child pid file (`-r`); the child writes it.
    pub vrrp_pid_file: PathBuf,
    /// Checker child pid file (`-c`); the child writes it.
    pub checkers_pid_file: PathBuf,
    /// Which of parent / VRRP / checkers pid files came from `-p`/`-r`/`-c`;
    /// the others move to `/run/keepalived/` (with an `_<instance>` suffix)
    /// when the configuration has `instance` or `net_namespace`, as upstream.
    pub pid_files_given: [bool; 3],
    /// Called with the new syslog ident when the configuration's
    /// `net_namespace`/`instance` change it (`Keepalived_<ns>_<instance>`).
    pub set_syslog_ident: Option<fn(&str)>,
    /// Program the children are exec'd from (`/proc/self/exe`).
    pub exe: PathBuf,
    /// Arguments given to every child before the hidden role arguments
    /// (the user's options, so children log the same way).
    pub child_args: Vec<OsString>,
    /// Longest interval between two beats of a child's main loop on its
    /// liveness pipe (it beats more often when it wakes up anyway).
    pub heartbeat_interval: Duration,
    /// A child whose main loop has not beaten for this long is SIGKILLed
    /// and restarted.
    pub heartbeat_timeout: Duration,
    /// Grace time for children at shutdown before SIGKILL when the
    /// configuration could not be used; otherwise the root-level
    /// `child_wait_time` of the running configuration applies (default 5 s).
    pub child_wait: Duration,
    /// Version banner used in "Stopped Keepalived v..." .
    pub version: String,
    /// `--ignore-sigint`: SIGINT does not stop the daemon.
    pub ignore_sigint: bool,
    /// `-d/--dump-conf`: log the loaded configuration.
    pub dump_conf: bool,
    /// Status socket and metrics endpoint.
    pub status: status::StatusOptions,
}

impl WatchdogOptions {
    /// Options with keepalived's defaults for `config_file`.
    pub fn new(config_file: PathBuf) -> Self {
        WatchdogOptions {
            load: LoadOptions {
                path: config_file,
                ..Default::default()
            },
            vrrp: true,
            checker: true,
            all: false,
            dont_respawn: false,
            pid_file: pidfile::PARENT.into(),
            vrrp_pid_file: pidfile::VRRP.into(),
            checkers_pid_file: pidfile::CHECKERS.into(),
            pid_files_given: [false; 3],
            set_syslog_ident: None,
            exe: "/proc/self/exe".into(),
            child_args: Vec::new(),
            heartbeat_interval: Duration::from_millis(2500),
            heartbeat_timeout: Duration::from_secs(5),
            child_wait: Duration::from_secs(5),
            version: "Keepalived".into(),
            ignore_sigint: false,
            dump_conf: false,
            status: status::StatusOptions::default(),
        }
    }
}

/// Hidden argument naming the child's role (`vrrp` / `checker`).
pub const ARG_ROLE: &str = "--ka-role";
/// Hidden argument naming the parent's one-shot IPC server.
pub const ARG_IPC: &str = "--ka-ipc-server";
/// Hidden argument with the syslog ident suffix (`_<netns>_<instance>`).
pub const ARG_IDENT_SUFFIX: &str = "--ka-ident-suffix";
/// Hidden argument carrying the parent's pid.
pub const ARG_PARENT: &str = "--ka-parent-pid";
/// Hidden argument: the inherited write end of the child's liveness pipe.
pub const ARG_LIVENESS_FD: &str = "--ka-liveness-fd";
/// Hidden argument: the child's longest interval between beats (seconds).
pub const ARG_LIVENESS_INTERVAL: &str = "--ka-liveness-interval";
/// Hidden argument: the liveness timeout (seconds) the child's kernel kill
/// timer enforces.
pub const ARG_LIVENESS_TIMEOUT: &str = "--ka-liveness-timeout";

/// How often children are asked for status snapshots while someone reads
/// the status socket or the metrics endpoint.
const STATUS_POLL: Duration = Duration::from_secs(1);
/// How long after the last status/metrics request the polling goes on.
const STATUS_DEMAND: Duration = Duration::from_secs(120);

/// Where one child is in its life.
#[derive(Debug)]
enum Phase {
    /// Not running and not scheduled (not configured, or stopped).
    Idle,
    /// Forked, waiting for its Hello.
    Connecting { pid: i32, server: ChildServer },
    /// Connected.
    Running { pid: i32, link: ParentLink },
    /// Killed or stopping, no usable link; waiting to be reaped.
    Dying { pid: i32 },
    /// Dead; restart timer armed.
    RestartWait(TimerId),
}

/// How long a child may stay silent while it applies a configuration.
const LOAD_TIMEOUT: Duration = ipc::liveness::LOAD_TIMEOUT;

#[derive(Debug)]
struct Child {
    role: Role,
    phase: Phase,
    started: Instant,
    backoff: RestartBackoff,
    /// Last sign of life: the newest beat of its main loop, any message,
    /// or the start/connect time.
    last_seen: Instant,
    /// The read end of its liveness pipe (while it runs).
    watch: Option<ipc::liveness::Watch>,
    /// It was asked to keep kernel stop/kill timers on its beats: the
    /// parent checks its beats when it is stopped, else only as a backstop.
    self_kill: bool,
    /// Seen stopped (SIGSTOP from outside, or from its own liveness timer).
    stopped: bool,
    /// Why we killed it, reported when it is reaped.
    kill_reason: Option<String>,
    /// Generation whose Loaded/ReloadResult we wait for.
    awaiting: Option<u64>,
    pid_file: PathBuf,
    /// Its newest status snapshot (JSON), not read yet: parsed only when
    /// a status or metrics client asks (200 VRRP instances make ~200 kB
    /// of JSON a second while polling; parsing each one cost the parent
    /// 15 ms of CPU per 30 s).
    status_json: Option<(Instant, String)>,
}

impl Child {
    fn new(role: Role, pid_file: PathBuf) -> Self {
        Child {
            role,
            phase: Phase::Idle,
            started: Instant::now(),
            backoff: RestartBackoff::new(),
            last_seen: Instant::now(),
            watch: None,
            self_kill: false,
            stopped: false,
            kill_reason: None,
            awaiting: None,
            pid_file,
            status_json: None,
        }
    }

    fn pid(&self) -> Option<i32> {
        match &self.phase {
            Phase::Connecting { pid, .. } | Phase::Running { pid, .. } | Phase::Dying { pid } => {
                Some(*pid)
            }
            _ => None,
        }
    }

    fn prog(&self) -> &'static str {
        self.role.syslog_ident()
    }
}

/// What ended the main loop.
enum Stop {
    /// SIGTERM/SIGINT or a child's death with `-R`: exit 0.
    Requested,
    /// A child's permanent error: exit with this code.
    Permanent(i32),
}

struct Watchdog {
    opts: WatchdogOptions,
    sched: Sched,
    config: Config,
    generation: u64,
    /// `config` encoded for the children: made once per generation, shared
    /// by every child that gets it, dropped when all have loaded it.
    payload: Option<ConfigPayload>,
    children: Vec<Child>,
    /// Fires at the earliest liveness deadline of the children.
    watch_timer: TimerId,
    /// When `watch_timer` is armed for.
    watch_at: Option<Instant>,
    /// Status snapshot polling, armed while there is demand.
    status_timer: Option<TimerId>,
    /// Polling goes on until then (last request + [`STATUS_DEMAND`]).
    status_until: Instant,
    /// "Startup complete" / "Reload complete" not yet logged.
    reloading: Option<&'static str>,
    reload_queued: bool,
    /// The previous configuration and the new one's syntax tree, freed
    /// once every child has loaded the new one (freeing them takes the
    /// parent ~10 ms with 20,000 real servers: not while the children,
    /// on a CPU it may share, decode and apply theirs).
    garbage: Option<(Config, Option<config::Leftovers>)>,
    /// systemd notifications (`Type=notify`), when `$NOTIFY_SOCKET` is set.
    notifier: Option<Notifier>,
    /// Status socket and metrics endpoint.
    status: Option<status::StatusService>,
}

/// First token of the status endpoints (clear of the watchdog's own).
const STATUS_TOKEN_BASE: usize = 1 << 20;

fn role_key(role: Role) -> &'static str {
    match role {
        Role::Vrrp => "vrrp",
        Role::Checker => "checker",
    }
}

/// Signals the parent handles.
fn parent_signals() -> Vec<i32> {
    vec![
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGCHLD,
        libc::SIGUSR1,
        libc::SIGUSR2,
        DumpKind::Json.signal(),
        DumpKind::StatsClear.signal(),
    ]
}

/// Run the parent until it stops; returns the process exit code.
///
/// The caller has set up logging, daemonised, and logged the start banner.
/// Must run on the main thread before any other thread exists (signals are
/// blocked for the signalfd here).
pub fn run(opts: WatchdogOptions) -> i32 {
    let mut sched = match Sched::with_signals(&parent_signals()) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            return EXIT_FATAL;
        }
    };
    log::info!("Configuration file {}", opts.load.path.display());
    let config = match load_config(&opts.load) {
        Ok(c) => c,
        Err(code) => {
            log::info!("Stopped {}", opts.version);
            return code;
        }
    };
    if let Some(ns) = &config.net_namespace {
        if !in_named_netns(ns) {
            log::error!(
                "net_namespace {ns}: entering a network namespace is not supported by keepalived-rs; \
                 start it inside the namespace (ip netns exec {ns} keepalived ...)"
            );
            log::info!("Stopped {}", opts.version);
            return EXIT_CONFIG;
        }
    }
    let mut opts = opts;
    let mut config = config;
    // Script security before anything runs a script (upstream: at start
    // and in each child after it read the configuration).
    security::apply(
        &mut config,
        security::Scope {
            startup: true,
            shutdown: true,
            vrrp: opts.vrrp,
            checker: opts.checker,
        },
        &security::SystemUsers,
    );
    apply_instance_paths(&mut opts, &config);
    let suffix = ident_suffix(&config);
    if !suffix.is_empty() {
        let ident = format!("Keepalived{suffix}");
        log::info!("Changing syslog ident to {ident}");
        if let Some(f) = opts.set_syslog_ident {
            f(&ident);
        }
    }
    // Refuse to run twice (upstream keepalived_running()).
    let mut pid_files = vec![&opts.pid_file];
    if opts.vrrp {
        pid_files.push(&opts.vrrp_pid_file);
    }
    if opts.checker {
        pid_files.push(&opts.checkers_pid_file);
    }
    if pid_files.iter().any(|p| pidfile::running(p).is_some()) {
        log::info!("daemon is already running");
        return 0;
    }
    let me = std::process::id();
    // Held (OFD-locked) until we stop.
    let own_pid_file = match pidfile::PidFile::create(&opts.pid_file, me) {
        Ok(p) => Some(p),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            log::info!("daemon is already running");
            return 0;
        }
        Err(e) => {
            log::error!("Unable to write pidfile {}: {e}", opts.pid_file.display());
            None
        }
    };
    if let Err(e) = sys::process::set_child_subreaper() {
        log::warn!("cannot become child subreaper: {e}");
    }
    for w in missing_interfaces(&config) {
        log::warn!("WARNING - {w}");
    }
    if opts.dump_conf {
        dump_config(&config);
    }
    // Children get their pid files and ident explicitly (last option wins).
    opts.child_args.push("-r".into());
    opts.child_args
        .push(opts.vrrp_pid_file.clone().into_os_string());
    opts.child_args.push("-c".into());
    opts.child_args
        .push(opts.checkers_pid_file.clone().into_os_string());
    if !suffix.is_empty() {
        opts.child_args.push(ARG_IDENT_SUFFIX.into());
        opts.child_args.push(suffix.clone().into());
    }
    let watch_timer = sched.timer_after(opts.heartbeat_timeout);
    let children = vec![
        Child::new(Role::Vrrp, opts.vrrp_pid_file.clone()),
        Child::new(Role::Checker, opts.checkers_pid_file.clone()),
    ];
    let mut wd = Watchdog {
        opts,
        sched,
        config,
        generation: 1,
        payload: None,
        children,
        watch_timer,
        watch_at: None,
        status_timer: None,
        status_until: Instant::now(),
        reloading: Some("Startup complete"),
        reload_queued: false,
        garbage: None,
        notifier: Notifier::from_env(),
        status: None,
    };
    let hub = status::Hub::new(&wd.opts.version, &wd.opts.load.path.to_string_lossy());
    wd.status = Some(status::StatusService::start(
        &wd.opts.status,
        hub,
        wd.sched.registry(),
        STATUS_TOKEN_BASE,
    ));
    scripts::run(&wd.config, scripts::Phase::Startup);
    wd.start_configured_children();
    let stop = wd.main_loop();
    let code = wd.shutdown(stop);
    if let Some(svc) = wd.status.take() {
        svc.close(wd.sched.registry());
    }
    if let Some(p) = own_pid_file {
        p.remove();
    }
    log::info!("Stopped {}", wd.opts.version);
    code
}

/// Load and validate; logs every diagnostic. `Err(exit code)`.
fn load_config(opts: &LoadOptions) -> Result<Config, i32> {
    load_config_deferred(opts).0
}

/// [`load_config`], handing back the syntax tree to free later (a reload
/// frees it after the children have the new configuration, not before).
fn load_config_deferred(opts: &LoadOptions) -> (Result<Config, i32>, Option<config::Leftovers>) {
    if !opts.path.exists() {
        log::error!(
            "Configuration file '{}' does not exist",
            opts.path.display()
        );
        return (Err(EXIT_NO_CONFIG), None);
    }
    let started = Instant::now();
    let (result, leftovers) = config::load_deferred(opts);
    let config = match result {
        Ok(loaded) => {
            for d in &loaded.diagnostics {
                log::warn!("{d}");
            }
            log::debug!(
                "Configuration read in {:.1} ms",
                started.elapsed().as_secs_f64() * 1e3
            );
            Ok(loaded.config)
        }
        Err(failed) => {
            for d in &failed.diagnostics {
                match d.severity {
                    config::Severity::Error => log::error!("{d}"),
                    config::Severity::Warning => log::warn!("{d}"),
                }
            }
            Err(EXIT_CONFIG)
        }
    };
    (config, Some(leftovers))
}

impl Watchdog {
    fn wanted(&self, role: Role) -> bool {
        match role {
            Role::Vrrp => self.opts.vrrp && (self.opts.all || self.config.has_vrrp()),
            Role::Checker => self.opts.checker && (self.opts.all || self.config.has_checker()),
        }
    }

    fn start_configured_children(&mut self) {
        let mut started = 0;
        // Upstream forks the checker first, then VRRP (start_keepalived()).
        for idx in [1, 0] {
            if self.wanted(self.children[idx].role)
                && matches!(self.children[idx].phase, Phase::Idle)
            {
                self.start_child(idx);
                started += 1;
            }
        }
        if started == 0 && self.children.iter().all(|c| matches!(c.phase, Phase::Idle)) {
            log::warn!("Warning - keepalived has no configuration to run");
            self.finish_reload_if_done();
        }
    }

    fn start_child(&mut self, idx: usize) {
        let role = self.children[idx].role;
        let server = match ChildServer::listen(self.sched.waker()) {
            Ok(s) => s,
            Err(e) => {
                log::error!(
                    "Unable to start {} child process: {e}",
                    role.upstream_name()
                );
                self.schedule_restart(idx, None);
                return;
            }
        };
        let (watch, beat_tx) = match ipc::liveness::Watch::new() {
            Ok((w, tx)) => (Some(w), Some(tx)),
            Err(e) => {
                log::warn!("liveness pipe: {e} - the child's main loop is not watched");
                (None, None)
            }
        };
        let mut cmd = Command::new(&self.opts.exe);
        if let Some(arg0) = std::env::args_os().next() {
            // Same argv[0] as the parent, so `ps` shows the children as upstream.
            std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
        }
        cmd.args(&self.opts.child_args)
            .arg(ARG_ROLE)
            .arg(role.as_arg())
            .arg(ARG_IPC)
            .arg(server.name())
            .arg(ARG_PARENT)
            .arg(std::process::id().to_string())
            .env_remove(sdnotify::ENV)
            .stdin(Stdio::null());
        if let Some(tx) = &beat_tx {
            use std::os::fd::AsRawFd;
            cmd.arg(ARG_LIVENESS_FD)
                .arg(tx.as_raw_fd().to_string())
                .arg(ARG_LIVENESS_INTERVAL)
                .arg(format!("{}", self.opts.heartbeat_interval.as_secs_f64()))
                .arg(ARG_LIVENESS_TIMEOUT)
                .arg(format!("{}", self.opts.heartbeat_timeout.as_secs_f64()));
            sys::process::inherit_fd_on_exec(&mut cmd, tx.as_raw_fd());
        }
        sys::process::pdeathsig_on_exec(&mut cmd, nix::sys::signal::Signal::SIGTERM);
        let spawned = cmd.spawn();
        drop(beat_tx); // the child has its copy
        match spawned {
            Ok(child) => {
                // Reaped through SIGCHLD + waitpid(-1); the handle is not needed.
                let pid = child.id() as i32;
                drop(child);
                log::info!("Starting {} child process, pid={pid}", role.upstream_name());
                let c = &mut self.children[idx];
                c.phase = Phase::Connecting { pid, server };
                c.started = Instant::now();
                c.last_seen = Instant::now();
                c.self_kill = watch.is_some();
                c.stopped = false;
                c.watch = watch;
                c.kill_reason = None;
                c.awaiting = Some(self.generation);
            }
            Err(e) => {
                log::error!(
                    "Unable to start {} child process: {e}",
                    role.upstream_name()
                );
                server.abort();
                self.schedule_restart(idx, None);
            }
        }
    }

    fn main_loop(&mut self) -> Stop {
        let mut events = Vec::new();
        loop {
            events.clear();
            if let Err(e) = self.sched.wait(&mut events, None) {
                log::error!("event loop failed: {e}");
                return Stop::Permanent(EXIT_FATAL);
            }
            for ev in std::mem::take(&mut events) {
                let stop = match ev {
                    Event::Signal(si) => self.on_signal(si.signo),
                    Event::Wake => {
                        self.poll_children();
                        None
                    }
                    Event::Timer(id) => self.on_timer(id),
                    Event::Io(io) => {
                        let mut asked = false;
                        if self.status.as_ref().is_some_and(|svc| svc.owns(io.token)) {
                            self.read_status_snapshots();
                        }
                        if let Some(svc) = self.status.as_mut() {
                            if svc.owns(io.token) {
                                svc.handle(self.sched.registry(), io.token);
                                asked = true;
                            }
                        }
                        if asked {
                            self.status_demand();
                        }
                        None
                    }
                };
                if let Some(stop) = stop {
                    return stop;
                }
            }
            self.arm_watch();
        }
    }

    /// The earliest moment a child must be checked: its last sign of life
    /// plus its timeout (longer while it applies a configuration), or its
    /// connect deadline.
    fn next_watch(&self) -> Option<Instant> {
        let timeout = self.opts.heartbeat_timeout;
        self.children
            .iter()
            .filter(|c| c.kill_reason.is_none())
            .filter_map(|c| match &c.phase {
                Phase::Running { .. } => Some(c.last_seen + self.enforced(c)),
                Phase::Connecting { .. } => {
                    Some(c.last_seen + timeout.max(Duration::from_secs(10)))
                }
                _ => None,
            })
            .min()
    }

    fn limit(&self, c: &Child) -> Duration {
        // A child applying a configuration (start or reload) does not run
        // its loop until it is done: a 20,000-real-server config can take
        // seconds in a slow guest. It gets LOAD_TIMEOUT for that.
        if c.awaiting.is_some() {
            self.opts.heartbeat_timeout.max(LOAD_TIMEOUT)
        } else {
            self.opts.heartbeat_timeout
        }
    }

    /// The silence after which the parent kills a child itself: its limit,
    /// plus [`ipc::liveness::BACKSTOP`] when the child's own kernel timer
    /// enforces the limit (the parent then does not wake up for it).
    fn enforced(&self, c: &Child) -> Duration {
        if c.self_kill && !c.stopped {
            self.limit(c) + ipc::liveness::BACKSTOP
        } else {
            self.limit(c)
        }
    }

    /// Re-arm the liveness timer when the earliest deadline moved earlier
    /// (a later one is found when the timer fires: no extra wake-up for
    /// every message).
    fn arm_watch(&mut self) {
        let Some(want) = self.next_watch() else {
            return;
        };
        if self.watch_at.is_none_or(|at| want < at) {
            self.sched.rearm_at(self.watch_timer, want);
            self.watch_at = Some(want);
        }
    }

    /// A status or metrics client asked: keep snapshots fresh for a while.
    fn status_demand(&mut self) {
        let now = Instant::now();
        self.status_until = now + STATUS_DEMAND;
        if self.status_timer.is_none() {
            self.request_status();
            self.status_timer = Some(self.sched.timer_after(STATUS_POLL));
        }
    }

    /// Hand the snapshots received since the last client to the status
    /// hub (before it answers one).
    fn read_status_snapshots(&mut self) {
        let Some(svc) = self.status.as_mut() else {
            return;
        };
        for c in &mut self.children {
            let Some((received, json)) = c.status_json.take() else {
                continue;
            };
            let role = role_key(c.role);
            if let Err(e) = svc.hub.child_snapshot(role, &json) {
                log::debug!("{role} status snapshot unreadable: {e}");
            }
            log::trace!(
                "{role} status snapshot read {:.0} ms after it arrived",
                received.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    fn request_status(&self) {
        for c in &self.children {
            if let Phase::Running { link, .. } = &c.phase {
                let _ = link.send(ToChild::Status);
            }
        }
    }

    fn on_signal(&mut self, sig: i32) -> Option<Stop> {
        match sig {
            libc::SIGINT if self.opts.ignore_sigint => None,
            libc::SIGTERM | libc::SIGINT => Some(Stop::Requested),
            libc::SIGHUP => {
                self.reload();
                None
            }
            libc::SIGCHLD => {
                let stop = self.reap();
                if stop.is_none() {
                    self.note_stopped();
                }
                stop
            }
            other => {
                if let Some(kind) = DumpKind::from_signal(other) {
                    self.forward_dump(kind, other);
                    if kind == DumpKind::Data {
                        // Upstream: the parent forwards SIGUSR1 *and* dumps its own data.
                        match write_dump(
                            &dump_dir().join("keepalived_parent.data"),
                            &self.parent_data(),
                        ) {
                            Ok(p) => log::debug!("Parent data written to {}", p.display()),
                            Err(e) => log::info!("Unable to write keepalived_parent.data: {e}"),
                        }
                    }
                }
                None
            }
        }
    }

    /// The parent's part of the SIGUSR1 dump.
    fn parent_data(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(o, "------< Parent process >------");
        let _ = writeln!(o, " Version = {}", self.opts.version);
        let _ = writeln!(o, " Pid = {}", std::process::id());
        let _ = writeln!(o, " Configuration file = {}", self.opts.load.path.display());
        let _ = writeln!(o, " Configuration generation = {}", self.generation);
        for c in &self.children {
            let state = match &c.phase {
                Phase::Idle => "not running".to_string(),
                Phase::Connecting { pid, .. } => format!("starting, pid {pid}"),
                Phase::Running { pid, .. } => format!("running, pid {pid}"),
                Phase::Dying { pid } => format!("stopping, pid {pid}"),
                Phase::RestartWait(_) => "restart pending".to_string(),
            };
            let _ = writeln!(o, " {} child = {state}", c.role.upstream_name());
            let _ = writeln!(o, "   Pid file = {}", c.pid_file.display());
            let _ = writeln!(
                o,
                "   Last heard from = {:.1} s ago",
                c.last_seen.elapsed().as_secs_f64()
            );
        }
        let _ = writeln!(o, "------< Global definitions >------");
        let g = &self.config.global;
        let _ = writeln!(
            o,
            " Router ID = {}",
            g.router_id.as_deref().unwrap_or("(host name)")
        );
        if let Some(ns) = &self.config.net_namespace {
            let _ = writeln!(o, " Network namespace = {ns}");
        }
        if let Some(i) = &self.config.instance {
            let _ = writeln!(o, " Instance name = {i}");
        }
        let _ = writeln!(o, " VRRP instances = {}", self.config.vrrp_instances.len());
        let _ = writeln!(
            o,
            " Virtual servers = {}",
            self.config.virtual_servers.len()
        );
        o
    }

    fn forward_dump(&mut self, kind: DumpKind, sig: i32) {
        for c in &self.children {
            // Only connected children: their signalfd is set up, so a dump
            // signal cannot hit the default action (terminate) mid-start.
            let pid = match &c.phase {
                Phase::Running { pid, .. } => Some(*pid),
                _ => None,
            };
            if let (true, Some(pid)) = (kind.forwarded_to(c.role), pid) {
                if let Err(e) = sys::process::kill_raw(pid, sig) {
                    log::info!(
                        "Unable to send {} to {} child {pid}: {e}",
                        signal_name(sig),
                        c.role.upstream_name()
                    );
                }
            }
        }
    }

    fn poll_children(&mut self) {
        for idx in 0..self.children.len() {
            // Connection accepted?
            let accepted = match &mut self.children[idx].phase {
                Phase::Connecting { server, .. } => server.try_accept(),
                _ => None,
            };
            if let Some(res) = accepted {
                let prev = std::mem::replace(&mut self.children[idx].phase, Phase::Idle);
                let Phase::Connecting { pid, .. } = prev else {
                    unreachable!("checked above")
                };
                match res {
                    Ok(link) if link.pid as i32 == pid && link.role == self.children[idx].role => {
                        let sent = self.config_payload().and_then(|config| {
                            link.send(ToChild::Config {
                                config,
                                generation: self.generation,
                            })
                        });
                        if let Err(e) = sent {
                            log::error!(
                                "Unable to send the configuration to {}: {e}",
                                self.children[idx].prog()
                            );
                        }
                        let c = &mut self.children[idx];
                        c.awaiting = Some(self.generation);
                        c.last_seen = Instant::now();
                        c.phase = Phase::Running { pid, link };
                        let role = c.role;
                        if let Some(svc) = self.status.as_mut() {
                            svc.hub.child_started(role_key(role), pid as u32);
                        }
                    }
                    Ok(link) => {
                        log::error!(
                            "Unexpected IPC peer (pid {} role {:?}) for {} child {pid}",
                            link.pid,
                            link.role,
                            self.children[idx].role.upstream_name()
                        );
                        self.children[idx].kill_reason = Some("wrong IPC peer".into());
                        let _ = sys::process::kill_raw(pid, libc::SIGKILL);
                        self.children[idx].phase = Phase::Dying { pid };
                    }
                    Err(e) => {
                        log::error!(
                            "{} child {pid} failed to connect: {e}",
                            self.children[idx].role.upstream_name()
                        );
                        // It will be reaped (or killed by the heartbeat check).
                        self.children[idx].kill_reason =
                            Some(format!("IPC connection failed: {e}"));
                        let _ = sys::process::kill_raw(pid, libc::SIGKILL);
                        self.children[idx].phase = Phase::Dying { pid };
                    }
                }
            }
            // Messages.
            loop {
                let msg = match &mut self.children[idx].phase {
                    Phase::Running { link, .. } => link.try_recv(),
                    _ => None,
                };
                let Some(msg) = msg else { break };
                self.on_child_message(idx, msg);
            }
        }
    }

    fn on_child_message(&mut self, idx: usize, msg: Received<FromChild>) {
        let now = Instant::now();
        let c = &mut self.children[idx];
        c.last_seen = now;
        match msg {
            Received::Msg(FromChild::HeartbeatAck(_)) => {}
            Received::Msg(FromChild::Loaded { generation }) => {
                if c.awaiting == Some(generation) {
                    c.awaiting = None;
                }
                self.finish_reload_if_done();
            }
            Received::Msg(FromChild::ReloadResult { generation, result }) => {
                if let Err(e) = result {
                    log::error!(
                        "{} child refused the new configuration: {e}",
                        c.role.upstream_name()
                    );
                }
                if c.awaiting == Some(generation) {
                    c.awaiting = None;
                }
                self.finish_reload_if_done();
            }
            Received::Msg(FromChild::DumpDone { kind, result }) => match result {
                Ok(path) => log::debug!(
                    "{} child wrote {kind:?} dump to {path}",
                    c.role.upstream_name()
                ),
                Err(e) => log::debug!("{} child {kind:?} dump: {e}", c.role.upstream_name()),
            },
            Received::Msg(FromChild::Status { json }) => {
                // While polling, kept as text until a client asks (or a
                // newer one replaces it); the hub dates a snapshot when it
                // reads it, so one arriving after the polling stopped is
                // read now.
                if self.status.is_some() {
                    c.status_json = Some((Instant::now(), json));
                    if self.status_timer.is_none() {
                        self.read_status_snapshots();
                    }
                }
            }
            Received::Msg(FromChild::Hello { .. }) | Received::Msg(FromChild::Abort) => {
                log::warn!(
                    "unexpected message from the {} child",
                    c.role.upstream_name()
                );
            }
            Received::Closed(why) => {
                // The child is exiting: SIGCHLD does the rest (a dead child
                // stops blocking "Startup/Reload complete" when it is reaped;
                // one that closed its channel but lives on is killed by the
                // heartbeat check).
                log::debug!("{} child closed its channel: {why}", c.role.upstream_name());
            }
        }
    }

    fn finish_reload_if_done(&mut self) {
        if self
            .children
            .iter()
            .any(|c| c.awaiting.is_some() && c.pid().is_some())
        {
            return;
        }
        // Every running child has it: the shared region is not needed any
        // more, nor the free heap left by the parse and the previous
        // configuration (returned to the kernel once per load).
        self.payload = None;
        if let Some(line) = self.reloading.take() {
            log::info!("{line}");
            if let Some(n) = &self.notifier {
                n.ready(line);
            }
            self.garbage = None;
            sys::mem::trim_heap();
        }
        if self.reload_queued {
            self.reload_queued = false;
            self.reload();
        }
    }

    fn on_timer(&mut self, id: TimerId) -> Option<Stop> {
        if id == self.watch_timer {
            let now = Instant::now();
            let planned = self.watch_at.take().unwrap_or(now);
            if let Some(svc) = self.status.as_mut() {
                svc.hub
                    .observe_lateness(now.saturating_duration_since(planned));
            }
            self.check_heartbeats(planned);
            return None;
        }
        if Some(id) == self.status_timer {
            let now = Instant::now();
            if let Some(svc) = self.status.as_mut() {
                svc.tick(self.sched.registry(), now);
            }
            if now < self.status_until {
                self.request_status();
                self.sched.rearm_after(id, STATUS_POLL);
            } else {
                self.status_timer = None;
                self.read_status_snapshots();
            }
            return None;
        }
        for idx in 0..self.children.len() {
            if matches!(self.children[idx].phase, Phase::RestartWait(t) if t == id) {
                self.children[idx].phase = Phase::Idle;
                if self.wanted(self.children[idx].role) {
                    self.start_child(idx);
                }
            }
        }
        None
    }

    /// SIGCHLD also comes when a child stops (SIGSTOP from outside, or its
    /// own liveness timer): a stopped child is checked at its limit, not at
    /// the backstop.
    fn note_stopped(&mut self) {
        for c in &mut self.children {
            let Phase::Running { pid, .. } = &c.phase else {
                continue;
            };
            let stopped = process_stopped(*pid);
            if stopped && !c.stopped {
                if let Some(ns) = c.watch.as_ref().and_then(|w| w.drain().newest) {
                    c.last_seen = c.last_seen.max(ipc::liveness::instant_of(ns));
                }
                log::debug!(
                    "{} child process({pid}) is stopped, last beat {:.1} s ago",
                    c.role.upstream_name(),
                    c.last_seen.elapsed().as_secs_f64()
                );
            }
            c.stopped = stopped;
        }
    }

    /// The liveness deadline came (it was planned for `planned`): read the
    /// children's beats, kill those silent for longer than their limit.
    fn check_heartbeats(&mut self, planned: Instant) {
        self.note_stopped();
        let now = Instant::now();
        let timeout = self.opts.heartbeat_timeout;
        let mut stalled = false;
        for c in &mut self.children {
            let Some(w) = &c.watch else { continue };
            let d = w.drain();
            if let Some(ns) = d.newest {
                c.last_seen = c.last_seen.max(ipc::liveness::instant_of(ns));
            }
            // Beats were refused by a full pipe: we were not reading.
            stalled |= d.full;
        }
        // If the parent itself was not running (SIGSTOP, a suspended VM) for
        // long, the children's silence may be ours: start counting again.
        let late = now.saturating_duration_since(planned);
        if stalled || late > timeout / 2 {
            log::info!(
                "Watchdog was stalled for {:.1} s - restarting heartbeat timing",
                late.as_secs_f64()
            );
            for c in &mut self.children {
                c.last_seen = c.last_seen.max(now);
            }
        }
        for idx in 0..self.children.len() {
            let limit = self.enforced(&self.children[idx]);
            let c = &mut self.children[idx];
            let silent = now.saturating_duration_since(c.last_seen);
            match &c.phase {
                Phase::Running { pid, .. } if c.kill_reason.is_none() && silent >= limit => {
                    let reason = format!(
                        "{} child process({pid}) has not answered heartbeats for {:.1} s - killing it",
                        c.role.upstream_name(),
                        silent.as_secs_f64()
                    );
                    log::error!("{reason}");
                    c.kill_reason = Some(reason);
                    let _ = sys::process::kill_raw(*pid, libc::SIGKILL);
                }
                // Allow a slow exec + connect more time than a heartbeat.
                Phase::Connecting { pid, .. }
                    if c.kill_reason.is_none()
                        && silent >= timeout.max(Duration::from_secs(10)) =>
                {
                    let reason = format!(
                        "{} child process({pid}) did not connect within {:.1} s - killing it",
                        c.role.upstream_name(),
                        silent.as_secs_f64()
                    );
                    log::error!("{reason}");
                    c.kill_reason = Some(reason);
                    let _ = sys::process::kill_raw(*pid, libc::SIGKILL);
                }
                _ => {}
            }
        }
    }

    fn reap(&mut self) -> Option<Stop> {
        for (pid, exit) in reap_children() {
            let Some(idx) = self.children.iter().position(|c| c.pid() == Some(pid)) else {
                log::debug!("reaped unknown child {pid} ({exit})");
                continue;
            };
            if let Some(stop) = self.child_died(idx, pid, exit) {
                return Some(stop);
            }
        }
        None
    }

    /// keepalived's `report_child_status()` + `*_respawn_thread()`.
    fn child_died(&mut self, idx: usize, pid: i32, exit: ChildExit) -> Option<Stop> {
        // Killed by its own liveness timer? Its last beat says so.
        if exit == ChildExit::Signaled(libc::SIGKILL, false)
            && self.children[idx].kill_reason.is_none()
            && self.children[idx].self_kill
        {
            let limit = self.limit(&self.children[idx]);
            let c = &mut self.children[idx];
            if let Some(ns) = c.watch.as_ref().and_then(|w| w.drain().newest) {
                c.last_seen = c.last_seen.max(ipc::liveness::instant_of(ns));
            }
            let silent = c.last_seen.elapsed();
            if silent + Duration::from_millis(500) >= limit {
                log::error!(
                    "{} child process({pid}) has not answered heartbeats for {:.1} s - killed by its liveness timer",
                    c.role.upstream_name(),
                    silent.as_secs_f64()
                );
            }
        }
        let c = &mut self.children[idx];
        let prev = std::mem::replace(&mut c.phase, Phase::Idle);
        if let Phase::Connecting { server, .. } = prev {
            server.abort();
        }
        c.awaiting = None;
        c.watch = None;
        pidfile::remove_if_ours(&c.pid_file, pid as u32);
        c.status_json = None;
        if let Some(svc) = self.status.as_mut() {
            svc.hub.child_stopped(role_key(c.role));
        }
        let prog = c.prog();
        // The reason of a watchdog kill was logged when it was sent.
        c.kill_reason = None;
        match exit {
            ChildExit::Exited(code @ (EXIT_FATAL | EXIT_CONFIG | EXIT_MISSING_PERMISSION)) => {
                let what = match code {
                    EXIT_CONFIG => "CONFIG",
                    EXIT_MISSING_PERMISSION => "missing permission",
                    _ => "FATAL",
                };
                log::info!("{prog} exited with permanent error {what}. Terminating");
                return Some(Stop::Permanent(code));
            }
            ChildExit::Exited(0) => {}
            ChildExit::Exited(code) => log::info!("{prog} exited with status {code}"),
            ChildExit::Signaled(sig, _) if sig == libc::SIGSEGV => {
                log::info!("{prog} exited due to segmentation fault (SIGSEGV).")
            }
            ChildExit::Signaled(sig, _) => log::info!(
                "{prog} exited due to signal {sig} ({}){}",
                strsignal(sig),
                if sig == libc::SIGKILL {
                    " - has rlimit_rttime been exceeded?"
                } else {
                    ""
                }
            ),
        }
        let name = c.role.upstream_name();
        if self.opts.dont_respawn {
            log::error!("{name} child process({pid}) died: Exiting");
            return Some(Stop::Requested);
        }
        log::error!("{name} child process({pid}) died: Respawning");
        log::info!("  Please log an issue at https://github.com/acassen/keepalived/issues/");
        log::info!("  and include a full copy of your keepalived configuration files, and");
        log::info!("  copies of the keepalived system log entries around the time this happened");
        let uptime = c.started.elapsed();
        self.schedule_restart(idx, Some(uptime));
        self.finish_reload_if_done();
        None
    }

    fn schedule_restart(&mut self, idx: usize, uptime: Option<Duration>) {
        let c = &mut self.children[idx];
        let delay = c.backoff.on_exit(uptime.unwrap_or_default());
        if let Some(d) = delay {
            log::info!(
                "Restart of {} process delayed {d} seconds to limit respawn rate",
                c.role.upstream_name()
            );
        }
        match delay {
            _ if !self.wanted(self.children[idx].role) => self.children[idx].phase = Phase::Idle,
            None | Some(0) => self.start_child(idx),
            Some(d) => {
                let t = self.sched.timer_after(Duration::from_secs(d));
                self.children[idx].phase = Phase::RestartWait(t);
            }
        }
    }

    /// The current configuration encoded for the children (once per
    /// generation; clones share the region).
    fn config_payload(&mut self) -> Result<ConfigPayload, ipc::IpcError> {
        if let Some(p) = &self.payload {
            return Ok(p.clone());
        }
        let started = Instant::now();
        let p = ConfigPayload::encode(&self.config)?;
        log::debug!(
            "Configuration generation {} encoded: {} bytes in {:.1} ms",
            self.generation,
            p.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        self.payload = Some(p.clone());
        Ok(p)
    }

    /// SIGHUP: re-read and validate; in place on success, nothing changes on failure.
    fn reload(&mut self) {
        if self.reloading.is_some() {
            log::info!("Reload queued: children are still loading the previous configuration");
            self.reload_queued = true;
            return;
        }
        log::info!("Reloading ...");
        // The syntax tree is freed with the previous configuration once the
        // children have loaded the new one (freeing it is ~20 % of a large load).
        let (loaded, leftovers) = load_config_deferred(&self.opts.load);
        let mut config = match loaded {
            Ok(c) => c,
            Err(_) => {
                let msg =
                    "Reload failed: configuration errors; the running configuration is unchanged";
                log::error!("{msg}");
                if let Some(svc) = self.status.as_mut() {
                    svc.hub.record_reload(
                        status::schema::ReloadResult::Failed,
                        self.generation,
                        vec![msg.to_string()],
                    );
                }
                if let Some(n) = &self.notifier {
                    n.status(msg);
                }
                return;
            }
        };
        if let Some(what) = unreloadable_change(&self.config, &config) {
            let msg = format!("Cannot change {what} at a reload - please restart keepalived");
            log::error!("{msg}");
            if let Some(svc) = self.status.as_mut() {
                svc.hub.record_reload(
                    status::schema::ReloadResult::Refused,
                    self.generation,
                    vec![msg.clone()],
                );
            }
            if let Some(n) = &self.notifier {
                n.status(&msg);
            }
            return;
        }
        // The startup script does not run again: not checked (as upstream).
        security::apply(
            &mut config,
            security::Scope {
                startup: false,
                shutdown: true,
                vrrp: self.opts.vrrp,
                checker: self.opts.checker,
            },
            &security::SystemUsers,
        );
        if let Some(n) = &self.notifier {
            n.reloading();
        }
        self.generation += 1;
        // The previous configuration is freed once the children have
        // loaded the new one (its drop is not on the reload's critical path).
        let previous = std::mem::replace(&mut self.config, config);
        self.payload = None;
        self.reloading = Some("Reload complete");
        if let Some(svc) = self.status.as_mut() {
            svc.hub
                .record_reload(status::schema::ReloadResult::Ok, self.generation, vec![]);
        }
        let generation = self.generation;
        // Encoded once; every child gets a clone of the same region.
        let payload = self.config_payload();
        for c in &mut self.children {
            if let Phase::Running { link, .. } = &c.phase {
                let sent = match &payload {
                    Ok(config) => link
                        .send(ToChild::Reload {
                            config: config.clone(),
                            generation,
                        })
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match sent {
                    Ok(()) => c.awaiting = Some(generation),
                    Err(e) => {
                        log::error!("Unable to send the new configuration to {}: {e}", c.prog())
                    }
                }
            } else if matches!(c.phase, Phase::Connecting { .. }) {
                // It gets the new config when it connects.
                c.awaiting = Some(generation);
            }
        }
        // A reload before the last one completed frees the older garbage now.
        self.garbage = Some((previous, leftovers));
        // A child that is now configured but not running is started (upstream core/main.c).
        self.start_configured_children();
        self.finish_reload_if_done();
    }

    /// keepalived's `sigend()`: SIGTERM to VRRP then checker, wait, SIGKILL.
    fn shutdown(&mut self, stop: Stop) -> i32 {
        log::info!("Stopping");
        if let Some(n) = &self.notifier {
            n.stopping();
        }
        if let Err(e) = self.sched.set_signals(&[libc::SIGCHLD]) {
            log::warn!("{e}");
        }
        for c in &mut self.children {
            match std::mem::replace(&mut c.phase, Phase::Idle) {
                Phase::RestartWait(t) => {
                    self.sched.cancel(t);
                }
                Phase::Connecting { pid, server } => {
                    server.abort();
                    c.phase = Phase::Dying { pid };
                }
                other => c.phase = other,
            }
        }
        for c in &self.children {
            if let Some(pid) = c.pid() {
                let _ = sys::process::kill_raw(pid, libc::SIGTERM);
            }
        }
        let grace = match self.config.child_wait_time.as_duration() {
            d if d.is_zero() => self.opts.child_wait,
            d => d,
        };
        let deadline = Instant::now() + grace;
        let mut events = Vec::new();
        while self.children.iter().any(|c| c.pid().is_some()) && Instant::now() < deadline {
            events.clear();
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = self
                .sched
                .wait(&mut events, Some(left.min(Duration::from_millis(100))));
            self.reap_at_shutdown();
        }
        for c in &mut self.children {
            if let Some(pid) = c.pid() {
                log::info!("{} process failed to die - forcing termination", c.prog());
                let _ = sys::process::kill_raw(pid, libc::SIGKILL);
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                pidfile::remove_if_ours(&c.pid_file, pid as u32);
                c.phase = Phase::Idle;
            }
        }
        scripts::run(&self.config, scripts::Phase::Shutdown);
        match stop {
            Stop::Requested => 0,
            Stop::Permanent(code) => code,
        }
    }

    fn reap_at_shutdown(&mut self) {
        for (pid, exit) in reap_children() {
            if let Some(c) = self.children.iter_mut().find(|c| c.pid() == Some(pid)) {
                if exit != ChildExit::Exited(0) {
                    log::info!("{} {exit}", c.prog());
                }
                pidfile::remove_if_ours(&c.pid_file, pid as u32);
                c.phase = Phase::Idle;
            }
        }
    }
}

/// Where dump files go: `$TMPDIR` when absolute and existing, else `/tmp`
/// (upstream `KA_TMP_DIR`).
pub fn dump_dir() -> PathBuf {
    match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(p) if p.is_absolute() && p.is_dir() => p,
        _ => PathBuf::from("/tmp"),
    }
}

/// Write a dump file safely: a fresh 0600 file (O_EXCL, so never through a
/// symlink planted in a shared /tmp) renamed over `path`.
pub fn write_dump(path: &std::path::Path, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(path.to_path_buf())
}

/// Interfaces named by `vrrp_instance ... interface` that do not exist in
/// this network namespace, as keepalived's warning text ("interface eth9 for
/// vrrp_instance VI_1 doesn't exist"). Checked in `/sys/class/net`.
pub fn missing_interfaces(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for vi in &config.vrrp_instances {
        if let Some(ifname) = &vi.interface {
            if !interface_exists(ifname) {
                out.push(format!(
                    "interface {ifname} for vrrp_instance {} doesn't exist",
                    vi.name
                ));
            }
        }
    }
    out
}

fn interface_exists(ifname: &str) -> bool {
    !ifname.is_empty()
        && !ifname.contains('/')
        && std::path::Path::new("/sys/class/net").join(ifname).exists()
}

/// True when this process already runs in the network namespace `ip netns`
/// calls `name` (`/run/netns/NAME` is the same namespace as ours).
pub fn in_named_netns(name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    if name.is_empty() || name.contains('/') {
        return false;
    }
    let ours = std::fs::metadata("/proc/self/ns/net");
    let named = std::fs::metadata(PathBuf::from("/run/netns").join(name));
    matches!((ours, named), (Ok(a), Ok(b)) if a.dev() == b.dev() && a.ino() == b.ino())
}

/// `_<net_namespace>_<instance>` (each part only when set), appended to the
/// syslog idents (upstream `make_syslog_ident`).
pub fn ident_suffix(config: &Config) -> String {
    let mut s = String::new();
    for part in [&config.net_namespace, &config.instance]
        .into_iter()
        .flatten()
    {
        s.push('_');
        s.push_str(part);
    }
    s
}

/// Upstream pid file layout (`core/main.c`, anatomy §1.7): with `instance
/// NAME` the defaults become `/run/keepalived/{keepalived,vrrp,checkers}_NAME.pid`,
/// with only `net_namespace` `/run/keepalived/{keepalived,vrrp,checkers}.pid`.
/// Paths given on the command line are kept.
pub fn apply_instance_paths(opts: &mut WatchdogOptions, config: &Config) {
    if config.instance.is_none() && config.net_namespace.is_none() {
        return;
    }
    let dir = PathBuf::from(pidfile::PARENT)
        .parent()
        .map(|d| d.join("keepalived"))
        .unwrap_or_else(|| PathBuf::from("/run/keepalived"));
    let name = |base: &str| match &config.instance {
        Some(i) => dir.join(format!("{base}_{i}.pid")),
        None => dir.join(format!("{base}.pid")),
    };
    let [p, v, c] = opts.pid_files_given;
    if !p {
        opts.pid_file = name("keepalived");
    }
    if !v {
        opts.vrrp_pid_file = name("vrrp");
    }
    if !c {
        opts.checkers_pid_file = name("checkers");
    }
}

/// Settings keepalived refuses to change at a reload (`core/main.c`
/// `reload_config()`): the whole reload is refused and the old
/// configuration keeps running. Returns what changed, named as upstream.
pub fn unreloadable_change(old: &Config, new: &Config) -> Option<&'static str> {
    if old.net_namespace != new.net_namespace {
        return Some("network namespace");
    }
    if old.instance != new.instance {
        return Some("instance name");
    }
    if old.global.nftables != new.global.nftables {
        return Some("nftables table name");
    }
    None
}

/// `-d`: the loaded configuration, one log line per JSON line.
fn dump_config(config: &Config) {
    match serde_json::to_string_pretty(config) {
        Ok(s) => s.lines().for_each(|l| log::info!("{l}")),
        Err(e) => log::error!("cannot dump the configuration: {e}"),
    }
}

/// True when the process is stopped (`T`, or `t` when traced), from
/// `/proc/PID/stat`.
fn process_stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|st| st == "T" || st == "t")
}

/// strsignal() text for the signals a child typically dies of.
fn strsignal(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "Killed",
        libc::SIGTERM => "Terminated",
        libc::SIGABRT => "Aborted",
        libc::SIGSEGV => "Segmentation fault",
        libc::SIGBUS => "Bus error",
        libc::SIGILL => "Illegal instruction",
        libc::SIGFPE => "Floating point exception",
        libc::SIGINT => "Interrupt",
        libc::SIGHUP => "Hangup",
        libc::SIGPIPE => "Broken pipe",
        libc::SIGUSR1 => "User defined signal 1",
        libc::SIGUSR2 => "User defined signal 2",
        _ => "Unknown signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_refuses_namespace_instance_and_nftables_changes() {
        let old = Config::default();
        assert_eq!(unreloadable_change(&old, &old.clone()), None);
        let mut new = old.clone();
        new.net_namespace = Some("blue".into());
        assert_eq!(unreloadable_change(&old, &new), Some("network namespace"));
        let mut new = old.clone();
        new.instance = Some("i1".into());
        assert_eq!(unreloadable_change(&old, &new), Some("instance name"));
        let mut new = old.clone();
        new.global.nftables = Some(None);
        assert_eq!(unreloadable_change(&old, &new), Some("nftables table name"));
    }

    #[test]
    fn dumps_are_private_and_replace_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("ka-dump-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let target = d.join("victim");
        std::fs::write(&target, "keep").unwrap();
        let path = d.join("keepalived_parent.data");
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_dump(&path, "data\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "keep",
            "symlink target untouched"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "data\n");
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn instance_pid_paths_and_ident() {
        let mut opts = WatchdogOptions::new("/etc/keepalived/keepalived.conf".into());
        let mut cfg = Config::default();
        apply_instance_paths(&mut opts, &cfg);
        assert_eq!(opts.pid_file, PathBuf::from("/run/keepalived.pid"));
        assert_eq!(ident_suffix(&cfg), "");
        cfg.net_namespace = Some("blue".into());
        apply_instance_paths(&mut opts, &cfg);
        assert_eq!(
            opts.vrrp_pid_file,
            PathBuf::from("/run/keepalived/vrrp.pid")
        );
        assert_eq!(ident_suffix(&cfg), "_blue");
        cfg.instance = Some("i1".into());
        opts.pid_files_given = [true, false, false];
        opts.pid_file = "/tmp/p.pid".into();
        apply_instance_paths(&mut opts, &cfg);
        assert_eq!(opts.pid_file, PathBuf::from("/tmp/p.pid"), "-p wins");
        assert_eq!(
            opts.vrrp_pid_file,
            PathBuf::from("/run/keepalived/vrrp_i1.pid")
        );
        assert_eq!(
            opts.checkers_pid_file,
            PathBuf::from("/run/keepalived/checkers_i1.pid")
        );
        assert_eq!(ident_suffix(&cfg), "_blue_i1");
    }

    #[test]
    fn missing_interfaces_are_named() {
        let text = "vrrp_instance VI_1 {\n interface ka-no-such0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n";
        let dir = std::env::temp_dir().join(format!("ka-wd-{}.conf", std::process::id()));
        std::fs::write(&dir, text).unwrap();
        let loaded = config::load(&LoadOptions {
            path: dir.clone(),
            ..Default::default()
        });
        let _ = std::fs::remove_file(&dir);
        let cfg = loaded
            .map(|l| l.config)
            .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
        assert_eq!(
            missing_interfaces(&cfg),
            vec!["interface ka-no-such0 for vrrp_instance VI_1 doesn't exist".to_string()]
        );
    }
}
