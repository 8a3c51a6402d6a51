//! Stable-toolchain replay of the fuzz corpora and of past findings.
//!
//! `fuzz/harness.rs` holds the bodies of the vrrp/config/netlink/ipvs fuzz
//! targets as plain functions; cargo-fuzz builds them with libFuzzer + ASan
//! (`fuzz/run.sh`), and this test runs the very same functions on every file
//! of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`, each under
//! `catch_unwind`, so a plain `cargo test` (no nightly features, no
//! libFuzzer) still proves that no committed seed and no past crash input
//! panics. A crash found by `fuzz/run.sh` is fixed by its owner, then its
//! artifact is copied to `fuzz/regressions/<target>/` (see notes/fuzz.md).
//!
//! The checker targets (http_response, smtp_reply, dns_response) are
//! replayed by the check crate's own corpus test.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("fuzz")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(sub).join(target);
        if let Ok(rd) = std::fs::read_dir(&dir) {
            v.extend(
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file()),
            );
        }
    }
    v.sort();
    v
}

fn replay(target: &str) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no seeds for {target} in fuzz/corpus/{target}/"
    );
    let mut failures = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("read seed");
        let r = std::panic::catch_unwind(|| assert!(harness::run(target, &data)));
        if r.is_err() {
            failures.push(f.display().to_string());
        }
    }
    println!("{target}: {} inputs replayed", files.len());
    assert!(
        failures.is_empty(),
        "{target}: inputs that panic (base64 with `base64 -w0 FILE`):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_target_has_a_seed_corpus() {
    for t in harness::TARGETS {
        assert!(inputs(t).len() >= 3, "fuzz/corpus/{t}/ needs seeds");
    }
}

#[test]
fn vrrp_decode_corpus() {
    replay("vrrp_decode");
}

#[test]
fn vrrp_roundtrip_corpus() {
    replay("vrrp_roundtrip");
}

#[test]
fn config_parse_corpus() {
    replay("config_parse");
}

#[test]
fn netlink_decode_corpus() {
    replay("netlink_decode");
}

#[test]
fn ipvs_decode_corpus() {
    replay("ipvs_decode");
}

/// The seeds really exercise the receive validation: the captured
/// keepalived 2.2.7 adverts are accepted by the matching instance (no
/// `Rejected`), so the fuzzer starts from inputs that reach the state
/// machine rather than the first length check.
#[test]
fn vrrp_seeds_reach_the_state_machine() {
    use vrrp::time::Instant;
    use vrrp::{Action, Input, Instance, RxPacket, State};
    for f in inputs("vrrp_decode") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with("-id1") && name != "v3-v6" {
            continue;
        }
        let data = std::fs::read(&f).unwrap();
        let (sel, dgram) = data.split_first().unwrap();
        let cfg = harness::vrrp_config(*sel);
        let family = cfg.family;
        let mut vi = Instance::new(cfg);
        vi.handle(Instant::ZERO, Input::Startup);
        let pkt = match family {
            vrrp::wire::Family::V4 => RxPacket::V4(dgram),
            vrrp::wire::Family::V6 => RxPacket::V6 {
                payload: dgram,
                src: "fe80::64e1:28ff:fe69:9793".parse().unwrap(),
                multicast: true,
                hop_limit: Some(255),
            },
        };
        let actions = vi.handle(Instant::from_micros(10_000), Input::Packet(pkt));
        let rejected: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Rejected(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        assert!(rejected.is_empty(), "{name}: seed rejected: {rejected:?}");
        assert_eq!(vi.state(), State::Backup, "{name}");
        assert_eq!(vi.stats().advert_rcvd, 1, "{name}: advert counted");
    }
}
