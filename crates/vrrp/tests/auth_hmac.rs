//! keepalived 2.4 `auth_hmac` (draft-cassen-vrrp-auth-hmac): the draft's
//! appendix vectors, tampering, key rotation, replay, modes, IPv6 with a
//! kernel-filled checksum, and two-node runs through wall-clock steps that
//! must never leave both nodes MASTER.

use std::net::{IpAddr, Ipv6Addr};

use keepalived_vrrp::auth_hmac::{
    AntiReplay, AuthHmacConfig, HmacError, HmacKey, HmacMode, HmacState, TRAILER_LEN,
};
use keepalived_vrrp::time::{Centis, Instant};
use keepalived_vrrp::wire::{Family, Version};
use keepalived_vrrp::{
    Action, Input, Instance, InstanceConfig, RxError, RxPacket, State, UnicastPeer,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key(id: u8, first: u8) -> HmacKey {
    HmacKey {
        id,
        key: (first..first + 32).collect(),
    }
}

fn hcfg(keys: Vec<HmacKey>, active: u8, mode: HmacMode) -> AuthHmacConfig {
    AuthHmacConfig {
        keys,
        active_key: active,
        mode,
        anti_replay: AntiReplay::Time,
        time_window: 5,
    }
}

/// Draft appendix: key 00..1f, VRID 51, priority 200, sequence
/// 0x6800000080000000 (1744830464.5 s UTC).
const V4_VEC: &str = "3133c80100644402c0000264010100006800000080000000\
1b84bc4e8e43892dc6d98448f8ee2265";
const V6_VEC: &str = "3133c8010064a2e9fe800000000000000000000000000100\
010100006800000080000000c8c56146ebfd66ee10ec4d8186461b78";
const VEC_WALL_US: u64 = 1_744_830_464_500_000;

fn vec_state() -> HmacState {
    let mut h = HmacState::new(hcfg(vec![key(1, 0)], 1, HmacMode::Enforce));
    h.set_wall_clock(Instant::ZERO, VEC_WALL_US);
    h
}

#[test]
fn draft_appendix_vectors_verify_and_sign_identically() {
    for (v, fam, src, mlen) in [
        (V4_VEC, Family::V4, "198.51.100.10", 12),
        (V6_VEC, Family::V6, "fe80::10", 24),
    ] {
        let img = hex(v);
        let src: IpAddr = src.parse().unwrap();
        let mut h = vec_state();
        assert_eq!(
            h.verify(Instant::ZERO, fam, src, &img[..mlen], Some(&img[mlen..])),
            Ok(()),
            "{fam:?}"
        );
        // Signing the same message at the same instant gives the same octets.
        let mut s = vec_state();
        let t = s.sign(Instant::ZERO, fam, src, &img[..mlen]).unwrap();
        assert_eq!(&t[..], &img[mlen..], "{fam:?}");
    }
}

#[test]
fn draft_appendix_mutations() {
    let img = hex(V6_VEC);
    let src: IpAddr = "fe80::10".parse().unwrap();
    // (offset, expected) as in upstream's test/auth_hmac_test.c.
    let cases: [(usize, Result<(), HmacError>); 10] = [
        (2, Err(HmacError::BadHmac)),        // priority
        (5, Err(HmacError::BadHmac)),        // advert interval
        (6, Ok(())),                         // checksum: read as zero
        (8 + 15, Err(HmacError::BadHmac)),   // VIP
        (24, Err(HmacError::Malformed)),     // ext type
        (25, Err(HmacError::UnknownKey(0))), // key id 1 -> 0
        (26, Err(HmacError::Malformed)),     // reserved
        (28, Err(HmacError::BadHmac)),       // seconds
        (34, Err(HmacError::BadHmac)),       // counter
        (36, Err(HmacError::BadHmac)),       // hmac
    ];
    for (off, want) in cases {
        let mut m = img.clone();
        m[off] ^= if off == 25 { 0x01 } else { 0x40 };
        let mut h = vec_state();
        let got = h.verify(Instant::ZERO, Family::V6, src, &m[..24], Some(&m[24..]));
        assert_eq!(got, want, "offset {off}");
    }
    // The wrong source (another sender splicing the trailer) fails.
    let mut h = vec_state();
    let other: IpAddr = "fe80::11".parse().unwrap();
    assert_eq!(
        h.verify(
            Instant::ZERO,
            Family::V6,
            other,
            &img[..24],
            Some(&img[24..])
        ),
        Err(HmacError::BadHmac)
    );
}

#[test]
fn replay_and_freshness() {
    let img = hex(V4_VEC);
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    let mut h = vec_state();
    let (pdu, tr) = (&img[..12], &img[12..]);
    assert_eq!(
        h.verify(Instant::ZERO, Family::V4, src, pdu, Some(tr)),
        Ok(())
    );
    // The same advert again, one second later: a replay.
    let t1 = Instant::from_micros(1_000_000);
    assert_eq!(
        h.verify(t1, Family::V4, src, pdu, Some(tr)),
        Err(HmacError::Replay)
    );
    // Captured, replayed 10 s later to a fresh receiver: stale by 10 s.
    let mut fresh = vec_state();
    let t10 = Instant::from_micros(10_000_000);
    assert_eq!(
        fresh.verify(t10, Family::V4, src, pdu, Some(tr)),
        Err(HmacError::Stale {
            skew: 10,
            window: 5
        })
    );
    // And to the receiver that saw it: after the mark expired (> window of
    // silence) the first-contact check refuses it as stale, not as new.
    assert_eq!(
        h.verify(t10, Family::V4, src, pdu, Some(tr)),
        Err(HmacError::Stale {
            skew: 10,
            window: 5
        })
    );
    assert_eq!(
        HmacError::Stale { skew: 10, window: 5 }.log_line("VI_1", src),
        "(VI_1) stale authentication trailer from 198.51.100.10, clock skew 10 sec exceeds window 5 sec"
    );
}

// ----- two instances -----

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn node(name: &str, me: &str, peer: &str, prio: u8, auth: Option<AuthHmacConfig>) -> Instance {
    let mut c = InstanceConfig::new(name, 51, Family::V4);
    c.version = Version::V3;
    c.adver_int = Centis(100);
    c.priority = prio;
    c.src_addr = Some(me.parse().unwrap());
    c.vips = vec!["192.0.2.100".parse().unwrap()];
    c.unicast_peers = vec![UnicastPeer::new(peer.parse().unwrap())];
    c.auth_hmac = auth.map(Box::new);
    Instance::new(c)
}

const T0_WALL: u64 = 1_800_000_000_000_000;

/// Two nodes on a lossless wire with 1 ms latency. `wall(i, t)` is node
/// i's wall clock at monotonic t (µs), reported before every input.
struct Net {
    nodes: [Instance; 2],
    timers: [Vec<(keepalived_vrrp::TimerKind, Instant)>; 2],
    wire: Vec<(u64, usize, Vec<u8>)>,
    rejected: Vec<(usize, RxError)>,
    both_master_us: u64,
    sent: [Vec<Vec<u8>>; 2],
}

impl Net {
    fn new(a: Instance, b: Instance) -> Self {
        Net {
            nodes: [a, b],
            timers: [Vec::new(), Vec::new()],
            wire: Vec::new(),
            rejected: Vec::new(),
            both_master_us: 0,
            sent: [Vec::new(), Vec::new()],
        }
    }
    fn apply(&mut self, i: usize, now: u64, acts: Vec<Action>) {
        for a in acts {
            match a {
                Action::ArmTimer { kind, at } => {
                    self.timers[i].retain(|(k, _)| *k != kind);
                    self.timers[i].push((kind, at));
                }
                Action::CancelTimer { kind } => self.timers[i].retain(|(k, _)| k != &kind),
                Action::SendAdvert { packets, .. } => {
                    for p in packets {
                        self.sent[i].push(p.data.clone());
                        self.wire.push((now + 1000, 1 - i, p.data));
                    }
                }
                Action::Rejected(e) => self.rejected.push((i, e)),
                _ => {}
            }
        }
    }
    fn run(&mut self, until_us: u64, wall: &dyn Fn(usize, u64) -> u64) {
        for i in 0..2 {
            self.nodes[i].set_wall_clock(Instant::ZERO, wall(i, 0));
            let acts = self.nodes[i].handle(Instant::ZERO, Input::Startup);
            self.apply(i, 0, acts);
        }
        let mut now = 0u64;
        while now < until_us {
            // Next event.
            let mut next: Option<(u64, usize, Option<keepalived_vrrp::TimerKind>)> = None;
            for i in 0..2 {
                for (k, at) in &self.timers[i] {
                    let t = at.as_micros();
                    if next.is_none_or(|n| t < n.0) {
                        next = Some((t, i, Some(*k)));
                    }
                }
            }
            for (t, i, _) in &self.wire {
                if next.is_none_or(|n| *t < n.0) {
                    next = Some((*t, *i, None));
                }
            }
            let Some((t, i, kind)) = next else { break };
            let dt = t.saturating_sub(now);
            if self.nodes[0].state() == State::Master && self.nodes[1].state() == State::Master {
                self.both_master_us += dt;
            }
            now = t.max(now);
            let inst = Instant::from_micros(now);
            self.nodes[i].set_wall_clock(inst, wall(i, now));
            let acts = match kind {
                Some(k) => {
                    self.timers[i].retain(|(kk, _)| *kk != k);
                    self.nodes[i].handle(inst, Input::TimerExpired(k))
                }
                None => {
                    let pos = self
                        .wire
                        .iter()
                        .position(|(wt, wi, _)| *wt == t && *wi == i)
                        .unwrap();
                    let (_, _, d) = self.wire.remove(pos);
                    self.nodes[i].handle(inst, Input::Packet(RxPacket::V4(&d)))
                }
            };
            self.apply(i, now, acts);
        }
    }
}

#[test]
fn signed_pair_elects_one_master_and_adverts_carry_the_trailer() {
    let k = vec![key(1, 0)];
    let mut net = Net::new(
        node(
            "VI_A",
            A,
            B,
            200,
            Some(hcfg(k.clone(), 1, HmacMode::Enforce)),
        ),
        node("VI_B", B, A, 100, Some(hcfg(k, 1, HmacMode::Enforce))),
    );
    net.run(30_000_000, &|_, t| T0_WALL + t);
    assert_eq!(net.nodes[0].state(), State::Master);
    assert_eq!(net.nodes[1].state(), State::Backup);
    assert!(net.rejected.is_empty(), "{:?}", net.rejected);
    // IPv4 datagram: 20 (IP) + 8 + 4 (one VIP) + 28, tot_len says so, and
    // the trailer's key id is 1.
    let d = &net.sent[0][net.sent[0].len() - 1];
    assert_eq!(d.len(), 20 + 12 + TRAILER_LEN);
    assert_eq!(u16::from_be_bytes([d[2], d[3]]) as usize, d.len());
    assert_eq!(&d[32..36], &[1, 1, 0, 0]);
    // Sequences grow strictly advert after advert.
    let seqs: Vec<u64> = net.sent[0]
        .iter()
        .map(|d| u64::from_be_bytes(d[36..44].try_into().unwrap()))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:x?}");
}

#[test]
fn wall_clock_steps_never_make_two_masters() {
    // Node A (master) steps +1 h at 10 s, back at 20 s; node B (backup)
    // steps -1 h at 15 s and +2 h at 25 s: the wire sequence follows the
    // monotonic clock, so nothing is rejected and B never takes over.
    let k = vec![key(1, 0)];
    let mut net = Net::new(
        node(
            "VI_A",
            A,
            B,
            200,
            Some(hcfg(k.clone(), 1, HmacMode::Enforce)),
        ),
        node("VI_B", B, A, 100, Some(hcfg(k, 1, HmacMode::Enforce))),
    );
    let hour = 3_600_000_000u64;
    net.run(60_000_000, &|i, t| {
        let base = T0_WALL + t;
        match i {
            0 if (10_000_000..20_000_000).contains(&t) => base + hour,
            1 if (15_000_000..25_000_000).contains(&t) => base - hour,
            1 if t >= 25_000_000 => base + 2 * hour,
            _ => base,
        }
    });
    assert!(net.rejected.is_empty(), "{:?}", net.rejected);
    assert_eq!(net.nodes[0].state(), State::Master);
    assert_eq!(net.nodes[1].state(), State::Backup);
    // Never both MASTER, not even for a moment.
    assert_eq!(net.both_master_us, 0);
    let seqs: Vec<u64> = net.sent[0]
        .iter()
        .map(|d| u64::from_be_bytes(d[36..44].try_into().unwrap()))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]));
    // A is master from about 3.6 s to 60 s, one advert a second: the
    // seconds field moved by about 56, not by an hour.
    let secs = |s: u64| (s >> 32) as i64;
    let span = secs(*seqs.last().unwrap()) - secs(seqs[0]);
    assert_eq!(seqs.len() as i64, span + 1, "one advert per second");
    assert!((55..=58).contains(&span), "span {span}");
}

#[test]
fn forged_and_unsigned_adverts_cannot_demote_the_master() {
    let k = vec![key(1, 0)];
    let mut a = node("VI_A", A, B, 100, Some(hcfg(k, 1, HmacMode::Enforce)));
    a.set_wall_clock(Instant::ZERO, T0_WALL);
    a.handle(Instant::ZERO, Input::Startup);
    a.handle(
        Instant::from_micros(4_000_000),
        Input::TimerExpired(keepalived_vrrp::TimerKind::MasterDown),
    );
    assert_eq!(a.state(), State::Master);
    // A peer (B) signing with the wrong key, priority 255.
    let mut b = node(
        "VI_B",
        B,
        A,
        255,
        Some(hcfg(vec![key(1, 100)], 1, HmacMode::Enforce)),
    );
    b.set_wall_clock(Instant::ZERO, T0_WALL);
    b.handle(Instant::ZERO, Input::Startup);
    let acts = b.handle(
        Instant::from_micros(4_100_000),
        Input::TimerExpired(keepalived_vrrp::TimerKind::MasterDown),
    );
    let forged = acts
        .iter()
        .find_map(|x| match x {
            Action::SendAdvert { packets, .. } => Some(packets[0].data.clone()),
            _ => None,
        })
        .expect("B goes master and sends");
    let now = Instant::from_micros(4_200_000);
    let r = a.handle(now, Input::Packet(RxPacket::V4(&forged)));
    assert!(r.iter().any(|x| matches!(
        x,
        Action::Rejected(RxError::AuthHmac {
            err: HmacError::BadHmac,
            ..
        })
    )));
    assert_eq!(a.state(), State::Master);
    // The same advert without a trailer: missing (enforce).
    let mut plain = forged[..forged.len() - TRAILER_LEN].to_vec();
    let tot = plain.len() as u16;
    plain[2..4].copy_from_slice(&tot.to_be_bytes());
    let r = a.handle(now, Input::Packet(RxPacket::V4(&plain)));
    let e = r
        .iter()
        .find_map(|x| match x {
            Action::Rejected(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        e.log_line("VI_A").unwrap(),
        "(VI_A) missing authentication trailer from 192.0.2.2"
    );
    assert_eq!(a.state(), State::Master);
}

#[test]
fn key_rotation_make_before_break() {
    let both = vec![key(1, 0), key(2, 50)];
    // Step 1: B knows keys 1 and 2, A signs with 1.
    let mut net = Net::new(
        node(
            "VI_A",
            A,
            B,
            200,
            Some(hcfg(vec![key(1, 0)], 1, HmacMode::Enforce)),
        ),
        node(
            "VI_B",
            B,
            A,
            100,
            Some(hcfg(both.clone(), 1, HmacMode::Enforce)),
        ),
    );
    net.run(10_000_000, &|_, t| T0_WALL + t);
    assert!(net.rejected.is_empty());
    // Step 2: A reloads with both keys and signs with 2; B still accepts.
    let mut c = net.nodes[0].config().clone();
    c.auth_hmac = Some(Box::new(hcfg(both, 2, HmacMode::Enforce)));
    let now = Instant::from_micros(10_500_000);
    let acts = net.nodes[0].handle(now, Input::Reload(Box::new(c)));
    net.apply(0, now.as_micros(), acts);
    let mut more = Net {
        nodes: net.nodes.clone(),
        timers: net.timers.clone(),
        wire: net.wire.clone(),
        rejected: Vec::new(),
        both_master_us: 0,
        sent: [Vec::new(), Vec::new()],
    };
    // Drive manually: deliver A's next adverts to B.
    for s in 11..15u64 {
        let t = Instant::from_micros(s * 1_000_000);
        let acts = more.nodes[0].handle(t, Input::TimerExpired(keepalived_vrrp::TimerKind::Advert));
        more.apply(0, t.as_micros(), acts);
    }
    let signed2: Vec<Vec<u8>> = more.sent[0].clone();
    assert!(!signed2.is_empty());
    for (n, d) in signed2.iter().enumerate() {
        assert_eq!(d[33], 2, "key id 2 on the wire");
        let t = Instant::from_micros(11_000_000 + n as u64 * 1_000_000 + 1000);
        let r = more.nodes[1].handle(t, Input::Packet(RxPacket::V4(d)));
        assert!(!r.iter().any(|x| matches!(x, Action::Rejected(_))), "{r:?}");
    }
    // Step 3: B drops key 1; an advert signed with key 1 is now refused.
    let mut c = more.nodes[1].config().clone();
    c.auth_hmac = Some(Box::new(hcfg(vec![key(2, 50)], 2, HmacMode::Enforce)));
    more.nodes[1].handle(Instant::from_micros(16_000_000), Input::Reload(Box::new(c)));
    let last = signed2.last().unwrap().clone();
    // Re-sign "last" with key 1 through a key-1 signer.
    let mut s1 = HmacState::new(hcfg(vec![key(1, 0)], 1, HmacMode::Enforce));
    s1.set_wall_clock(Instant::ZERO, T0_WALL + 16_000_000);
    let mut d1 = last[..last.len() - TRAILER_LEN].to_vec();
    let tr = s1
        .sign(Instant::ZERO, Family::V4, A.parse().unwrap(), &d1[20..])
        .unwrap();
    d1.extend_from_slice(&tr);
    let r = more.nodes[1].handle(
        Instant::from_micros(16_000_000),
        Input::Packet(RxPacket::V4(&d1)),
    );
    assert!(
        r.iter().any(|x| matches!(
            x,
            Action::Rejected(RxError::AuthHmac {
                err: HmacError::UnknownKey(1),
                ..
            })
        )),
        "{r:?}"
    );
}

#[test]
fn modes_permissive_and_receive_only() {
    let k = vec![key(1, 0)];
    // receive-only A sends no trailer; a permissive B accepts that.
    let mut net = Net::new(
        node(
            "VI_A",
            A,
            B,
            200,
            Some(hcfg(k.clone(), 1, HmacMode::ReceiveOnly)),
        ),
        node(
            "VI_B",
            B,
            A,
            100,
            Some(hcfg(k.clone(), 1, HmacMode::Permissive)),
        ),
    );
    net.run(10_000_000, &|_, t| T0_WALL + t);
    assert!(net.rejected.is_empty(), "{:?}", net.rejected);
    assert_eq!(net.sent[0].last().unwrap().len(), 20 + 12);
    assert_eq!(net.nodes[1].state(), State::Backup);
    // receive-only A and an enforcing B: B refuses the unsigned adverts and
    // (as keepalived) ends up MASTER too; the log says why.
    let mut net = Net::new(
        node(
            "VI_A",
            A,
            B,
            200,
            Some(hcfg(k.clone(), 1, HmacMode::ReceiveOnly)),
        ),
        node("VI_B", B, A, 100, Some(hcfg(k, 1, HmacMode::Enforce))),
    );
    net.run(10_000_000, &|_, t| T0_WALL + t);
    assert!(net.rejected.iter().any(|(i, e)| *i == 1
        && matches!(
            e,
            RxError::AuthHmac {
                err: HmacError::Missing,
                ..
            }
        )));
}

#[test]
fn ipv6_signed_advert_survives_the_kernel_checksum() {
    let k = vec![key(1, 0)];
    let mk = |name: &str, me: &str, prio: u8| {
        let mut c = InstanceConfig::new(name, 51, Family::V6);
        c.priority = prio;
        c.src_addr = Some(me.parse().unwrap());
        c.vips = vec![
            "fe80::100".parse().unwrap(),
            "2001:db8::100".parse().unwrap(),
        ];
        c.auth_hmac = Some(Box::new(hcfg(k.clone(), 1, HmacMode::Enforce)));
        let mut vi = Instance::new(c);
        vi.set_wall_clock(Instant::ZERO, T0_WALL);
        vi
    };
    let mut a = mk("VI_6", "fe80::1", 200);
    let mut b = mk("VI_6", "fe80::2", 100);
    b.handle(Instant::ZERO, Input::Startup);
    a.handle(Instant::ZERO, Input::Startup);
    let acts = a.handle(
        Instant::from_micros(4_000_000),
        Input::TimerExpired(keepalived_vrrp::TimerKind::MasterDown),
    );
    let mut d = acts
        .iter()
        .find_map(|x| match x {
            Action::SendAdvert { packets, .. } => Some(packets[0].data.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(d.len(), 8 + 32 + TRAILER_LEN);
    // The kernel writes the IPv6 checksum after signing.
    d[6] = 0xbe;
    d[7] = 0xef;
    let r = b.handle(
        Instant::from_micros(4_001_000),
        Input::Packet(RxPacket::V6 {
            payload: &d,
            src: "fe80::1".parse::<Ipv6Addr>().unwrap(),
            multicast: true,
            hop_limit: Some(255),
        }),
    );
    assert!(!r.iter().any(|x| matches!(x, Action::Rejected(_))), "{r:?}");
    assert_eq!(b.master().map(|m| m.1), Some(200));
    // Replayed: refused.
    let r = b.handle(
        Instant::from_micros(4_500_000),
        Input::Packet(RxPacket::V6 {
            payload: &d,
            src: "fe80::1".parse::<Ipv6Addr>().unwrap(),
            multicast: true,
            hop_limit: Some(255),
        }),
    );
    assert!(r.iter().any(|x| matches!(
        x,
        Action::Rejected(RxError::AuthHmac {
            err: HmacError::Replay,
            ..
        })
    )));
}

/// `Instance::set_wall_clock` called periodically (as the daemon does every
/// 5 s): a step is logged once at info level, the disagreement is followed
/// after it lasted 300 s (logged again), and readings in step log nothing.
#[test]
fn periodic_wall_clock_readings_log_the_step_and_the_follow() {
    let mut a = node(
        "VI_1",
        A,
        B,
        150,
        Some(hcfg(vec![key(1, 0)], 1, HmacMode::Enforce)),
    );
    assert!(a.set_wall_clock(Instant::ZERO, T0_WALL).is_none(), "anchor");
    let every = 5_000_000u64;
    let mut lines = Vec::new();
    for n in 1..=12u64 {
        // In step for the first minute; then the wall clock jumps 1 h ahead.
        let mono = n * every;
        let wall = T0_WALL + mono;
        if let Some(l) = a.set_wall_clock(Instant::from_micros(mono), wall) {
            lines.push(l.text);
        }
    }
    assert!(lines.is_empty(), "in step: {lines:?}");
    for n in 13..=(12 + 61u64) {
        let mono = n * every;
        let wall = T0_WALL + mono + 3_600_000_000;
        if let Some(l) = a.set_wall_clock(Instant::from_micros(mono), wall) {
            assert_eq!(l.level, keepalived_vrrp::LogLevel::Info);
            lines.push(l.text);
        }
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        "(VI_1) wall clock stepped by 3600 s; auth_hmac sequence unaffected unless it lasts 300 s"
    );
    assert_eq!(
        lines[1],
        "(VI_1) wall clock ahead of the auth_hmac clock by 3600 s for 300 s - following it"
    );
}
