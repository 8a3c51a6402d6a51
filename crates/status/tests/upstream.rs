//! Compare our dump layouts with what the real keepalived 2.2.7
//! (`/usr/sbin/keepalived`, Debian's build with `--enable-json`) writes, run
//! VRRP-only (`-P`) in a throw-away network namespace. Root only; skipped
//! with a message otherwise or when keepalived is not installed.

use keepalived_status as status;
use std::collections::BTreeSet;

#[path = "support/exporter.rs"]
mod exporter;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use status::legacy::{self, JsonEntry, JsonExtras};
use status::schema::{VrrpCounters, VrrpInstanceStatus, VrrpState};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

struct Guard {
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("k.pid")) {
            if let Ok(p) = pid.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Anything left in the namespace.
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.ns])
            .output()
        {
            for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Ok(p) = p.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(ns: &str, args: &[&str]) {
    let st = Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "ip -n {ns} {args:?}");
}

fn wait_file(p: &Path, timeout: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn skip() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root (network namespace)");
        return true;
    }
    if !Path::new(KEEPALIVED).exists() {
        eprintln!("skipping: {KEEPALIVED} not installed");
        return true;
    }
    false
}

/// The stats layout with the numbers blanked.
fn shape(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches(|c: char| c.is_ascii_digit()).to_string())
        .collect()
}

#[test]
fn keepalived_2_2_7_dumps_have_our_layout() {
    if skip() {
        return;
    }
    let ns = format!("ka-stup-{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("ka-status-up-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap()
        .success());
    let mut g = Guard {
        ns: ns.clone(),
        dir: dir.clone(),
        child: None,
    };
    ip(&ns, &["link", "set", "lo", "up"]);
    ip(
        &ns,
        &[
            "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
        ],
    );
    ip(&ns, &["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    ip(&ns, &["link", "set", "eth0", "up"]);
    ip(&ns, &["link", "set", "eth0p", "up"]);
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  \
         priority 150\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.100/24\n    192.0.2.101\n  }\n}\n",
    )
    .unwrap();
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let child = Command::new("ip")
        .args(["netns", "exec", &ns, KEEPALIVED, "-n", "-l", "-P", "-f"])
        .arg(&conf)
        .args(["-p", &p("k.pid"), "-r", &p("v.pid"), "-c", &p("c.pid")])
        .env("TMPDIR", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    g.child = Some(child);
    assert!(wait_file(&dir.join("v.pid"), Duration::from_secs(10)));
    let parent: i32 = {
        assert!(wait_file(&dir.join("k.pid"), Duration::from_secs(10)));
        std::fs::read_to_string(dir.join("k.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // MASTER after at most ~1 s (state MASTER); leave time for a few adverts.
    std::thread::sleep(Duration::from_secs(3));
    let kill = |sig: &str| {
        assert!(Command::new("kill")
            .args([sig, &parent.to_string()])
            .status()
            .unwrap()
            .success())
    };
    // Dump until 2.2.7 reports MASTER (it may start in BACKUP first).
    let (stats_p, json_p) = (dir.join("keepalived.stats"), dir.join("keepalived.json"));
    let t0 = Instant::now();
    let (up_stats, up_json) = loop {
        let _ = std::fs::remove_file(&json_p);
        kill("-USR2");
        kill("-36"); // SIGRTMIN+2: `keepalived --signum=JSON`
        assert!(
            wait_file(&stats_p, Duration::from_secs(5)),
            "no keepalived.stats"
        );
        assert!(
            wait_file(&json_p, Duration::from_secs(5)),
            "no keepalived.json"
        );
        std::thread::sleep(Duration::from_millis(200));
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_p).unwrap()).unwrap();
        if j[0]["data"]["state"] == 2 || t0.elapsed() > Duration::from_secs(10) {
            break (std::fs::read_to_string(&stats_p).unwrap(), j);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("keepalived 2.2.7 keepalived.json: {up_json}");
    kill("-USR1");
    let data_p = dir.join("keepalived.data");
    assert!(
        wait_file(&data_p, Duration::from_secs(5)),
        "no keepalived.data"
    );
    std::thread::sleep(Duration::from_millis(300));
    let up_data = std::fs::read_to_string(&data_p).unwrap();
    if std::env::var_os("KA_PRINT_DUMPS").is_some() {
        eprintln!("keepalived 2.2.7 keepalived.data:\n{up_data}");
    }
    // Our replica of the exporter's text parser reads 2.2.7's files.
    let view = exporter::parse_data(&up_data).unwrap();
    let st = exporter::parse_stats(&up_stats).unwrap();
    exporter::check_synced(&view, &st).unwrap();
    let vi = &view["VI_1"];
    assert_eq!(
        (vi.state, vi.wantstate, vi.vrid, vi.garp_delay),
        (2, 2, 51, 5)
    );
    assert_eq!(vi.intf, "eth0");
    assert_eq!(
        vi.vips,
        [
            "192.0.2.100/24 dev eth0 scope global set",
            "192.0.2.101 dev eth0 scope global set"
        ]
    );
    assert_eq!(st["VI_1"].len(), 14, "{:?}", st["VI_1"]);
    assert_eq!(st["VI_1"]["Became master"], 1);
    eprintln!(
        "keepalived 2.2.7 modes: stats {:o}, json {:o}",
        std::fs::metadata(&stats_p).unwrap().mode() & 0o7777,
        std::fs::metadata(&json_p).unwrap().mode() & 0o7777
    );

    // Ours for the same instance.
    let inst = VrrpInstanceStatus {
        name: "VI_1".into(),
        state: VrrpState::Master,
        wanted_state: VrrpState::Master,
        vrid: 51,
        interface: "eth0".into(),
        family: "inet".into(),
        vrrp_version: 2,
        base_priority: 150,
        effective_priority: 150,
        master_address: None,
        master_priority: None,
        advert_interval_ms: 1000,
        master_advert_interval_ms: 1000,
        master_down_interval_ms: 3414,
        preempt: true,
        preempt_delay_ms: 0,
        last_transition: Some(0.0),
        vips: vec![
            legacy::format_vip(
                "192.0.2.100".parse().unwrap(),
                24,
                None,
                "eth0",
                "global",
                None,
                &["set"],
            ),
            legacy::format_vip(
                "192.0.2.101".parse().unwrap(),
                32,
                None,
                "eth0",
                "global",
                None,
                &["set"],
            ),
        ],
        excluded_vips: vec![],
        sync_group: None,
        garp_delay_secs: 5.0,
        counters: VrrpCounters::default(),
    };
    let ours_stats = legacy::render_stats(std::slice::from_ref(&inst));
    assert_eq!(
        shape(&up_stats),
        shape(&ours_stats),
        "2.2.7:\n{up_stats}\nours:\n{ours_stats}"
    );
    // And ours: same view of the stats file for the same counters.
    let ours_st = exporter::parse_stats(&ours_stats).unwrap();
    assert_eq!(
        ours_st["VI_1"].keys().collect::<Vec<_>>(),
        st["VI_1"].keys().collect::<Vec<_>>()
    );

    // The extras as our config crate resolves the same file.
    let loaded = config::load(&config::LoadOptions {
        path: conf.clone(),
        config_id: None,
        lenient: false,
    })
    .unwrap_or_else(|_| panic!("config does not load"));
    let mut extras = JsonExtras::from_config(&loaded.config, &loaded.config.vrrp_instances[0]);
    extras.vipset = true;
    assert_eq!(
        JsonEntry::from_status(
            &inst,
            &JsonExtras {
                vipset: true,
                ..JsonExtras::default()
            }
        ),
        JsonEntry::from_status(&inst, &extras),
        "defaults agree with the config-derived extras"
    );
    let ours = serde_json::to_value(vec![JsonEntry::from_status(&inst, &extras)]).unwrap();
    let keys = |v: &serde_json::Value, part: &str| -> BTreeSet<String> {
        v[0][part].as_object().unwrap().keys().cloned().collect()
    };
    // Fields 2.2.7 writes only when set (scripts, routes, rules, auth_data)
    // are not in a config without them: the key sets must be equal here.
    assert_eq!(
        keys(&up_json, "data"),
        keys(&ours, "data"),
        "2.2.7: {up_json}"
    );
    assert_eq!(keys(&up_json, "stats"), keys(&ours, "stats"));
    // Values that do not depend on timing agree.
    for k in [
        "iname",
        "vrid",
        "state",
        "wantstate",
        "base_priority",
        "effective_priority",
        "adver_int",
        "ifp_ifname",
        "vips",
        "version",
        "garp_delay",
        "garp_rep",
        "garp_refresh_rep",
        "garp_lower_prio_delay",
        "garp_lower_prio_rep",
        "nopreempt",
        "auth_type",
        "dont_track_primary",
        "strict_mode",
        "vmac_ifname",
        "accept",
        "vipset",
        "skip_check_adv_addr",
        "lower_prio_no_advert",
        "higher_prio_send_advert",
        "promote_secondaries",
        "smtp_alert",
        "notify_deleted",
        "garp_refresh",
        "preempt_delay",
        "master_priority",
    ] {
        assert_eq!(up_json[0]["data"][k], ours[0]["data"][k], "data.{k}");
    }
}
