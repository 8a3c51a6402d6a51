//! The IPVS table as values: services, destinations, their options and stats.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::consts::*;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    /// The `AF_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }
    /// From an `AF_*` number.
    pub fn from_raw(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// Transport protocol of an address/port service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
}

impl Protocol {
    /// The `IPPROTO_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
            Protocol::Sctp => IPPROTO_SCTP,
        }
    }
    /// From an `IPPROTO_*` number.
    pub fn from_raw(p: u16) -> Option<Self> {
        match p {
            IPPROTO_TCP => Some(Protocol::Tcp),
            IPPROTO_UDP => Some(Protocol::Udp),
            IPPROTO_SCTP => Some(Protocol::Sctp),
            _ => None,
        }
    }
    /// Lower-case name as keepalived logs it (`tcp`, `udp`, `sctp`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKey {
    /// `virtual_server IP PORT` with a protocol.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address (its family is the service family).
        addr: IpAddr,
        /// Virtual port (host order here; big-endian on the wire).
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// Family of the fwmark service (IPv4 and IPv6 fwmark services are distinct).
        family: Family,
        /// Firewall mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// Address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// keepalived's notation: `[192.0.2.1]:tcp:80`, `FWM 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "[{addr}]:{}:{port}", protocol.name()),
            ServiceKey::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
        }
    }
}

/// Scheduler (`lb_algo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Source hashing.
    Sh,
    /// Destination hashing.
    Dh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Any other name the kernel reports (at most 15 bytes on the wire).
    Other(String),
}

impl Scheduler {
    /// The kernel name (`rr`, `wrr`, ...).
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sh => "sh",
            Scheduler::Dh => "dh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Other(s) => s,
        }
    }
    /// From a kernel name; unknown names become [`Scheduler::Other`].
    pub fn from_name(s: &str) -> Self {
        match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "lblc" => Scheduler::Lblc,
            "lblcr" => Scheduler::Lblcr,
            "sh" => Scheduler::Sh,
            "dh" => Scheduler::Dh,
            "sed" => Scheduler::Sed,
            "nq" => Scheduler::Nq,
            "fo" => Scheduler::Fo,
            "ovf" => Scheduler::Ovf,
            "mh" => Scheduler::Mh,
            other => Scheduler::Other(other.to_string()),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), sent as `struct ip_vs_flags { flags, mask }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// Persistent service (`persistence_timeout`).
    pub const PERSISTENT: Self = Self(IP_VS_SVC_F_PERSISTENT);
    /// Hashed: the kernel sets it on every service; ignored when comparing.
    pub const HASHED: Self = Self(IP_VS_SVC_F_HASHED);
    /// One-packet scheduling (`ops`).
    pub const ONE_PACKET: Self = Self(IP_VS_SVC_F_ONEPACKET);
    /// sh scheduler: fall back to another server when the hashed one is down.
    pub const SH_FALLBACK: Self = Self(IP_VS_SVC_F_SCHED1);
    /// sh scheduler: hash the source port too.
    pub const SH_PORT: Self = Self(IP_VS_SVC_F_SCHED2);
    /// mh scheduler: fallback (same bit as `SH_FALLBACK`).
    pub const MH_FALLBACK: Self = Self(IP_VS_SVC_F_SCHED1);
    /// mh scheduler: hash the source port (same bit as `SH_PORT`).
    pub const MH_PORT: Self = Self(IP_VS_SVC_F_SCHED2);
    /// Scheduler flag 3.
    pub const SCHED3: Self = Self(IP_VS_SVC_F_SCHED3);

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// The flags without the kernel-maintained `HASHED` bit.
    pub const fn configured(self) -> Self {
        Self(self.0 & !IP_VS_SVC_F_HASHED)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// Persistence granularity (`IPVS_SVC_ATTR_NETMASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Netmask {
    /// IPv4 mask, e.g. `255.255.255.255` (sent big-endian).
    V4(Ipv4Addr),
    /// IPv6 prefix length 1..=128 (sent as a host-order number in the be32 field, as the kernel reads it).
    V6(u8),
}

impl Netmask {
    /// The default of a family: `/32` or `/128`.
    pub fn full(family: Family) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::new(255, 255, 255, 255)),
            Family::Inet6 => Netmask::V6(128),
        }
    }
    /// The 4 attribute bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        match self {
            Netmask::V4(m) => m.octets(),
            Netmask::V6(p) => u32::from(p).to_ne_bytes(),
        }
    }
    /// Decode the 4 attribute bytes for a family (the family decides the meaning).
    pub fn from_bytes(family: Family, b: [u8; 4]) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::from(b)),
            Family::Inet6 => Netmask::V6(u8::try_from(u32::from_ne_bytes(b)).unwrap_or(u8::MAX)),
        }
    }
}

/// Counters of a service or destination (the 64-bit set when the kernel has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub inpps: u64,
    /// Outgoing packets per second.
    pub outpps: u64,
    /// Incoming bytes per second.
    pub inbps: u64,
    /// Outgoing bytes per second.
    pub outbps: u64,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Identity: protocol/address/port or fwmark.
    pub key: ServiceKey,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Flags (persistent, one-packet, scheduler flags). `HASHED` appears in dumps.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (0 without persistence).
    pub timeout: u32,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// Persistence engine (`persistence_engine sip`), if any.
    pub pe_name: Option<String>,
    /// Counters (dumps only; ignored when comparing and encoding).
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with scheduler `rr`-like defaults: no flags, no persistence, full netmask.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        let netmask = Netmask::full(key.family());
        Service {
            key,
            scheduler,
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask,
            pe_name: None,
            stats: None,
        }
    }
    /// Address family.
    pub fn family(&self) -> Family {
        self.key.family()
    }
    /// Whether the kernel-settable attributes equal those of `other` (stats and `HASHED` ignored).
    pub fn same_settings(&self, other: &Service) -> bool {
        self.scheduler == other.scheduler
            && self.flags.configured() == other.flags.configured()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.pe_name == other.pe_name
    }
}

/// Tunnel encapsulation of a TUN destination (`IPVS_DEST_ATTR_TUN_*`, Linux >= 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelType {
    /// IP-in-IP (the default and the only one before Linux 5.2).
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
    /// A type this crate does not know.
    Unknown(u8),
}

impl TunnelType {
    /// Raw `IP_VS_CONN_F_TUNNEL_TYPE_*`.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Unknown(x) => x,
        }
    }
    /// From the raw value.
    pub fn from_raw(x: u8) -> Self {
        match x {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            other => TunnelType::Unknown(other),
        }
    }
}

/// Tunnel options of a TUN destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// Destination UDP port for GUE (host order; big-endian on the wire), 0 otherwise.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` (csum / remcsum).
    pub flags: u16,
}

impl Tunnel {
    /// Plain IPIP.
    pub const IPIP: Tunnel = Tunnel {
        kind: TunnelType::Ipip,
        port: 0,
        flags: 0,
    };
}

/// Forwarding method (`lb_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forward {
    /// NAT / masquerading.
    Masq,
    /// Direct routing (`DR`, `-g`).
    Route,
    /// Tunnelling.
    Tunnel(Tunnel),
    /// Local node (the kernel reports it for a local destination).
    Local,
    /// Cache bypass.
    Bypass,
}

impl Forward {
    /// The `IP_VS_CONN_F_*` forwarding bits.
    pub fn to_raw(self) -> u32 {
        match self {
            Forward::Masq => IP_VS_CONN_F_MASQ,
            Forward::Route => IP_VS_CONN_F_DROUTE,
            Forward::Tunnel(_) => IP_VS_CONN_F_TUNNEL,
            Forward::Local => IP_VS_CONN_F_LOCALNODE,
            Forward::Bypass => IP_VS_CONN_F_BYPASS,
        }
    }
}

/// What identifies a destination inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DestKey {
    /// Real server address (may differ in family from the service for TUN).
    pub addr: IpAddr,
    /// Real server port (host order).
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.addr, self.port)
    }
}

/// A real server of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// Address and port.
    pub key: DestKey,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (0 = quiesced; the kernel accepts 0..=i32::MAX).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold.
    pub l_threshold: u32,
    /// Counters and connection numbers (dumps only; ignored when comparing and encoding).
    pub stats: Option<DestStats>,
}

impl Destination {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Self {
        Destination {
            key: DestKey { addr, port },
            forward,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            stats: None,
        }
    }
    /// Whether the settable attributes equal those of `other`.
    pub fn same_settings(&self, other: &Destination) -> bool {
        self.forward == other.forward
            && self.weight == other.weight
            && self.u_threshold == other.u_threshold
            && self.l_threshold == other.l_threshold
    }
}

/// Dump-only figures of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DestStats {
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inact_conns: u32,
    /// Persistent connection templates.
    pub persist_conns: u32,
    /// Counters.
    pub stats: Stats,
}

/// A service with its destinations: one entry of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualService {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub dests: Vec<Destination>,
}

/// Connection timeouts (`ipvsadm --set`); 0 in a set request means "unchanged".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeouts {
    /// TCP established timeout, seconds.
    pub tcp: u32,
    /// TCP FIN_WAIT timeout, seconds.
    pub tcp_fin: u32,
    /// UDP timeout, seconds.
    pub udp: u32,
}

/// Reply of GET_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Version as the kernel encodes it (0x010201 = 1.2.1).
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl fmt::Display for Info {
    /// As ipvsadm prints it: `1.2.1 (size=4096)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{} (size={})",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
            self.conn_tab_size
        )
    }
}

/// Role of a connection synchronisation daemon (`lvs_sync_daemon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncState {
    /// Sends connection state (`IP_VS_STATE_MASTER`).
    Master,
    /// Receives it (`IP_VS_STATE_BACKUP`).
    Backup,
}

impl SyncState {
    /// The `IP_VS_STATE_*` value.
    pub fn to_raw(self) -> u32 {
        match self {
            SyncState::Master => IP_VS_STATE_MASTER,
            SyncState::Backup => IP_VS_STATE_BACKUP,
        }
    }
    /// From the `IP_VS_STATE_*` value.
    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            IP_VS_STATE_MASTER => Some(SyncState::Master),
            IP_VS_STATE_BACKUP => Some(SyncState::Backup),
            _ => None,
        }
    }
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface (at most 15 bytes).
    pub mcast_ifn: String,
    /// Sync id.
    pub sync_id: u32,
    /// UDP payload size (0 = kernel default).
    pub sync_maxlen: u16,
    /// Multicast group (None = kernel default 224.0.0.81).
    pub mcast_group: Option<IpAddr>,
    /// Multicast port (0 = kernel default 8848; host order on the wire too).
    pub mcast_port: u16,
    /// Multicast TTL (0 = kernel default 1).
    pub mcast_ttl: u8,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults for size, group, port and TTL.
    pub fn new(state: SyncState, mcast_ifn: &str, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            sync_id,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}
