//! The dump layouts that existing tools parse.
//!
//! * `keepalived.json` (SIGRTMIN+2): a JSON array with one object per VRRP
//!   instance, `{"data": {...}, "stats": {...}}`, field names and order as
//!   keepalived 2.2.7 `vrrp/vrrp_json.c` writes them (mehdy/keepalived-exporter
//!   `--ka.json` and gen2brain/keepalived_exporter decode exactly these names;
//!   `vips` entries are `ADDR[/PREFIX] dev IFNAME scope SCOPE[ label L]`,
//!   the exporter splits on spaces and takes words 0 and 2).
//!   Arrays that are empty are omitted, as upstream.
//! * `keepalived.stats` (SIGUSR2): one block per instance, as 2.2.7
//!   `vrrp/vrrp_print.c`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::schema::{VrrpCounters, VrrpInstanceStatus};

/// The `data` object of one `keepalived.json` entry (2.2.7 order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonData {
    /// Instance name.
    pub iname: String,
    /// `dont_track_primary` flag (0/1).
    pub dont_track_primary: u32,
    /// `skip_check_adv_addr` flag (0/1).
    pub skip_check_adv_addr: u32,
    /// `vrrp_strict` (0/1).
    pub strict_mode: u32,
    /// VMAC interface name ("" without VMAC).
    pub vmac_ifname: String,
    /// Interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifp_ifname: Option<String>,
    /// Priority of the current master (0 unknown).
    pub master_priority: u32,
    /// Last transition, seconds since the epoch.
    pub last_transition: f64,
    /// `garp_master_delay`, seconds.
    #[serde(serialize_with = "g_float")]
    pub garp_delay: f64,
    /// `garp_master_refresh`, seconds.
    pub garp_refresh: u64,
    /// `garp_master_repeat`.
    pub garp_rep: u32,
    /// `garp_master_refresh_repeat`.
    pub garp_refresh_rep: u32,
    /// `garp_lower_prio_delay`, seconds.
    pub garp_lower_prio_delay: u64,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_rep: u32,
    /// `lower_prio_no_advert` (0/1).
    pub lower_prio_no_advert: u32,
    /// `higher_prio_send_advert` (0/1).
    pub higher_prio_send_advert: u32,
    /// VRID.
    pub vrid: u32,
    /// Configured priority.
    pub base_priority: u32,
    /// Effective priority.
    pub effective_priority: u32,
    /// Whether the VIPs are set.
    pub vipset: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// Advertisement interval, seconds.
    #[serde(serialize_with = "g_float")]
    pub adver_int: f64,
    /// Master's advertisement interval, seconds.
    #[serde(serialize_with = "g_float")]
    pub master_adver_int: f64,
    /// `accept` (0/1).
    pub accept: u32,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay`, seconds.
    pub preempt_delay: u64,
    /// State number (INIT 0, BACKUP 1, MASTER 2, FAULT 3).
    pub state: u32,
    /// Configured initial state number.
    pub wantstate: u32,
    /// VRRP version.
    pub version: u32,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_deleted`.
    pub notify_deleted: bool,
    /// Virtual addresses (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<String>,
    /// Excluded virtual addresses (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evips: Vec<String>,
    /// Tracked interfaces (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_ifp: Vec<String>,
    /// Tracked scripts' command lines (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<String>,
    /// Authentication type (0 none, 1 PASS, 2 AH).
    pub auth_type: u32,
}

/// One `keepalived.json` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonEntry {
    /// Instance data.
    pub data: JsonData,
    /// Counters (same names as [`VrrpCounters`]).
    pub stats: VrrpCounters,
}

/// Extra 2.2.7 fields that [`VrrpInstanceStatus`] does not carry; defaults
/// are keepalived's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonExtras {
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `vrrp_strict`.
    pub strict_mode: bool,
    /// VMAC interface name.
    pub vmac_ifname: String,
    /// `garp_master_refresh` (s).
    pub garp_refresh: u64,
    /// `garp_master_repeat`.
    pub garp_rep: u32,
    /// `garp_master_refresh_repeat`.
    pub garp_refresh_rep: u32,
    /// `garp_lower_prio_delay` (s).
    pub garp_lower_prio_delay: u64,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_rep: u32,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// Whether VIPs are currently installed.
    pub vipset: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `accept`.
    pub accept: bool,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_deleted`.
    pub notify_deleted: bool,
    /// `track_interface` names.
    pub track_ifp: Vec<String>,
    /// `track_script` command lines.
    pub track_script: Vec<String>,
    /// Authentication type.
    pub auth_type: u32,
}

impl Default for JsonExtras {
    fn default() -> Self {
        JsonExtras {
            dont_track_primary: false,
            skip_check_adv_addr: false,
            strict_mode: false,
            vmac_ifname: String::new(),
            garp_refresh: 0,
            garp_rep: 5,
            garp_refresh_rep: 1,
            garp_lower_prio_delay: 5,
            garp_lower_prio_rep: 5,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            vipset: false,
            promote_secondaries: false,
            accept: true,
            smtp_alert: false,
            notify_deleted: false,
            track_ifp: Vec::new(),
            track_script: Vec::new(),
            auth_type: 0,
        }
    }
}

impl JsonExtras {
    /// The extras of instance `vi` as keepalived 2.2.7 resolves them from
    /// the configuration (`vipset` is runtime: set it when the VIPs are
    /// installed). Unset `garp_lower_prio_*` (both 0) take the master
    /// values, as 2.2.7 (its JSON shows 5 / 5 by default).
    pub fn from_config(cfg: &config::Config, vi: &config::VrrpInstance) -> JsonExtras {
        let g = &vi.garp;
        let secs = |m: config::Micros| m.0 / 1_000_000;
        let (lp_delay, lp_rep) = if g.lower_prio_delay.0 == 0 && g.lower_prio_repeat == 0 {
            (secs(g.master_delay), g.master_repeat)
        } else {
            (secs(g.lower_prio_delay), g.lower_prio_repeat)
        };
        let gd = &cfg.global;
        JsonExtras {
            dont_track_primary: vi.dont_track_primary,
            skip_check_adv_addr: vi.skip_check_adv_addr,
            strict_mode: vi.strict_mode,
            vmac_ifname: vi
                .use_vmac
                .as_ref()
                .map(|v| {
                    v.name
                        .clone()
                        .unwrap_or_else(|| format!("vrrp.{}", vi.virtual_router_id))
                })
                .unwrap_or_default(),
            garp_refresh: secs(g.master_refresh),
            garp_rep: g.master_repeat,
            garp_refresh_rep: g.master_refresh_repeat,
            garp_lower_prio_delay: lp_delay,
            garp_lower_prio_rep: lp_rep,
            lower_prio_no_advert: vi.lower_prio_no_advert,
            higher_prio_send_advert: vi.higher_prio_send_advert,
            vipset: false,
            promote_secondaries: vi.promote_secondaries,
            accept: vi.accept_mode(),
            smtp_alert: vi
                .smtp_alert
                .or(gd.smtp_alert_vrrp)
                .or(gd.smtp_alert)
                .unwrap_or(false),
            notify_deleted: false,
            track_ifp: vi.track_interface.iter().map(|t| t.name.clone()).collect(),
            track_script: vi
                .track_script
                .iter()
                .map(|t| {
                    cfg.vrrp_scripts
                        .iter()
                        .find(|s| s.name == t.name)
                        .map(|s| s.script.argv.join(" "))
                        .unwrap_or_else(|| t.name.clone())
                })
                .collect(),
            auth_type: match vi.authentication.as_ref().map(|a| a.auth_type) {
                None => 0,
                Some(config::AuthType::Pass) => 1,
                Some(config::AuthType::Ah) => 2,
            },
        }
    }
}

impl JsonEntry {
    /// Build an entry from our status of an instance plus the extras.
    pub fn from_status(i: &VrrpInstanceStatus, x: &JsonExtras) -> JsonEntry {
        let b = u32::from;
        JsonEntry {
            data: JsonData {
                iname: i.name.clone(),
                dont_track_primary: b(x.dont_track_primary),
                skip_check_adv_addr: b(x.skip_check_adv_addr),
                strict_mode: b(x.strict_mode),
                vmac_ifname: x.vmac_ifname.clone(),
                ifp_ifname: Some(i.interface.clone()),
                master_priority: i.master_priority.map(u32::from).unwrap_or(0),
                last_transition: i.last_transition.unwrap_or(0.0),
                garp_delay: i.garp_delay_secs,
                garp_refresh: x.garp_refresh,
                garp_rep: x.garp_rep,
                garp_refresh_rep: x.garp_refresh_rep,
                garp_lower_prio_delay: x.garp_lower_prio_delay,
                garp_lower_prio_rep: x.garp_lower_prio_rep,
                lower_prio_no_advert: b(x.lower_prio_no_advert),
                higher_prio_send_advert: b(x.higher_prio_send_advert),
                vrid: u32::from(i.vrid),
                base_priority: u32::from(i.base_priority),
                effective_priority: u32::from(i.effective_priority),
                vipset: x.vipset,
                promote_secondaries: x.promote_secondaries,
                adver_int: i.advert_interval_ms as f64 / 1000.0,
                master_adver_int: i.master_advert_interval_ms as f64 / 1000.0,
                accept: b(x.accept),
                nopreempt: !i.preempt,
                preempt_delay: i.preempt_delay_ms / 1000,
                state: i.state.number(),
                wantstate: i.wanted_state.number(),
                version: u32::from(i.vrrp_version),
                smtp_alert: x.smtp_alert,
                notify_deleted: x.notify_deleted,
                vips: i.vips.clone(),
                evips: i.excluded_vips.clone(),
                track_ifp: x.track_ifp.clone(),
                track_script: x.track_script.clone(),
                auth_type: x.auth_type,
            },
            stats: i.counters,
        }
    }
}

/// keepalived's json writer prints these with `%g`: `1`, `5`, `0.5`. An
/// integral value must not become `1.0`: keepalived-exporter decodes
/// `garp_delay` into a Go `int`, which refuses `5.0`.
fn g_float<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// `keepalived.json` content (compact, as upstream's json writer).
pub fn render_json(entries: &[JsonEntry]) -> String {
    serde_json::to_string(entries).unwrap_or_else(|_| "[]".to_string())
}

/// A virtual address in keepalived 2.2.7's `format_ipaddress` layout:
/// `ADDR[/PREFIX][ brd B] dev IFNAME scope SCOPE[ label L]` then `extra`
/// words, each after a space (the prefix is omitted for /32 and /128).
/// 2.2.7's words, in its order: `peer P/N`, `home`, `-nodad`,
/// `mngtmpaddr`, `noprefixroute`, `autojoin`, `no_track`,
/// `track_group G`, for IPv6 `preferred_lft forever` (the default) /
/// `deprecated` / `preferred_lft N`, and `set` while the address is
/// installed (observed: `192.0.2.100/24 dev eth0 scope global set` on a
/// MASTER).
pub fn format_vip(
    addr: std::net::IpAddr,
    prefix_len: u8,
    broadcast: Option<std::net::Ipv4Addr>,
    dev: &str,
    scope: &str,
    label: Option<&str>,
    extra: &[&str],
) -> String {
    let full = if addr.is_ipv4() { 32 } else { 128 };
    let mut s = addr.to_string();
    if prefix_len != full {
        let _ = write!(s, "/{prefix_len}");
    }
    if let (Some(b), true) = (broadcast, addr.is_ipv4()) {
        if !b.is_unspecified() {
            let _ = write!(s, " brd {b}");
        }
    }
    let _ = write!(s, " dev {dev} scope {scope}");
    if let Some(l) = label {
        let _ = write!(s, " label {l}");
    }
    for w in extra {
        let _ = write!(s, " {w}");
    }
    s
}

/// One `keepalived.stats` block, as keepalived 2.2.7 `vrrp_print_stats`.
pub fn write_stats_block(name: &str, c: &VrrpCounters, out: &mut String) {
    let _ = write!(
        out,
        "VRRP Instance: {name}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
         Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
         TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  \
         Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  \
         Priority Zero:\n    Received: {}\n    Sent: {}\n",
        c.advert_rcvd,
        c.advert_sent,
        c.become_master,
        c.release_master,
        c.packet_len_err,
        c.ip_ttl_err,
        c.invalid_type_rcvd,
        c.advert_interval_err,
        c.addr_list_err,
        c.invalid_authtype,
        c.authtype_mismatch,
        c.auth_failure,
        c.pri_zero_rcvd,
        c.pri_zero_sent,
    );
}

/// The whole `keepalived.stats` content.
pub fn render_stats(instances: &[VrrpInstanceStatus]) -> String {
    let mut out = String::new();
    for i in instances {
        write_stats_block(&i.name, &i.counters, &mut out);
    }
    out
}
