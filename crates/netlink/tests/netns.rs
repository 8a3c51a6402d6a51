//! Namespace tests (root only; skipped with a message otherwise).
//!
//! Each test creates two network namespaces `ka-nl-<pid>-<n>-{a,b}` joined
//! by a veth pair (`va` in A, `vb` in B; 192.0.2.1/24 and 192.0.2.2/24),
//! runs its body on threads that `setns()` into A or B (the network
//! namespace is per thread; the test process's other threads stay in the
//! root namespace), and deletes the namespaces in a Drop guard.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keepalived_netlink::{
    garp_frame, get_if_sysctl, na_frame, set_if_sysctl, AddOutcome, AddrChange, AddrFlags,
    Announcer, Applied, DelOutcome, Error, Event, EventSocket, Family, IfAddr, MacvlanMode, Route,
    Rtnl, Rule, Scope, VrrpSocket, VrrpSocketConfig, ETH_P_ARP, ETH_P_IPV6,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

mod common;
use common::{in_ns, run, spawn_in, Pair};

const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0b, 0x01];

fn setup() -> Option<Pair> {
    common::setup("ka-nl")
}

/// Waits until `fd` is readable or `ms` elapse.
fn wait_readable(fd: &impl AsFd, ms: u16) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

fn ip_addr_show(ns: &str, dev: &str) -> String {
    run(&["ip", "-n", ns, "-o", "addr", "show", "dev", dev])
}

#[test]
fn links_and_addresses() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    let index = in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let va = rt.link_by_name("va").unwrap();
        assert_eq!(va.mac, Some(MAC_A));
        assert_eq!(va.mtu, Some(1500));
        assert!(va.is_admin_up());
        assert_eq!(va.hw_type, 1);
        assert_eq!(rt.ifindex("va").unwrap(), va.index);
        assert_eq!(rt.ifname(va.index).unwrap(), "va");
        assert_eq!(rt.link_by_index(va.index).unwrap(), va);
        assert!(matches!(
            rt.link_by_name("nosuch0"),
            Err(Error::NoSuchInterface(_))
        ));
        assert!(matches!(
            rt.link_by_index(9999),
            Err(Error::NoSuchInterface(_))
        ));
        let names: Vec<String> = rt.links().unwrap().into_iter().map(|l| l.name).collect();
        assert!(names.contains(&"lo".to_string()) && names.contains(&"va".to_string()));
        va.index
    });

    // `192.0.2.10/24 brd 192.0.2.255 dev va scope global label va:1`
    let mut v1 = IfAddr::new(index, "192.0.2.10".parse().unwrap(), 24);
    v1.broadcast = v1.computed_broadcast();
    v1.label = Some("va:1".into());
    v1.protocol = Some(18);
    // `192.0.2.11/32 dev va scope host`
    let mut v2 = IfAddr::new(index, "192.0.2.11".parse().unwrap(), 32);
    v2.scope = Scope::Host;
    // `192.0.2.12/32 dev va scope 42`
    let mut v3 = IfAddr::new(index, "192.0.2.12".parse().unwrap(), 32);
    v3.scope = Scope::Other(42);
    // `2001:db8::10/64 dev va -nodad noprefixroute`
    let mut v6 = IfAddr::new(index, "2001:db8::10".parse().unwrap(), 64);
    v6.flags = AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE;
    // `2001:db8::11/128 dev va home -nodad` (preferred_lft 0, as keepalived
    // does for /128). The scope asked for is ignored by the kernel for IPv6
    // (it follows the address type), which is why keepalived rejects
    // `scope` on IPv6 lines.
    let mut v7 = IfAddr::new(index, "2001:db8::11".parse().unwrap(), 128);
    v7.flags = AddrFlags::NODAD | AddrFlags::HOMEADDRESS;
    v7.scope = Scope::Link;
    v7.preferred_lft = Some(0);
    // `192.0.2.20 peer 192.0.2.21/32 dev va`
    let mut v8 = IfAddr::new(index, "192.0.2.20".parse().unwrap(), 32);
    v8.peer = Some("192.0.2.21".parse().unwrap());
    let all = vec![
        v1.clone(),
        v2.clone(),
        v3.clone(),
        v6.clone(),
        v7.clone(),
        v8.clone(),
    ];

    let all2 = all.clone();
    let listed = in_ns(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        for a in &all2 {
            assert_eq!(rt.add_address(a).unwrap(), AddOutcome::Added, "{a}");
        }
        for a in &all2 {
            assert_eq!(
                rt.add_address(a).unwrap(),
                AddOutcome::AlreadyPresent,
                "{a}"
            );
        }
        rt.addresses(None, Some(all2[0].ifindex)).unwrap()
    });
    let out = ip_addr_show(&ns, "va");
    eprintln!("{out}");
    assert!(out.contains("inet 192.0.2.10/24 brd 192.0.2.255 scope global secondary va:1"));
    assert!(out.contains("inet 192.0.2.11/32 scope host va"));
    assert!(out.contains("inet 192.0.2.12/32 scope 42 va"));
    assert!(out.contains("inet6 2001:db8::10/64 scope global nodad noprefixroute"));
    assert!(out.contains("inet6 2001:db8::11/128 scope global nodad home deprecated"));
    assert!(out.contains("preferred_lft 0sec"));
    assert!(out.contains("inet 192.0.2.20 peer 192.0.2.21/32 scope global va"));

    // Our own dump agrees.
    let find = |a: &IfAddr| {
        listed
            .iter()
            .find(|l| l.addr == a.addr)
            .unwrap_or_else(|| panic!("{a} not listed"))
            .clone()
    };
    let l1 = find(&v1);
    assert_eq!(
        (l1.prefix_len, l1.broadcast, l1.scope, l1.label.as_deref()),
        (
            24,
            Some(Ipv4Addr::new(192, 0, 2, 255)),
            Scope::Global,
            Some("va:1")
        )
    );
    assert!(l1
        .flags
        .contains(AddrFlags::SECONDARY | AddrFlags::PERMANENT));
    assert_eq!(find(&v2).scope, Scope::Host);
    assert_eq!(find(&v8).peer, v8.peer);
    assert_eq!(find(&v3).scope, Scope::Other(42));
    let l6 = find(&v6);
    assert!(l6
        .flags
        .contains(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE));
    assert_eq!(l6.prefix_len, 64);
    let l7 = find(&v7);
    assert_eq!(l7.scope, Scope::Global);
    assert_eq!(l7.preferred_lft, Some(0));
    assert!(l7
        .flags
        .contains(AddrFlags::HOMEADDRESS | AddrFlags::DEPRECATED));

    // Family filter.
    let v4only = in_ns(&p.a, || {
        Rtnl::new()
            .unwrap()
            .addresses(Some(Family::V4), None)
            .unwrap()
    });
    assert!(v4only.iter().all(|a| a.family() == Family::V4));
    assert!(v4only
        .iter()
        .any(|a| a.addr == IpAddr::from([127, 0, 0, 1])));

    // Delete: Deleted then NotPresent.
    let all3 = all.clone();
    in_ns(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        for a in &all3 {
            assert_eq!(rt.del_address(a).unwrap(), DelOutcome::Deleted, "{a}");
        }
        for a in &all3 {
            assert_eq!(rt.del_address(a).unwrap(), DelOutcome::NotPresent, "{a}");
        }
    });
    let out = ip_addr_show(&ns, "va");
    for a in &all {
        assert!(
            !out.contains(&format!(" {}/", a.addr)),
            "{a} still there: {out}"
        );
    }
    assert!(out.contains("inet 192.0.2.1/24"));
}

#[test]
fn address_batch_of_200() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    let (first, second, del, bad) = in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let index = rt.ifindex("va").unwrap();
        // 200 addresses (more than three datagrams of 64), one of them
        // already present, plus an invalid one (label on IPv6: refused
        // before sending) and one on a missing interface (kernel error).
        let mut addrs: Vec<IfAddr> = (1..=200u32)
            .map(|k| {
                let ip = Ipv4Addr::new(198, 51, 100 + (k / 200) as u8, (k % 200) as u8 + 1);
                IfAddr::new(index, IpAddr::V4(ip), 32)
            })
            .collect();
        assert_eq!(rt.add_address(&addrs[100]).unwrap(), AddOutcome::Added);
        let mut v6 = IfAddr::new(index, "2001:db8::77".parse().unwrap(), 64);
        v6.label = Some("va:1".into());
        addrs.push(v6);
        addrs.push(IfAddr::new(9999, "203.0.113.9".parse().unwrap(), 32));
        let adds: Vec<(AddrChange, &IfAddr)> = addrs.iter().map(|a| (AddrChange::Add, a)).collect();
        let first = rt.address_batch(&adds).unwrap();
        // Every change is applied when the batch returns.
        let present = rt.addresses(Some(Family::V4), Some(index)).unwrap();
        assert_eq!(present.len(), 201, "200 + 192.0.2.1/24: {present:?}");
        let second = rt.address_batch(&adds[..200]).unwrap();
        let dels: Vec<(AddrChange, &IfAddr)> = addrs[..200]
            .iter()
            .map(|a| (AddrChange::Delete, a))
            .collect();
        let del = rt.address_batch(&dels).unwrap();
        let after = rt.address_batch(&dels[..3]).unwrap();
        (first, second, del, after)
    });
    assert_eq!(first.len(), 202);
    for (k, r) in first.iter().enumerate().take(200) {
        let want = if k == 100 {
            Applied::Unchanged
        } else {
            Applied::Changed
        };
        assert_eq!(r.as_ref().ok(), Some(&want), "add #{k}: {r:?}");
    }
    assert!(
        matches!(first[200], Err(Error::Invalid(_))),
        "{:?}",
        first[200]
    );
    assert_eq!(
        first[201].as_ref().err().and_then(Error::errno),
        Some(libc::ENODEV)
    );
    assert!(second.iter().all(|r| matches!(r, Ok(Applied::Unchanged))));
    assert!(del.iter().all(|r| matches!(r, Ok(Applied::Changed))));
    assert!(bad.iter().all(|r| matches!(r, Ok(Applied::Unchanged))));
    let shown = run(&["ip", "-n", &ns, "-4", "addr", "show", "dev", "va"]);
    assert!(!shown.contains("198.51.100."), "{shown}");
    assert!(shown.contains("inet 192.0.2.1/24"), "{shown}");
}

#[test]
fn routes() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let index = rt.ifindex("va").unwrap();
        let mut r = Route::new("198.51.100.0".parse().unwrap(), 24);
        r.gateway = Some("192.0.2.2".parse().unwrap());
        r.ifindex = Some(index);
        r.table = 100;
        r.metric = Some(7);
        r.src = Some("192.0.2.1".parse().unwrap());
        assert_eq!(rt.add_route(&r).unwrap(), AddOutcome::Added);
        assert_eq!(rt.add_route(&r).unwrap(), AddOutcome::AlreadyPresent);
        let mut h = Route::new("203.0.113.7".parse().unwrap(), 32);
        h.ifindex = Some(index);
        h.scope = Scope::Link;
        h.table = 1000; // > 255: only in RTA_TABLE
        assert_eq!(rt.add_route(&h).unwrap(), AddOutcome::Added);
        // Our dump finds both, field for field.
        let all = rt.routes(Family::V4).unwrap();
        assert!(all.contains(&r), "{r:?} not in {all:?}");
        assert!(all.contains(&h), "{h:?} not in {all:?}");
        assert!(all.iter().any(|x| x.table == 255), "local table listed");
    });
    let t100 = run(&["ip", "-n", &ns, "route", "show", "table", "100"]);
    let t1000 = run(&["ip", "-n", &ns, "route", "show", "table", "1000"]);
    eprintln!("{t100}{t1000}");
    assert!(t100
        .contains("198.51.100.0/24 via 192.0.2.2 dev va proto keepalived src 192.0.2.1 metric 7"));
    assert!(t1000.contains("203.0.113.7 dev va proto keepalived scope link"));
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let index = rt.ifindex("va").unwrap();
        let mut r = Route::new("198.51.100.0".parse().unwrap(), 24);
        r.gateway = Some("192.0.2.2".parse().unwrap());
        r.ifindex = Some(index);
        r.table = 100;
        r.metric = Some(7);
        assert_eq!(rt.del_route(&r).unwrap(), DelOutcome::Deleted);
        assert_eq!(rt.del_route(&r).unwrap(), DelOutcome::NotPresent);
    });
    let t100 = run(&["ip", "-n", &ns, "route", "show", "table", "100"]);
    assert!(!t100.contains("198.51.100.0/24"), "{t100}");
}

#[test]
fn vmac_macvlan_and_garp_from_vmac() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 51];
    let vip = Ipv4Addr::new(192, 0, 2, 51);
    let frame = capture_in_b(
        &p,
        ETH_P_ARP,
        move || {
            let rt = Rtnl::new().unwrap();
            let va = rt.link_by_name("va").unwrap();
            assert_eq!(va.kind.as_deref(), Some("veth"));
            let added = rt.add_macvlan(va.index, "vrrp.51", VMAC, MacvlanMode::Private);
            assert_eq!(added.unwrap(), AddOutcome::Added);
            let again = rt.add_macvlan(va.index, "vrrp.51", VMAC, MacvlanMode::Private);
            assert_eq!(again.unwrap(), AddOutcome::AlreadyPresent);
            let vm = rt.link_by_name("vrrp.51").unwrap();
            assert_eq!(vm.kind.as_deref(), Some("macvlan"));
            assert_eq!(vm.parent, Some(va.index));
            assert_eq!(vm.mac, Some(VMAC));
            assert!(!vm.is_admin_up());
            rt.set_link_up(vm.index, true).unwrap();
            assert!(rt.link_by_index(vm.index).unwrap().is_admin_up());
            // GARP leaves through the base interface with the VMAC as
            // source, as keepalived does by default.
            let a = Announcer::new().unwrap();
            a.send_garp(va.index, VMAC, vip).unwrap();
        },
        move |f| f.len() >= 42 && f[38..42] == vip.octets(),
    );
    assert_eq!(&frame[6..12], &VMAC, "Ethernet source is the VMAC");
    assert_eq!(&frame[22..28], &VMAC, "ARP sender is the VMAC");
    let out = run(&["ip", "-d", "-n", &ns, "link", "show", "vrrp.51"]);
    eprintln!("{out}");
    assert!(out.contains("vrrp.51@va"));
    assert!(out.contains("link/ether 00:00:5e:00:01:33"));
    assert!(out.contains("macvlan mode private"));
    // The VMAC sysctls keepalived sets, from a thread in A; checked with
    // `ip netns exec A sysctl`.
    in_ns(&p.a, || {
        let old = set_if_sysctl(Family::V4, "vrrp.51", "arp_ignore", "1").unwrap();
        assert_eq!(old, "0");
        assert_eq!(
            get_if_sysctl(Family::V4, "vrrp.51", "arp_ignore").unwrap(),
            "1"
        );
        set_if_sysctl(Family::V4, "va", "arp_filter", "1").unwrap();
        assert!(!keepalived_netlink::ipv6_forwarding("va").unwrap());
    });
    let v = run(&[
        "ip",
        "netns",
        "exec",
        &ns,
        "sysctl",
        "-n",
        "net.ipv4.conf.vrrp/51.arp_ignore",
    ]);
    assert_eq!(v.trim(), "1");
    let v = run(&[
        "ip",
        "netns",
        "exec",
        &ns,
        "sysctl",
        "-n",
        "net.ipv4.conf.va.arp_filter",
    ]);
    assert_eq!(v.trim(), "1");
    // This thread (root namespace) has no `va`: the writes went to A.
    assert!(!std::path::Path::new("/proc/sys/net/ipv4/conf/va").exists());
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let vm = rt.ifindex("vrrp.51").unwrap();
        assert_eq!(rt.del_link(vm).unwrap(), DelOutcome::Deleted);
        assert_eq!(rt.del_link(vm).unwrap(), DelOutcome::NotPresent);
        assert!(matches!(
            rt.link_by_name("vrrp.51"),
            Err(Error::NoSuchInterface(_))
        ));
    });
}

#[test]
fn rules() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    let mut r = Rule::new(Family::V4, 100);
    r.src = Some(("192.0.2.0".parse().unwrap(), 24));
    r.priority = Some(100);
    let mut m = Rule::new(Family::V4, 1000);
    m.dst = Some(("198.51.100.0".parse().unwrap(), 24));
    m.fwmark = Some(7);
    m.fwmask = Some(0xff);
    m.iif = Some("va".into());
    m.priority = Some(101);
    let (r2, m2) = (r.clone(), m.clone());
    in_ns(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        for x in [&r2, &m2] {
            assert_eq!(rt.add_rule(x).unwrap(), AddOutcome::Added);
            assert_eq!(rt.add_rule(x).unwrap(), AddOutcome::AlreadyPresent);
        }
        let mut want = vec![r2.clone(), m2.clone()];
        want[0].protocol = 18;
        want[1].protocol = 18;
        let all = rt.rules(Family::V4).unwrap();
        for w in &want {
            assert!(all.contains(w), "{w:?} not in {all:?}");
        }
        // The kernel's default rules are listed too (32766: main).
        assert!(all
            .iter()
            .any(|x| x.priority == Some(32766) && x.table == 254));
    });
    let out = run(&["ip", "-n", &ns, "rule", "show"]);
    eprintln!("{out}");
    assert!(out.contains("100:\tfrom 192.0.2.0/24 lookup 100 proto keepalived"));
    assert!(out.contains(
        "101:\tfrom all to 198.51.100.0/24 fwmark 0x7/0xff iif va lookup 1000 proto keepalived"
    ));
    in_ns(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        for x in [&r, &m] {
            assert_eq!(rt.del_rule(x).unwrap(), DelOutcome::Deleted);
            assert_eq!(rt.del_rule(x).unwrap(), DelOutcome::NotPresent);
        }
    });
    let out = run(&["ip", "-n", &ns, "rule", "show"]);
    assert!(!out.contains("keepalived"), "{out}");
}

/// The daemon's pattern: one mio loop with the event socket and a VRRP
/// socket registered (edge-triggered), each drained until empty.
#[test]
fn mio_loop_sees_events_and_adverts() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::os::fd::AsRawFd;

    let Some(p) = setup() else { return };
    let nsb = p.b.clone();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let rt = Rtnl::new().unwrap();
        let vb = rt.ifindex("vb").unwrap();
        let mut ev = EventSocket::new().unwrap();
        ev.prime(&rt.links().unwrap());
        let vs = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, vb)).unwrap();
        let mut poll = Poll::new().unwrap();
        let (efd, vfd) = (ev.as_raw_fd(), vs.as_raw_fd());
        poll.registry()
            .register(&mut SourceFd(&efd), Token(0), Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(&mut SourceFd(&vfd), Token(1), Interest::READABLE)
            .unwrap();
        ready_tx.send(()).unwrap();
        let mut events = Events::with_capacity(8);
        let (mut saw_addr, mut saw_advert) = (false, false);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 1500];
        while !(saw_addr && saw_advert) && Instant::now() < deadline {
            poll.poll(&mut events, Some(Duration::from_millis(200)))
                .unwrap();
            for e in events.iter() {
                match e.token() {
                    Token(0) => {
                        for ev in ev.drain().unwrap() {
                            if matches!(&ev, Event::AddrAdded(a)
                                if a.addr == IpAddr::from([192, 0, 2, 77]))
                            {
                                saw_addr = true;
                            }
                        }
                    }
                    Token(1) => {
                        while let Some(r) = vs.recv(&mut buf).unwrap() {
                            saw_advert |= r.hop_limit == Some(255) && r.len == 20 + ADVERT.len();
                        }
                    }
                    _ => unreachable!(),
                }
            }
        }
        (saw_addr, saw_advert)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    run(&[
        "ip",
        "-n",
        &nsb,
        "addr",
        "add",
        "192.0.2.77/32",
        "dev",
        "vb",
    ]);
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let va = rt.ifindex("va").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, va)).unwrap();
        s.send_to(&ADVERT, IpAddr::V4(keepalived_netlink::VRRP_GROUP_V4))
            .unwrap();
    });
    let (saw_addr, saw_advert) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert!(saw_addr, "address event through mio");
    assert!(saw_advert, "advert through mio");
}

/// A burst of 500 address changes queued while the loop is busy is read
/// back completely (1 MiB receive buffer, SO_RCVBUFFORCE), without overrun.
#[test]
fn event_burst_without_overrun() {
    let Some(p) = setup() else { return };
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let mut s = EventSocket::new().unwrap();
        s.prime(&rt.links().unwrap());
        let va = rt.ifindex("va").unwrap();
        let addrs: Vec<IfAddr> = (0..500u32)
            .map(|i| {
                let a = Ipv4Addr::new(198, 51, 100 + (i / 250) as u8, (i % 250) as u8 + 1);
                IfAddr::new(va, IpAddr::V4(a), 32)
            })
            .collect();
        for a in &addrs {
            assert_eq!(rt.add_address(a).unwrap(), AddOutcome::Added);
        }
        let mut seen = 0;
        for e in s.drain().unwrap() {
            if matches!(e, Event::AddrAdded(ref a)
                if addrs.iter().any(|x| x.addr == a.addr && a.ifindex == va))
            {
                seen += 1;
            }
        }
        assert_eq!((seen, s.overruns(), s.malformed()), (500, 0, 0));
    });
}

/// With a tiny receive buffer the same burst overflows: the socket reports
/// `Event::Overrun` (ENOBUFS), counts it, and keeps working; a dump then
/// gives the true state, as the daemon is expected to do.
#[test]
fn event_overrun_reported() {
    let Some(p) = setup() else { return };
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let mut s = EventSocket::new().unwrap();
        s.set_recv_buffer(4096, true).unwrap();
        s.prime(&rt.links().unwrap());
        let va = rt.ifindex("va").unwrap();
        for i in 0..200u8 {
            let a = IfAddr::new(va, IpAddr::from([203, 0, 113, i]), 32);
            rt.add_address(&a).unwrap();
        }
        let evs = s.drain().unwrap();
        assert!(evs.contains(&Event::Overrun), "{} events", evs.len());
        assert!(s.overruns() >= 1);
        // Still usable afterwards.
        rt.set_link_up(va, false).unwrap();
        let evs = s.drain().unwrap();
        assert!(evs
            .iter()
            .any(|e| matches!(e, Event::LinkDown { index, .. } if *index == va)));
        // Resync: the dump has all 200.
        let n = rt
            .addresses(Some(Family::V4), Some(va))
            .unwrap()
            .iter()
            .filter(|a| matches!(a.addr, IpAddr::V4(v) if v.octets()[..3] == [203, 0, 113]))
            .count();
        assert_eq!(n, 200);
    });
}

/// Drains `s` until `pred` has matched every expected event or 5 s pass.
/// A predicate on one event.
type Want = Box<dyn Fn(&Event) -> bool>;

fn collect_until(s: &mut EventSocket, mut want: Vec<Want>) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while !want.is_empty() && Instant::now() < deadline {
        wait_readable(s, 200);
        for e in s.drain().unwrap() {
            if let Some(i) = want.iter().position(|w| w(&e)) {
                drop(want.remove(i));
            }
            seen.push(e);
        }
    }
    assert!(want.is_empty(), "missing events; saw {seen:?}");
    seen
}

#[test]
fn events() {
    let Some(p) = setup() else { return };
    let ns = p.a.clone();
    // The event socket lives on a thread in A; commands are sent from here
    // (root namespace, `ip -n`) in lockstep over channels.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let h = spawn_in(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        let mut s = EventSocket::new().unwrap();
        s.prime(&rt.links().unwrap());
        let va = rt.ifindex("va").unwrap();
        // Nothing pending at start.
        assert!(s.drain().unwrap().is_empty());
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // link down
        collect_until(
            &mut s,
            vec![Box::new(
                move |e| matches!(e, Event::LinkDown { index, name } if *index == va && name == "va"),
            )],
        );
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // link up
        collect_until(
            &mut s,
            vec![Box::new(
                move |e| matches!(e, Event::LinkUp { index, name } if *index == va && name == "va"),
            )],
        );
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // address add (IPv4 and IPv6)
        collect_until(
            &mut s,
            vec![
                Box::new(move |e| {
                    matches!(e, Event::AddrAdded(a) if a.ifindex == va
                    && a.addr == IpAddr::from([192, 0, 2, 50]) && a.prefix_len == 24
                    && a.label.as_deref() == Some("va:5"))
                }),
                Box::new(move |e| {
                    matches!(e, Event::AddrAdded(a) if a.ifindex == va
                    && a.addr == "2001:db8::50".parse::<IpAddr>().unwrap() && a.prefix_len == 64)
                }),
            ],
        );
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // address delete
        collect_until(
            &mut s,
            vec![
                Box::new(move |e| {
                    matches!(e, Event::AddrRemoved(a) if a.ifindex == va
                    && a.addr == IpAddr::from([192, 0, 2, 50]))
                }),
                Box::new(move |e| {
                    matches!(e, Event::AddrRemoved(a) if a.ifindex == va
                    && a.addr == "2001:db8::50".parse::<IpAddr>().unwrap())
                }),
            ],
        );
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // MAC change
        collect_until(
            &mut s,
            vec![Box::new(move |e| {
                matches!(e, Event::LinkChanged(l)
                    if l.index == va && l.mac == Some([2, 0, 0, 0, 0x0c, 1]))
            })],
        );
        ready_tx.send(()).unwrap();

        go_rx.recv().unwrap(); // new link, then removed
        collect_until(
            &mut s,
            vec![
                Box::new(|e| matches!(e, Event::LinkAdded(l) if l.name == "vc")),
                Box::new(|e| matches!(e, Event::LinkRemoved { name, .. } if name == "vc")),
            ],
        );
        assert_eq!(s.malformed(), 0);
        assert_eq!(s.overruns(), 0);
    });
    let step = |cmds: &[&[&str]]| {
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("event thread");
        for c in cmds {
            run(c);
        }
        go_tx.send(()).unwrap();
    };
    step(&[&["ip", "-n", &ns, "link", "set", "va", "down"]]);
    step(&[&["ip", "-n", &ns, "link", "set", "va", "up"]]);
    step(&[
        &[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "192.0.2.50/24",
            "dev",
            "va",
            "label",
            "va:5",
        ],
        &[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "2001:db8::50/64",
            "dev",
            "va",
            "nodad",
        ],
    ]);
    step(&[
        &["ip", "-n", &ns, "addr", "del", "192.0.2.50/24", "dev", "va"],
        &[
            "ip",
            "-n",
            &ns,
            "addr",
            "del",
            "2001:db8::50/64",
            "dev",
            "va",
        ],
    ]);
    step(&[&[
        "ip",
        "-n",
        &ns,
        "link",
        "set",
        "va",
        "address",
        "02:00:00:00:0c:01",
    ]]);
    step(&[
        &[
            "ip", "-n", &ns, "link", "add", "vc", "type", "veth", "peer", "name", "vd",
        ],
        &["ip", "-n", &ns, "link", "del", "vc"],
    ]);
    if let Err(e) = h.join() {
        std::panic::resume_unwind(e);
    }
}

/// Opens an AF_PACKET socket in B bound to `vb` for `ethertype`, then runs
/// `send` in A, and returns the first frame for which `pick` is true.
fn capture_in_b(
    p: &Pair,
    ethertype: u16,
    send: impl FnOnce() + Send + 'static,
    pick: impl Fn(&[u8]) -> bool + Send + 'static,
) -> Vec<u8> {
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let rt = Rtnl::new().unwrap();
        let vb = rt.ifindex("vb").unwrap();
        let fd = sys::net::packet_socket(ethertype).unwrap();
        sys::net::packet_bind(fd.as_fd(), vb, ethertype).unwrap();
        ready_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            wait_readable(&fd, 200);
            while let Ok((n, ifindex)) = sys::net::packet_recv(fd.as_fd(), &mut buf) {
                assert_eq!(ifindex, vb);
                if pick(&buf[..n]) {
                    return buf[..n].to_vec();
                }
            }
        }
        panic!("no matching frame captured in B");
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, send);
    match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

#[test]
fn gratuitous_arp_crosses_veth() {
    let Some(p) = setup() else { return };
    let vip = Ipv4Addr::new(192, 0, 2, 200);
    let frame = capture_in_b(
        &p,
        ETH_P_ARP,
        move || {
            let rt = Rtnl::new().unwrap();
            let va = rt.link_by_name("va").unwrap();
            let a = Announcer::new().unwrap();
            a.send_garp(va.index, va.mac.unwrap(), vip).unwrap();
        },
        move |f| f.len() >= 42 && f[38..42] == vip.octets(),
    );
    // Decode: Ethernet with etherparse, ARP fields by offset (RFC 826).
    let eth = etherparse::Ethernet2HeaderSlice::from_slice(&frame).unwrap();
    assert_eq!(eth.destination(), [0xff; 6]);
    assert_eq!(eth.source(), MAC_A);
    assert_eq!(eth.ether_type(), etherparse::EtherType::ARP);
    let arp = &frame[14..];
    assert_eq!(u16::from_be_bytes([arp[6], arp[7]]), 1, "ARP request");
    assert_eq!(&arp[8..14], &MAC_A, "sender MAC");
    assert_eq!(&arp[14..18], &vip.octets(), "sender IP");
    assert_eq!(&arp[24..28], &vip.octets(), "target IP");
    assert_eq!(&frame[..42], &garp_frame(MAC_A, vip)[..]);
}

#[test]
fn unsolicited_na_crosses_veth() {
    let Some(p) = setup() else { return };
    let vip: Ipv6Addr = "2001:db8::200".parse().unwrap();
    let frame = capture_in_b(
        &p,
        ETH_P_IPV6,
        move || {
            let rt = Rtnl::new().unwrap();
            let va = rt.link_by_name("va").unwrap();
            let a = Announcer::new().unwrap();
            a.send_na(va.index, va.mac.unwrap(), vip, true).unwrap();
        },
        move |f| f.len() >= 86 && f[54] == 136 && f[62..78] == vip.octets(),
    );
    let pkt = etherparse::SlicedPacket::from_ethernet(&frame).unwrap();
    let Some(etherparse::NetSlice::Ipv6(ip)) = pkt.net else {
        panic!("not IPv6")
    };
    assert_eq!(ip.header().hop_limit(), 255);
    assert_eq!(ip.header().source_addr(), vip);
    assert_eq!(
        ip.header().destination_addr(),
        "ff02::1".parse::<Ipv6Addr>().unwrap()
    );
    let Some(etherparse::TransportSlice::Icmpv6(icmp)) = pkt.transport else {
        panic!("not ICMPv6")
    };
    assert_eq!(icmp.type_u8(), 136);
    // etherparse recomputes the checksum from the IPv6 pseudo-header.
    let computed = icmp
        .icmp_type()
        .calc_checksum(
            vip.octets(),
            [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            icmp.payload(),
        )
        .unwrap();
    assert_eq!(icmp.checksum(), computed);
    assert_eq!(frame[58], 0xa0, "R and O flags");
    assert_eq!(&frame[80..86], &MAC_A, "target link-layer address option");
    assert_eq!(&frame[..86], &na_frame(MAC_A, vip, true)[..]);
}

/// keepalived 2.2.7 running in a namespace; SIGTERM and wait on drop, then
/// its scratch directory is removed.
struct Keepalived {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Interop: keepalived 2.2.7 (owner, priority 255) takes its VIPs in A; the
/// first gratuitous ARP and unsolicited NA it sends, captured in B, are
/// byte-for-byte the frames `garp_frame` / `na_frame` build.
#[test]
fn frames_identical_to_keepalived() {
    const KEEPALIVED: &str = "/usr/sbin/keepalived";
    if !std::path::Path::new(KEEPALIVED).exists() {
        eprintln!("SKIP: {KEEPALIVED} not installed");
        return;
    }
    let Some(p) = setup() else { return };
    let dir = std::env::temp_dir().join(format!("{}-ka", p.a));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  router_id nltest\n}\n\
         vrrp_instance V4 {\n  state MASTER\n  interface va\n  virtual_router_id 51\n  \
         priority 255\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.200/24\n  }\n}\n\
         vrrp_instance V6 {\n  state MASTER\n  interface va\n  virtual_router_id 52\n  \
         priority 255\n  advert_int 1\n  virtual_ipaddress {\n    fe80::200/64\n    \
         2001:db8::200/64\n  }\n}\n",
    )
    .unwrap();
    let vip4 = Ipv4Addr::new(192, 0, 2, 200);
    let vip6: Ipv6Addr = "2001:db8::200".parse().unwrap();

    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let vb = Rtnl::new().unwrap().ifindex("vb").unwrap();
        let arp = sys::net::packet_socket(ETH_P_ARP).unwrap();
        sys::net::packet_bind(arp.as_fd(), vb, ETH_P_ARP).unwrap();
        let v6 = sys::net::packet_socket(ETH_P_IPV6).unwrap();
        sys::net::packet_bind(v6.as_fd(), vb, ETH_P_IPV6).unwrap();
        ready_tx.send(()).unwrap();
        let (mut garp, mut na) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 2048];
        while (garp.is_none() || na.is_none()) && Instant::now() < deadline {
            wait_readable(&arp, 50);
            while let Ok((n, _)) = sys::net::packet_recv(arp.as_fd(), &mut buf) {
                if garp.is_none() && n >= 42 && buf[38..42] == vip4.octets() {
                    garp = Some(buf[..n].to_vec());
                }
            }
            while let Ok((n, _)) = sys::net::packet_recv(v6.as_fd(), &mut buf) {
                if na.is_none() && n >= 86 && buf[54] == 136 && buf[62..78] == vip6.octets() {
                    na = Some(buf[..n].to_vec());
                }
            }
        }
        (garp, na)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let f = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let child = Command::new("ip")
        .args([
            "netns", "exec", &p.a, KEEPALIVED, "-n", "-l", "-D", "-P", "-f",
        ])
        .args([
            f("keepalived.conf"),
            "-p".into(),
            f("ka.pid"),
            "-r".into(),
            f("vrrp.pid"),
        ])
        .args(["-c".into(), f("chk.pid"), "-b".into(), f("bfd.pid")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _ka = Keepalived {
        child,
        dir: dir.clone(),
    };
    let (garp, na) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    let garp = garp.expect("keepalived sent no gratuitous ARP");
    let na = na.expect("keepalived sent no unsolicited NA");
    assert_eq!(garp, garp_frame(MAC_A, vip4).to_vec());
    // IPv6 forwarding is off in the namespace, so no R flag.
    assert_eq!(na, na_frame(MAC_A, vip6, false).to_vec());
}

/// A fake VRRPv2 advert (the vrrp crate builds real ones).
const ADVERT: [u8; 20] = [
    0x21, 51, 100, 1, 0, 1, 0x00, 0x00, 192, 0, 2, 200, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn vrrp_ipv4_multicast_and_unicast() {
    let Some(p) = setup() else { return };
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let rt = Rtnl::new().unwrap();
        let vb = rt.ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, vb)).unwrap();
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 1500];
        while got.len() < 2 && Instant::now() < deadline {
            wait_readable(&s, 200);
            while let Some(r) = s.recv(&mut buf).unwrap() {
                got.push((r, buf[..r.len].to_vec()));
            }
        }
        (vb, got)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let va = rt.ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V4, va);
        cfg.src = Some("192.0.2.1".parse().unwrap());
        let s = VrrpSocket::open(&cfg).unwrap();
        assert_eq!(
            s.send_to(&ADVERT, "224.0.0.18".parse().unwrap()).unwrap(),
            20
        );
        assert_eq!(
            s.send_to(&ADVERT, "192.0.2.2".parse().unwrap()).unwrap(),
            20
        );
        // Multicast loop is off: A does not see its own advert.
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 1500];
        assert!(s.recv(&mut buf).unwrap().is_none());
    });
    let (vb, got) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(got.len(), 2, "{got:?}");
    let dsts = ["224.0.0.18", "192.0.2.2"];
    for ((r, bytes), dst) in got.iter().zip(dsts) {
        assert_eq!(r.src, IpAddr::from([192, 0, 2, 1]));
        assert_eq!(r.dst, Some(dst.parse().unwrap()));
        assert_eq!(r.hop_limit, Some(255), "TTL 255 reported");
        assert_eq!(r.ifindex, Some(vb));
        assert!(!r.truncated);
        // Raw IPv4: header included.
        let ip = etherparse::Ipv4HeaderSlice::from_slice(bytes).unwrap();
        assert_eq!(ip.ttl(), 255);
        assert_eq!(ip.protocol(), etherparse::IpNumber(112));
        assert_eq!(ip.source_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(ip.destination_addr().to_string(), dst);
        assert_eq!(&bytes[ip.slice().len()..], &ADVERT);
    }
}

/// keepalived's IPv4 send path: the caller builds the IP header (TOS 0xc0,
/// its own id, TTL 255) and sends it with IP_HDRINCL; a plain socket with
/// `tos` set marks its packets too.
#[test]
fn vrrp_ipv4_header_included_and_tos() {
    let Some(p) = setup() else { return };
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let vb = Rtnl::new().unwrap().ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, vb)).unwrap();
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 1500];
        while got.len() < 2 && Instant::now() < deadline {
            wait_readable(&s, 200);
            while let Some(r) = s.recv(&mut buf).unwrap() {
                got.push(buf[..r.len].to_vec());
            }
        }
        got
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, || {
        let va = Rtnl::new().unwrap().ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V4, va);
        cfg.header_included = true;
        cfg.send_only = true;
        let raw = VrrpSocket::open(&cfg).unwrap();
        #[rustfmt::skip]
        let mut dgram = vec![
            0x45, 0xc0, 0, 40,      // v4 ihl 5, TOS 0xc0, total length
            0x04, 0xd2, 0, 0,       // id 1234, no fragment
            255, 112, 0, 0,         // TTL 255, proto VRRP, checksum (kernel)
            192, 0, 2, 1,           // src
            224, 0, 0, 18,          // dst
        ];
        dgram.extend_from_slice(&ADVERT);
        assert_eq!(
            raw.send_to(&dgram, "224.0.0.18".parse().unwrap()).unwrap(),
            40
        );
        let mut cfg = VrrpSocketConfig::new(Family::V4, va);
        cfg.tos = Some(0xc0);
        let plain = VrrpSocket::open(&cfg).unwrap();
        plain
            .send_to(&ADVERT, "224.0.0.18".parse().unwrap())
            .unwrap();
    });
    let got = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(got.len(), 2);
    let h = etherparse::Ipv4HeaderSlice::from_slice(&got[0]).unwrap();
    assert_eq!((h.dcp().value(), h.ecn().value()), (0xc0 >> 2, 0));
    assert_eq!(h.identification(), 1234);
    assert_eq!(h.ttl(), 255);
    assert_eq!(h.source_addr(), Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(&got[0][20..], &ADVERT);
    let h = etherparse::Ipv4HeaderSlice::from_slice(&got[1]).unwrap();
    assert_eq!(h.dcp().value(), 0xc0 >> 2, "IP_TOS applied");
}

/// `vrrp_mcast_group4`: a socket joined to another group gets that group's
/// adverts only (IP_MULTICAST_ALL off), and a unicast-only socket gets no
/// multicast at all.
#[test]
fn vrrp_custom_group_and_unicast_only() {
    let Some(p) = setup() else { return };
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let rt = Rtnl::new().unwrap();
        let vb = rt.ifindex("vb").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V4, vb);
        cfg.group = Some("224.0.0.100".parse().unwrap());
        let custom = VrrpSocket::open(&cfg).unwrap();
        cfg.group = None;
        let ucast = VrrpSocket::open(&cfg).unwrap();
        ready_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut buf = [0u8; 1500];
        let mut got_custom = Vec::new();
        while let Some(r) = custom.recv(&mut buf).unwrap() {
            got_custom.push(r.dst);
        }
        let mut got_ucast = Vec::new();
        while let Some(r) = ucast.recv(&mut buf).unwrap() {
            got_ucast.push(r.dst);
        }
        (got_custom, got_ucast)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, || {
        let rt = Rtnl::new().unwrap();
        let va = rt.ifindex("va").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V4, va)).unwrap();
        s.join("224.0.0.100".parse().unwrap()).unwrap();
        s.send_to(&ADVERT, "224.0.0.18".parse().unwrap()).unwrap();
        s.send_to(&ADVERT, "224.0.0.100".parse().unwrap()).unwrap();
        s.send_to(&ADVERT, "192.0.2.2".parse().unwrap()).unwrap();
    });
    let (custom, ucast) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    let d = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    assert_eq!(custom, vec![d("224.0.0.100"), d("192.0.2.2")]);
    assert_eq!(ucast, vec![d("192.0.2.2")]);
}

/// IPv6 VRRP as keepalived runs it: link-local source, to ff02::12 and to a
/// link-local unicast peer (scope id = the socket's interface).
#[test]
fn vrrp_ipv6_link_local() {
    let Some(p) = setup() else { return };
    run(&[
        "ip",
        "-n",
        &p.a,
        "addr",
        "add",
        "fe80::a/64",
        "dev",
        "va",
        "nodad",
    ]);
    run(&[
        "ip",
        "-n",
        &p.b,
        "addr",
        "add",
        "fe80::b/64",
        "dev",
        "vb",
        "nodad",
    ]);
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let vb = Rtnl::new().unwrap().ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V6, vb)).unwrap();
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 1500];
        while got.len() < 2 && Instant::now() < deadline {
            wait_readable(&s, 200);
            while let Some(r) = s.recv(&mut buf).unwrap() {
                got.push(r);
            }
        }
        (vb, got)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    in_ns(&p.a, || {
        let va = Rtnl::new().unwrap().ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V6, va);
        cfg.src = Some("fe80::a".parse().unwrap());
        let s = VrrpSocket::open(&cfg).unwrap();
        let pkt = [0x31, 51, 100, 1, 0, 100, 0, 0];
        s.send_to(&pkt, "ff02::12".parse().unwrap()).unwrap();
        s.send_to(&pkt, "fe80::b".parse().unwrap()).unwrap();
    });
    let (vb, got) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(got.len(), 2, "{got:?}");
    for (r, dst) in got.iter().zip(["ff02::12", "fe80::b"]) {
        assert_eq!(r.src, "fe80::a".parse::<IpAddr>().unwrap());
        assert_eq!(r.dst, Some(dst.parse().unwrap()));
        assert_eq!(r.hop_limit, Some(255));
        assert_eq!(r.ifindex, Some(vb));
    }
}

#[test]
fn vrrp_ipv6_multicast() {
    let Some(p) = setup() else { return };
    // A global source without DAD so it is usable at once.
    run(&[
        "ip",
        "-n",
        &p.a,
        "addr",
        "add",
        "2001:db8::1/64",
        "dev",
        "va",
        "nodad",
    ]);
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let rx = spawn_in(&p.b, move || {
        let rt = Rtnl::new().unwrap();
        let vb = rt.ifindex("vb").unwrap();
        let s = VrrpSocket::open(&VrrpSocketConfig::new(Family::V6, vb)).unwrap();
        ready_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            wait_readable(&s, 200);
            if let Some(r) = s.recv(&mut buf).unwrap() {
                return (vb, r, buf[..r.len].to_vec());
            }
        }
        panic!("no IPv6 advert received in B");
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
    in_ns(&p.a, move || {
        let rt = Rtnl::new().unwrap();
        let va = rt.ifindex("va").unwrap();
        let mut cfg = VrrpSocketConfig::new(Family::V6, va);
        cfg.src = Some(IpAddr::V6(src));
        let s = VrrpSocket::open(&cfg).unwrap();
        let mut v3 = ADVERT;
        v3[0] = 0x31;
        assert_eq!(s.send_to(&v3[..8], "ff02::12".parse().unwrap()).unwrap(), 8);
    });
    let (vb, r, bytes) = match rx.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    };
    assert_eq!(r.src, IpAddr::V6(src));
    assert_eq!(r.dst, Some("ff02::12".parse().unwrap()));
    assert_eq!(r.hop_limit, Some(255));
    assert_eq!(r.ifindex, Some(vb));
    // IPv6 raw sockets deliver the payload only; the kernel filled in the
    // checksum at offset 6 (IPV6_CHECKSUM).
    assert_eq!(bytes.len(), 8);
    assert_eq!(&bytes[..6], &[0x31, 51, 100, 1, 0, 1]);
    assert_ne!(&bytes[6..8], &[0, 0]);
    // RFC 5798 §5.2.8: the checksum over the pseudo-header (next header
    // 112) and the packet verifies to 0xffff.
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    add(&src.octets());
    add(&"ff02::12".parse::<Ipv6Addr>().unwrap().octets());
    add(&8u32.to_be_bytes());
    add(&[0, 0, 0, 112]);
    add(&bytes);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(sum, 0xffff);
}
