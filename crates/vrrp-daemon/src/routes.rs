//! `virtual_routes` / `virtual_rules` (added after the VIPs when an
//! instance becomes MASTER, removed before them when it leaves, keepalived
//! order: addresses, routes, rules; removal in reverse) and
//! `static_ipaddress` / `static_routes` / `static_rules` (added at start,
//! kept across state changes, removed at exit unless `--dont-release-vrrp`,
//! reconciled at reload).
//!
//! Lines netlink cannot express yet (route types other than unicast,
//! nexthops, `onlink`, `tos`, `from`, `vrf`, metrics options; rules with
//! `not`, `tos`, `realms`, `suppress_*`, `uidrange`, `ipproto`, ports,
//! `tunnel_id` or a non-table action) are logged once and not installed,
//! rather than installing a different route.

use config::{IpRoute, IpRule, RuleAction, TableRef};
use netlink::{AddOutcome, DelOutcome};

use crate::runtime::Runtime;

/// Why a line is not installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// A feature netlink does not express yet.
    Unsupported(&'static str),
    /// `table NAME` not found in the iproute2 table files.
    UnknownTable(String),
    /// `dev NAME` does not exist (now).
    NoDevice(String),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::Unsupported(w) => write!(f, "{w} not supported yet"),
            RouteError::UnknownTable(t) => write!(f, "unknown table '{t}'"),
            RouteError::NoDevice(d) => write!(f, "interface {d} does not exist"),
        }
    }
}

impl std::error::Error for RouteError {}

fn family(f: config::Family) -> netlink::Family {
    match f {
        config::Family::Inet => netlink::Family::V4,
        config::Family::Inet6 => netlink::Family::V6,
    }
}

/// Resolves `table NAME` from iproute2's table files.
pub fn table_id(t: &TableRef) -> Result<u32, RouteError> {
    match t {
        TableRef::Id(n) => Ok(*n),
        TableRef::Name(name) => {
            let mut files = vec![
                std::path::PathBuf::from("/etc/iproute2/rt_tables"),
                std::path::PathBuf::from("/usr/share/iproute2/rt_tables"),
                std::path::PathBuf::from("/usr/lib/iproute2/rt_tables"),
            ];
            for d in [
                "/etc/iproute2/rt_tables.d",
                "/usr/share/iproute2/rt_tables.d",
            ] {
                if let Ok(rd) = std::fs::read_dir(d) {
                    let mut v: Vec<_> = rd
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                        .collect();
                    v.sort();
                    files.extend(v);
                }
            }
            files
                .iter()
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .find_map(|text| table_in(&text, name))
                .ok_or_else(|| RouteError::UnknownTable(name.clone()))
        }
    }
}

/// Looks `name` up in the text of an `rt_tables` file.
pub fn table_in(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?))
        })
        .find(|(_, n)| *n == name)
        .and_then(|(id, _)| {
            id.strip_prefix("0x")
                .map_or_else(|| id.parse().ok(), |h| u32::from_str_radix(h, 16).ok())
        })
}

/// Short iproute2-like text of a route for log lines.
pub fn route_text(r: &IpRoute) -> String {
    let mut s = match r.dst {
        Some((a, l)) => format!("{a}/{l}"),
        None => "default".to_string(),
    };
    if let Some(v) = r.via {
        s += &format!(" via {v}");
    }
    if let Some(d) = &r.dev {
        s += &format!(" dev {d}");
    }
    if let TableRef::Id(t) = &r.table {
        if *t != 254 {
            s += &format!(" table {t}");
        }
    } else if let TableRef::Name(n) = &r.table {
        s += &format!(" table {n}");
    }
    s
}

/// Short iproute2-like text of a rule for log lines.
pub fn rule_text(r: &IpRule) -> String {
    let mut s = format!("priority {}", r.priority);
    if let Some((a, l)) = r.from {
        s += &format!(" from {a}/{l}");
    }
    if let Some((a, l)) = r.to {
        s += &format!(" to {a}/{l}");
    }
    match &r.action {
        RuleAction::Table(TableRef::Id(t)) => s += &format!(" table {t}"),
        RuleAction::Table(TableRef::Name(n)) => s += &format!(" table {n}"),
        a => s += &format!(" {a:?}"),
    }
    s
}

/// The netlink route of a configuration line (`ifindex_of` resolves `dev`).
pub fn map_route(
    r: &IpRoute,
    ifindex_of: impl Fn(&str) -> Option<u32>,
) -> Result<netlink::Route, RouteError> {
    if r.route_type != config::RouteType::Unicast {
        return Err(RouteError::Unsupported("route type"));
    }
    if !r.nexthops.is_empty() {
        return Err(RouteError::Unsupported("nexthop"));
    }
    if r.onlink {
        return Err(RouteError::Unsupported("onlink"));
    }
    if r.tos.is_some() {
        return Err(RouteError::Unsupported("tos"));
    }
    if r.from.is_some() {
        return Err(RouteError::Unsupported("from"));
    }
    if r.vrf.is_some() {
        return Err(RouteError::Unsupported("vrf"));
    }
    if !r.options.is_empty() {
        return Err(RouteError::Unsupported("route options"));
    }
    let ifindex = match &r.dev {
        Some(d) => Some(ifindex_of(d).ok_or_else(|| RouteError::NoDevice(d.clone()))?),
        None => None,
    };
    Ok(netlink::Route {
        dst: r.dst.map(|d| d.0),
        dst_len: r.dst.map_or(0, |d| d.1),
        gateway: r.via,
        ifindex,
        table: table_id(&r.table)?,
        metric: r.metric,
        scope: netlink::Scope::from_u8(r.scope.value()),
        src: r.src,
        protocol: r.protocol,
        family: family(r.family),
    })
}

/// The netlink rule of a configuration line.
pub fn map_rule(r: &IpRule) -> Result<netlink::Rule, RouteError> {
    let table = match &r.action {
        RuleAction::Table(t) => table_id(t)?,
        _ => return Err(RouteError::Unsupported("rule action")),
    };
    let unsupported = [
        (r.invert, "not"),
        (r.tos.is_some(), "tos"),
        (r.realms.is_some(), "realms"),
        (r.suppress_prefixlength.is_some(), "suppress_prefixlength"),
        (r.suppress_ifgroup.is_some(), "suppress_ifgroup"),
        (r.uidrange.is_some(), "uidrange"),
        (r.ipproto.is_some(), "ipproto"),
        (r.sport.is_some() || r.dport.is_some(), "port ranges"),
        (r.tunnel_id.is_some(), "tunnel_id"),
    ];
    if let Some((_, w)) = unsupported.iter().find(|(b, _)| *b) {
        return Err(RouteError::Unsupported(w));
    }
    Ok(netlink::Rule {
        family: family(r.family),
        src: r.from,
        dst: r.to,
        table,
        priority: Some(r.priority),
        fwmark: r.fwmark,
        fwmask: r.fwmask,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        protocol: r.protocol,
    })
}

impl Runtime {
    fn add_routes(&self, who: &str, routes: &[IpRoute]) {
        for r in routes {
            match map_route(r, |d| self.ifindex_of(d)) {
                Ok(nr) => match self.rtnl.add_route(&nr) {
                    Ok(AddOutcome::Added) => {
                        log::debug!("({who}) Route {} added", route_text(r));
                    }
                    Ok(AddOutcome::AlreadyPresent) => {}
                    Err(e) => log::info!("({who}) Unable to add route {}: {e}", route_text(r)),
                },
                Err(e) => log::info!("({who}) route '{}' {e} - not installed", route_text(r)),
            }
        }
    }

    fn del_routes(&self, who: &str, routes: &[IpRoute]) {
        for r in routes.iter().rev() {
            if let Ok(nr) = map_route(r, |d| self.ifindex_of(d)) {
                match self.rtnl.del_route(&nr) {
                    Ok(DelOutcome::Deleted) => {
                        log::debug!("({who}) Route {} removed", route_text(r));
                    }
                    Ok(DelOutcome::NotPresent) => {}
                    Err(e) => {
                        log::info!("({who}) Unable to remove route {}: {e}", route_text(r));
                    }
                }
            }
        }
    }

    fn add_rules(&self, who: &str, rules: &[IpRule]) {
        for r in rules {
            match map_rule(r) {
                Ok(nr) => match self.rtnl.add_rule(&nr) {
                    Ok(AddOutcome::Added) => log::debug!("({who}) Rule {} added", rule_text(r)),
                    Ok(AddOutcome::AlreadyPresent) => {}
                    Err(e) => log::info!("({who}) Unable to add rule {}: {e}", rule_text(r)),
                },
                Err(e) => log::info!("({who}) rule '{}' {e} - not installed", rule_text(r)),
            }
        }
    }

    fn del_rules(&self, who: &str, rules: &[IpRule]) {
        for r in rules.iter().rev() {
            if let Ok(nr) = map_rule(r) {
                match self.rtnl.del_rule(&nr) {
                    Ok(DelOutcome::Deleted) => {
                        log::debug!("({who}) Rule {} removed", rule_text(r));
                    }
                    Ok(DelOutcome::NotPresent) => {}
                    Err(e) => log::info!("({who}) Unable to remove rule {}: {e}", rule_text(r)),
                }
            }
        }
    }

    /// After the VIPs of instance `i` were added: its routes, then rules.
    pub(crate) fn add_virtual_routes(&mut self, i: usize) {
        let v = &self.insts[i].vcfg;
        if !v.has_routes() {
            return;
        }
        let (name, routes, rules) = (
            v.name.clone(),
            v.virtual_routes().to_vec(),
            v.virtual_rules().to_vec(),
        );
        self.add_routes(&name, &routes);
        self.add_rules(&name, &rules);
    }

    /// Before the VIPs of instance `i` are removed: its rules, then routes.
    pub(crate) fn remove_virtual_routes(&mut self, i: usize) {
        let v = &self.insts[i].vcfg;
        if !v.has_routes() {
            return;
        }
        let (name, routes, rules) = (
            v.name.clone(),
            v.virtual_routes().to_vec(),
            v.virtual_rules().to_vec(),
        );
        self.del_rules(&name, &rules);
        self.del_routes(&name, &routes);
    }

    /// Reload of a MASTER instance `i`: applies the `virtual_routes` /
    /// `virtual_rules` lines that `new` removed or added.
    pub(crate) fn reload_virtual_routes(&mut self, i: usize, new: &config::VrrpInstance) {
        let old = self.insts[i].vcfg.clone();
        let name = old.name.clone();
        let gone_rules: Vec<IpRule> = old
            .virtual_rules()
            .iter()
            .filter(|r| !new.virtual_rules.contains(r))
            .cloned()
            .collect();
        let gone_routes: Vec<IpRoute> = old
            .virtual_routes()
            .iter()
            .filter(|r| !new.virtual_routes.contains(r))
            .cloned()
            .collect();
        self.del_rules(&name, &gone_rules);
        self.del_routes(&name, &gone_routes);
        let added_routes: Vec<IpRoute> = new
            .virtual_routes
            .iter()
            .filter(|r| !old.virtual_routes().contains(r))
            .cloned()
            .collect();
        let added_rules: Vec<IpRule> = new
            .virtual_rules
            .iter()
            .filter(|r| !old.virtual_rules().contains(r))
            .cloned()
            .collect();
        self.add_routes(&name, &added_routes);
        self.add_rules(&name, &added_rules);
    }

    /// `static_ipaddress` / `static_routes` / `static_rules`: installs the
    /// ones of `new`, removing those of `old` that `new` no longer has.
    pub(crate) fn apply_statics(&mut self, old: Option<&config::Config>, new: &config::Config) {
        let dev = new
            .global
            .default_interface
            .clone()
            .unwrap_or_else(|| "eth0".to_string());
        if let Some(old) = old {
            let gone_rules: Vec<IpRule> = old
                .static_rules
                .iter()
                .filter(|r| !new.static_rules.contains(r))
                .cloned()
                .collect();
            self.del_rules("static", &gone_rules);
            let gone_routes: Vec<IpRoute> = old
                .static_routes
                .iter()
                .filter(|r| !new.static_routes.contains(r))
                .cloned()
                .collect();
            self.del_routes("static", &gone_routes);
            let gone: Vec<config::VirtualIp> = old
                .static_ipaddress
                .iter()
                .filter(|a| !new.static_ipaddress.contains(a))
                .cloned()
                .collect();
            self.del_static_addresses(&gone, &dev);
        }
        for v in &new.static_ipaddress {
            let l = crate::map::vip_line(v, &dev);
            let Some(x) = self.ifindex_of(&l.dev) else {
                log::info!("(static) interface {} for {} does not exist", l.dev, v.addr);
                continue;
            };
            let mut a = l.addr;
            a.ifindex = x;
            match self.rtnl.add_address(&a) {
                Ok(_) => log::debug!("(static) Address {} on {}", a.addr, l.dev),
                Err(e) => log::info!("(static) Unable to add {} on {}: {e}", a.addr, l.dev),
            }
        }
        self.add_routes("static", &new.static_routes);
        self.add_rules("static", &new.static_rules);
    }

    fn del_static_addresses(&self, addrs: &[config::VirtualIp], dev: &str) {
        for v in addrs {
            let l = crate::map::vip_line(v, dev);
            if let Some(x) = self.ifindex_of(&l.dev) {
                let mut a = l.addr;
                a.ifindex = x;
                let _ = self.rtnl.del_address(&a);
            }
        }
    }

    /// Exit: static rules, routes and addresses removed.
    pub(crate) fn remove_statics(&mut self) {
        let cfg = self.cfg.clone();
        let dev = cfg
            .global
            .default_interface
            .clone()
            .unwrap_or_else(|| "eth0".to_string());
        self.del_rules("static", &cfg.static_rules);
        self.del_routes("static", &cfg.static_routes);
        self.del_static_addresses(&cfg.static_ipaddress, &dev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_tables_lookup() {
        let t = "# comment\n255\tlocal\n254\tmain\n100 vips # ours\n0x65 hex\n";
        assert_eq!(table_in(t, "vips"), Some(100));
        assert_eq!(table_in(t, "hex"), Some(101));
        assert_eq!(table_in(t, "main"), Some(254));
        assert_eq!(table_in(t, "nope"), None);
        assert_eq!(table_in(t, "comment"), None);
    }
}
