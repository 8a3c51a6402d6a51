//! Notifications: notify scripts (one ordered queue per instance and per
//! sync group), the `notify_fifo` lines and the SMTP alerts (sent by a
//! worker thread, never from the loop).

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use config::Config;
use notify::{NotifyFifo, NotifyKind, NotifyQueues, NotifyState, RunnerOptions, ScriptSpec};

/// A notify script that runs longer than this is killed with its process
/// group (keepalived has no limit; a hung script would block its queue).
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Notification outputs.
#[derive(Debug)]
pub struct Notifier {
    queues: NotifyQueues,
    fifo: Option<NotifyFifo>,
    fifo_path: Option<std::path::PathBuf>,
    smtp: Option<notify::smtp::SmtpSender>,
    router_id: String,
    /// Runs the FIFO's reader script (`vrrp_notify_fifo_script`), which
    /// lives as long as the FIFO; killed with its group at stop.
    fifo_runner: notify::ScriptRunner,
}

fn smtp_config(cfg: &Config) -> Option<notify::smtp::SmtpConfig> {
    let g = &cfg.global;
    let srv = g.smtp_server.as_ref()?;
    if g.notification_email.is_empty() {
        return None;
    }
    let server: SocketAddr = match &srv.host {
        config::Host::Ip(ip) => SocketAddr::new(*ip, srv.port),
        config::Host::Name(n) => (n.as_str(), srv.port).to_socket_addrs().ok()?.next()?,
    };
    Some(notify::smtp::SmtpConfig {
        server,
        helo_name: g
            .smtp_helo_name
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        from: g
            .notification_email_from
            .clone()
            .unwrap_or_else(|| "keepalived@localhost".to_string()),
        to: g.notification_email.clone(),
        timeout: g.smtp_connect_timeout.as_duration(),
    })
}

/// `router_id`, else the host name (keepalived's default).
pub fn router_id(cfg: &Config) -> String {
    cfg.global.router_id.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_string())
    })
}

impl Notifier {
    /// Builds the outputs of `cfg`.
    pub fn new(cfg: &Config) -> Notifier {
        let mut n = Notifier {
            queues: NotifyQueues::new(RunnerOptions::default(), Some(NOTIFY_TIMEOUT)),
            fifo: None,
            fifo_path: None,
            smtp: None,
            router_id: router_id(cfg),
            fifo_runner: notify::ScriptRunner::default(),
        };
        n.reconfigure(cfg);
        n
    }

    /// Applies a (re)loaded configuration: FIFO and mail settings.
    pub fn reconfigure(&mut self, cfg: &Config) {
        self.router_id = router_id(cfg);
        let fifo = cfg
            .global
            .vrrp_notify_fifo
            .as_ref()
            .or(cfg.global.notify_fifo.as_ref());
        let path = fifo.map(|f| f.path.clone());
        if path != self.fifo_path {
            self.fifo = None;
            self.fifo_path = path.clone();
            let _ = self.fifo_runner.kill_all();
            if let Some(p) = path {
                match NotifyFifo::open(&p) {
                    Ok(f) => self.fifo = Some(f),
                    Err(e) => log::info!("Unable to open notify FIFO {}: {e}", p.display()),
                }
                // The reader script gets the FIFO's name as its last argument.
                if let Some(script) = fifo.and_then(|f| f.script.as_ref()) {
                    let mut spec = crate::map::script_spec(cfg, script);
                    spec.argv.push(p.display().to_string());
                    if let Err(e) = self.fifo_runner.spawn(&spec, Instant::now()) {
                        log::info!("Unable to start notify FIFO script {}: {e}", spec.display());
                    }
                }
            }
        }
        self.smtp = smtp_config(cfg).and_then(|c| match notify::smtp::SmtpSender::spawn(c, None) {
            Ok(s) => Some(s),
            Err(e) => {
                log::info!("Unable to start the SMTP alert thread: {e}");
                None
            }
        });
    }

    /// Queues scripts on `queue` (instance name or `GROUP name`).
    pub fn run(&mut self, queue: &str, scripts: Vec<ScriptSpec>) {
        if scripts.is_empty() {
            return;
        }
        self.queues.enqueue(queue, scripts, Instant::now());
        self.poll();
    }

    /// Writes a FIFO line.
    pub fn fifo(&mut self, kind: NotifyKind, name: &str, state: NotifyState, prio: u8) {
        if let Some(f) = &mut self.fifo {
            if let Err(e) = f.notify(kind, name, state, prio) {
                log::info!("Error writing to notify FIFO: {e}");
            }
        }
    }

    /// Mails an instance alert.
    pub fn instance_alert(&mut self, name: &str, state: NotifyState) {
        if let (Some(s), Some(a)) = (
            &self.smtp,
            notify::smtp::vrrp_instance_alert(&self.router_id, name, state),
        ) {
            s.send(a);
        }
    }

    /// Mails a group alert.
    pub fn group_alert(&mut self, name: &str, state: NotifyState) {
        if let (Some(s), Some(a)) = (
            &self.smtp,
            notify::smtp::vrrp_group_alert(&self.router_id, name, state),
        ) {
            s.send(a);
        }
    }

    /// Reaps and starts queued scripts.
    pub fn poll(&mut self) {
        for f in self.fifo_runner.poll(Instant::now()) {
            log::info!("notify FIFO script exited ({})", f.exit);
        }
        for d in self.queues.poll(Instant::now()) {
            match d.outcome {
                notify::Outcome::Finished(f) if f.timed_out => {
                    log::info!("Notify script {} timed out", d.command)
                }
                notify::Outcome::Finished(f) if !f.success() => {
                    log::debug!("Notify script {} {}", d.command, f.exit)
                }
                notify::Outcome::SpawnFailed(e) => {
                    log::info!("Unable to run notify script {}: {e}", d.command)
                }
                notify::Outcome::Finished(_) => {}
            }
        }
    }

    /// Earliest notify deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queues.next_deadline()
    }

    /// Shutdown: runs the queues (STOP notifies) until empty or `limit`.
    pub fn drain(&mut self, limit: Duration) {
        let _ = self.queues.drain(Instant::now() + limit);
        let _ = self.fifo_runner.kill_all();
    }
}
