//! Replies as the kernel (6.1) sends them, from literal bytes, decoded; and
//! malformed replies rejected without panicking.
#![cfg(target_endian = "little")]

use std::net::{IpAddr, Ipv4Addr};

use keepalived_ipvs::msg;
use keepalived_ipvs::wire::{messages, Reply};
use keepalived_ipvs::*;

fn hex(s: &str) -> Vec<u8> {
    s.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

// One GET_SERVICE dump datagram: a TCP service with 64-bit stats, then NLMSG_DONE.
const SERVICE_DUMP: &str = "
    b4 00 00 00 25 00 02 00 05 00 00 00 39 30 00 00   # len 180, MULTI, seq 5, pid 12345
    04 01 00 00                                       # GET_SERVICE v1
    a0 00 01 00                                       # SERVICE, len 160
    06 00 01 00 02 00 00 00                           # AF_INET
    06 00 02 00 06 00 00 00                           # TCP
    14 00 03 00 c0 00 02 01 00 00 00 00 00 00 00 00 00 00 00 00   # 192.0.2.1
    06 00 04 00 1f 90 00 00                           # 8080
    08 00 06 00 77 72 72 00                           # wrr
    0c 00 07 00 03 00 00 00 ff ff ff ff               # PERSISTENT|HASHED
    08 00 08 00 2c 01 00 00                           # timeout 300
    08 00 09 00 ff ff ff 00                           # 255.255.255.0
    4c 00 0c 00                                       # STATS64, len 76
    0c 00 01 00 07 00 00 00 00 00 00 00               # conns 7
    0c 00 02 00 64 00 00 00 00 00 00 00               # inpkts 100
    0c 00 03 00 00 00 00 00 00 00 00 00               # outpkts 0
    0c 00 04 00 00 00 00 00 01 00 00 00               # inbytes 2^32
    0c 00 05 00 00 00 00 00 00 00 00 00
    0c 00 06 00 02 00 00 00 00 00 00 00               # cps 2
    14 00 00 00 03 00 02 00 05 00 00 00 39 30 00 00  00 00 00 00   # NLMSG_DONE
";

#[test]
fn decode_service_dump() {
    let buf = hex(SERVICE_DUMP);
    let msgs: Vec<_> = messages(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].seq, 5);
    let Reply::Data { cmd, attrs } = msgs[0].reply().unwrap() else {
        panic!("not data")
    };
    assert_eq!(cmd, 4);
    let s = msg::parse_service_reply(attrs).unwrap();
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            port: 8080
        }
    );
    assert_eq!(s.scheduler, Scheduler::Wrr);
    assert_eq!(s.flags.0, 3);
    assert_eq!(s.flags.configured(), ServiceFlags::PERSISTENT);
    assert_eq!(s.timeout, 300);
    assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
    let st = s.stats.unwrap();
    assert_eq!(
        (st.conns, st.inpkts, st.inbytes, st.cps),
        (7, 100, 1 << 32, 2)
    );
    assert_eq!(msgs[1].reply().unwrap(), Reply::Done);
}

#[test]
fn decode_ipv6_service_netmask_is_prefix_after_family() {
    // Attributes deliberately out of order: NETMASK and ADDR before AF.
    let area = hex("
        08 00 09 00 30 00 00 00                           # prefix 48
        14 00 03 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
        06 00 01 00 0a 00 00 00                           # AF_INET6
        06 00 02 00 84 00 00 00                           # SCTP
        06 00 04 00 00 50 00 00
        07 00 06 00 73 68 00 00
        0c 00 07 00 0a 00 00 00 ff ff ff ff               # HASHED|SCHED1
        08 00 08 00 00 00 00 00
    ");
    let s = msg::decode_service(&area).unwrap();
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: "2001:db8::1".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(s.netmask, Netmask::V6(48));
    assert_eq!(s.flags.configured(), ServiceFlags::SH_FALLBACK);
    assert_eq!(s.stats, None);
}

#[test]
fn decode_fwmark_service() {
    let area = hex("
        06 00 01 00 02 00 00 00
        08 00 05 00 07 00 00 00
        07 00 06 00 73 68 00 00
        0c 00 07 00 02 00 00 00 ff ff ff ff
        08 00 08 00 00 00 00 00
        08 00 09 00 ff ff ff ff
    ");
    let s = msg::decode_service(&area).unwrap();
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 7
        }
    );
}

#[test]
fn decode_dest_dump_entry_with_tunnel_and_counters() {
    let attrs = hex("
        98 00 02 00                                       # DEST nest, len 152
        14 00 01 00 c6 33 64 15 00 00 00 00 00 00 00 00 00 00 00 00   # 198.51.100.21
        06 00 02 00 00 50 00 00                           # 80
        08 00 03 00 02 00 00 00                           # TUNNEL
        08 00 04 00 05 00 00 00                           # weight 5
        05 00 0d 00 02 00 00 00                           # GRE
        06 00 0e 00 00 00 00 00
        06 00 0f 00 02 00 00 00                           # REMCSUM
        08 00 05 00 00 00 00 00
        08 00 06 00 00 00 00 00
        08 00 07 00 03 00 00 00                           # active 3
        08 00 08 00 04 00 00 00                           # inactive 4
        08 00 09 00 01 00 00 00                           # persist 1
        06 00 0b 00 02 00 00 00                           # ADDR_FAMILY
        20 00 0a 00                                       # STATS (32-bit set), len 32
        08 00 01 00 09 00 00 00                           # conns 9
        0c 00 04 00 10 00 00 00 00 00 00 00               # inbytes 16 (u64 in both sets)
        08 00 02 00 02 00 00 00                           # inpkts 2
    ");
    let d = msg::parse_dest_reply(&attrs, Family::Inet).unwrap();
    assert_eq!(
        d.key,
        DestKey {
            addr: "198.51.100.21".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(
        d.forward,
        Forward::Tunnel(Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            flags: 2
        })
    );
    assert_eq!(d.weight, 5);
    let st = d.stats.unwrap();
    assert_eq!(
        (st.active_conns, st.inact_conns, st.persist_conns),
        (3, 4, 1)
    );
    assert_eq!(
        (st.stats.conns, st.stats.inbytes, st.stats.inpkts),
        (9, 16, 2)
    );
}

#[test]
fn decode_dest_without_addr_family_uses_service_family() {
    let area = hex("
        14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
        06 00 02 00 01 bb 00 00
        08 00 03 00 03 00 00 00                           # DROUTE
        08 00 04 00 01 00 00 00
    ");
    let d = msg::decode_dest(&area, Family::Inet6).unwrap();
    assert_eq!(d.key.addr, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(d.key.port, 443);
    assert_eq!(d.forward, Forward::Route);
}

#[test]
fn decode_info_timeouts_family_and_errors() {
    let info = msg::parse_info(&hex("08 00 01 00 01 02 01 00  08 00 02 00 00 10 00 00")).unwrap();
    assert_eq!(info.version, 0x010201);
    assert_eq!(info.to_string(), "1.2.1 (size=4096)");
    let t = msg::parse_timeouts(&hex(
        "08 00 04 00 84 03 00 00 08 00 05 00 78 00 00 00 08 00 06 00 2c 01 00 00",
    ))
    .unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 120, 300));
    assert_eq!(
        msg::parse_family_id(&hex(
            "06 00 01 00 25 00 00 00  09 00 02 00 49 50 56 53 00 00 00 00"
        ))
        .unwrap(),
        0x25
    );
    // NLMSG_ERROR -ENOENT (-2 = fe ff ff ff) followed by the original header.
    let err = hex("24 00 00 00 02 00 00 01 09 00 00 00 00 00 00 00  fe ff ff ff  1c 00 00 00 10 00 05 00 09 00 00 00 00 00 00 00");
    let m = messages(&err).next().unwrap().unwrap();
    assert_eq!(m.reply().unwrap(), Reply::Error(2));
    let e = IpvsError::NotAvailable { errno: 2 };
    assert_eq!(
        e.to_string(),
        "IPVS not available in this kernel (No such file or directory)"
    );
    assert_eq!(
        e.keepalived_log_line(),
        "IPVS: Can't initialize ipvs: No such file or directory"
    );
}

#[test]
fn malformed_replies_are_errors() {
    // AF missing.
    assert!(msg::decode_service(&hex("08 00 05 00 07 00 00 00")).is_err());
    // Unknown family.
    assert!(msg::decode_service(&hex("06 00 01 00 07 00 00 00 08 00 05 00 07 00 00 00")).is_err());
    // IPv6 address attribute too short.
    assert!(msg::decode_dest(
        &hex("08 00 01 00 20 01 0d b8 06 00 02 00 00 50 00 00"),
        Family::Inet6
    )
    .is_err());
    // Port with the wrong length.
    assert!(msg::decode_dest(
        &hex("14 00 01 00 0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 08 00 02 00 00 50 00 00"),
        Family::Inet
    )
    .is_err());
    // Every truncation of a real dump decodes to a value or an error, never a panic.
    let buf = hex(SERVICE_DUMP);
    for n in 0..buf.len() {
        for m in messages(&buf[..n]).flatten() {
            if let Ok(Reply::Data { attrs, .. }) = m.reply() {
                let _ = msg::parse_service_reply(attrs);
            }
        }
        let _ = msg::decode_service(&buf[20..n.max(20)]);
        let _ = msg::decode_dest(&buf[20..n.max(20)], Family::Inet6);
    }
}

#[test]
fn decode_sync_daemon() {
    let attrs = hex("
        40 00 03 00                                       # DAEMON nest, len 64
        08 00 01 00 02 00 00 00                           # backup
        0a 00 02 00 76 65 74 68 30 00 00 00               # \"veth0\"
        08 00 03 00 33 00 00 00                           # syncid 51
        06 00 04 00 c8 05 00 00                           # maxlen 1480
        08 00 05 00 e0 00 00 51                           # 224.0.0.81
        06 00 07 00 90 22 00 00                           # port 8848 (host order)
        05 00 08 00 01 00 00 00                           # ttl 1
    ");
    let d = msg::parse_daemon_reply(&attrs).unwrap();
    assert_eq!(d.state, SyncState::Backup);
    assert_eq!(d.mcast_ifn, "veth0");
    assert_eq!(
        (d.sync_id, d.sync_maxlen, d.mcast_port, d.mcast_ttl),
        (51, 1480, 8848, 1)
    );
    assert_eq!(d.mcast_group, Some("224.0.0.81".parse().unwrap()));
}
