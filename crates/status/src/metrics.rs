//! Prometheus text exposition (format 0.0.4) of a [`StatusDoc`].
//!
//! Names follow the exporters people run next to keepalived
//! (users-and-reliability §2.5), so dashboards keep working:
//!
//! * mehdy/keepalived-exporter (current): `keepalived_up`,
//!   `keepalived_vrrp_state{iname,intf,vrid,ip_address}` (one per VIP; one
//!   with `ip_address=""` when there is none),
//!   `keepalived_vrrp_excluded_state`, `keepalived_advertisements_received_total`
//!   … `keepalived_priority_zero_sent_total`,
//!   `keepalived_gratuitous_arp_delay_total` (`{iname,intf,vrid}`),
//!   `keepalived_script_status{name}` (BAD 0, GOOD 1),
//!   `keepalived_script_state{name}` (idle 0, running 1, …).
//! * the same exporter's older names (cafebazaar era, and the list in the
//!   issue): `keepalived_advert_rcvd` … `keepalived_pri_zero_sent`,
//!   `keepalived_garp_delay` (when [`MetricsOptions::legacy_names`]).
//! * gen2brain/keepalived_exporter IPVS families:
//!   `keepalived_lvs_vip_{in_packets,out_packets,in_bytes,out_bytes,conn}{addr,proto}`
//!   and `keepalived_lvs_rs_*{vip,addr,proto}` (when IPVS counters are known).
//! * ours: `keepalived_vrrp_{base,effective}_priority`,
//!   `keepalived_vrrp_master_down_interval_seconds`,
//!   `keepalived_vrrp_last_transition_timestamp_seconds`,
//!   `keepalived_reload_total{result}`, `keepalived_config_generation`,
//!   `keepalived_uptime_seconds`, `keepalived_child_up{role}`,
//!   `keepalived_scheduler_lateness_seconds{process}` (histogram),
//!   `keepalived_lvs_vs_quorum_up{vs,proto}`, `keepalived_lvs_vs_alive_weight`,
//!   `keepalived_lvs_rs_healthy{vs,proto,rs}`, `keepalived_lvs_rs_weight`,
//!   `keepalived_checker_up{vs,proto,rs,check}`,
//!   `keepalived_checker_checks_total`, `keepalived_checker_failures_total`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::schema::{StatusDoc, VrrpCounters, VrrpInstanceStatus};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Rendering options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Also emit the older exporter names (`keepalived_advert_rcvd`, …).
    pub legacy_names: bool,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions { legacy_names: true }
    }
}

/// Counter families per VRRP instance: (current name, legacy name, help, getter).
type CounterGetter = fn(&VrrpCounters) -> u64;
const VRRP_COUNTERS: [(&str, &str, &str, CounterGetter); 14] = [
    (
        "keepalived_advertisements_received_total",
        "keepalived_advert_rcvd",
        "Advertisements received",
        |c| c.advert_rcvd,
    ),
    (
        "keepalived_advertisements_sent_total",
        "keepalived_advert_sent",
        "Advertisements sent",
        |c| c.advert_sent,
    ),
    (
        "keepalived_become_master_total",
        "keepalived_become_master",
        "Became master",
        |c| c.become_master,
    ),
    (
        "keepalived_release_master_total",
        "keepalived_release_master",
        "Released master",
        |c| c.release_master,
    ),
    (
        "keepalived_packet_length_errors_total",
        "keepalived_packet_len_err",
        "Packet length errors",
        |c| c.packet_len_err,
    ),
    (
        "keepalived_advertisements_interval_errors_total",
        "keepalived_advert_interval_err",
        "Advertisement interval errors",
        |c| c.advert_interval_err,
    ),
    (
        "keepalived_ip_ttl_errors_total",
        "keepalived_ip_ttl_err",
        "TTL errors",
        |c| c.ip_ttl_err,
    ),
    (
        "keepalived_invalid_type_received_total",
        "keepalived_invalid_type_rcvd",
        "Invalid type errors",
        |c| c.invalid_type_rcvd,
    ),
    (
        "keepalived_address_list_errors_total",
        "keepalived_addr_list_err",
        "Address list errors",
        |c| c.addr_list_err,
    ),
    (
        "keepalived_authentication_invalid_total",
        "keepalived_invalid_authtype",
        "Authentication invalid",
        |c| c.invalid_authtype,
    ),
    (
        "keepalived_authentication_mismatch_total",
        "keepalived_authtype_mismatch",
        "Authentication mismatch",
        |c| c.authtype_mismatch,
    ),
    (
        "keepalived_authentication_failure_total",
        "keepalived_auth_failure",
        "Authentication failure",
        |c| c.auth_failure,
    ),
    (
        "keepalived_priority_zero_received_total",
        "keepalived_pri_zero_rcvd",
        "Priority zero received",
        |c| c.pri_zero_rcvd,
    ),
    (
        "keepalived_priority_zero_sent_total",
        "keepalived_pri_zero_sent",
        "Priority zero sent",
        |c| c.pri_zero_sent,
    ),
];

/// Every metric family name [`render`] can emit (documentation and tests).
pub fn family_names(opts: MetricsOptions) -> Vec<&'static str> {
    let mut v = vec![
        "keepalived_up",
        "keepalived_vrrp_state",
        "keepalived_vrrp_excluded_state",
        "keepalived_gratuitous_arp_delay_total",
        "keepalived_script_status",
        "keepalived_script_state",
        "keepalived_vrrp_base_priority",
        "keepalived_vrrp_effective_priority",
        "keepalived_vrrp_master_down_interval_seconds",
        "keepalived_vrrp_last_transition_timestamp_seconds",
        "keepalived_reload_total",
        "keepalived_config_generation",
        "keepalived_uptime_seconds",
        "keepalived_child_up",
        "keepalived_scheduler_lateness_seconds",
        "keepalived_lvs_vs_quorum_up",
        "keepalived_lvs_vs_alive_weight",
        "keepalived_lvs_rs_healthy",
        "keepalived_lvs_rs_weight",
        "keepalived_checker_up",
        "keepalived_checker_checks_total",
        "keepalived_checker_failures_total",
    ];
    v.extend(LVS_STATS.iter().map(|(vip, _, _, _)| *vip));
    v.extend(LVS_STATS.iter().map(|(_, rs, _, _)| *rs));
    v.extend(VRRP_COUNTERS.iter().map(|(n, _, _, _)| *n));
    if opts.legacy_names {
        v.extend(VRRP_COUNTERS.iter().map(|(_, l, _, _)| *l));
        v.push("keepalived_garp_delay");
    }
    v
}

type IpvsGetter = fn(&crate::schema::IpvsStats) -> u64;
const LVS_STATS: [(&str, &str, &str, IpvsGetter); 5] = [
    (
        "keepalived_lvs_vip_in_packets",
        "keepalived_lvs_rs_in_packets",
        "in packets",
        |s| s.inpkts,
    ),
    (
        "keepalived_lvs_vip_out_packets",
        "keepalived_lvs_rs_out_packets",
        "out packets",
        |s| s.outpkts,
    ),
    (
        "keepalived_lvs_vip_in_bytes",
        "keepalived_lvs_rs_in_bytes",
        "in bytes",
        |s| s.inbytes,
    ),
    (
        "keepalived_lvs_vip_out_bytes",
        "keepalived_lvs_rs_out_bytes",
        "out bytes",
        |s| s.outbytes,
    ),
    (
        "keepalived_lvs_vip_conn",
        "keepalived_lvs_rs_conn",
        "connections",
        |s| s.conns,
    ),
];

/// Escape a label value (text format: backslash, double quote, newline).
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Float formatting as the text format wants it.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Accumulates samples per family, then writes `# HELP`/`# TYPE` once per
/// family followed by its samples (the format requires families contiguous).
struct Out {
    families: BTreeMap<&'static str, (&'static str, &'static str, String)>,
    order: Vec<&'static str>,
}

impl Out {
    fn new() -> Out {
        Out {
            families: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    fn family(
        &mut self,
        name: &'static str,
        kind: &'static str,
        help: &'static str,
    ) -> &mut String {
        if !self.families.contains_key(name) {
            self.order.push(name);
        }
        &mut self
            .families
            .entry(name)
            .or_insert_with(|| (kind, help, String::new()))
            .2
    }

    fn sample(
        &mut self,
        name: &'static str,
        kind: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        v: f64,
    ) {
        let line = sample_line(name, "", labels, v);
        self.family(name, kind, help).push_str(&line);
    }

    fn finish(self) -> String {
        let mut s = String::new();
        for name in &self.order {
            let (kind, help, body) = &self.families[name];
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} {kind}");
            s.push_str(body);
        }
        s
    }
}

fn sample_line(name: &str, suffix: &str, labels: &[(&str, &str)], v: f64) -> String {
    let mut s = format!("{name}{suffix}");
    if !labels.is_empty() {
        s.push('{');
        for (k, (n, val)) in labels.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            let _ = write!(s, "{n}=\"{}\"", escape_label(val));
        }
        s.push('}');
    }
    let _ = writeln!(s, " {}", num(v));
    s
}

/// `ADDR` and `IFNAME` from a keepalived VIP string
/// (`ADDR[/P] dev IFNAME scope …`), as the exporter's `ParseVIP` reads it
/// (words 0 and 2); `None` when there are fewer than 3 words.
pub fn parse_vip(vip: &str) -> Option<(&str, &str)> {
    let w: Vec<&str> = vip.split(' ').collect();
    (w.len() >= 3).then(|| (w[0], w[2]))
}

fn script_status_number(s: &str) -> Option<f64> {
    ["BAD", "GOOD"]
        .iter()
        .position(|x| *x == s)
        .map(|p| p as f64)
}

fn script_state_number(s: &str) -> Option<f64> {
    [
        "idle",
        "running",
        "requested termination",
        "forcing termination",
    ]
    .iter()
    .position(|x| *x == s)
    .map(|p| p as f64)
}

fn vrrp_instance(out: &mut Out, i: &VrrpInstanceStatus, opts: MetricsOptions) {
    let vrid = i.vrid.to_string();
    let common = [
        ("iname", i.name.as_str()),
        ("intf", i.interface.as_str()),
        ("vrid", vrid.as_str()),
    ];
    let state = f64::from(i.state.number());
    for (vips, name, help) in [
        (&i.vips, "keepalived_vrrp_state", "State of vrrp"),
        (
            &i.excluded_vips,
            "keepalived_vrrp_excluded_state",
            "State of vrrp with excluded VIP",
        ),
    ] {
        for vip in vips {
            if let Some((addr, intf)) = parse_vip(vip) {
                out.sample(
                    name,
                    "gauge",
                    help,
                    &[
                        ("iname", &i.name),
                        ("intf", intf),
                        ("vrid", &vrid),
                        ("ip_address", addr),
                    ],
                    state,
                );
            }
        }
    }
    if i.vips.is_empty() {
        out.sample(
            "keepalived_vrrp_state",
            "gauge",
            "State of vrrp",
            &[
                ("iname", &i.name),
                ("intf", &i.interface),
                ("vrid", &vrid),
                ("ip_address", ""),
            ],
            state,
        );
    }
    for (name, legacy, help, get) in VRRP_COUNTERS {
        let v = get(&i.counters) as f64;
        out.sample(name, "counter", help, &common, v);
        if opts.legacy_names {
            out.sample(legacy, "counter", help, &common, v);
        }
    }
    out.sample(
        "keepalived_gratuitous_arp_delay_total",
        "counter",
        "Gratuitous ARP delay",
        &common,
        i.garp_delay_secs,
    );
    if opts.legacy_names {
        out.sample(
            "keepalived_garp_delay",
            "gauge",
            "Gratuitous ARP delay",
            &common,
            i.garp_delay_secs,
        );
    }
    out.sample(
        "keepalived_vrrp_base_priority",
        "gauge",
        "Configured priority",
        &common,
        f64::from(i.base_priority),
    );
    out.sample(
        "keepalived_vrrp_effective_priority",
        "gauge",
        "Priority after trackers",
        &common,
        f64::from(i.effective_priority),
    );
    out.sample(
        "keepalived_vrrp_master_down_interval_seconds",
        "gauge",
        "Master_Down_Interval (RFC 5798 section 6.1)",
        &common,
        i.master_down_interval_ms as f64 / 1000.0,
    );
    if let Some(t) = i.last_transition {
        out.sample(
            "keepalived_vrrp_last_transition_timestamp_seconds",
            "gauge",
            "Time of the last state change",
            &common,
            t,
        );
    }
}

/// Render the whole exposition.
pub fn render(doc: &StatusDoc, opts: MetricsOptions) -> String {
    let mut out = Out::new();
    out.sample("keepalived_up", "gauge", "Status", &[], 1.0);
    out.sample(
        "keepalived_uptime_seconds",
        "gauge",
        "Seconds since the daemon started",
        &[],
        doc.daemon.uptime_secs,
    );
    out.sample(
        "keepalived_config_generation",
        "gauge",
        "Configuration generation (1 at start, +1 per accepted reload)",
        &[],
        doc.daemon.config_generation as f64,
    );
    let r = doc.daemon.reloads;
    for (label, v) in [("ok", r.ok), ("failed", r.failed), ("refused", r.refused)] {
        out.sample(
            "keepalived_reload_total",
            "counter",
            "Reload attempts by result",
            &[("result", label)],
            v as f64,
        );
    }
    for c in &doc.children {
        out.sample(
            "keepalived_child_up",
            "gauge",
            "Whether the child process runs and is connected",
            &[("role", &c.role)],
            if c.running { 1.0 } else { 0.0 },
        );
    }
    for i in &doc.vrrp_instances {
        vrrp_instance(&mut out, i, opts);
    }
    for s in &doc.vrrp_scripts {
        if let Some(v) = script_status_number(&s.status) {
            out.sample(
                "keepalived_script_status",
                "gauge",
                "Tracker Script Status",
                &[("name", &s.name)],
                v,
            );
        }
        if let Some(v) = script_state_number(&s.state) {
            out.sample(
                "keepalived_script_state",
                "gauge",
                "Tracker Script State",
                &[("name", &s.name)],
                v,
            );
        }
    }
    for vs in &doc.virtual_servers {
        let vl = [("vs", vs.addr.as_str()), ("proto", vs.protocol.as_str())];
        out.sample(
            "keepalived_lvs_vs_quorum_up",
            "gauge",
            "Whether the virtual server's quorum is met",
            &vl,
            if vs.quorum_up { 1.0 } else { 0.0 },
        );
        out.sample(
            "keepalived_lvs_vs_alive_weight",
            "gauge",
            "Sum of the weights of healthy real servers",
            &vl,
            vs.alive_weight as f64,
        );
        if let Some(st) = &vs.stats {
            for (name, _, help, get) in LVS_STATS {
                out.sample(
                    name,
                    "counter",
                    help,
                    &[("addr", &vs.addr), ("proto", &vs.protocol)],
                    get(st) as f64,
                );
            }
        }
        for rs in &vs.real_servers {
            let rsaddr = if rs.addr.contains(':') {
                format!("[{}]:{}", rs.addr, rs.port)
            } else {
                format!("{}:{}", rs.addr, rs.port)
            };
            let rl = [
                ("vs", vs.addr.as_str()),
                ("proto", vs.protocol.as_str()),
                ("rs", rsaddr.as_str()),
            ];
            out.sample(
                "keepalived_lvs_rs_healthy",
                "gauge",
                "Whether every checker of the real server is up",
                &rl,
                if rs.healthy { 1.0 } else { 0.0 },
            );
            out.sample(
                "keepalived_lvs_rs_weight",
                "gauge",
                "Weight of the real server in IPVS",
                &rl,
                rs.weight as f64,
            );
            if let Some(st) = &rs.stats {
                for (_, name, help, get) in LVS_STATS {
                    out.sample(
                        name,
                        "counter",
                        help,
                        &[
                            ("vip", &vs.addr),
                            ("addr", &rsaddr),
                            ("proto", &vs.protocol),
                        ],
                        get(st) as f64,
                    );
                }
            }
            for c in &rs.checkers {
                let cl = [
                    ("vs", vs.addr.as_str()),
                    ("proto", vs.protocol.as_str()),
                    ("rs", rsaddr.as_str()),
                    ("check", c.kind.as_str()),
                ];
                out.sample(
                    "keepalived_checker_up",
                    "gauge",
                    "Checker verdict",
                    &cl,
                    if c.up { 1.0 } else { 0.0 },
                );
                out.sample(
                    "keepalived_checker_checks_total",
                    "counter",
                    "Checks run",
                    &cl,
                    c.checks_total as f64,
                );
                out.sample(
                    "keepalived_checker_failures_total",
                    "counter",
                    "Checks failed",
                    &cl,
                    c.failures_total as f64,
                );
            }
        }
    }
    for s in &doc.scheduler {
        let name = "keepalived_scheduler_lateness_seconds";
        let body = out.family(
            name,
            "histogram",
            "How late event-loop timers fired, per process",
        );
        let h = &s.lateness;
        for (b, c) in h.bounds.iter().zip(&h.counts) {
            body.push_str(&sample_line(
                name,
                "_bucket",
                &[("process", &s.process), ("le", &num(*b))],
                *c as f64,
            ));
        }
        body.push_str(&sample_line(
            name,
            "_bucket",
            &[("process", &s.process), ("le", "+Inf")],
            h.count as f64,
        ));
        body.push_str(&sample_line(
            name,
            "_sum",
            &[("process", &s.process)],
            h.sum,
        ));
        body.push_str(&sample_line(
            name,
            "_count",
            &[("process", &s.process)],
            h.count as f64,
        ));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_escaping() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn vip_words_as_the_exporter_reads_them() {
        assert_eq!(
            parse_vip("192.0.2.10/24 dev eth0 scope global"),
            Some(("192.0.2.10/24", "eth0"))
        );
        assert_eq!(parse_vip("192.0.2.10"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.0005), "0.0005");
        assert_eq!(num(f64::INFINITY), "+Inf");
    }
}
