//! Configuration → checker engine input and → IPVS services/destinations
//! (keepalived `check/check_data.c` `validate_check_config`,
//! `check/ipvswrapper.c` `ipvs_set_srule`/`ipvs_set_drule`,
//! `check/ipwrapper.c` group expansion).
//!
//! The loader (`config`) already resolves checker defaults (retry 1 / DNS 3 /
//! MISC 0, delay_before_retry 1 s / HTTP 3 s / DNS = delay_loop, warmup =
//! delay_loop, `nb_get_retry` → retry) and clamps quorum/hysteresis; the
//! mapping applies the clamps again (a `Config` can be built by hand) and adds
//! what belongs to the run time: `misc_timeout` (default delay_loop), the
//! probe addresses, the kernel services of each virtual server.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use check::http::{HttpProtocol as ChkHttpProtocol, StatusCodes, UrlCheck};
use check::udp::{HexPattern, UdpExpect};
use check::{
    CheckKind, CheckerConfig, Proto, RealServerConfig, RsAddr, SorryServerConfig,
    VirtualServerConfig, VsName,
};
use config::{
    CheckerKind, Config, Family as CfgFamily, Granularity, LbKind, Micros, Protocol as CfgProto,
    Script, TunnelType as CfgTunnel, VirtualServer, VsKey, VsgEntry,
};
use ipvs::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    Tunnel, TunnelType, VirtualService,
};

/// Largest number of kernel services one `virtual_server_group` range may
/// expand to (keepalived has no limit; a /8 typo would otherwise create 16 M).
pub const MAX_RANGE_EXPANSION: u128 = 65_536;

/// keepalived's `IPVS_SVC_PERSISTENT_TIMEOUT` (bare `persistence_timeout`,
/// or a zero port).
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

/// Everything the daemon derives from a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Input of [`check::Engine`], one entry per virtual server. The
    /// runtime moves it into its engine: empty in `CheckRuntime::mapped()`
    /// (read the configurations through `Engine::vs_config` and friends).
    pub engine: Vec<VirtualServerConfig>,
    /// Run-time plan of each virtual server (same order as `engine`).
    pub plans: Vec<VsPlan>,
    /// Warnings to log (checkers not supported, oversized ranges, ...).
    pub warnings: Vec<String>,
}

/// What the daemon needs for one virtual server besides the engine config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsPlan {
    /// keepalived's name (`[ip]:tcp:80`, `FWM 7`, `[group]:0`).
    pub name: VsName,
    /// The kernel services (several for a group), without destinations.
    pub services: Vec<Service>,
    /// Real servers, parallel to the engine's `real_servers`.
    pub real_servers: Vec<RsPlan>,
    /// The sorry server's destination template (weight set at run time).
    pub sorry: Option<Destination>,
    /// `quorum_up` script.
    pub quorum_up: Option<Script>,
    /// `quorum_down` script.
    pub quorum_down: Option<Script>,
    /// The address whose presence enables checkers with `ha_suspend`.
    pub ha_suspend_vip: Option<IpAddr>,
    /// `delay_loop` of the virtual server (dumps).
    pub delay_loop: Duration,
    /// `lb_algo` name (dumps).
    pub lb_algo: &'static str,
    /// `lb_kind` (dumps).
    pub lb_kind: String,
    /// A `virtual_server group`: destination ports are set per service.
    pub group: bool,
}

/// One real server's run-time plan (kept for the daemon's life: small, the
/// address is the engine's and the rare parts are boxed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsPlan {
    /// The destination template (weight set at run time).
    pub dest: DestTemplate,
    /// `notify_up`.
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// Probe settings, parallel to the engine's checkers.
    pub probes: Box<[ProbeSpec]>,
}

/// What a real server's IPVS destination is made of, without the weight
/// and the dump-only counters of [`Destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestTemplate {
    /// Address.
    pub addr: IpAddr,
    /// Port as programmed (keepalived's port fix-ups applied).
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// `uthreshold`.
    pub u_threshold: u32,
    /// `lthreshold`.
    pub l_threshold: u32,
}

impl DestTemplate {
    /// The destination with this weight.
    pub fn destination(&self, weight: u32) -> Destination {
        let mut d = Destination::new(self.addr, self.port, self.forward);
        d.weight = weight;
        d.u_threshold = self.u_threshold;
        d.l_threshold = self.l_threshold;
        d
    }
}

/// How to probe one checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `connect_ip`/`connect_port`, default the real server.
    pub target: SocketAddr,
    /// `bindto`/`bind_port`, `fwmark`, `bind_if` when any is set.
    pub opts: Option<Box<SockOpts>>,
    /// Type-specific part.
    pub kind: ProbeKind,
}

/// The probe socket's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SockOpts {
    /// `bindto`/`bind_port`.
    pub bind: Option<SocketAddr>,
    /// `fwmark` (SO_MARK) of the probe socket.
    pub fwmark: Option<u32>,
    /// `bind_if` (SO_BINDTODEVICE).
    pub bind_if: Option<String>,
}

impl ProbeSpec {
    /// `bindto`/`bind_port`.
    pub fn bind(&self) -> Option<SocketAddr> {
        self.opts.as_ref().and_then(|o| o.bind)
    }
    /// `fwmark`.
    pub fn fwmark(&self) -> Option<u32> {
        self.opts.as_ref().and_then(|o| o.fwmark)
    }
    /// `bind_if`.
    pub fn bind_if(&self) -> Option<&str> {
        self.opts.as_ref().and_then(|o| o.bind_if.as_deref())
    }
}

/// HTTP_GET / SSL_GET settings, shared by every checker with the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpSpec {
    /// SSL_GET.
    pub ssl: bool,
    /// The url blocks.
    pub urls: Vec<UrlCheck>,
    /// `http_protocol`.
    pub protocol: ChkHttpProtocol,
    /// Resolved checker/real_server/virtual_server virtualhost.
    pub virtualhost: Option<String>,
    /// SNI name (SSL_GET with `enable_sni`): `sni_name` or the virtualhost.
    pub sni: Option<String>,
}

/// UDP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// `payload`.
    pub payload: Vec<u8>,
    /// What a reply must look like.
    pub expect: UdpExpect,
}

/// MISC_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    /// `misc_path` words.
    pub argv: Vec<String>,
    /// `user USER [GROUP]` (or the script's own user words).
    pub user: Option<(String, Option<String>)>,
    /// `misc_timeout` (default delay_loop).
    pub timeout: Duration,
}

/// Type-specific probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET / SSL_GET.
    Http(Arc<HttpSpec>),
    /// SMTP_CHECK.
    Smtp {
        /// `helo_name`.
        helo: Box<str>,
    },
    /// DNS_CHECK.
    Dns {
        /// Query type.
        qtype: check::dns::DnsType,
        /// Query name.
        name: Box<str>,
    },
    /// PING_CHECK.
    Ping,
    /// UDP_CHECK.
    Udp(Box<UdpSpec>),
    /// MISC_CHECK.
    Misc(Box<MiscSpec>),
    /// FILE_CHECK: nothing to probe; the runtime watches the file.
    File,
}

/// Shares identical HTTP settings and url path lists between checkers
/// (1,000 HTTP_GETs with the same url block keep one copy).
#[derive(Default)]
struct Interner {
    http: HashSet<Arc<HttpSpec>>,
    paths: HashSet<Arc<[String]>>,
}

impl Interner {
    fn http(&mut self, spec: HttpSpec) -> Arc<HttpSpec> {
        if let Some(a) = self.http.get(&spec) {
            return Arc::clone(a);
        }
        let a = Arc::new(spec);
        self.http.insert(Arc::clone(&a));
        a
    }
    fn paths(&mut self, paths: Vec<String>) -> Arc<[String]> {
        if let Some(a) = self.paths.get(paths.as_slice()) {
            return Arc::clone(a);
        }
        let a: Arc<[String]> = paths.into();
        self.paths.insert(Arc::clone(&a));
        a
    }
}

fn dur(m: Micros) -> Duration {
    Duration::from_micros(m.0)
}

/// keepalived's protocol name of a virtual server for log names.
pub fn proto_of(p: CfgProto) -> Proto {
    match p {
        CfgProto::Tcp => Proto::Tcp,
        CfgProto::Udp => Proto::Udp,
        CfgProto::Sctp => Proto::Sctp,
    }
}

fn ipvs_proto(p: CfgProto) -> Protocol {
    match p {
        CfgProto::Tcp => Protocol::Tcp,
        CfgProto::Udp => Protocol::Udp,
        CfgProto::Sctp => Protocol::Sctp,
    }
}

fn fam(f: CfgFamily) -> Family {
    match f {
        CfgFamily::Inet6 => Family::Inet6,
        _ => Family::Inet,
    }
}

/// `lb_kind` → forwarding method.
pub fn forward_of(k: LbKind) -> Forward {
    match k {
        LbKind::Nat => Forward::Masq,
        LbKind::Dr => Forward::Route,
        LbKind::Tun(t) => Forward::Tunnel(match t {
            CfgTunnel::Ipip => Tunnel::IPIP,
            CfgTunnel::Gue { port } => Tunnel {
                kind: TunnelType::Gue,
                port,
                flags: 0,
            },
            CfgTunnel::Gre => Tunnel {
                kind: TunnelType::Gre,
                port: 0,
                flags: 0,
            },
        }),
    }
}

fn lb_kind_name(k: LbKind) -> String {
    match k {
        LbKind::Nat => "NAT".into(),
        LbKind::Dr => "DR".into(),
        LbKind::Tun(_) => "TUN".into(),
    }
}

/// The family of a virtual server: `ip_family`, its address, else the
/// first real server's (fwmark and groups), else IPv4.
pub fn vs_family(vs: &VirtualServer) -> Family {
    if let Some(f) = vs.family {
        return fam(f);
    }
    match &vs.key {
        VsKey::Addr { addr, .. } => Family::of(addr),
        // check_parser.c: the sorry server's family, else the real
        // servers' when they agree, else IPv4.
        _ => {
            if let Some(s) = &vs.sorry_server {
                return Family::of(&s.addr);
            }
            let mut fams = vs.real_servers.iter().map(|r| Family::of(&r.addr));
            match fams.next() {
                Some(f) if fams.all(|g| g == f) => f,
                _ => Family::Inet,
            }
        }
    }
}

/// keepalived's log name of a virtual server.
pub fn vs_name(vs: &VirtualServer) -> VsName {
    match &vs.key {
        VsKey::Addr { addr, port } => VsName::Addr(RsAddr {
            addr: SocketAddr::new(*addr, *port),
            proto: proto_of(vs.protocol),
        }),
        VsKey::Fwmark(m) => VsName::Fwmark(*m),
        VsKey::Group(g) => VsName::Group {
            name: g.clone(),
            port: 0,
        },
    }
}

/// The protocol keepalived names real servers with: none for a fwmark
/// virtual server (or a group of fwmarks only), whose protocol is ignored
/// (check_data.c "protocol specified for fwmark - protocol will be ignored").
pub fn name_proto(cfg: &Config, vs: &VirtualServer) -> Proto {
    let fwmark_only = match &vs.key {
        VsKey::Fwmark(_) => true,
        VsKey::Addr { .. } => false,
        VsKey::Group(g) => cfg.virtual_server_group(g).is_some_and(|g| {
            g.entries
                .iter()
                .all(|e| matches!(e, VsgEntry::Fwmark { .. }))
        }),
    };
    if fwmark_only {
        Proto::None
    } else {
        proto_of(vs.protocol)
    }
}

/// The destination port keepalived programs (check_data.c
/// `validate_check_config`): outside groups, a NAT real server without a
/// port takes the virtual port; a DR/TUN real server takes the virtual
/// port ("ports don't match - resetting"), or 0 behind a fwmark
/// ("has port specified - clearing"). Groups only warn.
pub fn ipvs_port(vs: &VirtualServer, rs_port: u16, fwd: Forward) -> u16 {
    match (&vs.key, fwd) {
        (VsKey::Group(_), _) => rs_port,
        (VsKey::Addr { port, .. }, Forward::Masq) if rs_port == 0 => *port,
        (_, Forward::Masq) => rs_port,
        (VsKey::Fwmark(_), _) => 0,
        (VsKey::Addr { port, .. }, _) => *port,
    }
}

/// The service settings shared by every kernel service of `vs`
/// (scheduler, flags, persistence) for key `key`.
pub fn service_for(vs: &VirtualServer, key: ServiceKey) -> Service {
    let mut s = Service::new(key, Scheduler::from_name(vs.lb_algo.as_str()));
    let mut flags = ServiceFlags::empty();
    // check_data.c: a zero port needs persistence (360 s is set).
    let zero_port = matches!(key, ServiceKey::Addr { port: 0, .. });
    let persistence = vs
        .persistence_timeout
        .or(zero_port.then_some(DEFAULT_PERSISTENCE_TIMEOUT));
    if let Some(t) = persistence {
        flags |= ServiceFlags::PERSISTENT;
        s.timeout = t;
    }
    if vs.hashed {
        flags |= ServiceFlags::HASHED;
    }
    // One-packet scheduling only for UDP or fwmark services.
    let ops_ok = !matches!(
        key,
        ServiceKey::Addr {
            protocol: Protocol::Tcp | Protocol::Sctp,
            ..
        }
    );
    if vs.ops && ops_ok {
        flags |= ServiceFlags::ONE_PACKET;
    }
    if vs.sched_flag_1 {
        flags |= ServiceFlags::SH_FALLBACK;
    }
    if vs.sched_flag_2 {
        flags |= ServiceFlags::SH_PORT;
    }
    if vs.sched_flag_3 {
        flags |= ServiceFlags::SCHED3;
    }
    s.flags = flags;
    s.netmask = match (vs.persistence_granularity, key.family()) {
        (Some(Granularity::Mask(m)), Family::Inet) => Netmask::V4(m),
        (Some(Granularity::Prefix(p)), Family::Inet6) => Netmask::V6(p),
        (Some(Granularity::Prefix(p)), Family::Inet) => {
            let bits = u32::MAX.checked_shl(32 - u32::from(p.min(32))).unwrap_or(0);
            Netmask::V4(Ipv4Addr::from(bits))
        }
        (Some(Granularity::Mask(m)), Family::Inet6) => {
            Netmask::V6(u32::from(m).leading_ones() as u8)
        }
        (None, f) => Netmask::full(f),
    };
    s.pe_name = vs.persistence_engine.clone();
    s
}

fn next_ip(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => u32::from(a)
            .checked_add(1)
            .map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        IpAddr::V6(a) => u128::from(a)
            .checked_add(1)
            .map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    }
}

fn ip_num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The kernel services of a virtual server: one for `IP PORT` or `fwmark`,
/// one per address of each group range plus one per group fwmark.
pub fn services_of(cfg: &Config, vs: &VirtualServer, warnings: &mut Vec<String>) -> Vec<Service> {
    let family = vs_family(vs);
    match &vs.key {
        VsKey::Addr { addr, port } => vec![service_for(
            vs,
            ServiceKey::Addr {
                protocol: ipvs_proto(vs.protocol),
                addr: *addr,
                port: *port,
            },
        )],
        VsKey::Fwmark(mark) => vec![service_for(
            vs,
            ServiceKey::Fwmark {
                family,
                mark: *mark,
            },
        )],
        VsKey::Group(name) => {
            let Some(g) = cfg.virtual_server_group(name) else {
                warnings.push(format!("virtual_server_group {name} not found"));
                return Vec::new();
            };
            let mut out = Vec::new();
            for e in &g.entries {
                match e {
                    VsgEntry::Fwmark { mark, family: f } => out.push(service_for(
                        vs,
                        ServiceKey::Fwmark {
                            family: f.map(fam).unwrap_or(family),
                            mark: *mark,
                        },
                    )),
                    VsgEntry::Range { first, last, port } => {
                        let n = ip_num(*last).saturating_sub(ip_num(*first)) + 1;
                        if n > MAX_RANGE_EXPANSION {
                            warnings.push(format!(
                                "virtual_server_group {name}: range {first}-{last} has {n} addresses, only the first {MAX_RANGE_EXPANSION} are used"
                            ));
                        }
                        let mut ip = *first;
                        for _ in 0..n.min(MAX_RANGE_EXPANSION) {
                            out.push(service_for(
                                vs,
                                ServiceKey::Addr {
                                    protocol: ipvs_proto(vs.protocol),
                                    addr: ip,
                                    port: *port,
                                },
                            ));
                            match next_ip(ip) {
                                Some(n) => ip = n,
                                None => break,
                            }
                        }
                    }
                }
            }
            out
        }
    }
}

fn status_codes(ranges: &[(u16, u16)]) -> StatusCodes {
    if ranges.is_empty() {
        return StatusCodes::default_success();
    }
    let items: Vec<String> = ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    StatusCodes::parse_list(&items).unwrap_or_else(|_| StatusCodes::default_success())
}

fn dns_type(t: config::DnsType) -> check::dns::DnsType {
    use check::dns::DnsType as D;
    match t {
        config::DnsType::A => D::A,
        config::DnsType::Ns => D::Ns,
        config::DnsType::Cname => D::Cname,
        config::DnsType::Soa => D::Soa,
        config::DnsType::Mx => D::Mx,
        config::DnsType::Txt => D::Txt,
        config::DnsType::Aaaa => D::Aaaa,
        config::DnsType::Rrsig => D::Rrsig,
        config::DnsType::Dnskey => D::Dnskey,
    }
}

/// The track_file names FILE_CHECKs of a mapped configuration use.
pub fn track_file_names(mapped: &Mapped) -> Vec<String> {
    let mut v: Vec<String> = mapped
        .engine
        .iter()
        .flat_map(|vs| vs.real_servers.iter())
        .flat_map(|rs| rs.checkers.iter())
        .filter_map(|c| match &c.kind {
            CheckKind::File { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// FILE_CHECK: sets each checker's value read at load time (`value(name)`),
/// and drops the checkers whose file cannot be watched (`None`), as
/// keepalived's `init_track_files` removes such a track_file.
pub fn set_track_file_values(mapped: &mut Mapped, value: &dyn Fn(&str) -> Option<i64>) {
    for (vs, plan) in mapped.engine.iter_mut().zip(mapped.plans.iter_mut()) {
        for (rs, rplan) in vs.real_servers.iter_mut().zip(plan.real_servers.iter_mut()) {
            let mut i = 0;
            while i < rs.checkers.len() {
                if let CheckKind::File { name, initial, .. } = &mut rs.checkers[i].kind {
                    match value(name) {
                        Some(v) => *initial = v,
                        None => {
                            rs.checkers.remove(i);
                            if i < rplan.probes.len() {
                                let mut p = std::mem::take(&mut rplan.probes).into_vec();
                                p.remove(i);
                                rplan.probes = p.into_boxed_slice();
                            }
                            continue;
                        }
                    }
                }
                i += 1;
            }
        }
    }
}

/// Maps the whole configuration.
pub fn map_config(cfg: &Config) -> Mapped {
    let mut engine = Vec::with_capacity(cfg.virtual_servers.len());
    let mut plans = Vec::with_capacity(cfg.virtual_servers.len());
    let mut warnings = Vec::new();
    let mut interner = Interner::default();
    for vs in &cfg.virtual_servers {
        let (e, p) = map_vs(cfg, vs, &mut warnings, &mut interner);
        engine.push(e);
        plans.push(p);
    }
    Mapped {
        engine,
        plans,
        warnings,
    }
}

fn map_vs(
    cfg: &Config,
    vs: &VirtualServer,
    warnings: &mut Vec<String>,
    interner: &mut Interner,
) -> (VirtualServerConfig, VsPlan) {
    let name = vs_name(vs);
    let proto = name_proto(cfg, vs);
    let vs_forward = forward_of(vs.lb_kind);
    let mut rs_cfgs = Vec::with_capacity(vs.real_servers.len());
    let mut rs_plans = Vec::with_capacity(vs.real_servers.len());
    for rs in &vs.real_servers {
        let fwd = rs.lb_kind.map(forward_of).unwrap_or(vs_forward);
        let rs_addr = SocketAddr::new(rs.addr, ipvs_port(vs, rs.port, fwd));
        // Exact capacity: a first push would reserve 4 of each (~1 KB per
        // real server for nothing).
        let mut checkers = Vec::with_capacity(rs.checkers.len());
        let mut probes = Vec::with_capacity(rs.checkers.len());
        for c in &rs.checkers {
            let common = &c.common;
            let target = SocketAddr::new(
                common.connect_ip.unwrap_or(rs.addr),
                common.connect_port.unwrap_or(rs.port),
            );
            let bind = match (common.bindto, common.bind_port) {
                (Some(ip), p) => Some(SocketAddr::new(ip, p.unwrap_or(0))),
                (None, Some(p)) => Some(SocketAddr::new(
                    match target.ip() {
                        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    },
                    p,
                )),
                (None, None) => None,
            };
            let delay_loop = dur(common.delay_loop);
            let mut timeout = dur(common.connect_timeout);
            let (kind, pkind) = match &c.kind {
                CheckerKind::Tcp => (CheckKind::Tcp, ProbeKind::Tcp),
                CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
                    let ssl = matches!(c.kind, CheckerKind::Ssl(_));
                    let urls: Vec<UrlCheck> = h
                        .urls
                        .iter()
                        .map(|u| UrlCheck {
                            path: u.path.clone(),
                            status_codes: status_codes(&u.status_codes),
                            digest: u.digest,
                            virtualhost: u.virtualhost.clone(),
                        })
                        .collect();
                    let vhost = h
                        .virtualhost
                        .clone()
                        .or_else(|| rs.virtualhost.clone())
                        .or_else(|| vs.virtualhost.clone());
                    let sni = if ssl && h.enable_sni {
                        h.sni_name.clone().or_else(|| vhost.clone())
                    } else {
                        None
                    };
                    let paths = interner.paths(urls.iter().map(|u| u.path.clone()).collect());
                    (
                        CheckKind::Http { ssl, paths },
                        ProbeKind::Http(interner.http(HttpSpec {
                            ssl,
                            urls,
                            protocol: match h.http_protocol {
                                config::HttpProtocol::Http10 => ChkHttpProtocol::V1_0,
                                config::HttpProtocol::Http10Close => ChkHttpProtocol::V1_0C,
                                config::HttpProtocol::Http11 => ChkHttpProtocol::V1_1,
                            },
                            virtualhost: vhost,
                            sni,
                        })),
                    )
                }
                CheckerKind::Misc(m) => {
                    // check_misc.c: misc_timeout defaults to delay_loop.
                    timeout = m.timeout.map(dur).unwrap_or(delay_loop);
                    let user = m
                        .user
                        .as_ref()
                        .map(|u| (u.user.clone(), u.group.clone()))
                        .or_else(|| m.script.user.clone().map(|u| (u, m.script.group.clone())));
                    (
                        CheckKind::Misc {
                            script: m.script.argv.first().cloned().unwrap_or_default(),
                            dynamic: m.dynamic,
                        },
                        ProbeKind::Misc(Box::new(MiscSpec {
                            argv: m.script.argv.clone(),
                            user,
                            timeout,
                        })),
                    )
                }
                CheckerKind::Smtp(s) => (
                    CheckKind::Smtp { server: target },
                    ProbeKind::Smtp {
                        helo: s.helo_name.as_str().into(),
                    },
                ),
                CheckerKind::Dns(d) => (
                    CheckKind::Dns,
                    ProbeKind::Dns {
                        qtype: dns_type(d.qtype),
                        name: d.name.as_str().into(),
                    },
                ),
                CheckerKind::Ping => (CheckKind::Ping, ProbeKind::Ping),
                CheckerKind::Udp(u) => {
                    let reply = u.require_reply.as_ref().and_then(|r| {
                        (!r.is_empty()).then(|| HexPattern {
                            data: r.clone(),
                            ignore: vec![0; r.len()],
                        })
                    });
                    let mut expect = UdpExpect {
                        reply,
                        require_reply: u.require_reply.is_some(),
                        ..UdpExpect::default()
                    };
                    if let Some(m) = u.min_reply_length {
                        expect.min_len = m as usize;
                    }
                    if let Some(m) = u.max_reply_length {
                        expect.max_len = m as usize;
                    }
                    (
                        CheckKind::Udp,
                        ProbeKind::Udp(Box::new(UdpSpec {
                            payload: u.payload.clone(),
                            expect,
                        })),
                    )
                }
                CheckerKind::File(f) => {
                    // file_end_handler: the FILE_CHECK's weight, else the
                    // track_file's (weight and reverse).
                    let Some(tf) = cfg.track_file(&f.track_file) else {
                        warnings.push(format!("track_file {} not found", f.track_file));
                        continue;
                    };
                    let (weight, reverse) = match f.weight {
                        Some(w) => (w, f.reverse),
                        None => (tf.weight, tf.weight_reverse),
                    };
                    (
                        CheckKind::File {
                            name: f.track_file.clone(),
                            weight,
                            reverse,
                            initial: 0,
                        },
                        ProbeKind::File,
                    )
                }
            };
            checkers.push(CheckerConfig {
                kind,
                connect_timeout: timeout,
                retry: common.retry,
                delay_before_retry: dur(common.delay_before_retry),
                delay_loop,
                warmup: dur(common.warmup),
                alpha: common.alpha,
                log_all_failures: common.log_all_failures,
            });
            let opts = (bind.is_some() || common.fwmark.is_some() || common.bind_if.is_some())
                .then(|| {
                    Box::new(SockOpts {
                        bind,
                        fwmark: common.fwmark,
                        bind_if: common.bind_if.clone(),
                    })
                });
            probes.push(ProbeSpec {
                target,
                opts,
                kind: pkind,
            });
        }
        let dest = DestTemplate {
            addr: rs.addr,
            port: rs_addr.port(),
            forward: fwd,
            u_threshold: rs.uthreshold.unwrap_or(0),
            l_threshold: rs.lthreshold.unwrap_or(0),
        };
        rs_cfgs.push(RealServerConfig {
            addr: rs_addr,
            weight: rs.weight,
            inhibit_on_failure: rs.inhibit_on_failure,
            checkers,
        });
        rs_plans.push(RsPlan {
            dest,
            notify_up: rs.notify_up.clone().map(Box::new),
            notify_down: rs.notify_down.clone().map(Box::new),
            probes: probes.into_boxed_slice(),
        });
    }
    // check_data.c: quorum capped to the sum of weights, hysteresis < quorum.
    let total: u64 = vs.real_servers.iter().map(|r| u64::from(r.weight)).sum();
    let mut quorum = vs.quorum.max(1);
    if !vs.real_servers.is_empty() && u64::from(quorum) > total {
        quorum = u32::try_from(total.max(1)).unwrap_or(u32::MAX);
    }
    let mut hysteresis = vs.hysteresis;
    if hysteresis >= quorum && hysteresis > 0 {
        hysteresis = quorum - 1;
    }
    let sorry_addr = vs.sorry_server.as_ref().map(|s| {
        let fwd = s.lb_kind.map(forward_of).unwrap_or(vs_forward);
        (SocketAddr::new(s.addr, ipvs_port(vs, s.port, fwd)), fwd)
    });
    let sorry = sorry_addr.map(|(a, fwd)| {
        let mut d = Destination::new(a.ip(), a.port(), fwd);
        d.weight = 1;
        d
    });
    let engine = VirtualServerConfig {
        name: name.clone(),
        proto,
        quorum,
        hysteresis,
        ha_suspend: vs.ha_suspend,
        omega: vs.omega,
        sorry_server: vs.sorry_server.as_ref().map(|s| SorryServerConfig {
            addr: sorry_addr
                .map(|x| x.0)
                .unwrap_or(SocketAddr::new(s.addr, s.port)),
            weight: 1,
            inhibit: s.inhibit,
        }),
        real_servers: rs_cfgs,
    };
    let ha_suspend_vip = match (&vs.key, vs.ha_suspend) {
        (VsKey::Addr { addr, .. }, true) => Some(*addr),
        _ => None,
    };
    let plan = VsPlan {
        name,
        services: services_of(cfg, vs, warnings),
        real_servers: rs_plans,
        sorry,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        ha_suspend_vip,
        delay_loop: dur(vs.delay_loop),
        lb_algo: vs.lb_algo.as_str(),
        lb_kind: lb_kind_name(vs.lb_kind),
        group: matches!(vs.key, VsKey::Group(_)),
    };
    (engine, plan)
}

/// The desired kernel services of one virtual server from the engine's
/// [`check::DesiredDest`] list (real servers in order, then the sorry server).
pub fn desired_services(plan: &VsPlan, table: &[check::DesiredDest]) -> Vec<VirtualService> {
    let mut dests = Vec::new();
    for (i, d) in table.iter().enumerate() {
        if !d.present {
            continue;
        }
        let dest = if d.sorry {
            plan.sorry.as_ref().map(|t| {
                let mut dest = t.clone();
                dest.weight = d.weight;
                dest
            })
        } else {
            plan.real_servers
                .get(i)
                .map(|r| r.dest.destination(d.weight))
        };
        let Some(dest) = dest else { continue };
        dests.push(dest);
    }
    plan.services
        .iter()
        .map(|s| VirtualService {
            service: s.clone(),
            dests: if plan.group {
                dests.iter().map(|d| group_dest(d, &s.key)).collect()
            } else {
                dests.clone()
            },
        })
        .collect()
}

/// The destination as programmed for one service of a group (observed with
/// keepalived 2.2.7): DR/TUN take the entry's port, 0 behind a fwmark entry;
/// NAT keeps its port (the entry's when it has none).
fn group_dest(d: &Destination, key: &ServiceKey) -> Destination {
    let mut d = d.clone();
    d.key.port = match (key, d.forward) {
        (ServiceKey::Addr { port, .. }, Forward::Masq) if d.key.port == 0 => *port,
        (_, Forward::Masq) => d.key.port,
        (ServiceKey::Fwmark { .. }, _) => 0,
        (ServiceKey::Addr { port, .. }, _) => *port,
    };
    d
}
