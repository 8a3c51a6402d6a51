//! VRRP codec round trip: whatever decodes must encode to bytes that decode
//! to the same `VrrpRepr` (v2/v3 over IPv4 and IPv6), and the emitted
//! checksum must verify.
//!
//! Input layout: byte 0 bit 0 selects the family (0 = IPv4, 1 = IPv6); the
//! rest is a VRRP message (no IP header).
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::vrrp_roundtrip(data));
