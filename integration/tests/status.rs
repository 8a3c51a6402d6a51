//! Dump files, status socket and metrics endpoint of a running daemon, in a
//! network namespace (root; skipped otherwise).
//!
//! The daemon end to end: signal dumps (content, mode 0600, symlink
//! safety), the status socket and the metrics endpoint.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use keepalived_integration::{skip_unless_root, wait_for, Daemon, Netns, Proc};

/// keepalived-exporter's text-mode parser rules (shared with crates/status).
#[path = "../../crates/status/tests/support/exporter.rs"]
mod exporter;
use nix::sys::signal::Signal;

const START: Duration = Duration::from_secs(10);

const CONFIG: &str = "global_defs {
    router_id status_test
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101
    }
}
";

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

fn start(ns: &Netns, extra: &[&str]) -> Daemon {
    let mut d = Daemon::start(ns, CONFIG, extra).expect("start");
    d.wait_pid(Proc::Parent, START)
        .unwrap_or_else(|| panic!("no parent pid\n{}", d.log()));
    d.wait_pid(Proc::Vrrp, START)
        .unwrap_or_else(|| panic!("no vrrp pid\n{}", d.log()));
    assert!(
        d.wait_log("Startup complete", START),
        "no 'Startup complete'\n{}",
        d.log()
    );
    d
}

/// kill(pid, sig) for a raw signal number (SIGRTMIN+2 = 36 with glibc).
fn kill_raw(pid: i32, sig: i32) {
    let st = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Signal until the stats file shows the instance became master.
fn wait_master(d: &mut Daemon) {
    let stats = d.path("keepalived.stats");
    let ok = wait_for(START, || {
        let _ = d.signal(Proc::Parent, Signal::SIGUSR2);
        std::thread::sleep(Duration::from_millis(200));
        std::fs::read_to_string(&stats)
            .map(|s| s.contains("  Became master: 1\n"))
            .unwrap_or(false)
    });
    assert!(ok, "VI_1 never became master\n{}", d.log());
}

#[test]
fn dump_files_appear_on_signals() {
    if skip_unless_root("dump_files_appear_on_signals") {
        return;
    }
    let ns = host("stdump");
    let mut d = start(&ns, &[]);
    wait_master(&mut d);
    let parent = d.pid(Proc::Parent).unwrap();
    d.signal(Proc::Parent, Signal::SIGUSR1).unwrap();
    kill_raw(parent, 36);
    let (data, json) = (d.path("keepalived.data"), d.path("keepalived.json"));
    assert!(
        wait_for(START, || data.exists() && json.exists()),
        "no dump files\n{}",
        d.log()
    );
    // keepalived.stats: 2.2.7's block per instance.
    let stats = std::fs::read_to_string(d.path("keepalived.stats")).unwrap();
    let lines: Vec<&str> = stats.lines().collect();
    assert_eq!(lines[0], "VRRP Instance: VI_1");
    assert_eq!(lines[1], "  Advertisements:");
    assert!(lines[2].starts_with("    Received: "));
    assert!(lines[3].starts_with("    Sent: "));
    assert_eq!(lines[4], "  Became master: 1");
    assert_eq!(lines.len(), 19, "{stats}");
    // keepalived.data names the instance and its state.
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(text.contains("VRRP Instance = VI_1"), "{text}");
    assert!(text.contains("State = MASTER"), "{text}");
    // keepalived.json: what keepalived-exporter --ka.json decodes.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let e = &v[0];
    assert_eq!(e["data"]["iname"], "VI_1");
    assert_eq!(e["data"]["vrid"], 51);
    assert_eq!(e["data"]["state"], 2);
    assert_eq!(e["data"]["ifp_ifname"], "eth0");
    for k in [
        "advert_rcvd",
        "advert_sent",
        "become_master",
        "release_master",
        "packet_len_err",
        "advert_interval_err",
        "ip_ttl_err",
        "invalid_type_rcvd",
        "addr_list_err",
        "invalid_authtype",
        "authtype_mismatch",
        "auth_failure",
        "pri_zero_rcvd",
        "pri_zero_sent",
    ] {
        assert!(e["stats"][k].is_u64(), "stats.{k} missing: {e}");
    }
    assert_eq!(e["stats"]["become_master"], 1);
    // keepalived-exporter's default (text) mode reads data + stats: no
    // parse error, same instances in both, the fields it exports.
    let view = exporter::parse_data(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let st = exporter::parse_stats(&stats).unwrap_or_else(|e| panic!("{e}\n{stats}"));
    exporter::check_synced(&view, &st).unwrap();
    let vi = &view["VI_1"];
    assert_eq!((vi.state, vi.vrid), (2, 51), "{text}");
    assert_eq!(vi.intf, "eth0");
    assert_eq!(vi.vips.len(), 2, "{text}");
    for v in &vi.vips {
        assert!(
            exporter::parse_vip(v).is_some(),
            "VIP {v:?} dropped by the exporter"
        );
    }
    assert_eq!(st["VI_1"].len(), 14);
}

#[test]
fn dump_files_are_private_atomic_and_exporter_compatible() {
    if skip_unless_root("dump_files_are_private_atomic_and_exporter_compatible") {
        return;
    }
    let ns = host("stsafe");
    let mut d = start(&ns, &[]);
    // A symlink planted where the stats file goes is replaced, not followed.
    let victim = d.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let _ = std::fs::remove_file(d.path("keepalived.stats"));
    std::os::unix::fs::symlink(&victim, d.path("keepalived.stats")).unwrap();
    wait_master(&mut d);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let parent = d.pid(Proc::Parent).unwrap();
    d.signal(Proc::Parent, Signal::SIGUSR1).unwrap();
    kill_raw(parent, 36);
    let names = ["keepalived.data", "keepalived.stats", "keepalived.json"];
    assert!(wait_for(START, || names.iter().all(|n| d.path(n).exists())));
    for n in names {
        let md = std::fs::symlink_metadata(d.path(n)).unwrap();
        assert!(md.file_type().is_file(), "{n} is a regular file");
        assert_eq!(md.mode() & 0o7777, 0o600, "{n} mode");
    }
    // No temporary file left behind.
    let leftovers: Vec<String> = std::fs::read_dir(d.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // VIPs as 2.2.7 formats them on a MASTER (observed with 2.2.7; the
    // exporter splits on spaces and takes words 0 and 2).
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("keepalived.json")).unwrap()).unwrap();
    let vips: Vec<&str> = v[0]["data"]["vips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        vips,
        [
            "192.0.2.100/24 dev eth0 scope global set",
            "192.0.2.101 dev eth0 scope global set"
        ]
    );
    for k in [
        "wantstate",
        "base_priority",
        "effective_priority",
        "adver_int",
        "last_transition",
    ] {
        assert!(v[0]["data"].get(k).is_some(), "data.{k} missing");
    }
}

#[test]
fn status_socket_and_metrics_of_a_running_daemon() {
    if skip_unless_root("status_socket_and_metrics_of_a_running_daemon") {
        return;
    }
    let ns = host("stsock");
    let sockdir = tempfile::tempdir().unwrap();
    let sock = sockdir.path().join("run/keepalived.sock");
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let listen = format!("127.0.0.1:{port}");
    let mut d = start(
        &ns,
        &[
            "--status-socket",
            sock.to_str().unwrap(),
            "--metrics-listen",
            &listen,
        ],
    );
    wait_master(&mut d);
    // The socket: 0600 in a 0700 directory, one JSON document per connection.
    assert_eq!(std::fs::metadata(&sock).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(sock.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    let read_doc = || -> serde_json::Value {
        use std::io::Read;
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut t = String::new();
        s.read_to_string(&mut t).unwrap();
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}"))
    };
    let ok = wait_for(START, || {
        let v = read_doc();
        v["vrrp_instances"][0]["state"] == "MASTER"
    });
    let doc = read_doc();
    assert!(ok, "{doc:#}");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["daemon"]["pid"], d.pid(Proc::Parent).unwrap());
    let i = &doc["vrrp_instances"][0];
    assert_eq!(i["name"], "VI_1");
    assert_eq!(i["vrid"], 51);
    assert_eq!(i["effective_priority"], 150);
    assert_eq!(i["interface"], "eth0");
    assert!(i["counters"]["advert_sent"].as_u64().unwrap() >= 1);
    // Metrics from inside the namespace.
    let out = ns
        .exec(
            "python3",
            &[
                "-c",
                &format!(
                    "import urllib.request;print(urllib.request.urlopen('http://{listen}/metrics',timeout=5).read().decode(),end='')"
                ),
            ],
        )
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("keepalived_up 1\n"), "{text}");
    assert!(
        text.contains(
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.100/24\"} 2\n"
        ),
        "{text}"
    );
    assert!(text.contains("# TYPE keepalived_scheduler_lateness_seconds histogram"));
    assert!(text.contains("keepalived_reload_total{result=\"ok\"} 0\n"));
    // SIGHUP with the same config: counted.
    d.signal(Proc::Parent, Signal::SIGHUP).unwrap();
    assert!(wait_for(START, || read_doc()["daemon"]["reloads"]["ok"] == 1));
    // Stop: the socket is removed.
    d.signal(Proc::Parent, Signal::SIGTERM).unwrap();
    assert!(d.wait_exit(START).is_some());
    assert!(!sock.exists());
}
