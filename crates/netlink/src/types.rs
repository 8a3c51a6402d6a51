//! Plain data types shared by the rtnetlink handle, the event socket and the
//! daemon: links, addresses (one `virtual_ipaddress` line), routes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// Address family selector for dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    pub(crate) fn af(self) -> u8 {
        match self {
            Family::V4 => libc::AF_INET as u8,
            Family::V6 => libc::AF_INET6 as u8,
        }
    }
}

/// Address / route scope as in iproute2's `rt_scopes` (`scope global`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// `global` (0, `RT_SCOPE_UNIVERSE`). The default.
    #[default]
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number (`scope 42`).
    Other(u8),
}

impl Scope {
    /// The kernel's numeric value.
    pub fn to_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    /// From the kernel's numeric value (named variants where one exists).
    pub fn from_u8(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// Error returned by [`Scope::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadScope(pub String);

impl fmt::Display for BadScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid scope '{}'", self.0)
    }
}

impl std::error::Error for BadScope {}

impl FromStr for Scope {
    type Err = BadScope;

    /// Accepts the iproute2 names (`global`, `universe`, `site`, `link`,
    /// `host`, `nowhere`) or a number 0..=255.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "global" | "universe" => Ok(Scope::Global),
            "site" => Ok(Scope::Site),
            "link" => Ok(Scope::Link),
            "host" => Ok(Scope::Host),
            "nowhere" => Ok(Scope::Nowhere),
            n => n
                .parse::<u8>()
                .map(Scope::from_u8)
                .map_err(|_| BadScope(s.to_string())),
        }
    }
}

/// Address flags (`IFA_F_*`), the 32-bit `IFA_FLAGS` attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    /// `IFA_F_SECONDARY` (kernel-set).
    pub const SECONDARY: AddrFlags = AddrFlags(0x01);
    /// `IFA_F_NODAD`: no duplicate address detection (IPv6, `-nodad`).
    pub const NODAD: AddrFlags = AddrFlags(0x02);
    /// `IFA_F_DADFAILED` (kernel-set).
    pub const DADFAILED: AddrFlags = AddrFlags(0x08);
    /// `IFA_F_HOMEADDRESS` (IPv6 mobility, `home`).
    pub const HOMEADDRESS: AddrFlags = AddrFlags(0x10);
    /// `IFA_F_DEPRECATED` (kernel-set).
    pub const DEPRECATED: AddrFlags = AddrFlags(0x20);
    /// `IFA_F_TENTATIVE` (kernel-set, DAD running).
    pub const TENTATIVE: AddrFlags = AddrFlags(0x40);
    /// `IFA_F_PERMANENT` (kernel-set for configured addresses).
    pub const PERMANENT: AddrFlags = AddrFlags(0x80);
    /// `IFA_F_MANAGETEMPADDR` (`mngtmpaddr`).
    pub const MANAGETEMPADDR: AddrFlags = AddrFlags(0x100);
    /// `IFA_F_NOPREFIXROUTE` (`noprefixroute`).
    pub const NOPREFIXROUTE: AddrFlags = AddrFlags(0x200);

    /// No flags.
    pub const fn empty() -> AddrFlags {
        AddrFlags(0)
    }

    /// True if every bit of `other` is set.
    pub const fn contains(self, other: AddrFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags a `virtual_ipaddress` line can request; kernel-set state
    /// bits (permanent, tentative, secondary, ...) are masked off.
    pub const fn requestable(self) -> AddrFlags {
        AddrFlags(
            self.0
                & (Self::NODAD.0
                    | Self::HOMEADDRESS.0
                    | Self::MANAGETEMPADDR.0
                    | Self::NOPREFIXROUTE.0),
        )
    }
}

impl std::ops::BitOr for AddrFlags {
    type Output = AddrFlags;
    fn bitor(self, rhs: AddrFlags) -> AddrFlags {
        AddrFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for AddrFlags {
    fn bitor_assign(&mut self, rhs: AddrFlags) {
        self.0 |= rhs.0;
    }
}

/// One interface address: what a `virtual_ipaddress` line expresses
/// (`192.0.2.10/24 brd 192.0.2.255 dev eth0 scope global label eth0:1`),
/// and what an address dump or event reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// Interface index (`dev`).
    pub ifindex: u32,
    /// The local address.
    pub addr: IpAddr,
    /// Prefix length (`/24`); keepalived's default is 32 / 128.
    pub prefix_len: u8,
    /// Point-to-point peer (`peer ADDR`), if any.
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast (`brd`); `None` = no broadcast attribute.
    pub broadcast: Option<Ipv4Addr>,
    /// Scope (`scope`), default global. IPv4 only in effect: for IPv6 the
    /// kernel ignores the requested scope and derives it from the address
    /// (keepalived rejects `scope` on IPv6 lines).
    pub scope: Scope,
    /// IPv4 label (`label eth0:1`), at most 15 bytes. On dumps and events
    /// the kernel reports the interface name for an IPv4 address added
    /// without a label.
    pub label: Option<String>,
    /// Flags (`-nodad`, `noprefixroute`, `home`, `mngtmpaddr`); on dumps
    /// also the kernel's state bits.
    pub flags: AddrFlags,
    /// IPv6 preferred lifetime in seconds (`preferred_lft`); `None` =
    /// forever. keepalived uses 0 for a /128 VIP (deprecated, never chosen
    /// as a source address).
    pub preferred_lft: Option<u32>,
    /// Address protocol (`IFA_PROTO`, kernel 5.18+): who added it. Lets the
    /// daemon recognise its own leftover VIPs at start-up. `None` = not
    /// sent / not reported.
    pub protocol: Option<u8>,
}

impl IfAddr {
    /// A plain address with defaults (global scope, no brd/label/flags).
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> IfAddr {
        IfAddr {
            ifindex,
            addr,
            prefix_len,
            peer: None,
            broadcast: None,
            scope: Scope::Global,
            label: None,
            flags: AddrFlags::empty(),
            preferred_lft: None,
            protocol: None,
        }
    }

    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// The broadcast address `brd +` computes (all host bits set), for IPv4
    /// prefixes up to /30 as keepalived does; `None` otherwise.
    pub fn computed_broadcast(&self) -> Option<Ipv4Addr> {
        match self.addr {
            IpAddr::V4(a) if self.prefix_len <= 30 => {
                let host = u32::MAX
                    .checked_shr(u32::from(self.prefix_len))
                    .unwrap_or(0);
                Some(Ipv4Addr::from(u32::from(a) | host))
            }
            _ => None,
        }
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Link (interface) state from `RTM_NEWLINK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `ifi_flags` (`IFF_UP`, `IFF_RUNNING`, `IFF_NOARP`, ...).
    pub flags: u32,
    /// Hardware address (`IFLA_ADDRESS`), when it is 6 bytes (Ethernet).
    pub mac: Option<[u8; 6]>,
    /// MTU (`IFLA_MTU`).
    pub mtu: Option<u32>,
    /// ARP hardware type (`ifi_type`, 1 = Ethernet, 772 = loopback).
    pub hw_type: u16,
    /// Link kind (`IFLA_INFO_KIND`: "veth", "macvlan", "bridge", ...), if
    /// the kernel reports one.
    pub kind: Option<String>,
    /// Parent/lower link index (`IFLA_LINK`), e.g. a macvlan's base
    /// interface. For veth it is the peer's index (maybe in another
    /// namespace).
    pub parent: Option<u32>,
}

impl Link {
    /// `IFF_UP` and `IFF_RUNNING` both set: keepalived's notion of an
    /// interface being up (administratively up and carrier present).
    pub fn is_up(&self) -> bool {
        let want = (libc::IFF_UP | libc::IFF_RUNNING) as u32;
        self.flags & want == want
    }

    /// `IFF_UP` set (administratively up).
    pub fn is_admin_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    /// `IFF_NOARP` set (keepalived sends no gratuitous ARP there).
    pub fn is_noarp(&self) -> bool {
        self.flags & libc::IFF_NOARP as u32 != 0
    }
}

/// macvlan mode (`IFLA_MACVLAN_MODE`). keepalived's VMAC uses `Private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacvlanMode {
    /// `MACVLAN_MODE_PRIVATE` (1): no traffic between macvlans of a parent.
    Private,
    /// `MACVLAN_MODE_VEPA` (2).
    Vepa,
    /// `MACVLAN_MODE_BRIDGE` (4).
    Bridge,
}

impl MacvlanMode {
    pub(crate) fn to_u32(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
        }
    }
}

/// A route (`virtual_routes` basics): `DST/LEN via GW dev IF table T metric M
/// scope S src A`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination prefix; `None` with `dst_len == 0` is the default route.
    pub dst: Option<IpAddr>,
    /// Destination prefix length.
    pub dst_len: u8,
    /// Gateway (`via`).
    pub gateway: Option<IpAddr>,
    /// Output interface (`dev`).
    pub ifindex: Option<u32>,
    /// Routing table (`table`), default main (254).
    pub table: u32,
    /// Metric / priority (`metric`).
    pub metric: Option<u32>,
    /// Scope; default global (a route without gateway on `dev` is usually
    /// `link`, as iproute2 picks; the caller decides).
    pub scope: Scope,
    /// Preferred source (`src`).
    pub src: Option<IpAddr>,
    /// Protocol, default `RTPROT_KEEPALIVED` = 18 as keepalived uses.
    pub protocol: u8,
    /// Family (needed for a default route without any address).
    pub family: Family,
}

impl Route {
    /// Main table id.
    pub const TABLE_MAIN: u32 = 254;
    /// keepalived's route protocol number (`RTPROT_KEEPALIVED`).
    pub const PROTO_KEEPALIVED: u8 = 18;

    /// A route to `dst/dst_len` with defaults (main table, global scope,
    /// protocol keepalived).
    pub fn new(dst: IpAddr, dst_len: u8) -> Route {
        Route {
            dst: Some(dst),
            dst_len,
            gateway: None,
            ifindex: None,
            table: Self::TABLE_MAIN,
            metric: None,
            scope: Scope::Global,
            src: None,
            protocol: Self::PROTO_KEEPALIVED,
            family: Family::of(&dst),
        }
    }
}

/// A policy-routing rule (`virtual_rules` basics): `from SRC/LEN to DST/LEN
/// fwmark M/MASK iif IF oif IF priority P table T`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Family of the rule (needed when no address is given).
    pub family: Family,
    /// `from` prefix.
    pub src: Option<(IpAddr, u8)>,
    /// `to` prefix.
    pub dst: Option<(IpAddr, u8)>,
    /// `lookup` / `table` (the action is always "to table").
    pub table: u32,
    /// `priority` / `preference`; `None` lets the kernel pick on add.
    pub priority: Option<u32>,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// `fwmark .../MASK`.
    pub fwmask: Option<u32>,
    /// `iif` interface name.
    pub iif: Option<String>,
    /// `oif` interface name.
    pub oif: Option<String>,
    /// Protocol set on add (`FRA_PROTOCOL`), default 18 (keepalived).
    pub protocol: u8,
}

impl Rule {
    /// A rule sending `family` traffic to `table`, nothing else matched.
    pub fn new(family: Family, table: u32) -> Rule {
        Rule {
            family,
            src: None,
            dst: None,
            table,
            priority: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            protocol: Route::PROTO_KEEPALIVED,
        }
    }
}

/// Result of an add: the daemon adopts an address that was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The kernel added it.
    Added,
    /// It was already present (`EEXIST`); nothing changed.
    AlreadyPresent,
}

/// Result of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelOutcome {
    /// The kernel removed it.
    Deleted,
    /// It was not there (`EADDRNOTAVAIL` for addresses, `ESRCH` for routes).
    NotPresent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_and_numbers() {
        assert_eq!("global".parse::<Scope>().unwrap(), Scope::Global);
        assert_eq!("host".parse::<Scope>().unwrap().to_u8(), 254);
        assert_eq!("link".parse::<Scope>().unwrap().to_u8(), 253);
        assert_eq!("site".parse::<Scope>().unwrap().to_u8(), 200);
        assert_eq!("nowhere".parse::<Scope>().unwrap().to_u8(), 255);
        assert_eq!("253".parse::<Scope>().unwrap(), Scope::Link);
        assert_eq!("42".parse::<Scope>().unwrap(), Scope::Other(42));
        assert!("256".parse::<Scope>().is_err());
        assert!("galaxy".parse::<Scope>().is_err());
        assert_eq!(Scope::Other(42).to_string(), "42");
        assert_eq!(Scope::Link.to_string(), "link");
    }

    #[test]
    fn broadcast_plus() {
        let a = IfAddr::new(1, "192.0.2.10".parse().unwrap(), 24);
        assert_eq!(a.computed_broadcast(), Some(Ipv4Addr::new(192, 0, 2, 255)));
        let a = IfAddr::new(1, "192.0.2.10".parse().unwrap(), 30);
        assert_eq!(a.computed_broadcast(), Some(Ipv4Addr::new(192, 0, 2, 11)));
        let a = IfAddr::new(1, "192.0.2.10".parse().unwrap(), 31);
        assert_eq!(a.computed_broadcast(), None);
        let a = IfAddr::new(1, "10.1.2.3".parse().unwrap(), 0);
        assert_eq!(a.computed_broadcast(), Some(Ipv4Addr::BROADCAST));
    }

    #[test]
    fn flags_requestable() {
        let f = AddrFlags::NODAD | AddrFlags::PERMANENT | AddrFlags::NOPREFIXROUTE;
        assert_eq!(f.requestable(), AddrFlags(0x202));
        assert!(f.contains(AddrFlags::NODAD));
    }
}
