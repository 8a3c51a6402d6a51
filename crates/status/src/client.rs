//! Client side of the status socket, and the human rendering
//! `keepalivectl status` prints.

use std::fmt::{self, Write as _};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::schema::{SchemaError, StatusDoc};

/// Largest document a client accepts (64 MiB).
pub const MAX_DOC: u64 = 64 << 20;

/// Why the status could not be read.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting or reading failed.
    Io(String, std::io::Error),
    /// The daemon answered with an error document.
    Daemon(String),
    /// The answer is not a status document we read.
    Schema(SchemaError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(p, e) => write!(f, "{p}: {e}"),
            ClientError::Daemon(m) => write!(f, "daemon refused: {m}"),
            ClientError::Schema(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Read the raw answer of the socket at `path`.
pub fn query_raw(path: &Path, timeout: Duration) -> Result<String, ClientError> {
    let ioe = |e| ClientError::Io(path.display().to_string(), e);
    let s = UnixStream::connect(path).map_err(ioe)?;
    s.set_read_timeout(Some(timeout)).map_err(ioe)?;
    let mut text = String::new();
    s.take(MAX_DOC).read_to_string(&mut text).map_err(ioe)?;
    Ok(text)
}

/// Query and parse the status document.
pub fn query(path: &Path, timeout: Duration) -> Result<StatusDoc, ClientError> {
    let text = query_raw(path, timeout)?;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
            return Err(ClientError::Daemon(e.to_string()));
        }
    }
    StatusDoc::from_json(&text).map_err(ClientError::Schema)
}

fn dur(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// The document for humans.
pub fn render_human(doc: &StatusDoc) -> String {
    let mut o = String::new();
    let d = &doc.daemon;
    let _ = writeln!(
        o,
        "{} — pid {}, up {}",
        d.version,
        d.pid,
        dur(d.uptime_secs)
    );
    let _ = writeln!(
        o,
        "Configuration: {} (generation {})",
        d.config_file, d.config_generation
    );
    if let Some(r) = &d.last_reload {
        let ago = doc.generated_at - r.at;
        let _ = writeln!(
            o,
            "Last reload: {} ({} ago){}",
            r.result.as_str(),
            dur(ago),
            if r.diagnostics.is_empty() { "" } else { ":" }
        );
        for l in &r.diagnostics {
            let _ = writeln!(o, "  {l}");
        }
    }
    for c in &doc.children {
        let _ = writeln!(
            o,
            "Child {}: {}{}",
            c.role,
            match (c.running, c.pid) {
                (true, Some(p)) => format!("running, pid {p}"),
                (true, None) => "running".into(),
                (false, _) => "not running".into(),
            },
            c.snapshot_age_ms
                .map(|a| format!(", data {a} ms old"))
                .unwrap_or_default()
        );
    }
    if !doc.vrrp_instances.is_empty() {
        let _ = writeln!(o, "\nVRRP instances:");
        let _ = writeln!(
            o,
            "  {:<16} {:<7} {:>4} {:<10} {:>9} {:<22} {:>7}",
            "NAME", "STATE", "VRID", "INTERFACE", "PRIO", "MASTER", "ADVERT"
        );
        for i in &doc.vrrp_instances {
            let prio = if i.effective_priority == i.base_priority {
                i.base_priority.to_string()
            } else {
                format!("{}/{}", i.effective_priority, i.base_priority)
            };
            let master = match (&i.master_address, i.master_priority) {
                (Some(a), Some(p)) => format!("{a} ({p})"),
                (Some(a), None) => a.clone(),
                _ => "-".into(),
            };
            let _ = writeln!(
                o,
                "  {:<16} {:<7} {:>4} {:<10} {:>9} {:<22} {:>6}ms",
                i.name,
                i.state.as_str(),
                i.vrid,
                i.interface,
                prio,
                master,
                i.advert_interval_ms
            );
            let c = &i.counters;
            let _ = writeln!(
                o,
                "      adverts rx {} tx {}, became master {}, released {}, auth failures {}",
                c.advert_rcvd, c.advert_sent, c.become_master, c.release_master, c.auth_failure
            );
            for v in &i.vips {
                let _ = writeln!(o, "      vip {v}");
            }
        }
    }
    for g in &doc.sync_groups {
        let _ = writeln!(
            o,
            "Sync group {}: {} [{}]",
            g.name,
            g.state.as_str(),
            g.members.join(", ")
        );
    }
    for s in &doc.vrrp_scripts {
        let _ = writeln!(o, "Script {}: {} ({})", s.name, s.status, s.state);
    }
    if !doc.virtual_servers.is_empty() {
        let _ = writeln!(o, "\nVirtual servers:");
        for vs in &doc.virtual_servers {
            let _ = writeln!(
                o,
                "  {} {} {} {} quorum {}/{} {}{}",
                vs.protocol,
                vs.addr,
                vs.algo,
                vs.forwarding,
                vs.alive_weight,
                vs.quorum,
                if vs.quorum_up { "UP" } else { "DOWN" },
                if vs.sorry_server_active {
                    " (sorry server)"
                } else {
                    ""
                }
            );
            for rs in &vs.real_servers {
                let checks: Vec<String> = rs
                    .checkers
                    .iter()
                    .map(|c| format!("{} {}", c.kind, if c.up { "up" } else { "DOWN" }))
                    .collect();
                let _ = writeln!(
                    o,
                    "    -> {}:{} {} weight {}/{}{}",
                    rs.addr,
                    rs.port,
                    if rs.healthy { "healthy" } else { "FAILED" },
                    rs.weight,
                    rs.configured_weight,
                    if checks.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", checks.join(", "))
                    }
                );
            }
        }
    }
    o
}
