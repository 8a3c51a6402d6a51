//! Per-instance counters, named as keepalived's `vrrp_stats`
//! (`include/vrrp.h`), and the `keepalived.stats` block format
//! (`vrrp/vrrp_print.c` `vrrp_print_stats`).

use std::fmt::Write as _;

/// Counters of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Valid adverts received (counted after the checksum/cast checks).
    pub advert_rcvd: u64,
    /// Adverts sent (once per advert, whatever the number of unicast peers).
    pub advert_sent: u32,
    /// Transitions to MASTER.
    pub become_master: u32,
    /// Transitions out of MASTER.
    pub release_master: u32,
    /// Length errors (packet length, IP total length).
    pub packet_len_err: u64,
    /// Advert-interval errors (keepalived 2.2.7 never increments it; kept
    /// for the stats file).
    pub advert_interval_err: u64,
    /// TTL/hop-limit errors.
    pub ip_ttl_err: u64,
    /// Non-advertisement types.
    pub invalid_type_rcvd: u64,
    /// Address-list errors (count, missing VIP, unicast/multicast mismatch).
    pub addr_list_err: u64,
    /// Unknown auth types.
    pub invalid_authtype: u32,
    /// Auth type different from ours (or AH presence mismatch).
    pub authtype_mismatch: u32,
    /// Wrong password / AH ICV, SPI or sequence.
    pub auth_failure: u32,
    /// Priority-0 adverts received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent (keepalived counts the one in
    /// `vrrp_restore_interface`).
    pub pri_zero_sent: u64,
    /// Version errors (SNMP `vrrpRouterVersionErrors`; not in the stats file).
    pub vers_err: u64,
    /// Checksum errors (SNMP `vrrpRouterChecksumErrors`; not in the stats file).
    pub chk_err: u64,
}

impl Stats {
    /// Appends the block keepalived writes to `keepalived.stats` on SIGUSR2
    /// for instance `name`.
    pub fn write_stats_block(&self, name: &str, out: &mut String) {
        let _ = writeln!(out, "VRRP Instance: {name}");
        let _ = writeln!(out, "  Advertisements:");
        let _ = writeln!(out, "    Received: {}", self.advert_rcvd);
        let _ = writeln!(out, "    Sent: {}", self.advert_sent);
        let _ = writeln!(out, "  Became master: {}", self.become_master);
        let _ = writeln!(out, "  Released master: {}", self.release_master);
        let _ = writeln!(out, "  Packet Errors:");
        let _ = writeln!(out, "    Length: {}", self.packet_len_err);
        let _ = writeln!(out, "    TTL: {}", self.ip_ttl_err);
        let _ = writeln!(out, "    Invalid Type: {}", self.invalid_type_rcvd);
        let _ = writeln!(
            out,
            "    Advertisement Interval: {}",
            self.advert_interval_err
        );
        let _ = writeln!(out, "    Address List: {}", self.addr_list_err);
        let _ = writeln!(out, "  Authentication Errors:");
        let _ = writeln!(out, "    Invalid Type: {}", self.invalid_authtype);
        let _ = writeln!(out, "    Type Mismatch: {}", self.authtype_mismatch);
        let _ = writeln!(out, "    Failure: {}", self.auth_failure);
        let _ = writeln!(out, "  Priority Zero:");
        let _ = writeln!(out, "    Received: {}", self.pri_zero_rcvd);
        let _ = writeln!(out, "    Sent: {}", self.pri_zero_sent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_block_format() {
        let s = Stats {
            advert_rcvd: 3,
            advert_sent: 2,
            pri_zero_sent: 1,
            ..Stats::default()
        };
        let mut out = String::new();
        s.write_stats_block("VI_1", &mut out);
        let expect = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 3\n    Sent: 2\n  Became master: 0\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    Sent: 1\n";
        assert_eq!(out, expect);
    }
}
