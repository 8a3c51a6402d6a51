//! DNS_CHECK (keepalived `check/check_dns.c`): one query with RD set and
//! class IN; a reply counts when it has the query's id and QR set; it
//! succeeds when its RCODE is 0. Answers are not inspected (as upstream).
//! The wire format goes through hickory-proto.

use std::fmt;

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// Size of keepalived's receive buffer (`DNS_BUFFER_SIZE`); larger replies are
/// truncated by the socket read, which does not matter for the verdict.
pub const DNS_BUFFER_SIZE: usize = 768;

/// `type` values DNS_CHECK accepts (`check/check_dns.c:44-55`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsType {
    /// A (1).
    A,
    /// NS (2).
    Ns,
    /// CNAME (5).
    Cname,
    /// SOA (6), the default.
    #[default]
    Soa,
    /// MX (15).
    Mx,
    /// TXT (16).
    Txt,
    /// AAAA (28).
    Aaaa,
    /// RRSIG (46).
    Rrsig,
    /// DNSKEY (48).
    Dnskey,
}

impl DnsType {
    /// Parses a `type` keyword value, case-insensitive.
    pub fn parse(s: &str) -> Option<DnsType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            "RRSIG" => DnsType::Rrsig,
            "DNSKEY" => DnsType::Dnskey,
            _ => return None,
        })
    }

    /// The RR type number (RFC 1035 §3.2.2, RFC 3596, RFC 4034).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }
}

/// A `name` that cannot be encoded as a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDnsName(pub String);

impl fmt::Display for BadDnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid DNS_CHECK name '{}'", self.0)
    }
}

impl std::error::Error for BadDnsName {}

/// Builds the query datagram. `id` is random, chosen by the caller.
/// An empty name or `.` queries the root, as keepalived does.
pub fn build_query(id: u16, name: &str, qtype: DnsType) -> Result<Vec<u8>, BadDnsName> {
    let bad = || BadDnsName(name.to_string());
    let qname = if name.is_empty() || name == "." {
        Name::root()
    } else {
        let mut n = Name::from_ascii(name).map_err(|_| bad())?;
        n.set_fqdn(true);
        n
    };
    let mut q = Query::query(qname, RecordType::from(qtype.code()));
    q.set_query_class(DNSClass::IN);
    let mut m = Message::new();
    m.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(q);
    m.to_vec().map_err(|_| bad())
}

/// Why a DNS_CHECK failed; `Display` is keepalived's wording (logged as
/// `DNS_CHECK (<rs>) <msg>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsFailure {
    /// A reply with a non-zero RCODE.
    Rcode(u16),
    /// No matching reply within connect_timeout.
    ReadTimeout,
    /// The datagram could not be sent.
    WriteFailed,
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsFailure::Rcode(r) => write!(f, "read error occurred. (rcode = {r})"),
            DnsFailure::ReadTimeout => f.write_str("read timeout from socket"),
            DnsFailure::WriteFailed => f.write_str("failed to write socket."),
        }
    }
}

/// What to do with one received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsVerdict {
    /// Not our reply (too short, other id, not a response): keep waiting.
    Ignore,
    /// The server answered with RCODE 0.
    Success,
    /// The server answered with an error.
    Failure(DnsFailure),
}

/// Judges a received datagram against the query id.
pub fn check_response(id: u16, datagram: &[u8]) -> DnsVerdict {
    let mut dec = BinDecoder::new(datagram);
    let Ok(h) = Header::read(&mut dec) else {
        return DnsVerdict::Ignore;
    };
    if h.id() != id || h.message_type() != MessageType::Response {
        return DnsVerdict::Ignore;
    }
    // Only the 4 header bits, as keepalived's DNS_RC(flags).
    let rcode = u16::from(h.response_code()) & 0x000f;
    if rcode != 0 {
        DnsVerdict::Failure(DnsFailure::Rcode(rcode))
    } else {
        DnsVerdict::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = build_query(0x1234, "example.com", DnsType::A).unwrap();
        let want: &[u8] = &[
            0x12, 0x34, 0x01, 0x00, // id, RD
            0, 1, 0, 0, 0, 0, 0, 0, // QD=1
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // name
            0, 1, 0, 1, // A, IN
        ];
        assert_eq!(q, want);
        let root = build_query(1, "", DnsType::Soa).unwrap();
        assert_eq!(&root[12..], &[0, 0, 6, 0, 1]);
        assert_eq!(build_query(1, ".", DnsType::Soa).unwrap(), root);
        assert!(build_query(1, &"a".repeat(64), DnsType::A).is_err());
        assert_eq!(DnsType::parse("aaaa"), Some(DnsType::Aaaa));
        assert_eq!(DnsType::parse("PTR"), None);
    }

    #[test]
    fn response_verdicts() {
        let mut r = build_query(0xbeef, "example.com", DnsType::A).unwrap();
        // Our own query (QR=0) is ignored.
        assert_eq!(check_response(0xbeef, &r), DnsVerdict::Ignore);
        r[2] |= 0x80; // QR
        assert_eq!(check_response(0xbeef, &r), DnsVerdict::Success);
        assert_eq!(check_response(0xbeee, &r), DnsVerdict::Ignore);
        r[3] |= 3; // NXDOMAIN
        assert_eq!(
            check_response(0xbeef, &r),
            DnsVerdict::Failure(DnsFailure::Rcode(3))
        );
        assert_eq!(
            DnsFailure::Rcode(3).to_string(),
            "read error occurred. (rcode = 3)"
        );
        assert_eq!(check_response(0xbeef, &r[..11]), DnsVerdict::Ignore);
        assert_eq!(check_response(0xbeef, &[]), DnsVerdict::Ignore);
        // Header only, garbage after: the verdict is from the header.
        let mut h = r[..12].to_vec();
        h[3] &= 0xf0;
        h.extend_from_slice(&[0xff; 40]);
        assert_eq!(check_response(0xbeef, &h), DnsVerdict::Success);
    }
}
