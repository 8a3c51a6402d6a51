//! IPVS generic-netlink reply decoding (`crates/ipvs` `wire` + `msg`): the
//! framing of a dump datagram, `Reply` classification, and every attribute
//! decoder the client uses (family id, service, destination of both
//! families, info, timeouts). Must never panic.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::ipvs_decode(data));
