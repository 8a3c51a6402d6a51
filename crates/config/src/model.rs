//! The typed configuration produced by the reader.
//!
//! Everything here is plain data: serde-serialisable so the parent can send
//! each child its part over IPC. Defaults follow keepalived 2.2.7 and are
//! already *resolved* by the loader: an instance's GARP timers carry the
//! `global_defs` value in force when the instance was read, a checker's
//! `retry`/`delay_before_retry`/`connect_timeout`/`delay_loop` carry what the
//! checker, real server or virtual server said (in that order) or the
//! checker-type default. Consumers never re-apply defaults.
//!
//! Units: every timer is a [`Micros`] (keepalived's `read_timer` resolution);
//! the VRRP advertisement interval is a [`Centis`] (VRRPv3 wire resolution).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// A duration in microseconds (keepalived reads timers with µs resolution).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub struct Micros(pub u64);

impl Micros {
    /// Zero duration.
    pub const ZERO: Micros = Micros(0);
    /// Whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Micros(s * 1_000_000)
    }
    /// As a std duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }
}

/// A duration in centiseconds (VRRPv3 advertisement interval unit, RFC 5798 §5.2.7).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub struct Centis(pub u32);

impl Centis {
    /// Whole seconds.
    pub const fn from_secs(s: u32) -> Self {
        Centis(s * 100)
    }
    /// As microseconds.
    pub const fn as_micros(self) -> Micros {
        Micros(self.0 as u64 * 10_000)
    }
    /// As a std duration.
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

/// Address family.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Family {
    /// IPv4 (`inet`).
    Inet,
    /// IPv6 (`inet6`).
    Inet6,
}

impl Family {
    /// Family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// A keyword line the reader accepted but does not model (yet): kept so that
/// nothing an operator wrote is silently lost. `args` excludes the keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RawStatement {
    /// The keyword as written.
    pub keyword: String,
    /// The words after it.
    pub args: Vec<String>,
}

/// A command to run (`notify_*`, `script`, `misc_path`, `quorum_up`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Script {
    /// Program and arguments, after keepalived's quoting rules.
    pub argv: Vec<String>,
    /// `USER` given after the command (overrides `script_user`).
    pub user: Option<String>,
    /// `GROUP` given after the user.
    pub group: Option<String>,
}

/// `script_user USER [GROUP]` and the `user` keyword of scripts/checkers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RunAs {
    /// User name.
    pub user: String,
    /// Group name, if given.
    pub group: Option<String>,
}

/// A host given as an address or as a name (`smtp_server`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum Host {
    /// Numeric address.
    Ip(IpAddr),
    /// Host name to resolve at use time (keepalived 2.2.7 wants an address; we warn).
    Name(String),
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SmtpServer {
    /// Server.
    pub host: Host,
    /// TCP port, default 25.
    pub port: u16,
}

/// `notify_fifo FILE [USER [GROUP]]` plus its `*_script`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct NotifyFifo {
    /// FIFO path.
    pub path: PathBuf,
    /// Owner for a created FIFO.
    pub owner: Option<RunAs>,
    /// Script reading the FIFO.
    pub script: Option<Script>,
}

/// `lvs_sync_daemon IFNAME [inst VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct LvsSyncDaemon {
    /// Interface for the sync multicast.
    pub interface: String,
    /// VRRP instance whose state drives master/backup.
    pub instance: Option<String>,
    /// Sync id (0..255), default 0.
    pub sync_id: u8,
    /// Max packet length.
    pub maxlen: Option<u16>,
    /// UDP port.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
    /// Multicast group.
    pub group: Option<IpAddr>,
}

/// `lvs_timeouts tcp N tcpfin N udp N` (seconds; `None` = leave the kernel value).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct LvsTimeouts {
    /// TCP established timeout.
    pub tcp: Option<Micros>,
    /// TCP FIN_WAIT timeout.
    pub tcpfin: Option<Micros>,
    /// UDP timeout.
    pub udp: Option<Micros>,
}

/// GARP / unsolicited-NA timing of one VRRP instance (`garp_*`; defaults from `global_defs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct GarpSettings {
    /// Delay before the second burst after becoming master (default 5 s).
    pub master_delay: Micros,
    /// GARPs per burst (default 5, min 1).
    pub master_repeat: u32,
    /// Periodic refresh interval while master (0 = off).
    pub master_refresh: Micros,
    /// GARPs per refresh burst (default 1).
    pub master_refresh_repeat: u32,
    /// Delay of GARPs sent on a lower-priority advert (0 = none). Unset in
    /// the configuration, an instance takes its `master_delay` (keepalived).
    pub lower_prio_delay: Micros,
    /// GARPs sent on a lower-priority advert (0 = none). Unset in the
    /// configuration, an instance takes its `master_repeat` (keepalived), so a
    /// master that wins a healed split brain re-announces its VIPs.
    pub lower_prio_repeat: u32,
    /// Minimum gap between GARPs on one interface (`vrrp_garp_interval`).
    pub interval: Micros,
    /// Minimum gap between unsolicited NAs on one interface (`vrrp_gna_interval`).
    pub gna_interval: Micros,
}

impl Default for GarpSettings {
    fn default() -> Self {
        GarpSettings {
            master_delay: Micros::from_secs(5),
            master_repeat: 5,
            master_refresh: Micros::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Micros::ZERO,
            lower_prio_repeat: 0,
            interval: Micros::ZERO,
            gna_interval: Micros::ZERO,
        }
    }
}

/// `global_defs { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct GlobalDefs {
    /// `router_id` (default: host name, resolved by the daemon).
    pub router_id: Option<String>,
    /// `notification_email { ... }` addresses.
    pub notification_email: Vec<String>,
    /// `notification_email_from` (None when absent or empty).
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Micros,
    /// `smtp_alert` (None = not set).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`.
    pub no_email_faults: bool,
    /// `startup_script`.
    pub startup_script: Option<Script>,
    /// `startup_script_timeout` (default 10 s).
    pub startup_script_timeout: Micros,
    /// `shutdown_script`.
    pub shutdown_script: Option<Script>,
    /// `shutdown_script_timeout` (default 10 s).
    pub shutdown_script_timeout: Micros,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<RunAs>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `notify_fifo` (+ `notify_fifo_script`).
    pub notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo` (+ script).
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo` (+ script).
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_priority_changes`.
    pub vrrp_notify_priority_changes: bool,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_garp_*` / `vrrp_gna_interval` defaults for instances.
    pub vrrp_garp: GarpSettings,
    /// `vrrp_down_timer_adverts` (default 3).
    pub vrrp_down_timer_adverts: u8,
    /// `vrrp_version` (default 2).
    pub vrrp_version: VrrpVersion,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_startup_delay`.
    pub vrrp_startup_delay: Micros,
    /// `vrrp_iptables [IN [OUT]]` (Some(empty) = defaults).
    pub vrrp_iptables: Option<Vec<String>>,
    /// `nftables [TABLE]` (Some(None) = default table `keepalived`).
    pub nftables: Option<Option<String>>,
    /// `vmac_prefix` (default `vrrp`).
    pub vmac_prefix: String,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `lvs_timeouts`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop` (`None` = no flush; `Some(true)` = only VS we configured).
    pub lvs_flush_on_stop: Option<bool>,
    /// `lvs_sync_daemon`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `checker_log_all_failures`.
    pub checker_log_all_failures: bool,
    /// `max_auto_priority` etc. and every other accepted-but-unmodelled keyword.
    pub other: Vec<RawStatement>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Micros::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            startup_script: None,
            startup_script_timeout: Micros::from_secs(10),
            shutdown_script: None,
            shutdown_script_timeout: Micros::from_secs(10),
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            vrrp_notify_priority_changes: false,
            dynamic_interfaces: false,
            default_interface: None,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_garp: GarpSettings::default(),
            vrrp_down_timer_adverts: 3,
            vrrp_version: VrrpVersion::V2,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_startup_delay: Micros::ZERO,
            vrrp_iptables: None,
            nftables: None,
            vmac_prefix: "vrrp".to_string(),
            v3_checksum_as_v2: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            lvs_sync_daemon: None,
            checker_log_all_failures: false,
            other: Vec::new(),
        }
    }
}

/// `vrrp_script NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VrrpScript {
    /// Name referenced by `track_script`.
    pub name: String,
    /// `script`.
    pub script: Script,
    /// `interval` (default 1 s).
    pub interval: Micros,
    /// `timeout` (None → the interval).
    pub timeout: Option<Micros>,
    /// `weight N` (−253..253, default 0 = failure means FAULT).
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<RunAs>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// `track_file NAME { ... }` (also the deprecated `vrrp_track_file`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackFile {
    /// Name referenced by `track_file` in instances and FILE_CHECK.
    pub name: String,
    /// `file PATH`.
    pub file: PathBuf,
    /// `weight N` (default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0).
    pub init_file: Option<(i64, bool)>,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackProcess {
    /// Name referenced by `track_process`.
    pub name: String,
    /// `process NAME [ARGS...]`.
    pub process: Vec<String>,
    /// `param_match exact|partial|initial`; `Exact` when parameters are
    /// given without it, `None` when only a process name is given.
    pub param_match: Option<ParamMatch>,
    /// `weight N [reverse]`.
    pub weight: i32,
    /// Reverse weight.
    pub weight_reverse: bool,
    /// `quorum` 1..65535 (default 1; 0 when `quorum_max 0`: the process
    /// must *not* run).
    pub quorum: u32,
    /// `quorum_max` 0..65535 (None = no maximum).
    pub quorum_max: Option<u32>,
    /// `delay` / `terminate_delay` / `fork_delay`.
    pub delay: Option<Micros>,
    /// `terminate_delay`.
    pub terminate_delay: Option<Micros>,
    /// `fork_delay`.
    pub fork_delay: Option<Micros>,
    /// `full_command`.
    pub full_command: bool,
}

/// How `process` parameters are compared with a running command line.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum ParamMatch {
    /// All parameters equal.
    Exact,
    /// The configured parameters are a prefix of the command line's.
    Initial,
    /// The configured parameters occur in the command line.
    Partial,
}

/// VRRP protocol version.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum VrrpVersion {
    /// RFC 3768.
    V2,
    /// RFC 5798.
    V3,
}

/// `state MASTER|BACKUP`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum InitialState {
    /// `MASTER`.
    Master,
    /// `BACKUP` (also the default when priority < 255).
    Backup,
}

/// `scope` of an address (rt_scopes).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Scope {
    /// `global` / `universe` (0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number.
    Other(u8),
}

impl Scope {
    /// Numeric value for netlink.
    pub fn value(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }
}

/// `brd ADDR|+|-`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Broadcast {
    /// An explicit address.
    Addr(Ipv4Addr),
    /// `+`: host bits set.
    Plus,
    /// `-`: host bits clear.
    Minus,
}

/// `preferred_lft N|forever`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum PreferredLft {
    /// `forever`.
    Forever,
    /// Seconds.
    Secs(u32),
}

/// One `virtual_ipaddress` / `virtual_ipaddress_excluded` / `static_ipaddress` line (anatomy §2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VirtualIp {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (IPv4 default 32, IPv6 default 128).
    pub prefix: u8,
    /// `dev IFNAME` (None = the instance's interface).
    pub dev: Option<String>,
    /// `scope` (IPv4 only).
    pub scope: Option<Scope>,
    /// `brd|broadcast` (IPv4 only).
    pub broadcast: Option<Broadcast>,
    /// `label` (IPv4 only, < 16 bytes).
    pub label: Option<String>,
    /// `peer ADDR[/PREFIX]`.
    pub peer: Option<(IpAddr, u8)>,
    /// `home` (IPv6).
    pub home: bool,
    /// `-nodad` (IPv6).
    pub nodad: bool,
    /// `mngtmpaddr` (IPv6).
    pub mngtmpaddr: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `autojoin`.
    pub autojoin: bool,
    /// `no_track`: removal by someone else does not fault the instance.
    pub no_track: bool,
    /// `preferred_lft`.
    pub preferred_lft: Option<PreferredLft>,
    /// `use_vmac`: put the address on the instance's VMAC.
    pub use_vmac: bool,
}

/// `unicast_peer { IP [min_ttl N] [max_ttl N] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// Minimum accepted TTL (default 0).
    pub min_ttl: u8,
    /// Maximum accepted TTL (default 255).
    pub max_ttl: u8,
}

/// A tracked object reference with weight: `track_interface`, `track_script`,
/// `track_file`, `track_process`, `track_bfd` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackRef {
    /// Interface / vrrp_script / track_file / process / bfd name.
    pub name: String,
    /// `weight N`; None = the tracked object's own weight (scripts/files) or 0 (interfaces).
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
}

/// `notify_*` scripts of an instance or sync group.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct NotifyScripts {
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// `notify_deleted`.
    pub deleted: Option<Script>,
    /// `notify` (called with TYPE NAME STATE PRIO).
    pub any: Option<Script>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<Script>,
}

/// `auth_type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum AuthType {
    /// Simple password (RFC 2338 type 1).
    Pass,
    /// IPsec AH (HMAC-MD5-96).
    Ah,
}

/// `authentication { auth_type ...; auth_pass ... }` (VRRPv2 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Authentication {
    /// PASS or AH.
    pub auth_type: AuthType,
    /// Password, at most 8 bytes (longer ones are truncated with a warning).
    pub auth_pass: String,
}

/// keepalived 2.4 `auth_hmac { }` (HMAC-SHA256 advert trailer,
/// draft-cassen-vrrp-auth-hmac). Defaults resolved: `mode enforce`,
/// `anti_replay time`, `time_window` = max(3 x advert_int, 5) s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct AuthHmac {
    /// `key ID VALUE` lines, in order.
    pub keys: Vec<HmacKey>,
    /// `active_key ID` (always names a key in `keys`).
    pub active_key: u8,
    /// `mode`.
    pub mode: HmacMode,
    /// `anti_replay time` (true) or `monotonic` (false).
    pub anti_replay_time: bool,
    /// `time_window` in seconds (1..300).
    pub time_window: u32,
}

/// `auth_hmac` modes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum HmacMode {
    /// Sign, and refuse adverts without a valid trailer (default).
    Enforce,
    /// Sign, accept adverts without a trailer.
    Permissive,
    /// Do not sign; verify trailers present, accept missing ones.
    ReceiveOnly,
}

/// One `key ID VALUE`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct HmacKey {
    /// 1..255.
    pub id: u8,
    /// Where the key comes from.
    pub value: HmacKeyValue,
}

/// A key's value: inline (`hex:...` decoded, or ASCII), or a file the
/// daemon reads (`file:PATH`, holding `hex:...` or ASCII; see
/// [`crate::auth::read_key_file`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum HmacKeyValue {
    /// Key octets (32..64).
    Inline(Vec<u8>),
    /// `file:PATH`.
    File(PathBuf),
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match &self.value {
            HmacKeyValue::Inline(k) => {
                write!(f, "HmacKey {{ id: {}, {} octets }}", self.id, k.len())
            }
            HmacKeyValue::File(p) => {
                write!(f, "HmacKey {{ id: {}, file: {} }}", self.id, p.display())
            }
        }
    }
}

impl std::fmt::Debug for HmacKeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HmacKeyValue::Inline(k) => write!(f, "Inline({} octets)", k.len()),
            HmacKeyValue::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Vmac {
    /// Interface name (None = `vmac_prefix`.VRID).
    pub name: Option<String>,
    /// Custom MAC address.
    pub mac: Option<[u8; 6]>,
    /// `vmac_xmit_base`.
    pub xmit_base: bool,
}

/// `vrrp_instance NAME { ... }` with keepalived's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// Wanted initial state (unset → MASTER iff priority 255).
    pub state: InitialState,
    /// `interface` (None with `vrf` or when only `default_interface` applies).
    pub interface: Option<String>,
    /// `vrf`.
    pub vrf: Option<String>,
    /// `virtual_router_id` 1..255.
    pub virtual_router_id: u8,
    /// `priority` 1..255 (default 100; MASTER without priority → 255).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Centis,
    /// `version` (default `vrrp_version`; IPv6 instances are v3).
    pub version: VrrpVersion,
    /// Family of the VIPs (IPv6 instances use ff02::12).
    pub family: Family,
    /// `mcast_src_ip` / `unicast_src_ip`.
    pub src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_peer { ... }` (non-empty ⇒ unicast).
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl` (default 255).
    pub unicast_ttl: u8,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src` (or the global default).
    pub check_unicast_src: bool,
    /// `old_unicast_checksum`.
    pub old_unicast_checksum: bool,
    /// `nopreempt` (`preempt` is a no-op kept for compatibility).
    pub nopreempt: bool,
    /// `preempt_delay` 0..1000 s.
    pub preempt_delay: Micros,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded` (configured but not advertised).
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// `no_virtual_ipaddress`.
    pub no_virtual_ipaddress: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `virtual_routes` lines (added with the VIPs on MASTER).
    pub virtual_routes: Vec<crate::routes::IpRoute>,
    /// `virtual_rules` lines.
    pub virtual_rules: Vec<crate::routes::IpRule>,
    /// `track_interface`.
    pub track_interface: Vec<TrackRef>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_script` (every name exists in `Config::vrrp_scripts`).
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `track_bfd` (parsed; BFD is not implemented).
    pub track_bfd: Vec<TrackRef>,
    /// `notify_*`.
    pub notify: NotifyScripts,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
    /// GARP timing.
    pub garp: GarpSettings,
    /// `garp_extra_if [all] SECS`.
    pub garp_extra_if: Option<(Micros, bool)>,
    /// `down_timer_adverts` 1..100 (default 3).
    pub down_timer_adverts: u8,
    /// `timer_expired_backup [PRIO]`.
    pub timer_expired_backup: Option<u8>,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `owner_ignore_adverts`.
    pub owner_ignore_adverts: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `strict_mode` (or `vrrp_strict`).
    pub strict_mode: bool,
    /// `accept` / `no_accept` (None = keepalived's default).
    pub accept: Option<bool>,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `debug` 0..4.
    pub debug: u8,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// keepalived 2.4 `auth_hmac` (replaces `authentication` when both are given).
    pub auth_hmac: Option<AuthHmac>,
    /// Accepted but unmodelled keywords.
    pub other: Vec<RawStatement>,
}

impl VrrpInstance {
    /// keepalived's effective accept mode (`vrrp/vrrp.c:3152-3168`): as
    /// configured, else on for the address owner (priority 255) and for
    /// non-strict instances; never on for a non-owner VRRPv2 strict instance.
    pub fn accept_mode(&self) -> bool {
        let owner = self.priority == 255;
        let a = self.accept.unwrap_or(owner || !self.strict_mode);
        a && !(self.strict_mode && self.version == VrrpVersion::V2 && !owner)
    }

    /// Whether the VIPs need the firewall drop (nftables `vips` set) while
    /// MASTER: not the owner and not in accept mode.
    pub fn needs_vip_firewall(&self) -> bool {
        self.priority != 255 && !self.accept_mode()
    }
}

/// `vrrp_sync_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VrrpSyncGroup {
    /// Group name.
    pub name: String,
    /// `group { VI_1 VI_2 }` (every name exists).
    pub group: Vec<String>,
    /// `track_interface`.
    pub track_interface: Vec<TrackRef>,
    /// `track_script`.
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `notify_*`.
    pub notify: NotifyScripts,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
    /// `sync_group_tracking_weight`.
    pub sync_group_tracking_weight: bool,
}

/// One entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum VsgEntry {
    /// `IP PORT`, `IP-LAST PORT`, `IP1-IP2 PORT` or `IP/PREFIX PORT` (first == last for one address).
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (inclusive).
        last: IpAddr,
        /// Port (0 = any, persistence only).
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// Firewall mark.
        mark: u32,
        /// Family, if given.
        family: Option<Family>,
    },
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VirtualServerGroup {
    /// Group name.
    pub name: String,
    /// Entries in order.
    pub entries: Vec<VsgEntry>,
}

/// What a virtual_server is keyed on.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum VsKey {
    /// `virtual_server IP PORT`.
    Addr {
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// `lb_algo` / `lvs_sched`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum LbAlgo {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (default).
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// LBLC with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Power of two choices.
    Twos,
}

impl LbAlgo {
    /// IPVS scheduler name.
    pub fn as_str(self) -> &'static str {
        match self {
            LbAlgo::Rr => "rr",
            LbAlgo::Wrr => "wrr",
            LbAlgo::Lc => "lc",
            LbAlgo::Wlc => "wlc",
            LbAlgo::Lblc => "lblc",
            LbAlgo::Lblcr => "lblcr",
            LbAlgo::Dh => "dh",
            LbAlgo::Sh => "sh",
            LbAlgo::Mh => "mh",
            LbAlgo::Sed => "sed",
            LbAlgo::Nq => "nq",
            LbAlgo::Fo => "fo",
            LbAlgo::Ovf => "ovf",
            LbAlgo::Twos => "twos",
        }
    }
}

/// IPVS tunnel encapsulation (`lb_kind TUN type ...`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum TunnelType {
    /// IP-in-IP (default).
    Ipip,
    /// GUE with a UDP port.
    Gue {
        /// UDP port.
        port: u16,
    },
    /// GRE.
    Gre,
}

/// `lb_kind` / `lvs_method`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum LbKind {
    /// Masquerading (default).
    Nat,
    /// Direct routing.
    Dr,
    /// Tunnelling.
    Tun(TunnelType),
}

/// `protocol`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP (keepalived 2.2.7's default, with a warning).
    Udp,
    /// SCTP.
    Sctp,
}

/// `persistence_granularity`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Granularity {
    /// IPv4 netmask.
    Mask(Ipv4Addr),
    /// Prefix length (IPv6).
    Prefix(u8),
}

/// `sorry_server IP PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SorryServer {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// `sorry_server_lvs_method` (None = the VS's).
    pub lb_kind: Option<LbKind>,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
}

/// `virtual_server ... { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct VirtualServer {
    /// Address/port, fwmark or group.
    pub key: VsKey,
    /// `ip_family` or derived from the address.
    pub family: Option<Family>,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Micros,
    /// `lb_algo` (default wlc, with a warning).
    pub lb_algo: LbAlgo,
    /// `lb_kind` (default NAT, with a warning).
    pub lb_kind: LbKind,
    /// `protocol` (default UDP, with a warning, as 2.2.7).
    pub protocol: Protocol,
    /// `hashed`.
    pub hashed: bool,
    /// `ops` (one-packet scheduling, UDP).
    pub ops: bool,
    /// `flag-1`/`sh-fallback`/`mh-fallback`.
    pub sched_flag_1: bool,
    /// `flag-2`/`sh-port`/`mh-port`.
    pub sched_flag_2: bool,
    /// `flag-3`.
    pub sched_flag_3: bool,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `persistence_timeout` (bare keyword → 360 s).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<Granularity>,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost` (HTTP Host default).
    pub virtualhost: Option<String>,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<Script>,
    /// `quorum_down`.
    pub quorum_down: Option<Script>,
    /// `weight` (default weight of real servers that give none).
    pub weight: Option<u32>,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `inhibit_on_failure` (default for real servers).
    pub inhibit_on_failure: bool,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
    /// Accepted but unmodelled keywords.
    pub other: Vec<RawStatement>,
}

/// `real_server IP PORT { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// `weight` (default 1, or the VS's `weight`).
    pub weight: u32,
    /// `lvs_method` override (None = the VS's).
    pub lb_kind: Option<LbKind>,
    /// `uthreshold`.
    pub uthreshold: Option<u32>,
    /// `lthreshold`.
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure` (resolved with the VS's).
    pub inhibit_on_failure: bool,
    /// `notify_up`.
    pub notify_up: Option<Script>,
    /// `notify_down`.
    pub notify_down: Option<Script>,
    /// `alpha` (resolved with the VS's).
    pub alpha: bool,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// Health checkers; an RS is alive only when all are up.
    pub checkers: Vec<Checker>,
}

/// Settings every checker has (values resolved: checker → real_server → virtual_server → default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct CheckerCommon {
    /// `connect_ip` (default the RS address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default the RS port).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` on the check socket.
    pub fwmark: Option<u32>,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Micros,
    /// `retry` (default 1; DNS 3; MISC 0).
    pub retry: u32,
    /// `delay_before_retry` (default 1 s; HTTP/SSL 3 s; DNS delay_loop).
    pub delay_before_retry: Micros,
    /// `warmup` (default = delay_loop).
    pub warmup: Micros,
    /// `delay_loop` (default the VS's).
    pub delay_loop: Micros,
    /// `alpha`: start down.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

/// `http_protocol`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum HttpProtocol {
    /// HTTP/1.0 without `Connection: close` (default).
    Http10,
    /// HTTP/1.0 with `Connection: close` (`1.0C`).
    Http10Close,
    /// HTTP/1.1 (sends `Connection: close`).
    Http11,
}

/// `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct HttpUrl {
    /// `path`.
    pub path: String,
    /// `digest` (MD5 of the body).
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges, inclusive (empty = 200-299).
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `regex`.
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
}

/// HTTP_GET / SSL_GET settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct HttpCheck {
    /// `url` blocks; all must pass.
    pub urls: Vec<HttpUrl>,
    /// `virtualhost` (resolved with the RS's and VS's).
    pub virtualhost: Option<String>,
    /// `http_protocol`.
    pub http_protocol: HttpProtocol,
    /// `enable_sni` (SSL).
    pub enable_sni: bool,
    /// `sni_name`.
    pub sni_name: Option<String>,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `tls_compliant`.
    pub tls_compliant: bool,
}

/// MISC_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct MiscCheck {
    /// `misc_path`.
    pub script: Script,
    /// `misc_timeout` (None = delay_loop).
    pub timeout: Option<Micros>,
    /// `misc_dynamic`: exit 2..255 sets weight exit−2.
    pub dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<RunAs>,
}

/// SMTP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SmtpCheck {
    /// `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: String,
}

/// DNS query type of DNS_CHECK.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (default).
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
    /// RRSIG.
    Rrsig,
    /// DNSKEY.
    Dnskey,
}

/// DNS_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct DnsCheck {
    /// `type` (default SOA).
    pub qtype: DnsType,
    /// `name` (default "" = root).
    pub name: String,
}

/// UDP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct UdpCheck {
    /// `payload HEX`.
    pub payload: Vec<u8>,
    /// `require_reply [HEX]` (Some(empty) = any reply).
    pub require_reply: Option<Vec<u8>>,
    /// `min_reply_length`.
    pub min_reply_length: Option<u32>,
    /// `max_reply_length`.
    pub max_reply_length: Option<u32>,
}

/// FILE_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct FileCheck {
    /// `track_file NAME` (exists in `Config::track_files`).
    pub track_file: String,
    /// `weight N` (None = the track_file's).
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
}

/// The kind of a checker and its specific settings. The settings are boxed:
/// a TCP_CHECK (the common case, 20,000 of them in a large configuration)
/// costs 16 bytes here instead of the largest variant's 144.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum CheckerKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET`.
    Http(Box<HttpCheck>),
    /// `SSL_GET`.
    Ssl(Box<HttpCheck>),
    /// `MISC_CHECK`.
    Misc(Box<MiscCheck>),
    /// `SMTP_CHECK`.
    Smtp(Box<SmtpCheck>),
    /// `DNS_CHECK`.
    Dns(Box<DnsCheck>),
    /// `PING_CHECK`.
    Ping,
    /// `UDP_CHECK`.
    Udp(Box<UdpCheck>),
    /// `FILE_CHECK`.
    File(Box<FileCheck>),
}

/// One checker block inside a `real_server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Checker {
    /// Common settings.
    pub common: CheckerCommon,
    /// Kind-specific settings.
    pub kind: CheckerKind,
}

/// The whole typed configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// Root-level `child_wait_time` (default 5 s): grace time for children at shutdown.
    pub child_wait_time: Micros,
    /// Root-level `net_namespace`.
    pub net_namespace: Option<String>,
    /// Root-level `instance` name.
    pub instance: Option<String>,
    /// `vrrp_script` blocks in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file` / `vrrp_track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `static_ipaddress`.
    pub static_ipaddress: Vec<VirtualIp>,
    /// `static_routes` lines.
    pub static_routes: Vec<crate::routes::IpRoute>,
    /// `static_rules` lines.
    pub static_rules: Vec<crate::routes::IpRule>,
    /// `vrrp_instance` blocks in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks.
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    /// `virtual_server_group` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks in file order.
    pub virtual_servers: Vec<VirtualServer>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            global: GlobalDefs::default(),
            child_wait_time: Micros::from_secs(5),
            net_namespace: None,
            instance: None,
            vrrp_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            static_ipaddress: Vec::new(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
            vrrp_instances: Vec::new(),
            vrrp_sync_groups: Vec::new(),
            virtual_server_groups: Vec::new(),
            virtual_servers: Vec::new(),
        }
    }
}

/// Where the configuration names a network interface (for `-t`'s
/// "WARNING - interface %s for %s doesn't exist", which needs the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct InterfaceRef {
    /// Interface name as written.
    pub name: String,
    /// What uses it, in keepalived's words: `vrrp_instance VI_1`,
    /// `ip address 192.0.2.1/24`, `track_interface of VI_1`, `lvs_sync_daemon`, ...
    pub used_by: String,
    /// File it is named in.
    pub file: std::path::PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the name.
    pub col: u32,
}

impl InterfaceRef {
    /// keepalived's warning for a missing interface, located here.
    pub fn missing(&self) -> crate::Diagnostic {
        crate::Diagnostic {
            severity: crate::Severity::Warning,
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: format!(
                "WARNING - interface {} for {} doesn't exist",
                self.name, self.used_by
            ),
        }
    }
}

/// The encoding the parent ships configurations in: bincode 2, standard
/// configuration, through the model's own `Encode`/`Decode` derives.
///
/// The three functions are not generic (and not inlined) so that the
/// encoder and decoder are compiled here, with this crate's optimisation
/// settings, not in the crate that calls them (a generic bincode call in
/// `ipc` built at `opt-level = "s"` decoded 20,000 real servers in 10–13
/// ms instead of 6.7–7.5).
impl Config {
    /// Encode into `out`; the number of bytes written
    /// (`EncodeError::UnexpectedEnd` when `out` is too small).
    #[inline(never)]
    pub fn encode_into_slice(&self, out: &mut [u8]) -> Result<usize, bincode::error::EncodeError> {
        bincode::encode_into_slice(self, out, bincode::config::standard())
    }

    /// Encode into a new vector.
    #[inline(never)]
    pub fn encode_to_vec(&self) -> Result<Vec<u8>, bincode::error::EncodeError> {
        bincode::encode_to_vec(self, bincode::config::standard())
    }

    /// Decode from the start of `bytes`; the configuration and the number
    /// of bytes it used.
    #[inline(never)]
    pub fn decode_from_slice(bytes: &[u8]) -> Result<(Config, usize), bincode::error::DecodeError> {
        bincode::decode_from_slice(bytes, bincode::config::standard())
    }
}

impl Config {
    /// True when a VRRP child has work (any vrrp_instance).
    pub fn has_vrrp(&self) -> bool {
        !self.vrrp_instances.is_empty()
    }
    /// True when a checker child has work (any virtual_server).
    pub fn has_checker(&self) -> bool {
        !self.virtual_servers.is_empty()
    }
    /// The `vrrp_script` with this name.
    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }
    /// The `vrrp_instance` with this name.
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|s| s.name == name)
    }
    /// The `virtual_server_group` with this name.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|s| s.name == name)
    }
    /// The `track_file` with this name.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|s| s.name == name)
    }
}
