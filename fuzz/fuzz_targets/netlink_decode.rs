//! rtnetlink receive path (`keepalived_netlink::fuzzing::parse_datagram`):
//! netlink framing, link/address/route/rule decoders, NLMSG_ERROR, and the
//! event socket's link table. Must never panic.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::netlink_decode(data));
