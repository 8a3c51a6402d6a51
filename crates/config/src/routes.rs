//! `virtual_routes` / `static_routes` and `virtual_rules` / `static_rules`
//! lines (keepalived 2.2.7 `vrrp/vrrp_iproute.c` `alloc_route`,
//! `vrrp/vrrp_iprule.c` `alloc_rule`): iproute2-like words into typed
//! [`IpRoute`] / [`IpRule`]. Each malformed line gets one located error and
//! is dropped, as upstream drops it.
//!
//! Names that need the host's iproute2 tables (`table NAME` other than
//! `main`/`local`/`default`) are kept as [`TableRef::Name`] for the daemon
//! to resolve; this crate reads no file besides the configuration.

use crate::diag::Diags;
use crate::lexer::Token;
use crate::model::{Family, Scope};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `RTPROT_KEEPALIVED`: the protocol keepalived stamps on routes and rules it tracks.
pub const RTPROT_KEEPALIVED: u8 = 18;

/// keepalived's first automatic rule preference (`RULE_START_PRIORITY`,
/// `vrrp/vrrp_iprule.c:57`); each rule without `preference` takes the next
/// lower number, per family.
pub const RULE_START_PRIORITY: u32 = 16384;

/// A routing table: a number, or a name from `/etc/iproute2/rt_tables`
/// that the daemon resolves (`main`, `local`, `default`, `unspec` are
/// resolved here).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum TableRef {
    /// Table id (main = 254, local = 255, default = 253).
    Id(u32),
    /// A name to look up in rt_tables.
    Name(String),
}

impl TableRef {
    /// The main table (254).
    pub const MAIN: TableRef = TableRef::Id(254);
}

/// `rtm_type` of a route (`find_rttables_rtntype`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum RouteType {
    /// `unicast` (1, the default).
    Unicast,
    /// `local` (2).
    Local,
    /// `broadcast` (3).
    Broadcast,
    /// `anycast` (4).
    Anycast,
    /// `multicast` (5).
    Multicast,
    /// `blackhole` (6).
    Blackhole,
    /// `unreachable` (7).
    Unreachable,
    /// `prohibit` (8).
    Prohibit,
    /// `throw` (9).
    Throw,
    /// `nat` (10).
    Nat,
}

impl RouteType {
    /// Kernel `RTN_*` value.
    pub fn value(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
        }
    }
    fn parse(s: &str) -> Option<RouteType> {
        Some(match s {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "broadcast" => RouteType::Broadcast,
            "anycast" => RouteType::Anycast,
            "multicast" => RouteType::Multicast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "nat" => RouteType::Nat,
            _ => return None,
        })
    }
}

/// One hop of a multipath route (`or ADDR` or `nexthop via ADDR dev IF weight N onlink`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct NextHop {
    /// `via`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `weight` 1..256 (default 1).
    pub weight: u16,
    /// `onlink`.
    pub onlink: bool,
}

/// A route metric or option keepalived accepts and passes to the kernel
/// unchanged (`mtu [lock] N`, `advmss`, `rtt`, `rttvar`, `reordering`,
/// `window`, `cwnd`, `ssthresh`, `realms`, `rto_min`, `initcwnd`,
/// `initrwnd`, `hoplimit`, `quickack`, `congctl`, `features`, `pref`,
/// `ttl-propagate`, `fastopen_no_cookie`, `expires`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct RouteOption {
    /// Keyword.
    pub name: String,
    /// Its value as written.
    pub value: String,
    /// `lock` was given.
    pub lock: bool,
}

/// One `virtual_routes` / `static_routes` line.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct IpRoute {
    /// Family (from `inet`/`inet6` or the addresses; IPv4 when nothing says).
    pub family: Family,
    /// Destination prefix; `None` is `default`/`any`/`all`.
    pub dst: Option<(IpAddr, u8)>,
    /// Route type (`blackhole 192.0.2.0/24`, `type` words before the destination).
    pub route_type: RouteType,
    /// `src ADDR` (preferred source, RTA_PREFSRC).
    pub src: Option<IpAddr>,
    /// `from PREFIX` (IPv6 source-specific routing, RTA_SRC).
    pub from: Option<(IpAddr, u8)>,
    /// `via` / `gw` gateway.
    pub via: Option<IpAddr>,
    /// `dev` / `oif`.
    pub dev: Option<String>,
    /// `scope` (default global/universe).
    pub scope: Scope,
    /// `table` (default main) or the table of `vrf NAME` (kept in `vrf`).
    pub table: TableRef,
    /// `vrf NAME`: the daemon uses that VRF's table.
    pub vrf: Option<String>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// Protocol; 18 (keepalived) for tracked routes, as upstream forces.
    pub protocol: u8,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `onlink`.
    pub onlink: bool,
    /// Multipath hops (`or`, `nexthop`).
    pub nexthops: Vec<NextHop>,
    /// Other kernel options, passed through.
    pub options: Vec<RouteOption>,
    /// `add` / `prepend` / `append` (NLM_F_* flavour), if given.
    pub mode: Option<String>,
    /// `no_track` (or no `dev`: upstream stops tracking such a route).
    pub no_track: bool,
    /// `track_group NAME` (static routes only).
    pub track_group: Option<String>,
}

/// A rule's action.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum RuleAction {
    /// `table` / `lookup` T.
    Table(TableRef),
    /// `goto PREF`.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
    /// `l3mdev`.
    L3mdev,
}

/// One `virtual_rules` / `static_rules` line.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct IpRule {
    /// Family (IPv4 when nothing says).
    pub family: Family,
    /// `from PREFIX` (`all` = None).
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`.
    pub to: Option<(IpAddr, u8)>,
    /// `not`.
    pub invert: bool,
    /// `preference` / `order` / `priority`; when absent, keepalived's
    /// automatic value (16384 downwards per family, with a warning).
    pub priority: u32,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `fwmark N[/MASK]`.
    pub fwmark: Option<u32>,
    /// The `/MASK` of `fwmark`.
    pub fwmask: Option<u32>,
    /// `realms` (as written).
    pub realms: Option<String>,
    /// `suppress_prefixlength` / `sup_pl`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup` / `sup_group` (as written).
    pub suppress_ifgroup: Option<String>,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `tunnel-id`.
    pub tunnel_id: Option<u64>,
    /// `uidrange A-B`.
    pub uidrange: Option<(u32, u32)>,
    /// Protocol; 18 (keepalived) unless `no_track`.
    pub protocol: u8,
    /// `ipproto` (number or tcp/udp/icmp/...).
    pub ipproto: Option<u8>,
    /// `sport N[-M]`.
    pub sport: Option<(u16, u16)>,
    /// `dport N[-M]`.
    pub dport: Option<(u16, u16)>,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (static rules only).
    pub track_group: Option<String>,
    /// What the rule does.
    pub action: RuleAction,
}

/// Automatic rule preferences, shared by every rule of one configuration.
#[derive(Debug)]
pub(crate) struct RulePrio {
    v4: u32,
    v6: u32,
}

impl Default for RulePrio {
    fn default() -> Self {
        RulePrio {
            v4: RULE_START_PRIORITY,
            v6: RULE_START_PRIORITY,
        }
    }
}

fn table(s: &str) -> Option<TableRef> {
    Some(match s {
        "main" => TableRef::Id(254),
        "local" => TableRef::Id(255),
        "default" => TableRef::Id(253),
        "unspec" => TableRef::Id(0),
        n if n.starts_with(|c: char| c.is_ascii_digit()) => TableRef::Id(parse_u32(n)?),
        n => TableRef::Name(n.to_string()),
    })
}

fn protocol(s: &str) -> Option<u8> {
    Some(match s {
        "unspec" => 0,
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        n => return parse_u32(n).and_then(|v| u8::try_from(v).ok()),
    })
}

fn scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        n => match parse_u32(n).and_then(|v| u8::try_from(v).ok())? {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Other(v),
        },
    })
}

/// Decimal, `0x` hex or leading-0 octal, as `strtoul(.., 0)`.
fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

fn parse_u64(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn tos(s: &str) -> Option<u8> {
    parse_u32(s).and_then(|v| u8::try_from(v).ok())
}

fn prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let p = match p {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|v| *v <= max)?,
    };
    Some((addr, p))
}

fn range16(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => {
            let a = s.parse().ok()?;
            Some((a, a))
        }
    }
}

/// Family bookkeeping shared by both parsers.
struct Fam(Option<Family>);

impl Fam {
    fn set(&mut self, f: Family) -> bool {
        match self.0 {
            None => {
                self.0 = Some(f);
                true
            }
            Some(g) => g == f,
        }
    }
}

/// Cursor over a line's words with located errors.
struct Line<'a, 'd> {
    d: &'d mut Diags,
    kw: &'a str,
    w: &'a [Token],
    i: usize,
}

impl<'a> Line<'a, '_> {
    /// The value after word `i`, or an error at the keyword.
    fn value(&mut self) -> Option<&'a Token> {
        let k = &self.w[self.i];
        self.i += 1;
        let v = self.w.get(self.i);
        if v.is_none() {
            self.d
                .error(k.loc, format!("{}: '{}' needs a value", self.kw, k.text));
        }
        v
    }
    fn err(&mut self, t: &Token, msg: String) -> Option<()> {
        self.d.error(t.loc, format!("{}: {msg}", self.kw));
        None
    }
}

/// One route line; `allow_track_group` for `static_routes`.
pub(crate) fn route(
    d: &mut Diags,
    kw: &str,
    words: &[Token],
    allow_track_group: bool,
) -> Option<IpRoute> {
    let first = words.first()?;
    let mut l = Line {
        d,
        kw,
        w: words,
        i: 0,
    };
    let mut fam = Fam(None);
    let mut r = IpRoute {
        family: Family::Inet,
        dst: None,
        route_type: RouteType::Unicast,
        src: None,
        from: None,
        via: None,
        dev: None,
        scope: Scope::Global,
        table: TableRef::MAIN,
        vrf: None,
        metric: None,
        protocol: RTPROT_KEEPALIVED,
        tos: None,
        onlink: false,
        nexthops: Vec::new(),
        options: Vec::new(),
        mode: None,
        no_track: false,
        track_group: None,
    };
    let mut have_dst = false;
    let mut used_or = false;
    let mut proto_set: Option<&Token> = None;
    let mixed = "Cannot mix IPv4 and IPv6 addresses for route".to_string();
    while l.i < words.len() {
        let t = &words[l.i];
        match t.text.as_str() {
            "inet" | "inet6" => {
                let f = if t.text == "inet" {
                    Family::Inet
                } else {
                    Family::Inet6
                };
                if !fam.set(f) {
                    return l
                        .err(
                            t,
                            format!("{} specified for a route of the other family", t.text),
                        )
                        .and(None);
                }
            }
            "src" => {
                let v = l.value()?;
                let Ok(a) = v.text.parse::<IpAddr>() else {
                    return l
                        .err(v, format!("invalid route src address {}", v.text))
                        .and(None);
                };
                if !fam.set(Family::of(&a)) {
                    return l.err(v, mixed).and(None);
                }
                r.src = Some(a);
            }
            "from" => {
                let v = l.value()?;
                let Some(p) = prefix(&v.text) else {
                    return l
                        .err(v, format!("invalid route from address {}", v.text))
                        .and(None);
                };
                if p.0.is_ipv4() {
                    return l
                        .err(
                            v,
                            format!("route from address only supported with IPv6 ({})", v.text),
                        )
                        .and(None);
                }
                if !fam.set(Family::Inet6) {
                    return l.err(v, mixed).and(None);
                }
                r.from = Some(p);
            }
            "via" | "gw" => {
                if t.text == "gw" {
                    l.d.warn(
                        t.loc,
                        format!("{kw}: \"gw\" for routes is deprecated. Please use \"via\""),
                    );
                }
                let mut v = l.value()?;
                if v.text == "inet" || v.text == "inet6" {
                    let f = if v.text == "inet" {
                        Family::Inet
                    } else {
                        Family::Inet6
                    };
                    if !fam.set(f) {
                        return l.err(v, mixed).and(None);
                    }
                    v = l.value()?;
                }
                let Ok(a) = v.text.parse::<IpAddr>() else {
                    return l
                        .err(v, format!("invalid route via address {}", v.text))
                        .and(None);
                };
                if !fam.set(Family::of(&a)) {
                    return l.err(v, mixed).and(None);
                }
                r.via = Some(a);
            }
            "tos" | "dsfield" => {
                let v = l.value()?;
                let Some(x) = tos(&v.text) else {
                    return l
                        .err(v, format!("TOS value {} is invalid", v.text))
                        .and(None);
                };
                r.tos = Some(x);
            }
            "table" => {
                let v = l.value()?;
                let Some(x) = table(&v.text) else {
                    return l
                        .err(v, format!("Routing table {} not found for route", v.text))
                        .and(None);
                };
                r.table = x;
            }
            "protocol" => {
                let v = l.value()?;
                let Some(x) = protocol(&v.text) else {
                    return l
                        .err(
                            v,
                            format!("Protocol {} not found or invalid for route", v.text),
                        )
                        .and(None);
                };
                r.protocol = x;
                proto_set = Some(v);
            }
            "scope" => {
                let v = l.value()?;
                let Some(x) = scope(&v.text) else {
                    return l
                        .err(
                            v,
                            format!("Scope {} not found or invalid for route", v.text),
                        )
                        .and(None);
                };
                r.scope = x;
            }
            "metric" | "priority" | "preference" => {
                let v = l.value()?;
                let Some(x) = parse_u32(&v.text) else {
                    return l
                        .err(v, format!("Invalid metric {} specified for route", v.text))
                        .and(None);
                };
                r.metric = Some(x);
            }
            "dev" | "oif" => r.dev = Some(l.value()?.text.to_string()),
            "vrf" => r.vrf = Some(l.value()?.text.to_string()),
            "onlink" => r.onlink = true,
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                r.track_group = Some(l.value()?.text.to_string());
            }
            "add" | "prepend" | "append" => r.mode = Some(t.text.to_string()),
            "encap" | "as" => {
                return l
                    .err(t, format!("'{}' is not supported by keepalived-rs", t.text))
                    .and(None);
            }
            "mtu" | "advmss" | "rtt" | "rttvar" | "reordering" | "cwnd" | "ssthresh"
            | "rto_min" | "hoplimit" | "window" | "initcwnd" | "initrwnd" | "realms"
            | "quickack" | "fastopen_no_cookie" | "expires" | "congctl" | "features" | "pref"
            | "ttl-propagate" => {
                let name = t.text.to_string();
                let mut v = l.value()?;
                let mut lock = false;
                if v.text == "lock" {
                    lock = true;
                    v = l.value()?;
                }
                let numeric = !matches!(
                    name.as_str(),
                    "realms" | "congctl" | "features" | "pref" | "ttl-propagate"
                );
                let ok = match name.as_str() {
                    "features" => v.text == "ecn",
                    "pref" => matches!(v.text.as_str(), "low" | "medium" | "high"),
                    "ttl-propagate" => matches!(v.text.as_str(), "enabled" | "disabled"),
                    "realms" | "congctl" => true,
                    _ => !numeric || parse_u32(&v.text).is_some(),
                };
                if !ok {
                    return l
                        .err(
                            v,
                            format!("Invalid {name} value {} specified for route", v.text),
                        )
                        .and(None);
                }
                if (name == "expires" || name == "pref") && fam.0 == Some(Family::Inet) {
                    return l.err(t, format!("{name} is only valid for IPv6")).and(None);
                }
                r.options.push(RouteOption {
                    name,
                    value: v.text.to_string(),
                    lock,
                });
            }
            "or" => {
                l.d.warn(
                    t.loc,
                    format!("{kw}: \"or\" for routes is deprecated. Please use \"nexthop\""),
                );
                let v = l.value()?;
                let Ok(a) = v.text.parse::<IpAddr>() else {
                    return l
                        .err(v, format!("Invalid \"or\" address {}", v.text))
                        .and(None);
                };
                if !fam.set(Family::of(&a)) {
                    return l.err(v, mixed).and(None);
                }
                used_or = true;
                if r.nexthops.is_empty() {
                    // The first hop is the `via` given so far.
                    r.nexthops.push(NextHop {
                        via: r.via.take(),
                        dev: r.dev.clone(),
                        weight: 1,
                        onlink: false,
                    });
                }
                r.nexthops.push(NextHop {
                    via: Some(a),
                    dev: None,
                    weight: 1,
                    onlink: false,
                });
            }
            "nexthop" => {
                if used_or {
                    return l
                        .err(t, "Cannot specify nexthops with \"or\" route".into())
                        .and(None);
                }
                nexthops(&mut l, &mut fam, &mut r.nexthops)?;
                continue;
            }
            w => {
                let mut tt = t;
                if w == "to" {
                    tt = l.value()?;
                }
                if let Some(ty) = RouteType::parse(&tt.text) {
                    r.route_type = ty;
                    l.i += 1;
                    match words.get(l.i) {
                        Some(x) => tt = x,
                        None => return l.err(tt, "Route must have a destination".into()).and(None),
                    }
                }
                match tt.text.as_str() {
                    "default" | "any" | "all" => r.dst = None,
                    "default6" => {
                        l.d.warn(
                            tt.loc,
                            format!("{kw}: 'default6' is deprecated - please replace with 'inet6 default'"),
                        );
                        if !fam.set(Family::Inet6) {
                            return l.err(tt, mixed).and(None);
                        }
                        r.dst = None;
                    }
                    s => {
                        let Some(p) = prefix(s) else {
                            return l.err(tt, format!("unknown route keyword {s}")).and(None);
                        };
                        if !fam.set(Family::of(&p.0)) {
                            return l
                                .err(
                                    tt,
                                    format!("Cannot mix IPv4 and IPv6 addresses for route ({s})"),
                                )
                                .and(None);
                        }
                        r.dst = Some(p);
                    }
                }
                have_dst = true;
            }
        }
        l.i += 1;
    }
    if !have_dst {
        return l
            .err(first, "Route must have a destination".into())
            .and(None);
    }
    r.family = fam.0.unwrap_or(Family::Inet);
    if !r.no_track {
        if let Some(p) = proto_set.filter(|_| r.protocol != RTPROT_KEEPALIVED) {
            l.d.warn(
                p.loc,
                format!("{kw}: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"),
            );
        }
        r.protocol = RTPROT_KEEPALIVED;
        // Upstream looks at the route's own `dev` only, not the nexthops'.
        if r.dev.is_none() {
            // Upstream: "Warning - cannot track route X with no interface
            // specified, not tracking" - common and harmless, so no diagnostic
            // (keepalived prints it for every such line); the route is untracked.
            r.no_track = true;
        }
    }
    if r.track_group.is_some() && r.dev.is_none() {
        l.d.warn(
            first.loc,
            format!("{kw}: Static route cannot have track group if no oif specified"),
        );
        r.track_group = None;
    }
    Some(r)
}

/// `nexthop via A dev IF weight N onlink nexthop ...` to the end of the line.
fn nexthops(l: &mut Line<'_, '_>, fam: &mut Fam, out: &mut Vec<NextHop>) -> Option<()> {
    while l.i < l.w.len() {
        let t = &l.w[l.i];
        if t.text != "nexthop" {
            return l.err(t, format!("Route has trailing nonsense - {}", t.text));
        }
        l.i += 1;
        let mut h = NextHop {
            via: None,
            dev: None,
            weight: 1,
            onlink: false,
        };
        while l.i < l.w.len() && l.w[l.i].text != "nexthop" {
            let t = &l.w[l.i];
            match t.text.as_str() {
                "via" => {
                    let mut v = l.value()?;
                    if v.text == "inet" || v.text == "inet6" {
                        v = l.value()?;
                    }
                    let Ok(a) = v.text.parse::<IpAddr>() else {
                        return l.err(v, format!("invalid nexthop address {}", v.text));
                    };
                    if !fam.set(Family::of(&a)) {
                        return l.err(v, "Address family mismatch for next hop".into());
                    }
                    h.via = Some(a);
                }
                "dev" => h.dev = Some(l.value()?.text.to_string()),
                "weight" => {
                    let v = l.value()?;
                    match v.text.parse::<u16>() {
                        Ok(w) if (1..=256).contains(&w) => h.weight = w,
                        _ => {
                            return l
                                .err(v, format!("Invalid weight {} specified for route", v.text))
                        }
                    }
                }
                "onlink" => h.onlink = true,
                w => return l.err(t, format!("Unknown nexthop option {w}")),
            }
            l.i += 1;
        }
        out.push(h);
    }
    Some(())
}

/// One rule line; `allow_track_group` for `static_rules`.
pub(crate) fn rule(
    d: &mut Diags,
    kw: &str,
    words: &[Token],
    allow_track_group: bool,
    prio: &mut RulePrio,
) -> Option<IpRule> {
    let first = words.first()?;
    let mut l = Line {
        d,
        kw,
        w: words,
        i: 0,
    };
    let mut fam = Fam(None);
    let mut r = IpRule {
        family: Family::Inet,
        from: None,
        to: None,
        invert: false,
        priority: 0,
        tos: None,
        fwmark: None,
        fwmask: None,
        realms: None,
        suppress_prefixlength: None,
        suppress_ifgroup: None,
        iif: None,
        oif: None,
        tunnel_id: None,
        uidrange: None,
        protocol: RTPROT_KEEPALIVED,
        ipproto: None,
        sport: None,
        dport: None,
        no_track: false,
        track_group: None,
        action: RuleAction::Nop,
    };
    let mut action: Option<RuleAction> = None;
    let mut prio_set = false;
    let mut table_option: Option<&Token> = None;
    let mut proto_set: Option<&Token> = None;
    let mixed = "rule specification has mixed IPv4 and IPv6".to_string();
    while l.i < words.len() {
        let t = &words[l.i];
        let mut new_action = None;
        match t.text.as_str() {
            "inet" | "inet6" => {
                let f = if t.text == "inet" {
                    Family::Inet
                } else {
                    Family::Inet6
                };
                if !fam.set(f) {
                    return l
                        .err(
                            t,
                            format!("{} specified for a rule of the other family", t.text),
                        )
                        .and(None);
                }
            }
            "from" | "to" => {
                let is_from = t.text == "from";
                let v = l.value()?;
                let p = if v.text == "all" {
                    None
                } else {
                    let Some(p) = prefix(&v.text) else {
                        let which = if is_from { "from" } else { "to" };
                        return l
                            .err(v, format!("Invalid rule {which} address {}", v.text))
                            .and(None);
                    };
                    if !fam.set(Family::of(&p.0)) {
                        return l.err(v, mixed).and(None);
                    }
                    Some(p)
                };
                if is_from {
                    r.from = p;
                } else {
                    r.to = p;
                }
            }
            "table" | "lookup" => {
                let v = l.value()?;
                match table(&v.text) {
                    Some(TableRef::Id(0)) => {
                        return l.err(v, "Table 0 is not valid".into()).and(None)
                    }
                    Some(x) => new_action = Some(RuleAction::Table(x)),
                    None => {
                        return l
                            .err(v, format!("Routing table {} not found for rule", v.text))
                            .and(None)
                    }
                }
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                let v = l.value()?;
                let Some(x) = parse_u32(&v.text) else {
                    return l
                        .err(v, format!("Invalid rule preference {} specified", v.text))
                        .and(None);
                };
                r.priority = x;
                prio_set = true;
            }
            "tos" | "dsfield" => {
                let v = l.value()?;
                let Some(x) = tos(&v.text) else {
                    return l
                        .err(v, format!("TOS value {} is invalid", v.text))
                        .and(None);
                };
                r.tos = Some(x);
            }
            "fwmark" => {
                let v = l.value()?;
                let (m, k) = match v.text.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v.text.as_str(), None),
                };
                let m = parse_u32(m);
                let k = k.map(parse_u32);
                match (m, k) {
                    (Some(m), None) => r.fwmark = Some(m),
                    (Some(m), Some(Some(k))) => {
                        r.fwmark = Some(m);
                        r.fwmask = Some(k);
                    }
                    _ => {
                        return l
                            .err(v, format!("Invalid rule fwmark {} specified", v.text))
                            .and(None)
                    }
                }
            }
            "realms" => {
                let v = l.value()?;
                if fam.0 == Some(Family::Inet6) {
                    return l.err(t, "realms is only valid for IPv4".into()).and(None);
                }
                r.realms = Some(v.text.to_string());
                table_option = Some(t);
            }
            "suppress_prefixlength" | "sup_pl" => {
                let v = l.value()?;
                let Some(x) = parse_u32(&v.text) else {
                    return l
                        .err(
                            v,
                            format!("Invalid suppress_prefixlength {} specified", v.text),
                        )
                        .and(None);
                };
                r.suppress_prefixlength = Some(x);
                table_option = Some(t);
            }
            "suppress_ifgroup" | "sup_group" => {
                r.suppress_ifgroup = Some(l.value()?.text.to_string());
                table_option = Some(t);
            }
            "dev" | "iif" => r.iif = Some(l.value()?.text.to_string()),
            "oif" => r.oif = Some(l.value()?.text.to_string()),
            "tunnel-id" => {
                let v = l.value()?;
                let Some(x) = parse_u64(&v.text) else {
                    return l
                        .err(v, format!("Invalid tunnel-id {} specified", v.text))
                        .and(None);
                };
                r.tunnel_id = Some(x);
            }
            "uidrange" => {
                let v = l.value()?;
                let parsed = v
                    .text
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                    .filter(|(a, b)| a <= b);
                let Some(x) = parsed else {
                    return l
                        .err(v, format!("Invalid uidrange {} specified", v.text))
                        .and(None);
                };
                r.uidrange = Some(x);
            }
            "l3mdev" => new_action = Some(RuleAction::L3mdev),
            "protocol" => {
                let v = l.value()?;
                let Some(x) = protocol(&v.text) else {
                    return l.err(v, format!("Invalid protocol {}", v.text)).and(None);
                };
                r.protocol = x;
                proto_set = Some(v);
            }
            "ipproto" => {
                let v = l.value()?;
                let x = match v.text.as_str() {
                    "icmp" => Some(1),
                    "tcp" => Some(6),
                    "udp" => Some(17),
                    "ipv6-icmp" | "icmpv6" => Some(58),
                    "sctp" => Some(132),
                    n => parse_u32(n).and_then(|v| u8::try_from(v).ok()),
                };
                let Some(x) = x else {
                    return l.err(v, format!("Invalid ipproto {}", v.text)).and(None);
                };
                r.ipproto = Some(x);
            }
            "sport" | "dport" => {
                let is_s = t.text == "sport";
                let v = l.value()?;
                let Some(x) = range16(&v.text) else {
                    let which = if is_s { "sport" } else { "dport" };
                    return l
                        .err(v, format!("invalid {which} range {}", v.text))
                        .and(None);
                };
                if is_s {
                    r.sport = Some(x);
                } else {
                    r.dport = Some(x);
                }
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                r.track_group = Some(l.value()?.text.to_string());
            }
            w => {
                let mut w = w;
                let mut at = t;
                if w == "type" {
                    at = l.value()?;
                    w = at.text.as_str();
                }
                new_action = Some(match w {
                    "goto" => {
                        let v = l.value()?;
                        let Some(x) = parse_u32(&v.text) else {
                            return l
                                .err(v, format!("Invalid target {} specified", v.text))
                                .and(None);
                        };
                        RuleAction::Goto(x)
                    }
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    _ if at.text != t.text => {
                        return l
                            .err(at, format!("Invalid rule action {}", at.text))
                            .and(None)
                    }
                    _ => return l.err(t, format!("Unknown rule option {w}")).and(None),
                });
            }
        }
        if let Some(a) = new_action {
            if action.is_some() {
                return l
                    .err(
                        t,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule"
                            .into(),
                    )
                    .and(None);
            }
            action = Some(a);
        }
        l.i += 1;
    }
    let Some(action) = action else {
        return l
            .err(first, "No action specified for rule - ignoring".into())
            .and(None);
    };
    if let RuleAction::Goto(target) = action {
        if !prio_set {
            return l
                .err(
                    first,
                    format!("Invalid rule - goto target {target} specified without preference"),
                )
                .and(None);
        }
        if r.priority >= target {
            return l
                .err(
                    first,
                    format!(
                        "Invalid rule - preference {} >= goto target {target}",
                        r.priority
                    ),
                )
                .and(None);
        }
    }
    if let Some(t) = table_option.filter(|_| !matches!(action, RuleAction::Table(_))) {
        return l
            .err(
                t,
                "suppressor/realm specified for non table action - skipping".into(),
            )
            .and(None);
    }
    r.action = action;
    if !r.no_track {
        if let Some(p) = proto_set.filter(|_| r.protocol != RTPROT_KEEPALIVED) {
            l.d.warn(
                p.loc,
                format!("{kw}: Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"),
            );
        }
        r.protocol = RTPROT_KEEPALIVED;
    }
    if r.track_group.is_some() && r.iif.is_none() {
        l.d.warn(
            first.loc,
            format!("{kw}: Static rule cannot have track_group if dev/iif not specified"),
        );
        r.track_group = None;
    }
    r.family = fam.0.unwrap_or(Family::Inet);
    if !prio_set {
        let next = if r.family == Family::Inet {
            &mut prio.v4
        } else {
            &mut prio.v6
        };
        r.priority = *next;
        *next = next.saturating_sub(1);
        l.d.warn(
            first.loc,
            format!(
                "{kw}: Rule has no preference specified - setting to {}. This is probably not what you want.",
                r.priority
            ),
        );
    }
    Some(r)
}
