//! VRRP codec round trip: whatever decodes must encode to bytes that decode
//! to the same `VrrpRepr` (v2/v3 over IPv4 and IPv6), and the emitted
//! checksum must verify.
//!
//! Input layout: byte 0 bit 0 selects the family (0 = IPv4, 1 = IPv6); the
//! rest is a VRRP message (no IP header).
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrrp::wire::{ChecksumMode, Family, Packet, Version, VrrpRepr};

fuzz_target!(|data: &[u8]| {
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
    // The header-implied part of the input and the emitted message agree
    // octet for octet, except the checksum and the v3 reserved bits.
    let orig = pkt.message(family);
    assert_eq!(orig.len(), bytes.len(), "message length");
    let again = Packet::new_checked(&bytes[..], family).expect("emitted message re-checks");
    let repr2 = VrrpRepr::parse(&again, family).expect("emitted message re-parses");
    assert_eq!(repr, repr2, "decode -> encode -> decode");
    assert!(again.verify_checksum_v2(family), "emitted checksum verifies");
    for (i, (a, b)) in orig.iter().zip(&bytes).enumerate() {
        let ignore = i == 6 || i == 7 || (i == 4 && repr.version == Version::V3);
        if !ignore {
            assert_eq!(a, b, "octet {i} differs after round trip");
        }
    }
    if repr.version == Version::V3 {
        assert_eq!(orig[4] & 0x0f, bytes[4], "v3 interval high bits");
    }
});
