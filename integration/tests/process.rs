//! Process model tests (issue 2, "Processes"): our keepalived in a network
//! namespace of its own, pid and log files in a temporary directory.
//!
//! Each test builds its namespace, starts the daemon, drives it with
//! signals and checks pid files, /proc and the log lines; namespaces and
//! processes are removed on drop even when an assertion fails. Needs root;
//! prints SKIP and passes otherwise.

use keepalived_integration::{alive, ppid, skip_unless_root, wait_for, Daemon, Netns, Proc};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

const START: Duration = Duration::from_secs(10);

/// A vrrp_instance and a virtual_server, so both children are wanted.
fn config(router_id: &str) -> String {
    format!(
        "global_defs {{
    router_id {router_id}
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
    }}
}}

virtual_server 192.0.2.100 80 {{
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.11 80 {{
        TCP_CHECK {{
            connect_timeout 3
        }}
    }}
}}
"
    )
}

/// This kernel has no IPVS: the real checker would exit FATAL (as 2.2.7
/// does), so the process tests give it an in-memory IPVS table (hidden
/// `--ipvs-backend=memory`).
const MEMORY_IPVS: &str = "--ipvs-backend=memory";

fn start(ns: &Netns, conf: &str, extra: &[&str]) -> std::io::Result<Daemon> {
    start_env(ns, conf, extra, &[])
}

fn start_env(
    ns: &Netns,
    conf: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::io::Result<Daemon> {
    let mut args = vec![MEMORY_IPVS];
    args.extend_from_slice(extra);
    Daemon::start_env(ns, conf, &args, env)
}

/// A namespace with `eth0` (one end of a veth pair) at 192.0.2.10/24.
fn host(tag: &str) -> Netns {
    let ns = Netns::new(tag).expect("create namespace");
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
    ])
    .expect("veth");
    ns.addr_up("eth0", "192.0.2.10/24").expect("address");
    ns.ip(&["link", "set", "eth0p", "up"]).expect("peer up");
    ns
}

/// Start and wait for the three processes; returns (parent, vrrp, checker) pids.
fn start_all(d: &mut Daemon) -> (i32, i32, i32) {
    let parent = d
        .wait_pid(Proc::Parent, START)
        .unwrap_or_else(|| panic!("no parent pid file\n{}", d.log()));
    let vrrp = d
        .wait_pid(Proc::Vrrp, START)
        .unwrap_or_else(|| panic!("no vrrp pid file\n{}", d.log()));
    let check = d
        .wait_pid(Proc::Checker, START)
        .unwrap_or_else(|| panic!("no checkers pid file\n{}", d.log()));
    assert!(
        d.wait_log("Startup complete", START),
        "no 'Startup complete'\n{}",
        d.log()
    );
    (parent, vrrp, check)
}

#[test]
fn three_processes_and_their_pid_files() {
    if skip_unless_root("three_processes_and_their_pid_files") {
        return;
    }
    let ns = host("p3");
    let mut d = start(&ns, &config("three"), &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);
    assert_eq!(
        d.spawned_pid(),
        Some(parent),
        "-n: the parent is the process we started"
    );
    assert_eq!(ppid(vrrp), Some(parent));
    assert_eq!(ppid(check), Some(parent));
    assert_ne!(vrrp, check);
    let log = d.parent_log();
    assert!(log.contains("Starting Keepalived v2.2.7"), "{log}");
    assert!(
        log.contains(&format!("Starting VRRP child process, pid={vrrp}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("Starting Healthcheck child process, pid={check}")),
        "{log}"
    );
    // Children are this binary with a hidden role, and log to their own files.
    let cmdline = std::fs::read_to_string(format!("/proc/{vrrp}/cmdline"))
        .unwrap()
        .replace('\0', " ");
    assert!(cmdline.contains("--ka-role vrrp"), "{cmdline}");
    for pid in [parent, vrrp, check] {
        assert_eq!(
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap()
                .trim(),
            "keepalived"
        );
    }
    // The daemon runs in the test namespace, not in ours.
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(
        std::fs::read_link(format!("/proc/{vrrp}/ns/net")).unwrap(),
        ours
    );
}

#[test]
fn killed_child_is_restarted_and_logged() {
    if skip_unless_root("killed_child_is_restarted_and_logged") {
        return;
    }
    let ns = host("kill");
    let mut d = start(&ns, &config("kill"), &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);
    d.signal(Proc::Vrrp, Signal::SIGKILL).unwrap();
    let new = keepalived_integration::wait_for_value(START, || {
        d.pid(Proc::Vrrp).filter(|&p| p != vrrp && alive(p))
    });
    let new = new.unwrap_or_else(|| panic!("VRRP child not restarted\n{}", d.log()));
    assert_eq!(ppid(new), Some(parent));
    assert!(!alive(vrrp));
    let log = d.parent_log();
    assert!(
        log.contains("Keepalived_vrrp exited due to signal 9 (Killed)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("VRRP child process({vrrp}) died: Respawning")),
        "{log}"
    );
    assert!(
        log.contains("Restart of VRRP process delayed 0 seconds to limit respawn rate"),
        "{log}"
    );
    assert!(
        log.contains(&format!("Starting VRRP child process, pid={new}")),
        "{log}"
    );
    // The checker was left alone.
    assert_eq!(d.pid(Proc::Checker), Some(check));
    assert!(alive(check));

    // A second quick death is delayed 1 s (0, 1, 2, 4 ... back-off).
    let t = Instant::now();
    d.signal(Proc::Vrrp, Signal::SIGKILL).unwrap();
    let third = keepalived_integration::wait_for_value(START, || {
        d.pid(Proc::Vrrp).filter(|&p| p != new && alive(p))
    });
    assert!(third.is_some(), "not restarted a second time\n{}", d.log());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "second restart after {:?}",
        t.elapsed()
    );
    assert!(d
        .parent_log()
        .contains("Restart of VRRP process delayed 1 seconds to limit respawn rate"));
}

#[test]
fn stopped_child_is_detected_and_restarted() {
    if skip_unless_root("stopped_child_is_detected_and_restarted") {
        return;
    }
    let ns = host("stop");
    let mut d = start(
        &ns,
        &config("stop"),
        &[
            "--child-heartbeat-timeout=1",
            "--child-heartbeat-interval=0.2",
        ],
    )
    .expect("start");
    let (parent, _vrrp, check) = start_all(&mut d);
    let t = Instant::now();
    d.signal(Proc::Checker, Signal::SIGSTOP).unwrap();
    let new = keepalived_integration::wait_for_value(START, || {
        d.pid(Proc::Checker).filter(|&p| p != check && alive(p))
    });
    let new = new.unwrap_or_else(|| panic!("stopped checker not replaced\n{}", d.log()));
    let took = t.elapsed();
    // Killed `timeout` after the last beat of its loop, which came at most
    // one interval (0.2 s) before the SIGSTOP.
    assert!(
        took >= Duration::from_millis(780),
        "killed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "detected too late: {took:?}");
    assert_eq!(ppid(new), Some(parent));
    assert!(!alive(check), "the stopped child was killed");
    let log = d.parent_log();
    assert!(
        log.contains(&format!(
            "Healthcheck child process({check}) has not answered heartbeats"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Healthcheck child process({check}) died: Respawning"
        )),
        "{log}"
    );
}

#[test]
fn sighup_with_broken_config_keeps_running() {
    if skip_unless_root("sighup_with_broken_config_keeps_running") {
        return;
    }
    let ns = host("hup");
    let good = config("hup");
    let mut d = start(&ns, &good, &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);

    // Unbalanced braces: the block opened on line 5 is never closed.
    let broken = good.replacen(
        "    advert_int 1\n    virtual_ipaddress {",
        "    advert_int 1\n    virtual_ipaddress {{",
        1,
    );
    d.write_config(&broken).unwrap();
    d.signal(Proc::Parent, Signal::SIGHUP).unwrap();
    assert!(
        d.wait_log("the running configuration is unchanged", START),
        "{}",
        d.log()
    );
    let log = d.parent_log();
    let conf = d.config_path().display().to_string();
    assert!(log.contains("Reloading ..."), "{log}");
    let located = log
        .lines()
        .any(|l| l.contains(&format!("{conf}:")) && l.contains(": error: "));
    assert!(located, "error with file:line:col expected\n{log}");
    assert!(!log.contains("Reload complete"), "{log}");
    // Nothing else changed: same processes, children never saw a reload.
    assert_eq!(
        (d.pid(Proc::Parent), d.pid(Proc::Vrrp), d.pid(Proc::Checker)),
        (Some(parent), Some(vrrp), Some(check))
    );
    assert!(alive(parent) && alive(vrrp) && alive(check));
    assert!(
        !d.child_log(Proc::Vrrp).contains("Reloading"),
        "{}",
        d.log()
    );
    assert!(
        !d.child_log(Proc::Checker).contains("Reloading"),
        "{}",
        d.log()
    );

    // A valid config then reloads in place: same pids, children reloaded.
    d.write_config(&good.replace("priority 100", "priority 101"))
        .unwrap();
    d.signal(Proc::Parent, Signal::SIGHUP).unwrap();
    assert!(d.wait_log("Reload complete", START), "{}", d.log());
    assert!(d.child_log(Proc::Vrrp).contains("Reloading"), "{}", d.log());
    assert!(
        d.child_log(Proc::Checker).contains("Reloading"),
        "{}",
        d.log()
    );
    assert_eq!(
        (d.pid(Proc::Parent), d.pid(Proc::Vrrp), d.pid(Proc::Checker)),
        (Some(parent), Some(vrrp), Some(check))
    );
}

#[test]
fn sigterm_stops_everything_within_5s() {
    if skip_unless_root("sigterm_stops_everything_within_5s") {
        return;
    }
    let ns = host("term");
    let mut d = start(&ns, &config("term"), &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);
    let t = Instant::now();
    d.signal(Proc::Parent, Signal::SIGTERM).unwrap();
    let status = d
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("parent still running\n{}", d.log()));
    assert!(wait_for(
        Duration::from_secs(5).saturating_sub(t.elapsed()),
        || !alive(vrrp) && !alive(check)
    ));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    assert!(!alive(parent));
    for which in [Proc::Parent, Proc::Vrrp, Proc::Checker] {
        assert!(
            !d.pid_file(which).exists(),
            "{which:?} pid file left behind"
        );
    }
    let log = d.parent_log();
    assert!(log.contains("Stopping"), "{log}");
    assert!(
        log.lines()
            .last()
            .unwrap_or_default()
            .contains("Stopped Keepalived v2.2.7"),
        "{log}"
    );
    assert!(d.child_log(Proc::Vrrp).contains("Stopped"));
}

#[test]
fn dont_respawn_stops_the_daemon() {
    if skip_unless_root("dont_respawn_stops_the_daemon") {
        return;
    }
    let ns = host("norsp");
    let mut d = start(&ns, &config("norsp"), &["-R"]).expect("start");
    let (_parent, vrrp, check) = start_all(&mut d);
    d.signal(Proc::Vrrp, Signal::SIGKILL).unwrap();
    let status = d
        .wait_exit(START)
        .unwrap_or_else(|| panic!("still running with -R\n{}", d.log()));
    assert_eq!(status.code(), Some(0));
    assert!(wait_for(START, || !alive(check)));
    let log = d.parent_log();
    assert!(
        log.contains(&format!("VRRP child process({vrrp}) died: Exiting")),
        "{log}"
    );
    assert!(!d.pid_file(Proc::Checker).exists());
}

#[test]
fn second_instance_refuses_to_start() {
    if skip_unless_root("second_instance_refuses_to_start") {
        return;
    }
    let ns = host("twice");
    let mut first = start(&ns, &config("twice"), &[]).expect("start");
    let (parent, _, _) = start_all(&mut first);
    // Same pid files as the first one.
    let pid_args: Vec<String> = [Proc::Parent, Proc::Vrrp, Proc::Checker]
        .iter()
        .zip(["-p", "-r", "-c"])
        .flat_map(|(w, o)| [o.to_string(), first.pid_file(*w).display().to_string()])
        .collect();
    let args: Vec<&str> = pid_args.iter().map(String::as_str).collect();
    let mut second = start(&ns, &config("twice"), &args).expect("start second");
    assert!(
        second.wait_exit(START).is_some(),
        "second daemon kept running\n{}",
        second.log()
    );
    assert!(
        second.parent_log().contains("daemon is already running"),
        "{}",
        second.log()
    );
    assert_eq!(first.pid(Proc::Parent), Some(parent));
    assert!(alive(parent));
}

#[test]
fn daemonises_without_n() {
    if skip_unless_root("daemonises_without_n") {
        return;
    }
    let ns = host("fork");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, config("fork")).unwrap();
    let pidf = dir.path().join("k.pid");
    let vpid = dir.path().join("v.pid");
    let cpid = dir.path().join("c.pid");
    let bin = keepalived_integration::keepalived_bin();
    let status = ns
        .command(&bin.to_string_lossy())
        .args([MEMORY_IPVS, "-G", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(&pidf)
        .arg("-r")
        .arg(&vpid)
        .arg("-c")
        .arg(&cpid)
        .status()
        .unwrap();
    assert!(status.success(), "the foreground process exits 0");
    let pid = keepalived_integration::wait_for_value(START, || {
        std::fs::read_to_string(&pidf)
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|p| alive(*p))
    })
    .expect("daemon pid file");
    // Detached: own session, not our child.
    let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid))).unwrap();
    assert_ne!(
        sid,
        nix::unistd::getsid(None).unwrap(),
        "setsid: a session of its own"
    );
    assert_ne!(ppid(pid), Some(std::process::id() as i32));
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
    assert!(wait_for(START, || !alive(pid)), "daemon did not stop");
    assert!(!pidf.exists());
    drop(ns);
}

#[test]
fn dump_signals_are_forwarded() {
    if skip_unless_root("dump_signals_are_forwarded") {
        return;
    }
    let ns = host("dump");
    let mut d = start(&ns, &config("dump"), &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);
    d.signal(Proc::Parent, Signal::SIGUSR1).unwrap();
    d.signal(Proc::Parent, Signal::SIGUSR2).unwrap();
    // JSON dump: SIGRTMIN+2 = 36 on glibc (`keepalived --signum=JSON`); nix
    // cannot name real-time signals, so use libc directly.
    assert_eq!(unsafe_free_kill(parent, 36), 0);
    // Each child answers the dumps it was sent (the parent logs them with -D).
    let has = |d: &Daemon, who: &str, kind: &str| {
        d.parent_log()
            .lines()
            .any(|l| l.contains(&format!("{who} child")) && l.contains(&format!("{kind} dump")))
    };
    assert!(
        wait_for(START, || has(&d, "VRRP", "Data")
            && has(&d, "VRRP", "Stats")
            && has(&d, "VRRP", "Json")),
        "{}",
        d.log()
    );
    assert!(
        wait_for(START, || has(&d, "Healthcheck", "Data")),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !has(&d, "Healthcheck", "Stats") && !has(&d, "Healthcheck", "Json"),
        "USR2/JSON go to VRRP only\n{}",
        d.log()
    );
    // The parent wrote its own part of the SIGUSR1 dump.
    let data = std::fs::read_to_string(d.path("keepalived_parent.data")).unwrap_or_default();
    assert!(
        data.contains(&format!("VRRP child = running, pid {vrrp}")),
        "{data}"
    );
    assert!(
        data.contains(&format!("Healthcheck child = running, pid {check}")),
        "{data}"
    );
    // Nobody died of a default signal action.
    assert_eq!(
        (d.pid(Proc::Vrrp), d.pid(Proc::Checker)),
        (Some(vrrp), Some(check))
    );
    assert!(alive(parent) && alive(vrrp) && alive(check));
}

/// kill(pid, sig) for a raw signal number, through kill(1).
fn unsafe_free_kill(pid: i32, sig: i32) -> i32 {
    let st = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    st.code().unwrap_or(-1)
}

#[test]
fn stalled_parent_does_not_kill_its_children() {
    if skip_unless_root("stalled_parent_does_not_kill_its_children") {
        return;
    }
    let ns = host("stall");
    let mut d = start(
        &ns,
        &config("stall"),
        &[
            "--child-heartbeat-timeout=1",
            "--child-heartbeat-interval=0.2",
        ],
    )
    .expect("start");
    let (_parent, vrrp, check) = start_all(&mut d);
    d.signal(Proc::Parent, Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    d.signal(Proc::Parent, Signal::SIGCONT).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        (d.pid(Proc::Vrrp), d.pid(Proc::Checker)),
        (Some(vrrp), Some(check)),
        "{}",
        d.log()
    );
    assert!(alive(vrrp) && alive(check));
    assert!(
        !d.parent_log().contains("has not answered heartbeats"),
        "{}",
        d.log()
    );
}

#[test]
fn systemd_notifications() {
    if skip_unless_root("systemd_notifications") {
        return;
    }
    let ns = host("sdn");
    // A filesystem socket works across network namespaces (abstract ones do not).
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(START)).unwrap();
    let sp = sock_path.to_string_lossy().into_owned();
    let mut d =
        start_env(&ns, &config("sdn"), &[], &[("NOTIFY_SOCKET", sp.as_str())]).expect("start");
    let recv = || {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = recv();
    let (parent, vrrp, _) = start_all(&mut d);
    assert_eq!(
        ready,
        format!("READY=1\nSTATUS=Startup complete\nMAINPID={parent}")
    );
    // Children do not inherit NOTIFY_SOCKET.
    let env = std::fs::read(format!("/proc/{vrrp}/environ")).unwrap();
    assert!(!String::from_utf8_lossy(&env).contains("NOTIFY_SOCKET"));

    d.signal(Proc::Parent, Signal::SIGHUP).unwrap();
    assert!(recv().starts_with("RELOADING=1\n"));
    assert_eq!(
        recv(),
        format!("READY=1\nSTATUS=Reload complete\nMAINPID={parent}")
    );

    d.write_config("vrrp_instance {\n").unwrap();
    d.signal(Proc::Parent, Signal::SIGHUP).unwrap();
    assert!(
        recv().starts_with("STATUS=Reload failed"),
        "a refused reload only updates STATUS"
    );

    d.signal(Proc::Parent, Signal::SIGTERM).unwrap();
    assert_eq!(recv(), "STOPPING=1\nSTATUS=Stopping");
}

#[test]
fn broken_config_at_start_is_refused() {
    if skip_unless_root("broken_config_at_start_is_refused") {
        return;
    }
    let ns = host("bad");
    let broken = config("bad").replace("virtual_router_id 51", "virtual_router_id 256");
    let mut d = start(&ns, &broken, &[]).expect("start");
    let status = d
        .wait_exit(START)
        .unwrap_or_else(|| panic!("kept running\n{}", d.log()));
    assert_eq!(
        status.code(),
        Some(2),
        "KEEPALIVED_EXIT_CONFIG\n{}",
        d.log()
    );
    let log = d.parent_log();
    let conf = d.config_path().display().to_string();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("{conf}:")) && l.contains(": error: ")),
        "{log}"
    );
    assert!(!log.contains("Starting VRRP child process"), "{log}");
    assert!(!d.pid_file(Proc::Parent).exists());
    assert!(!d.pid_file(Proc::Vrrp).exists());
}

#[test]
fn children_exit_when_the_parent_dies() {
    if skip_unless_root("children_exit_when_the_parent_dies") {
        return;
    }
    let ns = host("orphan");
    let mut d = start(&ns, &config("orphan"), &[]).expect("start");
    let (parent, vrrp, check) = start_all(&mut d);
    d.signal(Proc::Parent, Signal::SIGKILL).unwrap();
    assert!(d.wait_exit(START).is_some());
    assert!(!alive(parent));
    // PR_SET_PDEATHSIG(SIGTERM) and the closed IPC channel both end them, cleanly.
    assert!(
        wait_for(START, || !alive(vrrp) && !alive(check)),
        "orphans left\n{}",
        d.log()
    );
    assert!(
        !d.pid_file(Proc::Vrrp).exists(),
        "the VRRP child removes its pid file"
    );
    assert!(
        !d.pid_file(Proc::Checker).exists(),
        "the checker removes its pid file"
    );
    assert!(d.child_log(Proc::Vrrp).contains("Stopped"), "{}", d.log());
}

#[test]
fn startup_and_shutdown_scripts() {
    if skip_unless_root("startup_and_shutdown_scripts") {
        return;
    }
    let ns = host("scr");
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up");
    let down = dir.path().join("down");
    let conf = config("scr").replacen(
        "global_defs {\n",
        &format!(
            "global_defs {{\n    startup_script \"/bin/touch {}\"\n    shutdown_script \"/bin/touch {}\"\n",
            up.display(),
            down.display()
        ),
        1,
    );
    let mut d = start(&ns, &conf, &[]).expect("start");
    let (_parent, vrrp, _) = start_all(&mut d);
    assert!(
        up.exists(),
        "startup_script ran before the children started\n{}",
        d.log()
    );
    let up_time = std::fs::metadata(&up).unwrap().modified().unwrap();
    let vrrp_start = std::fs::metadata(format!("/proc/{vrrp}"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(up_time <= vrrp_start, "startup script first");
    assert!(!down.exists());
    d.signal(Proc::Parent, Signal::SIGTERM).unwrap();
    assert!(d.wait_exit(START).is_some());
    assert!(down.exists(), "shutdown_script ran at stop\n{}", d.log());
}

#[test]
fn permanent_child_error_stops_the_daemon() {
    if skip_unless_root("permanent_child_error_stops_the_daemon") {
        return;
    }
    // On a kernel without IPVS the real checker exits FATAL (1), as 2.2.7:
    // a permanent error, so the whole daemon stops with it.
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("SKIP permanent_child_error_stops_the_daemon: this kernel has IPVS");
        return;
    }
    let ns = host("fatal");
    let mut d = Daemon::start(&ns, &config("fatal"), &[]).expect("start");
    let status = d
        .wait_exit(START)
        .unwrap_or_else(|| panic!("kept running\n{}", d.log()));
    assert_eq!(status.code(), Some(1), "{}", d.log());
    let log = d.parent_log();
    assert!(
        log.contains("Keepalived_healthcheckers exited with permanent error FATAL. Terminating"),
        "{log}"
    );
    assert!(!log.contains("Respawning"), "{log}");
    assert!(
        log.lines()
            .last()
            .unwrap_or_default()
            .contains("Stopped Keepalived v2.2.7"),
        "{log}"
    );
    for which in [Proc::Parent, Proc::Vrrp, Proc::Checker] {
        assert!(
            !d.pid_file(which).exists(),
            "{which:?} pid file left behind"
        );
    }
}

#[test]
fn instance_and_net_namespace() {
    if skip_unless_root("instance_and_net_namespace") {
        return;
    }
    let ns = host("inst");
    // net_namespace naming the namespace we already run in, plus an instance:
    // idents get the `_<netns>_<instance>` suffix (pid paths come from -p/-r/-c).
    let conf = format!(
        "net_namespace {}\ninstance inst1\n{}",
        ns.name(),
        config("inst")
    );
    let mut d = start(&ns, &conf, &[]).expect("start");
    let (_parent, vrrp, _) = start_all(&mut d);
    let ident = format!("Keepalived_{}_inst1", ns.name());
    assert!(
        d.parent_log()
            .contains(&format!("Changing syslog ident to {ident}")),
        "{}",
        d.log()
    );
    let cmdline = std::fs::read_to_string(format!("/proc/{vrrp}/cmdline"))
        .unwrap()
        .replace('\0', " ");
    assert!(
        cmdline.contains(&format!("--ka-ident-suffix _{}_inst1", ns.name())),
        "{cmdline}"
    );
    drop(d);

    // A net_namespace we are not in is refused (we do not setns).
    let other = Netns::new("other").expect("namespace");
    let conf = format!("net_namespace {}\n{}", other.name(), config("inst"));
    let mut d = start(&ns, &conf, &[]).expect("start");
    let status = d
        .wait_exit(START)
        .unwrap_or_else(|| panic!("kept running\n{}", d.log()));
    assert_eq!(status.code(), Some(2));
    assert!(
        d.parent_log()
            .contains("entering a network namespace is not supported"),
        "{}",
        d.log()
    );
}
