//! Netlink / generic netlink framing: a message builder and checked readers.
//!
//! The layout is the kernel's: `struct nlmsghdr` (16 bytes, host byte order),
//! `struct genlmsghdr` (4 bytes), then attributes `{u16 len, u16 type, payload}`
//! each padded to 4 bytes. Readers never panic: every length is checked before
//! it is used, and a bad length is a [`WireError`].

use thiserror::Error;

use crate::consts::{NLA_F_NESTED, NLA_TYPE_MASK, NLMSG_DONE, NLMSG_ERROR};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

/// A malformed netlink message or attribute.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// A header or attribute claims more (or fewer) bytes than there are.
    #[error("truncated netlink {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// An attribute has the wrong size for its type.
    #[error("netlink attribute {ty} has length {len}, expected {expected}")]
    BadAttrLen {
        /// Attribute type.
        ty: u16,
        /// Its payload length.
        len: usize,
        /// What the type needs.
        expected: &'static str,
    },
    /// A required attribute is missing.
    #[error("missing netlink attribute {0}")]
    Missing(&'static str),
    /// A value is out of the range this crate understands.
    #[error("bad value in netlink attribute {what}: {value}")]
    BadValue {
        /// The attribute.
        what: &'static str,
        /// The value found.
        value: u64,
    },
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink message carrying a generic netlink header and attributes.
#[derive(Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// Start a message: netlink type (the family id), flags, sequence number,
    /// then the genl command and version. The port id is 0 (the kernel fills it in).
    pub fn new(nl_type: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&nl_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[cmd, version, 0, 0]);
        MsgBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    /// Append an attribute with raw payload bytes (padded to 4).
    pub fn put(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        // An attribute payload is at most u16::MAX - 4 bytes; our payloads are a few bytes.
        let len = u16::try_from(NLA_HDRLEN + payload.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }
    /// Append a u8 attribute.
    pub fn put_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.put(ty, &[v])
    }
    /// Append a host-order u16 attribute.
    pub fn put_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }
    /// Append a big-endian u16 attribute (ports).
    pub fn put_be16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }
    /// Append a host-order u32 attribute.
    pub fn put_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }
    /// Append a NUL-terminated string attribute.
    pub fn put_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v)
    }
    /// Open a nested attribute, flagged `NLA_F_NESTED` as libnl 3.7's
    /// `nla_nest_start` does (what ipvsadm and keepalived send on Debian 12).
    pub fn nest_start(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }
    /// Close the innermost nested attribute.
    pub fn nest_end(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    /// Close open nests, patch the length, return the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.nests.is_empty() {
            self.nest_end();
        }
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One netlink message of a received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`.
    pub pid: u32,
    /// Everything after the netlink header.
    pub payload: &'a [u8],
}

/// What a received message means to a request/response exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message: genl command and its attribute bytes.
    Data {
        /// genl command.
        cmd: u8,
        /// Attribute area.
        attrs: &'a [u8],
    },
    /// `NLMSG_ERROR` with error 0: acknowledgement.
    Ack,
    /// `NLMSG_ERROR` with a negative errno (returned positive here).
    Error(i32),
    /// `NLMSG_DONE`: end of a dump.
    Done,
}

impl<'a> NlMsg<'a> {
    /// Interpret the message.
    pub fn reply(&self) -> Result<Reply<'a>, WireError> {
        match self.ty {
            NLMSG_ERROR => {
                let e = read_i32(self.payload, "nlmsgerr")?;
                if e == 0 {
                    Ok(Reply::Ack)
                } else {
                    Ok(Reply::Error(e.saturating_neg()))
                }
            }
            NLMSG_DONE => Ok(Reply::Done),
            _ => {
                if self.payload.len() < GENL_HDRLEN {
                    return Err(WireError::Truncated {
                        what: "genlmsghdr",
                        need: GENL_HDRLEN,
                        have: self.payload.len(),
                    });
                }
                Ok(Reply::Data {
                    cmd: self.payload[0],
                    attrs: &self.payload[GENL_HDRLEN..],
                })
            }
        }
    }
}

fn read_i32(b: &[u8], what: &'static str) -> Result<i32, WireError> {
    match b.get(0..4) {
        Some(s) => Ok(i32::from_ne_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(WireError::Truncated {
            what,
            need: 4,
            have: b.len(),
        }),
    }
}

/// Iterator over the netlink messages of a received datagram.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

/// Split a received buffer into messages.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { rest: buf }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, WireError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.len() < NLMSG_HDRLEN {
            self.rest = &[];
            return Some(Err(WireError::Truncated {
                what: "nlmsghdr",
                need: NLMSG_HDRLEN,
                have: b.len(),
            }));
        }
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            self.rest = &[];
            return Some(Err(WireError::Truncated {
                what: "netlink message",
                need: len.max(NLMSG_HDRLEN),
                have: b.len(),
            }));
        }
        let msg = NlMsg {
            ty: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
            payload: &b[NLMSG_HDRLEN..len],
        };
        self.rest = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(msg))
    }
}

/// One attribute: type (flags masked off) and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Type without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
    pub ty: u16,
    /// Payload without padding.
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn fixed<const N: usize>(&self, expected: &'static str) -> Result<[u8; N], WireError> {
        <[u8; N]>::try_from(self.payload).map_err(|_| WireError::BadAttrLen {
            ty: self.ty,
            len: self.payload.len(),
            expected,
        })
    }
    /// As u8.
    pub fn u8(&self) -> Result<u8, WireError> {
        Ok(self.fixed::<1>("1 byte")?[0])
    }
    /// As host-order u16.
    pub fn u16(&self) -> Result<u16, WireError> {
        Ok(u16::from_ne_bytes(self.fixed("2 bytes")?))
    }
    /// As big-endian u16.
    pub fn be16(&self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.fixed("2 bytes")?))
    }
    /// As host-order u32.
    pub fn u32(&self) -> Result<u32, WireError> {
        Ok(u32::from_ne_bytes(self.fixed("4 bytes")?))
    }
    /// As host-order u64.
    pub fn u64(&self) -> Result<u64, WireError> {
        Ok(u64::from_ne_bytes(self.fixed("8 bytes")?))
    }
    /// As a string up to the first NUL (lossy UTF-8).
    pub fn string(&self) -> String {
        let end = self
            .payload
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.payload.len());
        String::from_utf8_lossy(&self.payload[..end]).into_owned()
    }
    /// The attributes nested in this one.
    pub fn nested(&self) -> Attrs<'a> {
        attrs(self.payload)
    }
}

/// Iterator over attributes.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

/// Iterate the attributes of an attribute area.
pub fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs { rest: buf }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, WireError>;
    fn next(&mut self) -> Option<Self::Item> {
        // Trailing bytes shorter than a header are padding.
        if self.rest.len() < NLA_HDRLEN {
            self.rest = &[];
            return None;
        }
        let b = self.rest;
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > b.len() {
            self.rest = &[];
            return Some(Err(WireError::Truncated {
                what: "attribute",
                need: len.max(NLA_HDRLEN),
                have: b.len(),
            }));
        }
        self.rest = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(Attr {
            ty,
            payload: &b[NLA_HDRLEN..len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_and_patches_lengths() {
        let mut m = MsgBuilder::new(0x22, 0x5, 7, 1, 1);
        m.nest_start(1).put_str(6, "rr").nest_end();
        let b = m.finish();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &32u32.to_ne_bytes()[..], &0x22u16.to_ne_bytes(), &5u16.to_ne_bytes(),
            &7u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[1, 1, 0, 0],
            &12u16.to_ne_bytes(), &0x8001u16.to_ne_bytes(),
            &7u16.to_ne_bytes(), &6u16.to_ne_bytes(), b"rr\0", &[0],
        ].concat();
        assert_eq!(b, want);
    }

    #[test]
    fn truncated_inputs_are_errors_not_panics() {
        for n in 0..40 {
            let buf = vec![0xffu8; n];
            for m in messages(&buf).flatten() {
                let _ = m.reply();
            }
            for a in attrs(&buf).flatten() {
                let _ = a.u32();
                let _ = a.nested().count();
            }
        }
        assert!(matches!(
            attrs(&[8, 0, 1, 0, 1]).next(),
            Some(Err(WireError::Truncated { .. }))
        ));
        assert!(matches!(
            messages(&[100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).next(),
            Some(Err(WireError::Truncated { .. }))
        ));
    }
}
