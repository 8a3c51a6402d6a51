//! Instance-level checks that the replay scenarios do not cover: IPv6
//! validation, AH presence, IP total length, unicast TTL range, VRRPv3
//! checksum variants, source address, reload, and robustness on garbage.

use std::net::IpAddr;

use keepalived_vrrp::time::{Centis, Instant};
use keepalived_vrrp::wire::{self, ipv4, ChecksumMode, Family, Version, VrrpRepr};
use keepalived_vrrp::{
    Action, Auth, Input, Instance, InstanceConfig, RxError, RxPacket, State, TimerKind,
    UnicastPeer, V3Checksum,
};

fn backup(cfg: InstanceConfig) -> Instance {
    let mut vi = Instance::new(cfg);
    vi.handle(Instant::ZERO, Input::Startup);
    assert_eq!(vi.state(), State::Backup);
    vi
}

fn v4cfg() -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, Family::V4);
    c.src_addr = Some("192.0.2.2".parse().unwrap());
    c.vips = vec!["192.0.2.100".parse().unwrap()];
    c
}

fn repr(version: Version, prio: u8, vips: &[&str]) -> VrrpRepr {
    VrrpRepr {
        version,
        kind: 1,
        vrid: 51,
        priority: prio,
        adver_int: Centis(100),
        auth_type: wire::AuthType::None,
        auth_data: [0; 8],
        addresses: vips.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

fn datagram(vrrp: &[u8], src: &str, dst: &str, ttl: u8, proto: u8) -> Vec<u8> {
    let mut b = vec![0u8; 20 + vrrp.len()];
    ipv4::Ipv4Repr {
        tos: 0xc0,
        ident: 7,
        ttl,
        protocol: proto,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        payload_len: vrrp.len() as u16,
    }
    .emit(&mut b)
    .unwrap();
    b[20..].copy_from_slice(vrrp);
    b
}

fn rejected(actions: &[Action]) -> Option<RxError> {
    actions.iter().find_map(|a| {
        if let Action::Rejected(e) = a {
            Some(e.clone())
        } else {
            None
        }
    })
}

#[test]
fn ah_presence_mismatch_both_ways() {
    let mut vi = backup(v4cfg());
    let v = repr(Version::V2, 100, &["192.0.2.100"]).to_bytes(Family::V4, ChecksumMode::Plain);
    let mut d = datagram(&v, "192.0.2.1", "224.0.0.18", 255, 51);
    d.splice(20..20, [0u8; 24]);
    let a = vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)));
    assert_eq!(
        rejected(&a),
        Some(RxError::AhPresence { received_ah: true })
    );
    assert_eq!(
        rejected(&a).unwrap().log_line("VI_1").unwrap(),
        "(VI_1) Received AH header but auth type not AH"
    );
    let mut c = v4cfg();
    c.auth = Auth::Ah(*b"secret\0\0");
    let mut vi = backup(c);
    let d = datagram(&v, "192.0.2.1", "224.0.0.18", 255, 112);
    let a = vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)));
    assert_eq!(
        rejected(&a).unwrap().log_line("VI_1").unwrap(),
        "(VI_1) No AH header but auth type is AH"
    );
    assert_eq!(vi.stats().authtype_mismatch, 1);
}

#[test]
fn ip_total_length_mismatch() {
    let mut vi = backup(v4cfg());
    let v = repr(Version::V2, 100, &["192.0.2.100"]).to_bytes(Family::V4, ChecksumMode::Plain);
    let mut d = datagram(&v, "192.0.2.1", "224.0.0.18", 255, 112);
    d[3] = 41; // tot_len 41, 40 received
    let a = vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)));
    assert_eq!(
        rejected(&a).unwrap().log_line("VI_1").unwrap(),
        "(VI_1) ip_tot_len mismatch against received length. 41 and received 40"
    );
    assert_eq!(vi.stats().packet_len_err, 1);
}

#[test]
fn ipv6_hop_limit_cast_and_length() {
    let mut c = InstanceConfig::new("VI_6", 51, Family::V6);
    c.src_addr = Some("fe80::2".parse().unwrap());
    c.vips = vec!["2001:db8::1".parse().unwrap()];
    let mut vi = backup(c);
    let v = repr(Version::V3, 100, &["2001:db8::1"]).to_bytes(Family::V6, ChecksumMode::Zero);
    let src = "fe80::1".parse().unwrap();
    let rx = |payload, multicast, hop_limit| RxPacket::V6 {
        payload,
        src,
        multicast,
        hop_limit,
    };
    let a = vi.handle(
        Instant::from_micros(1),
        Input::Packet(rx(&v, true, Some(1))),
    );
    assert_eq!(rejected(&a), Some(RxError::Ttl { received: 1 }));
    let a = vi.handle(
        Instant::from_micros(2),
        Input::Packet(rx(&v, false, Some(255))),
    );
    assert_eq!(
        rejected(&a).unwrap().log_line("VI_6").unwrap(),
        "(VI_6) discarding unicast packet on multicast instance"
    );
    let a = vi.handle(
        Instant::from_micros(3),
        Input::Packet(rx(&v[..v.len() - 1], true, Some(255))),
    );
    assert!(matches!(
        rejected(&a),
        Some(RxError::Length {
            received: 23,
            expected: 24
        })
    ));
    // No hop-limit cmsg: not checked (keepalived rx_ttl_hop_limit = -1).
    let a = vi.handle(Instant::from_micros(4), Input::Packet(rx(&v, true, None)));
    assert_eq!(rejected(&a), None);
    assert_eq!(vi.stats().advert_rcvd, 1);
    assert_eq!(vi.stats().ip_ttl_err, 1);
}

#[test]
fn unicast_ttl_range() {
    let mut c = v4cfg();
    c.version = Version::V3;
    c.unicast_peers = vec![UnicastPeer {
        addr: "192.0.2.1".parse().unwrap(),
        min_ttl: 250,
        max_ttl: 255,
    }];
    c.check_unicast_src = true;
    let mut vi = backup(c);
    let v = repr(Version::V3, 100, &["192.0.2.100"]).to_bytes(
        Family::V4,
        ChecksumMode::PseudoV4 {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
        },
    );
    let d = datagram(&v, "192.0.2.1", "192.0.2.2", 64, 112);
    let a = vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)));
    assert_eq!(
        rejected(&a).unwrap().log_line("VI_1").unwrap(),
        "(VI_1) TTL/HL 64 not in range 250 - 255"
    );
    assert_eq!(vi.stats().ip_ttl_err, 1);
    assert_eq!(
        vi.stats().advert_rcvd,
        1,
        "counted before the unicast checks, as keepalived"
    );
}

#[test]
fn v3_checksum_variants() {
    let src: std::net::Ipv4Addr = "192.0.2.1".parse().unwrap();
    let group: std::net::Ipv4Addr = "224.0.0.18".parse().unwrap();
    let me: std::net::Ipv4Addr = "192.0.2.2".parse().unwrap();
    let r = repr(Version::V3, 100, &["192.0.2.100"]);
    // Old keepalived unicast: pseudo-header dst = group. We switch automatically.
    let mut c = v4cfg();
    c.version = Version::V3;
    c.unicast_peers = vec![UnicastPeer::new(IpAddr::V4(src))];
    let mut vi = backup(c.clone());
    let v = r.to_bytes(Family::V4, ChecksumMode::PseudoV4 { src, dst: group });
    let d = datagram(&v, "192.0.2.1", "192.0.2.2", 255, 112);
    let a = vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)));
    assert!(
        a.iter()
            .any(|x| x.to_string() == "log (VI_1) Setting unicast VRRPv3 checksum to old version"),
        "{a:?}"
    );
    assert_eq!(rejected(&a), None);
    // ... and from then on sends that way too.
    let out = vi.build_advert(100, IpAddr::V4(src));
    let p = wire::Packet::new_checked(&out[20..], Family::V4).unwrap();
    assert!(p.verify_checksum_v3_ipv4(me, group));
    // A plain wrong checksum is still an error.
    let mut v2 = v.clone();
    v2[6] ^= 1;
    let d = datagram(&v2, "192.0.2.1", "192.0.2.2", 255, 112);
    let a = vi.handle(Instant::from_micros(2), Input::Packet(RxPacket::V4(&d)));
    assert_eq!(rejected(&a), Some(RxError::Checksum { version: 3 }));
    // v3_checksum_as_v2: no pseudo-header either way.
    c.unicast_peers.clear();
    c.v3_checksum = V3Checksum::AsV2;
    let mut vi = backup(c);
    let v = r.to_bytes(Family::V4, ChecksumMode::Plain);
    let d = datagram(&v, "192.0.2.1", "224.0.0.18", 255, 112);
    assert_eq!(
        rejected(&vi.handle(Instant::from_micros(1), Input::Packet(RxPacket::V4(&d)))),
        None
    );
    let out = vi.build_advert(100, IpAddr::V4(group));
    assert!(wire::Packet::new_checked(&out[20..], Family::V4)
        .unwrap()
        .verify_checksum_v2(Family::V4));
}

#[test]
fn no_source_address_is_fault_until_one_appears() {
    let mut c = v4cfg();
    c.src_addr = None;
    let mut vi = Instance::new(c);
    let a = vi.handle(Instant::ZERO, Input::Startup);
    let lines: Vec<String> = a.iter().map(|x| x.to_string()).collect();
    assert_eq!(
        lines[0],
        "log (VI_1) entering FAULT state (no IPv4 address for interface)"
    );
    assert_eq!(vi.state(), State::Fault);
    let a = vi.handle(
        Instant::from_micros(5),
        Input::SourceAddress(Some("192.0.2.2".parse().unwrap())),
    );
    assert_eq!(vi.state(), State::Backup);
    assert!(a.contains(&Action::ArmTimer {
        kind: TimerKind::MasterDown,
        at: Instant::from_micros(3_609_380)
    }));
}

#[test]
fn reload_keeps_state_and_applies_priority() {
    let mut vi = backup(v4cfg());
    let mut c = vi.config().clone();
    c.priority = 50;
    let a = vi.handle(Instant::from_micros(10), Input::Reload(Box::new(c)));
    assert_eq!(vi.state(), State::Backup);
    assert_eq!(
        a[0].to_string(),
        "log (VI_1) Changing effective priority from 100 to 50"
    );
    assert_eq!(vi.effective_priority(), 50);
    // 3.609375 s shifted by skew(50) - skew(100) = 0.8046875 - 0.609375 s
    assert!(
        a.contains(&Action::ArmTimer {
            kind: TimerKind::MasterDown,
            at: Instant::from_micros(3_804_687)
        }),
        "{a:?}"
    );
}

#[test]
fn stale_and_early_timers_are_ignored() {
    let mut vi = backup(v4cfg());
    assert!(vi
        .handle(
            Instant::from_micros(1),
            Input::TimerExpired(TimerKind::MasterDown)
        )
        .is_empty());
    assert!(vi
        .handle(
            Instant::from_micros(1),
            Input::TimerExpired(TimerKind::Advert)
        )
        .is_empty());
    assert_eq!(
        vi.next_deadline(),
        Some((TimerKind::MasterDown, Instant::from_micros(3_609_375)))
    );
}

/// Mutated and random datagrams never panic, in BACKUP and MASTER, for
/// IPv4 v2 (all auth types), IPv4 v3 unicast and IPv6 v3 instances, whatever
/// family the datagram claims.
#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x1234_5678_9abc_def0;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let good4 = datagram(
        &repr(Version::V2, 100, &["192.0.2.100"]).to_bytes(Family::V4, ChecksumMode::Plain),
        "192.0.2.1",
        "224.0.0.18",
        255,
        112,
    );
    let good6 = repr(Version::V3, 100, &["2001:db8::1"]).to_bytes(Family::V6, ChecksumMode::Zero);
    let mut cfgs = Vec::new();
    for auth in [Auth::None, Auth::Pass(*b"11111111"), Auth::Ah(*b"11111111")] {
        let mut c = v4cfg();
        c.auth = auth;
        cfgs.push(c);
    }
    let mut c = v4cfg();
    c.version = Version::V3;
    c.unicast_peers = vec![UnicastPeer::new("192.0.2.1".parse().unwrap())];
    c.check_unicast_src = true;
    cfgs.push(c);
    let mut c = InstanceConfig::new("VI_6", 51, Family::V6);
    c.src_addr = Some("fe80::2".parse().unwrap());
    c.vips = vec!["2001:db8::1".parse().unwrap()];
    cfgs.push(c);
    for base in cfgs {
        for master in [false, true] {
            let mut c = base.clone();
            c.priority = if master { 255 } else { 100 };
            c.initial_state = if master {
                keepalived_vrrp::InitialState::Master
            } else {
                keepalived_vrrp::InitialState::Backup
            };
            let mut vi = Instance::new(c);
            vi.handle(Instant::ZERO, Input::Startup);
            vi.handle(
                Instant::from_micros(1),
                Input::TimerExpired(TimerKind::MasterDown),
            );
            for i in 0..10_000u64 {
                let mut d = if next() % 2 == 0 {
                    good4.clone()
                } else {
                    good6.clone()
                };
                match next() % 4 {
                    0 => {
                        let n = (next() % 5) as usize;
                        for _ in 0..=n {
                            let at = (next() as usize) % d.len();
                            d[at] = next() as u8;
                        }
                    }
                    1 => d.truncate((next() as usize) % (d.len() + 1)),
                    2 => d = (0..(next() % 80)).map(|_| next() as u8).collect(),
                    _ => d.extend((0..(next() % 40)).map(|_| next() as u8)),
                }
                let now = Instant::from_micros(2 + i);
                let _ = vi.handle(now, Input::Packet(RxPacket::V4(&d)));
                let _ = vi.handle(
                    now,
                    Input::Packet(RxPacket::V6 {
                        payload: &d,
                        src: "fe80::1".parse().unwrap(),
                        multicast: next() % 2 == 0,
                        hop_limit: Some(next() as u8),
                    }),
                );
                let _ = wire::peek(Family::V4, &d);
                let _ = wire::peek(Family::V6, &d);
                for fam in [Family::V4, Family::V6] {
                    if let Ok(p) = wire::Packet::new_checked(&d[..], fam) {
                        let _ = VrrpRepr::parse(&p, fam);
                    }
                }
            }
        }
    }
}
