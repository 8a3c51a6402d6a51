//! IPVS generic-netlink reply decoding (`crates/ipvs` `wire` + `msg`): the
//! framing of a dump datagram, `Reply` classification, and every attribute
//! decoder the client uses (family id, service, destination of both
//! families, info, timeouts). Must never panic.
#![no_main]
use ipvs::{msg, wire, Family};
use libfuzzer_sys::fuzz_target;

fn attrs_deep(area: &[u8], depth: u32) {
    for a in wire::attrs(area).flatten() {
        let _ = (a.u8(), a.u16(), a.be16(), a.u32(), a.u64(), a.string());
        if depth < 4 {
            attrs_deep(a.payload, depth + 1);
        }
    }
}

fn decoders(area: &[u8]) {
    let _ = msg::parse_family_id(area);
    let _ = msg::parse_service_reply(area);
    let _ = msg::parse_dest_reply(area, Family::Inet);
    let _ = msg::parse_dest_reply(area, Family::Inet6);
    let _ = msg::parse_info(area);
    let _ = msg::parse_timeouts(area);
    let _ = msg::decode_service(area);
    let _ = msg::decode_dest(area, Family::Inet);
    let _ = msg::decode_dest(area, Family::Inet6);
}

fuzz_target!(|data: &[u8]| {
    for m in wire::messages(data).flatten() {
        if let Ok(wire::Reply::Data { attrs, .. }) = m.reply() {
            decoders(attrs);
        }
    }
    // The raw bytes as an attribute area too (the nested payloads).
    decoders(data);
    attrs_deep(data, 0);
});
