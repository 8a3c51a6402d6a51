//! Every log line the checker core emits, in one place, with keepalived
//! 2.2.7's wording (anatomy §5; `check/check_tcp.c`, `check_http.c`,
//! `check_smtp.c`, `check_dns.c`, `check_misc.c`, `check_udp.c`,
//! `check_ping.c`, `ipwrapper.c`, `check_api.c`). All are LOG_INFO upstream.

use std::fmt;

use crate::service::{RsAddr, VsName};

/// One log line (LOG_INFO, syslog ident `Keepalived_healthcheckers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine(pub String);

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! line {
    ($($t:tt)*) => { LogLine(format!($($t)*)) };
}

pub(crate) fn tcp_success(rs: &RsAddr) -> LogLine {
    line!("TCP connection to {rs} success.")
}
pub(crate) fn tcp_timeout(rs: &RsAddr) -> LogLine {
    line!("TCP connection to {rs} timeout.")
}
pub(crate) fn tcp_failed_conn(rs: &RsAddr) -> LogLine {
    line!("TCP connection to {rs} failed.")
}
pub(crate) fn udp_success(rs: &RsAddr) -> LogLine {
    line!("UDP connection to {rs} success.")
}
pub(crate) fn udp_mismatch(rs: &RsAddr) -> LogLine {
    line!("UDP check to {rs} reply data mismatch.")
}
pub(crate) fn udp_failed_conn(rs: &RsAddr) -> LogLine {
    line!("UDP connection to {rs} failed.")
}
pub(crate) fn icmp_success(rs: &RsAddr) -> LogLine {
    line!("ICMP connection to {rs} success.")
}
/// `<CHECK> on service <rs> failed[ after N retries].` for TCP_CHECK,
/// UDP_CHECK, HTTP_CHECK; PING adds ` of <vs>` in the retries form.
pub(crate) fn check_failed(name: &str, rs: &RsAddr, vs: &VsName, retries: Option<u32>) -> LogLine {
    match (name, retries) {
        ("ICMP CHECK", Some(n)) => {
            line!("ICMP CHECK on service {rs} of {vs} failed after {n} retries.")
        }
        (_, Some(n)) => line!("{name} on service {rs} failed after {n} retries."),
        (_, None) => line!("{name} on service {rs} failed."),
    }
}
pub(crate) fn http_url_success(what: &str, rs: &RsAddr, path: &str) -> LogLine {
    line!("{what} success to {rs} url({path})")
}
pub(crate) fn http_server_success(rs: &RsAddr) -> LogLine {
    line!("Remote Web server {rs} succeed on service.")
}
/// keepalived's `timeout_epilog` line: `"%s server %s."`.
pub(crate) fn http_failure_detail(msg: &str, rs: &RsAddr) -> LogLine {
    line!("{msg} server {rs}.")
}
pub(crate) fn smtp_success(rs: &RsAddr) -> LogLine {
    line!("Remote SMTP server {rs} succeed on service.")
}
pub(crate) fn smtp_failure(msg: &str) -> LogLine {
    line!("SMTP_CHECK {msg}")
}
pub(crate) fn dns_failure(rs: &RsAddr, msg: &str, retries: Option<u32>) -> LogLine {
    match retries {
        Some(n) => line!("DNS_CHECK ({rs}) {msg} after {n} retries"),
        None => line!("DNS_CHECK ({rs}) {msg}"),
    }
}
pub(crate) fn misc_result(
    rs: &RsAddr,
    vs: &VsName,
    script: &str,
    what: &str,
    extra: &str,
) -> LogLine {
    line!("Misc check for [{rs} VS {vs}] by [{script}] {what}{extra}.")
}
pub(crate) fn service_change(alive: bool, inhibit: bool, rs: &RsAddr, vs: &VsName) -> LogLine {
    let verb = match (alive, inhibit) {
        (true, true) => "Enabling",
        (true, false) => "Adding",
        (false, true) => "Disabling",
        (false, false) => "Removing",
    };
    let prep = if inhibit {
        "of"
    } else if alive {
        "to"
    } else {
        "from"
    };
    line!("{verb} service {rs} {prep} VS {vs}")
}
pub(crate) fn weight_change(old: i64, new: i64, active: bool, rs: &RsAddr, vs: &VsName) -> LogLine {
    let inact = if active { "" } else { "in" };
    line!("Changing weight from {old} to {new} for {inact}active service {rs} of VS {vs}")
}
pub(crate) fn gained_quorum(q: u32, h: u32, threshold: i64, sum: i64, vs: &VsName) -> LogLine {
    line!("Gained quorum {q}+{h}={threshold} <= {sum} for VS {vs}")
}
pub(crate) fn lost_quorum(
    init: bool,
    q: u32,
    h: u32,
    threshold: i64,
    sum: i64,
    vs: &VsName,
) -> LogLine {
    let what = if init {
        "Starting with quorum down"
    } else {
        "Lost quorum"
    };
    line!("{what} {q}-{h}={threshold} > {sum} for VS {vs}")
}
pub(crate) fn sorry_change(add: bool, inhibit: bool, rs: &RsAddr, vs: &VsName) -> LogLine {
    match (add, inhibit) {
        (true, true) => line!("Enabling sorry server {rs} to VS {vs}"),
        (true, false) => line!("Adding sorry server {rs} to VS {vs}"),
        (false, true) => line!("Disabling sorry server {rs} from VS {vs}"),
        (false, false) => line!("Removing sorry server {rs} from VS {vs}"),
    }
}
pub(crate) fn quorum_pool(add: bool, vs: &VsName) -> LogLine {
    if add {
        line!("Adding alive servers to the pool for VS {vs}")
    } else {
        line!("Removing alive servers from the pool for VS {vs}")
    }
}
/// At startup: `Activating|Deactivating healthchecker for service ...`.
pub(crate) fn checker_start(enabled: bool, rs: &RsAddr, vs: &VsName) -> LogLine {
    let a = if enabled { "A" } else { "Dea" };
    line!("{a}ctivating healthchecker for service {rs} for VS {vs}")
}
/// At runtime (ha_suspend): `Activating|Suspending healthchecker for ...`.
pub(crate) fn checker_activity(enabled: bool, rs: &RsAddr, vs: &VsName) -> LogLine {
    let a = if enabled { "Activat" } else { "Suspend" };
    line!("{a}ing healthchecker for service {rs} for VS {vs}")
}
/// Reload: a real server left the configuration.
pub(crate) fn service_gone(rs: &RsAddr) -> LogLine {
    line!("service {rs} no longer exist")
}
