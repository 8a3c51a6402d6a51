//! The bodies of the fuzz targets for the vrrp, config, netlink and ipvs
//! crates, as plain functions over `&[u8]`. Two users:
//! * `fuzz_targets/<name>.rs` (cargo-fuzz, libFuzzer + ASan), via
//!   `#[path = "../harness.rs"] mod harness;`;
//! * `integration/tests/fuzz_regressions.rs` (stable `cargo test`), which
//!   replays `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` through the
//!   same functions, so CI without libFuzzer still checks every seed and
//!   every past finding.
//!
//! Each function must never panic except through its own `assert!`s (an
//! invariant that the crate under test broke).
#![allow(dead_code)]
// `cfg(fuzzing)` (set by cargo-fuzz) is unknown to the integration crate.
#![allow(unexpected_cfgs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::OnceLock;

use vrrp::time::{Centis, Instant};
use vrrp::wire::{self, ah, ipv4, ChecksumMode, Family, Packet, Version, VrrpRepr};
use vrrp::{Auth, Input, Instance, InstanceConfig, RxPacket, TimerKind, UnicastPeer};

/// Target names, in the order `fuzz/run.sh` lists them.
pub const TARGETS: &[&str] = &[
    "config_parse",
    "ipvs_decode",
    "netlink_decode",
    "vrrp_decode",
    "vrrp_roundtrip",
];

/// Runs the named target on one input; `false` if the name is unknown.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "config_parse" => config_parse(data),
        "ipvs_decode" => ipvs_decode(data),
        "netlink_decode" => netlink_decode(data),
        "vrrp_decode" => vrrp_decode(data),
        "vrrp_roundtrip" => vrrp_roundtrip(data),
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------- vrrp_decode

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().expect("literal"))
}

/// The configurations of the captured vectors
/// (crates/vrrp/tests/vectors/keepalived-2.2.7-adverts.txt), seen from the
/// receiving peer 192.0.2.2 / fe80::2.
pub fn vrrp_config(sel: u8) -> InstanceConfig {
    match sel % 6 {
        0 => {
            let mut c = InstanceConfig::new("VI_1", 51, Family::V4);
            c.vips = vec![v4("192.0.2.100")];
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        1 => {
            let mut c = InstanceConfig::new("VI_2", 52, Family::V4);
            c.vips = vec![v4("192.0.2.101"), v4("192.0.2.102")];
            c.auth = Auth::Pass(wire::vrrp::pass_auth_data(b"123456789012"));
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        2 => {
            let mut c = InstanceConfig::new("VI_3", 53, Family::V4);
            c.vips = vec![v4("192.0.2.103")];
            c.auth = Auth::Ah(wire::vrrp::pass_auth_data(b"secret"));
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        3 => {
            let mut c = InstanceConfig::new("VI_4", 54, Family::V4);
            c.version = Version::V3;
            c.adver_int = Centis(50);
            c.vips = vec![v4("192.0.2.104")];
            c.src_addr = Some(v4("192.0.2.2"));
            c
        }
        4 => {
            let mut c = InstanceConfig::new("VI_6", 56, Family::V4);
            c.version = Version::V3;
            c.vips = vec![v4("192.0.2.106")];
            c.src_addr = Some(v4("192.0.2.2"));
            let mut peer = UnicastPeer::new(v4("192.0.2.1"));
            peer.min_ttl = 0;
            peer.max_ttl = 255;
            c.unicast_peers = vec![peer];
            c.check_unicast_src = true;
            c
        }
        _ => {
            let mut c = InstanceConfig::new("VI_5", 55, Family::V6);
            c.vips = vec![
                IpAddr::V6("fe80::55".parse().unwrap()),
                IpAddr::V6("2001:db8::55".parse().unwrap()),
            ];
            c.src_addr = Some(IpAddr::V6("fe80::2".parse().unwrap()));
            c
        }
    }
}

/// Pure decoders: every accessor after a successful `new_checked`.
fn decode(data: &[u8]) {
    for family in [Family::V4, Family::V6] {
        if let Ok(p) = wire::peek(family, data) {
            let _ = p.vrid;
            let vrrp = &data[p.vrrp_offset..];
            if let Ok(pkt) = Packet::new_checked(vrrp, family) {
                let _ = pkt.checksum();
                let _ = pkt.auth_data(family);
                let _ = pkt.verify_checksum_v2(family);
                let _ = pkt.addresses(family).count();
                if family == Family::V4 {
                    let _ = pkt.verify_checksum_v3_ipv4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
                }
                if let Ok(r) = VrrpRepr::parse(&pkt, family) {
                    let _ = r.buffer_len(family);
                }
            }
        } else if let Err(e) = wire::peek(family, data) {
            let _ = e.log_line();
        }
    }
    if let Ok(ip) = ipv4::Ipv4Packet::new_checked(data) {
        let _ = (
            ip.header_len(),
            ip.total_len(),
            ip.ttl(),
            ip.src(),
            ip.dst(),
        );
        let payload = ip.payload();
        if let Ok(a) = ah::AhPacket::new_checked(payload) {
            let _ = (a.next_header(), a.spi(), a.seq(), a.icv().len());
        }
    }
}

fn packet(family: Family, flags: u8, data: &[u8]) -> RxPacket<'_> {
    match family {
        Family::V4 => RxPacket::V4(data),
        Family::V6 => RxPacket::V6 {
            payload: data,
            src: "fe80::64e1:28ff:fe69:9793".parse::<Ipv6Addr>().unwrap(),
            multicast: flags & 0x08 != 0,
            hop_limit: (flags & 0x10 != 0)
                .then(|| [255, 254, 1, 0, 64, 128, 255, 2][usize::from(flags >> 5)]),
        },
    }
}

/// Issue 6: a rejected advert leaves the state machine alone. When the
/// output holds `Rejected`, the state and the known master are unchanged and
/// nothing with an effect on the network or the scripts happened.
fn rx_checked(vi: &mut Instance, now: Instant, pkt: RxPacket<'_>) -> Vec<vrrp::Action> {
    use vrrp::Action as A;
    let (state, master) = (vi.state(), vi.master());
    let actions = vi.handle(now, Input::Packet(pkt));
    let rejected = actions
        .iter()
        .filter(|a| matches!(a, A::Rejected(_)))
        .count();
    if rejected > 0 {
        assert_eq!(rejected, 1, "one rejection per datagram: {actions:?}");
        assert_eq!(vi.state(), state, "state changed by a rejected advert");
        assert_eq!(vi.master(), master, "master changed by a rejected advert");
        for a in &actions {
            assert!(
                !matches!(
                    a,
                    A::SendAdvert { .. }
                        | A::AddVips
                        | A::RemoveVips
                        | A::SendGratuitous { .. }
                        | A::Notify(_)
                        | A::StateChanged { .. }
                        | A::PriorityChanged { .. }
                ),
                "effect from a rejected advert: {a:?}"
            );
        }
    }
    for a in &actions {
        if let A::Rejected(e) = a {
            let _ = e.log_line(vi.name());
            let _ = e.log_level();
        }
    }
    actions
}

/// VRRP receive path: wire decoders of both families, then
/// `Instance::handle(Input::Packet)` in BACKUP and in MASTER state.
/// Byte 0: instance config (bits 0-2), IPv6 multicast (bit 3), hop limit
/// present (bit 4) and which (bits 5-7); the rest is the datagram.
pub fn vrrp_decode(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    decode(rest);

    let cfg = vrrp_config(flags & 0x07);
    let family = cfg.family;

    // BACKUP: the advert may make it adopt a master, or preempt.
    let mut vi = Instance::new(cfg.clone());
    vi.handle(Instant::ZERO, Input::Startup);
    let t = Instant::from_micros(10_000);
    rx_checked(&mut vi, t, packet(family, flags, rest));
    // The same datagram twice (AH sequence numbers, master tracking).
    rx_checked(&mut vi, t.add_micros(1), packet(family, flags, rest));

    // MASTER: a lower/higher/equal priority advert or a priority-0 stop.
    let mut vi = Instance::new(cfg);
    vi.handle(Instant::ZERO, Input::Startup);
    if let Some((TimerKind::MasterDown, at)) = vi.next_deadline() {
        vi.handle(at, Input::TimerExpired(TimerKind::MasterDown));
    }
    let now = vi
        .next_deadline()
        .map(|(_, at)| at)
        .unwrap_or(Instant::from_micros(10_000_000));
    assert_eq!(vi.state(), vrrp::State::Master, "instance reached MASTER");
    rx_checked(&mut vi, now, packet(family, flags, rest));
    let _ = vi.stats();
}

// ------------------------------------------------------------- vrrp_roundtrip

/// VRRP codec round trip: what decodes encodes to bytes that decode to the
/// same `VrrpRepr`, octet for octet except checksum and v3 reserved bits.
/// Byte 0 bit 0: family (0 = IPv4, 1 = IPv6); the rest is a VRRP message.
pub fn vrrp_roundtrip(data: &[u8]) {
    let Some((&sel, msg)) = data.split_first() else {
        return;
    };
    let family = if sel & 1 == 0 { Family::V4 } else { Family::V6 };
    let Ok(pkt) = Packet::new_checked(msg, family) else {
        return;
    };
    let Ok(repr) = VrrpRepr::parse(&pkt, family) else {
        return;
    };
    let bytes = repr.to_bytes(family, ChecksumMode::Plain);
    assert_eq!(bytes.len(), repr.buffer_len(family), "emitted length");
    let orig = pkt.message(family);
    assert_eq!(orig.len(), bytes.len(), "message length");
    let again = Packet::new_checked(&bytes[..], family).expect("emitted message re-checks");
    let repr2 = VrrpRepr::parse(&again, family).expect("emitted message re-parses");
    assert_eq!(repr, repr2, "decode -> encode -> decode");
    assert!(
        again.verify_checksum_v2(family),
        "emitted checksum verifies"
    );
    for (i, (a, b)) in orig.iter().zip(&bytes).enumerate() {
        let ignore = i == 6 || i == 7 || (i == 4 && repr.version == Version::V3);
        if !ignore {
            assert_eq!(a, b, "octet {i} differs after round trip");
        }
    }
    if repr.version == Version::V3 {
        assert_eq!(orig[4] & 0x0f, bytes[4], "v3 interval high bits");
    }
}

// --------------------------------------------------------------- config_parse

fn config_scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ka-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        // Something for relative includes and globs to find.
        std::fs::write(d.join("inc.conf"), "global_defs {\n router_id fuzz\n}\n")
            .expect("write inc.conf");
        d
    })
}

/// Configuration reader (`config::load`, the only public entry point: the
/// lexer is private). The input is written to `keepalived.conf` in a private
/// scratch directory (relative includes resolve there). Every diagnostic
/// must be located; a failed load must carry an error; a loaded `Config`
/// must survive the trip to the children: under cargo-fuzz (`cfg(fuzzing)`)
/// through the real payload, `ipc::ConfigPayload::encode` → `decode`
/// (bincode 2 in a memfd, what the daemons receive); in the `cargo test`
/// replay (`integration/tests/fuzz_regressions.rs`, which does not depend
/// on ipc) through JSON (what `-d` dumps).
/// Byte 0 bit 0: `--lenient`; the rest is the file.
pub fn config_parse(data: &[u8]) {
    let Some((&sel, text)) = data.split_first() else {
        return;
    };
    let path = config_scratch().join("keepalived.conf");
    std::fs::write(&path, text).expect("write input");
    let opts = config::LoadOptions {
        path,
        config_id: Some("fuzz".into()),
        lenient: sel & 1 == 1,
    };
    let diags = match config::load(&opts) {
        Ok(l) => {
            config_roundtrip(&l.config);
            l.diagnostics
        }
        Err(f) => {
            assert!(
                f.diagnostics
                    .iter()
                    .any(|d| d.severity == config::Severity::Error),
                "Failed without an error"
            );
            f.diagnostics
        }
    };
    for d in &diags {
        assert!(d.line >= 1 && d.col >= 1, "unlocated diagnostic: {d}");
        let _ = d.to_string();
    }
}

// ------------------------------------------------------------- netlink_decode

/// rtnetlink receive path (`netlink::fuzzing::parse_datagram`): framing,
/// link/address/route/rule decoders, NLMSG_ERROR, the event link table.
pub fn netlink_decode(data: &[u8]) {
    let _ = netlink::fuzzing::parse_datagram(data);
}

// ---------------------------------------------------------------- ipvs_decode

fn ipvs_attrs_deep(area: &[u8], depth: u32) {
    for a in ipvs::wire::attrs(area).flatten() {
        let _ = (a.u8(), a.u16(), a.be16(), a.u32(), a.u64(), a.string());
        if depth < 4 {
            ipvs_attrs_deep(a.payload, depth + 1);
        }
    }
}

fn ipvs_decoders(area: &[u8]) {
    use ipvs::{msg, Family as F};
    let _ = msg::parse_family_id(area);
    let _ = msg::parse_service_reply(area);
    let _ = msg::parse_dest_reply(area, F::Inet);
    let _ = msg::parse_dest_reply(area, F::Inet6);
    let _ = msg::parse_info(area);
    let _ = msg::parse_timeouts(area);
    let _ = msg::decode_service(area);
    let _ = msg::decode_dest(area, F::Inet);
    let _ = msg::decode_dest(area, F::Inet6);
}

/// IPVS generic-netlink replies: dump framing, `Reply` classification and
/// every attribute decoder the client uses (family id, service, destination
/// of both families, info, timeouts); the raw bytes also as an attribute
/// area.
pub fn ipvs_decode(data: &[u8]) {
    for m in ipvs::wire::messages(data).flatten() {
        if let Ok(ipvs::wire::Reply::Data { attrs, .. }) = m.reply() {
            ipvs_decoders(attrs);
        }
    }
    ipvs_decoders(data);
    ipvs_attrs_deep(data, 0);
}

/// The parent ships the `Config` to its children as `ipc::ConfigPayload`
/// (bincode 2 in shared memory): whatever loads must come back equal.
#[cfg(fuzzing)]
fn config_roundtrip(c: &config::Config) {
    let payload = ipc::ConfigPayload::encode(c).expect("Config encodes into the payload");
    let back = payload.decode().expect("the payload decodes");
    assert_eq!(*back, *c, "Config payload round trip");
}

/// Without ipc (the `cargo test` replay): the JSON round trip.
#[cfg(not(fuzzing))]
fn config_roundtrip(c: &config::Config) {
    let json = serde_json::to_string(c).expect("Config serialises to JSON");
    let back: config::Config = serde_json::from_str(&json).expect("Config JSON deserialises");
    assert_eq!(back, *c, "Config JSON round trip");
}
