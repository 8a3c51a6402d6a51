//! One checker's schedule and retry state machine (keepalived's per-checker
//! `*_epilog` functions: `check/check_tcp.c:90-140`, `check_http.c:971-1105`,
//! `check_udp.c`, `check_ping.c:274-324`, `check_smtp.c:320-420`,
//! `check_dns.c:98-160`, `check_misc.c:368-500`).
//!
//! The checker decides *when* to probe and turns probe outcomes into
//! "checker went up/down" plus log lines. The daemon performs the probe.

use std::time::Duration;

use crate::dns::DnsFailure;
use crate::file::{self, FileChange, FileStatus};
use crate::http::{HttpFailure, UrlSuccess};
use crate::log::{self, LogLine};
use crate::service::{AddrPair, RsAddr, VsName};
use crate::smtp::SmtpFailure;
use crate::time::Millis;

/// keepalived's `BOOTSTRAP_DELAY`: the first check runs 1 s plus a random
/// part of `warmup` after start (`check/check_api.c:530-536`).
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// The checker type and what it needs for its log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// TCP_CHECK: connect success is enough.
    Tcp,
    /// HTTP_GET (`ssl` false) or SSL_GET: one probe per url path, in order.
    Http {
        /// Whether this is SSL_GET.
        ssl: bool,
        /// The `url { path }` of each url block, at least one (shared by
        /// identical checkers).
        paths: std::sync::Arc<[String]>,
    },
    /// MISC_CHECK: run a script; the timeout is `misc_timeout`.
    Misc {
        /// The script's first word (keepalived logs `script.args[0]`).
        script: String,
        /// `misc_dynamic`: exit codes 2..=255 set weight = code - 2.
        dynamic: bool,
    },
    /// SMTP_CHECK; the address is the connect address, for messages.
    Smtp {
        /// Address probed (`connect_ip`/`connect_port` or the RS).
        server: std::net::SocketAddr,
    },
    /// DNS_CHECK.
    Dns,
    /// PING_CHECK.
    Ping,
    /// UDP_CHECK.
    Udp,
    /// FILE_CHECK: no probes; the daemon reports the file's value
    /// (`Engine::track_file_value`), see [`crate::file`].
    File {
        /// The `track_file` name.
        name: String,
        /// FILE_CHECK `weight`, else the track_file's.
        weight: i32,
        /// `reverse`.
        reverse: bool,
        /// The value read when the configuration was loaded.
        initial: i64,
    },
}

/// Resolved settings of one checker (defaults and inheritance from
/// real_server / virtual_server are applied by the config mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerConfig {
    /// Checker type.
    pub kind: CheckKind,
    /// `connect_timeout` (for MISC_CHECK: `misc_timeout`).
    pub connect_timeout: Duration,
    /// `retry` (`nb_get_retry` is the same thing).
    pub retry: u32,
    /// `delay_before_retry`.
    pub delay_before_retry: Duration,
    /// `delay_loop`.
    pub delay_loop: Duration,
    /// `warmup` (default delay_loop).
    pub warmup: Duration,
    /// `alpha`: start down.
    pub alpha: bool,
    /// `log_all_failures` (checker or global).
    pub log_all_failures: bool,
}

impl CheckerConfig {
    /// A TCP_CHECK with keepalived's defaults: connect_timeout 5 s, retry 1,
    /// delay_before_retry 1 s, delay_loop 60 s, warmup = delay_loop.
    pub fn tcp_defaults() -> CheckerConfig {
        CheckerConfig {
            kind: CheckKind::Tcp,
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            delay_loop: Duration::from_secs(60),
            warmup: Duration::from_secs(60),
            alpha: false,
            log_all_failures: false,
        }
    }
}

/// Why a probe failed, as reported by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// No answer before the deadline (also produced by the checker itself
    /// when the deadline passes).
    Timeout,
    /// Connection refused / reset / unreachable.
    ConnectFailed,
    /// Read or write error after connecting.
    Io,
    /// HTTP verdict.
    Http(HttpFailure),
    /// SMTP dialogue failure.
    Smtp(SmtpFailure),
    /// DNS failure.
    Dns(DnsFailure),
    /// UDP reply did not match `require_reply`, or ICMP reply invalid.
    ReplyMismatch,
}

/// How a MISC_CHECK script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiscExit {
    /// Exited with this status.
    Exited(u8),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Killed by us after `misc_timeout`.
    TimedOut,
}

/// A probe result reported by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Success. For HTTP, which check passed for the current url.
    Success(Option<UrlSuccess>),
    /// Failure.
    Failure(ProbeFailure),
    /// MISC_CHECK script result.
    Misc(MiscExit),
}

impl From<Result<UrlSuccess, HttpFailure>> for ProbeOutcome {
    fn from(r: Result<UrlSuccess, HttpFailure>) -> ProbeOutcome {
        match r {
            Ok(s) => ProbeOutcome::Success(Some(s)),
            Err(f) => ProbeOutcome::Failure(ProbeFailure::Http(f)),
        }
    }
}

/// What the daemon is asked to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Token to pass back with the result; stale results are ignored.
    pub token: u64,
    /// For HTTP_GET/SSL_GET, the index of the url block to fetch.
    pub url: usize,
    /// The daemon must give up (close / kill) by then; the checker treats
    /// the probe as failed at this time anyway.
    pub deadline: Millis,
}

/// A `misc_dynamic` weight change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicWeight {
    /// The weight the script asked for (exit code - 2), or `None` to go
    /// back to the configured weight.
    pub weight: Option<i64>,
    /// keepalived resets the weight on failure without logging it.
    pub silent: bool,
}

/// What one step of a checker produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckerStep {
    /// Log lines, in order.
    pub logs: Vec<LogLine>,
    /// `Some(up)` when the checker's state changed.
    pub changed: Option<bool>,
    /// `misc_dynamic` weight change, applied before `changed`.
    pub dynamic_weight: Option<DynamicWeight>,
    /// The probe to start now, if any.
    pub start: Option<ProbeRequest>,
    /// A probe in flight was abandoned at its deadline: close / kill it.
    pub abort: Option<u64>,
}

/// The names a checker's log lines use: its real server and virtual
/// server (kept once by the engine, not in every checker).
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The real server, `[ip]:proto:port`.
    pub rs: &'a RsAddr,
    /// The virtual server.
    pub vs: &'a VsName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting {
        at: Millis,
    },
    Probing {
        token: u64,
        started: Millis,
        deadline: Millis,
    },
}

/// One checker's run-time state.
#[derive(Debug, Clone)]
pub struct Checker {
    cfg: CheckerConfig,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    enabled: bool,
    phase: Phase,
    url_it: u32,
    /// A url failed: every url is checked again before the server is up.
    failed_url: bool,
    dyn_weight: Option<i64>,
    last_exit: Option<u8>,
    /// FILE_CHECK: the status of the last value.
    file: Option<FileStatus>,
}

impl Checker {
    /// A checker at daemon start. `warmup_jitter` is the random part of the
    /// first delay, chosen by the caller in `0..=warmup` (clamped).
    pub fn new(cfg: CheckerConfig, now: Millis, warmup_jitter: Duration) -> Checker {
        let jitter = warmup_jitter.min(cfg.warmup);
        if let CheckKind::File {
            weight,
            reverse,
            initial,
            ..
        } = &cfg.kind
        {
            // add_rs_to_track_files: "has run", never alpha, never probes.
            let st = file::status(*initial, *weight, *reverse);
            return Checker {
                is_up: st != FileStatus::Fault,
                has_run: true,
                retry_it: 0,
                enabled: true,
                phase: Phase::Waiting {
                    at: Millis(u64::MAX),
                },
                url_it: 0,
                failed_url: false,
                dyn_weight: None,
                last_exit: None,
                file: Some(st),
                cfg,
            };
        }
        Checker {
            is_up: !cfg.alpha,
            has_run: false,
            // "For non alpha mode, one failure is enough initially"
            // (check/check_data.c:1383): the first failure is final.
            retry_it: cfg.retry,
            enabled: true,
            phase: Phase::Waiting {
                at: now + BOOTSTRAP_DELAY + jitter,
            },
            url_it: 0,
            failed_url: false,
            dyn_weight: None,
            last_exit: None,
            file: None,
            cfg,
        }
    }

    /// Whether the engine schedules probes for this checker (all but
    /// FILE_CHECK).
    pub fn scheduled(&self) -> bool {
        self.file.is_none()
    }

    /// FILE_CHECK: what the checker adds to the real server's weight (0 in
    /// FAULT); `None` for other checkers.
    pub fn file_weight(&self) -> Option<i64> {
        match self.file? {
            FileStatus::Fault => Some(0),
            FileStatus::Weight(w) => Some(w),
        }
    }

    /// FILE_CHECK: the track_file's new value. Returns the change to apply
    /// to the real server, if any; other checkers ignore it.
    pub fn set_file_value(&mut self, value: i64) -> Option<FileChange> {
        let old = self.file?;
        let CheckKind::File {
            weight, reverse, ..
        } = &self.cfg.kind
        else {
            return None;
        };
        let new = file::status(value, *weight, *reverse);
        let ch = file::change(old, new)?;
        self.file = Some(new);
        self.is_up = new != FileStatus::Fault;
        Some(ch)
    }

    /// The settings.
    pub fn config(&self) -> &CheckerConfig {
        &self.cfg
    }

    /// Whether the checker currently counts as up.
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// Whether at least one probe completed.
    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// Whether probing is enabled (ha_suspend).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The weight set by `misc_dynamic`, if any.
    pub fn dynamic_weight(&self) -> Option<i64> {
        self.dyn_weight
    }

    /// The token of the probe in flight, if any.
    pub fn in_flight(&self) -> Option<u64> {
        match self.phase {
            Phase::Probing { token, .. } => Some(token),
            Phase::Waiting { .. } => None,
        }
    }

    /// When [`Checker::on_timer`] must next be called.
    pub fn next_wakeup(&self) -> Millis {
        match self.phase {
            Phase::Waiting { at } => at,
            Phase::Probing { deadline, .. } => deadline,
        }
    }

    /// Enables or disables probing (ha_suspend). Returns the log line
    /// when the state changed. A disabled checker keeps its state.
    pub fn set_enabled(&mut self, enabled: bool, names: Names<'_>) -> Option<LogLine> {
        if self.enabled == enabled {
            return None;
        }
        self.enabled = enabled;
        Some(log::checker_activity(enabled, names.rs, names.vs))
    }

    pub(crate) fn set_enabled_quiet(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Reload: take over the state of the checker `old` that had the same
    /// type on the same real server (keepalived `migrate_checkers`,
    /// `check/ipwrapper.c:948-1000`). The schedule and any probe in flight
    /// are kept.
    pub fn migrate_from(&mut self, old: &Checker) {
        if self.file.is_some() {
            // FILE_CHECK: the value re-read at reload is the state.
            return;
        }
        if old.has_run {
            self.is_up = old.is_up;
        }
        self.has_run = old.has_run;
        self.retry_it = if old.retry_it > 0 && self.cfg.retry > 0 {
            old.retry_it.min(self.cfg.retry - 1)
        } else {
            0
        };
        self.enabled = old.enabled;
        self.phase = old.phase;
        self.dyn_weight = old.dyn_weight;
        self.last_exit = old.last_exit;
        if let (CheckKind::Http { paths: a, .. }, CheckKind::Http { paths: b, .. }) =
            (&self.cfg.kind, &old.cfg.kind)
        {
            if a == b {
                self.url_it = old.url_it;
                self.failed_url = old.failed_url;
            }
        }
    }

    /// Reload: a checker new to an existing real server; keepalived starts
    /// it with no retries used (`retry_it` is only preset at first start).
    pub(crate) fn reset_for_reload(&mut self) {
        self.retry_it = 0;
    }

    /// Reload, when the real server has a failed checker (or is down with no
    /// checker run): checkers that never ran start down if alpha and fail on
    /// their first failure.
    pub(crate) fn pessimise_if_not_run(&mut self) {
        if !self.has_run {
            if self.cfg.alpha {
                self.is_up = false;
            }
            self.retry_it = self.cfg.retry;
        }
    }

    /// Timer handling: starts a probe when due (with `token`, which the
    /// caller keeps unique across all checkers), or fails it at its deadline.
    pub fn on_timer(&mut self, now: Millis, token: u64, names: Names<'_>) -> CheckerStep {
        match self.phase {
            Phase::Waiting { at } if now >= at => {
                if !self.enabled {
                    self.phase = Phase::Waiting {
                        at: now + self.cfg.delay_loop,
                    };
                    return CheckerStep::default();
                }
                let deadline = now + self.cfg.connect_timeout;
                self.phase = Phase::Probing {
                    token,
                    started: now,
                    deadline,
                };
                CheckerStep {
                    start: Some(ProbeRequest {
                        token,
                        url: self.url_it as usize,
                        deadline,
                    }),
                    ..CheckerStep::default()
                }
            }
            Phase::Probing {
                token, deadline, ..
            } if now >= deadline => {
                let outcome = if matches!(self.cfg.kind, CheckKind::Misc { .. }) {
                    ProbeOutcome::Misc(MiscExit::TimedOut)
                } else {
                    ProbeOutcome::Failure(ProbeFailure::Timeout)
                };
                let mut step = self.on_result(now, token, outcome, names);
                step.abort = Some(token);
                step
            }
            _ => CheckerStep::default(),
        }
    }

    /// A probe finished. Results with a stale token are ignored.
    pub fn on_result(
        &mut self,
        now: Millis,
        token: u64,
        outcome: ProbeOutcome,
        names: Names<'_>,
    ) -> CheckerStep {
        let Phase::Probing {
            token: cur,
            started,
            ..
        } = self.phase
        else {
            return CheckerStep::default();
        };
        if cur != token {
            return CheckerStep::default();
        }
        let mut step = CheckerStep::default();
        let delay = match (&self.cfg.kind, outcome) {
            (CheckKind::Misc { .. }, ProbeOutcome::Misc(exit)) => self.misc(exit, &mut step, names),
            (CheckKind::Misc { .. }, ProbeOutcome::Success(_)) => {
                self.misc(MiscExit::Exited(0), &mut step, names)
            }
            (CheckKind::Misc { .. }, ProbeOutcome::Failure(_)) => {
                self.misc(MiscExit::TimedOut, &mut step, names)
            }
            (CheckKind::Http { .. }, ProbeOutcome::Success(s)) => {
                self.http_success(s, &mut step, names)
            }
            (_, ProbeOutcome::Success(_)) => self.success(&mut step, names),
            (_, ProbeOutcome::Failure(f)) => self.failure(&f, &mut step, names),
            (_, ProbeOutcome::Misc(MiscExit::Exited(0))) => self.success(&mut step, names),
            (_, ProbeOutcome::Misc(_)) => self.failure(&ProbeFailure::Io, &mut step, names),
        };
        // MISC_CHECK schedules from the script's start (`last_ran`), the
        // others from the end of the probe.
        let base = if matches!(self.cfg.kind, CheckKind::Misc { .. }) {
            started
        } else {
            now
        };
        let at = (base + delay).max(now);
        self.phase = Phase::Waiting { at };
        step
    }

    fn set_state(&mut self, up: bool, step: &mut CheckerStep) {
        if self.is_up != up {
            self.is_up = up;
            step.changed = Some(up);
        }
    }

    fn success(&mut self, step: &mut CheckerStep, names: Names<'_>) -> Duration {
        if !self.is_up || !self.has_run {
            match &self.cfg.kind {
                CheckKind::Tcp => step.logs.push(log::tcp_success(names.rs)),
                CheckKind::Udp => step.logs.push(log::udp_success(names.rs)),
                CheckKind::Ping => step.logs.push(log::icmp_success(names.rs)),
                CheckKind::Smtp { .. } => step.logs.push(log::smtp_success(names.rs)),
                CheckKind::Dns
                | CheckKind::Http { .. }
                | CheckKind::Misc { .. }
                | CheckKind::File { .. } => {}
            }
            self.set_state(true, step);
        }
        self.retry_it = 0;
        self.has_run = true;
        self.cfg.delay_loop
    }

    fn http_success(
        &mut self,
        what: Option<UrlSuccess>,
        step: &mut CheckerStep,
        names: Names<'_>,
    ) -> Duration {
        let CheckKind::Http { paths, .. } = &self.cfg.kind else {
            return self.success(step, names);
        };
        let n = u32::try_from(paths.len().max(1)).unwrap_or(u32::MAX);
        if !self.is_up {
            let path = paths
                .get(self.url_it as usize)
                .map(String::as_str)
                .unwrap_or("");
            let what = what.unwrap_or(UrlSuccess::StatusCode).as_str();
            step.logs.push(log::http_url_success(what, names.rs, path));
        }
        self.url_it += 1;
        self.retry_it = 0;
        if self.url_it >= n && !self.failed_url {
            if !self.is_up || !self.has_run {
                step.logs.push(log::http_server_success(names.rs));
                self.set_state(true, step);
                self.has_run = true;
            }
            self.url_it = 0;
        } else if self.failed_url {
            // The failed url passes again: re-check every url from the first
            // before declaring the server up (check_http.c:1042-1047).
            self.failed_url = false;
            self.url_it = 0;
        } else if self.url_it >= n {
            self.url_it = 0;
        }
        self.cfg.delay_loop
    }

    fn failure_detail(&self, f: &ProbeFailure, step: &mut CheckerStep, rs: &RsAddr) {
        if !self.cfg.log_all_failures {
            return;
        }
        match (&self.cfg.kind, f) {
            (CheckKind::Tcp, ProbeFailure::Timeout) if self.is_up => {
                step.logs.push(log::tcp_timeout(rs))
            }
            (CheckKind::Tcp, _) if self.is_up => step.logs.push(log::tcp_failed_conn(rs)),
            (CheckKind::Udp, ProbeFailure::ReplyMismatch) if self.is_up => {
                step.logs.push(log::udp_mismatch(rs))
            }
            (CheckKind::Udp, _) if self.is_up => step.logs.push(log::udp_failed_conn(rs)),
            (CheckKind::Http { .. }, f) if self.is_up || !self.has_run => {
                let msg = match f {
                    ProbeFailure::Timeout => "Timeout connecting".to_string(),
                    ProbeFailure::ConnectFailed => "Connection failed".to_string(),
                    ProbeFailure::Io => "Read error with".to_string(),
                    ProbeFailure::Http(h) => h.to_string(),
                    _ => "Error connecting".to_string(),
                };
                step.logs.push(log::http_failure_detail(&msg, rs));
            }
            _ => {}
        }
    }

    fn failure(&mut self, f: &ProbeFailure, step: &mut CheckerStep, names: Names<'_>) -> Duration {
        self.failure_detail(f, step, names.rs);
        let eligible = self.is_up || !self.has_run;
        let kind = self.cfg.kind.clone();
        if !eligible {
            // Already down: keepalived only keeps retrying for TCP_CHECK.
            let delay = match kind {
                CheckKind::Tcp if self.retry_it < self.cfg.retry => {
                    self.retry_it += 1;
                    self.cfg.delay_before_retry
                }
                CheckKind::Tcp => {
                    self.retry_it = 0;
                    self.cfg.delay_loop
                }
                CheckKind::Http { .. } => {
                    self.failed_url = true;
                    self.cfg.delay_before_retry.max(self.cfg.delay_loop)
                }
                _ => {
                    self.retry_it = 0;
                    self.cfg.delay_loop
                }
            };
            self.has_run = true;
            return delay;
        }
        let is_final = self.retry_it >= self.cfg.retry;
        // Messages that come before the state change.
        match &kind {
            CheckKind::Smtp { server } if is_final || self.cfg.log_all_failures => {
                let msg = match f {
                    ProbeFailure::Smtp(s) => s.message(AddrPair(*server)),
                    ProbeFailure::Timeout => SmtpFailure::ReadTimeout.message(AddrPair(*server)),
                    _ => SmtpFailure::ReadFailure.message(AddrPair(*server)),
                };
                step.logs.push(log::smtp_failure(&msg));
            }
            CheckKind::Dns if is_final || self.cfg.log_all_failures => {
                let msg = match f {
                    ProbeFailure::Dns(d) => d.to_string(),
                    ProbeFailure::Timeout => DnsFailure::ReadTimeout.to_string(),
                    _ => "failed to read socket".to_string(),
                };
                let retries = (self.has_run && is_final).then_some(self.cfg.retry);
                step.logs.push(log::dns_failure(names.rs, &msg, retries));
            }
            _ => {}
        }
        if !is_final {
            self.retry_it += 1;
            self.has_run = true;
            return self.cfg.delay_before_retry;
        }
        // Final failure: the checker goes down.
        let retries = self.cfg.retry;
        let with_retries = match kind {
            // HTTP sets has_run before deciding (timeout_epilog).
            CheckKind::Http { .. } => retries > 0,
            _ => retries > 0 && self.has_run,
        };
        let n = with_retries.then_some(retries);
        match &kind {
            CheckKind::Tcp => step
                .logs
                .push(log::check_failed("TCP_CHECK", names.rs, names.vs, n)),
            CheckKind::Udp => step
                .logs
                .push(log::check_failed("UDP_CHECK", names.rs, names.vs, n)),
            CheckKind::Ping => {
                step.logs
                    .push(log::check_failed("ICMP CHECK", names.rs, names.vs, n))
            }
            CheckKind::Http { .. } => {
                step.logs
                    .push(log::check_failed("HTTP_CHECK", names.rs, names.vs, n));
                self.failed_url = true;
            }
            _ => {}
        }
        self.set_state(false, step);
        self.retry_it = 0;
        self.has_run = true;
        match kind {
            CheckKind::Http { .. } => self.cfg.delay_before_retry.max(self.cfg.delay_loop),
            _ => self.cfg.delay_loop,
        }
    }

    fn misc(&mut self, exit: MiscExit, step: &mut CheckerStep, names: Names<'_>) -> Duration {
        let CheckKind::Misc { script, dynamic } = self.cfg.kind.clone() else {
            return self.cfg.delay_loop;
        };
        let retry = self.cfg.retry;
        let ok_status = match exit {
            MiscExit::Exited(0) => Some(0u8),
            MiscExit::Exited(s) if dynamic && s >= 2 => Some(s),
            _ => None,
        };
        if let Some(status) = ok_status {
            if self.last_exit != Some(status) {
                // Weight = status - 2 with misc_dynamic (check_misc.c:376-384);
                // the caller turns the delta into the RS weight.
                let weight = (status != 0).then(|| i64::from(status) - 2);
                self.dyn_weight = weight;
                step.dynamic_weight = Some(DynamicWeight {
                    weight,
                    silent: false,
                });
                self.last_exit = Some(status);
            }
            if !self.is_up || !self.has_run {
                step.logs.push(log::misc_result(
                    names.rs,
                    names.vs,
                    &script,
                    "succeeded",
                    "",
                ));
                self.set_state(true, step);
            }
            self.retry_it = 0;
            self.has_run = true;
            return self.cfg.delay_loop;
        }
        if !self.is_up && self.has_run {
            self.has_run = true;
            return self.cfg.delay_loop;
        }
        let (what, reason) = match exit {
            MiscExit::Exited(s) => ("failed", format!(" (exited with status {s})")),
            MiscExit::Signaled(sig) => ("failed", format!(" (due to signal {sig})")),
            MiscExit::TimedOut => ("timed out", String::new()),
        };
        let final_failure = self.retry_it >= retry;
        if final_failure {
            self.retry_it = 0;
            if let MiscExit::Exited(s) = exit {
                self.last_exit = Some(s);
            }
        } else {
            self.retry_it += 1;
        }
        if final_failure || self.cfg.log_all_failures {
            let plural = |n: u32| if n == 1 { "retry" } else { "retries" };
            let extra = if retry == 0 {
                " with retry disabled".to_string()
            } else if self.retry_it == 1 {
                format!(", will do {retry} {}", plural(retry))
            } else if self.retry_it > 1 {
                format!(" on retry {}/{retry}", self.retry_it - 1)
            } else {
                format!(" after {retry} {}", plural(retry))
            };
            step.logs.push(log::misc_result(
                names.rs,
                names.vs,
                &script,
                what,
                &format!("{extra}{reason}"),
            ));
        }
        if final_failure {
            self.set_state(false, step);
            if self.dyn_weight.take().is_some() {
                step.dynamic_weight = Some(DynamicWeight {
                    weight: None,
                    silent: true,
                });
            }
            self.has_run = true;
            return self.cfg.delay_loop;
        }
        self.has_run = true;
        self.cfg.delay_before_retry
    }
}
