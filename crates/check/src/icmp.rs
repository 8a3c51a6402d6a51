//! PING_CHECK (keepalived `check/check_ping.c`): ICMP / ICMPv6 echo request
//! and reply, without the IP header (ping or raw ICMPv6 sockets give the ICMP
//! message alone; for a raw IPv4 socket strip the IP header first).

/// Payload bytes after the 8-byte header (`ICMP_BUFSIZE`).
pub const PAYLOAD_LEN: usize = 128;

/// ICMP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpFamily {
    /// ICMP for IPv4 (RFC 792): echo 8, reply 0.
    V4,
    /// ICMPv6 (RFC 4443): echo 128, reply 129.
    V6,
}

impl IcmpFamily {
    fn echo_request(self) -> u8 {
        match self {
            IcmpFamily::V4 => 8,
            IcmpFamily::V6 => 128,
        }
    }
    fn echo_reply(self) -> u8 {
        match self {
            IcmpFamily::V4 => 0,
            IcmpFamily::V6 => 129,
        }
    }
}

/// RFC 1071 Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an echo request. For IPv4 the checksum is filled in; for ICMPv6 the
/// kernel computes it (it covers a pseudo-header) and the field is left 0.
pub fn build_echo_request(family: IcmpFamily, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![0u8; 8 + PAYLOAD_LEN];
    p[0] = family.echo_request();
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in p[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    if family == IcmpFamily::V4 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// A received echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    /// Identifier field.
    pub id: u16,
    /// Sequence number.
    pub seq: u16,
}

/// Why a datagram is not an echo reply (keepalived logs
/// `Error, got short ICMP packet, %zd bytes` / `Got ICMP packet with type 0x%x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    /// Shorter than the 8-byte header.
    Short(usize),
    /// Another ICMP type.
    Type(u8),
}

/// Parses an ICMP message as an echo reply.
pub fn parse_echo_reply(family: IcmpFamily, msg: &[u8]) -> Result<EchoReply, IcmpError> {
    if msg.len() < 8 {
        return Err(IcmpError::Short(msg.len()));
    }
    if msg[0] != family.echo_reply() {
        return Err(IcmpError::Type(msg[0]));
    }
    Ok(EchoReply {
        id: u16::from_be_bytes([msg[4], msg[5]]),
        seq: u16::from_be_bytes([msg[6], msg[7]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_v4_checksums_to_zero() {
        let p = build_echo_request(IcmpFamily::V4, 0x0102, 7);
        assert_eq!(p.len(), 136);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(&p[4..8], &[1, 2, 0, 7]);
        assert_eq!(checksum(&p), 0);
        // RFC 1071 §3 example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn echo_v6_and_replies() {
        let p = build_echo_request(IcmpFamily::V6, 9, 1);
        assert_eq!(&p[..4], &[128, 0, 0, 0]);
        let mut r = p.clone();
        r[0] = 129;
        assert_eq!(
            parse_echo_reply(IcmpFamily::V6, &r),
            Ok(EchoReply { id: 9, seq: 1 })
        );
        assert_eq!(
            parse_echo_reply(IcmpFamily::V4, &r),
            Err(IcmpError::Type(129))
        );
        assert_eq!(
            parse_echo_reply(IcmpFamily::V4, &[0; 7]),
            Err(IcmpError::Short(7))
        );
        assert_eq!(
            parse_echo_reply(IcmpFamily::V4, &[0, 0, 0, 0, 0, 5, 0, 6]),
            Ok(EchoReply { id: 5, seq: 6 })
        );
    }
}
