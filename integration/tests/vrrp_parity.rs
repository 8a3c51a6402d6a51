//! VRRP parity features of keepalived 2.2.7 on our daemon (root,
//! namespaces made here): `use_vmac` / `vmac_xmit_base`, `track_process`.
//!
//! Node 3 of each LAN runs no daemon: it is the client whose ARP cache is
//! checked.

#[path = "../src/vrrp_topology.rs"]
mod vrrp_topology;

use std::process::Command;
use std::time::Duration;
use vrrp_topology::{in_ns, run_parallel, sole_holder_for, wait_holder, Daemon, Impl, Inst, Lan};

const VIP: &str = "192.0.2.200";
const VMAC: &str = "00:00:5e:00:01:33";

fn sysctl(ns: &str, key: &str) -> String {
    in_ns(ns, &["sysctl", "-n", key]).1.trim().to_string()
}

/// The client's (node 3) ARP entry for the VIP after a successful ping.
fn client_sees(lan: &Lan) -> Option<String> {
    let ns = lan.ns(3);
    let ok = lan
        .wait_for(Duration::from_secs(5), || {
            in_ns(ns, &["ping", "-c1", "-W1", VIP]).0
        })
        .is_some();
    if !ok {
        return None;
    }
    let (_, out) = in_ns(ns, &["ip", "neigh", "show", VIP]);
    Some(out)
}

/// Captures (`tcpdump -en`) what node 2's bridge port receives from node 2
/// for `secs` seconds, in a thread: IGMP and IPv6 frames.
fn capture_port2(lan: &Lan, secs: u32) -> std::thread::JoinHandle<String> {
    let ns = lan.bridge.clone();
    std::thread::spawn(move || {
        Command::new("ip")
            .args(["netns", "exec", &ns, "timeout", &secs.to_string()])
            // `ip6`, not `icmp6`: MLD reports have a hop-by-hop header.
            .args(["tcpdump", "-enli", "v2", "-Q", "in", "igmp or ip6"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    })
}

/// The BACKUP (node 2) never sends from the virtual MAC: its IGMP / MLD
/// reports (sent when its VMAC joins the VRRP group) leave from its own
/// MAC (keepalived's nftables VMAC rules), so the switch keeps the virtual
/// MAC on the master's port.
fn backup_reports_not_from_vmac(cap: &str, vmac: &str, report: &str) {
    assert!(
        !cap.lines().any(|l| l.contains(&format!("{vmac} >"))),
        "a frame from the virtual MAC left the backup:\n{cap}"
    );
    assert!(
        cap.lines()
            .any(|l| l.contains("02:00:00:00:0a:02 >") && l.contains(report)),
        "no {report} from the backup's own MAC:\n{cap}"
    );
}

fn vmac_failover(xmit_base: bool) {
    let lan = Lan::new(if xmit_base { "vb" } else { "vm" }, 3);
    let extra = if xmit_base {
        "  use_vmac\n  vmac_xmit_base\n".to_string()
    } else {
        "  use_vmac\n".to_string()
    };
    let d1 = Daemon::start(
        &lan,
        1,
        Impl::Ours,
        &Inst {
            priority: 100,
            extra: extra.clone(),
            ..Default::default()
        }
        .conf("n1"),
    );
    let cap2 = capture_port2(&lan, 4);
    std::thread::sleep(Duration::from_millis(300));
    let d2 = Daemon::start(
        &lan,
        2,
        Impl::Ours,
        &Inst {
            priority: 90,
            extra,
            ..Default::default()
        }
        .conf("n2"),
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    // Adverts reach the backup through its VMAC: exactly one master.
    assert!(
        sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)),
        "VIP not only on node 1: {:?}",
        lan.holders(VIP)
    );
    backup_reports_not_from_vmac(&cap2.join().unwrap_or_default(), VMAC, "igmp");
    assert!(d1.logged("(VI_1): Success creating VMAC interface vrrp.51"));
    assert!(d2.logged("(VI_1): Success creating VMAC interface vrrp.51"));
    // The macvlan: private mode, the RFC virtual MAC, up, carrying the VIP.
    let n1 = lan.ns(1);
    let (ok, link) = in_ns(n1, &["ip", "-d", "link", "show", "vrrp.51"]);
    assert!(ok, "no vrrp.51 on node 1");
    assert!(link.contains("macvlan mode private"), "{link}");
    assert!(link.contains(&format!("link/ether {VMAC}")), "{link}");
    assert!(link.contains("vrrp.51@eth0"), "{link}");
    let (_, addrs) = in_ns(n1, &["ip", "-4", "addr", "show", "dev", "vrrp.51"]);
    assert!(addrs.contains(VIP), "VIP not on the VMAC: {addrs}");
    let (_, base) = in_ns(n1, &["ip", "-4", "addr", "show", "dev", "eth0"]);
    assert!(!base.contains(VIP), "VIP on the base interface: {base}");
    // sysctls as upstream.
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_ignore"), "1");
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_filter"), "1");
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_announce"), "2");
    assert_eq!(sysctl(n1, "net.ipv4.conf.vrrp/51.arp_ignore"), "1");
    assert_eq!(sysctl(n1, "net.ipv4.conf.vrrp/51.accept_local"), "1");
    assert_eq!(sysctl(n1, "net.ipv4.conf.vrrp/51.rp_filter"), "0");
    // IPv6 off on an IPv4 VMAC, as keepalived 2.2.7.
    assert_eq!(sysctl(n1, "net.ipv6.conf.vrrp/51.disable_ipv6"), "1");
    assert!(link.contains("addrgenmode none"), "{link}");
    // keepalived's nftables VMAC rules: IGMP from the VMAC leaves from eth0.
    let (_, rules) = in_ns(n1, &["nft", "list", "table", "ip", "keepalived"]);
    assert!(
        rules.contains("elements = { \"vrrp.51\" : \"eth0\" }")
            && rules.contains(
                "ip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @vmac_map drop"
            ),
        "{rules}"
    );
    assert!(d1.logged(
        "use_vmac or no_accept/strict specified, but no firewall configured - using nftables"
    ));
    // The backup has its VMAC too, without the VIP.
    let (ok2, _) = in_ns(lan.ns(2), &["ip", "link", "show", "vrrp.51"]);
    assert!(ok2, "no vrrp.51 on node 2");
    // The client resolves the VIP to the virtual MAC.
    let before = client_sees(&lan).expect("client cannot reach the VIP on node 1");
    assert!(
        before.contains(VMAC),
        "client ARP before failover: {before}"
    );
    // The bridge learnt the virtual MAC on node 1's port.
    let fdb = in_ns(&lan.bridge, &["bridge", "fdb", "show", "br", "br0"]).1;
    assert!(
        fdb.lines()
            .any(|l| l.starts_with(VMAC) && l.contains("dev v1")),
        "{fdb}"
    );
    // Failover.
    d1.term();
    wait_holder(&lan, VIP, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover:\n{}", d2.log_text()));
    let gone = lan.wait_for(Duration::from_secs(5), || {
        !in_ns(n1, &["ip", "link", "show", "vrrp.51"]).0
    });
    assert!(gone.is_some(), "VMAC left on the stopped node");
    assert!(d1.logged("(VI_1) Success removing VMAC interface vrrp.51"));
    assert!(
        !in_ns(n1, &["nft", "list", "tables"])
            .1
            .contains("keepalived"),
        "nftables table left on the stopped node"
    );
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_ignore"), "0");
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_filter"), "0");
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_announce"), "0");
    // The client keeps the same MAC and reaches the new master.
    let after = client_sees(&lan).expect("client cannot reach the VIP on node 2");
    assert!(after.contains(VMAC), "client ARP after failover: {after}");
    // The new master's GARP moved the virtual MAC to node 2's port.
    let fdb = in_ns(&lan.bridge, &["bridge", "fdb", "show", "br", "br0"]).1;
    assert!(
        fdb.lines()
            .any(|l| l.starts_with(VMAC) && l.contains("dev v2")),
        "{fdb}"
    );
    eprintln!(
        "client ARP before: {}; after: {}",
        before.trim(),
        after.trim()
    );
}

/// A `sleep` with a unique argument started in node `n`'s namespace (the
/// pid namespace is shared, so the argument keeps the nodes apart).
fn spawn_sleep(lan: &Lan, n: usize, arg: &str) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", lan.ns(n), "sleep", arg])
        .spawn()
        .expect("spawn sleep")
}

/// track_process weight −20: the tracked process exits → priority 80, the
/// backup (90) takes over; it starts again → 100, preemption back.
fn track_process() {
    let lan = Lan::new("tp", 2);
    let arg = format!("42{}", std::process::id() % 10000);
    let mut p = spawn_sleep(&lan, 1, &arg);
    std::thread::sleep(Duration::from_millis(100));
    let top = format!("vrrp_track_process chk {{\n  process sleep {arg}\n  weight -20\n}}\n");
    let d1 = Daemon::start(
        &lan,
        1,
        Impl::Ours,
        &Inst {
            priority: 100,
            top,
            extra: "  track_process {\n    chk\n  }\n".into(),
            ..Default::default()
        }
        .conf("n1"),
    );
    let d2 = Daemon::start_prio(&lan, 2, Impl::Ours, 90);
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    assert!(
        !d1.logged("Changing effective priority"),
        "{}",
        d1.log_text()
    );
    let _ = p.kill();
    let _ = p.wait();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("no takeover:\n{}\n{}", d1.log_text(), d2.log_text()));
    eprintln!(
        "MEASURED track_process exit -> takeover: {:.3} s",
        t.as_secs_f64()
    );
    assert!(
        d1.logged("Quorum lost for tracked process chk"),
        "{}",
        d1.log_text()
    );
    assert!(
        d1.logged("(VI_1) Changing effective priority from 100 to 80"),
        "{}",
        d1.log_text()
    );
    assert!(!lan.has_addr(1, VIP));
    let mut p = spawn_sleep(&lan, 1, &arg);
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("no preemption back:\n{}", d1.log_text()));
    assert!(d1.logged("Quorum gained for tracked process chk"));
    assert!(d1.logged("(VI_1) Changing effective priority from 80 to 100"));
    let _ = p.kill();
    let _ = p.wait();
}

/// virtual_routes / virtual_rules follow the MASTER; static_* are set on
/// both nodes at start and removed at exit.
fn routes_and_rules() {
    let lan = Lan::new("rr", 2);
    let top = "static_ipaddress {\n  192.0.2.250/32 dev eth0\n}\n\
               static_routes {\n  198.51.100.128/25 dev eth0\n}\n\
               static_rules {\n  to 203.0.113.128/25 table 101 priority 300\n}\n";
    let extra = "  virtual_routes {\n    198.51.100.0/25 via 192.0.2.1 dev eth0\n    \
                 203.0.113.0/25 dev eth0 table 100\n  }\n  \
                 virtual_rules {\n    from 192.0.2.200 table 100 priority 200\n  }\n";
    let conf = |prio: u8, id: &str| {
        Inst {
            priority: prio,
            top: top.into(),
            extra: extra.into(),
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf(100, "n1"));
    let d2 = Daemon::start(&lan, 2, Impl::Ours, &conf(90, "n2"));
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    let routes =
        |n: usize, table: &str| in_ns(lan.ns(n), &["ip", "route", "show", "table", table]).1;
    let rules = |n: usize| in_ns(lan.ns(n), &["ip", "rule", "show"]).1;
    let has_virtual = |n: usize| {
        routes(n, "main").contains("198.51.100.0/25 via 192.0.2.1 dev eth0")
            && routes(n, "100").contains("203.0.113.0/25 dev eth0")
            && rules(n).contains("200:\tfrom 192.0.2.200 lookup 100")
    };
    let has_static = |n: usize| {
        routes(n, "main").contains("198.51.100.128/25 dev eth0")
            && rules(n).contains("300:\tfrom all to 203.0.113.128/25 lookup 101")
            && lan.has_addr(n, "192.0.2.250")
    };
    assert!(
        lan.wait_for(Duration::from_secs(2), || has_virtual(1))
            .is_some(),
        "node 1 routes: {}\n{}\n{}\n{}",
        routes(1, "main"),
        routes(1, "100"),
        rules(1),
        d1.log_text()
    );
    assert!(
        !has_virtual(2),
        "virtual routes on the backup: {}",
        routes(2, "main")
    );
    assert!(
        has_static(1) && has_static(2),
        "static: {}\n{}",
        routes(2, "main"),
        rules(2)
    );
    d1.term();
    wait_holder(&lan, VIP, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover:\n{}", d2.log_text()));
    assert!(
        lan.wait_for(Duration::from_secs(2), || has_virtual(2))
            .is_some(),
        "node 2 routes: {}\n{}",
        routes(2, "main"),
        rules(2)
    );
    let cleaned = lan.wait_for(Duration::from_secs(5), || {
        !routes(1, "main").contains("198.51.100.")
            && !rules(1).contains("lookup 10")
            && !lan.has_addr(1, "192.0.2.250")
    });
    assert!(
        cleaned.is_some(),
        "left on node 1: {}\n{}",
        routes(1, "main"),
        rules(1)
    );
    assert!(has_static(2));
}

/// no_accept: the MASTER's VIP is in `table ip keepalived` set `vips`
/// (traffic to it dropped); the table goes at exit and follows the master.
fn no_accept_nftables() {
    let lan = Lan::new("nf", 2);
    let conf = |prio: u8, id: &str| {
        Inst {
            priority: prio,
            extra: "  no_accept\n".into(),
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf(100, "n1"));
    let d2 = Daemon::start(&lan, 2, Impl::Ours, &conf(90, "n2"));
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    let set = |n: usize| {
        in_ns(
            lan.ns(n),
            &["nft", "list", "set", "ip", "keepalived", "vips"],
        )
    };
    assert!(
        lan.wait_for(Duration::from_secs(2), || set(1).1.contains(VIP))
            .is_some(),
        "{:?}\n{}",
        set(1),
        d1.log_text()
    );
    assert!(d1.logged(
        "use_vmac or no_accept/strict specified, but no firewall configured - using nftables"
    ));
    assert!(d1.logged("(VI_1) setting firewall drop rule"));
    let (ok2, s2) = set(2);
    assert!(ok2 && !s2.contains(VIP), "backup set: {s2}");
    // Traffic to the VIP is dropped (node 2 pings it).
    assert!(
        !in_ns(lan.ns(2), &["ping", "-c1", "-W1", VIP]).0,
        "VIP answered ping"
    );
    assert!(
        in_ns(lan.ns(2), &["ping", "-c1", "-W1", "192.0.2.11"]).0,
        "node 1 unreachable"
    );
    d1.term();
    wait_holder(&lan, VIP, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover:\n{}", d2.log_text()));
    assert!(
        lan.wait_for(Duration::from_secs(2), || set(2).1.contains(VIP))
            .is_some(),
        "{:?}",
        set(2)
    );
    let gone = lan.wait_for(Duration::from_secs(5), || {
        !in_ns(lan.ns(1), &["nft", "list", "tables"])
            .1
            .contains("keepalived")
    });
    assert!(gone.is_some(), "table left on node 1");
}

/// auth_hmac (keepalived 2.4) on both nodes: one master, takeover on
/// SIGTERM; a third node whose key file is missing never starts the
/// instance (an unusable key must not mean "unauthenticated").
fn auth_hmac() {
    let lan = Lan::new("ah", 3);
    let block = |key: &str| format!("  auth_hmac {{\n    key 1 {key}\n    active_key 1\n  }}\n");
    let good = block("0123456789abcdef0123456789abcdef");
    let conf = |prio: u8, id: &str, extra: &str| {
        Inst {
            priority: prio,
            extra: extra.into(),
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf(100, "n1", &good));
    let d2 = Daemon::start(&lan, 2, Impl::Ours, &conf(90, "n2", &good));
    let missing = lan.dir.join("no-such-key");
    let d3 = Daemon::start(
        &lan,
        3,
        Impl::Ours,
        &conf(80, "n3", &block(&format!("file:{}", missing.display()))),
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    assert!(
        sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)),
        "holders {:?}\n{}",
        lan.holders(VIP),
        d2.log_text()
    );
    assert!(!d2.log_text().contains("auth_hmac"), "{}", d2.log_text());
    d1.term();
    wait_holder(&lan, VIP, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover:\n{}", d2.log_text()));
    assert!(d3.logged("(VI_1) auth_hmac key file"), "{}", d3.log_text());
    assert!(d3.logged("(VI_1) not started"), "{}", d3.log_text());
    assert!(!lan.has_addr(3, VIP));
}

/// Different auth_hmac keys: the adverts of node 1 are rejected by node 2
/// (enforce mode), so node 2 becomes MASTER as well — proof that the key is
/// in force on the wire.
fn auth_hmac_mismatch() {
    let lan = Lan::new("am", 2);
    let conf = |prio: u8, id: &str, key: &str| {
        Inst {
            priority: prio,
            extra: format!("  auth_hmac {{\n    key 1 {key}\n    active_key 1\n  }}\n"),
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(
        &lan,
        1,
        Impl::Ours,
        &conf(100, "n1", "0123456789abcdef0123456789abcdef"),
    );
    let d2 = Daemon::start(
        &lan,
        2,
        Impl::Ours,
        &conf(90, "n2", "fedcba9876543210fedcba9876543210"),
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    wait_holder(&lan, VIP, 2, Duration::from_secs(8)).unwrap_or_else(|| {
        panic!(
            "node 2 accepted a wrongly signed advert:\n{}",
            d2.log_text()
        )
    });
}

const VIP6: &str = "2001:db8::200";
const VMAC6: &str = "00:00:5e:00:02:34";

/// The client's (node 3) neighbour entry for the IPv6 VIP after a ping.
fn client_sees6(lan: &Lan) -> Option<String> {
    let ns = lan.ns(3);
    let ok = lan
        .wait_for(Duration::from_secs(5), || {
            in_ns(ns, &["ping", "-6", "-c1", "-W1", VIP6]).0
        })
        .is_some();
    if !ok {
        return None;
    }
    Some(in_ns(ns, &["ip", "-6", "neigh", "show", VIP6]).1)
}

/// Source MACs of the VRRP adverts and unsolicited NAs node 3 captures for
/// `secs` seconds (`tcpdump -e`), one line per packet.
fn capture6(lan: &Lan, secs: u32) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", lan.ns(3), "timeout", &secs.to_string()])
        .args([
            "tcpdump",
            "-enli",
            "eth0",
            "ip6 proto 112 or (icmp6 and ip6[40] == 136)",
        ])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// IPv6 (VRRPv3) `use_vmac`: the VMAC 00:00:5e:00:02:52 with `addrgenmode
/// none` and the base's link-local (nodad, deprecated) as keepalived 2.2.7,
/// the VIP on it, adverts and unsolicited NAs from the virtual MAC, the
/// client's neighbour entry unchanged across a failover, the VMAC removed
/// at stop.
fn vmac6_failover(xmit_base: bool) {
    let lan = Lan::new_v6(if xmit_base { "x6" } else { "v6" }, 3);
    assert!(lan.ip(3, &["addr", "add", "2001:db8::13/64", "dev", "eth0"]));
    let conf = |prio: u8, id: &str| {
        Inst {
            priority: prio,
            version: 3,
            vrid: 52,
            vip: VIP6,
            vip_prefix: 64,
            extra: if xmit_base {
                "  use_vmac\n  vmac_xmit_base\n".into()
            } else {
                "  use_vmac\n".into()
            },
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf(100, "n1"));
    let cap2 = capture_port2(&lan, 4);
    std::thread::sleep(Duration::from_millis(300));
    let d2 = Daemon::start(&lan, 2, Impl::Ours, &conf(90, "n2"));
    wait_holder(&lan, VIP6, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    assert!(
        sole_holder_for(&lan, VIP6, 1, Duration::from_secs(2)),
        "VIP not only on node 1: {:?}\n{}",
        lan.holders(VIP6),
        d2.log_text()
    );
    backup_reports_not_from_vmac(
        &cap2.join().unwrap_or_default(),
        VMAC6,
        "multicast listener report",
    );
    let n1 = lan.ns(1);
    let (ok, link) = in_ns(n1, &["ip", "-d", "link", "show", "vrrp.52"]);
    assert!(ok, "no vrrp.52 on node 1\n{}", d1.log_text());
    assert!(link.contains("macvlan mode private"), "{link}");
    assert!(link.contains(&format!("link/ether {VMAC6}")), "{link}");
    assert!(link.contains("addrgenmode none"), "{link}");
    let (_, a6) = in_ns(n1, &["ip", "-6", "addr", "show", "dev", "vrrp.52"]);
    assert!(
        a6.contains(&format!("inet6 {VIP6}/64 scope global nodad")),
        "{a6}"
    );
    // eth0 02:00:00:00:0a:01 -> fe80::ff:fe00:a01, shared with the VMAC.
    assert!(
        a6.contains("inet6 fe80::ff:fe00:a01/64 scope link nodad deprecated"),
        "{a6}"
    );
    assert!(d1.logged("Assigned address fe80::ff:fe00:a01 for interface vrrp.52"));
    let (_, rules) = in_ns(n1, &["nft", "list", "table", "ip6", "keepalived"]);
    assert!(
        rules.contains("elements = { \"vrrp.52\" : \"eth0\" }")
            && rules.contains("icmpv6 type mld2-listener-report meta oifkind \"macvlan\" dup to ip6 daddr device oif map @vmac_map drop")
            && rules.contains("icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop"),
        "{rules}"
    );
    // No IPv4 sysctl touched for an IPv6 instance (as 2.2.7).
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_ignore"), "0");
    assert_eq!(sysctl(n1, "net.ipv4.conf.eth0.arp_filter"), "0");
    // Adverts from the virtual MAC with the base's link-local source.
    let cap = capture6(&lan, 2);
    let adverts: Vec<&str> = cap.lines().filter(|l| l.contains("VRRPv3")).collect();
    assert!(!adverts.is_empty(), "no advert captured: {cap}");
    // vmac_xmit_base: from eth0's own MAC (node 1: 02:00:00:00:0a:01).
    let src_mac = if xmit_base {
        "02:00:00:00:0a:01"
    } else {
        VMAC6
    };
    for l in &adverts {
        assert!(
            l.contains(&format!("{src_mac} > 33:33:00:00:00:12"))
                && l.contains("fe80::ff:fe00:a01 > ff02::12"),
            "{l}"
        );
    }
    let before = client_sees6(&lan).expect("client cannot reach the IPv6 VIP on node 1");
    assert!(
        before.contains(VMAC6),
        "client neighbour before failover: {before}"
    );
    // Failover: the new master announces the VIP from the same MAC.
    let cap_thread = {
        let ns = lan.ns(3).to_string();
        std::thread::spawn(move || {
            Command::new("ip")
                .args(["netns", "exec", &ns, "timeout", "6"])
                .args(["tcpdump", "-enli", "eth0", "icmp6 and ip6[40] == 136"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    d1.term();
    let t = wait_holder(&lan, VIP6, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no takeover:\n{}", d2.log_text()));
    eprintln!(
        "MEASURED vmac6 SIGTERM -> node 2 holds {VIP6}: {:.3} s",
        t.as_secs_f64()
    );
    let gone = lan.wait_for(Duration::from_secs(5), || {
        !in_ns(n1, &["ip", "link", "show", "vrrp.52"]).0
    });
    assert!(gone.is_some(), "VMAC left on the stopped node");
    assert!(d1.logged("(VI_1) Success removing VMAC interface vrrp.52"));
    let after = client_sees6(&lan).expect("client cannot reach the IPv6 VIP on node 2");
    assert!(
        after.contains(VMAC6),
        "client neighbour after failover: {after}"
    );
    let nas = cap_thread.join().unwrap_or_default();
    let unsolicited: Vec<&str> = nas
        .lines()
        .filter(|l| l.contains(&format!("{VIP6} > ff02::1:")))
        .collect();
    assert!(
        !unsolicited.is_empty(),
        "no unsolicited NA after the takeover: {nas}"
    );
    for l in &unsolicited {
        assert!(l.contains(&format!("{VMAC6} > 33:33:00:00:00:01")), "{l}");
    }
    let fdb = in_ns(&lan.bridge, &["bridge", "fdb", "show", "br", "br0"]).1;
    assert!(
        fdb.lines()
            .any(|l| l.starts_with(VMAC6) && l.contains("dev v2")),
        "{fdb}"
    );
    eprintln!(
        "client neighbour before: {}; after: {}",
        before.trim(),
        after.trim()
    );
}

/// SIGHUP toggling `use_vmac` on a running pair: the VMAC appears with the
/// VIP on it (node 1 MASTER throughout), then goes and the VIP is back on
/// eth0 (lifecycle.rs `reload_inst` calls `reload_vmac`).
fn reload_vmac() {
    let lan = Lan::new("rv", 2);
    let conf = |prio: u8, id: &str, vmac: bool| {
        Inst {
            priority: prio,
            extra: if vmac {
                "  use_vmac\n".into()
            } else {
                String::new()
            },
            ..Default::default()
        }
        .conf(id)
    };
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf(100, "n1", false));
    let d2 = Daemon::start(&lan, 2, Impl::Ours, &conf(90, "n2", false));
    wait_holder(&lan, VIP, 1, Duration::from_secs(8))
        .unwrap_or_else(|| panic!("node 1 never MASTER:\n{}", d1.log_text()));
    let on = |n: usize, dev: &str| {
        in_ns(lan.ns(n), &["ip", "-4", "addr", "show", "dev", dev])
            .1
            .contains(VIP)
    };
    assert!(on(1, "eth0"));
    for (vmac, dev) in [(true, "vrrp.51"), (false, "eth0")] {
        std::fs::write(&d2.conf, conf(90, "n2", vmac)).expect("conf");
        std::fs::write(&d1.conf, conf(100, "n1", vmac)).expect("conf");
        d2.signal(nix::sys::signal::Signal::SIGHUP);
        d1.signal(nix::sys::signal::Signal::SIGHUP);
        let moved = lan.wait_for(Duration::from_secs(5), || {
            on(1, dev)
                && (vmac || !in_ns(lan.ns(1), &["ip", "link", "show", "vrrp.51"]).0)
                && in_ns(lan.ns(2), &["ip", "link", "show", "vrrp.51"]).0 == vmac
        });
        assert!(
            moved.is_some(),
            "use_vmac {vmac}: VIP not on {dev}:\n{}\n{}",
            in_ns(lan.ns(1), &["ip", "-4", "addr"]).1,
            d1.log_text()
        );
        assert!(
            sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)),
            "use_vmac {vmac}: holders {:?}",
            lan.holders(VIP)
        );
        let other = if vmac { "eth0" } else { "vrrp.51" };
        assert!(!on(1, other), "VIP on {other} too");
    }
}

fn vmac6() {
    vmac6_failover(false);
}

fn vmac6_xmit_base() {
    vmac6_failover(true);
}

fn vmac() {
    vmac_failover(false);
}

fn vmac_xmit_base() {
    vmac_failover(true);
}

#[test]
fn vrrp_parity_scenarios() {
    if let Some(why) = vrrp_topology::unavailable(false) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    vrrp_topology::our_binary();
    let scenarios: Vec<(&'static str, fn())> = vec![
        ("vmac", vmac),
        ("vmac_xmit_base", vmac_xmit_base),
        ("vmac6", vmac6),
        ("vmac6_xmit_base", vmac6_xmit_base),
        ("track_process", track_process),
        ("routes_and_rules", routes_and_rules),
        ("no_accept_nftables", no_accept_nftables),
        ("auth_hmac", auth_hmac),
        ("auth_hmac_mismatch", auth_hmac_mismatch),
        ("reload_vmac", reload_vmac),
    ];
    run_parallel(scenarios);
}
