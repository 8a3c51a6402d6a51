//! UDP_CHECK (keepalived `check/check_udp.c`): send `payload`, and with
//! `require_reply` judge the reply's length and content (hex pattern with
//! `X` nibble wildcards, `lib/parser.c` `read_hex_str`).

use std::fmt;

/// A hex pattern: bytes and a mask of bits to ignore.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HexPattern {
    /// Byte values.
    pub data: Vec<u8>,
    /// Bits set here are wildcards (from `X` nibbles).
    pub ignore: Vec<u8>,
}

/// A hex string that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHex(pub String);

impl fmt::Display for BadHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid hex string '{}'", self.0)
    }
}

impl std::error::Error for BadHex {}

/// Parses `payload` / `require_reply` values: pairs of hex digits, spaces
/// allowed between bytes, a lone digit before a space is one byte; with
/// `wildcards`, `x`/`X` matches any nibble.
pub fn parse_hex(s: &str, wildcards: bool) -> Result<HexPattern, BadHex> {
    let nib = |c: u8| -> Option<(u8, u8)> {
        match c {
            b'0'..=b'9' => Some((c - b'0', 0)),
            b'a'..=b'f' => Some((c - b'a' + 10, 0)),
            b'A'..=b'F' => Some((c - b'A' + 10, 0)),
            b'x' | b'X' if wildcards => Some((0, 0x0f)),
            _ => None,
        }
    };
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = HexPattern::default();
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let (mut v, mut m) = nib(b[i]).ok_or_else(|| BadHex(s.to_string()))?;
        i += 1;
        if i < b.len() && b[i] != b' ' && b[i] != b'\t' {
            let (v2, m2) = nib(b[i]).ok_or_else(|| BadHex(s.to_string()))?;
            v = v << 4 | v2;
            m = m << 4 | m2;
            i += 1;
        }
        out.data.push(v);
        out.ignore.push(m);
    }
    if out.data.is_empty() {
        return Err(BadHex(s.to_string()));
    }
    Ok(out)
}

/// What a UDP_CHECK expects back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpExpect {
    /// `require_reply` pattern; `None` means any reply (or none, see
    /// [`UdpExpect::require_reply`]).
    pub reply: Option<HexPattern>,
    /// `require_reply` given at all.
    pub require_reply: bool,
    /// `min_reply_length` (default 0).
    pub min_len: usize,
    /// `max_reply_length` (default 255).
    pub max_len: usize,
}

impl Default for UdpExpect {
    fn default() -> Self {
        UdpExpect {
            reply: None,
            require_reply: false,
            min_len: 0,
            max_len: 255,
        }
    }
}

impl UdpExpect {
    /// Receive buffer size the daemon should use (one more than the max, to
    /// see oversized replies).
    pub fn recv_buf_len(&self) -> usize {
        self.max_len.saturating_add(1)
    }

    /// Whether a received reply passes: length within bounds and the first
    /// min(len, pattern) bytes match outside wildcard bits.
    pub fn reply_ok(&self, reply: &[u8]) -> bool {
        let Some(p) = &self.reply else {
            return true;
        };
        if reply.len() < self.min_len || reply.len() > self.max_len {
            return false;
        }
        reply
            .iter()
            .zip(p.data.iter().zip(&p.ignore))
            .all(|(r, (d, m))| (r ^ d) & !m == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(
            parse_hex("0a0B ff", false).unwrap().data,
            vec![0x0a, 0x0b, 0xff]
        );
        assert_eq!(parse_hex("1 23", false).unwrap().data, vec![0x01, 0x23]);
        let w = parse_hex("4X", true).unwrap();
        assert_eq!((w.data[0], w.ignore[0]), (0x40, 0x0f));
        assert!(parse_hex("4X", false).is_err());
        assert!(parse_hex("zz", false).is_err());
        assert!(parse_hex("   ", false).is_err());
    }

    #[test]
    fn reply_matching() {
        let e = UdpExpect {
            reply: Some(parse_hex("00 4x", true).unwrap()),
            require_reply: true,
            min_len: 2,
            max_len: 4,
        };
        assert!(e.reply_ok(&[0x00, 0x41]));
        assert!(e.reply_ok(&[0x00, 0x4f, 0x99, 0x99]));
        assert!(!e.reply_ok(&[0x00, 0x51]));
        assert!(!e.reply_ok(&[0x00]));
        assert!(!e.reply_ok(&[0x00, 0x41, 0, 0, 0]));
        assert_eq!(e.recv_buf_len(), 5);
        assert!(UdpExpect::default().reply_ok(&[1, 2, 3]));
    }
}
