//! The IPv4 header, as much as the VRRP daemon needs.
//!
//! Raw IPv4 sockets deliver the IP header with each datagram; the receive
//! path needs TTL, protocol, addresses and total length from it. On send
//! keepalived uses `IP_HDRINCL` and builds the header itself (TOS 0xc0,
//! TTL 255, a per-instance id that skips 0, `vrrp_build_ip4`); the AH ICV
//! also covers the header. [`Ipv4Repr::emit`] builds that header so our
//! datagrams are byte-for-byte what keepalived sends.
//!
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! |         Identification        |Flags|      Fragment Offset    |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! |                    Options (IHL > 5)                          |
//! ```

use std::net::Ipv4Addr;

use super::{checksum, WireError};

/// Length of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// IP protocol number of IPsec AH.
pub const IPPROTO_AH: u8 = 51;
/// TOS keepalived sets on adverts ("internet network control").
pub const TOS_NETWORK_CONTROL: u8 = 0xc0;

/// A checked view of an IPv4 header at the start of a buffer.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer after checking: version 4, IHL ≥ 5, and the buffer
    /// holds the whole header including options.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(WireError::Truncated {
                len: b.len(),
                need: MIN_HEADER_LEN,
            });
        }
        if b[0] >> 4 != 4 {
            return Err(WireError::NotIpv4(b[0] >> 4));
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < MIN_HEADER_LEN {
            return Err(WireError::BadIhl(ihl));
        }
        if b.len() < ihl {
            return Err(WireError::Truncated {
                len: b.len(),
                need: ihl,
            });
        }
        Ok(Ipv4Packet { buffer })
    }
    /// Header length in octets (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[0] & 0x0f) * 4
    }
    /// Type of service.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    /// Total length field.
    pub fn total_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[8]
    }
    /// Protocol (112 VRRP, 51 AH).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[9]
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    /// The header bytes (with options).
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }
    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// The IPv4 header fields keepalived sets on an advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Type of service (keepalived: 0xc0).
    pub tos: u8,
    /// Identification (keepalived: per-instance counter skipping 0).
    pub ident: u16,
    /// Time to live (255, or `unicast_ttl`).
    pub ttl: u8,
    /// Protocol: 112, or 51 with AH.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Length of what follows the 20-octet header.
    pub payload_len: u16,
}

impl Ipv4Repr {
    /// Writes a 20-octet header (no options, DF clear) with a valid header
    /// checksum into `buf[..20]`. Returns an error if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(WireError::BufferSize {
                len: buf.len(),
                need: MIN_HEADER_LEN,
            });
        }
        let h = &mut buf[..MIN_HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        let tot = (MIN_HEADER_LEN as u16).saturating_add(self.payload_len);
        h[2..4].copy_from_slice(&tot.to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        h[6] = 0;
        h[7] = 0;
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[10] = 0;
        h[11] = 0;
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_then_parse() {
        let r = Ipv4Repr {
            tos: 0xc0,
            ident: 1,
            ttl: 255,
            protocol: 112,
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            payload_len: 20,
        };
        let mut b = [0u8; 40];
        r.emit(&mut b).unwrap();
        assert_eq!(
            &b[..12],
            &[0x45, 0xc0, 0, 40, 0, 1, 0, 0, 255, 112, b[10], b[11]]
        );
        assert_eq!(checksum::checksum(&b[..20]), 0);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.ttl(), p.protocol(), p.total_len()), (255, 112, 40));
        assert_eq!(p.src(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst(), Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(p.payload().len(), 20);
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(Ipv4Packet::new_checked(&[0x45u8; 19][..]).is_err());
        let mut b = [0u8; 20];
        b[0] = 0x65;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(WireError::NotIpv4(6))
        ));
        b[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(WireError::BadIhl(16))
        ));
        b[0] = 0x46;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(WireError::Truncated { len: 20, need: 24 })
        ));
    }
}
