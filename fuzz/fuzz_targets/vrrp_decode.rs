//! VRRP receive path: arbitrary bytes through the wire decoders (IPv4
//! header, AH, VRRP v2/v3 over IPv4 and IPv6) and through
//! `Instance::handle(Input::Packet)` of a configured instance, in BACKUP
//! and in MASTER state, so that the whole of keepalived's receive
//! validation (`vrrp_check_packet` order) runs. Must never panic.
//!
//! Input layout: byte 0 selects the instance configuration (low 3 bits,
//! see `config`) and the IPv6 ancillary data (bit 3: multicast
//! destination, bit 4: hop limit present, bits 5-7 pick the hop limit);
//! the rest is the datagram (IPv4: whole IP datagram; IPv6: VRRP message).
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::vrrp_decode(data));
