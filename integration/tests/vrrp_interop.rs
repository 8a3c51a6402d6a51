//! Interoperation with the real keepalived 2.2.7 (`/usr/sbin/keepalived`,
//! run with `-n -l -D -P -f CONF -p -r -c -b` inside a namespace made
//! here), in both roles, for VRRPv2 multicast, VRRPv3 (advert_int 0.1),
//! unicast, auth PASS and VRRPv3 over IPv6: exactly one VIP holder after convergence,
//! takeover both ways, priority 0 honoured both ways.
//!
//! Node 1 (priority 100) is the master, node 2 (priority 90) the backup;
//! each variant runs once with ours as node 1 and once with keepalived as
//! node 1. Stopping the master with SIGTERM must move the VIP within the
//! skew time (0.648 s at adv 1, 0.0648 s at adv 0.1) plus polling slack.

#[path = "../src/vrrp_topology.rs"]
mod vrrp_topology;

use std::time::Duration;
use vrrp_topology::{run_parallel, sole_holder_for, wait_holder, Daemon, Impl, Inst, Lan};

const VIP4: &str = "192.0.2.200";
const VIP6: &str = "2001:db8::200";

#[derive(Clone, Copy)]
enum Variant {
    V2Mcast,
    V3Fast,
    Unicast,
    AuthPass,
    Ipv6,
    AuthAh,
}

fn inst(v: Variant, node: usize) -> Inst {
    let mut i = Inst {
        priority: if node == 1 { 100 } else { 90 },
        ..Default::default()
    };
    match v {
        Variant::V2Mcast => {}
        Variant::V3Fast => {
            i.version = 3;
            i.advert = "0.1";
        }
        Variant::Unicast => i.unicast = Some((node, vec![3 - node])),
        // 12 characters, as seed 004: both truncate to 8.
        Variant::AuthPass => i.auth_pass = Some("123456789012"),
        Variant::AuthAh => {
            i.auth_pass = Some("secret12");
            i.auth_ah = true;
        }
        Variant::Ipv6 => {
            i.version = 3;
            i.vip = VIP6;
            i.vip_prefix = 64;
        }
    }
    i
}

fn scenario(v: Variant, master: Impl, tag: &str) {
    let backup = if master == Impl::Ours {
        Impl::Theirs
    } else {
        Impl::Ours
    };
    let (lan, vip) = match v {
        Variant::Ipv6 => (Lan::new_v6(tag, 2), VIP6),
        _ => (Lan::new(tag, 2), VIP4),
    };
    let fast = matches!(v, Variant::V3Fast);
    let d1 = Daemon::start(&lan, 1, master, &inst(v, 1).conf("n1"));
    let d2 = Daemon::start(&lan, 2, backup, &inst(v, 2).conf("n2"));
    let conv = if fast { 3 } else { 9 };
    assert!(
        lan.wait_for(Duration::from_secs(conv), || lan.holders(vip) == vec![1])
            .is_some(),
        "{tag}: no convergence to node 1: {:?}\n--- node1\n{}\n--- node2\n{}",
        lan.holders(vip),
        d1.log_text(),
        d2.log_text()
    );
    assert!(
        sole_holder_for(&lan, vip, 1, Duration::from_secs(if fast { 1 } else { 3 })),
        "{tag}: VIP holders {:?}\n--- node1\n{}\n--- node2\n{}",
        lan.holders(vip),
        d1.log_text(),
        d2.log_text()
    );
    // No errors logged about the peer's adverts.
    for d in [&d1, &d2] {
        let log = d.log_text();
        for bad in [
            "invalid TTL",
            "checksum",
            "authentication",
            "advertisement interval mismatch",
            "too short",
            "too long",
        ] {
            assert!(
                !log.to_lowercase().contains(&bad.to_lowercase()),
                "{tag}: {:?} logged {bad:?}:\n{log}",
                d.which
            );
        }
    }
    d1.term();
    let t = wait_holder(&lan, vip, 2, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{tag}: no takeover\n{}", d2.log_text()));
    eprintln!(
        "MEASURED interop {tag}: {:?} master SIGTERM -> {:?} backup holds VIP after {:.3} s",
        master,
        backup,
        t.as_secs_f64()
    );
    let bound = if fast {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    assert!(t < bound, "{tag}: priority 0 not honoured: {t:?}");
    assert!(
        lan.wait_for(Duration::from_secs(2), || !lan.has_addr(1, vip))
            .is_some(),
        "{tag}: VIP left on the stopped master"
    );
}

/// Crash (SIGKILL of child and parent) of the master: the other
/// implementation takes over after master-down minus the age of the last
/// advert (adv 1: 3.648 s; v3 adv 0.1: 0.3648 s).
fn crash(v: Variant, master: Impl, tag: &str) {
    let backup = if master == Impl::Ours {
        Impl::Theirs
    } else {
        Impl::Ours
    };
    let lan = Lan::new(tag, 2);
    let fast = matches!(v, Variant::V3Fast);
    let d1 = Daemon::start(&lan, 1, master, &inst(v, 1).conf("n1"));
    let d2 = Daemon::start(&lan, 2, backup, &inst(v, 2).conf("n2"));
    assert!(
        lan.wait_for(Duration::from_secs(if fast { 3 } else { 9 }), || {
            lan.holders(VIP4) == vec![1]
        })
        .is_some(),
        "{tag}: no convergence"
    );
    std::thread::sleep(Duration::from_millis(if fast { 500 } else { 1500 }));
    d1.crash();
    let t = wait_holder(&lan, VIP4, 2, Duration::from_secs(6))
        .unwrap_or_else(|| panic!("{tag}: no takeover\n{}", d2.log_text()));
    eprintln!(
        "MEASURED interop {tag}: {:?} master crash -> {:?} backup holds VIP after {:.3} s",
        master,
        backup,
        t.as_secs_f64()
    );
    let (lo, hi) = if fast {
        (Duration::from_millis(250), Duration::from_millis(500))
    } else {
        (Duration::from_millis(2500), Duration::from_millis(3800))
    };
    assert!(t > lo && t < hi, "{tag}: crash takeover {t:?}");
}

#[test]
fn vrrp_interop_with_keepalived() {
    if let Some(why) = vrrp_topology::unavailable(true) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    vrrp_topology::our_binary();
    run_parallel(vec![
        ("v2 ours master", || {
            scenario(Variant::V2Mcast, Impl::Ours, "i2o")
        }),
        ("v2 theirs master", || {
            scenario(Variant::V2Mcast, Impl::Theirs, "i2t")
        }),
        ("v3 ours master", || {
            scenario(Variant::V3Fast, Impl::Ours, "i3o")
        }),
        ("v3 theirs master", || {
            scenario(Variant::V3Fast, Impl::Theirs, "i3t")
        }),
        ("unicast ours master", || {
            scenario(Variant::Unicast, Impl::Ours, "iuo")
        }),
        ("unicast theirs master", || {
            scenario(Variant::Unicast, Impl::Theirs, "iut")
        }),
        ("auth ours master", || {
            scenario(Variant::AuthPass, Impl::Ours, "iao")
        }),
        ("auth theirs master", || {
            scenario(Variant::AuthPass, Impl::Theirs, "iat")
        }),
        ("ah ours master", || {
            scenario(Variant::AuthAh, Impl::Ours, "iho")
        }),
        ("ah theirs master", || {
            scenario(Variant::AuthAh, Impl::Theirs, "iht")
        }),
        ("ipv6 ours master", || {
            scenario(Variant::Ipv6, Impl::Ours, "i6o")
        }),
        ("crash v2 ours master", || {
            crash(Variant::V2Mcast, Impl::Ours, "ico")
        }),
        ("crash v2 theirs master", || {
            crash(Variant::V2Mcast, Impl::Theirs, "ict")
        }),
        ("crash v3 ours master", || {
            crash(Variant::V3Fast, Impl::Ours, "ifo")
        }),
        ("crash v3 theirs master", || {
            crash(Variant::V3Fast, Impl::Theirs, "ift")
        }),
        ("ipv6 theirs master", || {
            scenario(Variant::Ipv6, Impl::Theirs, "i6t")
        }),
    ]);
}
