//! Child side: the link to the parent and the generic child main loop.
//!
//! A child runtime (VRRP, checker) implements [`ChildHandler`] and calls
//! [`run_child`]; everything process-level is done here once: death signal,
//! signalfd, connecting to the parent, the initial config, pid file,
//! heartbeats, reloads, dump signals, shutdown and parent loss.

use crate::bridge::{Bridge, Received};
use crate::liveness::Beacon;
use crate::messages::{ConfigPayload, DumpKind, FromChild, Role, ToChild};
use crate::{pidfile, IpcError};
use config::Config;
use ipc_channel::ipc::{self, IpcSender, TryRecvError};
use mio::Waker;
use sched::{Event, Sched};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Exit code of a child that lost or never got its IPC link (not permanent:
/// the parent respawns it).
pub const EXIT_IPC: i32 = 3;
/// Exit code of a child whose configuration could not be applied
/// (`KEEPALIVED_EXIT_CONFIG`: permanent, the daemon stops).
pub const EXIT_CONFIG: i32 = 2;

/// How long a starting child waits for its first configuration.
const CONFIG_WAIT: Duration = Duration::from_secs(30);

/// What the parent asked, as seen by the child runtime (heartbeats are
/// answered inside [`ChildLink::poll`] and never show up here).
#[derive(Debug)]
pub enum ChildEvent {
    /// Apply this configuration in place and answer with
    /// [`ChildLink::reload_result`].
    Reload {
        /// The new configuration.
        config: Box<Config>,
        /// Its generation.
        generation: u64,
    },
    /// Write a dump.
    Dump(DumpKind),
    /// Send a status snapshot.
    Status,
    /// Stop cleanly.
    Shutdown,
    /// The parent's channel closed: the parent is gone, stop.
    ParentGone(String),
}

/// The child's end of its channels with the parent.
#[derive(Debug)]
pub struct ChildLink {
    role: Role,
    tx: IpcSender<FromChild>,
    bridge: Bridge<ToChild>,
}

impl ChildLink {
    /// Connect to the parent's one-shot server `server_name`, say Hello,
    /// and wait for the initial configuration. Returns the link, the config
    /// and its generation. The link's messages wake `waker`.
    pub fn connect(
        server_name: &str,
        role: Role,
        waker: Arc<Waker>,
    ) -> Result<(ChildLink, Box<Config>, u64), IpcError> {
        let tx = IpcSender::<FromChild>::connect(server_name.to_string())?;
        let (to_child, from_parent) = ipc::channel::<ToChild>()?;
        tx.send(FromChild::Hello {
            pid: std::process::id(),
            role,
            to_child,
        })
        .map_err(|e| IpcError::Send(e.to_string()))?;
        let (payload, generation) = loop {
            match from_parent.try_recv_timeout(CONFIG_WAIT) {
                Ok(ToChild::Config { config, generation }) => break (config, generation),
                Ok(ToChild::Heartbeat(n)) => {
                    let _ = tx.send(FromChild::HeartbeatAck(n));
                }
                Ok(ToChild::Shutdown) => {
                    return Err(IpcError::Protocol("shutdown before configuration".into()))
                }
                Ok(other) => {
                    return Err(IpcError::Protocol(format!(
                        "expected Config, got {other:?}"
                    )))
                }
                Err(TryRecvError::Empty) => {
                    return Err(IpcError::Timeout("the initial configuration"))
                }
                Err(TryRecvError::IpcError(e)) => return Err(IpcError::Recv(format!("{e:?}"))),
            }
        };
        // Decoded here, on the caller's thread (not the bridge's: the
        // configuration's memory belongs in the main thread's arena); the
        // shared region is unmapped when `payload` drops.
        let config = decode_logged(&payload, generation)?;
        drop(payload);
        let bridge = Bridge::spawn(from_parent, waker, &format!("ipc-{}", role.as_arg()))?;
        Ok((ChildLink { role, tx, bridge }, config, generation))
    }

    /// This child's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Tell the parent the initial configuration is applied.
    pub fn loaded(&self, generation: u64) -> Result<(), IpcError> {
        self.send(FromChild::Loaded { generation })
    }

    /// Answer a [`ChildEvent::Reload`].
    pub fn reload_result(
        &self,
        generation: u64,
        result: Result<(), String>,
    ) -> Result<(), IpcError> {
        self.send(FromChild::ReloadResult { generation, result })
    }

    /// Send any message.
    pub fn send(&self, msg: FromChild) -> Result<(), IpcError> {
        self.tx.send(msg).map_err(|e| IpcError::Send(e.to_string()))
    }

    /// Next event from the parent, without blocking; answers heartbeats.
    /// Call it until `None` on every [`Event::Wake`].
    pub fn poll(&mut self) -> Option<ChildEvent> {
        loop {
            match self.bridge.try_recv()? {
                Received::Msg(ToChild::Heartbeat(n)) => {
                    if let Err(e) = self.send(FromChild::HeartbeatAck(n)) {
                        return Some(ChildEvent::ParentGone(e.to_string()));
                    }
                }
                Received::Msg(ToChild::Reload { config, generation })
                | Received::Msg(ToChild::Config { config, generation }) => {
                    match decode_logged(&config, generation) {
                        Ok(config) => return Some(ChildEvent::Reload { config, generation }),
                        Err(e) => {
                            // Nothing to apply: refuse it, the running
                            // configuration stays.
                            log::error!("Reload refused, keeping the running configuration: {e}");
                            if let Err(e) = self.reload_result(generation, Err(e.to_string())) {
                                return Some(ChildEvent::ParentGone(e.to_string()));
                            }
                        }
                    }
                }
                Received::Msg(ToChild::Dump(k)) => return Some(ChildEvent::Dump(k)),
                Received::Msg(ToChild::Status) => return Some(ChildEvent::Status),
                Received::Msg(ToChild::Shutdown) => return Some(ChildEvent::Shutdown),
                Received::Closed(why) => return Some(ChildEvent::ParentGone(why)),
            }
        }
    }
}

/// Decode a configuration, with its size and time at debug level.
fn decode_logged(payload: &ConfigPayload, generation: u64) -> Result<Box<Config>, IpcError> {
    let started = std::time::Instant::now();
    let config = payload.decode()?;
    log::debug!(
        "Configuration generation {generation} decoded: {} bytes in {:.1} ms",
        payload.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(config)
}

/// What a child runtime plugs into [`run_child`].
pub trait ChildHandler {
    /// Apply `config`: the first one (`reload == false`) at start, then each
    /// reload in place. `Err(reason)` refuses it; on reload the old
    /// configuration must stay in force.
    fn configure(&mut self, sched: &mut Sched, config: &Config, reload: bool)
        -> Result<(), String>;

    /// An event the runtime owns: I/O on its own tokens, its timers, and
    /// SIGCHLD (scripts). The default ignores everything.
    fn event(&mut self, _sched: &mut Sched, _event: &Event) {}

    /// Write a dump; returns the file written. Default: not supported.
    fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        Err(format!("{kind:?} dump not implemented"))
    }

    /// A status snapshot (`status::schema::ChildSnapshot` as JSON).
    fn status(&mut self) -> String {
        "{}".into()
    }

    /// Release what must be released before exit (VIPs, IPVS rules).
    fn shutdown(&mut self, _sched: &mut Sched) {}
}

/// Process options of a child (from the hidden command-line arguments).
#[derive(Debug, Clone)]
pub struct ChildOptions {
    /// Which child this is.
    pub role: Role,
    /// Name of the parent's one-shot server.
    pub server_name: String,
    /// Pid file to write (`-r` / `-c`), removed at exit.
    pub pid_file: Option<PathBuf>,
    /// The parent's pid: exit at once if we were already re-parented.
    pub parent_pid: Option<i32>,
    /// Command-line switches that change what a child does.
    pub flags: ChildFlags,
    /// Where and how often to prove the main loop runs (hidden
    /// `--ka-liveness-fd` / `--ka-liveness-interval`); `None`: no beats.
    pub liveness: Option<LivenessOptions>,
}

/// The child's liveness pipe (see [`crate::liveness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivenessOptions {
    /// Inherited write end of the pipe.
    pub fd: i32,
    /// Longest time between two beats.
    pub interval: Duration,
    /// The parent's liveness timeout: a kernel timer kills this child
    /// when its loop has not beaten for that long (None: no kill timer).
    pub timeout: Option<Duration>,
}

/// The command-line switches children act on (they get the parent's
/// command line, so these are parsed once in `bin/keepalived`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildFlags {
    /// `-V/--dont-release-vrrp`: keep VIPs and routes at stop.
    pub dont_release_vrrp: bool,
    /// `-I/--dont-release-ipvs`: keep the IPVS table at stop.
    pub dont_release_ipvs: bool,
    /// `-X/--release-vips`: drop VIPs on transition from signal.
    pub release_vips: bool,
    /// `-a/--address-monitoring`: log all address changes.
    pub address_monitoring: bool,
    /// `-D` count (detailed logging).
    pub log_detail: u8,
}

/// Signals every child handles.
pub fn child_signals() -> Vec<i32> {
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

/// The main of a child process; returns its exit code.
///
/// Exit codes: 0 after SIGTERM/SIGINT, [`ToChild::Shutdown`] or loss of
/// the parent; [`EXIT_CONFIG`] when the initial configuration is refused;
/// [`EXIT_IPC`] when the link cannot be set up; 1 when the loop fails.
pub fn run_child<H: ChildHandler>(opts: &ChildOptions, handler: &mut H) -> i32 {
    let name = opts.role.upstream_name();
    if let Err(e) = sys::process::set_pdeathsig(nix::sys::signal::Signal::SIGTERM) {
        log::warn!("cannot set parent death signal: {e}");
    }
    if let Some(ppid) = opts.parent_pid {
        if nix::unistd::getppid().as_raw() != ppid {
            log::info!("Parent process {ppid} already gone - exiting");
            return 0;
        }
    }
    // Taken first: it becomes close-on-exec before any script can be started.
    let mut beacon = opts
        .liveness
        .and_then(|l| match Beacon::from_inherited(l.fd, l.interval) {
            Ok(mut b) => {
                if let Some(t) = l.timeout {
                    if let Err(e) = b.set_kill_timer(t) {
                        log::warn!("liveness kill timer: {e} - the parent checks the beats");
                    }
                }
                Some(b)
            }
            Err(e) => {
                log::warn!("liveness pipe {} unusable: {e}", l.fd);
                None
            }
        });
    let mut sched = match Sched::with_signals(&child_signals()) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            return 1;
        }
    };
    let (mut link, config, generation) =
        match ChildLink::connect(&opts.server_name, opts.role, sched.waker()) {
            Ok(x) => x,
            Err(e) => {
                log::error!("{name} child cannot talk to the parent: {e}");
                return EXIT_IPC;
            }
        };
    let pid = std::process::id();
    // Held (OFD-locked) until we exit.
    let own_pid_file =
        opts.pid_file
            .as_ref()
            .and_then(|p| match pidfile::PidFile::create(p, pid) {
                Ok(f) => Some(f),
                Err(e) => {
                    log::error!("Unable to write pidfile {}: {e}", p.display());
                    None
                }
            });
    let code = child_loop(
        &mut sched,
        &mut link,
        handler,
        config,
        generation,
        beacon.as_mut(),
    );
    if let Some(b) = beacon.as_mut() {
        b.busy();
    }
    handler.shutdown(&mut sched);
    if let Some(p) = own_pid_file {
        p.remove();
    }
    log::info!("Stopped");
    code
}

fn child_loop<H: ChildHandler>(
    sched: &mut Sched,
    link: &mut ChildLink,
    handler: &mut H,
    config: Box<Config>,
    generation: u64,
    mut beacon: Option<&mut Beacon>,
) -> i32 {
    let applied = handler.configure(sched, &config, false);
    // Not kept for the child's life: the runtime took what it needs.
    drop(config);
    if let Err(e) = applied {
        log::error!("Configuration refused: {e}");
        return EXIT_CONFIG;
    }
    if let Err(e) = link.loaded(generation) {
        log::error!("cannot report to the parent: {e}");
        return EXIT_IPC;
    }
    // First beat, and the timer that keeps an otherwise idle loop beating.
    if let Some(b) = beacon.as_deref_mut() {
        b.on_wake(sched);
    }
    let mut events = Vec::new();
    loop {
        events.clear();
        if let Err(e) = sched.wait(&mut events, None) {
            log::error!("event loop failed: {e}");
            return 1;
        }
        // The loop came back to its poll: that is what the parent watches.
        if let Some(b) = beacon.as_deref_mut() {
            b.on_wake(sched);
        }
        for ev in &events {
            match ev {
                Event::Timer(id) if beacon.as_deref().is_some_and(|b| b.owns(*id)) => {}
                Event::Signal(si) if si.signo == libc::SIGTERM || si.signo == libc::SIGINT => {
                    return 0
                }
                Event::Signal(si) if si.signo == libc::SIGHUP => {
                    log::info!(
                        "SIGHUP received by child: reloads are driven by the parent process"
                    );
                }
                Event::Signal(si) if DumpKind::from_signal(si.signo).is_some() => {
                    if let Some(kind) = DumpKind::from_signal(si.signo) {
                        run_dump(handler, link, kind);
                    }
                }
                Event::Wake => {
                    while let Some(ce) = link.poll() {
                        match ce {
                            ChildEvent::Reload { config, generation } => {
                                log::info!("Reloading");
                                if let Some(b) = beacon.as_deref_mut() {
                                    b.busy();
                                }
                                let r = handler.configure(sched, &config, true);
                                drop(config);
                                if let Some(b) = beacon.as_deref_mut() {
                                    b.kick(sched);
                                }
                                match &r {
                                    Ok(()) => log::info!("Reload finished"),
                                    Err(e) => log::error!(
                                        "Reload refused, keeping the running configuration: {e}"
                                    ),
                                }
                                if link.reload_result(generation, r).is_err() {
                                    return 0;
                                }
                            }
                            ChildEvent::Dump(kind) => run_dump(handler, link, kind),
                            ChildEvent::Status => {
                                let _ = link.send(FromChild::Status {
                                    json: handler.status(),
                                });
                            }
                            ChildEvent::Shutdown => return 0,
                            ChildEvent::ParentGone(why) => {
                                log::info!(
                                    "Lost connection to the parent process ({why}) - exiting"
                                );
                                return 0;
                            }
                        }
                    }
                }
                other => handler.event(sched, other),
            }
        }
    }
}

fn run_dump<H: ChildHandler>(handler: &mut H, link: &ChildLink, kind: DumpKind) {
    let result = handler.dump(kind);
    if let Err(e) = &result {
        log::info!("{e}");
    }
    let _ = link.send(FromChild::DumpDone { kind, result });
}
