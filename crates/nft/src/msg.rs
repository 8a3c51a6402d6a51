//! nf_tables netlink message encoding (the subset keepalived's table needs):
//! batches, tables, base chains, named sets (incl. one concatenation),
//! set elements, and rules built from payload / meta / cmp / bitwise /
//! lookup / immediate expressions.

/// `NFNL_SUBSYS_NFTABLES`.
pub const SUBSYS: u16 = 10;
/// Batch markers (`NFNL_MSG_BATCH_BEGIN` / `_END`).
pub const BATCH_BEGIN: u16 = 0x10;
/// End of a batch.
pub const BATCH_END: u16 = 0x11;

/// `NFT_MSG_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum MsgType {
    /// NEWTABLE.
    NewTable = 0,
    /// GETTABLE.
    GetTable = 1,
    /// DELTABLE.
    DelTable = 2,
    /// NEWCHAIN.
    NewChain = 3,
    /// NEWRULE.
    NewRule = 6,
    /// NEWSET.
    NewSet = 9,
    /// NEWSETELEM.
    NewSetElem = 12,
    /// DELSETELEM.
    DelSetElem = 14,
}

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

/// nft data types (`enum datatypes` in nftables) used in `NFTA_SET_KEY_TYPE`.
pub(crate) const TYPE_IPADDR: u32 = 7;
pub(crate) const TYPE_IP6ADDR: u32 = 8;
pub(crate) const TYPE_IFINDEX: u32 = 20;
pub(crate) const TYPE_ICMP6_TYPE: u32 = 29;

/// Set flags.
pub(crate) const NFT_SET_CONSTANT: u32 = 0x2;
/// `NFT_SET_MAP`.
pub(crate) const NFT_SET_MAP: u32 = 0x8;

/// Verdicts.
pub(crate) const NF_DROP: u32 = 0;
pub(crate) const NF_ACCEPT: u32 = 1;
pub(crate) const NFT_GOTO: u32 = (-4i32) as u32;

/// Registers (16-octet numbering, as keepalived uses).
pub(crate) const REG_VERDICT: u32 = 0;
pub(crate) const REG_1: u32 = 1;
pub(crate) const REG_2: u32 = 2;

/// Payload bases.
pub(crate) const BASE_NETWORK: u32 = 1;
pub(crate) const BASE_TRANSPORT: u32 = 2;

/// Meta keys.
pub(crate) const META_IIF: u32 = 4;
pub(crate) const META_OIF: u32 = 5;
/// `NFT_META_L4PROTO`.
pub(crate) const META_L4PROTO: u32 = 16;
/// `NFT_META_OIFKIND`.
pub(crate) const META_OIFKIND: u32 = 27;

/// Netfilter hooks.
pub(crate) const NF_INET_LOCAL_IN: u32 = 1;
pub(crate) const NF_INET_LOCAL_OUT: u32 = 3;

/// A growing netlink buffer.
#[derive(Debug, Default)]
pub struct Buf {
    pub(crate) b: Vec<u8>,
}

impl Buf {
    fn align(&mut self) {
        while self.b.len() % 4 != 0 {
            self.b.push(0);
        }
    }
    /// An attribute with raw payload.
    pub fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.b.extend_from_slice(&(len as u16).to_ne_bytes());
        self.b.extend_from_slice(&ty.to_ne_bytes());
        self.b.extend_from_slice(data);
        self.align();
    }
    /// A NUL-terminated string attribute.
    pub fn str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v);
    }
    /// A big-endian u32 attribute (nf_tables uses network order).
    pub fn u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_be_bytes());
    }
    /// A nested attribute filled by `f`.
    pub fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Buf)) {
        let start = self.b.len();
        self.b.extend_from_slice(&[0, 0]);
        self.b.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        f(self);
        let len = (self.b.len() - start) as u16;
        self.b[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self.align();
    }
}

/// A batch of nf_tables messages (one transaction).
#[derive(Debug)]
pub struct Batch {
    pub(crate) buf: Vec<u8>,
    pub(crate) seq: u32,
    /// Sequence numbers of the messages that will be acknowledged.
    pub(crate) acked: Vec<u32>,
}

impl Batch {
    /// A batch whose messages are numbered from `seq`.
    pub fn new(seq: u32) -> Batch {
        let mut b = Batch {
            buf: Vec::new(),
            seq,
            acked: Vec::new(),
        };
        b.raw(BATCH_BEGIN, NLM_F_REQUEST, 0, SUBSYS, |_| {});
        b
    }

    fn raw(&mut self, ty: u16, flags: u16, family: u8, res_id: u16, f: impl FnOnce(&mut Buf)) {
        let mut a = Buf::default();
        f(&mut a);
        let len = 16 + 4 + a.b.len();
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.buf.extend_from_slice(&(len as u32).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.push(family);
        self.buf.push(0); // NFNETLINK_V0
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self.buf.extend_from_slice(&a.b);
        if flags & NLM_F_ACK != 0 {
            self.acked.push(seq);
        }
    }

    /// One nf_tables message for `family` (NFPROTO_*), acknowledged.
    pub fn msg(&mut self, ty: MsgType, flags: u16, family: u8, f: impl FnOnce(&mut Buf)) {
        self.raw(
            (SUBSYS << 8) | ty as u16,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            family,
            0,
            f,
        );
    }

    /// Close the batch; returns the bytes to send.
    pub fn finish(mut self) -> (Vec<u8>, Vec<u32>, u32) {
        self.raw(BATCH_END, NLM_F_REQUEST, 0, SUBSYS, |_| {});
        (self.buf, self.acked, self.seq)
    }
}

// ----- expressions -----

/// One rule expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Payload {
        base: u32,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    Meta {
        key: u32,
        dreg: u32,
    },
    Cmp {
        sreg: u32,
        data: Vec<u8>,
    },
    Bitwise {
        reg: u32,
        mask: Vec<u8>,
    },
    Lookup {
        set: String,
        sreg: u32,
    },
    /// A map lookup: the value found goes to `dreg`.
    LookupMap {
        set: String,
        sreg: u32,
        dreg: u32,
    },
    /// `dup to <addr in sreg_addr> device <ifindex in sreg_dev>`.
    Dup {
        sreg_addr: u32,
        sreg_dev: u32,
    },
    Verdict {
        code: u32,
        chain: Option<String>,
    },
}

impl Expr {
    pub(crate) fn encode(&self, b: &mut Buf) {
        // NFTA_LIST_ELEM = 1 { NFTA_EXPR_NAME = 1, NFTA_EXPR_DATA = 2 }
        b.nest(1, |e| match self {
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                e.str(1, "payload");
                e.nest(2, |d| {
                    d.u32(1, *dreg);
                    d.u32(2, *base);
                    d.u32(3, *offset);
                    d.u32(4, *len);
                });
            }
            Expr::Meta { key, dreg } => {
                e.str(1, "meta");
                e.nest(2, |d| {
                    d.u32(2, *key); // NFTA_META_KEY
                    d.u32(1, *dreg); // NFTA_META_DREG
                });
            }
            Expr::Cmp { sreg, data } => {
                e.str(1, "cmp");
                e.nest(2, |d| {
                    d.u32(1, *sreg);
                    d.u32(2, 0); // NFT_CMP_EQ
                    d.nest(3, |v| v.attr(1, data));
                });
            }
            Expr::Bitwise { reg, mask } => {
                e.str(1, "bitwise");
                e.nest(2, |d| {
                    d.u32(1, *reg);
                    d.u32(2, *reg);
                    d.u32(3, mask.len() as u32);
                    d.nest(4, |v| v.attr(1, mask));
                    d.nest(5, |v| v.attr(1, &vec![0u8; mask.len()]));
                });
            }
            Expr::Lookup { set, sreg } => {
                e.str(1, "lookup");
                e.nest(2, |d| {
                    d.str(1, set);
                    d.u32(2, *sreg);
                });
            }
            Expr::LookupMap { set, sreg, dreg } => {
                e.str(1, "lookup");
                e.nest(2, |d| {
                    d.str(1, set); // NFTA_LOOKUP_SET
                    d.u32(2, *sreg); // NFTA_LOOKUP_SREG
                    d.u32(3, *dreg); // NFTA_LOOKUP_DREG
                });
            }
            Expr::Dup {
                sreg_addr,
                sreg_dev,
            } => {
                e.str(1, "dup");
                e.nest(2, |d| {
                    d.u32(1, *sreg_addr); // NFTA_DUP_SREG_ADDR
                    d.u32(2, *sreg_dev); // NFTA_DUP_SREG_DEV
                });
            }
            Expr::Verdict { code, chain } => {
                e.str(1, "immediate");
                e.nest(2, |d| {
                    d.u32(1, REG_VERDICT);
                    // NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT { CODE, CHAIN } }
                    d.nest(2, |v| {
                        v.nest(2, |w| {
                            w.u32(1, *code);
                            if let Some(c) = chain {
                                w.str(2, c);
                            }
                        })
                    });
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nested_lengths_cover_children() {
        let mut b = Buf::default();
        b.str(1, "in"); // 4 + 3 -> 7, padded to 8
        b.nest(4, |h| h.u32(1, 3));
        assert_eq!(
            b.b,
            [
                7, 0, 1, 0, b'i', b'n', 0, 0, // NFTA_CHAIN_TABLE-like string
                12, 0, 4, 0x80, // nested, NLA_F_NESTED
                8, 0, 1, 0, 0, 0, 0, 3, // big-endian u32
            ]
        );
    }

    #[test]
    fn dup_and_map_lookup_expressions() {
        let mut b = Buf::default();
        Expr::Dup {
            sreg_addr: REG_1,
            sreg_dev: REG_2,
        }
        .encode(&mut b);
        assert_eq!(
            b.b,
            [
                32, 0, 1, 0x80, // NFTA_LIST_ELEM (nested)
                8, 0, 1, 0, b'd', b'u', b'p', 0, // NFTA_EXPR_NAME "dup"
                20, 0, 2, 0x80, // NFTA_EXPR_DATA (nested)
                8, 0, 1, 0, 0, 0, 0, 1, // NFTA_DUP_SREG_ADDR = reg 1
                8, 0, 2, 0, 0, 0, 0, 2, // NFTA_DUP_SREG_DEV = reg 2
            ]
        );
        let mut b = Buf::default();
        Expr::LookupMap {
            set: "vmac_map".into(),
            sreg: REG_2,
            dreg: REG_2,
        }
        .encode(&mut b);
        assert_eq!(
            b.b,
            [
                52, 0, 1, 0x80, // NFTA_LIST_ELEM
                11, 0, 1, 0, b'l', b'o', b'o', b'k', b'u', b'p', 0, 0, // "lookup"
                36, 0, 2, 0x80, // NFTA_EXPR_DATA
                13, 0, 1, 0, b'v', b'm', b'a', b'c', b'_', b'm', b'a', b'p', 0, 0, 0,
                0, // NFTA_LOOKUP_SET
                8, 0, 2, 0, 0, 0, 0, 2, // NFTA_LOOKUP_SREG
                8, 0, 3, 0, 0, 0, 0, 2, // NFTA_LOOKUP_DREG
            ]
        );
    }

    #[test]
    fn batch_is_framed_by_begin_and_end_for_nftables() {
        let mut b = Batch::new(100);
        b.msg(MsgType::NewTable, NLM_F_CREATE, 2, |a| {
            a.str(1, "keepalived")
        });
        let (bytes, acked, next) = b.finish();
        // begin (20) + newtable (20 + 4 + 11 -> 16) + end (20)
        assert_eq!(bytes.len(), 20 + 36 + 20);
        assert_eq!(&bytes[4..6], &0x10u16.to_ne_bytes()); // BATCH_BEGIN
        assert_eq!(&bytes[18..20], &10u16.to_be_bytes()); // res_id = NFNL_SUBSYS_NFTABLES
        assert_eq!(&bytes[24..26], &0x0a00u16.to_ne_bytes()); // (10 << 8) | NEWTABLE
        assert_eq!(
            &bytes[26..28],
            &(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE).to_ne_bytes()
        );
        assert_eq!(bytes[36], 2); // NFPROTO_IPV4
        assert_eq!(&bytes[60..62], &0x11u16.to_ne_bytes()); // BATCH_END
        assert_eq!(acked, vec![101]);
        assert_eq!(next, 103);
    }
}
