//! The binary's command line and `-t` exit codes (no root, no daemon).

use std::process::{Command, Output};

fn ka(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .output()
        .expect("run keepalived")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn conf(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn config_test_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let clean = conf(&d, "clean.conf", "global_defs {\n    router_id t\n}\n");
    let o = ka(&["-t", "-f", &clean]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");

    let missing_if = conf(
        &d,
        "warn.conf",
        "vrrp_instance VI_1 {\n    interface ka-no-such0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n",
    );
    let o = ka(&["-t", "-f", &missing_if]);
    assert_eq!(o.status.code(), Some(3), "warnings only\n{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{missing_if}: warning: interface ka-no-such0 for vrrp_instance VI_1 doesn't exist"
        )),
        "{}",
        stderr(&o)
    );

    let broken = conf(&d, "broken.conf", "global_defs {\n    router_id t\n");
    let o = ka(&["-t", "-f", &broken]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("{broken}:1:")),
        "file:line:col first\n{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(": error: "));

    let nofile = d.path().join("none.conf").to_string_lossy().into_owned();
    let o = ka(&["--config-test", "-f", &nofile]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(stderr(&o), format!("Config files missing '{nofile}'.\n"));

    // -t=FILE appends the report to FILE instead of stderr.
    let out = d.path().join("report.txt");
    let arg = format!("--config-test={}", out.display());
    let o = ka(&[&arg, "-f", &broken]);
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(stderr(&o), "");
    assert!(std::fs::read_to_string(&out).unwrap().contains(": error: "));
}

#[test]
fn options_like_keepalived_2_2_7() {
    let o = ka(&["-Z"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "Unknown option -Z\n");
    let o = ka(&["--bogus"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(1), "Unknown option --bogus\n".to_string())
    );
    let o = ka(&["-f"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(1), "Missing parameter for option -f\n".to_string())
    );
    let o = ka(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "usage goes to stderr, as 2.2.7");
    assert!(stderr(&o).starts_with("Usage: keepalived [OPTION...]\n  -f, --use-file=FILE"));
    let o = ka(&["-v"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).starts_with("Keepalived v2.2.7 (keepalived-rs "),
        "{}",
        stderr(&o)
    );
    for (name, num) in [
        ("STOP", "15"),
        ("RELOAD", "1"),
        ("DATA", "10"),
        ("STATS", "12"),
        ("STATS_CLEAR", "63"),
        ("JSON", "36"),
    ] {
        let o = ka(&[&format!("--signum={name}")]);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), num, "{name}");
    }
    let o = ka(&["--signum=FOO"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(1), "Unknown sigfunc FOO\n".to_string())
    );
}

#[test]
fn config_test_security_violation_is_6() {
    // /bin/true is root-owned and not writable by others: a found script.
    // Without enable_script_security keepalived 2.2.7 reports a
    // CONFIG_SECURITY_ERROR and `-t` exits 6; with it (and script_user),
    // nothing is reported for this script.
    let d = tempfile::tempdir().unwrap();
    let body = "vrrp_script chk {\n    script \"/bin/true\"\n}\n\
                vrrp_instance VI_1 {\n    interface ka-no-such0\n    virtual_router_id 51\n    priority 100\n\
                virtual_ipaddress {\n        192.0.2.1\n    }\n    track_script {\n        chk\n    }\n}\n";
    let off = conf(&d, "off.conf", body);
    let o = ka(&["-t", "-f", &off]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stderr(&o).lines().any(|l| l
            == "SECURITY VIOLATION - scripts are being executed but script_security not enabled."),
        "{}",
        stderr(&o)
    );
    let on = conf(
        &d,
        "on.conf",
        &format!("global_defs {{\n    enable_script_security\n    script_user root\n}}\n{body}"),
    );
    let o = ka(&["-t", "-f", &on]);
    assert_ne!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(!stderr(&o).contains("SECURITY VIOLATION"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Disabling"), "{}", stderr(&o));
}
