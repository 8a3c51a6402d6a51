//! VRRP receive path: arbitrary bytes through the wire decoders (IPv4
//! header, AH, VRRP v2/v3 over IPv4 and IPv6) and through
//! `Instance::handle(Input::Packet)` of a configured instance, in BACKUP
//! and in MASTER state, so that the whole of keepalived's receive
//! validation (`vrrp_check_packet` order) runs. Must never panic.
//!
//! Input layout: byte 0 selects the instance configuration (low 3 bits,
//! see `config`) and the IPv6 ancillary data (bit 3: multicast
//! destination, bit 4: hop limit present, bits 5-7 pick the hop limit);
//! the rest is the datagram (IPv4: whole IP datagram; IPv6: VRRP message).
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vrrp::time::{Centis, Instant};
use vrrp::wire::{self, ah, ipv4, Family, Packet, Version, VrrpRepr};
use vrrp::{Auth, Input, Instance, InstanceConfig, RxPacket, TimerKind, UnicastPeer};

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

/// The configurations of the captured vectors
/// (crates/vrrp/tests/vectors/keepalived-2.2.7-adverts.txt), seen from the
/// receiving peer 192.0.2.2 / fe80::2.
fn config(sel: u8) -> InstanceConfig {
    match sel % 6 {
        0 => {
            let mut c = InstanceConfig::new("VI_1", 51, Family::V4);
            c.vips = vec![v4("192.0.2.100")];
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        1 => {
            let mut c = InstanceConfig::new("VI_2", 52, Family::V4);
            c.vips = vec![v4("192.0.2.101"), v4("192.0.2.102")];
            c.auth = Auth::Pass(wire::vrrp::pass_auth_data(b"123456789012"));
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        2 => {
            let mut c = InstanceConfig::new("VI_3", 53, Family::V4);
            c.vips = vec![v4("192.0.2.103")];
            c.auth = Auth::Ah(wire::vrrp::pass_auth_data(b"secret"));
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        3 => {
            let mut c = InstanceConfig::new("VI_4", 54, Family::V4);
            c.version = Version::V3;
            c.adver_int = Centis(50);
            c.vips = vec![v4("192.0.2.104")];
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        4 => {
            let mut c = InstanceConfig::new("VI_6", 56, Family::V4);
            c.version = Version::V3;
            c.vips = vec![v4("192.0.2.106")];
            c.src_addr = Some(v4("192.0.2.2"));
            let mut peer = UnicastPeer::new(v4("192.0.2.1"));
            peer.min_ttl = 0;
            peer.max_ttl = 255;
            c.unicast_peers = vec![peer];
            c.check_unicast_src = true;
            c
        }
        _ => {
            let mut c = InstanceConfig::new("VI_5", 55, Family::V6);
            c.vips = vec![
                IpAddr::V6("fe80::55".parse().unwrap()),
                IpAddr::V6("2001:db8::55".parse().unwrap()),
            ];
            c.src_addr = Some(IpAddr::V6("fe80::2".parse().unwrap()));
            c
        }
    }
}

/// Pure decoders: every accessor after a successful `new_checked`.
fn decode(data: &[u8]) {
    for family in [Family::V4, Family::V6] {
        if let Ok(p) = wire::peek(family, data) {
            let _ = p.vrid;
            let vrrp = &data[p.vrrp_offset..];
            if let Ok(pkt) = Packet::new_checked(vrrp, family) {
                let _ = pkt.checksum();
                let _ = pkt.auth_data(family);
                let _ = pkt.verify_checksum_v2(family);
                let _ = pkt.addresses(family).count();
                if family == Family::V4 {
                    let _ = pkt.verify_checksum_v3_ipv4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
                }
                if let Ok(r) = VrrpRepr::parse(&pkt, family) {
                    let _ = r.buffer_len(family);
                }
            }
        } else if let Err(e) = wire::peek(family, data) {
            let _ = e.log_line();
        }
    }
    if let Ok(ip) = ipv4::Ipv4Packet::new_checked(data) {
        let _ = (ip.header_len(), ip.total_len(), ip.ttl(), ip.src(), ip.dst());
        let payload = ip.payload();
        if let Ok(a) = ah::AhPacket::new_checked(payload) {
            let _ = (a.next_header(), a.spi(), a.seq(), a.icv().len());
        }
    }
}

fn packet(family: Family, flags: u8, data: &[u8]) -> RxPacket<'_> {
    match family {
        Family::V4 => RxPacket::V4(data),
        Family::V6 => RxPacket::V6 {
            payload: data,
            src: "fe80::64e1:28ff:fe69:9793".parse::<Ipv6Addr>().unwrap(),
            multicast: flags & 0x08 != 0,
            hop_limit: (flags & 0x10 != 0).then(|| [255, 254, 1, 0, 64, 128, 255, 2][usize::from(flags >> 5)]),
        },
    }
}

fn exercise(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    decode(rest);

    let cfg = config(flags & 0x07);
    let family = cfg.family;

    // BACKUP: the advert may make it adopt a master, or preempt.
    let mut vi = Instance::new(cfg.clone());
    vi.handle(Instant::ZERO, Input::Startup);
    let t = Instant::from_micros(10_000);
    let actions = vi.handle(t, Input::Packet(packet(family, flags, rest)));
    for a in &actions {
        if let vrrp::Action::Rejected(e) = a {
            let _ = e.log_line(vi.name());
            let _ = e.log_level();
        }
    }
    // The same datagram twice (AH sequence numbers, master tracking).
    vi.handle(t.add_micros(1), Input::Packet(packet(family, flags, rest)));

    // MASTER: a lower/higher/equal priority advert or a priority-0 stop.
    let mut vi = Instance::new(cfg);
    vi.handle(Instant::ZERO, Input::Startup);
    if let Some((TimerKind::MasterDown, at)) = vi.next_deadline() {
        vi.handle(at, Input::TimerExpired(TimerKind::MasterDown));
    }
    let now = vi
        .next_deadline()
        .map(|(_, at)| at)
        .unwrap_or(Instant::from_micros(10_000_000));
    vi.handle(now, Input::Packet(packet(family, flags, rest)));
    let _ = vi.stats();
}

fuzz_target!(|data: &[u8]| exercise(data));
