//! Plain per-instance parameters. The daemon fills these from the `config`
//! crate's parsed `vrrp_instance` (defaults and clamping are keepalived's and
//! belong to that mapping; the defaults here are keepalived 2.2.7's too so
//! that tests and simple callers can use [`InstanceConfig::new`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::time::Centis;
use crate::wire::{Family, Version};

/// Default IPv4 group (`vrrp_mcast_group4`).
pub const MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Default IPv6 group (`vrrp_mcast_group6`).
pub const MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// The state the instance wants to be in at start (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    /// `state BACKUP` (or unset with priority < 255).
    Backup,
    /// `state MASTER` (or unset with priority 255).
    Master,
}

/// VRRPv2 authentication (`authentication { auth_type ...; auth_pass ... }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No authentication.
    None,
    /// `auth_type PASS`: the 8-octet data ([`crate::wire::vrrp::pass_auth_data`]).
    Pass([u8; 8]),
    /// `auth_type AH`: HMAC-MD5-96 keyed with the 8-octet data.
    Ah([u8; 8]),
}

/// How VRRPv3 over IPv4 checksums are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3Checksum {
    /// RFC 5798 pseudo-header with the packet's destination (default).
    PseudoHeader,
    /// `old_unicast_checksum`: unicast packets use the multicast group as
    /// the pseudo-header destination (keepalived < 2.0 interop). keepalived
    /// 2.2.7 also switches to this automatically when a unicast advert only
    /// verifies that way ("Setting unicast VRRPv3 checksum to old version").
    OldUnicast,
    /// `v3_checksum_as_v2` (keepalived ≥ 2.3, not in 2.2.7): no
    /// pseudo-header at all.
    AsV2,
}

/// One `unicast_peer` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// `min_ttl` (default 0).
    pub min_ttl: u8,
    /// `max_ttl` (default 255).
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with the full TTL range.
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

/// What a tracked object is (for log wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// `track_script` (a `vrrp_script`).
    Script,
    /// `track_interface`.
    Interface,
    /// `track_file`.
    File,
    /// `track_process`.
    Process,
    /// `track_bfd`.
    Bfd,
}

/// One tracked object of an instance with its effective weight (the
/// `track_*` block's weight if given, else the object's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    /// Kind of object.
    pub kind: TrackKind,
    /// Object name (script name, interface name, file name, ...).
    pub name: String,
    /// Weight −253..253 (track_file −254..254); 0 means failure → FAULT.
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// Parameters of one `vrrp_instance`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    /// Instance name (`VI_1`), used in every log line (shared with the
    /// daemon's copy).
    pub name: std::sync::Arc<str>,
    /// `interface` name (for log lines only; shared, the instances of a
    /// daemon mostly run on one or two interfaces).
    pub interface: std::sync::Arc<str>,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// Address family.
    pub family: Family,
    /// `version`.
    pub version: Version,
    /// `priority` (base priority, 1..255; 255 = address owner).
    pub priority: u8,
    /// `state`.
    pub initial_state: InitialState,
    /// `advert_int` (v2: whole seconds, v3: 1..4095 cs).
    pub adver_int: Centis,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` (zero = off).
    pub preempt_delay: Duration,
    /// `virtual_ipaddress` addresses, in config order (what adverts carry).
    pub vips: Vec<IpAddr>,
    /// Authentication (v2 over IPv4 only).
    pub auth: Auth,
    /// `unicast_peer` list (empty = multicast).
    pub unicast_peers: Vec<UnicastPeer>,
    /// `check_unicast_src` / global `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// `skip_check_adv_addr` / global `vrrp_skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// Source address (`mcast_src_ip` / `unicast_src_ip`, or the
    /// interface's primary address, which the daemon may update with
    /// [`crate::Input::SourceAddress`]).
    pub src_addr: Option<IpAddr>,
    /// Multicast group (`vrrp_mcast_group4/6`, `mcast_dst_ip`).
    pub mcast_group: IpAddr,
    /// TTL of sent adverts (255, or `unicast_ttl` for unicast).
    pub ttl: u8,
    /// `down_timer_adverts` (default 3).
    pub down_timer_adverts: u8,
    /// `garp_master_delay` (default 5 s; zero = no second burst).
    pub garp_master_delay: Duration,
    /// `garp_master_repeat` (default 5).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh` (zero = off).
    pub garp_master_refresh: Duration,
    /// `garp_master_refresh_repeat` (default 1).
    pub garp_master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`.
    pub garp_lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat` (0 = off).
    pub garp_lower_prio_repeat: u32,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// v3/IPv4 checksum flavour.
    pub v3_checksum: V3Checksum,
    /// `dont_track_primary`: the instance's own interface going down does
    /// not cause FAULT.
    pub dont_track_primary: bool,
    /// Tracked objects.
    pub trackers: Vec<TrackConfig>,
    /// Global `vrrp_startup_delay` (zero = none): until this long after
    /// [`crate::Input::Startup`], BACKUP deadlines count from the end of the
    /// delay (keepalived `vrrp_delayed_start_time`).
    pub startup_delay: Duration,
    /// Member of a `vrrp_sync_group`: the instance does not go MASTER on
    /// its own but emits [`crate::Action::SyncWantMaster`]; the daemon
    /// answers with [`crate::Input::SyncGoMaster`] when the whole group may.
    pub sync_group: bool,
    /// keepalived 2.4 `auth_hmac` (HMAC-SHA256 trailer; any version and
    /// family). The daemon must report the wall clock once with
    /// [`crate::Instance::set_wall_clock`] before [`crate::Input::Startup`].
    /// Boxed: most instances have none.
    pub auth_hmac: Option<Box<crate::auth_hmac::AuthHmacConfig>>,
}

impl InstanceConfig {
    /// keepalived's defaults for an instance of `family` with VRID `vrid`,
    /// priority 100, `state BACKUP`, advert 1 s, no VIPs, multicast.
    /// Version 2 for IPv4, 3 for IPv6.
    pub fn new(name: &str, vrid: u8, family: Family) -> Self {
        InstanceConfig {
            name: name.into(),
            interface: "eth0".into(),
            vrid,
            family,
            version: if family == Family::V4 {
                Version::V2
            } else {
                Version::V3
            },
            priority: 100,
            initial_state: InitialState::Backup,
            adver_int: Centis(100),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            vips: Vec::new(),
            auth: Auth::None,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            skip_check_adv_addr: false,
            src_addr: None,
            mcast_group: match family {
                Family::V4 => IpAddr::V4(MCAST_GROUP4),
                Family::V6 => IpAddr::V6(MCAST_GROUP6),
            },
            ttl: 255,
            down_timer_adverts: 3,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: Duration::ZERO,
            garp_lower_prio_repeat: 0,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            v3_checksum: V3Checksum::PseudoHeader,
            dont_track_primary: false,
            trackers: Vec::new(),
            startup_delay: Duration::ZERO,
            sync_group: false,
            auth_hmac: None,
        }
    }

    /// The instance uses unicast.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// Auth applies only to VRRPv2 over IPv4 (keepalived ignores it otherwise).
    pub fn effective_auth(&self) -> Auth {
        if self.version == Version::V2 && self.family == Family::V4 {
            self.auth
        } else {
            Auth::None
        }
    }
}
