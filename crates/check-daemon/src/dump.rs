//! `SIGUSR1` data dump of the checker (`/tmp/keepalived_check.data`),
//! laid out like keepalived 2.2.7's `dump_check_data`: one block per virtual
//! server with its settings, then each real server with its weight, state
//! and checkers, then the IPVS table as programmed.

use std::fmt::Write as _;

use crate::CheckRuntime;

/// keepalived's checker data file name.
pub const DATA_FILE: &str = "keepalived_check.data";

/// Where dumps go: `$TMPDIR` when it is an absolute existing directory,
/// else `/tmp` (as keepalived and our VRRP child).
pub fn data_path() -> std::path::PathBuf {
    let dir = match std::env::var_os("TMPDIR").map(std::path::PathBuf::from) {
        Some(d) if d.is_absolute() && d.is_dir() => d,
        _ => std::path::PathBuf::from("/tmp"),
    };
    dir.join(DATA_FILE)
}

/// The dump text.
pub fn data_text(rt: &CheckRuntime) -> String {
    let mut out = String::new();
    let (Some(mapped), Some(engine)) = (rt.mapped(), rt.engine()) else {
        out.push_str("------< Health checkers >------\n (not configured)\n");
        return out;
    };
    let _ = writeln!(out, "------< Health checkers >------");
    let _ = writeln!(out, " Virtual servers = {}", mapped.plans.len());
    for (vi, plan) in mapped.plans.iter().enumerate() {
        let Some(vs) = engine.vs_config(vi) else {
            continue;
        };
        let _ = writeln!(out, " VS = {}", plan.name);
        let _ = writeln!(
            out,
            "   delay_loop = {}, lb_algo = {}",
            plan.delay_loop.as_secs(),
            plan.lb_algo
        );
        let _ = writeln!(out, "   lb_kind = {}", plan.lb_kind);
        let _ = writeln!(
            out,
            "   quorum = {}, hysteresis = {}, quorum state = {}",
            vs.quorum,
            vs.hysteresis,
            if engine.quorum_up(vi) { "UP" } else { "DOWN" }
        );
        if let Some(s) = &vs.sorry_server {
            let _ = writeln!(
                out,
                "   sorry server = [{}]:{}{}",
                s.addr.ip(),
                s.addr.port(),
                if s.inhibit { " (inhibit)" } else { "" }
            );
        }
        let table = engine.desired_table(vi);
        for ri in 0..engine.rs_len(vi) {
            let Some(rs) = engine.rs_config(vi, ri) else {
                continue;
            };
            let name = check::RsAddr {
                addr: rs.addr,
                proto: vs.proto,
            };
            let alive = engine.rs_alive(vi, ri);
            let d = table.get(ri);
            let _ = writeln!(out, "   RS = {name}");
            let _ = writeln!(
                out,
                "     weight = {}, effective weight = {}, alive = {}, in IPVS = {}",
                rs.weight,
                d.map(|d| d.weight).unwrap_or(0),
                if alive { "yes" } else { "no" },
                if d.is_some_and(|d| d.present) {
                    "yes"
                } else {
                    "no"
                }
            );
            if rs.inhibit_on_failure {
                let _ = writeln!(out, "     inhibit_on_failure");
            }
            for ci in 0..engine.checker_len(vi, ri) {
                let id = check::CheckerId {
                    vs: vi,
                    rs: ri,
                    checker: ci,
                };
                let Some(checker) = engine.checker(id) else {
                    continue;
                };
                let up = checker.is_up();
                let c = checker.config();
                let kind = match &c.kind {
                    check::CheckKind::Tcp => "TCP_CHECK",
                    check::CheckKind::Http { ssl: true, .. } => "SSL_GET",
                    check::CheckKind::Http { .. } => "HTTP_GET",
                    check::CheckKind::Misc { .. } => "MISC_CHECK",
                    check::CheckKind::Smtp { .. } => "SMTP_CHECK",
                    check::CheckKind::Dns => "DNS_CHECK",
                    check::CheckKind::Ping => "PING_CHECK",
                    check::CheckKind::Udp => "UDP_CHECK",
                    check::CheckKind::File { .. } => "FILE_CHECK",
                };
                let target = plan
                    .real_servers
                    .get(ri)
                    .and_then(|r| r.probes.get(ci))
                    .map(|p| format!("[{}]:{}", p.target.ip(), p.target.port()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "     Checker = {kind} {target}, state = {}, connect_timeout = {} ms, retry = {}, delay_before_retry = {} ms, delay_loop = {} ms",
                    if up { "UP" } else { "DOWN" },
                    c.connect_timeout.as_millis(),
                    c.retry,
                    c.delay_before_retry.as_millis(),
                    c.delay_loop.as_millis()
                );
            }
        }
    }
    let _ = writeln!(out, "------< IPVS Topology >------");
    let mut table = rt.table();
    ipvs::ipvsadm::sort_like_ipvsadm(&mut table);
    out.push_str(&ipvs::ipvsadm::save(&table));
    let _ = writeln!(out, " IPVS operations applied = {}", rt.ipvs_ops());
    out
}

/// The checker's part of the status document (`status::schema::ChildSnapshot`
/// as JSON), answered to the parent's `ToChild::Status`.
pub fn status_json(rt: &CheckRuntime) -> String {
    use status::schema::{CheckerStatus, ChildSnapshot, RealServerStatus, VirtualServerStatus};
    let mut snap = ChildSnapshot::default();
    let (Some(mapped), Some(engine)) = (rt.mapped(), rt.engine()) else {
        return snap.to_json();
    };
    for (vi, plan) in mapped.plans.iter().enumerate() {
        let Some(vs) = engine.vs_config(vi) else {
            continue;
        };
        let table = engine.desired_table(vi);
        let mut alive_weight = 0u64;
        let mut real_servers = Vec::new();
        for ri in 0..engine.rs_len(vi) {
            let Some(rs) = engine.rs_config(vi, ri) else {
                continue;
            };
            let alive = engine.rs_alive(vi, ri);
            if alive {
                alive_weight += u64::from(rs.weight);
            }
            let d = table.get(ri);
            let checkers = (0..engine.checker_len(vi, ri))
                .filter_map(|ci| {
                    engine
                        .checker(check::CheckerId {
                            vs: vi,
                            rs: ri,
                            checker: ci,
                        })
                        .map(|c| (c.config().kind.clone(), c.is_up()))
                })
                .map(|(kind, up)| CheckerStatus {
                    kind: match &kind {
                        check::CheckKind::Tcp => "TCP_CHECK",
                        check::CheckKind::Http { ssl: true, .. } => "SSL_GET",
                        check::CheckKind::Http { .. } => "HTTP_GET",
                        check::CheckKind::Misc { .. } => "MISC_CHECK",
                        check::CheckKind::Smtp { .. } => "SMTP_CHECK",
                        check::CheckKind::Dns => "DNS_CHECK",
                        check::CheckKind::Ping => "PING_CHECK",
                        check::CheckKind::Udp => "UDP_CHECK",
                        check::CheckKind::File { .. } => "FILE_CHECK",
                    }
                    .into(),
                    up,
                    checks_total: 0,
                    failures_total: 0,
                    last_duration_secs: None,
                })
                .collect();
            real_servers.push(RealServerStatus {
                addr: rs.addr.ip().to_string(),
                port: rs.addr.port(),
                healthy: alive,
                weight: d
                    .filter(|d| d.present)
                    .map(|d| i64::from(d.weight))
                    .unwrap_or(0),
                configured_weight: i64::from(rs.weight),
                checkers,
                stats: None,
            });
        }
        snap.virtual_servers.push(VirtualServerStatus {
            addr: match &plan.name {
                check::VsName::Addr(a) => a.addr.to_string(),
                check::VsName::Fwmark(m) => format!("fwmark {m}"),
                check::VsName::Group { name, .. } => format!("group {name}"),
            },
            protocol: vs.proto.as_str().to_uppercase(),
            algo: plan.lb_algo.to_string(),
            forwarding: plan.lb_kind.clone(),
            quorum: u64::from(vs.quorum),
            alive_weight,
            quorum_up: engine.quorum_up(vi),
            sorry_server_active: table.iter().any(|d| d.sorry && d.present && d.weight > 0),
            stats: None,
            real_servers,
        });
    }
    snap.to_json()
}
