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
//!     set vips_link_local { type ipv6_addr . iface_index }   (with the first link-local VIP)
//!     chain out { ...; icmpv6 type @neighbor-discovery accept
//!         ip6 saddr fe80::/10 goto out_link_local
//!         ip6 saddr @vips drop }
//!     chain in { ...; icmpv6 type @neighbor-discovery accept
//!         ip6 daddr fe80::/10 goto in_link_local
//!         ip6 daddr @vips drop }
//!     chain in_link_local { ip6 daddr . iif @vips_link_local drop }   (rule: idem)
//!     chain out_link_local { ip6 saddr . oif @vips_link_local drop }
//! }
//! ```
//!
//! With `use_vmac`, keepalived adds to the table of the instance's family
//! a `vmac_map` (VMAC ifindex → base ifindex) and rules in `out` that send
//! IGMP / MLDv2 reports again from the base interface and drop them on the
//! VMAC, and (IPv6) drop router solicitations from the VMAC
//! ([`Nft::add_vmac`], listing byte-identical to keepalived 2.2.7's in
//! `tests/keepalived-2.2.7-vmac-ruleset.txt`).
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
    /// Families whose strict-mode sets and chains exist ([`Nft::ensure_table`]).
    strict: Vec<Family>,
    /// Families whose VMAC map/set/rules exist.
    vmac_rules: Vec<Family>,
    /// VMACs in the maps.
    vmacs: Vec<VmacLink>,
    /// VIPs in the sets (put back when a table is rebuilt).
    vips: Vec<Vip>,
    /// `vips_link_local` and its rules exist (made with the first
    /// link-local VIP).
    link_local_ready: bool,
}

/// A VMAC (macvlan) and its base interface, for keepalived's VMAC rules:
/// IGMP (IPv4) / MLDv2 reports (IPv6) the kernel sends from the VMAC are
/// sent again from the base interface and dropped on the VMAC, and router
/// solicitations from an IPv6 VMAC are dropped, so no frame with the
/// virtual MAC as source leaves a node that is not MASTER (a switch would
/// move the virtual MAC to its port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmacLink {
    /// The table (family of the instance).
    pub family: Family,
    /// Interface index of the VMAC.
    pub vmac: u32,
    /// Interface index of its base interface.
    pub base: u32,
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
            strict: Vec::new(),
            vmac_rules: Vec::new(),
            vmacs: Vec::new(),
            vips: Vec::new(),
            link_local_ready: false,
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
        // VMAC rules first, as keepalived (they exist from the VMAC's
        // creation on, before any VIP is set).
        let vmac = self.vmac_rules.contains(&family);
        if vmac {
            self.vmac_objects(&mut b, family, true);
        }
        let mut ll_now = false;
        match family {
            Family::Ipv4 => {
                self.set(&mut b, fam, "vips", msg::TYPE_IPADDR, 4, 0, 1);
                self.strict_base_chains(&mut b, fam, vmac);
                rule(&mut b, fam, &t, "in", &vip_drop(16, 4));
                rule(&mut b, fam, &t, "out", &vip_drop(12, 4));
            }
            Family::Ipv6 => {
                self.strict_base_chains(&mut b, fam, vmac);
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
                // in: daddr (offset 24), out: saddr (offset 8).
                for (chain, off, ll) in [("in", 24, "in_link_local"), ("out", 8, "out_link_local")]
                {
                    rule(&mut b, fam, &t, chain, &nd_accept());
                    rule(&mut b, fam, &t, chain, &link_local_goto(off, ll));
                    rule(&mut b, fam, &t, chain, &vip_drop(off, 16));
                }
                // vips_link_local and its rules come with the first
                // link-local VIP, as keepalived 2.2.7 (its table has empty
                // *_link_local chains until then).
                if self.vips.iter().any(|v| v.set().1 == "vips_link_local") {
                    self.link_local_objects(&mut b);
                    ll_now = true;
                }
            }
        }
        if vmac {
            self.vmac_elements(&mut b, family);
        }
        // Our own VIPs of that family go back (a left-over table's do not).
        for (fam_, set) in [
            (Family::Ipv4, "vips"),
            (Family::Ipv6, "vips"),
            (Family::Ipv6, "vips_link_local"),
        ] {
            let keys: Vec<Vec<u8>> = self
                .vips
                .iter()
                .filter(|v| fam_ == family && v.set() == (family, set))
                .map(Vip::key)
                .collect();
            if !keys.is_empty() {
                elems(&mut b, MsgType::NewSetElem, fam, &t, set, &keys);
            }
        }
        self.run(
            b,
            &format!("creating table {} {}", fam_name(family), self.table),
        )?;
        if !self.strict.contains(&family) {
            self.strict.push(family);
        }
        if family == Family::Ipv6 {
            self.link_local_ready = ll_now;
        }
        Ok(())
    }

    /// `set vips_link_local { type ipv6_addr . iface_index }` and the rules
    /// of `in_link_local` / `out_link_local` (IPv6 table).
    fn link_local_objects(&self, b: &mut Batch) {
        let fam = Family::Ipv6.proto();
        let t = self.table.clone();
        self.set(
            b,
            fam,
            "vips_link_local",
            (msg::TYPE_IP6ADDR << 6) | msg::TYPE_IFINDEX,
            20,
            0,
            3,
        );
        for (off, meta, ll) in [
            (24, msg::META_IIF, "in_link_local"),
            (8, msg::META_OIF, "out_link_local"),
        ] {
            rule(
                b,
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

    /// The families whose table this handle created (strict mode or VMAC
    /// rules): what to remove at exit.
    pub fn families(&self) -> Vec<Family> {
        let mut f = self.strict.clone();
        for v in &self.vmac_rules {
            if !f.contains(v) {
                f.push(*v);
            }
        }
        f
    }

    /// Add a VMAC to keepalived's VMAC rules (see [`VmacLink`]), creating
    /// the table, its `out` chain, the `vmac_map` map (and for IPv6 the
    /// `vmac_set` set) and the rules the first time, as keepalived 2.2.7
    /// does when it creates a VMAC (`nft list table ip keepalived`):
    ///
    /// ```text
    /// map vmac_map { type iface_index : iface_index }
    /// chain out { type filter hook output priority filter - 1; policy accept;
    ///     ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop }
    /// # ip6: set vmac_set { type iface_index }, and in chain out
    ///     icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop
    ///     icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop
    /// ```
    ///
    /// The rules go before any strict-mode rule of the chain.
    pub fn add_vmac(&mut self, v: VmacLink) -> Result<(), NftError> {
        let family = v.family;
        if self.strict.contains(&family) && !self.vmac_rules.contains(&family) {
            // Strict-mode table first: rebuild it with the VMAC objects in
            // front (keepalived's order), our VIPs put back.
            self.vmac_rules.push(family);
            if !self.vmacs.contains(&v) {
                self.vmacs.push(v);
            }
            return self.ensure_table(family);
        }
        let fam = family.proto();
        let t = self.table.clone();
        let mut b = Batch::new(self.seq);
        let first = !self.vmac_rules.contains(&family);
        if first {
            b.msg(MsgType::NewTable, msg::NLM_F_CREATE, fam, |a| a.str(1, &t));
            self.base_chain(
                &mut b,
                fam,
                "out",
                msg::NF_INET_LOCAL_OUT,
                msg::NLM_F_CREATE,
            );
            self.vmac_objects(&mut b, family, false);
        }
        vmac_elems(&mut b, MsgType::NewSetElem, &t, v);
        self.run(b, "adding a VMAC")?;
        if first {
            self.vmac_rules.push(family);
        }
        if !self.vmacs.contains(&v) {
            self.vmacs.push(v);
        }
        Ok(())
    }

    /// Remove a VMAC from the VMAC map/set (absent is fine). The rules stay
    /// (a lookup that finds nothing matches nothing).
    pub fn del_vmac(&mut self, v: VmacLink) -> Result<(), NftError> {
        self.vmacs.retain(|x| *x != v);
        if !self.vmac_rules.contains(&v.family) {
            return Ok(());
        }
        let t = self.table.clone();
        let mut b = Batch::new(self.seq);
        vmac_elems(&mut b, MsgType::NewSetElem, &t, v);
        vmac_elems(&mut b, MsgType::DelSetElem, &t, v);
        self.run(b, "removing a VMAC")
    }

    /// The VMAC map/set and rules of `family` into batch `b`. `append`: in
    /// a table being built (rules in order); otherwise each rule is put
    /// first in `out`, in reverse, so they precede strict-mode rules.
    fn vmac_objects(&self, b: &mut Batch, family: Family, append: bool) {
        let fam = family.proto();
        let t = self.table.clone();
        if append {
            self.base_chain(
                b,
                fam,
                "out",
                msg::NF_INET_LOCAL_OUT,
                msg::NLM_F_CREATE | msg::NLM_F_EXCL,
            );
        }
        let map = |b: &mut Batch, id: u32| {
            b.msg(MsgType::NewSet, msg::NLM_F_CREATE, fam, |a| {
                a.str(1, &t); // NFTA_SET_TABLE
                a.str(2, "vmac_map"); // NFTA_SET_NAME
                a.u32(3, msg::NFT_SET_MAP); // NFTA_SET_FLAGS
                a.u32(4, msg::TYPE_IFINDEX); // NFTA_SET_KEY_TYPE
                a.u32(5, 4); // NFTA_SET_KEY_LEN
                a.u32(6, msg::TYPE_IFINDEX); // NFTA_SET_DATA_TYPE
                a.u32(7, 4); // NFTA_SET_DATA_LEN
                a.u32(10, id); // NFTA_SET_ID
                               // NFTA_SET_USERDATA: key and data in host byte order
                               // (nft then lists interface names, as for keepalived's).
                a.attr(13, &udata_host_order(true));
            });
        };
        let flags = if append {
            msg::NLM_F_CREATE | msg::NLM_F_APPEND
        } else {
            msg::NLM_F_CREATE
        };
        let put = |b: &mut Batch, exprs: &[Expr]| {
            b.msg(MsgType::NewRule, flags, fam, |a| {
                a.str(1, &t);
                a.str(2, "out");
                a.nest(4, |l| {
                    for e in exprs {
                        e.encode(l);
                    }
                });
            });
        };
        match family {
            Family::Ipv4 => {
                map(b, 11);
                put(b, &vmac_dup(Family::Ipv4));
            }
            Family::Ipv6 => {
                map(b, 11);
                b.msg(MsgType::NewSet, msg::NLM_F_CREATE, fam, |a| {
                    a.str(1, &t);
                    a.str(2, "vmac_set");
                    a.u32(3, 0);
                    a.u32(4, msg::TYPE_IFINDEX);
                    a.u32(5, 4);
                    a.u32(10, 12);
                    a.attr(13, &udata_host_order(false));
                });
                let rules = [vmac_dup(Family::Ipv6), vmac_rs_drop()];
                if append {
                    for r in &rules {
                        put(b, r);
                    }
                } else {
                    for r in rules.iter().rev() {
                        put(b, r);
                    }
                }
            }
        }
    }

    fn vmac_elements(&self, b: &mut Batch, family: Family) {
        let t = self.table.clone();
        for v in self.vmacs.iter().filter(|v| v.family == family) {
            vmac_elems(b, MsgType::NewSetElem, &t, *v);
        }
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
        if add {
            // A family first needed after the start (e.g. a reload made an
            // instance strict): build its table now.
            for f in [Family::Ipv4, Family::Ipv6] {
                if !self.strict.contains(&f) && vips.iter().any(|v| v.set().0 == f) {
                    self.ensure_table(f)?;
                }
            }
        }
        let mut b = Batch::new(self.seq);
        let t = self.table.clone();
        let need_ll =
            add && !self.link_local_ready && vips.iter().any(|v| v.set().1 == "vips_link_local");
        if need_ll {
            self.link_local_objects(&mut b);
        }
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
        self.run(b, what)?;
        if need_ll {
            self.link_local_ready = true;
        }
        for v in vips {
            let known = self.vips.contains(v);
            if add && !known {
                self.vips.push(*v);
            } else if !add && known {
                self.vips.retain(|x| x != v);
            }
        }
        Ok(())
    }

    /// Remove the table of `family` (absent is fine), as keepalived does
    /// on exit.
    pub fn remove_table(&mut self, family: Family) -> Result<(), NftError> {
        let mut b = Batch::new(self.seq);
        let fam = family.proto();
        let t = self.table.clone();
        b.msg(MsgType::NewTable, msg::NLM_F_CREATE, fam, |a| a.str(1, &t));
        b.msg(MsgType::DelTable, 0, fam, |a| a.str(1, &t));
        self.strict.retain(|f| *f != family);
        self.vmac_rules.retain(|f| *f != family);
        self.vmacs.retain(|v| v.family != family);
        self.vips.retain(|v| v.set().0 != family);
        if family == Family::Ipv6 {
            self.link_local_ready = false;
        }
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

    /// The strict table's `out` (unless the VMAC rules made it) and `in`
    /// base chains, in that order.
    fn strict_base_chains(&self, b: &mut Batch, fam: u8, vmac: bool) {
        let new = msg::NLM_F_CREATE | msg::NLM_F_EXCL;
        if !vmac {
            self.base_chain(b, fam, "out", msg::NF_INET_LOCAL_OUT, new);
        }
        self.base_chain(b, fam, "in", msg::NF_INET_LOCAL_IN, new);
    }

    fn base_chain(&self, b: &mut Batch, fam: u8, name: &str, hook: u32, flags: u16) {
        let t = self.table.clone();
        let prio = self.priority as u32;
        b.msg(MsgType::NewChain, flags, fam, |a| {
            a.str(1, &t); // NFTA_CHAIN_TABLE
            a.str(3, name); // NFTA_CHAIN_NAME
            a.nest(4, |h| {
                h.u32(1, hook); // NFTA_HOOK_HOOKNUM
                h.u32(2, prio); // NFTA_HOOK_PRIORITY
            });
            a.u32(5, msg::NF_ACCEPT); // NFTA_CHAIN_POLICY
            a.str(7, "filter"); // NFTA_CHAIN_TYPE
        });
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

/// The element of `vmac_map` (VMAC → base) and, for IPv6, of `vmac_set`.
fn vmac_elems(b: &mut Batch, ty: MsgType, table: &str, v: VmacLink) {
    let fam = v.family.proto();
    let flags = if ty == MsgType::NewSetElem {
        msg::NLM_F_CREATE
    } else {
        0
    };
    let key = v.vmac.to_ne_bytes();
    let data = v.base.to_ne_bytes();
    b.msg(ty, flags, fam, |a| {
        a.str(1, table);
        a.str(2, "vmac_map");
        a.nest(3, |l| {
            l.nest(1, |e| {
                e.nest(1, |k| k.attr(1, &key)); // NFTA_SET_ELEM_KEY
                e.nest(2, |d| d.attr(1, &data)); // NFTA_SET_ELEM_DATA
            })
        });
    });
    if v.family == Family::Ipv6 {
        b.msg(ty, flags, fam, |a| {
            a.str(1, table);
            a.str(2, "vmac_set");
            a.nest(3, |l| l.nest(1, |e| e.nest(1, |k| k.attr(1, &key))));
        });
    }
}

/// `meta oifkind "macvlan"` (the kind is compared as 16 octets).
fn oifkind_macvlan() -> Vec<Expr> {
    let mut kind = b"macvlan".to_vec();
    kind.resize(16, 0);
    vec![
        Expr::Meta {
            key: msg::META_OIFKIND,
            dreg: msg::REG_2,
        },
        Expr::Cmp {
            sreg: msg::REG_2,
            data: kind,
        },
    ]
}

/// `ip protocol igmp` / `icmpv6 type mld2-listener-report`, then
/// `meta oifkind "macvlan" dup to ip[6] daddr device oif map @vmac_map drop`.
fn vmac_dup(family: Family) -> Vec<Expr> {
    let mut e = match family {
        Family::Ipv4 => vec![
            Expr::Payload {
                base: msg::BASE_NETWORK,
                offset: 9,
                len: 1,
                dreg: msg::REG_1,
            },
            Expr::Cmp {
                sreg: msg::REG_1,
                data: vec![2],
            },
            Expr::Payload {
                base: msg::BASE_NETWORK,
                offset: 16,
                len: 4,
                dreg: msg::REG_1,
            },
        ],
        Family::Ipv6 => {
            let mut e = icmp6_type(143);
            e.push(Expr::Payload {
                base: msg::BASE_NETWORK,
                offset: 24,
                len: 16,
                dreg: msg::REG_1,
            });
            e
        }
    };
    e.extend(oifkind_macvlan());
    e.extend([
        Expr::Meta {
            key: msg::META_OIF,
            dreg: msg::REG_2,
        },
        Expr::LookupMap {
            set: "vmac_map".into(),
            sreg: msg::REG_2,
            dreg: msg::REG_2,
        },
        Expr::Dup {
            sreg_addr: msg::REG_1,
            sreg_dev: msg::REG_2,
        },
        Expr::Verdict {
            code: msg::NF_DROP,
            chain: None,
        },
    ]);
    e
}

/// `meta l4proto ipv6-icmp` + `icmpv6 type T` (as keepalived encodes it).
fn icmp6_type(t: u8) -> Vec<Expr> {
    vec![
        Expr::Meta {
            key: msg::META_L4PROTO,
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
        Expr::Cmp {
            sreg: msg::REG_1,
            data: vec![t],
        },
    ]
}

/// `icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop`.
fn vmac_rs_drop() -> Vec<Expr> {
    let mut e = icmp6_type(133);
    e.extend(oifkind_macvlan());
    e.extend([
        Expr::Meta {
            key: msg::META_OIF,
            dreg: msg::REG_2,
        },
        Expr::Lookup {
            set: "vmac_set".into(),
            sreg: msg::REG_2,
        },
        Expr::Verdict {
            code: msg::NF_DROP,
            chain: None,
        },
    ]);
    e
}

/// libnftnl's set user data: `NFTNL_UDATA_SET_KEYBYTEORDER` (and, for a
/// map, `NFTNL_UDATA_SET_DATABYTEORDER`) = host endian (1), each a
/// (type, length, u32) TLV.
fn udata_host_order(map: bool) -> Vec<u8> {
    let mut u = vec![0u8, 4];
    u.extend_from_slice(&1u32.to_ne_bytes());
    if map {
        u.extend_from_slice(&[1, 4]);
        u.extend_from_slice(&1u32.to_ne_bytes());
    }
    u
}
