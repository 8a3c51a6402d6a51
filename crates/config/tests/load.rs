//! Loader tests: seeds, lexer rules, every error class with its location,
//! includes, conditionals, definitions, ~SEQ, defaults, serde round trip.

use keepalived_config::*;
use std::path::{Path, PathBuf};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/samples")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn load_path(p: &Path, id: Option<&str>, lenient: bool) -> Result<Loaded, Failed> {
    load(&LoadOptions {
        path: p.to_path_buf(),
        config_id: id.map(str::to_string),
        lenient,
    })
}

/// Load `text` as `keepalived.conf` in a fresh directory.
fn load_text(text: &str) -> Result<Loaded, Failed> {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "keepalived.conf", text);
    load_path(&p, Some("node1"), false)
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

fn render(d: &[Diagnostic]) -> String {
    d.iter().map(|d| format!("{d}\n")).collect()
}

/// The one diagnostic at `line:col` with this severity whose message contains `needle`.
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

const VI: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.10\n  }\n}\n";

// ----- seeds ---------------------------------------------------------------------

#[test]
fn every_seed_sample_loads() {
    let mut n = 0;
    for e in std::fs::read_dir(samples_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("conf") {
            continue;
        }
        n += 1;
        if let Err(f) = load_path(&p, None, false) {
            panic!("{} does not load:\n{}", p.display(), render(&f.diagnostics));
        }
    }
    assert!(n >= 20, "only {n} samples found");
}

fn sample(name: &str) -> Loaded {
    load_path(&samples_dir().join(name), None, false)
        .unwrap_or_else(|f| panic!("{name}: {}", render(&f.diagnostics)))
}

#[test]
fn seed_quirks_load_with_warnings() {
    // Empty notification_email_from.
    let l = sample("002-nginx-master.conf");
    has(
        &l.diagnostics,
        Severity::Warning,
        10,
        7,
        "notification_email_from has no address",
    );
    assert_eq!(
        l.config.global.notification_email,
        vec!["admin@sword.com".to_string()]
    );
    assert_eq!(l.config.vrrp_scripts[0].weight, -20);
    // smtp_server given as a host name.
    let l = sample("003-nginx-master.conf");
    has(
        &l.diagnostics,
        Severity::Warning,
        10,
        17,
        "smtp_server 'mail.example.com' is not an IP address",
    );
    assert_eq!(
        l.config.global.smtp_server,
        Some(SmtpServer {
            host: Host::Name("mail.example.com".into()),
            port: 25
        })
    );
    // 12-character auth_pass and nb_get_retry.
    let l = sample("004-node1.conf");
    has(
        &l.diagnostics,
        Severity::Warning,
        41,
        11,
        "Truncating auth_pass to 8 characters",
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        91,
        1,
        "'nb_get_retry' is deprecated, use 'retry'",
    );
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.authentication.as_ref().unwrap().auth_pass, "IDDf1j+y");
    let rs = &l.config.virtual_servers[0].real_servers[0];
    assert_eq!(rs.checkers[0].common.retry, 3);
    assert_eq!(
        rs.checkers[0].common.delay_before_retry,
        Micros::from_secs(2)
    );
    // vrrp_garp_interval 0 (rejected by 2.2.7, "no delay" for older versions).
    let l = sample("001-kpmaster-dual.conf");
    has(
        &l.diagnostics,
        Severity::Warning,
        16,
        27,
        "vrrp_garp_interval 0 is rejected by keepalived 2.2.7",
    );
    assert_eq!(l.config.global.vrrp_garp.interval, Micros::ZERO);
    assert_eq!(l.config.vrrp_instances.len(), 2);
    assert_eq!(
        l.config.virtual_servers[1]
            .sorry_server
            .as_ref()
            .unwrap()
            .port,
        80
    );
}

#[test]
fn seed_attached_braces_parse() {
    let l = sample("000-k216-master.conf");
    assert!(l.diagnostics.is_empty(), "{}", render(&l.diagnostics));
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.name, "VI_1");
    assert_eq!(vi.state, InitialState::Master);
    assert_eq!(vi.priority, 100);
    assert_eq!(vi.advert_int, Centis(300));
    assert_eq!(
        vi.authentication,
        Some(Authentication {
            auth_type: AuthType::Pass,
            auth_pass: "123456".into()
        })
    );
    let vip = &vi.virtual_ipaddress[0];
    assert_eq!(
        (vip.addr, vip.prefix, vip.dev.as_deref()),
        ("10.0.0.123".parse().unwrap(), 24, Some("eth0"))
    );
    assert_eq!(
        l.config.global.vrrp_mcast_group4,
        std::net::Ipv4Addr::new(226, 6, 6, 6)
    );
}

#[test]
fn seed_include_tree_loads_from_its_directory() {
    // 000's keepalived.conf includes /etc/keepalived/conf.d/*.conf: rebuild that tree in a temp dir.
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().display().to_string();
    let main = std::fs::read_to_string(samples_dir().join("000-lvs-keepalived.conf")).unwrap();
    let main = main.replace("/etc/keepalived/", &format!("{base}/"));
    let p = write(dir.path(), "keepalived.conf", &main);
    let inc = std::fs::read_to_string(samples_dir().join("000-lvs-conf.d-www.m99-magedu.com.conf"))
        .unwrap();
    write(dir.path(), "conf.d/www.m99-magedu.com.conf", &inc);
    let l = load_path(&p, None, false).unwrap();
    assert!(l.diagnostics.is_empty(), "{}", render(&l.diagnostics));
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.name, "www.m99-magedu.com");
    assert_eq!(vi.src_ip, Some("192.168.10.8".parse().unwrap()));
    assert_eq!(
        vi.unicast_peers[0].addr,
        "192.168.10.18".parse::<std::net::IpAddr>().unwrap()
    );
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        vs.key,
        VsKey::Addr {
            addr: "10.0.0.123".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(
        (vs.lb_algo, vs.lb_kind, vs.protocol),
        (LbAlgo::Rr, LbKind::Dr, Protocol::Tcp)
    );
    assert_eq!(vs.delay_loop, Micros::from_secs(3));
    let c = &vs.real_servers[1].checkers[0];
    assert_eq!(
        (c.common.retry, c.common.connect_timeout),
        (3, Micros::from_secs(1))
    );
    match &c.kind {
        CheckerKind::Http(h) => {
            assert_eq!(h.urls[0].path, "/ping.html");
            assert_eq!(h.urls[0].status_codes, vec![(200, 200)]);
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn shipped_sample_is_clean() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/keepalived.conf");
    let l = load_path(&p, None, false).unwrap_or_else(|f| panic!("{}", render(&f.diagnostics)));
    assert!(l.diagnostics.is_empty(), "{}", render(&l.diagnostics));
    assert!(l.config.has_vrrp() && l.config.has_checker());
}

// ----- lexer ---------------------------------------------------------------------

#[test]
fn comments_quotes_and_braces() {
    let l = ok(concat!(
        "! leading comment\n",
        "global_defs{router_id lb1 # trailing\n",
        "  notification_email { a@b.c }\n",
        "}vrrp_script s1 {\n",
        "  script \"/bin/check # not a comment ! either\"\n",
        "}\n",
        "vrrp_instance VI_1\n",
        "{\n",
        "  interface eth0 ! comment\n",
        "  virtual_router_id 51\n",
        "  authentication{\n",
        "    auth_type PASS\n",
        "    auth_pass ab\\#cd\n",
        "  }\n",
        "  virtual_ipaddress { 192.0.2.10/24 brd + dev eth0 scope link label eth0:1 }\n",
        "  track_script {\n",
        "    s1 weight -10\n",
        "  }\n",
        "}\n",
    ));
    assert!(l.diagnostics.is_empty(), "{}", render(&l.diagnostics));
    let c = &l.config;
    assert_eq!(c.global.router_id.as_deref(), Some("lb1"));
    assert_eq!(c.global.notification_email, vec!["a@b.c".to_string()]);
    assert_eq!(
        c.vrrp_scripts[0].script.argv,
        vec!["/bin/check", "#", "not", "a", "comment", "!", "either"]
    );
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.authentication.as_ref().unwrap().auth_pass, "ab#cd");
    let v = &vi.virtual_ipaddress[0];
    assert_eq!(v.broadcast, Some(Broadcast::Plus));
    assert_eq!(v.scope, Some(Scope::Link));
    assert_eq!(v.label.as_deref(), Some("eth0:1"));
    assert_eq!(
        vi.track_script,
        vec![TrackRef {
            name: "s1".into(),
            weight: Some(-10),
            reverse: false
        }]
    );
}

#[test]
fn unmatched_quote_is_located() {
    let d = failed("global_defs {\n  router_id \"lb1\n}\n");
    has(&d, Severity::Error, 2, 13, "Unterminated quote");
}

// ----- error classes -------------------------------------------------------------

#[test]
fn unknown_keyword_suggests_near_miss() {
    let d = failed(&VI.replace("  interface eth0\n", "  interface eth0\n  priorty 100\n"));
    has(
        &d,
        Severity::Error,
        3,
        3,
        "Unknown keyword 'priorty' in vrrp_instance - did you mean 'priority'?",
    );
    let d = failed("vrrp_instanse VI_1 {\n}\n");
    has(&d, Severity::Error, 1, 1, "did you mean 'vrrp_instance'?");
    let d = failed(&VI.replace("  interface eth0\n", "  interface eth0\n  vrrp_strict\n"));
    has(
        &d,
        Severity::Error,
        3,
        3,
        "Unknown keyword 'vrrp_strict' in vrrp_instance - it belongs in global_defs",
    );
    let d = failed("global_defs {\n  Router_ID x\n}\n");
    has(
        &d,
        Severity::Error,
        2,
        3,
        "keywords are case-sensitive: did you mean 'router_id'?",
    );
}

#[test]
fn lenient_downgrades_unknown_keywords() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "k.conf",
        &VI.replace("  interface eth0\n", "  interface eth0\n  frobnicate 1\n"),
    );
    let l = load_path(&p, None, true).unwrap();
    has(
        &l.diagnostics,
        Severity::Warning,
        3,
        3,
        "Unknown keyword 'frobnicate'",
    );
}

#[test]
fn wrong_case_value_is_an_error() {
    let d = failed(&VI.replace("  interface eth0\n", "  interface eth0\n  state Master\n"));
    has(&d, Severity::Error, 3, 9, "invalid state 'Master' - must be MASTER or BACKUP (case-sensitive; did you mean 'MASTER'?)");
}

#[test]
fn out_of_range_values() {
    let d = failed(&VI.replace("  interface eth0\n", "  interface eth0\n  priority 256\n"));
    has(
        &d,
        Severity::Error,
        3,
        12,
        "Priority '256' not valid! must be between 1 & 255",
    );
    let d = failed(&VI.replace("virtual_router_id 51", "virtual_router_id 0"));
    has(
        &d,
        Severity::Error,
        3,
        21,
        "VRID '0' not valid - must be between 1 & 255",
    );
    let d = failed(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  advert_int fast\n",
    ));
    has(
        &d,
        Severity::Error,
        3,
        14,
        "Advert interval 'fast' not valid",
    );
    // A weight of 254 is clamped (keepalived does the same), so only a warning.
    let l = ok(&format!(
        "vrrp_script s {{\n  script /bin/true\n}}\n{}",
        VI.replace(
            "  interface eth0\n",
            "  interface eth0\n  track_script {\n    s weight 254\n  }\n"
        )
    ));
    has(
        &l.diagnostics,
        Severity::Warning,
        7,
        14,
        "weight 254 for s clamped to 253",
    );
}

#[test]
fn missing_required_parts() {
    let d = failed("vrrp_instance VI_1 {\n  interface eth0\n}\n");
    has(&d, Severity::Error, 1, 15, "virtual_router_id is required");
    let d = failed("virtual_server 192.0.2.1 {\n}\n");
    has(&d, Severity::Error, 1, 16, "missing port");
    let d = failed("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.2 80 {\n    HTTP_GET {\n    }\n  }\n}\n");
    has(&d, Severity::Error, 4, 5, "HTTP_GET: no 'url' block");
    let d = failed("vrrp_script chk {\n  interval 2\n}\n");
    has(&d, Severity::Error, 1, 13, "has no 'script'");
}

#[test]
fn track_script_must_name_a_vrrp_script() {
    let d = failed(&format!(
        "vrrp_script chk_nginx {{\n  script /bin/true\n}}\n{}",
        VI.replace(
            "  interface eth0\n",
            "  interface eth0\n  track_script {\n    chk_ngnix\n  }\n"
        )
    ));
    has(
        &d,
        Severity::Error,
        7,
        5,
        "track_script 'chk_ngnix' names no vrrp_script - did you mean 'chk_nginx'?",
    );
}

#[test]
fn duplicate_vrid_on_one_interface() {
    let two = format!(
        "{VI}{}",
        VI.replace("VI_1", "VI_2")
            .replace("192.0.2.10", "192.0.2.11")
    );
    let d = failed(&two);
    has(
        &d,
        Severity::Error,
        10,
        21,
        "(VI_2) VRID 51 is already used by vrrp_instance VI_1 on interface eth0",
    );
    // Another interface, or another family, is fine.
    ok(&format!(
        "{VI}{}",
        VI.replace("VI_1", "VI_2").replace("eth0", "eth1")
    ));
    ok(&format!(
        "{VI}{}",
        VI.replace("VI_1", "VI_2")
            .replace("192.0.2.10", "2001:db8::10")
    ));
}

#[test]
fn unbalanced_braces() {
    let d = failed(&format!("{VI}}}\n"));
    has(&d, Severity::Error, 8, 1, "Extra '}' found");
    let d = failed("global_defs {\n  router_id x\n");
    has(
        &d,
        Severity::Error,
        1,
        13,
        "Missing '}': the block of 'global_defs' opened here is never closed",
    );
    let d = failed("global_defs\n  router_id x\n");
    has(
        &d,
        Severity::Error,
        1,
        1,
        "Missing '{' at beginning of configuration block 'global_defs'",
    );
    has(
        &d,
        Severity::Error,
        2,
        3,
        "Unknown keyword 'router_id' in the top level",
    );
    let d = failed("vrrp_instance VI_1\nstate MASTER\n");
    has(
        &d,
        Severity::Error,
        1,
        1,
        "Missing '{' at beginning of configuration block 'vrrp_instance'",
    );
}

#[test]
fn bfd_check_is_rejected_clearly() {
    let d = failed("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.2 80 {\n    BFD_CHECK {\n      name b\n    }\n  }\n}\n");
    has(
        &d,
        Severity::Error,
        4,
        5,
        "BFD_CHECK is not supported by keepalived-rs",
    );
}

#[test]
fn deprecated_aliases_warn_with_new_name() {
    let l = ok("global_defs {\n  lvs_id lb7\n}\n");
    has(
        &l.diagnostics,
        Severity::Warning,
        2,
        3,
        "'lvs_id' is deprecated, use 'router_id' instead",
    );
    assert_eq!(l.config.global.router_id.as_deref(), Some("lb7"));
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  lvs_sync_daemon_interface eth1\n",
    ));
    has(
        &l.diagnostics,
        Severity::Warning,
        3,
        3,
        "use global_defs 'lvs_sync_daemon",
    );
    assert_eq!(
        l.config.global.lvs_sync_daemon.as_ref().unwrap().interface,
        "eth1"
    );
}

// ----- includes, conditionals, definitions, ~SEQ ------------------------------------

#[test]
fn include_globs_relative_to_including_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let main = write(
        d,
        "etc/keepalived.conf",
        "global_defs {\n  router_id x\n}\ninclude conf.d/*.conf\ninclude missing/*.conf\n",
    );
    write(d, "etc/conf.d/b.conf", "include ../more/{one,two}.inc\n");
    write(d, "etc/conf.d/a.conf", &VI.replace("51", "1"));
    write(
        d,
        "etc/more/one.inc",
        &VI.replace("51", "2").replace("VI_1", "VI_one"),
    );
    write(
        d,
        "etc/more/two.inc",
        &VI.replace("51", "3").replace("VI_1", "VI_two"),
    );
    let l = load_path(&main, None, false).unwrap();
    let names: Vec<&str> = l
        .config
        .vrrp_instances
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, vec!["VI_1", "VI_one", "VI_two"]); // glob order, then brace order
    assert_eq!(l.diagnostics.len(), 1, "{}", render(&l.diagnostics));
    has(
        &l.diagnostics,
        Severity::Warning,
        5,
        1,
        "include 'missing/*.conf' matches no file",
    );
    // A diagnostic in an included file names that file.
    write(
        d,
        "etc/conf.d/c.conf",
        "vrrp_instance VI_3 {\n  bogus 1\n}\n",
    );
    let f = load_path(&main, None, false).unwrap_err();
    let e = f
        .diagnostics
        .iter()
        .find(|x| x.message.contains("bogus"))
        .unwrap();
    assert!(
        e.file.ends_with("conf.d/c.conf") && e.line == 2 && e.col == 3,
        "{e}"
    );
}

#[test]
fn include_loop_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.conf", "include a.conf\n");
    let f = load_path(&p, None, false).unwrap_err();
    has(&f.diagnostics, Severity::Error, 1, 1, "include loop");
}

#[test]
fn conditional_lines_follow_config_id() {
    let text = "global_defs {\n  @node1 router_id one\n  @node2 router_id two\n  @^node1 smtp_helo_name notone\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "k.conf", text);
    let l = load_path(&p, Some("node1"), false).unwrap();
    assert_eq!(l.config.global.router_id.as_deref(), Some("one"));
    assert_eq!(l.config.global.smtp_helo_name, None);
    let l = load_path(&p, Some("node2"), false).unwrap();
    assert_eq!(l.config.global.router_id.as_deref(), Some("two"));
    assert_eq!(l.config.global.smtp_helo_name.as_deref(), Some("notone"));
}

#[test]
fn definitions_and_multiline_definitions() {
    let l = ok(concat!(
        "$IF=eth0\n",
        "$PRIO=150\n",
        "$VIPS=192.0.2.10 \\\n",
        "192.0.2.11/24 dev $IF\n",
        "vrrp_instance VI_1 {\n",
        "  interface $IF\n",
        "  virtual_router_id ${PRIO}\n",
        "  priority $PRIO\n",
        "  virtual_ipaddress {\n",
        "    $VIPS\n",
        "  }\n",
        "}\n",
    ));
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.interface.as_deref(), Some("eth0"));
    assert_eq!((vi.virtual_router_id, vi.priority), (150, 150));
    assert_eq!(vi.virtual_ipaddress.len(), 2);
    assert_eq!(vi.virtual_ipaddress[1].dev.as_deref(), Some("eth0"));
    // "$X =" (blank before =) is not a definition: it is an unknown keyword.
    let d = failed("$X =1\n");
    has(&d, Severity::Error, 1, 1, "Unknown keyword '$X'");
}

#[test]
fn seq_generates_lines() {
    let l = ok(concat!(
        "virtual_server 192.0.2.1 80 {\n",
        "  protocol TCP\n  lb_algo rr\n  lb_kind DR\n",
        "  ~SEQ(N, 10, 2, 16) real_server 192.0.2.$N 80 { weight $N }\n",
        "}\n",
    ));
    let rs = &l.config.virtual_servers[0].real_servers;
    let got: Vec<(String, u32)> = rs.iter().map(|r| (r.addr.to_string(), r.weight)).collect();
    assert_eq!(
        got,
        vec![
            ("192.0.2.10".into(), 10),
            ("192.0.2.12".into(), 12),
            ("192.0.2.14".into(), 14),
            ("192.0.2.16".into(), 16)
        ]
    );
    let d = failed("~SEQ(N, a, 3) x\n");
    has(&d, Severity::Error, 1, 1, "Invalid ~SEQ specification");
}

#[test]
fn lst_and_predefined_definitions() {
    let l = ok(concat!(
        "global_defs {\n  router_id a${_HASH}b\n}\n",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n",
        "    ~LST(A, 192.0.2.7, 192.0.2.9) ${A}/32\n  }\n}\n",
    ));
    assert_eq!(l.config.global.router_id.as_deref(), Some("a#b"));
    let v: Vec<String> = l.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    assert_eq!(v, vec!["192.0.2.7", "192.0.2.9"]);
    // Several variables at once, expanding a multi-line definition.
    let l = ok(concat!(
        "$INST=vrrp_instance $N { \\\n",
        "interface eth0 \\\n",
        "virtual_router_id $R \\\n",
        "priority $P \\\n",
        "virtual_ipaddress { \\\n",
        "192.0.2.$R \\\n",
        "} \\\n",
        "}\n",
        "~LST({N,R,P}, {VI_1,1,100}, {VI_2,2,90}) $INST\n",
    ));
    let got: Vec<(String, u8, u8, String)> = l
        .config
        .vrrp_instances
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                v.virtual_router_id,
                v.priority,
                v.virtual_ipaddress[0].addr.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("VI_1".into(), 1, 100, "192.0.2.1".into()),
            ("VI_2".into(), 2, 90, "192.0.2.2".into())
        ]
    );
}

// ----- defaults ---------------------------------------------------------------------

#[test]
fn keepalived_defaults_and_traps() {
    // state MASTER without priority → 255 (vrrp/vrrp.c:3302-3312).
    let l = ok(&VI.replace("  interface eth0\n", "  interface eth0\n  state MASTER\n"));
    assert_eq!(
        (
            l.config.vrrp_instances[0].state,
            l.config.vrrp_instances[0].priority
        ),
        (InitialState::Master, 255)
    );
    // priority 255 without state → MASTER; default priority 100, advert 1 s, v2.
    let l = ok(VI);
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(
        (vi.state, vi.priority, vi.advert_int, vi.version),
        (InitialState::Backup, 100, Centis(100), VrrpVersion::V2)
    );
    assert_eq!(vi.garp.master_delay, Micros::from_secs(5));
    // v3 advert_int in centiseconds; IPv6 implies v3.
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  version 3\n  advert_int 0.25\n",
    ));
    assert_eq!(l.config.vrrp_instances[0].advert_int, Centis(25));
    let l = ok(&VI.replace("192.0.2.10", "fe80::10"));
    assert_eq!(
        (
            l.config.vrrp_instances[0].version,
            l.config.vrrp_instances[0].family
        ),
        (VrrpVersion::V3, Family::Inet6)
    );
    // Global GARP defaults are copied into instances read after global_defs.
    let l = ok(&format!(
        "global_defs {{\n  vrrp_garp_master_delay 2\n}}\n{VI}"
    ));
    assert_eq!(
        l.config.vrrp_instances[0].garp.master_delay,
        Micros::from_secs(2)
    );
    // virtual_server without protocol/scheduler/method: UDP, wlc, NAT, each with a warning (as 2.2.7).
    let l = ok("virtual_server 192.0.2.1 80 {\n  real_server 192.0.2.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n");
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        (vs.protocol, vs.lb_algo, vs.lb_kind),
        (Protocol::Udp, LbAlgo::Wlc, LbKind::Nat)
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        1,
        "no protocol set - defaulting to UDP",
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        1,
        "no scheduler set, setting default 'wlc'",
    );
    // Checker settings inherit checker → real_server → virtual_server → default.
    let c = &vs.real_servers[0].checkers[0].common;
    assert_eq!(
        (
            c.retry,
            c.delay_before_retry,
            c.connect_timeout,
            c.delay_loop
        ),
        (
            1,
            Micros::from_secs(1),
            Micros::from_secs(5),
            Micros::from_secs(60)
        )
    );
    let l = ok(concat!(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  delay_loop 10\n  retry 4\n",
        "  real_server 192.0.2.2 80 {\n    connect_timeout 2\n    MISC_CHECK {\n      misc_path \"/bin/check 'a b'\"\n    }\n",
        "    HTTP_GET {\n      retry 7\n      url {\n        path /\n        digest 0123456789abcdef0123456789abcdef\n      }\n    }\n  }\n}\n",
    ));
    let rs = &l.config.virtual_servers[0].real_servers[0];
    let (m, h) = (&rs.checkers[0], &rs.checkers[1]);
    assert_eq!(
        (m.common.retry, m.common.connect_timeout, m.common.warmup),
        (4, Micros::from_secs(2), Micros::from_secs(10))
    );
    assert_eq!(
        (h.common.retry, h.common.delay_before_retry),
        (7, Micros::from_secs(3))
    );
    match &m.kind {
        CheckerKind::Misc(x) => assert_eq!(x.script.argv, vec!["/bin/check", "a b"]),
        k => panic!("{k:?}"),
    }
}

#[test]
fn startup_consistency_fixes_warn() {
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass x\n  }\n  track_interface {\n    eth0\n  }\n",
    ));
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.state, InitialState::Backup);
    assert!(vi.track_interface.is_empty());
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        15,
        "(VI_1) Initial state master is incompatible with AH authentication - clearing",
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        15,
        "(VI_1) Ignoring track_interface eth0 since own interface",
    );
    // Unset lower-priority GARP settings follow the master ones (keepalived:
    // PARAMETER_UNSET -> garp_rep / garp_delay); set ones are kept.
    let l = ok(VI);
    let g = &l.config.vrrp_instances[0].garp;
    assert_eq!(
        (g.lower_prio_repeat, g.lower_prio_delay),
        (5, Micros::from_secs(5))
    );
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  garp_master_repeat 3\n  garp_lower_prio_repeat 0\n",
    ));
    let g = &l.config.vrrp_instances[0].garp;
    assert_eq!((g.lower_prio_repeat, g.master_repeat), (0, 3));
    let l = ok(&format!(
        "global_defs {{\n  vrrp_garp_lower_prio_repeat 1\n}}\n{VI}"
    ));
    assert_eq!(l.config.vrrp_instances[0].garp.lower_prio_repeat, 1);
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  strict_mode\n  state MASTER\n  priority 100\n  higher_prio_send_advert\n  garp_lower_prio_repeat 2\n",
    ));
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(
        (
            vi.state,
            vi.higher_prio_send_advert,
            vi.garp.lower_prio_repeat,
            vi.lower_prio_no_advert
        ),
        (InitialState::Backup, false, 0, true)
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        15,
        "State MASTER must match being address owner",
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        15,
        "Strict mode requires no repeat garps. resetting",
    );
    let l = ok(&VI.replace(
        "  interface eth0\n",
        "  interface eth0\n  priority 255\n  nopreempt\n",
    ));
    assert!(!l.config.vrrp_instances[0].nopreempt);
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        15,
        "nopreempt is incompatible with priority 255",
    );
}

#[test]
fn virtual_server_groups_and_fwmark() {
    let l = ok(concat!(
        "virtual_server_group web {\n  192.0.2.1-5 80\n  198.51.100.0/30 443\n  fwmark 7\n}\n",
        "virtual_server group web {\n  protocol TCP\n  lb_algo sh\n  lb_kind TUN type gue port 6080\n  real_server 192.0.2.50 80 {\n  }\n}\n",
        "virtual_server fwmark 9 {\n  lb_algo rr\n  lb_kind DR\n  real_server 192.0.2.9 {\n  }\n}\n",
    ));
    let g = &l.config.virtual_server_groups[0];
    assert_eq!(
        g.entries[0],
        VsgEntry::Range {
            first: "192.0.2.1".parse().unwrap(),
            last: "192.0.2.5".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(
        g.entries[1],
        VsgEntry::Range {
            first: "198.51.100.0".parse().unwrap(),
            last: "198.51.100.3".parse().unwrap(),
            port: 443
        }
    );
    assert_eq!(
        g.entries[2],
        VsgEntry::Fwmark {
            mark: 7,
            family: None
        }
    );
    assert_eq!(
        l.config.virtual_servers[0].lb_kind,
        LbKind::Tun(TunnelType::Gue { port: 6080 })
    );
    assert_eq!(l.config.virtual_servers[1].key, VsKey::Fwmark(9));
    let d = failed("virtual_server group nope {\n  protocol TCP\n}\n");
    has(&d, Severity::Error, 1, 22, "names no virtual_server_group");
}

#[test]
fn virtual_server_without_real_servers_is_ignored_as_upstream() {
    let l = ok("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n  sorry_server 192.0.2.9 80\n}\n");
    assert!(l.config.virtual_servers.is_empty());
    has(
        &l.diagnostics,
        Severity::Warning,
        1,
        1,
        "Virtual server [192.0.2.1]:80 has no real servers - ignoring",
    );
}

#[test]
fn script_commands_and_notify_users() {
    let l = ok(&format!(
        "vrrp_script a {{\n  script killall -0 nginx\n}}\nvrrp_script b {{\n  script \"/bin/sh -c 'exit 0'\"\n  user nobody nogroup\n}}\n{}",
        VI.replace("  interface eth0\n", "  interface eth0\n  notify_master \"/etc/keepalived/notify.sh master\" root\n  notify /bin/n\n")
    ));
    let c = &l.config;
    assert_eq!(
        c.vrrp_scripts[0].script.argv,
        vec!["killall", "-0", "nginx"]
    );
    assert_eq!(
        c.vrrp_scripts[1].script.argv,
        vec!["/bin/sh", "-c", "exit 0"]
    );
    assert_eq!(
        c.vrrp_scripts[1].user,
        Some(RunAs {
            user: "nobody".into(),
            group: Some("nogroup".into())
        })
    );
    let n = &c.vrrp_instances[0].notify;
    assert_eq!(
        n.master,
        Some(Script {
            argv: vec!["/etc/keepalived/notify.sh".into(), "master".into()],
            user: Some("root".into()),
            group: None
        })
    );
    assert_eq!(n.any.as_ref().unwrap().argv, vec!["/bin/n"]);
}

#[test]
fn interface_references_are_located() {
    let l = ok(concat!(
        "child_wait_time 7\n",
        "global_defs {\n  lvs_sync_daemon eth9 inst VI_1\n}\n",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n",
        "  virtual_ipaddress {\n    192.0.2.10/24 dev eth1\n  }\n  track_interface {\n    eth2 weight -5\n  }\n}\n",
    ));
    assert_eq!(l.config.child_wait_time, Micros::from_secs(7));
    let got: Vec<(&str, &str, u32, u32)> = l
        .interfaces
        .iter()
        .map(|r| (r.name.as_str(), r.used_by.as_str(), r.line, r.col))
        .collect();
    assert_eq!(
        got,
        vec![
            ("eth9", "lvs_sync_daemon", 3, 19),
            ("eth0", "vrrp_instance VI_1", 6, 13),
            ("eth1", "ip address 192.0.2.10/24", 9, 23),
            ("eth2", "track_interface of VI_1", 12, 5),
        ]
    );
    let d = l.interfaces[1].missing();
    assert!(d.to_string().ends_with("keepalived.conf:6:13: warning: WARNING - interface eth0 for vrrp_instance VI_1 doesn't exist"), "{d}");
}

#[test]
fn config_round_trips_through_serde() {
    for name in ["001-kpmaster-dual.conf", "004-node1.conf"] {
        let c = sample(name).config;
        let json = serde_json::to_string(&c).unwrap();
        let back: Config = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/keepalived.conf");
    let c = load_path(&p, None, false).unwrap().config;
    let back: Config = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn diagnostic_display_format() {
    let d = failed(&VI.replace("  interface eth0\n", "  interface eth0\n  priorty 1\n"));
    let s = d[0].to_string();
    assert!(s.ends_with("keepalived.conf:3:3: error: Unknown keyword 'priorty' in vrrp_instance - did you mean 'priority'?"), "{s}");
}

#[test]
fn missing_main_file_fails() {
    let f = load_path(Path::new("/nonexistent/keepalived.conf"), None, false).unwrap_err();
    assert!(f.diagnostics[0]
        .message
        .contains("Unable to find configuration file"));
}

#[test]
fn large_config_parses_quickly() {
    // 20,000 real servers; the bound here is loose (debug build on a shared
    // machine); the release figure is in notes/config.md.
    let mut s =
        String::from("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n");
    for i in 0..20_000u32 {
        s.push_str(&format!(
            "  real_server 10.{}.{}.{} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n",
            1 + i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    s.push_str("}\n");
    let t = std::time::Instant::now();
    let l = ok(&s);
    let el = t.elapsed();
    assert_eq!(l.config.virtual_servers[0].real_servers.len(), 20_000);
    assert!(el.as_secs() < 10, "took {el:?}");
}
