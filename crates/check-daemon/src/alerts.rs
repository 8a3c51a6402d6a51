//! SMTP alerts of the checker (`smtp_alert`): real server up/down with the
//! checker's wording (`=> TCP CHECK succeed on service <=`, ...) and
//! virtual server quorum changes (`=> Gained quorum 1+0=1 <= 2 <=`), sent by
//! `notify::smtp::SmtpSender` from its worker thread.

use std::net::{SocketAddr, ToSocketAddrs};

use check::CheckKind;
use config::{Config, VirtualServer};
use notify::smtp::{SmtpConfig, SmtpSender};

/// The `global_defs` mail settings, if alerts can be sent at all.
pub fn smtp_config(cfg: &Config) -> Option<SmtpConfig> {
    let g = &cfg.global;
    let srv = g.smtp_server.as_ref()?;
    if g.notification_email.is_empty() {
        return None;
    }
    let server: SocketAddr = match &srv.host {
        config::Host::Ip(ip) => SocketAddr::new(*ip, srv.port),
        config::Host::Name(n) => (n.as_str(), srv.port).to_socket_addrs().ok()?.next()?,
    };
    Some(SmtpConfig {
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
        timeout: std::time::Duration::from_micros(g.smtp_connect_timeout.0),
    })
}

/// `router_id`, else the host name.
pub fn router_id(cfg: &Config) -> String {
    cfg.global.router_id.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_string())
    })
}

/// Whether a virtual server sends alerts (check_data.c: VS, else
/// `smtp_alert_checker`, else `smtp_alert`, else no).
pub fn vs_alert(cfg: &Config, vs: &VirtualServer) -> bool {
    vs.smtp_alert
        .or(cfg.global.smtp_alert_checker)
        .or(cfg.global.smtp_alert)
        .unwrap_or(false)
}

/// The body keepalived's checker of this kind sends.
pub fn rs_body(kind: Option<&CheckKind>, up: bool) -> String {
    let s = if up { "succeed" } else { "failed" };
    match kind {
        Some(CheckKind::Tcp) => format!("=> TCP CHECK {s} on service <="),
        Some(CheckKind::Udp) => format!("=> UDP CHECK {s} on service <="),
        Some(CheckKind::Ping) => format!("=> ICMP CHECK {s} on service <="),
        Some(CheckKind::Dns) => format!("=> DNS_CHECK: {s} on service <="),
        Some(CheckKind::Misc { .. }) => format!("=> MISC CHECK {s} on service <="),
        Some(CheckKind::Http { .. }) if !up => {
            "=> CHECK failed on service : HTTP request failed <=".to_string()
        }
        _ => format!("=> CHECK {s} on service <="),
    }
}

/// The mail sender and what it needs.
#[derive(Debug)]
pub struct Alerts {
    /// The worker.
    pub sender: SmtpSender,
    /// `router_id` for subjects.
    pub router_id: String,
}

impl Alerts {
    /// Starts the sender when mail is configured.
    pub fn new(cfg: &Config) -> Option<Alerts> {
        let sc = smtp_config(cfg)?;
        let sender = SmtpSender::spawn(sc, None).ok()?;
        Some(Alerts {
            sender,
            router_id: router_id(cfg),
        })
    }

    /// A real server went up or down.
    pub fn rs(&self, rs: &str, vs: &str, up: bool, body: &str) {
        let a = notify::smtp::realserver_alert(&self.router_id, rs, vs, up, body);
        self.sender.send(a);
    }

    /// A virtual server's quorum changed; `line` is the engine's
    /// `Gained quorum ...` / `Lost quorum ...` log line.
    pub fn vs(&self, vs: &str, up: bool, line: &str) {
        let what = line.split(" for VS ").next().unwrap_or(line);
        let body = format!("=> {what} <=");
        let a = notify::smtp::virtual_server_alert(
            &self.router_id,
            vs,
            if up { "UP" } else { "DOWN" },
            &body,
        );
        self.sender.send(a);
    }
}
