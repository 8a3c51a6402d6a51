//! Configuration → protocol core: one [`vrrp::InstanceConfig`] per
//! `vrrp_instance`, the VIP lines as netlink [`IfAddr`]s, and the notify
//! scripts as runnable specs. The parent already validated the
//! configuration; nothing is checked twice here, only translated.

use std::net::{IpAddr, Ipv4Addr};

use config::{Config, VrrpInstance};
use netlink::{AddrFlags, IfAddr, Scope};
use vrrp::wire::{Family, Version};
use vrrp::{Auth, InitialState, InstanceConfig, TrackConfig, TrackKind, UnicastPeer, V3Checksum};

/// The identity an instance keeps across reloads (keepalived matches
/// instances the same way): VRID, family and interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// `virtual_router_id`.
    pub vrid: u8,
    /// Address family.
    pub family: Family,
    /// Interface name (one copy shared by the instances on the same
    /// interface, see [`InstanceKey::share`]).
    pub interface: std::sync::Arc<str>,
}

impl InstanceKey {
    /// Uses `other`'s copy of the interface name when it is the same.
    pub fn share(mut self, other: Option<&InstanceKey>) -> InstanceKey {
        if let Some(o) = other.filter(|o| o.interface == self.interface) {
            self.interface = o.interface.clone();
        }
        self
    }
}

/// What a running instance keeps of its `vrrp_instance` block.
///
/// The parsed block is 1,088 bytes plus its strings and lists, and most
/// of it is only read to build the protocol core, which has its own copy
/// of what it needs. An instance keeps the few fields read while it runs,
/// the `virtual_routes` / `virtual_rules` (boxed, only when it has some)
/// and the whole block in its serialised form (tens of bytes for an
/// ordinary instance) for what is rare: the JSON dump.
#[derive(Debug, Clone)]
pub struct InstCfg {
    /// Instance name (the same copy as the core's, see
    /// [`InstCfg::share_name`]).
    pub name: std::sync::Arc<str>,
    /// GARP/NA settings (repeat, delays, pacing intervals); one copy
    /// shared by the instances that have the same (usually all).
    pub garp: std::sync::Arc<config::GarpSettings>,
    /// `state` as configured.
    pub state: config::InitialState,
    /// `mcast_src_ip` / `unicast_src_ip` as configured (any family).
    pub src_ip: Option<IpAddr>,
    /// Number of `virtual_ipaddress` lines (the eVIPs not counted).
    pub n_vips: usize,
    /// [`VrrpInstance::needs_vip_firewall`].
    firewall: bool,
    /// `virtual_routes` and `virtual_rules`, when there are some.
    routes: Option<Box<VirtualRoutes>>,
    /// The whole block.
    block: Block,
}

/// An instance's `virtual_routes` and `virtual_rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VirtualRoutes {
    routes: Vec<config::IpRoute>,
    rules: Vec<config::IpRule>,
}

/// The whole `vrrp_instance` block, serialised (bincode, as the parent
/// sends the configuration), or as is if it could not be.
#[derive(Debug, Clone)]
enum Block {
    Encoded(Box<[u8]>),
    Plain(Box<VrrpInstance>),
}

impl InstCfg {
    /// Keeps what a running instance needs of `vi`; shares `like`'s GARP
    /// settings when they are the same.
    pub fn new(vi: &VrrpInstance, like: Option<&InstCfg>) -> InstCfg {
        let block = match bincode::serde::encode_to_vec(vi, bincode::config::standard()) {
            Ok(v) => Block::Encoded(v.into_boxed_slice()),
            Err(_) => Block::Plain(Box::new(vi.clone())),
        };
        let routes = (!vi.virtual_routes.is_empty() || !vi.virtual_rules.is_empty()).then(|| {
            Box::new(VirtualRoutes {
                routes: vi.virtual_routes.clone(),
                rules: vi.virtual_rules.clone(),
            })
        });
        InstCfg {
            name: vi.name.as_str().into(),
            garp: match like {
                Some(l) if *l.garp == vi.garp => l.garp.clone(),
                _ => std::sync::Arc::new(vi.garp.clone()),
            },
            state: vi.state,
            src_ip: vi.src_ip,
            n_vips: vi.virtual_ipaddress.len(),
            firewall: vi.needs_vip_firewall(),
            routes,
            block,
        }
    }

    /// Uses `name` (the core's copy) when it is the same.
    pub fn share_name(&mut self, name: &std::sync::Arc<str>) {
        if self.name == *name {
            self.name = name.clone();
        }
    }

    /// The whole block again (`None` only if its serialised form cannot be
    /// read back, which would be a bug).
    pub fn block(&self) -> Option<VrrpInstance> {
        match &self.block {
            Block::Encoded(b) => bincode::serde::decode_from_slice(b, bincode::config::standard())
                .ok()
                .map(|(v, _)| v),
            Block::Plain(v) => Some((**v).clone()),
        }
    }

    /// [`VrrpInstance::needs_vip_firewall`].
    pub fn needs_vip_firewall(&self) -> bool {
        self.firewall
    }

    /// `virtual_routes` lines.
    pub fn virtual_routes(&self) -> &[config::IpRoute] {
        self.routes.as_ref().map_or(&[], |r| &r.routes)
    }

    /// `virtual_rules` lines.
    pub fn virtual_rules(&self) -> &[config::IpRule] {
        self.routes.as_ref().map_or(&[], |r| &r.rules)
    }

    /// Whether the instance has `virtual_routes` or `virtual_rules`.
    pub fn has_routes(&self) -> bool {
        self.routes.is_some()
    }
}

/// The interface an instance runs on (`interface`, else
/// `default_interface`, else `eth0` as keepalived's compiled default).
pub fn interface_of(cfg: &Config, vi: &VrrpInstance) -> String {
    vi.interface
        .clone()
        .or_else(|| cfg.global.default_interface.clone())
        .unwrap_or_else(|| "eth0".to_string())
}

/// Address family of an instance.
pub fn family_of(vi: &VrrpInstance) -> Family {
    match vi.family {
        config::Family::Inet => Family::V4,
        config::Family::Inet6 => Family::V6,
    }
}

/// The reload key of an instance.
pub fn key_of(cfg: &Config, vi: &VrrpInstance) -> InstanceKey {
    InstanceKey {
        vrid: vi.virtual_router_id,
        family: family_of(vi),
        interface: interface_of(cfg, vi).into(),
    }
}

/// The sync group an instance belongs to, if any.
pub fn group_of<'a>(cfg: &'a Config, name: &str) -> Option<&'a config::VrrpSyncGroup> {
    cfg.vrrp_sync_groups
        .iter()
        .find(|g| g.group.iter().any(|m| m == name))
}

/// Builds the protocol core's parameters of `vi`.
pub fn instance_config(cfg: &Config, vi: &VrrpInstance) -> InstanceConfig {
    let g = &cfg.global;
    let family = family_of(vi);
    let mut ic = InstanceConfig::new(&vi.name, vi.virtual_router_id, family);
    ic.interface = interface_of(cfg, vi).into();
    ic.version = match vi.version {
        config::VrrpVersion::V2 if family == Family::V4 => Version::V2,
        _ => Version::V3,
    };
    ic.priority = vi.priority;
    ic.initial_state = match vi.state {
        config::InitialState::Master => InitialState::Master,
        config::InitialState::Backup => InitialState::Backup,
    };
    ic.adver_int = vrrp::time::Centis(u16::try_from(vi.advert_int.0).unwrap_or(u16::MAX));
    ic.nopreempt = vi.nopreempt;
    ic.preempt_delay = vi.preempt_delay.as_duration();
    ic.vips = vi.virtual_ipaddress.iter().map(|v| v.addr).collect();
    ic.auth = match &vi.authentication {
        None => Auth::None,
        Some(a) => {
            let data = vrrp::wire::vrrp::pass_auth_data(a.auth_pass.as_bytes());
            match a.auth_type {
                config::AuthType::Pass => Auth::Pass(data),
                config::AuthType::Ah => Auth::Ah(data),
            }
        }
    };
    ic.unicast_peers = vi
        .unicast_peers
        .iter()
        .filter(|p| Family::of(&p.addr) == family)
        .map(|p| UnicastPeer {
            addr: p.addr,
            min_ttl: p.min_ttl,
            max_ttl: p.max_ttl,
        })
        .collect();
    ic.check_unicast_src = vi.check_unicast_src || g.vrrp_check_unicast_src;
    ic.skip_check_adv_addr = vi.skip_check_adv_addr || g.vrrp_skip_check_adv_addr;
    ic.src_addr = vi.src_ip.filter(|a| Family::of(a) == family);
    ic.mcast_group = match (vi.mcast_dst_ip, family) {
        (Some(a), _) if Family::of(&a) == family => a,
        (_, Family::V4) => IpAddr::V4(g.vrrp_mcast_group4),
        (_, Family::V6) => IpAddr::V6(g.vrrp_mcast_group6),
    };
    ic.ttl = if ic.unicast_peers.is_empty() {
        255
    } else {
        vi.unicast_ttl
    };
    ic.down_timer_adverts = vi.down_timer_adverts.max(1);
    ic.garp_master_delay = vi.garp.master_delay.as_duration();
    ic.garp_master_repeat = vi.garp.master_repeat;
    ic.garp_master_refresh = vi.garp.master_refresh.as_duration();
    ic.garp_master_refresh_repeat = vi.garp.master_refresh_repeat;
    ic.garp_lower_prio_delay = vi.garp.lower_prio_delay.as_duration();
    ic.garp_lower_prio_repeat = vi.garp.lower_prio_repeat;
    ic.lower_prio_no_advert = vi.lower_prio_no_advert || g.vrrp_lower_prio_no_advert;
    ic.higher_prio_send_advert = vi.higher_prio_send_advert || g.vrrp_higher_prio_send_advert;
    ic.v3_checksum = if vi.v3_checksum_as_v2 || g.v3_checksum_as_v2 {
        V3Checksum::AsV2
    } else if vi.old_unicast_checksum {
        V3Checksum::OldUnicast
    } else {
        V3Checksum::PseudoHeader
    };
    ic.dont_track_primary = vi.dont_track_primary;
    ic.trackers = trackers(cfg, vi);
    ic.sync_group = group_of(cfg, &vi.name).is_some();
    // A key file error leaves the instance unstarted (see `auth_hmac`), so
    // `None` here never means "unauthenticated" for a running instance.
    ic.auth_hmac = auth_hmac(vi).ok().flatten().map(Box::new);
    ic
}

/// The `auth_hmac` block of `vi` for the core; `Err(log line)` when a key
/// file cannot be used (the instance must then not start: an unreadable
/// key must not mean "unauthenticated").
pub fn auth_hmac(vi: &VrrpInstance) -> Result<Option<vrrp::auth_hmac::AuthHmacConfig>, String> {
    use vrrp::auth_hmac as h;
    let Some(a) = &vi.auth_hmac else {
        return Ok(None);
    };
    let mut keys = Vec::new();
    for k in &a.keys {
        let key = match &k.value {
            config::HmacKeyValue::Inline(v) => v.clone(),
            config::HmacKeyValue::File(p) => config::auth::read_key_file(p)
                .map_err(|e| format!("({}) auth_hmac key file '{}' {e}", vi.name, p.display()))?,
        };
        keys.push(h::HmacKey { id: k.id, key });
    }
    Ok(Some(h::AuthHmacConfig {
        keys,
        active_key: a.active_key,
        mode: match a.mode {
            config::HmacMode::Enforce => h::HmacMode::Enforce,
            config::HmacMode::Permissive => h::HmacMode::Permissive,
            config::HmacMode::ReceiveOnly => h::HmacMode::ReceiveOnly,
        },
        anti_replay: if a.anti_replay_time {
            h::AntiReplay::Time
        } else {
            h::AntiReplay::Monotonic
        },
        time_window: a.time_window,
    }))
}

/// The tracked objects of `vi` (its own and those of its sync group),
/// with the weight in force: the `track_*` line's, else the object's.
pub fn trackers(cfg: &Config, vi: &VrrpInstance) -> Vec<TrackConfig> {
    let mut out = Vec::new();
    let group = group_of(cfg, &vi.name);
    let scripts = vi
        .track_script
        .iter()
        .chain(group.into_iter().flat_map(|g| g.track_script.iter()));
    for t in scripts {
        let (w, rev) = match cfg.vrrp_script(&t.name) {
            Some(s) => (s.weight, s.weight_reverse),
            None => (0, false),
        };
        out.push(TrackConfig {
            kind: TrackKind::Script,
            name: t.name.clone(),
            weight: t.weight.unwrap_or(w),
            reverse: t.reverse || (t.weight.is_none() && rev),
        });
    }
    let ifs = vi
        .track_interface
        .iter()
        .chain(group.into_iter().flat_map(|g| g.track_interface.iter()));
    for t in ifs {
        out.push(TrackConfig {
            kind: TrackKind::Interface,
            name: t.name.clone(),
            weight: t.weight.unwrap_or(0),
            reverse: t.reverse,
        });
    }
    let files = vi
        .track_file
        .iter()
        .chain(group.into_iter().flat_map(|g| g.track_file.iter()));
    for t in files {
        let (w, rev) = match cfg.track_file(&t.name) {
            Some(f) => (f.weight, f.weight_reverse),
            None => (1, false),
        };
        out.push(TrackConfig {
            kind: TrackKind::File,
            name: t.name.clone(),
            weight: t.weight.unwrap_or(w),
            reverse: t.reverse || (t.weight.is_none() && rev),
        });
    }
    let procs = vi
        .track_process
        .iter()
        .chain(group.into_iter().flat_map(|g| g.track_process.iter()));
    for t in procs {
        let (w, rev) = match cfg.track_processes.iter().find(|p| p.name == t.name) {
            Some(p) => (p.weight, p.weight_reverse),
            None => (0, false),
        };
        out.push(TrackConfig {
            kind: TrackKind::Process,
            name: t.name.clone(),
            weight: t.weight.unwrap_or(w),
            reverse: t.reverse || (t.weight.is_none() && rev),
        });
    }
    out
}

/// One VIP line resolved for netlink: the interface it goes on by name
/// (resolved to an index when used) and the address attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipLine {
    /// Interface name (`dev`, else the instance's interface).
    pub dev: String,
    /// The address with index 0 (filled in at use).
    pub addr: IfAddr,
    /// `no_track`.
    pub no_track: bool,
}

/// Translates one `virtual_ipaddress` line (`192.0.2.10/24 brd + dev eth1
/// scope link label eth1:0`).
pub fn vip_line(vip: &config::VirtualIp, default_dev: &str) -> VipLine {
    let mut a = IfAddr::new(0, vip.addr, vip.prefix);
    a.peer = vip.peer.map(|(p, _)| p);
    a.broadcast = match (vip.broadcast, vip.addr) {
        (Some(config::Broadcast::Addr(b)), _) => Some(b),
        (Some(config::Broadcast::Plus), _) => a.computed_broadcast(),
        (Some(config::Broadcast::Minus), IpAddr::V4(v4)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(vip.prefix.min(32)))
                .unwrap_or(0);
            Some(Ipv4Addr::from(u32::from(v4) & mask))
        }
        _ => None,
    };
    a.scope = match vip.scope {
        None | Some(config::Scope::Global) => Scope::Global,
        Some(config::Scope::Site) => Scope::Site,
        Some(config::Scope::Link) => Scope::Link,
        Some(config::Scope::Host) => Scope::Host,
        Some(config::Scope::Nowhere) => Scope::Nowhere,
        Some(config::Scope::Other(n)) => Scope::from_u8(n),
    };
    a.label = vip.label.clone();
    let mut f = AddrFlags::empty();
    // keepalived adds IPv6 VIPs with IFA_F_NODAD: the address is moving
    // from the old master, and DAD would keep it tentative (unusable).
    if vip.nodad || vip.addr.is_ipv6() {
        f |= AddrFlags::NODAD;
    }
    if vip.home {
        f |= AddrFlags::HOMEADDRESS;
    }
    if vip.mngtmpaddr {
        f |= AddrFlags::MANAGETEMPADDR;
    }
    if vip.noprefixroute {
        f |= AddrFlags::NOPREFIXROUTE;
    }
    a.flags = f;
    a.preferred_lft = match vip.preferred_lft {
        Some(config::PreferredLft::Secs(s)) => Some(s),
        _ => None,
    };
    VipLine {
        dev: vip.dev.clone().unwrap_or_else(|| default_dev.to_string()),
        addr: a,
        no_track: vip.no_track,
    }
}

/// Every VIP and eVIP line of `vi`, in configuration order.
///
/// With `use_vmac`, lines without `dev` (or with `dev` the instance's
/// interface, or the per-line `use_vmac`) go on the VMAC: the base
/// interface must never carry a VIP, or it would answer ARP with its own MAC.
pub fn vip_lines(cfg: &Config, vi: &VrrpInstance) -> Vec<VipLine> {
    let dev = interface_of(cfg, vi);
    let vmac = crate::vmac::vmac_of(cfg, vi);
    vi.virtual_ipaddress
        .iter()
        .chain(vi.virtual_ipaddress_excluded.iter())
        .map(|v| {
            let mut l = vip_line(v, &dev);
            if let Some(vm) = &vmac {
                if v.dev.is_none() || l.dev == dev || v.use_vmac {
                    l.dev = vm.name.clone();
                }
            }
            l
        })
        .collect()
}

/// Resolves a user (and optional group) name to ids.
pub fn lookup_user(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name(user).ok().flatten()?;
    let gid = match group {
        Some(g) => nix::unistd::Group::from_name(g)
            .ok()
            .flatten()?
            .gid
            .as_raw(),
        None => u.gid.as_raw(),
    };
    Some((u.uid.as_raw(), gid))
}

/// A configured script as a runnable spec: its own `USER [GROUP]`, else
/// `script_user`, else the daemon's identity.
pub fn script_spec(cfg: &Config, s: &config::Script) -> notify::ScriptSpec {
    let mut spec = notify::ScriptSpec::new(s.argv.clone());
    let who = match &s.user {
        Some(u) => Some((u.clone(), s.group.clone())),
        None => cfg
            .global
            .script_user
            .as_ref()
            .map(|r| (r.user.clone(), r.group.clone())),
    };
    if let Some((u, g)) = who {
        match lookup_user(&u, g.as_deref()) {
            Some((uid, gid)) => spec = spec.user(uid, gid),
            None => log::warn!("Unable to find user {u} for script {}", spec.display()),
        }
    }
    spec
}

/// The notify scripts of an instance or group.
pub fn notify_scripts(cfg: &Config, n: &config::NotifyScripts) -> notify::NotifyScripts {
    let f = |s: &Option<config::Script>| s.as_ref().map(|s| script_spec(cfg, s));
    notify::NotifyScripts {
        master: f(&n.master),
        backup: f(&n.backup),
        fault: f(&n.fault),
        stop: f(&n.stop),
        deleted: f(&n.deleted),
        master_rx_lower_pri: f(&n.master_rx_lower_pri),
        generic: f(&n.any),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::write(&p, text).unwrap();
        let opts = config::LoadOptions {
            path: p,
            ..Default::default()
        };
        match config::load(&opts) {
            Ok(l) => l.config,
            Err(f) => panic!("{f:?}"),
        }
    }

    #[test]
    fn maps_instance_like_keepalived() {
        let c = parse(
            "global_defs {\n vrrp_version 3\n}\nvrrp_script chk {\n script \"/bin/true\"\n weight -30\n}\n\
             vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 90\n advert_int 0.1\n\
             unicast_src_ip 192.0.2.11\n unicast_peer {\n 192.0.2.12\n }\n\
             track_script {\n chk\n }\n track_interface {\n eth1 weight -10\n }\n\
             virtual_ipaddress {\n 192.0.2.200/24 brd + dev eth0 scope link label eth0:1\n }\n}\n",
        );
        let vi = &c.vrrp_instances[0];
        let ic = instance_config(&c, vi);
        assert_eq!(ic.version, Version::V3);
        assert_eq!(ic.priority, 90);
        assert_eq!(ic.adver_int, vrrp::time::Centis(10));
        assert_eq!(ic.initial_state, InitialState::Master);
        assert_eq!(ic.unicast_peers.len(), 1);
        assert_eq!(ic.src_addr, Some("192.0.2.11".parse().unwrap()));
        assert_eq!(ic.trackers.len(), 2);
        assert_eq!(ic.trackers[0].weight, -30);
        assert_eq!(ic.trackers[1].weight, -10);
        let lines = vip_lines(&c, vi);
        assert_eq!(lines[0].dev, "eth0");
        assert_eq!(lines[0].addr.prefix_len, 24);
        assert_eq!(
            lines[0].addr.broadcast,
            Some("192.0.2.255".parse().unwrap())
        );
        assert_eq!(lines[0].addr.scope, Scope::Link);
        assert_eq!(lines[0].addr.label.as_deref(), Some("eth0:1"));
        assert_eq!(
            key_of(&c, vi),
            InstanceKey {
                vrid: 51,
                family: Family::V4,
                interface: "eth0".into()
            }
        );
    }

    #[test]
    fn auth_pass_truncated_to_8() {
        let c = parse(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 90\n\
             authentication {\n auth_type PASS\n auth_pass 123456789012\n }\n\
             virtual_ipaddress {\n 192.0.2.200\n }\n}\n",
        );
        let ic = instance_config(&c, &c.vrrp_instances[0]);
        assert_eq!(ic.auth, Auth::Pass(*b"12345678"));
        assert_eq!(ic.version, Version::V2);
    }
    #[test]
    fn instance_keeps_a_compact_block_that_reads_back_whole() {
        let c = parse(
            "vrrp_instance VI_7 {\n state MASTER\n interface eth0\n virtual_router_id 7\n priority 100\n\
             advert_int 1\n mcast_src_ip 192.0.2.11\n garp_master_repeat 3\n\
             virtual_ipaddress {\n 198.51.100.7/32\n 198.51.100.8/32\n }\n\
             virtual_ipaddress_excluded {\n 198.51.100.9/32\n }\n}\n\
             vrrp_instance VI_8 {\n interface eth0\n virtual_router_id 8\n priority 90\n\
             virtual_ipaddress {\n 203.0.113.8/32\n }\n\
             virtual_routes {\n 198.51.100.0/25 via 192.0.2.1 dev eth0\n }\n}\n",
        );
        let (a, b) = (&c.vrrp_instances[0], &c.vrrp_instances[1]);
        let ka = InstCfg::new(a, None);
        assert_eq!(ka.block().as_ref(), Some(a));
        assert_eq!(&*ka.name, "VI_7");
        assert_eq!(ka.state, config::InitialState::Master);
        assert_eq!(ka.src_ip, Some("192.0.2.11".parse().unwrap()));
        assert_eq!(ka.n_vips, 2);
        assert_eq!(ka.garp.master_repeat, 3);
        assert!(!ka.has_routes());
        assert!(ka.virtual_routes().is_empty() && ka.virtual_rules().is_empty());
        assert_eq!(ka.needs_vip_firewall(), a.needs_vip_firewall());
        // An ordinary instance's block is small next to the parsed one.
        match &ka.block {
            Block::Encoded(bytes) => assert!(bytes.len() < 256, "{} bytes serialised", bytes.len()),
            Block::Plain(_) => panic!("block not serialised"),
        }
        let kb = InstCfg::new(b, Some(&ka));
        assert!(!std::sync::Arc::ptr_eq(&ka.garp, &kb.garp));
        // Same GARP settings: one shared copy.
        let kc = InstCfg::new(b, Some(&kb));
        assert!(std::sync::Arc::ptr_eq(&kb.garp, &kc.garp));
        assert_eq!(kb.block().as_ref(), Some(b));
        assert!(kb.has_routes());
        assert_eq!(kb.virtual_routes(), &b.virtual_routes[..]);
        assert_eq!(kb.state, b.state);
    }
}
