//! Parity features against the real keepalived 2.2.7 (`/usr/sbin/keepalived`
//! in namespaces made here), each in both roles:
//!
//! * `use_vmac` (IPv4 and IPv6): one holder, takeover from one
//!   implementation to the other and back (SIGTERM of the master, then its
//!   restart preempts), the client's (node 3) ARP / neighbour entry for the
//!   VIP stays 00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID throughout.
//! * `vrrp_strict`: each node's `nft list table ip keepalived` compared
//!   with the other implementation's on the same configuration (MASTER:
//!   the VIP in `vips`; BACKUP: the same table, empty set), the VIP does
//!   not answer ping on the MASTER (upstream's drop rule) nor anywhere
//!   else, failover both ways, the table removed at exit.
//! * VRRPv3 over IPv6 next to an IPv4 instance on the same interface: node
//!   1 masters the IPv4 instance and node 2 the IPv6 one (so each
//!   implementation is MASTER of one family and BACKUP of the other), node
//!   1 stops → node 2 holds both, node 1 restarts → split again.
//!
//! `VRRP_ONLY=word` runs the scenarios whose name contains `word`.

#[path = "../src/vrrp_topology.rs"]
mod vrrp_topology;

use std::process::Command;
use std::time::Duration;
use vrrp_topology::{in_ns, run_parallel, sole_holder_for, wait_holder, Daemon, Impl, Inst, Lan};

const VIP4: &str = "192.0.2.200";
const VIP6: &str = "2001:db8::200";
const VMAC4: &str = "00:00:5e:00:01:33";
const VMAC6: &str = "00:00:5e:00:02:34";

fn other(i: Impl) -> Impl {
    match i {
        Impl::Ours => Impl::Theirs,
        Impl::Theirs => Impl::Ours,
    }
}

/// Node 3 pings `vip` (up to 5 s) and returns its neighbour entry for it.
fn client_entry(lan: &Lan, vip: &str) -> Option<String> {
    let ns = lan.ns(3);
    let fam = if vip.contains(':') { "-6" } else { "-4" };
    lan.wait_for(Duration::from_secs(5), || {
        in_ns(ns, &["ping", fam, "-c1", "-W1", vip]).0
    })?;
    Some(in_ns(ns, &["ip", fam, "neigh", "show", vip]).1)
}

fn logs(d1: &Daemon, d2: &Daemon) -> String {
    format!(
        "--- node1 {:?}\n{}\n--- node2 {:?}\n{}",
        d1.which,
        d1.log_text(),
        d2.which,
        d2.log_text()
    )
}

/// Checks the client's entry for `vip` held by node `n` running `which`:
/// ours keeps the virtual MAC. keepalived 2.2.7 (IPv4) lets the client's
/// entry fall back to its base MAC: the echo reply leaves through the base
/// interface (its connected route comes first) and the base's ARP request
/// for the client carries the VIP as sender address with the base MAC
/// (`arp_announce` 0 on the base), which rewrites the client's entry
/// (observed here; ours sets `arp_announce=2` on the base, see vmac.rs).
fn check_entry(tag: &str, entry: &str, which: Impl, n: usize, mac: &str, v6: bool) {
    if which == Impl::Ours || v6 {
        assert!(
            entry.contains(mac),
            "{tag}: client entry with {which:?} node {n}: {entry}"
        );
        return;
    }
    let base = format!("02:00:00:00:0a:{n:02x}");
    assert!(
        entry.contains(mac) || entry.contains(&base),
        "{tag}: client entry with {which:?} node {n}: {entry}"
    );
    eprintln!(
        "OBSERVED {tag}: keepalived 2.2.7 holding {}: client entry {}",
        if v6 { VIP6 } else { VIP4 },
        entry.trim()
    );
}

/// `use_vmac` between the implementations: `master` is node 1 (priority
/// 100), the other node 2 (90), node 3 the client.
fn vmac(master: Impl, v6: bool, tag: &str) {
    let lan = if v6 {
        Lan::new_v6(tag, 3)
    } else {
        Lan::new(tag, 3)
    };
    let (vip, mac) = if v6 { (VIP6, VMAC6) } else { (VIP4, VMAC4) };
    if v6 {
        assert!(lan.ip(3, &["addr", "add", "2001:db8::13/64", "dev", "eth0"]));
    }
    let conf = |prio: u8, id: &str| {
        let mut i = Inst {
            priority: prio,
            extra: "  use_vmac\n".into(),
            ..Default::default()
        };
        if v6 {
            i.version = 3;
            i.vrid = 52;
            i.vip = VIP6;
            i.vip_prefix = 64;
        }
        i.conf(id)
    };
    let backup = other(master);
    let d1 = Daemon::start(&lan, 1, master, &conf(100, "n1"));
    // What node 2 sends while its VMAC comes up (IGMP/MLD reports, router
    // solicitations): never from the virtual MAC for ours.
    let cap2 = {
        let ns = lan.bridge.clone();
        std::thread::spawn(move || {
            Command::new("ip")
                .args(["netns", "exec", &ns, "timeout", "4"])
                .args(["tcpdump", "-enli", "v2", "-Q", "in", "igmp or ip6"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let d2 = Daemon::start(&lan, 2, backup, &conf(90, "n2"));
    assert!(
        lan.wait_for(Duration::from_secs(9), || lan.holders(vip) == vec![1])
            .is_some(),
        "{tag}: no convergence to node 1: {:?}\n{}",
        lan.holders(vip),
        logs(&d1, &d2)
    );
    // The backup hears the master through its own VMAC: one holder.
    assert!(
        sole_holder_for(&lan, vip, 1, Duration::from_secs(3)),
        "{tag}: holders {:?}\n{}",
        lan.holders(vip),
        logs(&d1, &d2)
    );
    let cap = cap2.join().unwrap_or_default();
    let from_vmac: Vec<&str> = cap
        .lines()
        .filter(|l| l.contains(&format!("{mac} >")))
        .collect();
    if backup == Impl::Ours {
        assert!(
            from_vmac.is_empty(),
            "{tag}: our backup sent from the virtual MAC:\n{cap}"
        );
    } else {
        eprintln!(
            "OBSERVED {tag}: keepalived 2.2.7 backup frames from the virtual MAC at start: {}{}",
            from_vmac.len(),
            from_vmac
                .first()
                .map(|l| format!(" (first: {l})"))
                .unwrap_or_default()
        );
    }
    let vname = if v6 { "vrrp.52" } else { "vrrp.51" };
    for n in [1, 2] {
        let (ok, link) = in_ns(lan.ns(n), &["ip", "-d", "link", "show", vname]);
        assert!(
            ok && link.contains(&format!("link/ether {mac}"))
                && link.contains("macvlan mode private")
                && link.contains("addrgenmode none"),
            "{tag}: node {n}: {link}"
        );
    }
    // keepalived's nftables VMAC rules: the same ruleset on both nodes.
    let r1 = in_ns(lan.ns(1), &["nft", "list", "ruleset"]).1;
    let r2 = in_ns(lan.ns(2), &["nft", "list", "ruleset"]).1;
    assert!(r1.contains("vmac_map"), "{tag}: node 1 ruleset:\n{r1}");
    assert_eq!(r1, r2, "{tag}: {master:?} vs {backup:?} nftables rulesets");
    let e = client_entry(&lan, vip).unwrap_or_else(|| panic!("{tag}: VIP unreachable on node 1"));
    check_entry(tag, &e, master, 1, mac, v6);
    // Takeover: node 1's implementation -> node 2's.
    d1.term();
    let t = wait_holder(&lan, vip, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{tag}: no takeover\n{}", logs(&d1, &d2)));
    eprintln!(
        "MEASURED parity interop {tag}: {master:?} master SIGTERM -> {backup:?} holds {vip} after {:.3} s",
        t.as_secs_f64()
    );
    assert!(
        lan.wait_for(Duration::from_secs(5), || {
            !in_ns(lan.ns(1), &["ip", "link", "show", vname]).0
        })
        .is_some(),
        "{tag}: VMAC left on the stopped node 1"
    );
    let e = client_entry(&lan, vip).unwrap_or_else(|| panic!("{tag}: VIP unreachable on node 2"));
    check_entry(tag, &e, backup, 2, mac, v6);
    // And back: node 1 restarts and preempts (node 2's implementation ->
    // node 1's).
    let d1b = Daemon::start(&lan, 1, master, &conf(100, "n1"));
    let t = wait_holder(&lan, vip, 1, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{tag}: no preemption back\n{}", logs(&d1b, &d2)));
    eprintln!(
        "MEASURED parity interop {tag}: {master:?} restarted -> holds {vip} again after {:.3} s",
        t.as_secs_f64()
    );
    assert!(
        lan.wait_for(Duration::from_secs(3), || lan.holders(vip) == vec![1])
            .is_some()
            && sole_holder_for(&lan, vip, 1, Duration::from_secs(2)),
        "{tag}: holders after preemption {:?}\n{}",
        lan.holders(vip),
        logs(&d1b, &d2)
    );
    let e = client_entry(&lan, vip).unwrap_or_else(|| panic!("{tag}: VIP unreachable back on 1"));
    check_entry(tag, &e, master, 1, mac, v6);
    // The switch (bridge) has the virtual MAC on node 1's port again.
    let fdb = in_ns(&lan.bridge, &["bridge", "fdb", "show", "br", "br0"]).1;
    assert!(
        fdb.lines()
            .any(|l| l.starts_with(mac) && l.contains("dev v1")),
        "{tag}: {fdb}"
    );
}

/// `nft list table ip|ip6 keepalived` of node `n` ("" when absent).
fn nft_table(lan: &Lan, n: usize, v6: bool) -> String {
    let fam = if v6 { "ip6" } else { "ip" };
    let (ok, out) = in_ns(lan.ns(n), &["nft", "list", "table", fam, "keepalived"]);
    if ok {
        out
    } else {
        String::new()
    }
}

/// A listing without its set elements (a BACKUP's set is empty).
fn without_elements(t: &str) -> String {
    t.lines()
        .filter(|l| !l.trim_start().starts_with("elements = "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `vrrp_strict` without `accept` (a MASTER below 255 drops traffic to
/// its VIP): node 1 `master` (100), node 2 the other implementation (90).
/// IPv4: VRRPv2; IPv6: VRRPv3, `table ip6 keepalived`. `vmac`: with
/// `use_vmac` too (the VMAC map and rule first in the same table).
fn strict(master: Impl, v6: bool, vmac: bool, tag: &str) {
    let lan = if v6 {
        Lan::new_v6(tag, 3)
    } else {
        Lan::new(tag, 3)
    };
    if v6 {
        assert!(lan.ip(3, &["addr", "add", "2001:db8::13/64", "dev", "eth0"]));
    }
    let vip = if v6 { VIP6 } else { VIP4 };
    let conf = |prio: u8, id: &str| {
        let mut i = Inst {
            priority: prio,
            ..Default::default()
        };
        if v6 {
            i.version = 3;
            i.vip = VIP6;
            i.vip_prefix = 64;
        }
        if vmac {
            i.extra = "  use_vmac\n".into();
        }
        i.conf(id)
            .replacen("global_defs {\n", "global_defs {\n  vrrp_strict\n", 1)
    };
    let ping = |ns: &str, addr: &str| {
        let fam = if addr.contains(':') { "-6" } else { "-4" };
        in_ns(ns, &["ping", fam, "-c1", "-W1", addr]).0
    };
    let backup = other(master);
    let d1 = Daemon::start(&lan, 1, master, &conf(100, "n1"));
    let d2 = Daemon::start(&lan, 2, backup, &conf(90, "n2"));
    assert!(
        lan.wait_for(Duration::from_secs(9), || lan.holders(vip) == vec![1])
            .is_some()
            && sole_holder_for(&lan, vip, 1, Duration::from_secs(2)),
        "{tag}: holders {:?}\n{}",
        lan.holders(vip),
        logs(&d1, &d2)
    );
    let elems = format!("elements = {{ {vip} }}");
    let nft_table = |lan: &Lan, n: usize| nft_table(lan, n, v6);
    assert!(
        lan.wait_for(Duration::from_secs(2), || nft_table(&lan, 1)
            .contains(&elems))
            .is_some(),
        "{tag}: node 1 table:\n{}\n{}",
        nft_table(&lan, 1),
        logs(&d1, &d2)
    );
    let m1 = nft_table(&lan, 1);
    let b2 = nft_table(&lan, 2);
    assert!(!b2.contains(vip), "{tag}: backup table:\n{b2}");
    // Same table shape on both implementations (a BACKUP's set is empty).
    // keepalived 2.2.7 adds its strict-mode sets and chains when it first
    // sets the drop rule (first MASTER): a BACKUP that never was MASTER has
    // none (no table at all without use_vmac); ours creates them at start.
    if backup == Impl::Theirs && !b2.contains("set vips") {
        eprintln!(
            "OBSERVED {tag}: keepalived 2.2.7 BACKUP (never MASTER) has no strict-mode set/chains; its table:\n{b2}"
        );
    } else {
        assert_eq!(
            without_elements(&m1),
            without_elements(&b2),
            "{tag}: {master:?} MASTER vs {backup:?} BACKUP tables differ"
        );
    }
    for d in [&d1, &d2] {
        assert!(
            d.logged("use_vmac or no_accept/strict specified, but no firewall configured - using nftables"),
            "{tag}: {:?}\n{}",
            d.which,
            d.log_text()
        );
    }
    assert!(
        d1.logged("(VI_1) setting firewall drop rule"),
        "{}",
        d1.log_text()
    );
    // The VIP does not answer on the MASTER (dropped), node 1 itself does.
    let c = lan.ns(3);
    assert!(
        !ping(c, vip),
        "{tag}: the VIP answered on the {master:?} MASTER"
    );
    if !v6 {
        assert!(ping(c, "192.0.2.11"));
    }
    // Failover to the other implementation: same table there, VIP silent.
    d1.term();
    wait_holder(&lan, vip, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{tag}: no takeover\n{}", logs(&d1, &d2)));
    assert!(
        lan.wait_for(Duration::from_secs(2), || nft_table(&lan, 2)
            .contains(&elems))
            .is_some(),
        "{tag}: node 2 table:\n{}",
        nft_table(&lan, 2)
    );
    let m2 = nft_table(&lan, 2);
    assert_eq!(
        m1, m2,
        "{tag}: {master:?} MASTER table vs {backup:?} MASTER table"
    );
    assert!(
        !ping(c, vip),
        "{tag}: the VIP answered on the {backup:?} MASTER"
    );
    assert!(
        lan.wait_for(Duration::from_secs(5), || nft_table(&lan, 1).is_empty())
            .is_some(),
        "{tag}: table left on the stopped node 1:\n{}",
        nft_table(&lan, 1)
    );
    // And back.
    let d1b = Daemon::start(&lan, 1, master, &conf(100, "n1"));
    wait_holder(&lan, vip, 1, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{tag}: no preemption back\n{}", logs(&d1b, &d2)));
    assert!(
        lan.wait_for(Duration::from_secs(3), || {
            lan.holders(vip) == vec![1]
                && nft_table(&lan, 1).contains(&elems)
                && !nft_table(&lan, 2).contains(vip)
        })
        .is_some(),
        "{tag}: after preemption: holders {:?}\nnode1:\n{}\nnode2:\n{}",
        lan.holders(vip),
        nft_table(&lan, 1),
        nft_table(&lan, 2)
    );
    // Both have now been MASTER: same table, empty set on the BACKUP.
    assert_eq!(
        without_elements(&m1),
        without_elements(&nft_table(&lan, 2)),
        "{tag}: {backup:?} BACKUP table after being MASTER"
    );
    assert!(
        d2.logged("(VI_1) removing firewall drop rule"),
        "{}",
        d2.log_text()
    );
    assert!(!ping(c, vip));
    eprintln!("{tag}: {master:?}/{backup:?} MASTER table (identical):\n{m1}");
}

/// Two instances on eth0: VI_4 (IPv4, VRID 51) and VI_6 (IPv6, VRID 52),
/// VRRPv3. Node 1 (`n1`) has 100/90, node 2 90/100.
fn dual_conf(id: &str, p4: u8, p6: u8) -> String {
    let inst = |name: &str, vrid: u8, prio: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
             priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n  router_id {id}\n  vrrp_version 3\n}}\n{}{}",
        inst("VI_4", 51, p4, "192.0.2.200/24"),
        inst("VI_6", 52, p6, "2001:db8::200/64")
    )
}

fn dual(node1: Impl, tag: &str) {
    let lan = Lan::new_v6(tag, 2);
    let node2 = other(node1);
    let d1 = Daemon::start(&lan, 1, node1, &dual_conf("n1", 100, 90));
    let d2 = Daemon::start(&lan, 2, node2, &dual_conf("n2", 90, 100));
    let split = || lan.holders(VIP4) == vec![1] && lan.holders(VIP6) == vec![2];
    assert!(
        lan.wait_for(Duration::from_secs(9), split).is_some(),
        "{tag}: v4 {:?} v6 {:?}\n{}",
        lan.holders(VIP4),
        lan.holders(VIP6),
        logs(&d1, &d2)
    );
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        assert!(
            split(),
            "{tag}: v4 {:?} v6 {:?}\n{}",
            lan.holders(VIP4),
            lan.holders(VIP6),
            logs(&d1, &d2)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for d in [&d1, &d2] {
        let log = d.log_text().to_lowercase();
        for bad in ["invalid ttl", "checksum", "interval mismatch", "too short"] {
            assert!(!log.contains(bad), "{tag}: {:?} logged {bad:?}", d.which);
        }
    }
    // Node 1 stops: node 2 holds both (its IPv4 backup role takes over).
    d1.term();
    let t = wait_holder(&lan, VIP4, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{tag}: no v4 takeover\n{}", logs(&d1, &d2)));
    eprintln!(
        "MEASURED parity interop {tag}: {node1:?} (VI_4 MASTER) SIGTERM -> {node2:?} holds {VIP4} after {:.3} s",
        t.as_secs_f64()
    );
    assert!(lan.has_addr(2, VIP6), "{tag}: node 2 lost the IPv6 VIP");
    assert!(
        lan.wait_for(Duration::from_secs(2), || {
            !lan.has_addr(1, VIP4) && !lan.has_addr(1, VIP6)
        })
        .is_some(),
        "{tag}: VIPs left on node 1"
    );
    // Node 1 restarts: it takes the IPv4 VIP back and stays BACKUP for IPv6.
    let d1b = Daemon::start(&lan, 1, node1, &dual_conf("n1", 100, 90));
    assert!(
        lan.wait_for(Duration::from_secs(10), split).is_some(),
        "{tag}: after restart v4 {:?} v6 {:?}\n{}",
        lan.holders(VIP4),
        lan.holders(VIP6),
        logs(&d1b, &d2)
    );
    assert!(sole_holder_for(&lan, VIP6, 2, Duration::from_secs(2)));
    // Node 2 stops: node 1 takes the IPv6 VIP (IPv6 takeover the other way).
    d2.term();
    let t = wait_holder(&lan, VIP6, 1, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{tag}: no v6 takeover\n{}", logs(&d1b, &d2)));
    eprintln!(
        "MEASURED parity interop {tag}: {node2:?} (VI_6 MASTER) SIGTERM -> {node1:?} holds {VIP6} after {:.3} s",
        t.as_secs_f64()
    );
    assert!(lan.has_addr(1, VIP4));
}

#[test]
fn vrrp_parity_interop_with_keepalived() {
    if let Some(why) = vrrp_topology::unavailable(true) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    vrrp_topology::our_binary();
    run_parallel(vec![
        ("vmac ours master", || vmac(Impl::Ours, false, "pvo")),
        ("vmac theirs master", || vmac(Impl::Theirs, false, "pvt")),
        ("vmac6 ours master", || vmac(Impl::Ours, true, "p6o")),
        ("vmac6 theirs master", || vmac(Impl::Theirs, true, "p6t")),
        ("strict ours master", || {
            strict(Impl::Ours, false, false, "pso")
        }),
        ("strict theirs master", || {
            strict(Impl::Theirs, false, false, "pst")
        }),
        ("strict6 ours master", || {
            strict(Impl::Ours, true, false, "p7o")
        }),
        ("strict6 theirs master", || {
            strict(Impl::Theirs, true, false, "p7t")
        }),
        ("strict vmac ours master", || {
            strict(Impl::Ours, false, true, "p8o")
        }),
        ("strict vmac theirs master", || {
            strict(Impl::Theirs, false, true, "p8t")
        }),
        ("dual ours node1", || dual(Impl::Ours, "pdo")),
        ("dual theirs node1", || dual(Impl::Theirs, "pdt")),
    ]);
}
