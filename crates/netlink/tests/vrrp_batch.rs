//! `VrrpSocket::recv_batch` (`recvmmsg`) in network namespaces (root only;
//! skipped with a message otherwise): every queued datagram comes back in
//! order with its metadata, a short batch means the queue is empty, a
//! datagram longer than its slot is marked truncated, and IPv4 TTL /
//! destination come from the IP header (the socket asks for no control
//! messages), IPv6 ones from `IPV6_PKTINFO` / `IPV6_HOPLIMIT`.
//!
//! Namespaces `ka-nlb-<pid>-<n>-{a,b}` from `common` (veth `va` 192.0.2.1,
//! `vb` 192.0.2.2), deleted by a Drop guard; the bodies run on threads that
//! `setns()` into them.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use keepalived_netlink::{Family, Received, Rtnl, VrrpSocket, VrrpSocketConfig, RX_BATCH};

mod common;
use common::{in_ns, run, spawn_in, Pair};

/// The shared pair, plus fixed link-local addresses (no DAD) for the IPv6
/// cases.
fn setup() -> Option<Pair> {
    let p = common::setup("ka-nlb")?;
    for (ns, dev, ll) in [(&p.a, "va", "fe80::a/64"), (&p.b, "vb", "fe80::b/64")] {
        run(&["ip", "-n", ns, "addr", "add", ll, "dev", dev, "nodad"]);
    }
    Some(p)
}

/// A VRRPv2 advert for VRID `vrid` with `n` addresses (8 + 4n bytes).
fn advert(vrid: u8, n: u8) -> Vec<u8> {
    let mut v = vec![0x21, vrid, 100, n, 0, 1, 0, 0];
    for k in 0..n {
        v.extend_from_slice(&[192, 0, 2, 100 + k]);
    }
    v.extend_from_slice(&[0; 8]);
    v
}

/// Lets the last datagram sent cross the veth (delivery is synchronous on
/// a veth, this is a margin).
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn ipv4_batch_returns_every_datagram_with_its_metadata() {
    let Some(p) = setup() else { return };
    // The receiver is opened first (in B), kept open while A sends.
    let (tx_ready, rx_ready) = std::sync::mpsc::channel::<()>();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let (tx_done, rx_done) = std::sync::mpsc::channel::<()>();
    let recv = spawn_in(&p.b, move || {
        let vb = Rtnl::new().unwrap().ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, vb)).unwrap();
        tx_ready.send(()).unwrap();
        rx_go.recv_timeout(Duration::from_secs(10)).unwrap();
        settle();
        let slot = 2048;
        let mut buf = vec![0u8; slot * RX_BATCH];
        let mut out: [Option<Received>; RX_BATCH] = [None; RX_BATCH];
        // 3 slots: a full batch, then the remaining 2 (short: queue empty).
        let mut got = Vec::new();
        let mut counts = Vec::new();
        loop {
            let n = s.recv_batch(&mut buf[..3 * slot], slot, &mut out).unwrap();
            counts.push(n);
            for (i, r) in out.iter().take(n).enumerate() {
                let r = r.expect("raw IPv4 datagrams have a source");
                got.push((r, buf[i * slot..i * slot + r.len].to_vec()));
            }
            if n < 3 {
                break;
            }
        }
        // Nothing left.
        assert_eq!(s.recv_batch(&mut buf, slot, &mut out).unwrap(), 0);
        tx_done.send(()).unwrap();
        // A datagram longer than its slot is reported truncated.
        rx_go.recv_timeout(Duration::from_secs(10)).unwrap();
        settle();
        let n = s.recv_batch(&mut buf, 64, &mut out).unwrap();
        let trunc = out[..n].to_vec();
        (vb, counts, got, trunc)
    });
    rx_ready.recv_timeout(Duration::from_secs(10)).unwrap();
    let sent = in_ns(&p.a, || {
        let va = Rtnl::new().unwrap().ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V4, va);
        cfg.src = Some("192.0.2.1".parse().unwrap());
        let s = VrrpSocket::open(&cfg).unwrap();
        // A second sender with unicast TTL 7: the TTL read from the header
        // must be the one on the wire, not a constant.
        cfg.unicast_ttl = 7;
        let low = VrrpSocket::open(&cfg).unwrap();
        let mut sent = Vec::new();
        for k in 0..5u8 {
            let pkt = advert(10 + k, k + 1);
            let (sock, dst, ttl) = match k {
                1 => (&s, "192.0.2.2", 255),
                3 => (&low, "192.0.2.2", 7),
                _ => (&s, "224.0.0.18", 255),
            };
            sock.send_to(&pkt, dst.parse().unwrap()).unwrap();
            sent.push((pkt, dst, ttl));
        }
        sent
    });
    tx_go.send(()).unwrap();
    // The first part is read before the long one is sent.
    rx_done.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, || {
        let va = Rtnl::new().unwrap().ifindex("va").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, va)).unwrap();
        s.send_to(&advert(99, 40), "224.0.0.18".parse().unwrap())
            .unwrap();
    });
    tx_go.send(()).unwrap();
    let (vb, counts, got, trunc) = match recv.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(counts, vec![3, 2], "full batch of 3, then a short one");
    assert_eq!(got.len(), 5, "{got:?}");
    for ((r, bytes), (pkt, dst, ttl)) in got.iter().zip(&sent) {
        assert_eq!(r.src, IpAddr::from([192, 0, 2, 1]));
        assert_eq!(r.dst, Some(dst.parse().unwrap()), "{r:?}");
        assert_eq!(r.hop_limit, Some(*ttl), "{r:?}");
        assert_eq!(r.ifindex, Some(vb));
        assert!(!r.truncated);
        assert_eq!(r.len, 20 + pkt.len());
        assert_eq!(bytes[8], *ttl, "TTL byte of the delivered header");
        assert_eq!(&bytes[20..], &pkt[..], "payload after the IP header");
    }
    assert_eq!(trunc.len(), 1, "{trunc:?}");
    let t = trunc[0].expect("source");
    assert!(t.truncated, "{t:?}");
    assert_eq!(t.len, 64);
}

#[test]
fn ipv6_batch_has_pktinfo_and_hop_limit() {
    let Some(p) = setup() else { return };
    let (tx_ready, rx_ready) = std::sync::mpsc::channel::<()>();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let recv = spawn_in(&p.b, move || {
        let vb = Rtnl::new().unwrap().ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V6, vb)).unwrap();
        tx_ready.send(()).unwrap();
        rx_go.recv_timeout(Duration::from_secs(10)).unwrap();
        let slot = 1024;
        let mut buf = vec![0u8; slot * RX_BATCH];
        let mut out: [Option<Received>; RX_BATCH] = [None; RX_BATCH];
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        while got.len() < 2 && Instant::now() < deadline {
            let n = s.recv_batch(&mut buf, slot, &mut out).unwrap();
            for (i, r) in out.iter().take(n).enumerate() {
                let r = r.expect("source");
                got.push((r, buf[i * slot..i * slot + r.len].to_vec()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (vb, got)
    });
    rx_ready.recv_timeout(Duration::from_secs(10)).unwrap();
    let pkt = [0x31u8, 51, 100, 1, 0, 100, 0, 0];
    in_ns(&p.a, move || {
        let va = Rtnl::new().unwrap().ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V6, va);
        cfg.src = Some("fe80::a".parse().unwrap());
        let s = VrrpSocket::open(&cfg).unwrap();
        s.send_to(&pkt, "ff02::12".parse().unwrap()).unwrap();
        s.send_to(&pkt, "fe80::b".parse().unwrap()).unwrap();
    });
    tx_go.send(()).unwrap();
    let (vb, got) = match recv.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(got.len(), 2, "{got:?}");
    for ((r, bytes), dst) in got.iter().zip(["ff02::12", "fe80::b"]) {
        assert_eq!(r.src, "fe80::a".parse::<IpAddr>().unwrap());
        assert_eq!(r.dst, Some(dst.parse().unwrap()));
        assert_eq!(r.hop_limit, Some(255));
        assert_eq!(r.ifindex, Some(vb));
        assert_eq!(
            bytes[..2],
            pkt[..2],
            "IPv6: the VRRP message without IP header"
        );
    }
}
