//! Two keepalived-rs nodes on a bridge (root, namespaces made here).
//! Timing bounds follow RFC 3768 / RFC 5798 with priority 90 on the backup:
//! skew = (256 − 90) / 256 × adv = 0.648 s (adv 1) / 0.0648 s (adv 0.1);
//! master-down = 3 × adv + skew = 3.648 s / 0.3648 s.

#[path = "../src/vrrp_topology.rs"]
mod vrrp_topology;

use std::time::Duration;
use vrrp_topology::{run_parallel, sole_holder_for, wait_holder, Daemon, Impl, Inst, Lan};

const VIP: &str = "192.0.2.200";

fn pair(lan: &Lan, a: Inst, b: Inst) -> (Daemon, Daemon) {
    let d1 = Daemon::start(lan, 1, Impl::Ours, &a.conf("n1"));
    let d2 = Daemon::start(lan, 2, Impl::Ours, &b.conf("n2"));
    (d1, d2)
}

fn report(what: &str, d: Duration) {
    eprintln!("MEASURED {what}: {:.3} s", d.as_secs_f64());
}

/// Election, then SIGTERM of the master: priority 0, takeover in ≈ skew.
fn election_and_sigterm() {
    let lan = Lan::new("el", 2);
    let (d1, d2) = pair(
        &lan,
        Inst {
            priority: 100,
            ..Default::default()
        },
        Inst {
            priority: 90,
            ..Default::default()
        },
    );
    let t = wait_holder(&lan, VIP, 1, Duration::from_secs(6));
    assert!(t.is_some(), "node 1 never MASTER:\n{}", d1.log_text());
    assert!(
        sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)),
        "VIP not only on node 1: {:?}",
        lan.holders(VIP)
    );
    assert!(d1.logged("(VI_1) Entering MASTER STATE"));
    assert!(d2.logged("(VI_1) Entering BACKUP STATE (init)"));
    assert!(!d2.logged("Entering MASTER STATE"), "{}", d2.log_text());
    d1.term();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(5)).expect("no takeover");
    report("ours->ours SIGTERM takeover adv 1", t);
    assert!(t < Duration::from_secs(1), "takeover took {t:?}");
    assert!(t > Duration::from_millis(500), "takeover too early {t:?}");
    assert!(!lan.has_addr(1, VIP), "VIP left on the stopped node");
    assert!(d1.logged("(VI_1) sent 0 priority"));
}

/// A higher priority node started later preempts.
fn preemption() {
    let lan = Lan::new("pr", 2);
    let d2 = Daemon::start_prio(&lan, 2, Impl::Ours, 90);
    wait_holder(&lan, VIP, 2, Duration::from_secs(6)).expect("node 2 alone never MASTER");
    let d1 = Daemon::start_prio(&lan, 1, Impl::Ours, 100);
    let t = wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("no preemption");
    report("preemption by a higher priority", t);
    assert!(lan
        .wait_for(Duration::from_secs(2), || !lan.has_addr(2, VIP))
        .is_some());
    assert!(d1.logged("received lower priority (90) advert from 192.0.2.12 - discarding"));
    assert!(d2.logged("Master received advert from 192.0.2.11 with higher priority 100, ours 90"));
}

/// `nopreempt`: the higher-priority late comer stays BACKUP.
fn nopreempt() {
    let lan = Lan::new("np", 2);
    let _d2 = Daemon::start(
        &lan,
        2,
        Impl::Ours,
        &Inst {
            priority: 90,
            nopreempt: true,
            ..Default::default()
        }
        .conf("n2"),
    );
    wait_holder(&lan, VIP, 2, Duration::from_secs(6)).expect("node 2 alone never MASTER");
    let d1 = Daemon::start(
        &lan,
        1,
        Impl::Ours,
        &Inst {
            priority: 100,
            nopreempt: true,
            ..Default::default()
        }
        .conf("n1"),
    );
    assert!(
        sole_holder_for(&lan, VIP, 2, Duration::from_secs(6)),
        "nopreempt violated: {:?}\n{}",
        lan.holders(VIP),
        d1.log_text()
    );
}

/// Crash (SIGKILL of child and parent): takeover after master-down; the
/// restarted node removes its leftover VIP and preempts back.
fn crash_failover() {
    let lan = Lan::new("cr", 2);
    let (d1, d2) = pair(
        &lan,
        Inst {
            priority: 100,
            ..Default::default()
        },
        Inst {
            priority: 90,
            ..Default::default()
        },
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    std::thread::sleep(Duration::from_millis(300));
    d1.crash();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(6)).expect("no takeover");
    report("ours->ours crash takeover adv 1", t);
    // master-down 3.648 s minus the age of the last advert (0..1 s).
    assert!(t > Duration::from_millis(2500), "{t:?}");
    assert!(t < Duration::from_millis(3800), "{t:?}");
    assert!(
        lan.has_addr(1, VIP),
        "a crashed node keeps its VIP (kernel state)"
    );
    drop(d1);
    let d1b = Daemon::start_prio(&lan, 1, Impl::Ours, 100);
    assert!(lan
        .wait_for(Duration::from_secs(2), || d1b
            .logged("Removing leftover VIP 192.0.2.200"))
        .is_some());
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("restarted node 1 never MASTER");
    assert!(lan
        .wait_for(Duration::from_secs(2), || !lan.has_addr(2, VIP))
        .is_some());
    drop(d2);
}

/// track_script with weight −20: failure drops node 1 below node 2 and
/// back.
fn track_script_weight() {
    let lan = Lan::new("ts", 2);
    let flag = lan.dir.join("healthy");
    std::fs::write(&flag, "1").unwrap();
    let top = format!(
        "vrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  weight -20\n}}\n",
        flag.display()
    );
    let (d1, _d2) = pair(
        &lan,
        Inst {
            priority: 100,
            top,
            extra: "  track_script {\n    chk\n  }\n".into(),
            ..Default::default()
        },
        Inst {
            priority: 90,
            ..Default::default()
        },
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    std::fs::remove_file(&flag).unwrap();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(8)).expect("no failover on script");
    report("track_script failure failover", t);
    assert!(d1.logged("VRRP_Script(chk) failed"), "{}", d1.log_text());
    assert!(d1.logged("(VI_1) Changing effective priority from 100 to 80"));
    assert!(lan
        .wait_for(Duration::from_secs(2), || !lan.has_addr(1, VIP))
        .is_some());
    std::fs::write(&flag, "1").unwrap();
    let t = wait_holder(&lan, VIP, 1, Duration::from_secs(8)).expect("no recovery");
    report("track_script recovery preemption", t);
    assert!(d1.logged("VRRP_Script(chk) succeeded"));
    assert!(d1.logged("(VI_1) Changing effective priority from 80 to 100"));
}

/// VRRPv3, advert_int 0.1: fast election, priority 0 and crash takeover.
fn v3_fast() {
    let lan = Lan::new("v3", 2);
    let mk = |p: u8| Inst {
        priority: p,
        version: 3,
        advert: "0.1",
        ..Default::default()
    };
    let (d1, d2) = pair(&lan, mk(100), mk(90));
    wait_holder(&lan, VIP, 1, Duration::from_secs(3)).expect("node 1 never MASTER");
    assert!(sole_holder_for(&lan, VIP, 1, Duration::from_secs(1)));
    d1.term();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(3)).expect("no takeover");
    report("ours->ours SIGTERM takeover v3 adv 0.1", t);
    assert!(t < Duration::from_millis(200), "{t:?}");
    drop(d1);
    // Crash of the new master: node 1 restarted takes over after 0.3648 s.
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &mk(100).conf("n1"));
    wait_holder(&lan, VIP, 1, Duration::from_secs(3)).expect("node 1 never MASTER again");
    assert!(lan
        .wait_for(Duration::from_secs(1), || !lan.has_addr(2, VIP))
        .is_some());
    std::thread::sleep(Duration::from_millis(500));
    d1.crash();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(3)).expect("no crash takeover");
    report("ours->ours crash takeover v3 adv 0.1", t);
    assert!(t > Duration::from_millis(200), "{t:?}");
    assert!(t < Duration::from_millis(500), "{t:?}");
    drop(d2);
}

/// Unicast peers.
fn unicast() {
    let lan = Lan::new("uc", 2);
    let (d1, _d2) = pair(
        &lan,
        Inst {
            priority: 100,
            unicast: Some((1, vec![2])),
            ..Default::default()
        },
        Inst {
            priority: 90,
            unicast: Some((2, vec![1])),
            ..Default::default()
        },
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    assert!(sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)));
    d1.term();
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(5)).expect("no takeover");
    report("ours->ours unicast SIGTERM takeover", t);
    assert!(t < Duration::from_secs(1), "{t:?}");
}

/// SIGHUP with the same configuration: no transition, VIP kept; stats dump.
fn reload_and_stats() {
    let lan = Lan::new("rl", 1);
    let conf = Inst {
        priority: 100,
        ..Default::default()
    }
    .conf("n1");
    let tmp = lan.dir.to_string_lossy().to_string();
    let d1 = Daemon::start_env(&lan, 1, Impl::Ours, &conf, &[("TMPDIR", &tmp)]);
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    std::thread::sleep(Duration::from_millis(500));
    let before = d1.log_text().matches("Entering").count();
    let garps = d1.log_text().matches("Sending gratuitous ARP on").count();
    d1.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(lan
        .wait_for(Duration::from_secs(5), || d1.logged("Reload"))
        .is_some());
    assert!(sole_holder_for(&lan, VIP, 1, Duration::from_secs(2)));
    let log = d1.log_text();
    assert_eq!(log.matches("Entering").count(), before, "{log}");
    // Only the delayed second burst (5 s after MASTER) may have been sent.
    let garps_after = log.matches("Sending gratuitous ARP on").count();
    assert!(garps_after == garps || garps_after == garps + 5, "{log}");
    d1.signal(nix::sys::signal::Signal::SIGUSR2);
    let stats = lan.dir.join("keepalived.stats");
    assert!(lan
        .wait_for(Duration::from_secs(3), || stats.exists())
        .is_some());
    let s = std::fs::read_to_string(&stats).unwrap();
    assert!(
        s.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n"),
        "{s}"
    );
    assert!(s.contains("  Became master: 1\n"), "{s}");
    d1.signal(nix::sys::signal::Signal::SIGUSR1);
    let data = lan.dir.join("keepalived.data");
    assert!(lan
        .wait_for(Duration::from_secs(3), || std::fs::read_to_string(&data)
            .unwrap_or_default()
            .contains(" VRRP Instance = VI_1\n"))
        .is_some());
    let s = std::fs::read_to_string(&data).unwrap();
    assert!(s.contains("   State = MASTER\n"), "{s}");
    assert!(s.contains("   Virtual Router ID = 51\n"), "{s}");
}

/// `-V` (--dont-release-vrrp): a stopping MASTER still sends priority 0
/// but leaves its VIPs.
fn dont_release_vrrp() {
    let lan = Lan::new("dr", 1);
    let conf = Inst {
        priority: 100,
        ..Default::default()
    }
    .conf("n1");
    let mut d1 = Daemon::start_full(&lan, 1, Impl::Ours, &conf, &[], &["-V"]);
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    d1.term();
    d1.wait_exit(Duration::from_secs(5));
    assert!(d1.logged("(VI_1) sent 0 priority"), "{}", d1.log_text());
    assert!(lan.has_addr(1, VIP), "VIP released despite -V");
}

fn sync_conf(router: &str, prio: u8, flag: Option<&std::path::Path>) -> String {
    let mut s = format!("global_defs {{\n  router_id {router}\n}}\n");
    if let Some(f) = flag {
        s += &format!(
            "vrrp_script alive {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n}}\n",
            f.display()
        );
    }
    s += "vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n}\n";
    for (name, vrid, vip) in [("VI_1", 51, "192.0.2.200"), ("VI_2", 52, "192.0.2.201")] {
        s += &format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 1\n"
        );
        if flag.is_some() && name == "VI_2" {
            s += "  track_script {\n    alive\n  }\n";
        }
        s += &format!("  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n");
    }
    s
}

/// vrrp_sync_group: a member faulting (weight-0 script) takes the whole
/// group to the other node, and back.
fn sync_group() {
    let lan = Lan::new("sg", 2);
    let flag = lan.dir.join("alive");
    std::fs::write(&flag, "1").unwrap();
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &sync_conf("n1", 100, Some(&flag)));
    let _d2 = Daemon::start(&lan, 2, Impl::Ours, &sync_conf("n2", 90, None));
    for vip in [VIP, "192.0.2.201"] {
        wait_holder(&lan, vip, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    }
    std::fs::remove_file(&flag).unwrap();
    for vip in [VIP, "192.0.2.201"] {
        let t = wait_holder(&lan, vip, 2, Duration::from_secs(8))
            .unwrap_or_else(|| panic!("{vip} did not move:\n{}", d1.log_text()));
        report("sync group member fault -> group moves", t);
    }
    assert!(
        d1.logged("VRRP_Group(G1) Syncing instances to FAULT state"),
        "{}",
        d1.log_text()
    );
    assert!(lan.holders(VIP) == vec![2] && lan.holders("192.0.2.201") == vec![2]);
    std::fs::write(&flag, "1").unwrap();
    for vip in [VIP, "192.0.2.201"] {
        wait_holder(&lan, vip, 1, Duration::from_secs(8)).expect("group never came back");
    }
    assert!(d1.logged("VRRP_Group(G1) Syncing instances to MASTER state"));
}

/// The master's link goes down: FAULT, the backup takes over; link up:
/// BACKUP, then preemption.
fn link_down_fault() {
    let lan = Lan::new("ld", 2);
    let (d1, _d2) = pair(
        &lan,
        Inst {
            priority: 100,
            ..Default::default()
        },
        Inst {
            priority: 90,
            ..Default::default()
        },
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    assert!(lan.ip(1, &["link", "set", "eth0", "down"]));
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(6)).expect("no takeover on link down");
    report("link down takeover", t);
    assert!(
        lan.wait_for(Duration::from_secs(2), || d1
            .logged("(VI_1) Entering FAULT STATE"))
            .is_some(),
        "{}",
        d1.log_text()
    );
    assert!(!lan.has_addr(1, VIP));
    assert!(lan.ip(1, &["link", "set", "eth0", "up"]));
    wait_holder(&lan, VIP, 1, Duration::from_secs(8)).expect("no recovery after link up");
    assert!(d1.logged("(VI_1) Entering BACKUP STATE"));
}

/// A VIP deleted by hand on the master is restored.
fn vip_deleted_by_hand() {
    let lan = Lan::new("vd", 1);
    let d1 = Daemon::start_prio(&lan, 1, Impl::Ours, 100);
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    assert!(lan.ip(1, &["addr", "del", "192.0.2.200/24", "dev", "eth0"]));
    let t = wait_holder(&lan, VIP, 1, Duration::from_secs(2)).expect("VIP not restored");
    report("VIP restored after manual delete", t);
    // garp_master_repeat 5 at once, the same after garp_master_delay 5 s.
    let garps = || {
        d1.log_text()
            .matches("Sending gratuitous ARP on eth0 for 192.0.2.200")
            .count()
    };
    assert_eq!(garps(), 5, "{}", d1.log_text());
    let t = lan
        .wait_for(Duration::from_secs(7), || garps() == 10)
        .expect("no second GARP burst");
    report("second GARP burst, garp_master_delay 5 s", t);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(garps(), 10);
    assert!(d1.logged("(VI_1) VIP 192.0.2.200 was removed by someone else - restoring it"));
}

/// notify scripts (state script and generic `notify` with its 4
/// arguments, in order) and notify_fifo lines.
fn notify_and_fifo() {
    let lan = Lan::new("nf", 1);
    let out = lan.dir.join("notify.out");
    let script = lan.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", out.display()),
    );
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let fifo = lan.dir.join("notify.fifo");
    let fifo_out = lan.dir.join("fifo.out");
    // The FIFO reader script gets the FIFO's name as its last argument.
    let reader = lan.write(
        "reader.sh",
        &format!(
            "#!/bin/sh
exec cat \"$1\" >> {}\n",
            fifo_out.display()
        ),
    );
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&reader)
        .status()
        .unwrap();
    let mut conf = Inst {
        priority: 100,
        extra: format!(
            "  notify_master \"{s} master-script\"\n  notify \"{s}\"\n",
            s = script.display()
        ),
        ..Default::default()
    }
    .conf("n1");
    conf = conf.replacen(
        "global_defs {\n",
        &format!(
            "global_defs {{\n  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script {}\n",
            fifo.display(),
            reader.display()
        ),
        1,
    );
    let mut d1 = Daemon::start(&lan, 1, Impl::Ours, &conf);
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    assert!(lan
        .wait_for(Duration::from_secs(3), || std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("INSTANCE VI_1 MASTER 100"))
        .is_some());
    let lines = || std::fs::read_to_string(&fifo_out).unwrap_or_default();
    assert!(
        lan.wait_for(Duration::from_secs(2), || lines()
            == "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n")
            .is_some(),
        "{:?}\n{}",
        lines(),
        d1.log_text()
    );
    d1.term();
    d1.wait_exit(Duration::from_secs(5));
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        text,
        "INSTANCE VI_1 BACKUP 100\nmaster-script\nINSTANCE VI_1 MASTER 100\nINSTANCE VI_1 STOP 100\n",
    );
}

/// Reload with changes: a VIP line added to a MASTER, an instance added,
/// then an instance removed — kept instances never transition.
fn reload_changes() {
    let lan = Lan::new("rc", 1);
    let vi = |name: &str, vrid: u8, vips: &[&str]| {
        let mut s = format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n"
        );
        for v in vips {
            s += &format!("    {v}/24\n");
        }
        s + "  }\n}\n"
    };
    let head = "global_defs {\n  router_id n1\n}\n";
    let d1 = Daemon::start(
        &lan,
        1,
        Impl::Ours,
        &format!("{head}{}", vi("VI_1", 51, &[VIP])),
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    std::fs::write(
        &d1.conf,
        format!(
            "{head}{}{}",
            vi("VI_1", 51, &[VIP, "192.0.2.202"]),
            vi("VI_2", 52, &["192.0.2.201"])
        ),
    )
    .unwrap();
    d1.signal(nix::sys::signal::Signal::SIGHUP);
    wait_holder(&lan, "192.0.2.202", 1, Duration::from_secs(3)).expect("new VIP line not added");
    wait_holder(&lan, "192.0.2.201", 1, Duration::from_secs(6)).expect("new instance not MASTER");
    assert_eq!(
        d1.log_text().matches("(VI_1) Entering").count(),
        2,
        "{}",
        d1.log_text()
    );
    std::fs::write(
        &d1.conf,
        format!("{head}{}", vi("VI_2", 52, &["192.0.2.201"])),
    )
    .unwrap();
    d1.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(
        lan.wait_for(Duration::from_secs(3), || !lan.has_addr(1, VIP)
            && !lan.has_addr(1, "192.0.2.202"))
            .is_some(),
        "removed instance kept its VIPs\n{}",
        d1.log_text()
    );
    assert!(sole_holder_for(
        &lan,
        "192.0.2.201",
        1,
        Duration::from_secs(1)
    ));
    assert_eq!(
        d1.log_text().matches("(VI_2) Entering").count(),
        2,
        "{}",
        d1.log_text()
    );
}

/// A minimal SMTP server inside node `n`'s namespace (the listening thread
/// enters the namespace with setns); returns the received messages.
fn smtp_server_in(lan: &Lan, n: usize, port: u16) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let nspath = format!("/run/netns/{}", lan.ns(n));
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let f = std::fs::File::open(&nspath).expect("netns file");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let l = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind smtp");
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let _ = c.write_all(b"220 test ESMTP\r\n");
            let mut msg = String::new();
            let mut in_data = false;
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        let _ = c.write_all(b"250 ok\r\n");
                        let _ = tx.send(std::mem::take(&mut msg));
                    } else {
                        msg.push_str(&line);
                    }
                    continue;
                }
                let up = line.to_ascii_uppercase();
                let reply: &[u8] = if up.starts_with("DATA") {
                    in_data = true;
                    b"354 go\r\n"
                } else if up.starts_with("QUIT") {
                    let _ = c.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = c.write_all(reply);
            }
        }
    });
    rx
}

/// smtp_alert: a mail per state change, sent off the loop.
fn smtp_alert() {
    let lan = Lan::new("sm", 1);
    let mails = smtp_server_in(&lan, 1, 2525);
    std::thread::sleep(Duration::from_millis(100));
    let mut conf = Inst {
        priority: 100,
        extra: "  smtp_alert\n".into(),
        ..Default::default()
    }
    .conf("n1");
    conf = conf.replacen(
        "global_defs {\n",
        "global_defs {\n  notification_email {\n    ops@example.invalid\n  }\n  notification_email_from ka@example.invalid\n  smtp_server 127.0.0.1 2525\n  smtp_connect_timeout 5\n",
        1,
    );
    let d1 = Daemon::start(&lan, 1, Impl::Ours, &conf);
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("never MASTER");
    let mut got = Vec::new();
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(5)
        && !got.iter().any(|m: &String| m.contains("MASTER"))
    {
        if let Ok(m) = mails.recv_timeout(Duration::from_millis(200)) {
            got.push(m);
        }
    }
    assert!(
        got.iter().any(
            |m| m.contains("Subject: [n1] VRRP Instance VI_1 - Entering MASTER state")
                && m.contains("=> VRRP Instance is now owning VRRP VIPs <=")
        ),
        "{got:?}\n{}",
        d1.log_text()
    );
}

/// track_interface with a weight (a second link of node 1 going down drops
/// it below node 2) and track_file (value × weight).
fn track_interface_and_file() {
    let lan = Lan::new("tf", 2);
    assert!(lan.ip(
        1,
        &["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]
    ));
    assert!(lan.ip(1, &["link", "set", "eth1p", "up"]));
    assert!(lan.ip(1, &["link", "set", "eth1", "up"]));
    let tf = lan.dir.join("weight.file");
    std::fs::write(&tf, "0\n").unwrap();
    let top = format!(
        "vrrp_track_file tf {{\n  file {}\n  weight -10\n}}\n",
        tf.display()
    );
    let (d1, _d2) = pair(
        &lan,
        Inst {
            priority: 100,
            top,
            extra: "  track_interface {\n    eth1 weight -20\n  }\n  track_file {\n    tf\n  }\n"
                .into(),
            ..Default::default()
        },
        Inst {
            priority: 90,
            ..Default::default()
        },
    );
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("node 1 never MASTER");
    assert!(lan.ip(1, &["link", "set", "eth1", "down"]));
    let t = wait_holder(&lan, VIP, 2, Duration::from_secs(6)).expect("no failover on eth1 down");
    report("track_interface weight failover", t);
    assert!(d1.logged("(VI_1) Changing effective priority from 100 to 80"));
    assert!(lan.ip(1, &["link", "set", "eth1", "up"]));
    wait_holder(&lan, VIP, 1, Duration::from_secs(6)).expect("no recovery on eth1 up");
    assert!(d1.logged("(VI_1) Changing effective priority from 80 to 100"));
    std::fs::write(&tf, "2\n").unwrap();
    // 2 × −10: the second drop from 100 to 80 comes from the file.
    let drops = || {
        d1.log_text()
            .matches("(VI_1) Changing effective priority from 100 to 80")
            .count()
    };
    assert!(
        lan.wait_for(Duration::from_secs(3), || drops() == 2)
            .is_some(),
        "{}",
        d1.log_text()
    );
}

#[test]
fn vrrp_ours_scenarios() {
    if let Some(why) = vrrp_topology::unavailable(false) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    vrrp_topology::our_binary();
    run_parallel(vec![
        ("election_and_sigterm", election_and_sigterm),
        ("preemption", preemption),
        ("nopreempt", nopreempt),
        ("crash_failover", crash_failover),
        ("track_script_weight", track_script_weight),
        ("v3_fast", v3_fast),
        ("unicast", unicast),
        ("reload_and_stats", reload_and_stats),
        ("sync_group", sync_group),
        ("link_down_fault", link_down_fault),
        ("vip_deleted_by_hand", vip_deleted_by_hand),
        ("notify_and_fifo", notify_and_fifo),
        ("reload_changes", reload_changes),
        ("smtp_alert", smtp_alert),
        ("dont_release_vrrp", dont_release_vrrp),
        ("track_interface_and_file", track_interface_and_file),
    ]);
}
