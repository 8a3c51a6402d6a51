//! The nftables table keepalived 2.2.7 creates when an instance does not
//! accept traffic to its VIPs (`vrrp_strict` without `accept`, or
//! `no_accept`), programmed over `NETLINK_NETFILTER` (no `nft` binary, no
//! libnftnl), rule for rule as keepalived's `vrrp/vrrp_nftables.c` builds it.
//!
//! Observed from keepalived 2.2.7 in a namespace (`nft list ruleset`):
//!
//! ```text
//! table ip keepalived {
//!     set vips { type ipv4_addr }
//!     chain out { type filter hook output priority filter - 1; policy accept;
//!         ip saddr @vips drop }
//!     chain in { type filter hook input priority filter - 1; policy accept;
//!         ip daddr @vips drop }
//! }
//! table ip6 keepalived {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant;
//!         elements = { nd-neighbor-solicit, nd-neighbor-advert } }
//!     set vips_link_local { type ipv6_addr . iface_index }
//!     chain out { ...; icmpv6 type @neighbor-discovery accept
//!         ip6 saddr fe80::/10 goto out_link_local
//!         ip6 saddr @vips drop }
//!     chain in { ...; icmpv6 type @neighbor-discovery accept
//!         ip6 daddr fe80::/10 goto in_link_local
//!         ip6 daddr @vips drop }
//!     chain in_link_local { ip6 daddr . iif @vips_link_local drop }
//!     chain out_link_local { ip6 saddr . oif @vips_link_local drop }
//! }
//! ```
//!
//! A VIP is in a set while its instance is MASTER and not in accept mode;
//! keepalived logs `(VI_1) setting firewall drop rule` / `(VI_1) removing
//! firewall drop rule` around it (the daemon's job).
//!
//! Why hand-encoded netlink and not `rustables`: see `notes/parity.md`.

#![warn(missing_docs)]

pub mod msg;

use msg::{Batch, Expr, MsgType};
use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

/// keepalived's default table name (`nftables` without a name).
pub const DEFAULT_TABLE: &str = "keepalived";
/// keepalived's default base-chain priority (`nftables_priority`, -1).
pub const DEFAULT_PRIORITY: i32 = -1;

const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `table ip NAME`.
    Ipv4,
    /// `table ip6 NAME`.
    Ipv6,
}

impl Family {
    fn proto(self) -> u8 {
        match self {
            Family::Ipv4 => NFPROTO_IPV4,
            Family::Ipv6 => NFPROTO_IPV6,
        }
    }
}

/// A VIP to drop traffic for. IPv6 link-local addresses go to
/// `vips_link_local` keyed by (address, interface index), others to `vips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Interface index (used for IPv6 link-local addresses only).
    pub ifindex: u32,
}

impl Vip {
    /// The set this VIP belongs to.
    pub fn set(&self) -> (Family, &'static str) {
        match self.addr {
            IpAddr::V4(_) => (Family::Ipv4, "vips"),
            IpAddr::V6(a) if is_link_local(&a) => (Family::Ipv6, "vips_link_local"),
            IpAddr::V6(_) => (Family::Ipv6, "vips"),
        }
    }
    fn key(&self) -> Vec<u8> {
        match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) if is_link_local(&a) => {
                let mut k = a.octets().to_vec();
                k.extend_from_slice(&self.ifindex.to_ne_bytes());
                k
            }
            IpAddr::V6(a) => a.octets().to_vec(),
        }
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Errors.
#[derive(Debug)]
pub enum NftError {
    /// Socket-level failure.
    Io(&'static str, Errno),
    /// The kernel refused message `what` of a batch.
    Kernel {
        /// What was being done.
        what: String,
        /// errno from the kernel.
        errno: Errno,
    },
    /// A reply that is not netlink.
    Malformed,
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NftError::Io(w, e) => write!(f, "nftables {w}: {e}"),
            NftError::Kernel { what, errno } => {
                write!(f, "nftables: kernel refused {what}: {}", errno.desc())
            }
            NftError::Malformed => f.write_str("nftables: malformed netlink reply"),
        }
    }
}

impl std::error::Error for NftError {}

/// A `NETLINK_NETFILTER` socket managing keepalived's table.
#[derive(Debug)]
pub struct Nft {
    fd: OwnedFd,
    seq: u32,
    table: String,
    priority: i32,
}

impl Nft {
    /// Open a socket for table `table` (keepalived: `keepalived`) whose base
    /// chains get priority `priority` (keepalived: -1).
    pub fn open(table: &str, priority: i32) -> Result<Nft, NftError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(|e| NftError::Io("socket", e))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|e| NftError::Io("bind", e))?;
        Ok(Nft {
            fd,
            seq: 1,
            table: table.to_string(),
            priority,
        })
    }

    /// Open the socket inside the network namespace file `netns` (e.g.
    /// `/run/netns/NAME`); the calling thread returns to its own namespace.
    pub fn open_in_netns(
        netns: &std::path::Path,
        table: &str,
        priority: i32,
    ) -> Result<Nft, NftError> {
        use nix::sched::{setns, CloneFlags};
        let io = |e: std::io::Error| {
            NftError::Io("netns", Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        };
        let own = std::fs::File::open("/proc/thread-self/ns/net").map_err(io)?;
        let target = std::fs::File::open(netns).map_err(io)?;
        setns(&target, CloneFlags::CLONE_NEWNET).map_err(|e| NftError::Io("setns", e))?;
        let opened = Nft::open(table, priority);
        setns(&own, CloneFlags::CLONE_NEWNET).map_err(|e| NftError::Io("setns back", e))?;
        opened
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// (Re)create the table of `family` with its sets, chains and rules, as
    /// keepalived does at start-up. An existing table of that name is
    /// replaced (with its elements) in the same transaction, so a left-over
    /// from a crashed daemon never stays half-programmed.
    pub fn ensure_table(&mut self, family: Family) -> Result<(), NftError> {
        let mut b = Batch::new(self.seq);
        let fam = family.proto();
        let t = self.table.clone();
        // Create-if-absent, then delete, then create: always succeeds.
        b.msg(MsgType::NewTable, msg::NLM_F_CREATE, fam, |a| a.str(1, &t));
        b.msg(MsgType::DelTable, 0, fam, |a| a.str(1, &t));
        b.msg(MsgType::NewTable, msg::NLM_F_CREATE, fam, |a| a.str(1, &t));
        match family {
            Family::Ipv4 => {
                self.set(&mut b, fam, "vips", msg::TYPE_IPADDR, 4, 0, 1);
                self.base_chain(&mut b, fam, "out", msg::NF_INET_LOCAL_OUT);
                self.base_chain(&mut b, fam, "in", msg::NF_INET_LOCAL_IN);
                rule(&mut b, fam, &t, "in", &vip_drop(16, 4));
                rule(&mut b, fam, &t, "out", &vip_drop(12, 4));
            }
            Family::Ipv6 => {
                self.base_chain(&mut b, fam, "out", msg::NF_INET_LOCAL_OUT);
                self.base_chain(&mut b, fam, "in", msg::NF_INET_LOCAL_IN);
                self.chain(&mut b, fam, "in_link_local");
                self.chain(&mut b, fam, "out_link_local");
                self.set(&mut b, fam, "vips", msg::TYPE_IP6ADDR, 16, 0, 1);
                self.set(
                    &mut b,
                    fam,
                    "neighbor-discovery",
                    msg::TYPE_ICMP6_TYPE,
                    1,
                    msg::NFT_SET_CONSTANT,
                    2,
                );
                elems(
                    &mut b,
                    MsgType::NewSetElem,
                    fam,
                    &t,
                    "neighbor-discovery",
                    &[vec![135], vec![136]],
                );
                self.set(
                    &mut b,
                    fam,
                    "vips_link_local",
                    (msg::TYPE_IP6ADDR << 6) | msg::TYPE_IFINDEX,
                    20,
                    0,
                    3,
                );
                // in: daddr (offset 24), out: saddr (offset 8).
                for (chain, off, meta, ll) in [
                    ("in", 24, msg::META_IIF, "in_link_local"),
                    ("out", 8, msg::META_OIF, "out_link_local"),
                ] {
                    rule(&mut b, fam, &t, chain, &nd_accept());
                    rule(&mut b, fam, &t, chain, &link_local_goto(off, ll));
                    rule(&mut b, fam, &t, chain, &vip_drop(off, 16));
                    rule(
                        &mut b,
                        fam,
                        &t,
                        ll,
                        &[
                            Expr::Payload {
                                base: msg::BASE_NETWORK,
                                offset: off,
                                len: 16,
                                dreg: msg::REG_1,
                            },
                            Expr::Meta {
                                key: meta,
                                dreg: msg::REG_2,
                            },
                            Expr::Lookup {
                                set: "vips_link_local".into(),
                                sreg: msg::REG_1,
                            },
                            Expr::Verdict {
                                code: msg::NF_DROP,
                                chain: None,
                            },
                        ],
                    );
                }
            }
        }
        self.run(
            b,
            &format!("creating table {} {}", fam_name(family), self.table),
        )
    }

    /// Add VIPs to their sets (already present ones are fine). The tables
    /// of the families involved must exist ([`Self::ensure_table`]).
    pub fn add_vips(&mut self, vips: &[Vip]) -> Result<(), NftError> {
        self.vips(vips, true)
    }

    /// Remove VIPs from their sets (absent ones are fine).
    pub fn del_vips(&mut self, vips: &[Vip]) -> Result<(), NftError> {
        self.vips(vips, false)
    }

    fn vips(&mut self, vips: &[Vip], add: bool) -> Result<(), NftError> {
        if vips.is_empty() {
            return Ok(());
        }
        let mut b = Batch::new(self.seq);
        let t = self.table.clone();
        for (family, set) in [
            (Family::Ipv4, "vips"),
            (Family::Ipv6, "vips"),
            (Family::Ipv6, "vips_link_local"),
        ] {
            let keys: Vec<Vec<u8>> = vips
                .iter()
                .filter(|v| v.set() == (family, set))
                .map(Vip::key)
                .collect();
            if keys.is_empty() {
                continue;
            }
            let fam = family.proto();
            // Adding first makes the delete of an absent element harmless.
            elems(&mut b, MsgType::NewSetElem, fam, &t, set, &keys);
            if !add {
                elems(&mut b, MsgType::DelSetElem, fam, &t, set, &keys);
            }
        }
        let what = if add { "adding VIPs" } else { "removing VIPs" };
        self.run(b, what)
    }

    /// Remove the table of `family` (absent is fine), as keepalived does
    /// on exit.
    pub fn remove_table(&mut self, family: Family) -> Result<(), NftError> {
        let mut b = Batch::new(self.seq);
        let fam = family.proto();
        let t = self.table.clone();
        b.msg(MsgType::NewTable, msg::NLM_F_CREATE, fam, |a| a.str(1, &t));
        b.msg(MsgType::DelTable, 0, fam, |a| a.str(1, &t));
        self.run(
            b,
            &format!("removing table {} {}", fam_name(family), self.table),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn set(
        &self,
        b: &mut Batch,
        fam: u8,
        name: &str,
        key_type: u32,
        key_len: u32,
        flags: u32,
        id: u32,
    ) {
        let t = self.table.clone();
        b.msg(
            MsgType::NewSet,
            msg::NLM_F_CREATE | msg::NLM_F_EXCL,
            fam,
            |a| {
                a.str(1, &t); // NFTA_SET_TABLE
                a.str(2, name); // NFTA_SET_NAME
                a.u32(3, flags); // NFTA_SET_FLAGS
                a.u32(4, key_type); // NFTA_SET_KEY_TYPE
                a.u32(5, key_len); // NFTA_SET_KEY_LEN
                a.u32(10, id); // NFTA_SET_ID
            },
        );
    }

    fn base_chain(&self, b: &mut Batch, fam: u8, name: &str, hook: u32) {
        let t = self.table.clone();
        let prio = self.priority as u32;
        b.msg(
            MsgType::NewChain,
            msg::NLM_F_CREATE | msg::NLM_F_EXCL,
            fam,
            |a| {
                a.str(1, &t); // NFTA_CHAIN_TABLE
                a.str(3, name); // NFTA_CHAIN_NAME
                a.nest(4, |h| {
                    h.u32(1, hook); // NFTA_HOOK_HOOKNUM
                    h.u32(2, prio); // NFTA_HOOK_PRIORITY
                });
                a.u32(5, msg::NF_ACCEPT); // NFTA_CHAIN_POLICY
                a.str(7, "filter"); // NFTA_CHAIN_TYPE
            },
        );
    }

    fn chain(&self, b: &mut Batch, fam: u8, name: &str) {
        let t = self.table.clone();
        b.msg(
            MsgType::NewChain,
            msg::NLM_F_CREATE | msg::NLM_F_EXCL,
            fam,
            |a| {
                a.str(1, &t);
                a.str(3, name);
            },
        );
    }

    fn run(&mut self, b: Batch, what: &str) -> Result<(), NftError> {
        let (bytes, acked, next) = b.finish();
        self.seq = next;
        send(self.fd.as_raw_fd(), &bytes, MsgFlags::empty())
            .map_err(|e| NftError::Io("send", e))?;
        let mut pending = acked;
        let mut buf = vec![0u8; 65536];
        let mut first_err = None;
        while !pending.is_empty() {
            let n = loop {
                match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                    Err(Errno::EINTR) => continue,
                    r => break r.map_err(|e| NftError::Io("recv", e))?,
                }
            };
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(
                    buf[off..off + 4]
                        .try_into()
                        .map_err(|_| NftError::Malformed)?,
                ) as usize;
                let ty = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                let seq = u32::from_ne_bytes(
                    buf[off + 8..off + 12]
                        .try_into()
                        .map_err(|_| NftError::Malformed)?,
                );
                if len < 16 || off + len > n {
                    return Err(NftError::Malformed);
                }
                if ty == 2 {
                    // NLMSG_ERROR: errno (negative) then the request header.
                    if len < 20 {
                        return Err(NftError::Malformed);
                    }
                    let code = i32::from_ne_bytes(
                        buf[off + 16..off + 20]
                            .try_into()
                            .map_err(|_| NftError::Malformed)?,
                    );
                    pending.retain(|s| *s != seq);
                    if code != 0 && first_err.is_none() {
                        first_err = Some(Errno::from_raw(-code));
                    }
                    if code != 0 {
                        // The transaction is aborted: no further acks come.
                        pending.clear();
                    }
                }
                off += (len + 3) & !3;
            }
        }
        match first_err {
            Some(errno) => Err(NftError::Kernel {
                what: what.to_string(),
                errno,
            }),
            None => Ok(()),
        }
    }
}

fn fam_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    }
}

fn rule(b: &mut Batch, fam: u8, table: &str, chain: &str, exprs: &[Expr]) {
    b.msg(
        MsgType::NewRule,
        msg::NLM_F_CREATE | msg::NLM_F_APPEND,
        fam,
        |a| {
            a.str(1, table); // NFTA_RULE_TABLE
            a.str(2, chain); // NFTA_RULE_CHAIN
            a.nest(4, |l| {
                for e in exprs {
                    e.encode(l);
                }
            });
        },
    );
}

fn elems(b: &mut Batch, ty: MsgType, fam: u8, table: &str, set: &str, keys: &[Vec<u8>]) {
    b.msg(
        ty,
        if ty == MsgType::NewSetElem {
            msg::NLM_F_CREATE
        } else {
            0
        },
        fam,
        |a| {
            a.str(1, table); // NFTA_SET_ELEM_LIST_TABLE
            a.str(2, set); // NFTA_SET_ELEM_LIST_SET
            a.nest(3, |l| {
                for k in keys {
                    l.nest(1, |e| e.nest(1, |kk| kk.attr(1, k)));
                }
            });
        },
    );
}

/// `ip[6] daddr|saddr @vips drop`.
fn vip_drop(offset: u32, len: u32) -> Vec<Expr> {
    vec![
        Expr::Payload {
            base: msg::BASE_NETWORK,
            offset,
            len,
            dreg: msg::REG_1,
        },
        Expr::Lookup {
            set: "vips".into(),
            sreg: msg::REG_1,
        },
        Expr::Verdict {
            code: msg::NF_DROP,
            chain: None,
        },
    ]
}

/// `icmpv6 type @neighbor-discovery accept` (next header 58 at offset 6).
fn nd_accept() -> Vec<Expr> {
    vec![
        Expr::Payload {
            base: msg::BASE_NETWORK,
            offset: 6,
            len: 1,
            dreg: msg::REG_1,
        },
        Expr::Cmp {
            sreg: msg::REG_1,
            data: vec![58],
        },
        Expr::Payload {
            base: msg::BASE_TRANSPORT,
            offset: 0,
            len: 1,
            dreg: msg::REG_1,
        },
        Expr::Lookup {
            set: "neighbor-discovery".into(),
            sreg: msg::REG_1,
        },
        Expr::Verdict {
            code: msg::NF_ACCEPT,
            chain: None,
        },
    ]
}

/// `ip6 daddr|saddr fe80::/10 goto CHAIN`.
fn link_local_goto(offset: u32, chain: &str) -> Vec<Expr> {
    let mut mask = vec![0u8; 16];
    mask[0] = 0xff;
    mask[1] = 0xc0;
    let mut val = vec![0u8; 16];
    val[0] = 0xfe;
    val[1] = 0x80;
    vec![
        Expr::Payload {
            base: msg::BASE_NETWORK,
            offset,
            len: 16,
            dreg: msg::REG_1,
        },
        Expr::Bitwise {
            reg: msg::REG_1,
            mask,
        },
        Expr::Cmp {
            sreg: msg::REG_1,
            data: val,
        },
        Expr::Verdict {
            code: msg::NFT_GOTO,
            chain: Some(chain.into()),
        },
    ]
}
