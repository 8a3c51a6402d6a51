//! The Internet checksum (RFC 1071) as VRRP uses it.
//!
//! VRRPv2 checksums the VRRP message alone (RFC 3768 §5.3.8); VRRPv3 over
//! IPv4 prepends the IPv4 pseudo-header (RFC 5798 §5.2.8, keepalived
//! `vrrp_build_vrrp_v3`). Over IPv6 the kernel computes and verifies the
//! checksum (`IPV6_CHECKSUM`), so nothing here is needed for it on the
//! daemon's path, but [`pseudo_header_v6`] is provided for tests and
//! captured vectors.

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;

/// Adds `data` (big-endian 16-bit words, odd trailing byte padded with
/// zero) to a running one's-complement sum without folding.
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
        // Fold eagerly so that very long inputs cannot overflow.
        if acc > 0xffff_0000 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a running sum and returns its one's complement, ready to be
/// stored in a checksum field.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Checksum of `data` alone (VRRPv2, IPv4 header).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// Running sum of the IPv4 pseudo-header {src, dst, 0, 112, len}.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc = sum(acc, &[0, IPPROTO_VRRP]);
    sum(acc, &len.to_be_bytes())
}

/// Running sum of the IPv6 pseudo-header (RFC 8200 §8.1) for VRRP.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, len: u32) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc = sum(acc, &len.to_be_bytes());
    sum(acc, &[0, 0, 0, IPPROTO_VRRP])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(0, &data)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn verifying_a_correct_buffer_gives_zero() {
        let mut data = [
            0x45u8, 0, 0, 0x1c, 0, 1, 0, 0, 0xff, 0x70, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18,
        ];
        let c = checksum(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }
}
