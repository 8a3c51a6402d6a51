//! Programs keepalived's table in a throw-away network namespace and checks
//! `nft list ruleset` against what keepalived 2.2.7 itself produced there
//! (`tests/keepalived-2.2.7-ruleset.txt`, captured with vrrp_strict, one
//! IPv4 VIP 192.0.2.10 and IPv6 VIPs fe80::52 + 2001:db8::52 on `d0`).
//! Needs root (skips otherwise).

use keepalived_nft::{Family, Nft, Vip, DEFAULT_PRIORITY, DEFAULT_TABLE};
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

    // Re-running ensure_table replaces a left-over table (elements gone).
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
