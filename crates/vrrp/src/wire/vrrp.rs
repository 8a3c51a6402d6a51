//! VRRP advertisement: checked view ([`Packet`]) and owned representation
//! ([`VrrpRepr`]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |  Auth Type  |   Adver Int   |          Checksum             |
//! v3: |(rsvd)| Max Adver Int (cs)   |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  IPvX Address(es) x Count                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     v2 over IPv4 only: Authentication Data (8 octets)         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! RFC 3768 §5.1, RFC 5798 §5.1, keepalived `include/vrrp.h` (`vrrphdr_t`).
//!
//! Contract (smoltcp style): once [`Packet::new_checked`] succeeded no
//! accessor panics; [`VrrpRepr::emit`] never panics when the buffer is
//! exactly [`VrrpRepr::buffer_len`] octets long.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{Family, WireError};
use crate::time::Centis;

/// Length of the fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data area.
pub const AUTH_LEN: usize = 8;
/// The only packet type defined (RFC 3768 §5.3.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT_V2: usize = 5;
    pub const ADVER_INT_V3: core::ops::Range<usize> = 4..6;
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only).
    V2,
    /// VRRPv3, RFC 5798 (IPv4 and IPv6).
    V3,
}

impl Version {
    /// The value of the version nibble.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// VRRPv2 authentication type (RFC 2338 §5.3.6; keepalived `VRRP_AUTH_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: no authentication.
    None,
    /// 1: simple text password in the authentication data.
    Pass,
    /// 2: IPsec AH (the AH header precedes the VRRP header).
    Ah,
    /// Any other value, kept so that it can be reported.
    Unknown(u8),
}

impl AuthType {
    /// Decodes the wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => AuthType::None,
            1 => AuthType::Pass,
            2 => AuthType::Ah,
            x => AuthType::Unknown(x),
        }
    }
    /// Encodes the wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
            AuthType::Unknown(x) => x,
        }
    }
}

/// Length of the VRRP message (header, addresses, v2/IPv4 auth area) that a
/// header with `version_nibble` and `count` implies for `family`
/// (keepalived `expected_vrrp_pkt_len`: the auth area exists only for a
/// version-2 header over IPv4).
pub fn expected_len(family: Family, version_nibble: u8, count: u8) -> usize {
    let mut len = HEADER_LEN + usize::from(count) * family.addr_len();
    if family == Family::V4 && version_nibble == 2 {
        len += AUTH_LEN;
    }
    len
}

/// A read/write view of a VRRP message over a byte buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without any check. Accessors may panic unless
    /// [`Packet::check_len`] succeeded.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len(family)?;
        Ok(p)
    }

    /// Checks that the buffer holds the fixed header, every address that
    /// the count field announces and (v2 over IPv4) the auth area.
    pub fn check_len(&self, family: Family) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated {
                len,
                need: HEADER_LEN,
            });
        }
        let need = expected_len(family, self.version_nibble(), self.count());
        if len < need {
            return Err(WireError::Truncated { len, need });
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version nibble as received.
    pub fn version_nibble(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }
    /// The type nibble as received.
    pub fn type_nibble(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }
    /// Virtual router identifier.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }
    /// Priority.
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }
    /// Count of addresses.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }
    /// v2 authentication type octet.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }
    /// v2 advertisement interval in seconds.
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }
    /// v3 max advertisement interval in centiseconds (low 12 bits; the
    /// reserved bits are ignored as keepalived does).
    pub fn adver_int_v3(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ADVER_INT_V3];
        u16::from_be_bytes([b[0], b[1]]) & 0x0fff
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// The raw address list (count × address length).
    pub fn address_bytes(&self, family: Family) -> &[u8] {
        let n = usize::from(self.count()) * family.addr_len();
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + n]
    }
    /// The addresses.
    pub fn addresses(&self, family: Family) -> impl Iterator<Item = IpAddr> + '_ {
        self.address_bytes(family)
            .chunks_exact(family.addr_len())
            .map(move |c| family.addr_from_slice(c))
    }
    /// The 8-octet v2 authentication data (v2 over IPv4 only; empty
    /// otherwise).
    pub fn auth_data(&self, family: Family) -> &[u8] {
        if family == Family::V4 && self.version_nibble() == 2 {
            let start = HEADER_LEN + usize::from(self.count()) * 4;
            &self.buffer.as_ref()[start..start + AUTH_LEN]
        } else {
            &[]
        }
    }
    /// The part of the buffer covered by the checksum: the whole message
    /// as implied by the header (keepalived checksums exactly this).
    pub fn message(&self, family: Family) -> &[u8] {
        let len = expected_len(family, self.version_nibble(), self.count());
        &self.buffer.as_ref()[..len]
    }

    /// Verifies a VRRPv2-style checksum (message alone). True if valid.
    pub fn verify_checksum_v2(&self, family: Family) -> bool {
        checksum::checksum(self.message(family)) == 0
    }

    /// Verifies a VRRPv3/IPv4 checksum with the pseudo-header built from
    /// `src` and `dst`. True if valid.
    pub fn verify_checksum_v3_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let msg = self.message(Family::V4);
        let acc = checksum::pseudo_header_v4(src, dst, msg.len() as u16);
        checksum::finish(checksum::sum(acc, msg)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
}

/// How the checksum of an emitted message is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Over the message alone (VRRPv2; VRRPv3 with `v3_checksum_as_v2`).
    Plain,
    /// VRRPv3 over IPv4 with the pseudo-header {src, dst}.
    PseudoV4 {
        /// IPv4 source address of the datagram.
        src: Ipv4Addr,
        /// Destination placed in the pseudo-header (the packet's
        /// destination, or 224.0.0.18 in keepalived's old unicast mode).
        dst: Ipv4Addr,
    },
    /// VRRPv3 over IPv6 with the pseudo-header. The daemon normally leaves
    /// this to the kernel (`IPV6_CHECKSUM`) and uses [`ChecksumMode::Zero`].
    PseudoV6 {
        /// IPv6 source address.
        src: Ipv6Addr,
        /// IPv6 destination address.
        dst: Ipv6Addr,
    },
    /// Leave the checksum zero (IPv6 with `IPV6_CHECKSUM`, as keepalived).
    Zero,
}

/// An owned, structured VRRP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpRepr {
    /// Protocol version.
    pub version: Version,
    /// Type nibble (1 = advertisement).
    pub kind: u8,
    /// Virtual router identifier.
    pub vrid: u8,
    /// Priority (0 = master stops, 255 = address owner).
    pub priority: u8,
    /// Advertisement interval. v2 carries whole seconds (a multiple of 100
    /// centiseconds); v3 carries centiseconds (12 bits, at most 4095).
    pub adver_int: Centis,
    /// v2 authentication type (ignored for v3).
    pub auth_type: AuthType,
    /// v2 authentication data (the PASS password, zero-padded; zero for
    /// other auth types). Ignored for v3 and IPv6.
    pub auth_data: [u8; AUTH_LEN],
    /// Virtual addresses, all of the same family.
    pub addresses: Vec<IpAddr>,
}

impl VrrpRepr {
    /// Parses a checked packet. Only the structure is checked here (length,
    /// a known version); semantic checks happen in [`crate::Instance`] (see [`crate::rx`]) in
    /// keepalived's order.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, family: Family) -> Result<Self, WireError> {
        packet.check_len(family)?;
        let version = match packet.version_nibble() {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(WireError::UnknownVersion(v)),
        };
        let (adver_int, auth_type) = match version {
            Version::V2 => (
                Centis(u16::from(packet.adver_int_v2()) * 100),
                AuthType::from_u8(packet.auth_type()),
            ),
            Version::V3 => (Centis(packet.adver_int_v3()), AuthType::None),
        };
        let mut auth_data = [0u8; AUTH_LEN];
        let ad = packet.auth_data(family);
        if ad.len() == AUTH_LEN {
            auth_data.copy_from_slice(ad);
        }
        Ok(VrrpRepr {
            version,
            kind: packet.type_nibble(),
            vrid: packet.vrid(),
            priority: packet.priority(),
            adver_int,
            auth_type,
            auth_data,
            addresses: packet.addresses(family).collect(),
        })
    }

    /// Length of the emitted message for `family`.
    pub fn buffer_len(&self, family: Family) -> usize {
        expected_len(
            family,
            self.version.number(),
            self.addresses.len().min(255) as u8,
        )
    }

    /// Writes the message into `buf` (exactly [`VrrpRepr::buffer_len`]
    /// octets) and fills the checksum according to `mode`.
    ///
    /// Addresses of the other family are skipped (the count field is still
    /// the list length, so callers must not mix families; the config layer
    /// guarantees it). More than 255 addresses are truncated to 255.
    pub fn emit(
        &self,
        buf: &mut [u8],
        family: Family,
        mode: ChecksumMode,
    ) -> Result<(), WireError> {
        let count = self.addresses.len().min(255) as u8;
        let need = expected_len(family, self.version.number(), count);
        if buf.len() != need {
            return Err(WireError::BufferSize {
                len: buf.len(),
                need,
            });
        }
        buf.fill(0);
        buf[field::VER_TYPE] = (self.version.number() << 4) | (self.kind & 0x0f);
        buf[field::VRID] = self.vrid;
        buf[field::PRIORITY] = self.priority;
        buf[field::COUNT] = count;
        match self.version {
            Version::V2 => {
                buf[field::AUTH_TYPE] = self.auth_type.to_u8();
                buf[field::ADVER_INT_V2] = (self.adver_int.0 / 100).min(255) as u8;
            }
            Version::V3 => {
                buf[field::ADVER_INT_V3]
                    .copy_from_slice(&(self.adver_int.0 & 0x0fff).to_be_bytes());
            }
        }
        let alen = family.addr_len();
        for (i, a) in self.addresses.iter().take(usize::from(count)).enumerate() {
            let off = HEADER_LEN + i * alen;
            match (a, family) {
                (IpAddr::V4(v4), Family::V4) => buf[off..off + 4].copy_from_slice(&v4.octets()),
                (IpAddr::V6(v6), Family::V6) => buf[off..off + 16].copy_from_slice(&v6.octets()),
                _ => {}
            }
        }
        if family == Family::V4 && self.version == Version::V2 {
            let off = HEADER_LEN + usize::from(count) * 4;
            buf[off..off + AUTH_LEN].copy_from_slice(&self.auth_data);
        }
        let csum = match mode {
            ChecksumMode::Plain => checksum::checksum(buf),
            ChecksumMode::PseudoV4 { src, dst } => {
                let acc = checksum::pseudo_header_v4(src, dst, need as u16);
                checksum::finish(checksum::sum(acc, buf))
            }
            ChecksumMode::PseudoV6 { src, dst } => {
                let acc = checksum::pseudo_header_v6(src, dst, need as u32);
                checksum::finish(checksum::sum(acc, buf))
            }
            ChecksumMode::Zero => 0,
        };
        Packet::new_unchecked(buf).set_checksum(csum);
        Ok(())
    }

    /// Convenience: emits into a new vector.
    pub fn to_bytes(&self, family: Family, mode: ChecksumMode) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len(family)];
        // The buffer has exactly the right length, so emit cannot fail.
        let _ = self.emit(&mut v, family, mode);
        v
    }
}

/// Builds the 8-octet PASS authentication data from a configured password:
/// the first 8 bytes, zero-padded (keepalived truncates longer passwords,
/// `vrrp/vrrp_parser.c` `vrrp_auth_pass_handler`).
pub fn pass_auth_data(password: &[u8]) -> [u8; AUTH_LEN] {
    let mut out = [0u8; AUTH_LEN];
    let n = password.len().min(AUTH_LEN);
    out[..n].copy_from_slice(&password[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_repr() -> VrrpRepr {
        VrrpRepr {
            version: Version::V2,
            kind: TYPE_ADVERTISEMENT,
            vrid: 51,
            priority: 100,
            adver_int: Centis(100),
            auth_type: AuthType::Pass,
            auth_data: pass_auth_data(b"1111"),
            addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
        }
    }

    #[test]
    fn v2_pass_bytes_literal() {
        let bytes = v2_repr().to_bytes(Family::V4, ChecksumMode::Plain);
        // 21 = v2/advert, 0x33 = 51, 0x64 = 100, 1 address, auth 1, 1 s.
        let expect_head = [0x21, 0x33, 0x64, 0x01, 0x01, 0x01];
        assert_eq!(&bytes[..6], &expect_head);
        assert_eq!(&bytes[8..12], &[192, 0, 2, 100]);
        assert_eq!(&bytes[12..20], b"1111\0\0\0\0");
        assert_eq!(bytes.len(), 20);
        // Checksum by hand: words 2133 6401 0101 c000 0264 3131 3131 0000 0000.
        let s: u32 = 0x2133 + 0x6401 + 0x0101 + 0xc000 + 0x0264 + 0x3131 + 0x3131;
        let folded = (s & 0xffff) + (s >> 16);
        assert_eq!(u16::from_be_bytes([bytes[6], bytes[7]]), !(folded as u16));
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert!(p.verify_checksum_v2(Family::V4));
        assert_eq!(VrrpRepr::parse(&p, Family::V4).unwrap(), v2_repr());
    }

    #[test]
    fn v3_ipv4_pseudo_header_and_roundtrip() {
        let r = VrrpRepr {
            version: Version::V3,
            kind: 1,
            vrid: 1,
            priority: 255,
            adver_int: Centis(10),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: vec![IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1))],
        };
        let src = Ipv4Addr::new(203, 0, 113, 10);
        let dst = Ipv4Addr::new(224, 0, 0, 18);
        let b = r.to_bytes(Family::V4, ChecksumMode::PseudoV4 { src, dst });
        assert_eq!(b.len(), 12);
        assert_eq!(&b[..6], &[0x31, 0x01, 0xff, 0x01, 0x00, 0x0a]);
        let p = Packet::new_checked(&b[..], Family::V4).unwrap();
        assert!(p.verify_checksum_v3_ipv4(src, dst));
        assert!(!p.verify_checksum_v2(Family::V4));
        assert!(!p.verify_checksum_v3_ipv4(src, Ipv4Addr::new(203, 0, 113, 11)));
        assert_eq!(VrrpRepr::parse(&p, Family::V4).unwrap(), r);
    }

    #[test]
    fn v3_ipv6_roundtrip() {
        let r = VrrpRepr {
            version: Version::V3,
            kind: 1,
            vrid: 7,
            priority: 90,
            adver_int: Centis(4095),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: vec!["fe80::1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        };
        let b = r.to_bytes(Family::V6, ChecksumMode::Zero);
        assert_eq!(b.len(), 8 + 32);
        assert_eq!(&b[4..8], &[0x0f, 0xff, 0, 0]);
        let p = Packet::new_checked(&b[..], Family::V6).unwrap();
        assert_eq!(VrrpRepr::parse(&p, Family::V6).unwrap(), r);
    }

    #[test]
    fn truncated_inputs_are_errors_not_panics() {
        let full = v2_repr().to_bytes(Family::V4, ChecksumMode::Plain);
        for n in 0..full.len() {
            assert!(
                Packet::new_checked(&full[..n], Family::V4).is_err(),
                "len {n}"
            );
        }
        // Count says 255 addresses but only 8 bytes present.
        let b = [0x21u8, 1, 100, 255, 0, 1, 0, 0];
        assert!(matches!(
            Packet::new_checked(&b[..], Family::V4),
            Err(WireError::Truncated { len: 8, need: 1036 })
        ));
    }

    #[test]
    fn v3_reserved_bits_ignored() {
        let b = [0x31u8, 1, 100, 0, 0xf0, 0x64, 0, 0];
        let p = Packet::new_checked(&b[..], Family::V4).unwrap();
        assert_eq!(p.adver_int_v3(), 100);
    }

    /// parse(emit(r)) == r and emit(parse(b)) == b for many generated reprs.
    #[test]
    fn roundtrip_property() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5_000 {
            let family = if next() % 2 == 0 {
                Family::V4
            } else {
                Family::V6
            };
            let version = if family == Family::V6 || next() % 2 == 0 {
                Version::V3
            } else {
                Version::V2
            };
            let n = (next() % 20) as usize;
            let addresses = (0..n)
                .map(|_| match family {
                    Family::V4 => IpAddr::V4(Ipv4Addr::from(next() as u32)),
                    Family::V6 => IpAddr::V6(Ipv6Addr::from(
                        u128::from(next()) << 64 | u128::from(next()),
                    )),
                })
                .collect();
            let (adver_int, auth_type, auth_data) = match version {
                Version::V2 => (
                    Centis((next() % 256) as u16 * 100),
                    AuthType::from_u8((next() % 4) as u8),
                    if family == Family::V4 {
                        (next()).to_be_bytes()
                    } else {
                        [0; 8]
                    },
                ),
                Version::V3 => (Centis((next() % 4096) as u16), AuthType::None, [0; 8]),
            };
            let r = VrrpRepr {
                version,
                kind: (next() % 16) as u8,
                vrid: next() as u8,
                priority: next() as u8,
                adver_int,
                auth_type,
                auth_data,
                addresses,
            };
            let b = r.to_bytes(family, ChecksumMode::Plain);
            let p = Packet::new_checked(&b[..], family).unwrap();
            assert!(p.verify_checksum_v2(family));
            let back = VrrpRepr::parse(&p, family).unwrap();
            assert_eq!(back, r);
            assert_eq!(back.to_bytes(family, ChecksumMode::Plain), b);
        }
    }

    #[test]
    fn password_truncated_to_8() {
        assert_eq!(&pass_auth_data(b"123456789012"), b"12345678");
        assert_eq!(&pass_auth_data(b"ab"), b"ab\0\0\0\0\0\0");
    }
}
