//! On a kernel without IPVS (this host), keepalived 2.2.7 and ours, run in a
//! throw-away namespace with the same `virtual_server` config and `-C`,
//! both log `IPVS: Can't initialize ipvs: No such file or directory` and
//! `Shutting down service ... from VS ...`, the checker exits with a
//! permanent FATAL error and the daemon stops with status 1.
//! Needs root and /usr/sbin/keepalived; skipped otherwise.

use std::time::Duration;

use keepalived_integration::daemon::Daemon;
use keepalived_integration::netns::Netns;

const CONFIG: &str = "global_defs {\n  router_id T1\n}\n\
virtual_server 192.0.2.10 80 {\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
  real_server 127.0.0.1 8080 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n}\n";

const LINES: [&str; 2] = [
    "IPVS: Can't initialize ipvs: No such file or directory",
    "Shutting down service [127.0.0.1]:tcp:8080 from VS [192.0.2.10]:tcp:80",
];

#[test]
fn ipvs_missing_stops_like_keepalived_2_2_7() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: not root");
        return;
    }
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: this kernel has IPVS");
        return;
    }
    let ns = Netns::new("ckipvs").expect("netns");

    // The reference.
    if std::path::Path::new("/usr/sbin/keepalived").exists() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("k.conf");
        std::fs::write(&conf, CONFIG).unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        let out = ns
            .command("timeout")
            .args(["20", "/usr/sbin/keepalived", "-n", "-l", "-C", "-f"])
            .arg(&conf)
            .args(["-p", &p("p.pid"), "-c", &p("c.pid"), "-r", &p("r.pid")])
            .output()
            .expect("run keepalived");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "keepalived 2.2.7:\n{text}");
        for l in LINES {
            assert!(
                text.contains(l),
                "keepalived 2.2.7 did not log {l:?}:\n{text}"
            );
        }
        assert!(
            text.contains("exited with permanent error FATAL. Terminating"),
            "{text}"
        );
    } else {
        eprintln!("keepalived 2.2.7 not installed: checking ours only");
    }

    // Ours.
    let mut d = Daemon::start(&ns, CONFIG, &["-C"]).expect("start ours");
    let status = d
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("ours kept running\n{}", d.log()));
    let log = d.log();
    assert_eq!(status.code(), Some(1), "{log}");
    for l in LINES {
        assert!(log.contains(l), "ours did not log {l:?}:\n{log}");
    }
    assert!(
        log.contains("Keepalived_healthcheckers exited with permanent error FATAL. Terminating"),
        "{log}"
    );
    assert!(!log.contains("Respawning"), "{log}");
}
