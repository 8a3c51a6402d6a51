//! Per-interface IP sysctls (`/proc/sys/net/ipv4/conf/IF/KEY`,
//! `/proc/sys/net/ipv6/conf/IF/KEY`), as the VMAC set-up needs them
//! (`arp_ignore`, `arp_filter`, `accept_local`, `rp_filter`, IPv6
//! `forwarding`). The files belong to the network namespace of the calling
//! thread.

use crate::error::{Error, Result};
use crate::types::Family;

fn path(family: Family, ifname: &str, key: &str) -> Result<String> {
    let ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && !s.contains('/')
            && !s.contains('\0')
            && s.len() < 64
    };
    if !ok(ifname) {
        return Err(Error::NoSuchInterface(ifname.to_string()));
    }
    if !ok(key) {
        return Err(Error::Invalid(format!("sysctl key '{key}'")));
    }
    let v = match family {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    };
    Ok(format!("/proc/sys/net/{v}/conf/{ifname}/{key}"))
}

/// Reads `net.ipv{4,6}.conf.IFNAME.KEY` (trimmed). `ifname` may be `all`
/// or `default`.
pub fn get_if_sysctl(family: Family, ifname: &str, key: &str) -> Result<String> {
    let p = path(family, ifname, key)?;
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("read sysctl", e))
}

/// Writes `net.ipv{4,6}.conf.IFNAME.KEY` and returns the previous value, so
/// the caller can restore it at exit as keepalived does.
pub fn set_if_sysctl(family: Family, ifname: &str, key: &str, value: &str) -> Result<String> {
    let old = get_if_sysctl(family, ifname, key)?;
    let p = path(family, ifname, key)?;
    std::fs::write(&p, value).map_err(|e| Error::io("write sysctl", e))?;
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            path(Family::V4, "eth0", "arp_ignore").unwrap(),
            "/proc/sys/net/ipv4/conf/eth0/arp_ignore"
        );
        assert_eq!(
            path(Family::V6, "all", "forwarding").unwrap(),
            "/proc/sys/net/ipv6/conf/all/forwarding"
        );
        assert!(path(Family::V4, "../x", "k").is_err());
        assert!(path(Family::V4, "..", "k").is_err());
        assert!(path(Family::V4, "eth0", "../../x").is_err());
        assert!(path(Family::V4, "", "k").is_err());
    }
}
