//! Programs keepalived's table in a throw-away network namespace and checks
//! `nft list ruleset` against what keepalived 2.2.7 itself produced there
//! (`tests/keepalived-2.2.7-ruleset.txt`, captured with vrrp_strict, one
//! IPv4 VIP 192.0.2.10 and IPv6 VIPs fe80::52 + 2001:db8::52 on `d0`).
//! Needs root (skips otherwise).

use keepalived_nft::{Family, Nft, Vip, VmacLink, DEFAULT_PRIORITY, DEFAULT_TABLE};
use std::path::PathBuf;
use std::process::Command;

struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipping: needs root");
            return None;
        }
        let name = format!("ka-nft-{tag}-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .ok()?
            .success();
        if !ok {
            eprintln!("skipping: cannot create a network namespace");
            return None;
        }
        let ns = Netns(name);
        ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
        ns.ip(&["link", "set", "d0", "up"]);
        Some(ns)
    }
    fn ip(&self, args: &[&str]) {
        let st = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ip {args:?}");
    }
    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.0)
    }
    fn ruleset(&self) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft", "list", "ruleset"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    fn ifindex(&self, dev: &str) -> u32 {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.0,
                "cat",
                &format!("/sys/class/net/{dev}/ifindex"),
            ])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn table_matches_keepalived_and_is_removed() {
    let Some(ns) = Netns::new("tbl") else { return };
    let mut nft = Nft::open_in_netns(&ns.path(), DEFAULT_TABLE, DEFAULT_PRIORITY).unwrap();
    nft.ensure_table(Family::Ipv4).unwrap();
    nft.ensure_table(Family::Ipv6).unwrap();
    let d0 = ns.ifindex("d0");
    let vips = [
        Vip {
            addr: "192.0.2.10".parse().unwrap(),
            ifindex: d0,
        },
        Vip {
            addr: "fe80::52".parse().unwrap(),
            ifindex: d0,
        },
        Vip {
            addr: "2001:db8::52".parse().unwrap(),
            ifindex: d0,
        },
    ];
    nft.add_vips(&vips).unwrap();
    // Adding again is harmless.
    nft.add_vips(&vips).unwrap();
    let got = ns.ruleset();
    let want = include_str!("keepalived-2.2.7-ruleset.txt");
    assert_eq!(got, want, "\n--- ours\n{got}\n--- keepalived 2.2.7\n{want}");

    // Rebuilding keeps our own VIPs...
    nft.ensure_table(Family::Ipv4).unwrap();
    assert!(ns.ruleset().contains("elements = { 192.0.2.10 }"));
    // ...while a restarted daemon (new handle) replaces the left-over
    // table (elements gone).
    let mut nft = Nft::open_in_netns(&ns.path(), DEFAULT_TABLE, DEFAULT_PRIORITY).unwrap();
    nft.ensure_table(Family::Ipv4).unwrap();
    assert!(!ns.ruleset().contains("192.0.2.10"));
    nft.add_vips(&vips[..1]).unwrap();
    nft.del_vips(&vips).unwrap();
    // Deleting absent elements is harmless.
    nft.del_vips(&vips).unwrap();
    let got = ns.ruleset();
    assert!(!got.contains("elements = { 192.0.2.10"), "{got}");
    assert!(!got.contains("2001:db8::52"), "{got}");
    assert!(!got.contains("fe80::52"), "{got}");

    nft.remove_table(Family::Ipv4).unwrap();
    nft.remove_table(Family::Ipv6).unwrap();
    // Removing an absent table is harmless.
    nft.remove_table(Family::Ipv6).unwrap();
    assert_eq!(ns.ruleset(), "");
}

#[test]
fn traffic_to_a_vip_in_the_set_is_dropped() {
    let Some(ns) = Netns::new("drop") else { return };
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&["addr", "add", "192.0.2.10/24", "dev", "d0"]);
    let ping = || {
        Command::new("ip")
            .args(["netns", "exec", &ns.0, "ping", "-c1", "-W1", "192.0.2.10"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !ping() {
        eprintln!("skipping: no ping in the namespace");
        return;
    }
    let mut nft = Nft::open_in_netns(&ns.path(), DEFAULT_TABLE, DEFAULT_PRIORITY).unwrap();
    nft.ensure_table(Family::Ipv4).unwrap();
    assert!(ping(), "empty set: reachable");
    let v = [Vip {
        addr: "192.0.2.10".parse().unwrap(),
        ifindex: 0,
    }];
    nft.add_vips(&v).unwrap();
    assert!(!ping(), "VIP in the set: dropped");
    nft.del_vips(&v).unwrap();
    assert!(ping(), "removed: reachable again");
    nft.remove_table(Family::Ipv4).unwrap();
}

/// A namespace with `eth0` (veth) and keepalived's VMACs `vrrp.51` and
/// `vrrp.52` on it; (namespace, eth0, vrrp.51, vrrp.52) ifindexes.
fn vmac_ns(tag: &str) -> Option<(Netns, u32, u32, u32)> {
    let ns = Netns::new(tag)?;
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    for (name, mac) in [
        ("vrrp.51", "00:00:5e:00:01:33"),
        ("vrrp.52", "00:00:5e:00:02:34"),
    ] {
        ns.ip(&[
            "link", "add", name, "link", "eth0", "address", mac, "type", "macvlan", "mode",
            "private",
        ]);
    }
    let (e, a, b) = (
        ns.ifindex("eth0"),
        ns.ifindex("vrrp.51"),
        ns.ifindex("vrrp.52"),
    );
    Some((ns, e, a, b))
}

#[test]
fn vmac_rules_match_keepalived() {
    let Some((ns, eth0, v51, v52)) = vmac_ns("vmac") else {
        return;
    };
    let mut nft = Nft::open_in_netns(&ns.path(), DEFAULT_TABLE, DEFAULT_PRIORITY).unwrap();
    let l4 = VmacLink {
        family: Family::Ipv4,
        vmac: v51,
        base: eth0,
    };
    let l6 = VmacLink {
        family: Family::Ipv6,
        vmac: v52,
        base: eth0,
    };
    nft.add_vmac(l4).unwrap();
    nft.add_vmac(l6).unwrap();
    // Adding again is harmless.
    nft.add_vmac(l6).unwrap();
    let got = ns.ruleset();
    let want = include_str!("keepalived-2.2.7-vmac-ruleset.txt");
    assert_eq!(got, want, "\n--- ours\n{got}\n--- keepalived 2.2.7\n{want}");
    assert_eq!(nft.families(), vec![Family::Ipv4, Family::Ipv6]);

    // vrrp_strict next to the VMAC rules, either order: keepalived's
    // layout (VMAC rule first in `out`).
    let vip = [Vip {
        addr: "192.0.2.200".parse().unwrap(),
        ifindex: v51,
    }];
    let want_ip = include_str!("keepalived-2.2.7-strict-vmac-ip.txt");
    let table_ip = || {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.0,
                "nft",
                "list",
                "table",
                "ip",
                "keepalived",
            ])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    nft.ensure_table(Family::Ipv4).unwrap();
    nft.add_vips(&vip).unwrap();
    let got = table_ip();
    assert_eq!(got, want_ip, "\n--- ours (vmac, then strict)\n{got}");
    nft.remove_table(Family::Ipv4).unwrap();
    nft.ensure_table(Family::Ipv4).unwrap();
    nft.add_vmac(l4).unwrap();
    nft.add_vips(&vip).unwrap();
    let got = table_ip();
    assert_eq!(got, want_ip, "\n--- ours (strict, then vmac)\n{got}");

    // Removing a VMAC empties the map (and set); the tables go at exit.
    nft.del_vmac(l6).unwrap();
    nft.del_vmac(l6).unwrap();
    let got = ns.ruleset();
    assert!(!got.contains("vrrp.52"), "{got}");
    assert!(got.contains("\"vrrp.51\" : \"eth0\""), "{got}");
    for f in nft.families() {
        nft.remove_table(f).unwrap();
    }
    assert_eq!(ns.ruleset(), "");
}

#[test]
fn add_vips_builds_a_missing_table() {
    let Some((ns, eth0, v51, _)) = vmac_ns("auto") else {
        return;
    };
    let mut nft = Nft::open_in_netns(&ns.path(), DEFAULT_TABLE, DEFAULT_PRIORITY).unwrap();
    nft.add_vmac(VmacLink {
        family: Family::Ipv4,
        vmac: v51,
        base: eth0,
    })
    .unwrap();
    // A strict instance first seen after the start (reload): its table is
    // built (keeping the VMAC rules) when its VIPs are first added.
    nft.add_vips(&[Vip {
        addr: "192.0.2.200".parse().unwrap(),
        ifindex: v51,
    }])
    .unwrap();
    let got = ns.ruleset();
    assert_eq!(got, include_str!("keepalived-2.2.7-strict-vmac-ip.txt"));
    nft.remove_table(Family::Ipv4).unwrap();
}
