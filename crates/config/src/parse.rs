//! Tree → typed [`Config`], with keepalived 2.2.7's keyword sets, defaults and checks.

use crate::diag::{Diags, Loc};
use crate::keywords::*;
use crate::lexer::Token;
use crate::model::*;
use crate::tree::Node;
use crate::values::{self, boolean, int, ip, port, timer};
use std::collections::HashMap;
use std::net::IpAddr;

/// Settings a virtual/real server passes down to its checkers.
#[derive(Debug, Clone, Default)]
struct Inherit {
    retry: Option<u32>,
    delay_before_retry: Option<Micros>,
    warmup: Option<Micros>,
    connect_timeout: Option<Micros>,
    delay_loop: Option<Micros>,
    alpha: Option<bool>,
}

/// Where things were written, for checks made after reading everything.
#[derive(Debug, Default)]
struct Locs {
    instances: Vec<(Loc, Loc)>, // (name loc, vrid loc)
    script_refs: Vec<(String, Loc)>,
    track_file_refs: Vec<(String, Loc)>,
    process_refs: Vec<(String, Loc)>,
    sync_refs: Vec<(String, Loc)>,
    vsg_refs: Vec<(String, Loc)>,
}

/// The parser state.
#[derive(Debug)]
pub(crate) struct Parser<'d> {
    d: &'d mut Diags,
    cfg: Config,
    locs: Locs,
    lvs_sync_if_from_instance: Option<(String, String)>,
    /// Unknown keywords seen so far.
    unknown_seen: usize,
    /// Where `lvs_sync_daemon` names its instance.
    lvs_sync_inst_loc: Option<Loc>,
    /// Interfaces named (name, used by, where).
    if_refs: Vec<(String, String, Loc)>,
    /// Names defined so far, per kind (duplicate detection without scans).
    names: std::collections::HashSet<(&'static str, String)>,
    /// Automatic preferences for rules without one.
    rule_prio: crate::routes::RulePrio,
    /// `auth_hmac` `key ID file:PATH` (instance, id, path, where).
    key_files: Vec<(String, u8, std::path::PathBuf, Loc)>,
    /// Whether `vrrp_garp_lower_prio_{repeat,delay}` were given in global_defs.
    /// Unset, keepalived takes the master values (vrrp/vrrp.c
    /// vrrp_complete_init: PARAMETER_UNSET → vrrp_garp_rep / vrrp_garp_delay).
    garp_lower_prio_global: (bool, bool),
    /// The same for the instance being parsed (global, then its own keywords).
    garp_lower_prio_inst: (bool, bool),
}

/// What [`Parser::run`] returns: the configuration, the interfaces named
/// (name, used by, where) and the `auth_hmac` key files (instance, id,
/// path, where).
pub(crate) type Parsed = (
    Config,
    Vec<(String, String, Loc)>,
    Vec<(String, u8, std::path::PathBuf, Loc)>,
);

/// Unknown keywords that get a "did you mean" search.
const MAX_SUGGESTIONS: usize = 50;

/// Maximum weight of a tracked object (`vrrp/vrrp_track.c`).
const TRACK_WEIGHT: i64 = 253;

impl<'d> Parser<'d> {
    /// A parser reporting into `d`.
    pub fn new(d: &'d mut Diags) -> Self {
        Parser {
            d,
            cfg: Config::default(),
            locs: Locs::default(),
            lvs_sync_if_from_instance: None,
            names: Default::default(),
            if_refs: Vec::new(),
            lvs_sync_inst_loc: None,
            unknown_seen: 0,
            rule_prio: Default::default(),
            key_files: Vec::new(),
            garp_lower_prio_global: (false, false),
            garp_lower_prio_inst: (false, false),
        }
    }

    /// Parse the root level and run cross-reference checks.
    pub fn run(mut self, nodes: &[Node]) -> Parsed {
        // Exact capacity for the big lists (no regrowth copying 2,000
        // virtual servers around).
        let count = |kw: &str| nodes.iter().filter(|n| n.keyword() == kw).count();
        self.cfg
            .virtual_servers
            .reserve_exact(count("virtual_server"));
        self.cfg
            .vrrp_instances
            .reserve_exact(count("vrrp_instance"));
        self.roots(nodes);
        self.done()
    }

    /// Parse some root-level lines (in file order; call again for the next ones).
    pub fn roots(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.root(node);
        }
    }

    /// After the last [`Parser::roots`]: cross-reference checks, and the result.
    pub fn done(mut self) -> Parsed {
        self.finish();
        (self.cfg, self.if_refs, self.key_files)
    }

    /// Record the interfaces named on VIP lines (`dev IFNAME`).
    fn vip_dev_refs(&mut self, line: &[Token]) {
        if let Some(i) = line.iter().position(|t| t.text == "dev") {
            if let Some(d) = line.get(i + 1) {
                self.if_refs.push((
                    d.text.to_string(),
                    format!("ip address {}", line[0].text),
                    d.loc,
                ));
            }
        }
    }

    /// Record the interfaces named on route lines (`dev`/`oif IFNAME`).
    fn route_dev_refs(&mut self, line: &[Token], kw: &str) {
        for (i, t) in line.iter().enumerate() {
            if t.text == "dev" || t.text == "oif" {
                if let Some(d) = line.get(i + 1) {
                    self.if_refs
                        .push((d.text.to_string(), format!("{kw} route"), d.loc));
                }
            }
        }
    }

    // ----- generic helpers -------------------------------------------------

    /// The canonical keyword of `node` in a block, or None (reported) when unknown.
    fn kw<'a>(&mut self, node: &'a Node, ctx: &str, set: &KeywordSet) -> Option<&'a str> {
        let word = node.words.first()?;
        // Compared as bytes: the set's own (static) spelling is returned.
        let b = word.text.as_bytes();
        if let Some(k) = set
            .known
            .iter()
            .chain(set.raw.iter())
            .find(|k| k.as_bytes() == b)
        {
            return Some(k);
        }
        let k = word.text.as_str();
        if let Some((_, new)) = set.deprecated.iter().find(|(old, _)| *old == k) {
            self.d.warn(
                word.loc,
                format!("'{k}' is deprecated, use '{new}' instead"),
            );
            return Some(new);
        }
        // Suggestions cost an edit-distance search; a file full of unknown
        // words (a wrong file, a migration) gets them for the first ones only.
        self.unknown_seen += 1;
        if self.unknown_seen > MAX_SUGGESTIONS {
            let msg = format!("Unknown keyword '{k}' in {ctx}");
            if self.d.lenient {
                self.d.warn(word.loc, format!("{msg} - ignored (lenient)"));
            } else {
                self.d.error(word.loc, msg);
            }
            return None;
        }
        let all = set.known.iter().chain(set.raw.iter()).copied();
        let msg = match all.clone().find(|c| c.eq_ignore_ascii_case(k)) {
            Some(c) => format!(
                "Unknown keyword '{k}' in {ctx} (keywords are case-sensitive: did you mean '{c}'?)"
            ),
            None => match crate::suggest_iter(k, all) {
                Some(c) => format!("Unknown keyword '{k}' in {ctx} - did you mean '{c}'?"),
                None => match elsewhere(k) {
                    Some(place) => {
                        format!("Unknown keyword '{k}' in {ctx} - it belongs in {place}")
                    }
                    None => format!("Unknown keyword '{k}' in {ctx}"),
                },
            },
        };
        if self.d.lenient {
            self.d.warn(word.loc, format!("{msg} - ignored (lenient)"));
        } else {
            self.d.error(word.loc, msg);
        }
        None
    }

    /// Arguments of a non-block keyword; a block after it is an error.
    fn args<'a>(&mut self, node: &'a Node) -> &'a [Token] {
        if let Some(b) = &node.block {
            self.d.error(
                b.open,
                format!(
                    "Unexpected '{{' after '{}' - it takes no block",
                    node.keyword()
                ),
            );
        }
        &node.words[1..]
    }

    /// Exactly one argument (extra ones warned about).
    fn arg1<'a>(&mut self, node: &'a Node) -> Option<&'a Token> {
        let a = self.args(node);
        match a {
            [] => {
                self.d.error(
                    node.loc(),
                    format!("'{}' is missing its parameter", node.keyword()),
                );
                None
            }
            [t] => Some(t),
            [t, extra, ..] => {
                self.d.warn(
                    extra.loc,
                    format!(
                        "'{}': extra parameters ignored from '{}'",
                        node.keyword(),
                        extra.text
                    ),
                );
                Some(t)
            }
        }
    }

    /// The lines of a block keyword; missing `{` is an error.
    fn block<'a>(&mut self, node: &'a Node) -> Option<&'a [Node]> {
        match &node.block {
            Some(b) => Some(&b.children),
            None => {
                self.d.error(
                    node.loc(),
                    format!(
                        "Missing '{{' at beginning of configuration block '{}'",
                        node.keyword()
                    ),
                );
                None
            }
        }
    }

    /// Block whose header is `KEYWORD NAME`.
    fn named_block<'a>(&mut self, node: &'a Node) -> Option<(&'a Token, &'a [Node])> {
        let children = self.block(node)?;
        let Some(name) = node.words.get(1) else {
            self.d
                .error(node.loc(), format!("'{}' needs a name", node.keyword()));
            return None;
        };
        if let Some(extra) = node.words.get(2) {
            self.d.warn(
                extra.loc,
                format!(
                    "Block {} has extra parameters {} ...",
                    node.keyword(),
                    extra.text
                ),
            );
        }
        Some((name, children))
    }

    /// Lines of a value block (`virtual_ipaddress { ... }`); each non-empty.
    fn value_lines<'a>(&mut self, node: &'a Node) -> Vec<&'a [Token]> {
        let Some(children) = self.block(node) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(children.len());
        for c in children {
            if let Some(b) = &c.block {
                self.d.error(
                    b.open,
                    format!("Unexpected '{{' inside '{}'", node.keyword()),
                );
            }
            if !c.words.is_empty() {
                out.push(c.words.as_slice());
            }
        }
        out
    }

    fn int1(&mut self, node: &Node, min: i64, max: i64) -> Option<i64> {
        let t = self.arg1(node)?;
        int(self.d, node.keyword(), t, min, max)
    }
    fn timer1(&mut self, node: &Node, max_secs: u64) -> Option<Micros> {
        let t = self.arg1(node)?;
        timer(self.d, node.keyword(), t, max_secs)
    }
    fn bool1(&mut self, node: &Node) -> Option<bool> {
        let a = self.args(node);
        boolean(self.d, node.keyword(), a)
    }
    fn ip1(&mut self, node: &Node) -> Option<IpAddr> {
        let t = self.arg1(node)?;
        ip(self.d, node.keyword(), t)
    }
    fn str1(&mut self, node: &Node) -> Option<String> {
        self.arg1(node).map(|t| t.text.to_string())
    }
    fn script1(&mut self, node: &Node) -> Option<Script> {
        let a = self.args(node);
        values::script(self.d, node.keyword(), node.loc(), a)
    }
    fn command1(&mut self, node: &Node) -> Option<Script> {
        let a = self.args(node);
        values::command(self.d, node.keyword(), node.loc(), a)
    }
    fn raw(&mut self, node: &Node, kw: &str, other: &mut Vec<RawStatement>) {
        other.push(RawStatement {
            keyword: kw.to_string(),
            args: node.words[1..].iter().map(|t| t.text.to_string()).collect(),
        });
    }
    fn run_as(&mut self, node: &Node) -> Option<RunAs> {
        let a = self.args(node);
        let Some(u) = a.first() else {
            self.d.error(
                node.loc(),
                format!("'{}' needs a user name", node.keyword()),
            );
            return None;
        };
        Some(RunAs {
            user: u.text.to_string(),
            group: a.get(1).map(|t| t.text.to_string()),
        })
    }
    fn track_list(&mut self, node: &Node, min: i64) -> Vec<TrackRef> {
        let kw = node.keyword().to_string();
        self.value_lines(node)
            .into_iter()
            .filter_map(|l| values::track_ref(self.d, &kw, l, min, TRACK_WEIGHT))
            .collect()
    }

    // ----- root ----------------------------------------------------------------

    fn root(&mut self, node: &Node) {
        if node.words.is_empty() {
            return; // stray block, already reported
        }
        let Some(kw) = self.kw(node, "the top level", &ROOT) else {
            return;
        };
        match kw {
            "global_defs" => {
                if let Some(children) = self.block(node) {
                    for c in children {
                        self.global(c);
                    }
                }
            }
            "vrrp_script" => self.vrrp_script(node),
            "vrrp_instance" => self.vrrp_instance(node),
            "vrrp_sync_group" => self.sync_group(node),
            "virtual_server_group" => self.vs_group(node),
            "virtual_server" => self.virtual_server(node),
            "track_file" => self.track_file(node),
            "vrrp_track_process" => self.track_process(node),
            "static_ipaddress" => {
                for l in self.value_lines(node) {
                    self.vip_dev_refs(l);
                    if let Some(v) = values::virtual_ip(self.d, "static_ipaddress", l) {
                        self.cfg.static_ipaddress.push(v);
                    }
                }
            }
            "static_routes" => {
                for l in self.value_lines(node) {
                    self.route_dev_refs(l, "static_routes");
                    if let Some(r) = crate::routes::route(self.d, "static_routes", l, true) {
                        self.cfg.static_routes.push(r);
                    }
                }
            }
            "static_rules" => {
                for l in self.value_lines(node) {
                    if let Some(r) =
                        crate::routes::rule(self.d, "static_rules", l, true, &mut self.rule_prio)
                    {
                        self.cfg.static_rules.push(r);
                    }
                }
            }
            "net_namespace" => self.cfg.net_namespace = self.str1(node),
            "child_wait_time" => {
                if let Some(v) = self.timer1(node, 3600) {
                    self.cfg.child_wait_time = v;
                }
            }
            "instance" => self.cfg.instance = self.str1(node),
            "bfd_instance" => self.d.error(
                node.loc(),
                "bfd_instance: BFD is not supported by keepalived-rs",
            ),
            _ => {
                // Accepted root keywords we do not model (namespaces, garp_group, SSL, ...).
                self.raw(node, kw, &mut Vec::new());
                self.d.warn(
                    node.loc(),
                    format!("'{kw}' is accepted but not implemented by keepalived-rs - ignored"),
                );
            }
        }
    }

    // ----- global_defs ---------------------------------------------------------

    fn global(&mut self, node: &Node) {
        if node.words.is_empty() {
            return;
        }
        let Some(kw) = self.kw(node, "global_defs", &GLOBAL) else {
            return;
        };
        let mut g = std::mem::take(&mut self.cfg.global);
        match kw {
            "router_id" => g.router_id = self.str1(node),
            "notification_email" => {
                for l in self.value_lines(node) {
                    g.notification_email
                        .extend(l.iter().map(|t| t.text.to_string()));
                }
            }
            "notification_email_from" => {
                let a = self.args(node);
                match a.first() {
                    Some(t) if !t.text.is_empty() => g.notification_email_from = Some(t.text.to_string()),
                    _ => self.d.warn(node.loc(), "notification_email_from has no address - ignored (keepalived uses keepalived@<hostname>)"),
                }
            }
            "smtp_server" => {
                let a = self.args(node);
                if let Some(h) = a.first() {
                    let host = match h.text.parse::<IpAddr>() {
                        Ok(ip) => Host::Ip(ip),
                        Err(_) => {
                            self.d.warn(
                                h.loc,
                                format!("smtp_server '{}' is not an IP address; keepalived 2.2.7 rejects it, keepalived-rs resolves the name when sending", h.text),
                            );
                            Host::Name(h.text.to_string())
                        }
                    };
                    let p = match a.get(1) {
                        Some(t) => port(self.d, "smtp_server", t).unwrap_or(25),
                        None => 25,
                    };
                    g.smtp_server = Some(SmtpServer { host, port: p });
                } else {
                    self.d
                        .error(node.loc(), "'smtp_server' is missing its parameter");
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = self.str1(node),
            "smtp_connect_timeout" => {
                if let Some(v) = self.timer1(node, 86400) {
                    g.smtp_connect_timeout = v;
                }
            }
            "smtp_alert" => g.smtp_alert = self.bool1(node),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = self.bool1(node),
            "smtp_alert_checker" => g.smtp_alert_checker = self.bool1(node),
            "no_email_faults" => g.no_email_faults = self.bool1(node).unwrap_or(true),
            "startup_script" => g.startup_script = self.script1(node),
            "shutdown_script" => g.shutdown_script = self.script1(node),
            "startup_script_timeout" => {
                if let Some(v) = self.timer1(node, 1000) {
                    g.startup_script_timeout = v;
                }
            }
            "shutdown_script_timeout" => {
                if let Some(v) = self.timer1(node, 1000) {
                    g.shutdown_script_timeout = v;
                }
            }
            "script_user" => g.script_user = self.run_as(node),
            "enable_script_security" => g.enable_script_security = self.bool1(node).unwrap_or(true),
            "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo" => {
                let f = self.fifo(node);
                let slot = match kw {
                    "notify_fifo" => &mut g.notify_fifo,
                    "vrrp_notify_fifo" => &mut g.vrrp_notify_fifo,
                    _ => &mut g.lvs_notify_fifo,
                };
                if let Some(mut f) = f {
                    f.script = slot.take().and_then(|o| o.script);
                    *slot = Some(f);
                }
            }
            "notify_fifo_script" | "vrrp_notify_fifo_script" | "lvs_notify_fifo_script" => {
                let s = self.script1(node);
                let slot = match kw {
                    "notify_fifo_script" => &mut g.notify_fifo,
                    "vrrp_notify_fifo_script" => &mut g.vrrp_notify_fifo,
                    _ => &mut g.lvs_notify_fifo,
                };
                match slot {
                    Some(f) => f.script = s,
                    None => {
                        *slot = Some(NotifyFifo {
                            path: Default::default(),
                            owner: None,
                            script: s,
                        })
                    }
                }
            }
            "vrrp_notify_priority_changes" => {
                g.vrrp_notify_priority_changes = self.bool1(node).unwrap_or(true)
            }
            "dynamic_interfaces" => g.dynamic_interfaces = true,
            "default_interface" => g.default_interface = self.str1(node),
            "vrrp_mcast_group4" => match self.ip1(node) {
                Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                Some(a) => self.d.error(
                    node.words[1].loc,
                    format!("vrrp_mcast_group4: {a} is not an IPv4 multicast address"),
                ),
                None => {}
            },
            "vrrp_mcast_group6" => match self.ip1(node) {
                Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                Some(a) => self.d.error(
                    node.words[1].loc,
                    format!("vrrp_mcast_group6: {a} is not an IPv6 multicast address"),
                ),
                None => {}
            },
            "vrrp_garp_master_delay" => {
                if let Some(v) = self.timer1(node, 1000) {
                    g.vrrp_garp.master_delay = v;
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = self.int1(node, 0, 65535) {
                    g.vrrp_garp.master_repeat = v as u32;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = self.timer1(node, 86400) {
                    g.vrrp_garp.master_refresh = v;
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = self.int1(node, 0, 65535) {
                    g.vrrp_garp.master_refresh_repeat = v as u32;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(v) = self.timer1(node, 1000) {
                    g.vrrp_garp.lower_prio_delay = v;
                    self.garp_lower_prio_global.1 = true;
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(v) = self.int1(node, 0, 65535) {
                    g.vrrp_garp.lower_prio_repeat = v as u32;
                    self.garp_lower_prio_global.0 = true;
                }
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                if let Some(v) = self.timer1(node, 1) {
                    // 2.2.7 only takes values from 1 µs; older versions read 0 as "no delay".
                    if v == Micros::ZERO {
                        self.d.warn(
                            node.words[1].loc,
                            format!("{kw} 0 is rejected by keepalived 2.2.7 (valid 0.000001..1); taken as 'no delay' as older keepalived did"),
                        );
                    }
                    if kw == "vrrp_garp_interval" {
                        g.vrrp_garp.interval = v;
                    } else {
                        g.vrrp_garp.gna_interval = v;
                    }
                }
            }
            "vrrp_down_timer_adverts" => {
                if let Some(v) = self.int1(node, 1, 100) {
                    g.vrrp_down_timer_adverts = v as u8;
                }
            }
            "vrrp_version" => {
                if let Some(v) = self.int1(node, 2, 3) {
                    g.vrrp_version = if v == 2 {
                        VrrpVersion::V2
                    } else {
                        VrrpVersion::V3
                    };
                }
            }
            "vrrp_strict" => g.vrrp_strict = true,
            "vrrp_skip_check_adv_addr" => {
                g.vrrp_skip_check_adv_addr = self.bool1(node).unwrap_or(true)
            }
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
            "vrrp_lower_prio_no_advert" => {
                g.vrrp_lower_prio_no_advert = self.bool1(node).unwrap_or(true)
            }
            "vrrp_higher_prio_send_advert" => {
                g.vrrp_higher_prio_send_advert = self.bool1(node).unwrap_or(true)
            }
            "vrrp_startup_delay" => {
                if let Some(v) = self.timer1(node, 3600) {
                    g.vrrp_startup_delay = v;
                }
            }
            "vrrp_iptables" => g.vrrp_iptables = Some(words(self.args(node))),
            "nftables" => g.nftables = Some(self.args(node).first().map(|t| t.text.to_string())),
            "vmac_prefix" => {
                if let Some(v) = self.str1(node) {
                    g.vmac_prefix = v;
                }
            }
            "v3_checksum_as_v2" => g.v3_checksum_as_v2 = self.bool1(node).unwrap_or(true),
            "lvs_timeouts" => g.lvs_timeouts = self.lvs_timeouts(node),
            "lvs_flush" => g.lvs_flush = true,
            "lvs_flush_on_stop" => {
                g.lvs_flush_on_stop = Some(
                    self.args(node)
                        .first()
                        .map(|t| t.text == "VS")
                        .unwrap_or(false),
                );
            }
            "lvs_sync_daemon" => g.lvs_sync_daemon = self.lvs_sync_daemon(node),
            "checker_log_all_failures" => {
                g.checker_log_all_failures = self.bool1(node).unwrap_or(true)
            }
            _ => self.raw(node, kw, &mut g.other),
        }
        self.cfg.global = g;
    }

    fn fifo(&mut self, node: &Node) -> Option<NotifyFifo> {
        let a = self.args(node);
        let Some(p) = a.first() else {
            self.d.error(
                node.loc(),
                format!("'{}' is missing its FIFO path", node.keyword()),
            );
            return None;
        };
        let owner = a.get(1).map(|u| RunAs {
            user: u.text.to_string(),
            group: a.get(2).map(|t| t.text.to_string()),
        });
        Some(NotifyFifo {
            path: p.text.to_string().into(),
            owner,
            script: None,
        })
    }

    fn lvs_timeouts(&mut self, node: &Node) -> LvsTimeouts {
        let a = self.args(node);
        let mut t = LvsTimeouts::default();
        let mut i = 0;
        while i < a.len() {
            let Some(v) = a.get(i + 1) else {
                self.d.error(
                    a[i].loc,
                    format!("lvs_timeouts: '{}' needs a value", a[i].text),
                );
                break;
            };
            let val = timer(self.d, "lvs_timeouts", v, 86400 * 31);
            match a[i].text.as_str() {
                "tcp" => t.tcp = val,
                "tcpfin" => t.tcpfin = val,
                "udp" => t.udp = val,
                o => self.d.error(
                    a[i].loc,
                    format!("lvs_timeouts: unknown '{o}' (expected tcp, tcpfin or udp)"),
                ),
            }
            i += 2;
        }
        t
    }

    fn lvs_sync_daemon(&mut self, node: &Node) -> Option<LvsSyncDaemon> {
        let a = self.args(node);
        let Some(ifn) = a.first() else {
            self.d
                .error(node.loc(), "lvs_sync_daemon needs an interface");
            return None;
        };
        self.if_refs
            .push((ifn.text.to_string(), "lvs_sync_daemon".into(), ifn.loc));
        let mut s = LvsSyncDaemon {
            interface: ifn.text.to_string(),
            instance: None,
            sync_id: 0,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        let mut i = 1;
        // Old syntax: `lvs_sync_daemon IF INSTANCE [...]`.
        if let Some(t) = a.get(1) {
            if !matches!(
                t.text.as_str(),
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group"
            ) {
                s.instance = Some(t.text.to_string());
                self.lvs_sync_inst_loc = Some(t.loc);
                i = 2;
            }
        }
        while i < a.len() {
            let Some(v) = a.get(i + 1) else {
                self.d.error(
                    a[i].loc,
                    format!("lvs_sync_daemon: '{}' needs a value", a[i].text),
                );
                break;
            };
            match a[i].text.as_str() {
                "inst" => {
                    s.instance = Some(v.text.to_string());
                    self.lvs_sync_inst_loc = Some(v.loc);
                }
                "id" => s.sync_id = int(self.d, "lvs_sync_daemon id", v, 0, 255).unwrap_or(0) as u8,
                "maxlen" => {
                    s.maxlen = int(self.d, "lvs_sync_daemon maxlen", v, 1, 65535 - 20 - 8)
                        .map(|x| x as u16)
                }
                "port" => s.port = port(self.d, "lvs_sync_daemon port", v),
                "ttl" => s.ttl = int(self.d, "lvs_sync_daemon ttl", v, 1, 255).map(|x| x as u8),
                "group" => s.group = ip(self.d, "lvs_sync_daemon group", v),
                o => self
                    .d
                    .error(a[i].loc, format!("lvs_sync_daemon: unknown option '{o}'")),
            }
            i += 2;
        }
        Some(s)
    }

    // ----- trackers -----------------------------------------------------------

    fn vrrp_script(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        if !self.names.insert(("vrrp_script", name.text.to_string())) {
            self.d.error(
                name.loc,
                format!("vrrp_script {} is defined twice", name.text),
            );
            return;
        }
        let mut s = VrrpScript {
            name: name.text.to_string(),
            script: Script {
                argv: Vec::new(),
                user: None,
                group: None,
            },
            interval: Micros::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "vrrp_script", &VRRP_SCRIPT) else {
                continue;
            };
            match kw {
                "script" => {
                    if let Some(sc) = self.command1(c) {
                        s.script = sc;
                    }
                }
                "interval" => {
                    if let Some(v) = self.timer1(c, 86400) {
                        if v == Micros::ZERO {
                            self.d.error(
                                c.words[1].loc,
                                "vrrp_script interval must be greater than 0",
                            );
                        } else {
                            s.interval = v;
                        }
                    }
                }
                "timeout" => s.timeout = self.timer1(c, 86400),
                "weight" => {
                    let a = self.args(c);
                    match a.first() {
                        Some(t) => {
                            let mut l = vec![Token {
                                text: s.name.as_str().into(),
                                loc: t.loc,
                                quoted: false,
                            }];
                            l.push(Token {
                                text: "weight".into(),
                                loc: t.loc,
                                quoted: false,
                            });
                            l.extend(a.iter().cloned());
                            if let Some(r) =
                                values::track_ref(self.d, "weight", &l, -TRACK_WEIGHT, TRACK_WEIGHT)
                            {
                                s.weight = r.weight.unwrap_or(0);
                                s.weight_reverse = r.reverse;
                            }
                        }
                        None => self.d.error(c.loc(), "'weight' is missing its parameter"),
                    }
                }
                "rise" => s.rise = self.int1(c, 1, 1_000_000).unwrap_or(1) as u32,
                "fall" => s.fall = self.int1(c, 1, 1_000_000).unwrap_or(1) as u32,
                "user" => s.user = self.run_as(c),
                "init_fail" => s.init_fail = true,
                _ => self.raw(c, kw, &mut Vec::new()),
            }
        }
        if s.script.argv.is_empty() {
            self.d.error(
                name.loc,
                format!(
                    "vrrp_script {} has no 'script' - a script is required",
                    s.name
                ),
            );
            return;
        }
        self.cfg.vrrp_scripts.push(s);
    }

    fn track_file(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        let mut t = TrackFile {
            name: name.text.to_string(),
            file: Default::default(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "track_file", &TRACK_FILE) else {
                continue;
            };
            match kw {
                "file" => t.file = self.str1(c).unwrap_or_default().into(),
                "weight" => {
                    let a = self.args(c);
                    if let Some(w) = a.first() {
                        t.weight = int(self.d, "weight", w, -TRACK_WEIGHT, TRACK_WEIGHT)
                            .unwrap_or(1) as i32;
                        t.weight_reverse = a.get(1).is_some_and(|r| r.text == "reverse");
                    }
                }
                "init_file" => {
                    let a = self.args(c);
                    let mut val = 0;
                    let mut overwrite = false;
                    for w in a {
                        if w.text == "overwrite" {
                            overwrite = true;
                        } else if let Ok(v) = w.text.parse() {
                            val = v;
                        } else {
                            self.d
                                .error(w.loc, format!("init_file: invalid value '{}'", w.text));
                        }
                    }
                    t.init_file = Some((val, overwrite));
                }
                _ => {}
            }
        }
        if t.file.as_os_str().is_empty() {
            self.d
                .error(name.loc, format!("track_file {} has no 'file'", t.name));
            return;
        }
        self.cfg.track_files.push(t);
    }

    fn track_process(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        let mut t = TrackProcess {
            name: name.text.to_string(),
            process: Vec::new(),
            param_match: None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            terminate_delay: None,
            fork_delay: None,
            full_command: false,
        };
        let mut qmax_loc = None;
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "vrrp_track_process", &TRACK_PROCESS) else {
                continue;
            };
            match kw {
                "process" => t.process = words(self.args(c)),
                "param_match" => {
                    if let Some(v) = self.arg1(c) {
                        t.param_match = match v.text.as_str() {
                            "exact" => Some(ParamMatch::Exact),
                            "initial" => Some(ParamMatch::Initial),
                            "partial" => Some(ParamMatch::Partial),
                            other => {
                                self.d.error(
                                    v.loc,
                                    format!("Invalid param_match type {other} (expected exact, initial or partial)"),
                                );
                                t.param_match
                            }
                        };
                    }
                }
                "weight" => {
                    let a = self.args(c);
                    if let Some(w) = a.first() {
                        t.weight = int(self.d, "weight", w, -TRACK_WEIGHT, TRACK_WEIGHT)
                            .unwrap_or(0) as i32;
                        t.weight_reverse = a.get(1).is_some_and(|r| r.text == "reverse");
                    }
                }
                "quorum" => t.quorum = self.int1(c, 1, 65535).unwrap_or(1) as u32,
                "quorum_max" => {
                    t.quorum_max = self.int1(c, 0, 65535).map(|v| v as u32);
                    qmax_loc = self.arg1(c).map(|a| a.loc);
                }
                "delay" => t.delay = self.timer1(c, 3600),
                "terminate_delay" => t.terminate_delay = self.timer1(c, 3600),
                "fork_delay" => t.fork_delay = self.timer1(c, 3600),
                "full_command" => t.full_command = true,
                _ => {}
            }
        }
        if t.process.is_empty() {
            self.d.error(
                name.loc,
                format!("vrrp_track_process {} has no 'process'", t.name),
            );
            return;
        }
        if t.process.len() > 1 && t.param_match.is_none() {
            t.param_match = Some(ParamMatch::Exact);
        }
        match t.quorum_max {
            Some(0) => t.quorum = 0,
            Some(m) if m < t.quorum => {
                self.d.error(
                    qmax_loc.unwrap_or(name.loc),
                    format!("quorum_max {m} is less than quorum {}", t.quorum),
                );
                return;
            }
            _ => {}
        }
        if !self.names.insert(("vrrp_track_process", t.name.clone())) {
            self.d.error(
                name.loc,
                format!("vrrp_track_process {} is defined twice", t.name),
            );
            return;
        }
        self.cfg.track_processes.push(t);
    }

    // ----- vrrp_instance -------------------------------------------------------

    fn vrrp_instance(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        if !self.names.insert(("vrrp_instance", name.text.to_string())) {
            self.d.error(
                name.loc,
                format!("vrrp_instance {} is defined twice", name.text),
            );
            return;
        }
        self.garp_lower_prio_inst = self.garp_lower_prio_global;
        let g = &self.cfg.global;
        let mut v = VrrpInstance {
            name: name.text.to_string(),
            state: InitialState::Backup,
            interface: None,
            vrf: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int: Centis::from_secs(1),
            version: g.vrrp_version,
            family: Family::Inet,
            src_ip: None,
            mcast_dst_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            unicast_fault_no_peer: false,
            check_unicast_src: g.vrrp_check_unicast_src,
            old_unicast_checksum: false,
            nopreempt: false,
            preempt_delay: Micros::ZERO,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            no_virtual_ipaddress: false,
            promote_secondaries: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_interface: Vec::new(),
            dont_track_primary: false,
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            notify: NotifyScripts::default(),
            smtp_alert: None,
            notify_priority_changes: None,
            // Copied from global_defs as read so far (vrrp/vrrp_data.c:1025-1028).
            garp: g.vrrp_garp.clone(),
            garp_extra_if: None,
            down_timer_adverts: g.vrrp_down_timer_adverts,
            timer_expired_backup: None,
            lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
            higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
            owner_ignore_adverts: false,
            skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
            strict_mode: g.vrrp_strict,
            accept: None,
            use_vmac: None,
            native_ipv6: false,
            v3_checksum_as_v2: g.v3_checksum_as_v2,
            debug: 0,
            authentication: None,
            auth_hmac: None,
            other: Vec::new(),
        };
        let mut state: Option<(InitialState, Loc)> = None;
        let mut priority: Option<(u8, Loc)> = None;
        let mut advert: Option<(u64, Loc)> = None;
        let mut version: Option<VrrpVersion> = None;
        let mut vrid_loc = None;
        let mut auth_loc = None;
        let mut hmac_block: Option<(Loc, crate::auth::Block)> = None;
        let mut preempt_delay_loc = None;
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "vrrp_instance", &VRRP_INSTANCE) else {
                continue;
            };
            match kw {
                "state" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.as_str() {
                            "MASTER" => state = Some((InitialState::Master, t.loc)),
                            "BACKUP" => state = Some((InitialState::Backup, t.loc)),
                            s if s.eq_ignore_ascii_case("master") || s.eq_ignore_ascii_case("backup") => self.d.error(
                                t.loc,
                                format!("({}) invalid state '{s}' - must be MASTER or BACKUP (case-sensitive; did you mean '{}'?)", v.name, s.to_ascii_uppercase()),
                            ),
                            s => self.d.error(t.loc, format!("({}) invalid state '{s}' - must be MASTER or BACKUP", v.name)),
                        }
                    }
                }
                "interface" => {
                    if let Some(t) = self.arg1(c) {
                        self.if_refs.push((
                            t.text.to_string(),
                            format!("vrrp_instance {}", v.name),
                            t.loc,
                        ));
                        if t.text == "lo" {
                            self.d.error(
                                t.loc,
                                format!(
                                    "({}) cannot use a loopback interface (lo) for vrrp",
                                    v.name
                                ),
                            );
                        }
                        v.interface = Some(t.text.to_string());
                    }
                }
                "vrf" => v.vrf = self.str1(c),
                "virtual_router_id" => {
                    if let Some(t) = self.arg1(c) {
                        vrid_loc = Some(t.loc);
                        match t.text.parse::<i64>() {
                            Ok(n) if (1..=255).contains(&n) => v.virtual_router_id = n as u8,
                            _ => self.d.error(
                                t.loc,
                                format!(
                                    "({}): VRID '{}' not valid - must be between 1 & 255",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                "priority" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.parse::<i64>() {
                            Ok(n) if (1..=255).contains(&n) => priority = Some((n as u8, t.loc)),
                            _ => self.d.error(
                                t.loc,
                                format!(
                                    "({}) Priority '{}' not valid! must be between 1 & 255",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                "advert_int" => {
                    if let Some(t) = self.arg1(c) {
                        match values::parse_secs(&t.text) {
                            Some(us) if us > 0 && us <= 255_000_000 => advert = Some((us, t.loc)),
                            _ => self.d.error(t.loc, format!("({}) Advert interval '{}' not valid - must be between 0.01 and 255 seconds", v.name, t.text)),
                        }
                    }
                }
                "version" => match self.int1(c, 2, 3) {
                    Some(2) => version = Some(VrrpVersion::V2),
                    Some(_) => version = Some(VrrpVersion::V3),
                    None => {}
                },
                "mcast_src_ip" | "unicast_src_ip" => v.src_ip = self.ip1(c),
                "mcast_dst_ip" => {
                    if let Some(a) = self.ip1(c) {
                        if !a.is_multicast() {
                            self.d.error(
                                c.words[1].loc,
                                format!("({}) mcast_dst_ip {a} is not a multicast address", v.name),
                            );
                        }
                        v.mcast_dst_ip = Some(a);
                    }
                }
                "unicast_peer" => {
                    for l in self.value_lines(c) {
                        if let Some(p) = self.unicast_peer(l) {
                            v.unicast_peers.push(p);
                        }
                    }
                }
                "unicast_ttl" => v.unicast_ttl = self.int1(c, 1, 255).unwrap_or(255) as u8,
                "unicast_fault_no_peer" => v.unicast_fault_no_peer = true,
                "check_unicast_src" => v.check_unicast_src = true,
                "old_unicast_checksum" => v.old_unicast_checksum = true,
                "nopreempt" => v.nopreempt = true,
                "preempt" => {
                    self.args(c);
                }
                "preempt_delay" => {
                    if let Some(d) = self.timer1(c, 1000) {
                        v.preempt_delay = d;
                        preempt_delay_loc = Some(c.loc());
                    }
                }
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    for l in self.value_lines(c) {
                        self.vip_dev_refs(l);
                        if let Some(ip) = values::virtual_ip(self.d, kw, l) {
                            if kw == "virtual_ipaddress" {
                                v.virtual_ipaddress.push(ip);
                            } else {
                                v.virtual_ipaddress_excluded.push(ip);
                            }
                        }
                    }
                }
                "no_virtual_ipaddress" => v.no_virtual_ipaddress = true,
                "promote_secondaries" => v.promote_secondaries = true,
                "virtual_routes" => {
                    for l in self.value_lines(c) {
                        self.route_dev_refs(l, "virtual_routes");
                        if let Some(r) = crate::routes::route(self.d, "virtual_routes", l, false) {
                            v.virtual_routes.push(r);
                        }
                    }
                }
                "virtual_rules" => {
                    for l in self.value_lines(c) {
                        if let Some(r) = crate::routes::rule(
                            self.d,
                            "virtual_rules",
                            l,
                            false,
                            &mut self.rule_prio,
                        ) {
                            v.virtual_rules.push(r);
                        }
                    }
                }
                "track_interface" => {
                    for l in c
                        .block
                        .iter()
                        .flat_map(|b| b.children.iter())
                        .filter_map(|n| n.words.first())
                    {
                        self.if_refs.push((
                            l.text.to_string(),
                            format!("track_interface of {}", v.name),
                            l.loc,
                        ));
                    }
                    v.track_interface.extend(self.track_list(c, -TRACK_WEIGHT));
                }
                "dont_track_primary" => v.dont_track_primary = true,
                "track_script" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_refs(c, &l, true);
                    v.track_script.extend(l);
                }
                "track_file" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_refs(c, &l, false);
                    v.track_file.extend(l);
                }
                "track_process" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_process_refs(c, &l);
                    v.track_process.extend(l);
                }
                "track_bfd" => {
                    self.d.error(
                        c.loc(),
                        "track_bfd: BFD is not supported by keepalived-rs (no bfd_instance can exist to track)",
                    );
                    v.track_bfd.extend(self.track_list(c, -TRACK_WEIGHT));
                }
                "notify_master"
                | "notify_backup"
                | "notify_fault"
                | "notify_stop"
                | "notify_deleted"
                | "notify"
                | "notify_master_rx_lower_pri" => {
                    let s = self.script1(c);
                    set_notify(&mut v.notify, kw, s);
                }
                "smtp_alert" => v.smtp_alert = self.bool1(c),
                "notify_priority_changes" => v.notify_priority_changes = self.bool1(c),
                "garp_master_delay" => {
                    v.garp.master_delay = self.timer1(c, 1000).unwrap_or(v.garp.master_delay)
                }
                "garp_master_repeat" => match self.int1(c, 0, 65535) {
                    Some(0) => self.d.warn(
                        c.words[1].loc,
                        format!("({}) garp_master_repeat 0 is invalid - using 1", v.name),
                    ),
                    Some(n) => v.garp.master_repeat = n as u32,
                    None => {}
                },
                "garp_master_refresh" => {
                    v.garp.master_refresh = self.timer1(c, 86400).unwrap_or(v.garp.master_refresh)
                }
                "garp_master_refresh_repeat" => {
                    v.garp.master_refresh_repeat = self
                        .int1(c, 1, 65535)
                        .map(|x| x as u32)
                        .unwrap_or(v.garp.master_refresh_repeat)
                }
                "garp_lower_prio_delay" => {
                    if let Some(d) = self.timer1(c, 1000) {
                        v.garp.lower_prio_delay = d;
                        self.garp_lower_prio_inst.1 = true;
                    }
                }
                "garp_lower_prio_repeat" => {
                    if let Some(r) = self.int1(c, 0, 65535) {
                        v.garp.lower_prio_repeat = r as u32;
                        self.garp_lower_prio_inst.0 = true;
                    }
                }
                "garp_extra_if" => {
                    let a = self.args(c);
                    let all = a.first().is_some_and(|t| t.text == "all");
                    let t = if all { a.get(1) } else { a.first() };
                    match t {
                        Some(t) => v.garp_extra_if = timer(self.d, kw, t, 86400).map(|d| (d, all)),
                        None => self.d.error(c.loc(), "garp_extra_if needs a delay"),
                    }
                }
                "down_timer_adverts" => {
                    v.down_timer_adverts = self
                        .int1(c, 1, 100)
                        .map(|x| x as u8)
                        .unwrap_or(v.down_timer_adverts)
                }
                "timer_expired_backup" => {
                    let a = self.args(c);
                    v.timer_expired_backup = Some(match a.first() {
                        Some(t) => int(self.d, kw, t, 1, 254).unwrap_or(0) as u8,
                        None => 0,
                    });
                }
                "lower_prio_no_advert" => v.lower_prio_no_advert = self.bool1(c).unwrap_or(true),
                "higher_prio_send_advert" => {
                    v.higher_prio_send_advert = self.bool1(c).unwrap_or(true)
                }
                "owner_ignore_adverts" => v.owner_ignore_adverts = self.bool1(c).unwrap_or(true),
                "skip_check_adv_addr" => v.skip_check_adv_addr = self.bool1(c).unwrap_or(true),
                "strict_mode" => v.strict_mode = self.bool1(c).unwrap_or(true),
                "accept" => v.accept = Some(true),
                "no_accept" => v.accept = Some(false),
                "use_vmac" => {
                    let a = self.args(c);
                    let mut m = Vmac {
                        name: None,
                        mac: None,
                        xmit_base: v.use_vmac.as_ref().is_some_and(|x| x.xmit_base),
                    };
                    for t in a {
                        if let Some(mac) = parse_mac(&t.text) {
                            m.mac = Some(mac);
                        } else if t.text.len() >= 16 {
                            self.d.error(
                                t.loc,
                                format!("use_vmac: interface name '{}' too long", t.text),
                            );
                        } else {
                            m.name = Some(t.text.to_string());
                        }
                    }
                    v.use_vmac = Some(m);
                }
                "vmac_xmit_base" => {
                    if let Some(m) = &mut v.use_vmac {
                        m.xmit_base = true;
                    } else {
                        v.use_vmac = Some(Vmac {
                            name: None,
                            mac: None,
                            xmit_base: true,
                        });
                        v.other.push(RawStatement {
                            keyword: "vmac_xmit_base_without_use_vmac".into(),
                            args: vec![],
                        });
                    }
                }
                "native_ipv6" => v.native_ipv6 = true,
                "v3_checksum_as_v2" => v.v3_checksum_as_v2 = self.bool1(c).unwrap_or(true),
                "debug" => v.debug = self.int1(c, 0, 4).unwrap_or(0) as u8,
                "authentication" => {
                    auth_loc = Some(c.loc());
                    v.authentication = self.authentication(c, &v.name);
                }
                "auth_hmac" => {
                    hmac_block = Some((c.loc(), self.auth_hmac_block(c, &v.name)));
                }
                "lvs_sync_daemon_interface" => {
                    if let Some(i) = self.str1(c) {
                        self.d.warn(c.loc(), "'lvs_sync_daemon_interface' is deprecated, use global_defs 'lvs_sync_daemon IFNAME inst INSTANCE' instead");
                        self.lvs_sync_if_from_instance = Some((i, v.name.clone()));
                    }
                }
                _ => self.raw(c, kw, &mut v.other),
            }
        }
        let name_loc = name.loc;
        // Defaults that depend on other keywords (vrrp/vrrp.c:3302-3312).
        match (state, priority) {
            (Some((st, _)), Some((p, _))) => {
                v.state = st;
                v.priority = p;
            }
            (Some((InitialState::Master, _)), None) => {
                v.state = InitialState::Master;
                v.priority = 255;
            }
            (Some((st, _)), None) => v.state = st,
            (None, Some((p, _))) => {
                v.priority = p;
                v.state = if p == 255 {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
            }
            (None, None) => {}
        }
        if v.virtual_router_id == 0 && vrid_loc.is_none() {
            self.d.error(
                name_loc,
                format!("({}) virtual_router_id is required (1..255)", v.name),
            );
        }
        // Family from the VIPs, else from the addresses used to talk.
        let fam_src = v
            .virtual_ipaddress
            .first()
            .map(|a| a.addr)
            .or(v.src_ip)
            .or(v.unicast_peers.first().map(|p| p.addr))
            .or(v.virtual_ipaddress_excluded.first().map(|a| a.addr));
        v.family = fam_src.map(|a| Family::of(&a)).unwrap_or(Family::Inet);
        let fam = v.family;
        let before = v.virtual_ipaddress.len();
        v.virtual_ipaddress.retain(|a| Family::of(&a.addr) == fam);
        if v.virtual_ipaddress.len() != before {
            self.d.warn(name_loc, format!("({}) virtual_ipaddress: addresses of the other family ignored (address family must match VRRP instance)", v.name));
        }
        for p in &v.unicast_peers {
            if Family::of(&p.addr) != fam {
                self.d.error(
                    name_loc,
                    format!(
                        "({}) unicast_peer {} is not of the instance's address family",
                        v.name, p.addr
                    ),
                );
            }
        }
        if v.virtual_ipaddress.is_empty() && !v.no_virtual_ipaddress {
            if v.strict_mode {
                self.d.error(
                    name_loc,
                    format!("({}) No VIP specified; at least one is required", v.name),
                );
            } else {
                self.d.warn(
                    name_loc,
                    format!("({}) No VIP specified; at least one is sensible", v.name),
                );
            }
        }
        v.version = match version {
            Some(x) => x,
            None if fam == Family::Inet6 => VrrpVersion::V3,
            None => v.version,
        };
        if fam == Family::Inet6 && v.version == VrrpVersion::V2 {
            self.d.warn(
                name_loc,
                format!(
                    "({}) cannot use IPv6 with VRRP version 2; setting version 3",
                    v.name
                ),
            );
            v.version = VrrpVersion::V3;
        }
        if let Some((us, loc)) = advert {
            match v.version {
                VrrpVersion::V2 => {
                    let secs = (us + 500_000) / 1_000_000;
                    let secs = secs.clamp(1, 255);
                    if secs * 1_000_000 != us {
                        self.d.warn(loc, format!("({}) Version 2 advertisement interval must be whole seconds - rounded to {secs}", v.name));
                    }
                    v.advert_int = Centis(secs as u32 * 100);
                }
                VrrpVersion::V3 => {
                    let cs = (us + 5_000) / 10_000;
                    if cs > 4095 {
                        self.d.error(loc, format!("({}) Advert interval must be between 0.01 and 40.95 seconds for version 3", v.name));
                    } else {
                        if cs * 10_000 != us {
                            self.d.warn(loc, format!("({}) Advert interval rounded to {}.{:02} seconds (10 ms resolution)", v.name, cs / 100, cs % 100));
                        }
                        v.advert_int = Centis(cs.max(1) as u32);
                    }
                }
            }
        }
        if let Some(a) = &v.authentication {
            if v.version == VrrpVersion::V3 {
                self.d.warn(
                    auth_loc.unwrap_or(name_loc),
                    format!(
                        "({}) authentication is not supported with VRRP version 3 - ignoring",
                        v.name
                    ),
                );
                v.authentication = None;
            } else if v.strict_mode {
                self.d.warn(
                    auth_loc.unwrap_or(name_loc),
                    format!(
                        "({}) strict mode does not support authentication. Ignoring.",
                        v.name
                    ),
                );
                v.authentication = None;
            } else if a.auth_type == AuthType::Ah && fam == Family::Inet6 {
                self.d.warn(
                    auth_loc.unwrap_or(name_loc),
                    format!(
                        "({}) AH authentication is not supported for IPv6 - ignoring",
                        v.name
                    ),
                );
                v.authentication = None;
            }
        }
        if let Some((loc, b)) = hmac_block.take() {
            v.auth_hmac =
                crate::auth::resolve(self.d, b, &v.name, loc, v.advert_int, v.strict_mode);
            if v.auth_hmac.is_some() && v.authentication.is_some() {
                self.d.warn(
                    auth_loc.unwrap_or(loc),
                    format!(
                        "({}) auth_hmac cannot be combined with authentication, dropping legacy auth",
                        v.name
                    ),
                );
                v.authentication = None;
            }
        }
        if v.preempt_delay > Micros::ZERO {
            let why = if v.nopreempt {
                Some("nopreempt")
            } else if v.state == InitialState::Master && v.priority != 255 {
                Some("state MASTER")
            } else if v.strict_mode {
                Some("strict mode")
            } else {
                None
            };
            if let Some(why) = why {
                self.d.warn(
                    preempt_delay_loc.unwrap_or(name_loc),
                    format!(
                        "({}) preempt_delay is incompatible with {why} - resetting",
                        v.name
                    ),
                );
                v.preempt_delay = Micros::ZERO;
            }
        }
        self.instance_consistency(&mut v, name_loc);
        if v.nopreempt && v.priority == 255 {
            self.d.warn(
                name_loc,
                format!(
                    "({}) nopreempt is incompatible with priority 255 - resetting",
                    v.name
                ),
            );
            v.nopreempt = false;
        }
        if v.timer_expired_backup.is_some() && !v.nopreempt {
            self.d.warn(
                name_loc,
                format!(
                    "({}) timer_expired_backup requires nopreempt - ignoring",
                    v.name
                ),
            );
            v.timer_expired_backup = None;
        }
        self.locs
            .instances
            .push((name_loc, vrid_loc.unwrap_or(name_loc)));
        self.cfg.vrrp_instances.push(v);
    }

    /// keepalived's start-up fixes (vrrp/vrrp.c vrrp_complete_instance): each
    /// a warning, the value it would use is what the model carries.
    fn instance_consistency(&mut self, v: &mut VrrpInstance, loc: Loc) {
        let owner = v.priority == 255;
        let name = v.name.clone();
        let warn = |d: &mut Diags, msg: &str| d.warn(loc, format!("({name}) {msg}"));
        if v.authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == AuthType::Ah)
            && v.state == InitialState::Master
            && !owner
        {
            warn(
                self.d,
                "Initial state master is incompatible with AH authentication - clearing",
            );
            v.state = InitialState::Backup;
        }
        if let Some(ifn) = v.interface.clone() {
            let before = v.track_interface.len();
            v.track_interface.retain(|t| t.name != ifn);
            if v.track_interface.len() != before {
                warn(
                    self.d,
                    &format!("Ignoring track_interface {ifn} since own interface"),
                );
            }
        }
        // Unset lower-priority GARP settings follow the master ones, as in
        // keepalived (an unset value is PARAMETER_UNSET until
        // vrrp_complete_init); strict mode zeroes them below.
        let (rep_set, delay_set) = self.garp_lower_prio_inst;
        if !rep_set {
            v.garp.lower_prio_repeat = v.garp.master_repeat;
        }
        if !delay_set {
            v.garp.lower_prio_delay = v.garp.master_delay;
        }
        if v.strict_mode {
            if (v.state == InitialState::Master) != owner {
                warn(self.d, "State MASTER must match being address owner");
                v.state = if owner {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
            }
            let (rep_set, delay_set) = self.garp_lower_prio_inst;
            if (rep_set && v.garp.lower_prio_repeat != 0)
                || (delay_set && v.garp.lower_prio_delay != Micros::ZERO)
            {
                warn(self.d, "Strict mode requires no repeat garps. resetting");
            }
            v.garp.lower_prio_repeat = 0;
            v.garp.lower_prio_delay = Micros::ZERO;
            if v.higher_prio_send_advert {
                warn(
                    self.d,
                    "strict mode requires higher_prio_send_advert to be clear. resetting",
                );
                v.higher_prio_send_advert = false;
            }
            if v.down_timer_adverts != 3 {
                warn(
                    self.d,
                    "strict mode requires down_timer_adverts 3. resetting",
                );
                v.down_timer_adverts = 3;
            }
            if v.accept == Some(true) && v.version == VrrpVersion::V2 && !owner {
                warn(
                    self.d,
                    "accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
                );
                v.accept = Some(false);
            }
            if v.use_vmac.as_ref().is_some_and(|m| m.xmit_base) {
                warn(
                    self.d,
                    "strict mode does not support vmac_xmit_base - resetting",
                );
                if let Some(m) = &mut v.use_vmac {
                    m.xmit_base = false;
                }
            }
            if v.use_vmac.as_ref().is_some_and(|m| m.mac.is_some()) {
                warn(
                    self.d,
                    "strict mode does not allow a custom VMAC address - using the RFC one",
                );
                if let Some(m) = &mut v.use_vmac {
                    m.mac = None;
                }
            }
            v.lower_prio_no_advert = true;
            if owner {
                v.owner_ignore_adverts = true;
            }
            if !v.unicast_peers.is_empty() {
                // vrrp/vrrp.c:2958: refused when the interface supports
                // multicast (known only at run time; the daemon enforces it).
                warn(
                    self.d,
                    "Unicast peers are not supported in strict mode (the instance is refused if its interface supports multicast)",
                );
            }
        }
        // The trap keepalived users fall into (ka#2339): say plainly that the
        // VIPs will drop traffic.
        if v.needs_vip_firewall() {
            if let Some(first) = v.virtual_ipaddress.first() {
                let more = match v.virtual_ipaddress.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                let why = if v.accept == Some(false) {
                    "'no_accept' is set"
                } else {
                    "'accept' is not set under vrrp_strict/strict_mode"
                };
                let fix = if v.strict_mode && v.version == VrrpVersion::V2 {
                    "; VRRPv2 strict mode cannot use accept - use version 3 with 'accept', or drop vrrp_strict"
                } else {
                    "; add 'accept' to the instance to reach them"
                };
                warn(
                    self.d,
                    &format!(
                        "VIP {}{more} will not accept traffic when MASTER: priority {} < 255 and {why} - keepalived drops packets to it (nftables table keepalived){fix}",
                        first.addr, v.priority
                    ),
                );
            }
        }
    }

    fn note_refs(&mut self, c: &Node, l: &[TrackRef], script: bool) {
        for (r, line) in l.iter().zip(
            c.block
                .iter()
                .flat_map(|b| b.children.iter())
                .filter(|n| !n.words.is_empty()),
        ) {
            let item = (r.name.clone(), line.loc());
            if script {
                self.locs.script_refs.push(item);
            } else {
                self.locs.track_file_refs.push(item);
            }
        }
    }

    fn note_process_refs(&mut self, c: &Node, l: &[TrackRef]) {
        for (r, line) in l.iter().zip(
            c.block
                .iter()
                .flat_map(|b| b.children.iter())
                .filter(|n| !n.words.is_empty()),
        ) {
            self.locs.process_refs.push((r.name.clone(), line.loc()));
        }
    }

    fn unicast_peer(&mut self, l: &[Token]) -> Option<UnicastPeer> {
        let addr = ip(self.d, "unicast_peer", &l[0])?;
        let mut p = UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        };
        let mut i = 1;
        while i < l.len() {
            let Some(v) = l.get(i + 1) else {
                self.d.error(
                    l[i].loc,
                    format!("unicast_peer: '{}' needs a value", l[i].text),
                );
                return None;
            };
            match l[i].text.as_str() {
                "min_ttl" => p.min_ttl = int(self.d, "min_ttl", v, 0, 255)? as u8,
                "max_ttl" => p.max_ttl = int(self.d, "max_ttl", v, 0, 255)? as u8,
                o => {
                    self.d.error(
                        l[i].loc,
                        format!("unicast_peer: unknown option '{o}' (expected min_ttl or max_ttl)"),
                    );
                    return None;
                }
            }
            i += 2;
        }
        Some(p)
    }

    fn auth_hmac_block(&mut self, node: &Node, inst: &str) -> crate::auth::Block {
        use crate::auth::{decode_key, KEY_MAX, KEY_MIN};
        let mut b = crate::auth::Block::default();
        let Some(children) = self.block(node) else {
            return b;
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "auth_hmac", &AUTH_HMAC) else {
                continue;
            };
            let a = self.args(c);
            match kw {
                "key" => {
                    let (Some(id), Some(val)) = (a.first(), a.get(1)) else {
                        self.d.error(
                            c.loc(),
                            format!("({inst}) auth_hmac key needs an id and a value"),
                        );
                        continue;
                    };
                    let id_ok = id.text.parse::<u8>().ok().filter(|v| *v >= 1);
                    let Some(idv) = id_ok else {
                        self.d.error(
                            id.loc,
                            format!(
                                "({inst}) auth_hmac key id '{}' must be between 1 and 255",
                                id.text
                            ),
                        );
                        continue;
                    };
                    let value = if let Some(p) = val.text.strip_prefix("file:") {
                        self.key_files
                            .push((inst.to_string(), idv, p.into(), val.loc));
                        HmacKeyValue::File(p.into())
                    } else {
                        match decode_key(&val.text) {
                            Some(k) if (KEY_MIN..=KEY_MAX).contains(&k.len()) => {
                                HmacKeyValue::Inline(k)
                            }
                            Some(k) => {
                                self.d.error(
                                    val.loc,
                                    format!(
                                        "({inst}) auth_hmac key {idv} length {} not in range [{KEY_MIN}, {KEY_MAX}]",
                                        k.len()
                                    ),
                                );
                                continue;
                            }
                            None => {
                                self.d.error(
                                    val.loc,
                                    format!("({inst}) auth_hmac key {idv}: invalid hex value"),
                                );
                                continue;
                            }
                        }
                    };
                    if b.keys.iter().any(|(k, _)| k.id == idv) {
                        self.d
                            .error(id.loc, format!("({inst}) duplicate auth_hmac key id {idv}"));
                        continue;
                    }
                    b.keys.push((HmacKey { id: idv, value }, id.loc));
                }
                "active_key" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.parse::<u8>().ok().filter(|v| *v >= 1) {
                            Some(v) => b.active_key = Some((v, t.loc)),
                            None => self.d.error(
                                t.loc,
                                format!(
                                    "({inst}) auth_hmac active_key '{}' must be between 1 and 255",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "time_window" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.parse::<u32>().ok().filter(|v| (1..=300).contains(v)) {
                            Some(v) => b.time_window = Some(v),
                            None => self.d.error(
                                t.loc,
                                format!(
                                    "({inst}) auth_hmac time_window '{}' must be between 1 and 300 seconds",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "anti_replay" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.as_str() {
                            "time" => b.anti_replay_time = Some(true),
                            "monotonic" => b.anti_replay_time = Some(false),
                            s => self.d.error(
                                t.loc,
                                format!(
                                    "({inst}) auth_hmac anti_replay '{s}' must be time or monotonic"
                                ),
                            ),
                        }
                    }
                }
                "mode" => {
                    if let Some(t) = self.arg1(c) {
                        let m = match t.text.as_str() {
                            "enforce" => Some(HmacMode::Enforce),
                            "permissive" => Some(HmacMode::Permissive),
                            "receive-only" => Some(HmacMode::ReceiveOnly),
                            s => {
                                self.d.error(
                                    t.loc,
                                    format!("({inst}) auth_hmac mode '{s}' must be enforce, permissive or receive-only"),
                                );
                                None
                            }
                        };
                        if let Some(m) = m {
                            b.mode = Some((m, t.loc));
                        }
                    }
                }
                _ => {}
            }
        }
        b
    }

    fn authentication(&mut self, node: &Node, inst: &str) -> Option<Authentication> {
        let children = self.block(node)?;
        let mut ty = None;
        let mut pass = None;
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "authentication", &AUTHENTICATION) else {
                continue;
            };
            match kw {
                "auth_type" => {
                    if let Some(t) = self.arg1(c) {
                        ty = match t.text.as_str() {
                            "PASS" => Some(AuthType::Pass),
                            "AH" => Some(AuthType::Ah),
                            s => {
                                let hint = if s.eq_ignore_ascii_case("pass")
                                    || s.eq_ignore_ascii_case("ah")
                                {
                                    format!(
                                        " (case-sensitive: did you mean '{}'?)",
                                        s.to_ascii_uppercase()
                                    )
                                } else {
                                    String::new()
                                };
                                self.d.error(t.loc, format!("({inst}) unknown authentication type '{s}' - must be PASS or AH{hint}"));
                                None
                            }
                        }
                    }
                }
                "auth_pass" => {
                    if let Some(t) = self.arg1(c) {
                        let mut p = t.text.to_string();
                        if p.len() > 8 {
                            let mut cut = 8;
                            while !p.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            p.truncate(cut);
                            self.d.warn(
                                t.loc,
                                format!("({inst}) Truncating auth_pass to 8 characters: '{}' is {} long, '{p}' will be used", t.text, t.text.len()),
                            );
                        }
                        pass = Some(p);
                    }
                }
                _ => {}
            }
        }
        match (ty, pass) {
            (Some(auth_type), Some(auth_pass)) => Some(Authentication {
                auth_type,
                auth_pass,
            }),
            (Some(auth_type), None) => {
                self.d.warn(
                    node.loc(),
                    format!("({inst}) authentication has no auth_pass - using an empty password"),
                );
                Some(Authentication {
                    auth_type,
                    auth_pass: String::new(),
                })
            }
            (None, Some(_)) => {
                self.d.warn(
                    node.loc(),
                    format!("({inst}) authentication has auth_pass but no auth_type - ignored"),
                );
                None
            }
            (None, None) => None,
        }
    }

    // ----- vrrp_sync_group -------------------------------------------------------

    fn sync_group(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        let mut g = VrrpSyncGroup {
            name: name.text.to_string(),
            group: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            notify: NotifyScripts::default(),
            smtp_alert: None,
            notify_priority_changes: None,
            sync_group_tracking_weight: false,
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "vrrp_sync_group", &SYNC_GROUP) else {
                continue;
            };
            match kw {
                "group" => {
                    for l in self.value_lines(c) {
                        for t in l {
                            self.locs.sync_refs.push((t.text.to_string(), t.loc));
                            g.group.push(t.text.to_string());
                        }
                    }
                }
                "track_interface" => g.track_interface.extend(self.track_list(c, -TRACK_WEIGHT)),
                "track_script" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_refs(c, &l, true);
                    g.track_script.extend(l);
                }
                "track_file" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_refs(c, &l, false);
                    g.track_file.extend(l);
                }
                "track_process" => {
                    let l = self.track_list(c, -TRACK_WEIGHT);
                    self.note_process_refs(c, &l);
                    g.track_process.extend(l);
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    let s = self.script1(c);
                    set_notify(&mut g.notify, kw, s);
                }
                "smtp_alert" => g.smtp_alert = self.bool1(c),
                "notify_priority_changes" => g.notify_priority_changes = self.bool1(c),
                "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
                "global_tracking" => {
                    self.d.warn(c.loc(), "'global_tracking' is deprecated, use track_interface/track_script/track_file on the vrrp_sync_group instead");
                }
                _ => {}
            }
        }
        if g.group.is_empty() {
            self.d.error(
                name.loc,
                format!("vrrp_sync_group {} has no 'group' members", g.name),
            );
        }
        self.cfg.vrrp_sync_groups.push(g);
    }

    // ----- virtual servers -----------------------------------------------------

    fn vs_group(&mut self, node: &Node) {
        let Some((name, children)) = self.named_block(node) else {
            return;
        };
        let mut g = VirtualServerGroup {
            name: name.text.to_string(),
            entries: Vec::new(),
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            if let Some(b) = &c.block {
                self.d
                    .error(b.open, "Unexpected '{' inside virtual_server_group");
            }
            if let Some(e) = self.vsg_entry(&c.words) {
                g.entries.push(e);
            }
        }
        if self
            .cfg
            .virtual_server_groups
            .iter()
            .any(|x| x.name == g.name)
        {
            self.d.error(
                name.loc,
                format!("virtual_server_group {} is defined twice", g.name),
            );
            return;
        }
        self.cfg.virtual_server_groups.push(g);
    }

    fn vsg_entry(&mut self, w: &[Token]) -> Option<VsgEntry> {
        if w[0].text == "fwmark" {
            let Some(m) = w.get(1) else {
                self.d
                    .error(w[0].loc, "virtual_server_group: fwmark needs a value");
                return None;
            };
            let mark = int(self.d, "fwmark", m, 1, u32::MAX as i64)? as u32;
            let family = match w.get(2).map(|t| t.text.as_str()) {
                None => None,
                Some("inet") => Some(Family::Inet),
                Some("inet6") => Some(Family::Inet6),
                Some(o) => {
                    self.d.error(
                        w[2].loc,
                        format!("virtual_server_group: unknown family '{o}' (inet or inet6)"),
                    );
                    return None;
                }
            };
            return Some(VsgEntry::Fwmark { mark, family });
        }
        let t = &w[0];
        let Some(p) = w.get(1) else {
            self.d.error(
                t.loc,
                format!("virtual_server_group: '{}' needs a port", t.text),
            );
            return None;
        };
        let port = port(self.d, "virtual_server_group", p)?;
        let (first, last) = if let Some((a, pfx)) = t.text.split_once('/') {
            let (addr, len) = values::addr_prefix(self.d, "virtual_server_group", t)?;
            let _ = (a, pfx);
            range_of_prefix(addr, len)
        } else if let Some((a, b)) = t.text.split_once('-') {
            let first: IpAddr = match a.parse() {
                Ok(x) => x,
                Err(_) => {
                    self.d.error(
                        t.loc,
                        format!("virtual_server_group: invalid address '{a}'"),
                    );
                    return None;
                }
            };
            let last = match (first, b.parse::<IpAddr>()) {
                (_, Ok(l)) if l.is_ipv4() == first.is_ipv4() => l,
                (IpAddr::V4(f), Err(_)) => match b.parse::<u8>() {
                    Ok(o) => {
                        let mut oc = f.octets();
                        oc[3] = o;
                        IpAddr::V4(oc.into())
                    }
                    Err(_) => {
                        self.d.error(
                            t.loc,
                            format!("virtual_server_group: invalid range '{}'", t.text),
                        );
                        return None;
                    }
                },
                (IpAddr::V6(f), Err(_)) => match u16::from_str_radix(b, 16) {
                    Ok(o) => {
                        let mut s = f.segments();
                        s[7] = o;
                        IpAddr::V6(s.into())
                    }
                    Err(_) => {
                        self.d.error(
                            t.loc,
                            format!("virtual_server_group: invalid range '{}'", t.text),
                        );
                        return None;
                    }
                },
                _ => {
                    self.d.error(
                        t.loc,
                        format!("virtual_server_group: invalid range '{}'", t.text),
                    );
                    return None;
                }
            };
            if last < first {
                self.d.error(
                    t.loc,
                    format!(
                        "virtual_server_group: range '{}' ends before it starts",
                        t.text
                    ),
                );
                return None;
            }
            (first, last)
        } else {
            let a = ip(self.d, "virtual_server_group", t)?;
            (a, a)
        };
        Some(VsgEntry::Range { first, last, port })
    }

    fn virtual_server(&mut self, node: &Node) {
        let Some(children) = self.block(node) else {
            return;
        };
        let w = &node.words;
        let key = match (w.get(1), w.get(2)) {
            (Some(k), Some(n)) if k.text == "fwmark" => {
                match int(self.d, "virtual_server fwmark", n, 1, u32::MAX as i64) {
                    Some(m) => VsKey::Fwmark(m as u32),
                    None => return,
                }
            }
            (Some(k), Some(n)) if k.text == "group" => {
                self.locs.vsg_refs.push((n.text.to_string(), n.loc));
                VsKey::Group(n.text.to_string())
            }
            (Some(a), Some(p)) => {
                let (Some(addr), Some(port)) = (
                    ip(self.d, "virtual_server", a),
                    port(self.d, "virtual_server", p),
                ) else {
                    return;
                };
                VsKey::Addr { addr, port }
            }
            (Some(a), None) if a.text.parse::<IpAddr>().is_ok() => {
                self.d.error(
                    a.loc,
                    format!(
                        "virtual_server {}: missing port (expected 'virtual_server IP PORT')",
                        a.text
                    ),
                );
                return;
            }
            _ => {
                self.d.error(
                    node.loc(),
                    "virtual_server: expected 'IP PORT', 'fwmark N' or 'group NAME'",
                );
                return;
            }
        };
        let vs_name = vs_display(&key);
        let mut vs = VirtualServer {
            family: match &key {
                VsKey::Addr { addr, .. } => Some(Family::of(addr)),
                _ => None,
            },
            key,
            delay_loop: Micros::from_secs(60),
            lb_algo: LbAlgo::Wlc,
            lb_kind: LbKind::Nat,
            protocol: Protocol::Udp,
            hashed: false,
            ops: false,
            sched_flag_1: false,
            sched_flag_2: false,
            sched_flag_3: false,
            persistence_engine: None,
            persistence_timeout: None,
            persistence_granularity: None,
            ha_suspend: false,
            smtp_alert: None,
            virtualhost: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: None,
            sorry_server: None,
            inhibit_on_failure: false,
            snmp_name: None,
            real_servers: Vec::new(),
            other: Vec::new(),
        };
        let mut inh = Inherit::default();
        let (mut algo_set, mut kind_set, mut proto_set) = (false, false, false);
        let mut quorum_loc = None;
        let mut sorry_kind = None;
        let mut sorry_inhibit = false;
        let mut rs_nodes = Vec::with_capacity(children.len());
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "virtual_server", &VIRTUAL_SERVER) else {
                continue;
            };
            match kw {
                "ip_family" => match self.str1(c).as_deref() {
                    Some("inet") => vs.family = Some(Family::Inet),
                    Some("inet6") => vs.family = Some(Family::Inet6),
                    Some(o) => self.d.error(
                        c.words[1].loc,
                        format!("ip_family: unknown '{o}' (inet or inet6)"),
                    ),
                    None => {}
                },
                "delay_loop" => {
                    if let Some(v) = self.timer1(c, 86400) {
                        vs.delay_loop = v;
                        inh.delay_loop = Some(v);
                    }
                }
                "lb_algo" | "lvs_sched" => {
                    if let Some(t) = self.arg1(c) {
                        match lb_algo(&t.text) {
                            Some(a) => {
                                vs.lb_algo = a;
                                algo_set = true;
                            }
                            None => self.d.error(t.loc, format!("{kw}: unknown scheduler '{}' (rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf twos)", t.text)),
                        }
                    }
                }
                "lb_kind" | "lvs_method" => {
                    let a = self.args(c);
                    if let Some(k) = self.lb_kind(kw, c.loc(), a) {
                        vs.lb_kind = k;
                        kind_set = true;
                    }
                }
                "hashed" => vs.hashed = true,
                "ops" => vs.ops = true,
                "flag-1" | "sh-fallback" | "mh-fallback" => vs.sched_flag_1 = true,
                "flag-2" | "sh-port" | "mh-port" => vs.sched_flag_2 = true,
                "flag-3" => vs.sched_flag_3 = true,
                "persistence_engine" => vs.persistence_engine = self.str1(c),
                "persistence_timeout" => {
                    let a = self.args(c);
                    vs.persistence_timeout = match a.first() {
                        None => Some(360),
                        Some(t) => int(self.d, kw, t, 1, 31 * 24 * 3600).map(|v| v as u32),
                    };
                }
                "persistence_granularity" => {
                    if let Some(t) = self.arg1(c) {
                        vs.persistence_granularity = match (
                            t.text.parse::<std::net::Ipv4Addr>(),
                            t.text.parse::<u8>(),
                        ) {
                            (Ok(m), _) => Some(Granularity::Mask(m)),
                            (_, Ok(p)) if p <= 128 => Some(Granularity::Prefix(p)),
                            _ => {
                                self.d.error(t.loc, format!("persistence_granularity: invalid '{}' (netmask or prefix length)", t.text));
                                None
                            }
                        };
                    }
                }
                "protocol" => {
                    if let Some(t) = self.arg1(c) {
                        match t.text.to_ascii_uppercase().as_str() {
                            "TCP" => vs.protocol = Protocol::Tcp,
                            "UDP" => vs.protocol = Protocol::Udp,
                            "SCTP" => vs.protocol = Protocol::Sctp,
                            _ => self.d.error(
                                t.loc,
                                format!("protocol: unknown '{}' (TCP, UDP or SCTP)", t.text),
                            ),
                        }
                        proto_set = true;
                    }
                }
                "ha_suspend" => vs.ha_suspend = true,
                "smtp_alert" => vs.smtp_alert = self.bool1(c),
                "virtualhost" => vs.virtualhost = self.str1(c),
                "alpha" => {
                    vs.alpha = self.bool1(c).unwrap_or(true);
                    inh.alpha = Some(vs.alpha);
                }
                "omega" => vs.omega = self.bool1(c).unwrap_or(true),
                "quorum" => {
                    quorum_loc = Some(c.loc());
                    vs.quorum = self
                        .int1(c, 1, u32::MAX as i64)
                        .map(|v| v as u32)
                        .unwrap_or(1);
                }
                "hysteresis" => {
                    vs.hysteresis = self
                        .int1(c, 0, u32::MAX as i64)
                        .map(|v| v as u32)
                        .unwrap_or(0)
                }
                "quorum_up" => vs.quorum_up = self.script1(c),
                "quorum_down" => vs.quorum_down = self.script1(c),
                "weight" => vs.weight = self.int1(c, 0, 65535).map(|v| v as u32),
                "sorry_server" => {
                    let a = self.args(c);
                    match (a.first(), a.get(1)) {
                        (Some(x), Some(p)) => {
                            if let (Some(addr), Some(port)) =
                                (ip(self.d, kw, x), port(self.d, kw, p))
                            {
                                vs.sorry_server = Some(SorryServer {
                                    addr,
                                    port,
                                    lb_kind: None,
                                    inhibit: false,
                                });
                            }
                        }
                        _ => self
                            .d
                            .error(c.loc(), "sorry_server: expected 'sorry_server IP PORT'"),
                    }
                }
                "sorry_server_inhibit" => sorry_inhibit = self.bool1(c).unwrap_or(true),
                "sorry_server_lvs_method" => {
                    let a = self.args(c);
                    sorry_kind = self.lb_kind(kw, c.loc(), a);
                }
                "inhibit_on_failure" => vs.inhibit_on_failure = self.bool1(c).unwrap_or(true),
                "retry" => inh.retry = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => inh.delay_before_retry = self.timer1(c, 86400),
                "warmup" => inh.warmup = self.timer1(c, 86400),
                "connect_timeout" => inh.connect_timeout = self.timer1(c, 86400),
                "snmp_name" => vs.snmp_name = self.str1(c),
                "real_server" => rs_nodes.push(c),
                _ => self.raw(c, kw, &mut vs.other),
            }
        }
        if let Some(s) = &mut vs.sorry_server {
            s.lb_kind = sorry_kind;
            s.inhibit = sorry_inhibit;
        }
        // Defaults that keepalived fills in with a warning (check/check_data.c:1090-1110).
        let loc = node.loc();
        if !proto_set && matches!(vs.key, VsKey::Addr { .. }) {
            self.d.warn(
                loc,
                format!("Virtual server {vs_name}: no protocol set - defaulting to UDP"),
            );
        }
        if !algo_set {
            self.d.warn(
                loc,
                format!("Virtual server {vs_name}: no scheduler set, setting default 'wlc'"),
            );
        }
        if !kind_set {
            self.d.warn(
                loc,
                format!("Virtual server {vs_name}: no forwarding method set, setting default NAT"),
            );
        }
        vs.real_servers.reserve_exact(rs_nodes.len());
        for c in rs_nodes {
            if let Some(rs) = self.real_server(c, &vs, &inh) {
                vs.real_servers.push(rs);
            }
        }
        let total: u64 = vs.real_servers.iter().map(|r| r.weight as u64).sum();
        if !vs.real_servers.is_empty() && vs.quorum as u64 > total {
            self.d.warn(quorum_loc.unwrap_or(loc), format!("Virtual server {vs_name}: quorum {} exceeds the total real server weight {total} - reducing", vs.quorum));
            vs.quorum = total.max(1) as u32;
        }
        if vs.hysteresis >= vs.quorum && vs.hysteresis > 0 {
            self.d.warn(
                loc,
                format!(
                    "Virtual server {vs_name}: hysteresis {} >= quorum {} - setting it to {}",
                    vs.hysteresis,
                    vs.quorum,
                    vs.quorum - 1
                ),
            );
            vs.hysteresis = vs.quorum - 1;
        }
        if vs.real_servers.is_empty() {
            // keepalived 2.2.7 drops such a service, sorry_server or not.
            self.d.warn(
                loc,
                format!("Virtual server {vs_name} has no real servers - ignoring"),
            );
            return;
        }
        self.cfg.virtual_servers.push(vs);
    }

    fn lb_kind(&mut self, kw: &str, loc: Loc, a: &[Token]) -> Option<LbKind> {
        let Some(t) = a.first() else {
            self.d
                .error(loc, format!("'{kw}' is missing its parameter"));
            return None;
        };
        match t.text.to_ascii_uppercase().as_str() {
            "NAT" => Some(LbKind::Nat),
            "DR" => Some(LbKind::Dr),
            "TUN" => {
                let mut ty = TunnelType::Ipip;
                let mut i = 1;
                while i < a.len() {
                    match a[i].text.as_str() {
                        "type" => {
                            match a.get(i + 1).map(|t| t.text.as_str()) {
                                Some("ipip") => ty = TunnelType::Ipip,
                                Some("gre") => ty = TunnelType::Gre,
                                Some("gue") => ty = TunnelType::Gue { port: 0 },
                                _ => {
                                    self.d.error(
                                        a[i].loc,
                                        format!("{kw}: tunnel type must be ipip, gue or gre"),
                                    );
                                    return None;
                                }
                            }
                            i += 2;
                        }
                        "port" => {
                            let p = a.get(i + 1).and_then(|t| port(self.d, kw, t));
                            if let (TunnelType::Gue { port }, Some(x)) = (&mut ty, p) {
                                *port = x;
                            }
                            i += 2;
                        }
                        "nocsum" | "csum" | "remcsum" => i += 1,
                        o => {
                            self.d
                                .error(a[i].loc, format!("{kw}: unknown tunnel option '{o}'"));
                            return None;
                        }
                    }
                }
                if ty == (TunnelType::Gue { port: 0 }) {
                    self.d
                        .error(t.loc, format!("{kw}: gue tunnels need a port"));
                    return None;
                }
                Some(LbKind::Tun(ty))
            }
            _ => {
                self.d.error(
                    t.loc,
                    format!(
                        "{kw}: unknown forwarding method '{}' (NAT, DR or TUN)",
                        t.text
                    ),
                );
                None
            }
        }
    }

    fn real_server(
        &mut self,
        node: &Node,
        vs: &VirtualServer,
        vs_inh: &Inherit,
    ) -> Option<RealServer> {
        let children = self.block(node)?;
        let w = &node.words;
        let Some(a) = w.get(1) else {
            self.d
                .error(node.loc(), "real_server: expected 'real_server IP PORT'");
            return None;
        };
        let addr = ip(self.d, "real_server", a)?;
        let port = match w.get(2) {
            Some(p) => port(self.d, "real_server", p)?,
            None => match &vs.key {
                // A fwmark service has no port; keepalived allows omitting it.
                VsKey::Fwmark(_) => 0,
                _ => {
                    self.d.error(
                        a.loc,
                        format!(
                            "real_server {}: missing port (expected 'real_server IP PORT')",
                            a.text
                        ),
                    );
                    return None;
                }
            },
        };
        if let Some(f) = vs.family {
            if f != Family::of(&addr) && vs.lb_kind != LbKind::Tun(TunnelType::Ipip) {
                self.d.error(
                    a.loc,
                    format!("real_server {addr}: address family does not match the virtual server"),
                );
                return None;
            }
        }
        let mut rs = RealServer {
            addr,
            port,
            weight: vs.weight.unwrap_or(1),
            lb_kind: None,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: vs.inhibit_on_failure,
            notify_up: None,
            notify_down: None,
            alpha: vs.alpha,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
        };
        let mut inh = vs_inh.clone();
        let mut checker_nodes = Vec::with_capacity(children.len());
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "real_server", &REAL_SERVER) else {
                continue;
            };
            match kw {
                "weight" => {
                    rs.weight = self
                        .int1(c, 0, i32::MAX as i64)
                        .map(|v| v as u32)
                        .unwrap_or(rs.weight)
                }
                "lvs_method" | "lb_kind" => {
                    let a = self.args(c);
                    rs.lb_kind = self.lb_kind(kw, c.loc(), a);
                }
                "uthreshold" => rs.uthreshold = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "lthreshold" => rs.lthreshold = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "inhibit_on_failure" => rs.inhibit_on_failure = self.bool1(c).unwrap_or(true),
                "notify_up" => rs.notify_up = self.script1(c),
                "notify_down" => rs.notify_down = self.script1(c),
                "alpha" => {
                    rs.alpha = self.bool1(c).unwrap_or(true);
                    inh.alpha = Some(rs.alpha);
                }
                "retry" => inh.retry = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => inh.delay_before_retry = self.timer1(c, 86400),
                "warmup" => inh.warmup = self.timer1(c, 86400),
                "connect_timeout" => inh.connect_timeout = self.timer1(c, 86400),
                "delay_loop" => inh.delay_loop = self.timer1(c, 86400),
                "smtp_alert" => rs.smtp_alert = self.bool1(c),
                "virtualhost" => rs.virtualhost = self.str1(c),
                "snmp_name" => rs.snmp_name = self.str1(c),
                "BFD_CHECK" => {
                    self.d.error(c.loc(), "BFD_CHECK is not supported by keepalived-rs (no BFD implementation); use TCP_CHECK, PING_CHECK or another checker");
                }
                _ => checker_nodes.push((kw, c)),
            }
        }
        rs.checkers.reserve_exact(checker_nodes.len());
        for (kw, c) in checker_nodes {
            if let Some(ch) = self.checker(kw, c, vs, &rs, &inh) {
                rs.checkers.push(ch);
            }
        }
        Some(rs)
    }

    fn checker(
        &mut self,
        kind: &str,
        node: &Node,
        vs: &VirtualServer,
        rs: &RealServer,
        inh: &Inherit,
    ) -> Option<Checker> {
        let children = self.block(node)?;
        let set = match kind {
            "HTTP_GET" | "SSL_GET" => &HTTP_CHECK,
            "MISC_CHECK" => &MISC_CHECK,
            "SMTP_CHECK" => &SMTP_CHECK,
            "DNS_CHECK" => &DNS_CHECK,
            "UDP_CHECK" => &UDP_CHECK,
            "FILE_CHECK" => &FILE_CHECK,
            _ => &COMMON_CHECK,
        };
        let mut own = Inherit::default();
        let mut c_ip = None;
        let mut c_port = None;
        let mut bindto = None;
        let mut bind_port = None;
        let mut bind_if = None;
        let mut fwmark = None;
        let mut log_all = false;
        let mut http = HttpCheck {
            urls: Vec::with_capacity(children.iter().filter(|c| c.keyword() == "url").count()),
            virtualhost: None,
            http_protocol: HttpProtocol::Http10,
            enable_sni: false,
            sni_name: None,
            fast_recovery: false,
            tls_compliant: false,
        };
        let mut misc: Option<Script> = None;
        let mut misc_timeout = None;
        let mut misc_dynamic = false;
        let mut user = None;
        let mut helo: Option<String> = None;
        let mut dns = DnsCheck {
            qtype: DnsType::Soa,
            name: String::new(),
        };
        let mut udp = UdpCheck {
            payload: Vec::new(),
            require_reply: None,
            min_reply_length: None,
            max_reply_length: None,
        };
        let mut file = FileCheck {
            track_file: String::new(),
            weight: None,
            reverse: false,
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, kind, set) else {
                continue;
            };
            match kw {
                "connect_ip" => c_ip = self.ip1(c),
                "connect_port" => c_port = self.int1(c, 0, 65535).map(|v| v as u16),
                "bindto" => bindto = self.ip1(c),
                "bind_port" => bind_port = self.int1(c, 0, 65535).map(|v| v as u16),
                "bind_if" => bind_if = self.str1(c),
                "fwmark" => fwmark = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "connect_timeout" => own.connect_timeout = self.timer1(c, 86400),
                "retry" => own.retry = self.int1(c, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => own.delay_before_retry = self.timer1(c, 86400),
                "warmup" => own.warmup = self.timer1(c, 86400),
                "delay_loop" => own.delay_loop = self.timer1(c, 86400),
                "alpha" => own.alpha = self.bool1(c),
                "log_all_failures" => log_all = self.bool1(c).unwrap_or(true),
                "url" => {
                    if let Some(u) = self.url(c) {
                        http.urls.push(u);
                    }
                }
                "virtualhost" => http.virtualhost = self.str1(c),
                "http_protocol" => {
                    if let Some(t) = self.arg1(c) {
                        http.http_protocol = match t.text.as_str() {
                            "1.0" => HttpProtocol::Http10,
                            "1.0C" | "1.0c" => HttpProtocol::Http10Close,
                            "1.1" => HttpProtocol::Http11,
                            o => {
                                self.d.error(
                                    t.loc,
                                    format!("http_protocol: unknown '{o}' (1.0, 1.0C or 1.1)"),
                                );
                                http.http_protocol
                            }
                        }
                    }
                }
                "enable_sni" => http.enable_sni = self.bool1(c).unwrap_or(true),
                "sni_name" => http.sni_name = self.str1(c),
                "fast_recovery" => http.fast_recovery = self.bool1(c).unwrap_or(true),
                "tls_compliant" => http.tls_compliant = self.bool1(c).unwrap_or(true),
                "misc_path" => misc = self.command1(c),
                "misc_timeout" => misc_timeout = self.timer1(c, 86400),
                "misc_dynamic" => misc_dynamic = self.bool1(c).unwrap_or(true),
                "user" => user = self.run_as(c),
                "helo_name" => helo = self.str1(c).or(helo),
                "host" => {
                    self.d.warn(c.loc(), "SMTP_CHECK 'host' blocks are deprecated and ignored by keepalived-rs - define one SMTP_CHECK per host with connect_ip/connect_port");
                }
                "type" => {
                    if let Some(t) = self.arg1(c) {
                        match dns_type(&t.text) {
                            Some(q) => dns.qtype = q,
                            None => self.d.error(t.loc, format!("DNS_CHECK: unknown type '{}' (A NS CNAME SOA MX TXT AAAA RRSIG DNSKEY)", t.text)),
                        }
                    }
                }
                "name" => dns.name = self.str1(c).unwrap_or_default(),
                "payload" => {
                    if let Some(t) = self.arg1(c) {
                        match hex(&t.text) {
                            Some(b) => udp.payload = b,
                            None => self
                                .d
                                .error(t.loc, format!("payload: invalid hex '{}'", t.text)),
                        }
                    }
                }
                "require_reply" => {
                    let a = self.args(c);
                    udp.require_reply = Some(match a.first() {
                        None => Vec::new(),
                        Some(t) => hex(&t.text).unwrap_or_else(|| {
                            self.d
                                .error(t.loc, format!("require_reply: invalid hex '{}'", t.text));
                            Vec::new()
                        }),
                    });
                }
                "min_reply_length" => {
                    udp.min_reply_length = self.int1(c, 0, 65535).map(|v| v as u32)
                }
                "max_reply_length" => {
                    udp.max_reply_length = self.int1(c, 0, 65535).map(|v| v as u32)
                }
                "track_file" => {
                    if let Some(t) = self.arg1(c) {
                        self.locs.track_file_refs.push((t.text.to_string(), t.loc));
                        file.track_file = t.text.to_string();
                    }
                }
                "weight" => {
                    let a = self.args(c);
                    if let Some(t) = a.first() {
                        file.weight =
                            int(self.d, "weight", t, -TRACK_WEIGHT, TRACK_WEIGHT).map(|v| v as i32);
                        file.reverse = a.get(1).is_some_and(|r| r.text == "reverse");
                    }
                }
                _ => {}
            }
        }
        let delay_loop = own.delay_loop.or(inh.delay_loop).unwrap_or(vs.delay_loop);
        let (def_retry, def_dbr) = match kind {
            "HTTP_GET" | "SSL_GET" => (1, Micros::from_secs(3)),
            "DNS_CHECK" => (3, delay_loop),
            "MISC_CHECK" => (0, Micros::from_secs(1)),
            _ => (1, Micros::from_secs(1)),
        };
        let common = CheckerCommon {
            connect_ip: c_ip,
            connect_port: c_port,
            bindto,
            bind_port,
            bind_if,
            fwmark,
            connect_timeout: own
                .connect_timeout
                .or(inh.connect_timeout)
                .unwrap_or(Micros::from_secs(5)),
            retry: own.retry.or(inh.retry).unwrap_or(def_retry),
            delay_before_retry: own
                .delay_before_retry
                .or(inh.delay_before_retry)
                .unwrap_or(def_dbr),
            warmup: own.warmup.or(inh.warmup).unwrap_or(delay_loop),
            delay_loop,
            alpha: own.alpha.or(inh.alpha).unwrap_or(rs.alpha),
            log_all_failures: log_all || self.cfg.global.checker_log_all_failures,
        };
        let loc = node.loc();
        let kind = match kind {
            "TCP_CHECK" => CheckerKind::Tcp,
            "PING_CHECK" => CheckerKind::Ping,
            "HTTP_GET" | "SSL_GET" => {
                if http.urls.is_empty() {
                    self.d.error(
                        loc,
                        format!("{kind}: no 'url' block - at least one is required"),
                    );
                    return None;
                }
                if http.virtualhost.is_none() {
                    http.virtualhost = rs.virtualhost.clone().or(vs.virtualhost.clone());
                }
                if kind == "HTTP_GET" {
                    CheckerKind::Http(Box::new(http))
                } else {
                    CheckerKind::Ssl(Box::new(http))
                }
            }
            "MISC_CHECK" => {
                let Some(script) = misc else {
                    self.d
                        .error(loc, "MISC_CHECK: no 'misc_path' - a script is required");
                    return None;
                };
                CheckerKind::Misc(Box::new(MiscCheck {
                    script,
                    timeout: misc_timeout,
                    dynamic: misc_dynamic,
                    user,
                }))
            }
            "SMTP_CHECK" => CheckerKind::Smtp(Box::new(SmtpCheck {
                helo_name: helo.unwrap_or_else(|| "smtpchecker.keepalived.org".to_string()),
            })),
            "DNS_CHECK" => CheckerKind::Dns(Box::new(dns)),
            "UDP_CHECK" => CheckerKind::Udp(Box::new(udp)),
            "FILE_CHECK" => {
                if file.track_file.is_empty() {
                    self.d
                        .error(loc, "FILE_CHECK: no 'track_file' - one is required");
                    return None;
                }
                CheckerKind::File(Box::new(file))
            }
            _ => return None,
        };
        Some(Checker { common, kind })
    }

    fn url(&mut self, node: &Node) -> Option<HttpUrl> {
        let children = self.block(node)?;
        let mut u = HttpUrl {
            path: String::new(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            regex_no_match: false,
        };
        for c in children {
            if c.words.is_empty() {
                continue;
            }
            let Some(kw) = self.kw(c, "url", &URL) else {
                continue;
            };
            match kw {
                "path" => u.path = self.str1(c).unwrap_or_default(),
                "digest" => {
                    if let Some(t) = self.arg1(c) {
                        match hex(&t.text).and_then(|b| <[u8; 16]>::try_from(b).ok()) {
                            Some(d) => u.digest = Some(d),
                            None => self.d.error(
                                t.loc,
                                format!("digest: '{}' is not a 32-digit hex MD5", t.text),
                            ),
                        }
                    }
                }
                "status_code" => {
                    for t in self.args(c) {
                        let r = match t.text.split_once('-') {
                            Some((a, b)) => a.parse::<u16>().ok().zip(b.parse::<u16>().ok()),
                            None => t.text.parse::<u16>().ok().map(|v| (v, v)),
                        };
                        match r {
                            Some((a, b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => {
                                u.status_codes.push((a, b))
                            }
                            _ => self.d.error(
                                t.loc,
                                format!("status_code: invalid '{}' (100..599 or N-M)", t.text),
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.str1(c),
                "regex" => u.regex = self.str1(c),
                "regex_no_match" => u.regex_no_match = true,
                _ => {}
            }
        }
        if u.path.is_empty() {
            self.d
                .error(node.loc(), "url: no 'path' - a path is required");
            return None;
        }
        Some(u)
    }

    // ----- cross references ------------------------------------------------------

    fn finish(&mut self) {
        let locs = std::mem::take(&mut self.locs);
        let scripts: std::collections::HashSet<&str> = self
            .cfg
            .vrrp_scripts
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (n, loc) in &locs.script_refs {
            if !scripts.contains(n.as_str()) {
                let hint = crate::suggest_iter(n, scripts.iter().copied())
                    .map(|s| format!(" - did you mean '{s}'?"))
                    .unwrap_or_default();
                self.d.error(
                    *loc,
                    format!("track_script '{n}' names no vrrp_script{hint}"),
                );
            }
        }
        let files: std::collections::HashSet<&str> = self
            .cfg
            .track_files
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (n, loc) in &locs.track_file_refs {
            if !files.contains(n.as_str()) {
                self.d
                    .error(*loc, format!("track_file '{n}' names no track_file block"));
            }
        }
        let procs: std::collections::HashSet<&str> = self
            .cfg
            .track_processes
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (n, loc) in &locs.process_refs {
            if !procs.contains(n.as_str()) {
                self.d.error(
                    *loc,
                    format!("track_process {n} names no vrrp_track_process block"),
                );
            }
        }
        let insts: std::collections::HashSet<&str> = self
            .cfg
            .vrrp_instances
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let mut in_group: HashMap<&str, Loc> = HashMap::new();
        for (n, loc) in &locs.sync_refs {
            if !insts.contains(n.as_str()) {
                self.d.error(
                    *loc,
                    format!("vrrp_sync_group: '{n}' names no vrrp_instance"),
                );
            } else if in_group.insert(n.as_str(), *loc).is_some() {
                self.d.error(
                    *loc,
                    format!("vrrp_sync_group: vrrp_instance {n} is already in a sync group"),
                );
            }
        }
        let groups: std::collections::HashSet<&str> = self
            .cfg
            .virtual_server_groups
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (n, loc) in &locs.vsg_refs {
            if !groups.contains(n.as_str()) {
                self.d.error(
                    *loc,
                    format!("virtual_server group '{n}' names no virtual_server_group"),
                );
            }
        }
        // Duplicate VRID on one interface and family.
        let mut seen: HashMap<(&str, Family, u8), &str> = HashMap::new();
        let default_if = self
            .cfg
            .global
            .default_interface
            .as_deref()
            .unwrap_or("eth0");
        for (v, (_, vrid_loc)) in self.cfg.vrrp_instances.iter().zip(&locs.instances) {
            if v.virtual_router_id == 0 {
                continue;
            }
            let ifn = v
                .interface
                .as_deref()
                .or(v.vrf.as_deref())
                .unwrap_or(default_if);
            if let Some(other) = seen.insert((ifn, v.family, v.virtual_router_id), v.name.as_str())
            {
                self.d.error(
                    *vrid_loc,
                    format!("({}) VRID {} is already used by vrrp_instance {other} on interface {ifn} - VRIDs must be unique per interface and family", v.name, v.virtual_router_id),
                );
            }
        }
        if let Some((ifn, inst)) = self.lvs_sync_if_from_instance.take() {
            if self.cfg.global.lvs_sync_daemon.is_none() {
                self.cfg.global.lvs_sync_daemon = Some(LvsSyncDaemon {
                    interface: ifn,
                    instance: Some(inst),
                    sync_id: 0,
                    maxlen: None,
                    port: None,
                    ttl: None,
                    group: None,
                });
            }
        }
        if let Some(s) = &self.cfg.global.lvs_sync_daemon {
            if let Some(i) = &s.instance {
                if !insts.contains(i.as_str()) {
                    self.d.error(
                        self.lvs_sync_inst_loc.unwrap_or_default(),
                        format!("lvs_sync_daemon: '{i}' names no vrrp_instance"),
                    );
                }
            }
        }
    }
}

/// The block a keyword belongs to, when it is valid somewhere else.
fn elsewhere(k: &str) -> Option<&'static str> {
    const PLACES: &[(&str, &KeywordSet)] = &[
        ("global_defs", &GLOBAL),
        ("the top level", &ROOT),
        ("vrrp_instance", &VRRP_INSTANCE),
        ("vrrp_script", &VRRP_SCRIPT),
        ("vrrp_sync_group", &SYNC_GROUP),
        ("virtual_server", &VIRTUAL_SERVER),
        ("real_server", &REAL_SERVER),
        ("a checker block", &HTTP_CHECK),
        ("MISC_CHECK", &MISC_CHECK),
        ("DNS_CHECK", &DNS_CHECK),
        ("UDP_CHECK", &UDP_CHECK),
        ("url", &URL),
        ("authentication", &AUTHENTICATION),
    ];
    PLACES
        .iter()
        .find(|(_, set)| set.known.contains(&k) || set.raw.contains(&k))
        .map(|(p, _)| *p)
}

fn set_notify(n: &mut NotifyScripts, kw: &str, s: Option<Script>) {
    let slot = match kw {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify_deleted" => &mut n.deleted,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        _ => &mut n.any,
    };
    *slot = s;
}

fn words(t: &[Token]) -> Vec<String> {
    t.iter().map(|t| t.text.to_string()).collect()
}

fn lb_algo(s: &str) -> Option<LbAlgo> {
    Some(match s {
        "rr" => LbAlgo::Rr,
        "wrr" => LbAlgo::Wrr,
        "lc" => LbAlgo::Lc,
        "wlc" => LbAlgo::Wlc,
        "lblc" => LbAlgo::Lblc,
        "lblcr" => LbAlgo::Lblcr,
        "dh" => LbAlgo::Dh,
        "sh" => LbAlgo::Sh,
        "mh" => LbAlgo::Mh,
        "sed" => LbAlgo::Sed,
        "nq" => LbAlgo::Nq,
        "fo" => LbAlgo::Fo,
        "ovf" => LbAlgo::Ovf,
        "twos" => LbAlgo::Twos,
        _ => return None,
    })
}

fn dns_type(s: &str) -> Option<DnsType> {
    Some(match s.to_ascii_uppercase().as_str() {
        "A" => DnsType::A,
        "NS" => DnsType::Ns,
        "CNAME" => DnsType::Cname,
        "SOA" => DnsType::Soa,
        "MX" => DnsType::Mx,
        "TXT" => DnsType::Txt,
        "AAAA" => DnsType::Aaaa,
        "RRSIG" => DnsType::Rrsig,
        "DNSKEY" => DnsType::Dnskey,
        _ => return None,
    })
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

fn range_of_prefix(addr: IpAddr, len: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let n = u32::from(a);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (
                IpAddr::V4((n & mask).into()),
                IpAddr::V4((n | !mask).into()),
            )
        }
        IpAddr::V6(a) => {
            let n = u128::from(a);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (
                IpAddr::V6((n & mask).into()),
                IpAddr::V6((n | !mask).into()),
            )
        }
    }
}

/// `[192.0.2.1]:80` style name used in messages.
fn vs_display(k: &VsKey) -> String {
    match k {
        VsKey::Addr { addr, port } => format!("[{addr}]:{port}"),
        VsKey::Fwmark(m) => format!("FWM {m}"),
        VsKey::Group(g) => format!("group {g}"),
    }
}
