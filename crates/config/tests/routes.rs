//! `virtual_routes` / `virtual_rules` / `static_*` lines, `track_process`,
//! `track_bfd`: typed models and located errors (keepalived 2.2.7
//! `vrrp_iproute.c` / `vrrp_iprule.c` line formats).

use keepalived_config::*;
use std::net::IpAddr;

fn load_text(text: &str) -> Result<Loaded, Failed> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    load(&LoadOptions {
        path: p,
        config_id: Some("node1".into()),
        lenient: false,
    })
}

fn render(d: &[Diagnostic]) -> String {
    d.iter().map(|d| format!("{d}\n")).collect()
}

fn ok(text: &str) -> Loaded {
    match load_text(text) {
        Ok(l) => l,
        Err(f) => panic!("expected to load, got:\n{}", render(&f.diagnostics)),
    }
}

fn failed(text: &str) -> Vec<Diagnostic> {
    match load_text(text) {
        Ok(l) => panic!("expected errors, loaded with:\n{}", render(&l.diagnostics)),
        Err(f) => f.diagnostics,
    }
}

fn has(d: &[Diagnostic], sev: Severity, line: u32, col: u32, needle: &str) {
    assert!(
        d.iter().any(|x| x.severity == sev
            && x.line == line
            && x.col == col
            && x.message.contains(needle)),
        "no {sev:?} at {line}:{col} containing {needle:?} in:\n{}",
        render(d)
    );
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn instance(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {{\n  192.0.2.10\n }}\n{body}\n}}\n"
    )
}

fn base_route() -> IpRoute {
    IpRoute {
        family: Family::Inet,
        dst: None,
        route_type: RouteType::Unicast,
        src: None,
        from: None,
        via: None,
        dev: None,
        scope: Scope::Global,
        table: TableRef::Id(254),
        vrf: None,
        metric: None,
        protocol: 18,
        tos: None,
        onlink: false,
        nexthops: vec![],
        options: vec![],
        mode: None,
        no_track: false,
        track_group: None,
    }
}

#[test]
fn virtual_routes_lines_become_typed_routes() {
    let l = ok(&instance(
        " virtual_routes {\n  src 192.0.2.1 to 198.51.100.0/24 via 192.0.2.254 dev eth1 metric 10 table 100\n  blackhole 203.0.113.0/24\n  default via 192.0.2.254 dev eth0 table main scope global protocol keepalived\n  inet6 2001:db8::/32 via fe80::1 dev eth0 mtu lock 1400 no_track\n  198.51.100.128/25 via 192.0.2.1 or 192.0.2.2 dev eth0\n  to unreachable 198.51.100.64/26 dev eth0 table gateway\n }",
    ));
    let r = &l.config.vrrp_instances[0].virtual_routes;
    assert_eq!(r.len(), 6, "{r:#?}");
    assert_eq!(
        r[0],
        IpRoute {
            dst: Some((ip("198.51.100.0"), 24)),
            src: Some(ip("192.0.2.1")),
            via: Some(ip("192.0.2.254")),
            dev: Some("eth1".into()),
            metric: Some(10),
            table: TableRef::Id(100),
            ..base_route()
        }
    );
    assert_eq!(
        r[1],
        IpRoute {
            dst: Some((ip("203.0.113.0"), 24)),
            route_type: RouteType::Blackhole,
            // No interface: upstream does not track it.
            no_track: true,
            ..base_route()
        }
    );
    assert_eq!(
        r[2],
        IpRoute {
            via: Some(ip("192.0.2.254")),
            dev: Some("eth0".into()),
            ..base_route()
        }
    );
    assert_eq!(
        r[3],
        IpRoute {
            family: Family::Inet6,
            dst: Some((ip("2001:db8::"), 32)),
            via: Some(ip("fe80::1")),
            dev: Some("eth0".into()),
            options: vec![RouteOption {
                name: "mtu".into(),
                value: "1400".into(),
                lock: true
            }],
            no_track: true,
            ..base_route()
        }
    );
    assert_eq!(
        r[4],
        IpRoute {
            dst: Some((ip("198.51.100.128"), 25)),
            dev: Some("eth0".into()),
            nexthops: vec![
                NextHop {
                    via: Some(ip("192.0.2.1")),
                    dev: None,
                    weight: 1,
                    onlink: false
                },
                NextHop {
                    via: Some(ip("192.0.2.2")),
                    dev: None,
                    weight: 1,
                    onlink: false
                },
            ],
            ..base_route()
        }
    );
    assert_eq!(
        r[5],
        IpRoute {
            dst: Some((ip("198.51.100.64"), 26)),
            route_type: RouteType::Unreachable,
            dev: Some("eth0".into()),
            table: TableRef::Name("gateway".into()),
            ..base_route()
        }
    );
    // "or" is deprecated upstream; said so, at the word.
    has(
        &l.diagnostics,
        Severity::Warning,
        13,
        35,
        "\"or\" for routes is deprecated",
    );
    // The route interfaces are reported for -t's missing-interface check.
    assert!(l.interfaces.iter().any(|i| i.name == "eth1" && i.line == 9));
}

#[test]
fn nexthop_routes_and_gw_alias() {
    let l = ok(&instance(
        " virtual_routes {\n  192.0.2.0/24 nexthop via 198.51.100.1 dev eth0 weight 2 nexthop via 198.51.100.2 dev eth1 onlink\n  198.51.100.0/24 gw 192.0.2.1 dev eth0\n }",
    ));
    let r = &l.config.vrrp_instances[0].virtual_routes;
    assert_eq!(
        r[0].nexthops,
        vec![
            NextHop {
                via: Some(ip("198.51.100.1")),
                dev: Some("eth0".into()),
                weight: 2,
                onlink: false
            },
            NextHop {
                via: Some(ip("198.51.100.2")),
                dev: Some("eth1".into()),
                weight: 1,
                onlink: true
            },
        ]
    );
    // keepalived 2.2.7 tracks a route only through its own `dev`.
    assert!(r[0].no_track);
    assert_eq!(r[1].via, Some(ip("192.0.2.1")));
    has(
        &l.diagnostics,
        Severity::Warning,
        10,
        19,
        "\"gw\" for routes is deprecated",
    );
}

#[test]
fn malformed_route_lines_are_located_errors() {
    let d = failed(&instance(
        " virtual_routes {\n  192.0.2.0/24 via 2001:db8::1\n  nonsense 192.0.2.0/24\n  192.0.2.0/24 metric x\n  192.0.2.0/24 dev\n  src 192.0.2.1\n  192.0.2.0/33\n  192.0.2.0/24 nexthop via 192.0.2.1 bogus\n }",
    ));
    has(
        &d,
        Severity::Error,
        9,
        20,
        "Cannot mix IPv4 and IPv6 addresses for route",
    );
    has(&d, Severity::Error, 10, 3, "unknown route keyword nonsense");
    has(
        &d,
        Severity::Error,
        11,
        23,
        "Invalid metric x specified for route",
    );
    has(&d, Severity::Error, 12, 16, "'dev' needs a value");
    has(&d, Severity::Error, 13, 3, "Route must have a destination");
    has(
        &d,
        Severity::Error,
        14,
        3,
        "unknown route keyword 192.0.2.0/33",
    );
    has(&d, Severity::Error, 15, 38, "Unknown nexthop option bogus");
    // `proto` is not a keepalived route word (only `protocol`).
    let d = failed(&instance(
        " virtual_routes {\n  192.0.2.0/24 proto static dev eth0\n }",
    ));
    has(&d, Severity::Error, 9, 16, "unknown route keyword proto");
}

#[test]
fn rules_become_typed_rules_with_automatic_preferences() {
    let l = ok(&instance(
        " virtual_rules {\n  from 192.0.2.0/24 table 100 preference 100\n  to 198.51.100.0/24 lookup main\n  from all fwmark 0x10/0xff iif eth0 table 5 priority 200\n  not from 203.0.113.1 goto 300 preference 250\n  inet6 from 2001:db8::/64 type blackhole preference 10\n  from 192.0.2.1 ipproto tcp dport 80-90 sport 1000 uidrange 100-200 prohibit no_track preference 20 protocol static\n }",
    ));
    let r = &l.config.vrrp_instances[0].virtual_rules;
    let base = IpRule {
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
        protocol: 18,
        ipproto: None,
        sport: None,
        dport: None,
        no_track: false,
        track_group: None,
        action: RuleAction::Table(TableRef::Id(254)),
    };
    assert_eq!(
        r[0],
        IpRule {
            from: Some((ip("192.0.2.0"), 24)),
            priority: 100,
            action: RuleAction::Table(TableRef::Id(100)),
            ..base.clone()
        }
    );
    // No preference: keepalived's 16384, with its warning.
    assert_eq!(
        r[1],
        IpRule {
            to: Some((ip("198.51.100.0"), 24)),
            priority: 16384,
            ..base.clone()
        }
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        10,
        3,
        "Rule has no preference specified - setting to 16384. This is probably not what you want.",
    );
    assert_eq!(
        r[2],
        IpRule {
            fwmark: Some(16),
            fwmask: Some(255),
            iif: Some("eth0".into()),
            priority: 200,
            action: RuleAction::Table(TableRef::Id(5)),
            ..base.clone()
        }
    );
    assert_eq!(
        r[3],
        IpRule {
            from: Some((ip("203.0.113.1"), 32)),
            invert: true,
            priority: 250,
            action: RuleAction::Goto(300),
            ..base.clone()
        }
    );
    assert_eq!(
        r[4],
        IpRule {
            family: Family::Inet6,
            from: Some((ip("2001:db8::"), 64)),
            priority: 10,
            action: RuleAction::Blackhole,
            ..base.clone()
        }
    );
    assert_eq!(
        r[5],
        IpRule {
            from: Some((ip("192.0.2.1"), 32)),
            ipproto: Some(6),
            dport: Some((80, 90)),
            sport: Some((1000, 1000)),
            uidrange: Some((100, 200)),
            no_track: true,
            priority: 20,
            protocol: 4,
            action: RuleAction::Prohibit,
            ..base.clone()
        }
    );
}

#[test]
fn malformed_rule_lines_are_located_errors() {
    let d = failed(&instance(
        " virtual_rules {\n  from 192.0.2.0/24\n  from 192.0.2.0/24 table 1 goto 5 preference 1\n  goto 5\n  preference 10 goto 5\n  from 192.0.2.0/24 to 2001:db8::/32 table 1\n  fwmark x table 1\n  table 0\n  frobnicate table 1\n  realms 3 goto 50 preference 1\n }",
    ));
    has(
        &d,
        Severity::Error,
        9,
        3,
        "No action specified for rule - ignoring",
    );
    has(
        &d,
        Severity::Error,
        10,
        29,
        "Cannot specify more than one of table/nop/goto",
    );
    has(
        &d,
        Severity::Error,
        11,
        3,
        "goto target 5 specified without preference",
    );
    has(&d, Severity::Error, 12, 3, "preference 10 >= goto target 5");
    has(
        &d,
        Severity::Error,
        13,
        24,
        "rule specification has mixed IPv4 and IPv6",
    );
    has(
        &d,
        Severity::Error,
        14,
        10,
        "Invalid rule fwmark x specified",
    );
    has(&d, Severity::Error, 15, 9, "Table 0 is not valid");
    has(&d, Severity::Error, 16, 3, "Unknown rule option frobnicate");
    has(
        &d,
        Severity::Error,
        17,
        3,
        "suppressor/realm specified for non table action",
    );
}

#[test]
fn static_blocks_are_typed_and_allow_track_group() {
    let l = ok("static_ipaddress {\n 192.0.2.5/24 dev eth0\n}\nstatic_routes {\n 198.51.100.0/24 via 192.0.2.1 dev eth0 track_group g1\n}\nstatic_rules {\n from 192.0.2.5 table 10 preference 5\n inet6 to 2001:db8::/48 table 11\n from 192.0.2.6 table 12\n}\n");
    let c = &l.config;
    assert_eq!(c.static_ipaddress.len(), 1);
    assert_eq!(
        c.static_routes,
        vec![IpRoute {
            dst: Some((ip("198.51.100.0"), 24)),
            via: Some(ip("192.0.2.1")),
            dev: Some("eth0".into()),
            track_group: Some("g1".into()),
            ..base_route()
        }]
    );
    let prios: Vec<(Family, u32)> = c
        .static_rules
        .iter()
        .map(|r| (r.family, r.priority))
        .collect();
    // Automatic preferences count down per family, like keepalived.
    assert_eq!(
        prios,
        vec![
            (Family::Inet, 5),
            (Family::Inet6, 16384),
            (Family::Inet, 16384)
        ]
    );
}

#[test]
fn track_process_is_typed_and_checked() {
    let l = ok("vrrp_track_process chk_nginx {\n process nginx -g daemon\n param_match partial\n weight -20 reverse\n quorum 2\n quorum_max 4\n delay 1.5\n terminate_delay 2\n fork_delay 0.5\n full_command\n}\n");
    let t = &l.config.track_processes[0];
    assert_eq!(
        *t,
        TrackProcess {
            name: "chk_nginx".into(),
            process: vec!["nginx".into(), "-g".into(), "daemon".into()],
            param_match: Some(ParamMatch::Partial),
            weight: -20,
            weight_reverse: true,
            quorum: 2,
            quorum_max: Some(4),
            delay: Some(Micros(1_500_000)),
            terminate_delay: Some(Micros(2_000_000)),
            fork_delay: Some(Micros(500_000)),
            full_command: true,
        }
    );
    let d = failed(
        "vrrp_track_process p {\n process x\n param_match sometimes\n quorum 3\n quorum_max 2\n}\n",
    );
    has(&d, Severity::Error, 3, 14, "param_match");
    has(
        &d,
        Severity::Error,
        5,
        13,
        "quorum_max 2 is less than quorum 3",
    );
    let d = failed(&instance(" track_process {\n  nosuch\n }"));
    has(&d, Severity::Error, 9, 3, "track_process nosuch");
}

#[test]
fn track_bfd_says_not_supported() {
    let d = failed(&instance(" track_bfd {\n  bfd1\n }"));
    has(
        &d,
        Severity::Error,
        8,
        2,
        "BFD is not supported by keepalived-rs",
    );
}

#[test]
fn random_route_and_rule_words_never_panic() {
    let vocab = [
        "src",
        "from",
        "to",
        "via",
        "gw",
        "or",
        "dev",
        "oif",
        "iif",
        "scope",
        "table",
        "lookup",
        "metric",
        "preference",
        "priority",
        "protocol",
        "type",
        "blackhole",
        "unreachable",
        "prohibit",
        "goto",
        "nop",
        "fwmark",
        "not",
        "no_track",
        "nexthop",
        "weight",
        "onlink",
        "mtu",
        "lock",
        "inet",
        "inet6",
        "default",
        "default6",
        "all",
        "192.0.2.0/24",
        "2001:db8::/64",
        "fe80::1",
        "192.0.2.1",
        "0x10/0xff",
        "100",
        "0",
        "-1",
        "main",
        "eth0",
        "sport",
        "dport",
        "1-2",
        "uidrange",
        "realms",
        "sup_pl",
        "l3mdev",
        "ipproto",
        "tcp",
        "tos",
        "pref",
        "high",
        "expires",
        "features",
        "ecn",
        "track_group",
        "x",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut routes = String::new();
    let mut rules = String::new();
    for _ in 0..400 {
        for out in [&mut routes, &mut rules] {
            let n = 1 + next() % 8;
            out.push_str("  ");
            for _ in 0..n {
                out.push_str(vocab[(next() % vocab.len() as u64) as usize]);
                out.push(' ');
            }
            out.push('\n');
        }
    }
    let text = format!(
        "static_routes {{\n{routes}}}\nstatic_rules {{\n{rules}}}\n{}",
        instance(&format!(
            " virtual_routes {{\n{routes} }}\n virtual_rules {{\n{rules} }}"
        ))
    );
    // Loads or fails with located diagnostics; never panics.
    let _ = load_text(&text);
}
