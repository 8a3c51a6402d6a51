//! The versioned JSON status document served on the status socket.
//!
//! Compatibility rule: fields are only ever *added* within a major
//! [`SCHEMA_VERSION`]; a reader must ignore unknown fields (every struct here
//! does, serde's default) and treat missing optional ones as absent. Removing
//! or changing the meaning of a field bumps the version.
//!
//! Children send their part as a [`ChildSnapshot`] (JSON text through IPC);
//! the parent assembles a [`StatusDoc`] with [`StatusDoc::assemble`].

use serde::{Deserialize, Serialize};

/// Version of the document layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole status document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDoc {
    /// Always [`SCHEMA_VERSION`] for documents we write.
    pub version: u32,
    /// When the document was assembled (seconds since the Unix epoch).
    pub generated_at: f64,
    /// The parent process.
    pub daemon: DaemonStatus,
    /// The child processes and how fresh their part is.
    #[serde(default)]
    pub children: Vec<ChildStatus>,
    /// VRRP instances (from the VRRP child).
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstanceStatus>,
    /// VRRP sync groups.
    #[serde(default)]
    pub sync_groups: Vec<SyncGroupStatus>,
    /// vrrp_script trackers.
    #[serde(default)]
    pub vrrp_scripts: Vec<ScriptStatus>,
    /// Virtual servers (from the checker child).
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// Event-loop lateness of each process.
    #[serde(default)]
    pub scheduler: Vec<SchedulerStatus>,
}

/// The parent process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Parent pid.
    pub pid: u32,
    /// Version string (`Keepalived v2.2.7 (keepalived-rs 0.1.0)`).
    pub version: String,
    /// Start time (seconds since the Unix epoch).
    pub started_at: f64,
    /// Seconds since start.
    pub uptime_secs: f64,
    /// Main configuration file.
    pub config_file: String,
    /// Configuration generation (1 at start, +1 per accepted reload).
    pub config_generation: u64,
    /// The last reload attempt, if any.
    #[serde(default)]
    pub last_reload: Option<ReloadVerdict>,
    /// Reload attempts by outcome since start.
    #[serde(default)]
    pub reloads: ReloadCounters,
}

/// Outcome of a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadResult {
    /// Accepted and applied by every child.
    Ok,
    /// The new configuration had errors; the running one is unchanged.
    Failed,
    /// Refused (e.g. a net_namespace change); the running one is unchanged.
    Refused,
}

impl ReloadResult {
    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Ok => "ok",
            ReloadResult::Failed => "failed",
            ReloadResult::Refused => "refused",
        }
    }
}

/// The last reload attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReloadVerdict {
    /// When it was requested (seconds since the Unix epoch).
    pub at: f64,
    /// Outcome.
    pub result: ReloadResult,
    /// Generation after the attempt.
    pub generation: u64,
    /// One line per diagnostic (`file:line:col: error: …`).
    #[serde(default)]
    pub diagnostics: Vec<String>,
}

/// Reload attempts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadCounters {
    /// Accepted reloads.
    pub ok: u64,
    /// Reloads rejected for configuration errors.
    pub failed: u64,
    /// Reloads refused by rule.
    pub refused: u64,
}

impl ReloadCounters {
    /// Count one attempt.
    pub fn record(&mut self, r: ReloadResult) {
        match r {
            ReloadResult::Ok => self.ok += 1,
            ReloadResult::Failed => self.failed += 1,
            ReloadResult::Refused => self.refused += 1,
        }
    }
}

/// A child process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildStatus {
    /// `vrrp` or `checker`.
    pub role: String,
    /// Pid, when running.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Whether it is running and connected.
    pub running: bool,
    /// Age of the snapshot its sections come from, in milliseconds (absent:
    /// no snapshot yet).
    #[serde(default)]
    pub snapshot_age_ms: Option<u64>,
}

/// VRRP state, as keepalived names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    /// INIT.
    Init,
    /// BACKUP.
    Backup,
    /// MASTER.
    Master,
    /// FAULT.
    Fault,
    /// STOP (instance being deleted).
    Stop,
}

impl VrrpState {
    /// keepalived's numeric state (`vrrp->state`: INIT 0, BACKUP 1, MASTER 2,
    /// FAULT 3, DELETED 97, STOP 98): what `keepalived.json` and the
    /// exporters' `keepalived_vrrp_state` carry.
    pub fn number(self) -> u32 {
        match self {
            VrrpState::Init => 0,
            VrrpState::Backup => 1,
            VrrpState::Master => 2,
            VrrpState::Fault => 3,
            VrrpState::Stop => 98,
        }
    }

    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
            VrrpState::Stop => "STOP",
        }
    }
}

/// The fourteen counters of keepalived's `vrrp_stats` (names as in
/// `vrrp_json.c` and `keepalived.stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpCounters {
    /// Advertisements received.
    pub advert_rcvd: u64,
    /// Advertisements sent.
    pub advert_sent: u64,
    /// Transitions to MASTER.
    pub become_master: u64,
    /// Transitions out of MASTER.
    pub release_master: u64,
    /// Packet length errors.
    pub packet_len_err: u64,
    /// Advertisement interval mismatches.
    pub advert_interval_err: u64,
    /// TTL (IPv4) / hop limit (IPv6) not 255.
    pub ip_ttl_err: u64,
    /// Invalid VRRP type.
    pub invalid_type_rcvd: u64,
    /// Address list mismatches.
    pub addr_list_err: u64,
    /// Unknown authentication type.
    pub invalid_authtype: u64,
    /// Authentication type mismatch.
    pub authtype_mismatch: u64,
    /// Authentication failures.
    pub auth_failure: u64,
    /// Priority-0 advertisements received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 advertisements sent.
    pub pri_zero_sent: u64,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstanceStatus {
    /// `vrrp_instance` name.
    pub name: String,
    /// Current state.
    pub state: VrrpState,
    /// Configured initial state (keepalived's `wantstate`).
    pub wanted_state: VrrpState,
    /// Virtual router id.
    pub vrid: u8,
    /// Interface the instance runs on.
    pub interface: String,
    /// `inet` or `inet6`.
    pub family: String,
    /// VRRP version (2 or 3).
    pub vrrp_version: u8,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after trackers.
    pub effective_priority: u8,
    /// Address of the current master, when known (ourselves when MASTER).
    #[serde(default)]
    pub master_address: Option<String>,
    /// Priority the master advertises, when known.
    #[serde(default)]
    pub master_priority: Option<u8>,
    /// Configured advertisement interval (ms).
    pub advert_interval_ms: u64,
    /// Advertisement interval learnt from the master (ms; VRRPv3).
    pub master_advert_interval_ms: u64,
    /// Master_Down_Interval (ms; RFC 5798 §6.1: 3 × interval + skew).
    pub master_down_interval_ms: u64,
    /// Preemption enabled.
    pub preempt: bool,
    /// preempt_delay (ms).
    pub preempt_delay_ms: u64,
    /// Last state change (seconds since the Unix epoch).
    #[serde(default)]
    pub last_transition: Option<f64>,
    /// Virtual addresses in keepalived's format (`192.0.2.10/24 dev eth0 scope global`).
    #[serde(default)]
    pub vips: Vec<String>,
    /// Excluded virtual addresses, same format.
    #[serde(default)]
    pub excluded_vips: Vec<String>,
    /// Sync group, if any.
    #[serde(default)]
    pub sync_group: Option<String>,
    /// `garp_master_delay` (seconds).
    #[serde(default)]
    pub garp_delay_secs: f64,
    /// Counters.
    pub counters: VrrpCounters,
}

/// A sync group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    /// Group name.
    pub name: String,
    /// Group state.
    pub state: VrrpState,
    /// Member instances.
    pub members: Vec<String>,
}

/// A vrrp_script tracker (as the `keepalived.data` "VRRP Script" block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptStatus {
    /// Script name.
    pub name: String,
    /// `GOOD`, `BAD` or `INIT`.
    pub status: String,
    /// `idle`, `running`, `requested termination`, `forcing termination`.
    pub state: String,
}

/// A virtual server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// `192.0.2.1:80`, `[2001:db8::1]:80`, `fwmark 1` or `group NAME`.
    pub addr: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// IPVS scheduler (`lb_algo`).
    pub algo: String,
    /// Forwarding method (`NAT`, `DR`, `TUN`).
    pub forwarding: String,
    /// `quorum` (sum of alive weights needed).
    pub quorum: u64,
    /// Sum of the weights of healthy real servers.
    pub alive_weight: u64,
    /// Whether the quorum is met.
    pub quorum_up: bool,
    /// Whether the sorry server is in the table.
    #[serde(default)]
    pub sorry_server_active: bool,
    /// IPVS counters, when read.
    #[serde(default)]
    pub stats: Option<IpvsStats>,
    /// Real servers.
    #[serde(default)]
    pub real_servers: Vec<RealServerStatus>,
}

/// A real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// Address.
    pub addr: String,
    /// Port.
    pub port: u16,
    /// All checkers up (or no checker).
    pub healthy: bool,
    /// Weight in IPVS now (0 when inhibited).
    pub weight: i64,
    /// Configured weight.
    pub configured_weight: i64,
    /// Checkers.
    #[serde(default)]
    pub checkers: Vec<CheckerStatus>,
    /// IPVS counters, when read.
    #[serde(default)]
    pub stats: Option<IpvsStats>,
}

/// A health checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerStatus {
    /// `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`, `SMTP_CHECK`, `DNS_CHECK`, `UDP_CHECK`, `PING_CHECK`, `BFD_CHECK`, `FILE_CHECK`.
    pub kind: String,
    /// Current verdict.
    pub up: bool,
    /// Checks run since start.
    #[serde(default)]
    pub checks_total: u64,
    /// Failed checks since start.
    #[serde(default)]
    pub failures_total: u64,
    /// Duration of the last check (seconds).
    #[serde(default)]
    pub last_duration_secs: Option<f64>,
}

/// IPVS service / destination counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsStats {
    /// Connections.
    pub conns: u64,
    /// Packets in.
    pub inpkts: u64,
    /// Packets out.
    pub outpkts: u64,
    /// Bytes in.
    pub inbytes: u64,
    /// Bytes out.
    pub outbytes: u64,
}

/// Default histogram buckets for scheduler lateness (seconds).
pub const LATENESS_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// A cumulative histogram (Prometheus semantics: `counts[i]` is the number
/// of observations `<= bounds[i]`; `count` includes the `+Inf` bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Upper bounds, increasing.
    pub bounds: Vec<f64>,
    /// Cumulative counts per bound.
    pub counts: Vec<u64>,
    /// Sum of observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new(&LATENESS_BUCKETS)
    }
}

impl Histogram {
    /// An empty histogram with these bounds (sorted, NaN dropped).
    pub fn new(bounds: &[f64]) -> Histogram {
        let mut b: Vec<f64> = bounds.iter().copied().filter(|x| !x.is_nan()).collect();
        b.sort_by(f64::total_cmp);
        b.dedup();
        Histogram {
            counts: vec![0; b.len()],
            bounds: b,
            sum: 0.0,
            count: 0,
        }
    }

    /// Record one observation (negative and NaN values count as 0).
    pub fn observe(&mut self, v: f64) {
        let v = if v.is_nan() || v < 0.0 { 0.0 } else { v };
        for (b, c) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

/// Event-loop lateness of one process: how late timers fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerStatus {
    /// `parent`, `vrrp` or `checker`.
    pub process: String,
    /// Lateness histogram (seconds).
    pub lateness: Histogram,
}

/// What a child sends the parent (JSON through IPC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildSnapshot {
    /// VRRP instances (VRRP child).
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstanceStatus>,
    /// Sync groups (VRRP child).
    #[serde(default)]
    pub sync_groups: Vec<SyncGroupStatus>,
    /// vrrp_scripts (VRRP child).
    #[serde(default)]
    pub vrrp_scripts: Vec<ScriptStatus>,
    /// Virtual servers (checker child).
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// The child's own loop lateness.
    #[serde(default)]
    pub scheduler: Option<SchedulerStatus>,
}

impl ChildSnapshot {
    /// The JSON text a child sends (what [`crate::Hub::child_snapshot`] reads).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

impl StatusDoc {
    /// Assemble a document from the parent's part and the children's
    /// snapshots (`None`: no snapshot yet).
    pub fn assemble(
        generated_at: f64,
        daemon: DaemonStatus,
        children: Vec<ChildStatus>,
        parent_scheduler: Option<SchedulerStatus>,
        snapshots: &[&ChildSnapshot],
    ) -> StatusDoc {
        let mut doc = StatusDoc {
            version: SCHEMA_VERSION,
            generated_at,
            daemon,
            children,
            vrrp_instances: Vec::new(),
            sync_groups: Vec::new(),
            vrrp_scripts: Vec::new(),
            virtual_servers: Vec::new(),
            scheduler: parent_scheduler.into_iter().collect(),
        };
        for s in snapshots {
            doc.vrrp_instances.extend(s.vrrp_instances.iter().cloned());
            doc.sync_groups.extend(s.sync_groups.iter().cloned());
            doc.vrrp_scripts.extend(s.vrrp_scripts.iter().cloned());
            doc.virtual_servers
                .extend(s.virtual_servers.iter().cloned());
            doc.scheduler.extend(s.scheduler.iter().cloned());
        }
        doc
    }

    /// Serialize (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Only non-finite floats can fail; report instead of panicking.
            format!("{{\"version\":{SCHEMA_VERSION},\"error\":\"{e}\"}}")
        });
        s.push('\n');
        s
    }

    /// Parse a document, refusing a different major version.
    pub fn from_json(text: &str) -> Result<StatusDoc, SchemaError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(SchemaError::Json)?;
        match v.get("version").and_then(|x| x.as_u64()) {
            Some(n) if n == u64::from(SCHEMA_VERSION) => {}
            Some(n) => return Err(SchemaError::Version(n)),
            None => return Err(SchemaError::Version(0)),
        }
        serde_json::from_value(v).map_err(SchemaError::Json)
    }
}

/// Why a status document could not be read.
#[derive(Debug)]
pub enum SchemaError {
    /// Not valid JSON for the schema.
    Json(serde_json::Error),
    /// Another schema version (0: none given).
    Version(u64),
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaError::Json(e) => write!(f, "invalid status document: {e}"),
            SchemaError::Version(v) => write!(
                f,
                "status document version {v} is not supported (this client reads version {SCHEMA_VERSION})"
            ),
        }
    }
}

impl std::error::Error for SchemaError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::new(&[0.01, 0.001, 0.1]);
        assert_eq!(h.bounds, vec![0.001, 0.01, 0.1]);
        h.observe(0.0005);
        h.observe(0.005);
        h.observe(0.5);
        h.observe(f64::NAN);
        assert_eq!(h.counts, vec![2, 3, 3]);
        assert_eq!(h.count, 4);
        assert!((h.sum - 0.5055).abs() < 1e-12);
    }

    #[test]
    fn reload_counters_and_labels() {
        let mut c = ReloadCounters::default();
        c.record(ReloadResult::Ok);
        c.record(ReloadResult::Failed);
        c.record(ReloadResult::Failed);
        assert_eq!((c.ok, c.failed, c.refused), (1, 2, 0));
        assert_eq!(ReloadResult::Refused.as_str(), "refused");
        assert_eq!(
            serde_json::to_string(&ReloadResult::Failed).unwrap(),
            "\"failed\""
        );
    }

    #[test]
    fn state_numbers_are_keepalived_s() {
        assert_eq!(VrrpState::Init.number(), 0);
        assert_eq!(VrrpState::Backup.number(), 1);
        assert_eq!(VrrpState::Master.number(), 2);
        assert_eq!(VrrpState::Fault.number(), 3);
        assert_eq!(VrrpState::Stop.number(), 98);
        assert_eq!(
            serde_json::to_string(&VrrpState::Master).unwrap(),
            "\"MASTER\""
        );
    }

    #[test]
    fn other_versions_are_refused_unknown_fields_ignored() {
        let e = StatusDoc::from_json("{\"version\":2}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "status document version 2 is not supported (this client reads version 1)"
        );
        assert!(matches!(
            StatusDoc::from_json("[]"),
            Err(SchemaError::Version(0))
        ));
        let doc = StatusDoc::from_json(
            r#"{"version":1,"generated_at":1.5,"future_field":true,
                "daemon":{"pid":1,"version":"v","started_at":0,"uptime_secs":1,
                          "config_file":"/etc/keepalived/keepalived.conf","config_generation":1}}"#,
        )
        .unwrap();
        assert_eq!(doc.daemon.pid, 1);
        assert!(doc.vrrp_instances.is_empty());
        assert_eq!(doc.daemon.reloads, ReloadCounters::default());
    }
}
