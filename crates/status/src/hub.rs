//! The parent's side in one piece: [`Hub`] keeps what the status document
//! needs (daemon facts, reload verdicts, the children's latest snapshots,
//! the parent's loop lateness) and [`StatusService`] owns the two endpoints
//! and answers their clients from the hub.
//!
//! Wiring in the watchdog (see notes/status.md):
//!
//! ```text
//! let mut svc = StatusService::start(&opts, Hub::new(version, config_file), sched.registry(), STATUS_TOKEN_BASE);
//! // event loop:
//! Event::Io(io) if svc.owns(io.token) => svc.handle(sched.registry(), io.token),
//! // every heartbeat tick:            svc.tick(sched.registry(), Instant::now());
//! //                                   svc.hub.observe_lateness(now - planned);
//! //                                   send ToChild::Status to each running child
//! // FromChild::Status{json}       => svc.hub.child_snapshot(role, &json)
//! // child started / gone          => svc.hub.child_started(role, pid) / child_stopped(role)
//! // reload verdict                => svc.hub.record_reload(result, generation, diagnostics)
//! // shutdown                      => svc.close(sched.registry())
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::{Registry, Token};

use crate::metrics::{self, MetricsOptions};
use crate::schema::*;
use crate::server::{Endpoint, Query, TOKENS_PER_ENDPOINT};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Debug, Default)]
struct ChildEntry {
    pid: Option<u32>,
    running: bool,
    snapshot: Option<(Instant, ChildSnapshot)>,
}

/// What the parent knows for the status document.
#[derive(Debug)]
pub struct Hub {
    pid: u32,
    version: String,
    started_wall: f64,
    started: Instant,
    config_file: String,
    generation: u64,
    last_reload: Option<ReloadVerdict>,
    reloads: ReloadCounters,
    children: BTreeMap<String, ChildEntry>,
    lateness: Histogram,
}

impl Hub {
    /// A hub for this process, started now.
    pub fn new(version: &str, config_file: &str) -> Hub {
        Hub {
            pid: std::process::id(),
            version: version.to_string(),
            started_wall: unix_now(),
            started: Instant::now(),
            config_file: config_file.to_string(),
            generation: 1,
            last_reload: None,
            reloads: ReloadCounters::default(),
            children: BTreeMap::new(),
            lateness: Histogram::default(),
        }
    }

    /// Set the configuration generation.
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Record a reload verdict (also sets the generation).
    pub fn record_reload(
        &mut self,
        result: ReloadResult,
        generation: u64,
        diagnostics: Vec<String>,
    ) {
        self.reloads.record(result);
        self.generation = generation;
        self.last_reload = Some(ReloadVerdict {
            at: unix_now(),
            result,
            generation,
            diagnostics,
        });
    }

    /// A child (`vrrp` / `checker`) started.
    pub fn child_started(&mut self, role: &str, pid: u32) {
        let e = self.children.entry(role.to_string()).or_default();
        e.pid = Some(pid);
        e.running = true;
    }

    /// A child is gone; its last snapshot is dropped.
    pub fn child_stopped(&mut self, role: &str) {
        let e = self.children.entry(role.to_string()).or_default();
        e.pid = None;
        e.running = false;
        e.snapshot = None;
    }

    /// Store a child's snapshot (the JSON text of a [`ChildSnapshot`]).
    pub fn child_snapshot(&mut self, role: &str, json: &str) -> Result<(), serde_json::Error> {
        let snap: ChildSnapshot = serde_json::from_str(json)?;
        self.children.entry(role.to_string()).or_default().snapshot = Some((Instant::now(), snap));
        Ok(())
    }

    /// Record how late one of the parent's timers fired.
    pub fn observe_lateness(&mut self, late: Duration) {
        self.lateness.observe(late.as_secs_f64());
    }

    /// The document as of now.
    pub fn doc(&self) -> StatusDoc {
        let now = Instant::now();
        let children = self
            .children
            .iter()
            .map(|(role, e)| ChildStatus {
                role: role.clone(),
                pid: e.pid,
                running: e.running,
                snapshot_age_ms: e
                    .snapshot
                    .as_ref()
                    .map(|(t, _)| now.saturating_duration_since(*t).as_millis() as u64),
            })
            .collect();
        let snaps: Vec<&ChildSnapshot> = self
            .children
            .values()
            .filter_map(|e| e.snapshot.as_ref().map(|(_, s)| s))
            .collect();
        StatusDoc::assemble(
            unix_now(),
            DaemonStatus {
                pid: self.pid,
                version: self.version.clone(),
                started_at: self.started_wall,
                uptime_secs: now.saturating_duration_since(self.started).as_secs_f64(),
                config_file: self.config_file.clone(),
                config_generation: self.generation,
                last_reload: self.last_reload.clone(),
                reloads: self.reloads,
            },
            children,
            Some(SchedulerStatus {
                process: "parent".into(),
                lateness: self.lateness.clone(),
            }),
            &snaps,
        )
    }
}

/// Where to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusOptions {
    /// Status socket path (`None`: disabled).
    pub socket: Option<PathBuf>,
    /// Metrics listen address (`None`: disabled, the default).
    pub metrics: Option<SocketAddr>,
    /// Metrics rendering options.
    pub metrics_options: MetricsOptions,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            socket: Some(PathBuf::from(crate::server::DEFAULT_SOCKET)),
            metrics: None,
            metrics_options: MetricsOptions::default(),
        }
    }
}

/// The endpoints plus the hub they answer from.
#[derive(Debug)]
pub struct StatusService {
    status: Option<Endpoint>,
    metrics: Option<Endpoint>,
    metrics_options: MetricsOptions,
    /// The data served.
    pub hub: Hub,
}

impl StatusService {
    /// Tokens used from `base`: `base .. base + TOKENS`.
    pub const TOKENS: usize = 2 * TOKENS_PER_ENDPOINT;

    /// Bind and register what `opts` enables. A failure to bind is logged
    /// (warning) and that endpoint stays off: monitoring never stops the
    /// daemon.
    pub fn start(
        opts: &StatusOptions,
        hub: Hub,
        registry: &Registry,
        base: usize,
    ) -> StatusService {
        let mut svc = StatusService {
            status: None,
            metrics: None,
            metrics_options: opts.metrics_options,
            hub,
        };
        if let Some(p) = &opts.socket {
            match Endpoint::bind_status(p) {
                Ok(mut e) => match e.register(registry, base) {
                    Ok(()) => svc.status = Some(e),
                    Err(err) => log::warn!("status socket {}: {err}", p.display()),
                },
                Err(err) => log::warn!("status socket disabled: {err}"),
            }
        }
        if let Some(a) = opts.metrics {
            match Endpoint::bind_metrics(a) {
                Ok(mut e) => match e.register(registry, base + TOKENS_PER_ENDPOINT) {
                    Ok(()) => svc.metrics = Some(e),
                    Err(err) => log::warn!("metrics listener {a}: {err}"),
                },
                Err(err) => log::warn!("metrics listener disabled: {err}"),
            }
        }
        svc
    }

    /// The metrics listener's bound address, when enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(Endpoint::local_addr)
    }

    /// Whether the status socket is being served.
    pub fn status_enabled(&self) -> bool {
        self.status.is_some()
    }

    /// Whether `token` is ours.
    pub fn owns(&self, token: Token) -> bool {
        self.status.as_ref().is_some_and(|e| e.owns(token))
            || self.metrics.as_ref().is_some_and(|e| e.owns(token))
    }

    /// Handle an event for one of our tokens.
    pub fn handle(&mut self, registry: &Registry, token: Token) {
        let hub = &self.hub;
        let mo = self.metrics_options;
        let mut produce = |q: Query| match q {
            Query::Status => hub.doc().to_json(),
            Query::Metrics => metrics::render(&hub.doc(), mo),
        };
        for e in [self.status.as_mut(), self.metrics.as_mut()]
            .into_iter()
            .flatten()
        {
            if e.owns(token) {
                e.handle(registry, token, &mut produce);
            }
        }
    }

    /// Periodic upkeep (drop stalled clients).
    pub fn tick(&mut self, registry: &Registry, now: Instant) {
        for e in [self.status.as_mut(), self.metrics.as_mut()]
            .into_iter()
            .flatten()
        {
            e.expire(registry, now);
        }
    }

    /// Stop serving; the socket file is removed.
    pub fn close(self, registry: &Registry) {
        for e in [self.status, self.metrics].into_iter().flatten() {
            e.close(registry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_assembles_children_and_reloads() {
        let mut h = Hub::new(
            "Keepalived v2.2.7 (keepalived-rs 0.1.0)",
            "/etc/keepalived/keepalived.conf",
        );
        h.child_started("vrrp", 10);
        h.child_started("checker", 11);
        h.child_snapshot(
            "vrrp",
            r#"{"vrrp_scripts":[{"name":"s","status":"GOOD","state":"idle"}]}"#,
        )
        .unwrap();
        assert!(h.child_snapshot("checker", "not json").is_err());
        h.record_reload(ReloadResult::Failed, 1, vec!["f:1:1: error: x".into()]);
        h.record_reload(ReloadResult::Ok, 2, vec![]);
        h.observe_lateness(Duration::from_millis(2));
        let d = h.doc();
        assert_eq!(d.version, SCHEMA_VERSION);
        assert_eq!(d.daemon.config_generation, 2);
        assert_eq!(d.daemon.reloads.failed, 1);
        assert_eq!(
            d.daemon.last_reload.as_ref().unwrap().result,
            ReloadResult::Ok
        );
        assert_eq!(d.vrrp_scripts.len(), 1);
        let roles: Vec<_> = d
            .children
            .iter()
            .map(|c| (c.role.as_str(), c.running, c.snapshot_age_ms.is_some()))
            .collect();
        assert_eq!(roles, [("checker", true, false), ("vrrp", true, true)]);
        assert_eq!(d.scheduler[0].lateness.count, 1);
        h.child_stopped("vrrp");
        let d = h.doc();
        assert!(d.vrrp_scripts.is_empty());
        assert_eq!(d.children[1].pid, None);
    }
}
