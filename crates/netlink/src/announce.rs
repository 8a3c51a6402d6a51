//! Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisements (IPv6),
//! built as complete Ethernet frames and sent on an `AF_PACKET` socket, as
//! keepalived does (`vrrp_arp.c`, `vrrp_ndisc.c`).
//!
//! * GARP: Ethernet broadcast, ARP **request** (op 1), sender = target = VIP,
//!   sender MAC = interface MAC (or a VMAC), target MAC = broadcast
//!   (RFC 5227 §3 / keepalived). 42 bytes, unpadded.
//! * NA (RFC 4861 §4.4, §7.2.6): Ethernet dst 33:33:00:00:00:01, IPv6 src =
//!   VIP, dst ff02::1, hop limit 255, ICMPv6 type 136 code 0, Override flag,
//!   Router flag optional, Solicited clear, target = VIP, option 2 (target
//!   link-layer address) = MAC. 86 bytes.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use etherparse::{EtherType, Ethernet2Header, IpNumber, Ipv6Header};

use crate::error::{Error, Result};

/// `ETH_P_ARP`.
pub const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_IPV6`.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Ethernet broadcast.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// Ethernet address of ff02::1 (RFC 2464 §7: 33:33 + low 32 bits).
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Length of a GARP frame.
pub const GARP_LEN: usize = 42;
/// Length of an unsolicited NA frame.
pub const NA_LEN: usize = 86;

/// The gratuitous ARP frame for `vip` from `mac`.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    let eth = Ethernet2Header {
        destination: BROADCAST_MAC,
        source: mac,
        ether_type: EtherType::ARP,
    };
    f[..14].copy_from_slice(&eth.to_bytes());
    let arp = &mut f[14..];
    arp[0..2].copy_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    arp[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    arp[4] = 6; // hlen
    arp[5] = 4; // plen
    arp[6..8].copy_from_slice(&1u16.to_be_bytes()); // op request
    arp[8..14].copy_from_slice(&mac); // sender hw
    arp[14..18].copy_from_slice(&vip.octets()); // sender ip
    arp[18..24].copy_from_slice(&BROADCAST_MAC); // target hw
    arp[24..28].copy_from_slice(&vip.octets()); // target ip
    f
}

/// The unsolicited Neighbour Advertisement frame for `vip` from `mac`;
/// `router` sets the R flag (keepalived sets it when IPv6 forwarding is on).
pub fn na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_LEN] {
    // ICMPv6 body after the 4-byte type/code/checksum.
    let mut icmp = [0u8; 32];
    icmp[0] = 136; // type: Neighbor Advertisement
    icmp[1] = 0; // code
    icmp[4] = 0x20 | if router { 0x80 } else { 0 }; // O (+R), S clear
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = 2; // option: target link-layer address
    icmp[25] = 1; // length in units of 8 octets
    icmp[26..32].copy_from_slice(&mac);
    let csum = icmpv6_checksum(&vip, &ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());

    let eth = Ethernet2Header {
        destination: ALL_NODES_MAC,
        source: mac,
        ether_type: EtherType::IPV6,
    };
    let ip = Ipv6Header {
        traffic_class: 0,
        flow_label: Default::default(),
        payload_length: icmp.len() as u16,
        next_header: IpNumber::IPV6_ICMP,
        hop_limit: 255,
        source: vip.octets(),
        destination: ALL_NODES.octets(),
    };
    let mut f = [0u8; NA_LEN];
    f[..14].copy_from_slice(&eth.to_bytes());
    f[14..54].copy_from_slice(&ip.to_bytes());
    f[54..].copy_from_slice(&icmp);
    f
}

/// RFC 4443 §2.3 checksum: one's complement sum over the IPv6 pseudo-header
/// (src, dst, upper-layer length, next header 58) and the message with its
/// checksum field zero.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    let mut m = msg.to_vec();
    if m.len() >= 4 {
        m[2] = 0;
        m[3] = 0;
    }
    add(&m);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// True if IPv6 forwarding is on for `ifname`
/// (`/proc/sys/net/ipv6/conf/IF/forwarding`), i.e. NAs carry the R flag.
pub fn ipv6_forwarding(ifname: &str) -> Result<bool> {
    crate::sysctl::get_if_sysctl(crate::Family::V6, ifname, "forwarding").map(|s| s != "0")
}

/// A send-only `AF_PACKET` socket for GARPs and NAs (non-blocking; it
/// receives nothing). One per process is enough.
#[derive(Debug)]
pub struct Announcer {
    fd: OwnedFd,
}

impl Announcer {
    /// Opens the socket (needs `CAP_NET_RAW`).
    pub fn new() -> Result<Announcer> {
        let fd = sys::net::packet_socket(0).map_err(|e| Error::io("packet socket", e))?;
        Ok(Announcer { fd })
    }

    /// Sends one gratuitous ARP for `vip` on `ifindex` from `mac`.
    pub fn send_garp(&self, ifindex: u32, mac: [u8; 6], vip: Ipv4Addr) -> Result<()> {
        let f = garp_frame(mac, vip);
        sys::net::packet_send(self.fd.as_fd(), ifindex, ETH_P_ARP, BROADCAST_MAC, &f)
            .map_err(|e| Error::io("send gratuitous ARP", e))?;
        Ok(())
    }

    /// Sends one unsolicited NA for `vip` on `ifindex` from `mac`.
    pub fn send_na(&self, ifindex: u32, mac: [u8; 6], vip: Ipv6Addr, router: bool) -> Result<()> {
        let f = na_frame(mac, vip, router);
        sys::net::packet_send(self.fd.as_fd(), ifindex, ETH_P_IPV6, ALL_NODES_MAC, &f)
            .map_err(|e| Error::io("send unsolicited NA", e))?;
        Ok(())
    }
}

impl AsRawFd for Announcer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Announcer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0a, 0x01];

    /// RFC 826 layout, written out byte by byte.
    #[test]
    fn garp_bytes() {
        let f = garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 200));
        #[rustfmt::skip]
        let want: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       // dst broadcast
            0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,       // src
            0x08, 0x06,                               // ethertype ARP
            0x00, 0x01,                               // htype 1 (Ethernet)
            0x08, 0x00,                               // ptype IPv4
            6, 4,                                     // hlen, plen
            0x00, 0x01,                               // op 1 (request)
            0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,       // sender hw
            192, 0, 2, 200,                           // sender ip
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       // target hw
            192, 0, 2, 200,                           // target ip
        ];
        assert_eq!(f, want);
    }

    /// RFC 4861 §4.4 layout; checksum computed by hand below.
    #[test]
    fn na_bytes() {
        let vip: Ipv6Addr = "2001:db8::200".parse().unwrap();
        let f = na_frame(MAC, vip, false);
        #[rustfmt::skip]
        let mut want: Vec<u8> = vec![
            0x33, 0x33, 0, 0, 0, 1,                   // dst ff02::1 multicast MAC
            0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,       // src
            0x86, 0xdd,                               // ethertype IPv6
            0x60, 0, 0, 0,                            // version 6, tc 0, flow 0
            0, 32,                                    // payload length
            58,                                       // next header ICMPv6
            255,                                      // hop limit
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, // src VIP
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,          // dst ff02::1
            136, 0,                                   // type NA, code 0
            0xff, 0xff,                               // checksum placeholder
            0x20, 0, 0, 0,                            // flags: O
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, // target
            2, 1,                                     // option TLLA, len 1
            0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,       // MAC
        ];
        // Checksum by hand: 16-bit words of pseudo-header + message.
        // src 2001+0db8+0200 = 0x2fb9; dst ff02+0001 = 0xff03;
        // length 32 = 0x0020; next header 58 = 0x003a;
        // message: 8800 + 2000 + target (0x2fb9) + 0201 + 0200+0000+0a01.
        #[rustfmt::skip]
        let words: [u32; 17] = [
            0x2001, 0x0db8, 0x0200,           // src (zero words omitted)
            0xff02, 0x0001,                   // dst
            0x0020, 0x003a,                   // length, next header
            0x8800, 0x2000,                   // type/code, flags
            0x2001, 0x0db8, 0x0200,           // target
            0x0201, 0x0200, 0x0000, 0x0a01,   // option type/len, MAC
            0x0000,                           // checksum field (zero)
        ];
        let mut s: u32 = words.iter().sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        let c = !(s as u16);
        want[56] = (c >> 8) as u8;
        want[57] = c as u8;
        assert_eq!(f.to_vec(), want);
        assert_eq!(c, 0xeb2c); // also checked with a Python one-liner

        // The R flag.
        let r = na_frame(MAC, vip, true);
        assert_eq!(r[58], 0xa0);
        // The checksum ignores the field's current value.
        assert_eq!(
            icmpv6_checksum(&vip, &ALL_NODES, &r[54..]),
            u16::from_be_bytes([r[56], r[57]])
        );
    }

    #[test]
    fn forwarding_rejects_paths() {
        assert!(ipv6_forwarding("../x").is_err());
        assert!(ipv6_forwarding("").is_err());
    }
}
