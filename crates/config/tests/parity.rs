//! keepalived 2.4 `auth_hmac` keywords and the vrrp_strict "VIP will not
//! accept traffic" warning.

use keepalived_config::*;

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

const HEX32: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn inst(globals: &str, body: &str) -> String {
    format!(
        "global_defs {{\n{globals}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 3\n virtual_ipaddress {{\n  192.0.2.10\n  192.0.2.11\n }}\n{body}\n}}\n"
    )
}

#[test]
fn auth_hmac_block_is_typed_with_defaults() {
    let l = load_text(&inst(
        "",
        &format!(" auth_hmac {{\n  key 1 {HEX32}\n  key 2 file:/etc/keepalived/keys/k2\n  key 3 0123456789abcdef0123456789abcdef\n  active_key 1\n }}"),
    ))
    .unwrap();
    let a = l.config.vrrp_instances[0].auth_hmac.clone().unwrap();
    assert_eq!(
        a,
        AuthHmac {
            keys: vec![
                HmacKey {
                    id: 1,
                    value: HmacKeyValue::Inline((0u8..32).collect())
                },
                HmacKey {
                    id: 2,
                    value: HmacKeyValue::File("/etc/keepalived/keys/k2".into())
                },
                HmacKey {
                    id: 3,
                    value: HmacKeyValue::Inline(b"0123456789abcdef0123456789abcdef".to_vec())
                },
            ],
            active_key: 1,
            mode: HmacMode::Enforce,
            anti_replay_time: true,
            // max(3 x 3 s, 5)
            time_window: 9,
        }
    );
    // Key material never appears in Debug output.
    let dbg = format!("{:?}", l.config.vrrp_instances[0]);
    assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
    assert!(dbg.contains("HmacKey { id: 1, 32 octets }"));
}

#[test]
fn auth_hmac_errors_are_located() {
    let d = load_text(&inst(
        "",
        " auth_hmac {\n  key 0 abc\n  key 1 short\n  key 2 hex:0g\n  active_key 7\n  time_window 301\n  anti_replay sometimes\n  mode lax\n }",
    ))
    .unwrap_err()
    .diagnostics;
    has(
        &d,
        Severity::Error,
        14,
        7,
        "auth_hmac key id '0' must be between 1 and 255",
    );
    has(
        &d,
        Severity::Error,
        15,
        9,
        "auth_hmac key 1 length 5 not in range [32, 64]",
    );
    has(
        &d,
        Severity::Error,
        16,
        9,
        "auth_hmac key 2: invalid hex value",
    );
    has(
        &d,
        Severity::Error,
        17,
        14,
        "auth_hmac active_key 7 is not defined",
    );
    has(
        &d,
        Severity::Error,
        18,
        15,
        "time_window '301' must be between 1 and 300 seconds",
    );
    has(
        &d,
        Severity::Error,
        19,
        15,
        "anti_replay 'sometimes' must be time or monotonic",
    );
    has(
        &d,
        Severity::Error,
        20,
        8,
        "mode 'lax' must be enforce, permissive or receive-only",
    );
}

#[test]
fn auth_hmac_replaces_legacy_auth_and_strict_forces_enforce() {
    let l = load_text(&inst(
        "",
        &format!(" authentication {{\n  auth_type PASS\n  auth_pass secret\n }}\n auth_hmac {{\n  key 1 {HEX32}\n  active_key 1\n  mode receive-only\n }}"),
    ))
    .unwrap();
    let v = &l.config.vrrp_instances[0];
    assert!(v.authentication.is_none());
    assert_eq!(v.auth_hmac.as_ref().unwrap().mode, HmacMode::ReceiveOnly);
    has(
        &l.diagnostics,
        Severity::Warning,
        13,
        2,
        "auth_hmac cannot be combined with authentication, dropping legacy auth",
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        20,
        8,
        "mode receive-only accepts unsigned adverts",
    );

    let l = load_text(&inst(
        " vrrp_strict",
        &format!(" version 3\n accept\n auth_hmac {{\n  key 1 {HEX32}\n  active_key 1\n  mode permissive\n }}"),
    ))
    .unwrap();
    assert_eq!(
        l.config.vrrp_instances[0].auth_hmac.as_ref().unwrap().mode,
        HmacMode::Enforce
    );
    has(
        &l.diagnostics,
        Severity::Warning,
        18,
        8,
        "strict mode requires auth_hmac mode enforce",
    );
}

#[test]
fn key_file_permissions_and_contents() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k");
    std::fs::write(&p, format!("{HEX32}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        auth::read_key_file(&p),
        Err(auth::KeyFileError::TooOpen(0o644))
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        auth::read_key_file(&p).unwrap(),
        (0u8..32).collect::<Vec<u8>>()
    );
    std::fs::write(&p, "tooshort").unwrap();
    assert_eq!(auth::read_key_file(&p), Err(auth::KeyFileError::BadKey(8)));
}

#[test]
fn strict_without_accept_says_the_vip_will_not_accept_traffic() {
    let l = load_text(&inst(" vrrp_strict", "")).unwrap();
    let v = &l.config.vrrp_instances[0];
    assert!(v.needs_vip_firewall());
    has(
        &l.diagnostics,
        Severity::Warning,
        4,
        15,
        "(VI_1) VIP 192.0.2.10 (and 1 more) will not accept traffic when MASTER: priority 100 < 255 and 'accept' is not set under vrrp_strict/strict_mode - keepalived drops packets to it (nftables table keepalived); VRRPv2 strict mode cannot use accept",
    );
    // v3 with accept: no warning, no firewall.
    let l = load_text(&inst(" vrrp_strict", " version 3\n accept")).unwrap();
    assert!(!l.config.vrrp_instances[0].needs_vip_firewall());
    assert!(!render(&l.diagnostics).contains("will not accept traffic"));
    // no_accept without strict: the same trap, named.
    let l = load_text(&inst("", " no_accept")).unwrap();
    assert!(render(&l.diagnostics).contains("'no_accept' is set - keepalived drops packets to it (nftables table keepalived); add 'accept' to the instance to reach them"));
    // The owner always accepts.
    let l = load_text(&inst(" vrrp_strict", " priority 255")).unwrap();
    assert!(!l.config.vrrp_instances[0].needs_vip_firewall());
    assert!(!render(&l.diagnostics).contains("will not accept traffic"));
}

#[test]
fn key_files_are_listed_with_their_location_and_checked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k1");
    std::fs::write(&k, format!("{HEX32}\n")).unwrap();
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o640)).unwrap();
    let l = load_text(&inst(
        "",
        &format!(
            " auth_hmac {{\n  key 1 file:{}\n  active_key 1\n }}",
            k.display()
        ),
    ))
    .unwrap();
    let r = &l.key_files[0];
    assert_eq!(
        (r.instance.as_str(), r.id, r.line, r.col),
        ("VI_1", 1, 14, 9)
    );
    let d = r.check().unwrap_err();
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        format!(
            "(VI_1) auth_hmac key file '{}' is readable by group or others (mode 640)",
            k.display()
        )
    );
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(r.check().unwrap(), (0u8..32).collect::<Vec<u8>>());
}

#[test]
fn strict_mode_with_unicast_peers_is_flagged() {
    let l = load_text(&inst(
        " vrrp_strict",
        " version 3\n accept\n unicast_src_ip 192.0.2.1\n unicast_peer {\n  192.0.2.2\n }",
    ))
    .unwrap();
    has(
        &l.diagnostics,
        Severity::Warning,
        4,
        15,
        "Unicast peers are not supported in strict mode",
    );
}
