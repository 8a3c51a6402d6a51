//! Wire formats: VRRP v2/v3 messages, the IPv4 header keepalived builds and
//! reads, and IPsec AH.
//!
//! Pattern (smoltcp `src/wire/`): a view type over bytes whose
//! `new_checked` validates lengths — after it succeeded no accessor
//! panics — plus an owned `Repr` with `parse` and `emit`.
//! Untrusted input must go through `new_checked`.

pub mod ah;
pub mod checksum;
pub mod ipv4;
pub mod vrrp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use self::vrrp::{AuthType, ChecksumMode, Packet, Version, VrrpRepr};

/// Address family of a VRRP instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (VRRPv2 or v3).
    V4,
    /// IPv6 (VRRPv3 only).
    V6,
}

impl Family {
    /// Length of one address.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
    /// Family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    /// Builds an address from exactly `addr_len` bytes (shorter slices are
    /// zero-padded, longer ones truncated; never panics).
    pub fn addr_from_slice(self, s: &[u8]) -> IpAddr {
        match self {
            Family::V4 => {
                let mut o = [0u8; 4];
                let n = s.len().min(4);
                o[..n].copy_from_slice(&s[..n]);
                IpAddr::V4(Ipv4Addr::from(o))
            }
            Family::V6 => {
                let mut o = [0u8; 16];
                let n = s.len().min(16);
                o[..n].copy_from_slice(&s[..n]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        }
    }
}

/// Structural decode/encode errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer octets than the headers announce.
    #[error("truncated: {len} octets, need {need}")]
    Truncated {
        /// Octets available.
        len: usize,
        /// Octets needed.
        need: usize,
    },
    /// The IP version nibble is not 4.
    #[error("not an IPv4 header (version {0})")]
    NotIpv4(u8),
    /// IHL below 5 words.
    #[error("invalid IPv4 header length {0}")]
    BadIhl(usize),
    /// The VRRP version nibble is neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    UnknownVersion(u8),
    /// An emit buffer of the wrong size.
    #[error("buffer of {len} octets, need {need}")]
    BufferSize {
        /// Octets given.
        len: usize,
        /// Octets needed.
        need: usize,
    },
}

/// What the daemon needs before dispatching a received datagram to an
/// instance: the VRID and where the VRRP header starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peek {
    /// Virtual router id of the advert.
    pub vrid: u8,
    /// Offset of the VRRP header in the datagram.
    pub vrrp_offset: usize,
    /// The IPv4 header says AH (protocol 51).
    pub ah: bool,
}

/// Locates the VRRP header in a received datagram, as keepalived's
/// `vrrp_get_header` does: for IPv4 the datagram starts with the IP header
/// (then AH if protocol is 51); for IPv6 it is the VRRP message itself.
/// An error corresponds to keepalived's `IPv4 VRRP packet too short - %zu
/// bytes` (see [`PeekError::log_line`]); such datagrams are dropped before
/// any instance sees them.
pub fn peek(family: Family, datagram: &[u8]) -> Result<Peek, PeekError> {
    match family {
        Family::V4 => {
            let len = datagram.len();
            if len < ipv4::MIN_HEADER_LEN {
                return Err(PeekError::Ipv4TooShort(len));
            }
            let ihl = usize::from(datagram[0] & 0x0f) * 4;
            if len < ihl + vrrp::HEADER_LEN {
                return Err(PeekError::Ipv4TooShort(len));
            }
            let ah = datagram[9] == ipv4::IPPROTO_AH;
            let off = if ah { ihl + ah::AH_LEN } else { ihl };
            if len < off + vrrp::HEADER_LEN {
                return Err(PeekError::Ipv4AhTooShort(len));
            }
            Ok(Peek {
                vrid: datagram[off + 1],
                vrrp_offset: off,
                ah,
            })
        }
        Family::V6 => {
            if datagram.len() < vrrp::HEADER_LEN {
                return Err(PeekError::Ipv6TooShort(datagram.len()));
            }
            Ok(Peek {
                vrid: datagram[1],
                vrrp_offset: 0,
                ah: false,
            })
        }
    }
}

/// Why [`peek`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeekError {
    /// IPv4 datagram shorter than IP header + VRRP header.
    #[error("IPv4 VRRP packet too short - {0} bytes")]
    Ipv4TooShort(usize),
    /// IPv4 datagram with AH shorter than IP + AH + VRRP headers.
    #[error("IPv4 VRRP packet with AH too short - {0} bytes")]
    Ipv4AhTooShort(usize),
    /// IPv6 payload shorter than the VRRP header.
    #[error("IPv6 VRRP packet too short - {0} bytes")]
    Ipv6TooShort(usize),
}

impl PeekError {
    /// keepalived's log line for this error (`vrrp/vrrp.c` `vrrp_get_header`).
    pub fn log_line(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_finds_vrid_after_options_and_ah() {
        let mut d = vec![0u8; 24 + 8];
        d[0] = 0x46; // IHL 6 = 24 octets
        d[9] = 112;
        d[24 + 1] = 51;
        assert_eq!(
            peek(Family::V4, &d),
            Ok(Peek {
                vrid: 51,
                vrrp_offset: 24,
                ah: false
            })
        );
        let mut d = vec![0u8; 20 + 24 + 8];
        d[0] = 0x45;
        d[9] = 51;
        d[44 + 1] = 7;
        assert_eq!(
            peek(Family::V4, &d),
            Ok(Peek {
                vrid: 7,
                vrrp_offset: 44,
                ah: true
            })
        );
        assert_eq!(
            peek(Family::V4, &d[..40]),
            Err(PeekError::Ipv4AhTooShort(40))
        );
        assert_eq!(peek(Family::V4, &d[..27]), Err(PeekError::Ipv4TooShort(27)));
        assert_eq!(peek(Family::V6, &[0; 7]), Err(PeekError::Ipv6TooShort(7)));
        assert_eq!(
            PeekError::Ipv4TooShort(27).log_line(),
            "IPv4 VRRP packet too short - 27 bytes"
        );
    }
}
