//! Schema round trip and golden example, keepalived.json shape, metrics
//! parsed by a real Prometheus text-format parser, and the socket / HTTP
//! endpoints driven by a mio loop.

use keepalived_status as status;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use status::legacy::{self, JsonEntry, JsonExtras};
use status::metrics::{self, MetricsOptions};
use status::schema::*;
use status::server::{Endpoint, Query, TOKENS_PER_ENDPOINT};

fn instance(name: &str, state: VrrpState, vrid: u8) -> VrrpInstanceStatus {
    VrrpInstanceStatus {
        name: name.into(),
        state,
        wanted_state: VrrpState::Backup,
        vrid,
        interface: "eth0".into(),
        family: "inet".into(),
        vrrp_version: 2,
        base_priority: 100,
        effective_priority: 90,
        master_address: Some("192.0.2.11".into()),
        master_priority: Some(100),
        advert_interval_ms: 1000,
        master_advert_interval_ms: 1000,
        master_down_interval_ms: 3609,
        preempt: true,
        preempt_delay_ms: 0,
        last_transition: Some(1_700_000_000.25),
        vips: vec![
            legacy::format_vip(
                "192.0.2.100".parse().unwrap(),
                32,
                None,
                "eth0",
                "global",
                None,
                &[],
            ),
            legacy::format_vip(
                "192.0.2.101".parse().unwrap(),
                24,
                None,
                "eth0",
                "global",
                Some("eth0:1"),
                &[],
            ),
        ],
        excluded_vips: vec![legacy::format_vip(
            "2001:db8::1".parse().unwrap(),
            64,
            None,
            "eth1",
            "global",
            None,
            &["preferred_lft forever"],
        )],
        sync_group: Some("G1".into()),
        garp_delay_secs: 5.0,
        counters: VrrpCounters {
            advert_rcvd: 10,
            advert_sent: 3,
            become_master: 1,
            auth_failure: 2,
            pri_zero_sent: 1,
            ..VrrpCounters::default()
        },
    }
}

fn golden_doc() -> StatusDoc {
    let mut lateness = Histogram::default();
    lateness.observe(0.0002);
    lateness.observe(0.003);
    let snap_vrrp = ChildSnapshot {
        vrrp_instances: vec![
            instance("VI_1", VrrpState::Master, 51),
            VrrpInstanceStatus {
                vips: vec![],
                excluded_vips: vec![],
                interface: "eth \"quoted\"\\".into(),
                ..instance("VI_2", VrrpState::Backup, 52)
            },
        ],
        sync_groups: vec![SyncGroupStatus {
            name: "G1".into(),
            state: VrrpState::Master,
            members: vec!["VI_1".into()],
        }],
        vrrp_scripts: vec![ScriptStatus {
            name: "chk_nginx".into(),
            status: "GOOD".into(),
            state: "idle".into(),
        }],
        virtual_servers: vec![],
        scheduler: Some(SchedulerStatus {
            process: "vrrp".into(),
            lateness: lateness.clone(),
        }),
    };
    let snap_check = ChildSnapshot {
        virtual_servers: vec![VirtualServerStatus {
            addr: "192.0.2.100:80".into(),
            protocol: "TCP".into(),
            algo: "wrr".into(),
            forwarding: "NAT".into(),
            quorum: 1,
            alive_weight: 3,
            quorum_up: true,
            sorry_server_active: false,
            stats: Some(IpvsStats {
                conns: 7,
                inpkts: 70,
                outpkts: 60,
                inbytes: 7000,
                outbytes: 6000,
            }),
            real_servers: vec![
                RealServerStatus {
                    addr: "198.51.100.1".into(),
                    port: 8080,
                    healthy: true,
                    weight: 3,
                    configured_weight: 3,
                    checkers: vec![CheckerStatus {
                        kind: "HTTP_GET".into(),
                        up: true,
                        checks_total: 12,
                        failures_total: 1,
                        last_duration_secs: Some(0.004),
                    }],
                    stats: Some(IpvsStats::default()),
                },
                RealServerStatus {
                    addr: "2001:db8::2".into(),
                    port: 8080,
                    healthy: false,
                    weight: 0,
                    configured_weight: 2,
                    checkers: vec![CheckerStatus {
                        kind: "TCP_CHECK".into(),
                        up: false,
                        checks_total: 12,
                        failures_total: 12,
                        last_duration_secs: None,
                    }],
                    stats: None,
                },
            ],
        }],
        scheduler: Some(SchedulerStatus {
            process: "checker".into(),
            lateness: Histogram::default(),
        }),
        ..ChildSnapshot::default()
    };
    StatusDoc::assemble(
        1_700_000_100.5,
        DaemonStatus {
            pid: 4242,
            version: "Keepalived v2.2.7 (keepalived-rs 0.1.0)".into(),
            started_at: 1_700_000_000.0,
            uptime_secs: 100.5,
            config_file: "/etc/keepalived/keepalived.conf".into(),
            config_generation: 2,
            last_reload: Some(ReloadVerdict {
                at: 1_700_000_050.0,
                result: ReloadResult::Failed,
                generation: 2,
                diagnostics: vec![
                    "/etc/keepalived/keepalived.conf:12:5: error: unknown keyword 'prioritee'"
                        .into(),
                ],
            }),
            reloads: ReloadCounters {
                ok: 1,
                failed: 1,
                refused: 0,
            },
        },
        vec![
            ChildStatus {
                role: "vrrp".into(),
                pid: Some(4243),
                running: true,
                snapshot_age_ms: Some(120),
            },
            ChildStatus {
                role: "checker".into(),
                pid: None,
                running: false,
                snapshot_age_ms: None,
            },
        ],
        Some(SchedulerStatus {
            process: "parent".into(),
            lateness,
        }),
        &[&snap_vrrp, &snap_check],
    )
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/status-v1.json")
}

#[test]
fn status_document_round_trip_and_golden() {
    let doc = golden_doc();
    let text = doc.to_json();
    assert_eq!(StatusDoc::from_json(&text).unwrap(), doc);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_path().parent().unwrap()).unwrap();
        std::fs::write(golden_path(), &text).unwrap();
    }
    let golden = std::fs::read_to_string(golden_path())
        .expect("tests/golden/status-v1.json (regenerate with UPDATE_GOLDEN=1)");
    assert_eq!(
        text, golden,
        "schema v1 changed: only additions are allowed; regenerate with UPDATE_GOLDEN=1 if so"
    );
    // The golden file parses as v1 with the top-level keys of the schema.
    let v: serde_json::Value = serde_json::from_str(&golden).unwrap();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "children",
            "daemon",
            "generated_at",
            "scheduler",
            "sync_groups",
            "version",
            "virtual_servers",
            "vrrp_instances",
            "vrrp_scripts"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(v["version"], 1);
    assert_eq!(v["vrrp_instances"][0]["state"], "MASTER");
    assert_eq!(v["vrrp_instances"][0]["counters"]["advert_rcvd"], 10);
    assert_eq!(v["daemon"]["last_reload"]["result"], "failed");
    assert_eq!(v["virtual_servers"][0]["real_servers"][1]["healthy"], false);
}

#[test]
fn human_rendering() {
    let s = status::client::render_human(&golden_doc());
    assert!(
        s.starts_with("Keepalived v2.2.7 (keepalived-rs 0.1.0) — pid 4242, up 1m 40s\n"),
        "{s}"
    );
    assert!(
        s.contains("Last reload: failed (50s ago):\n  /etc/keepalived/keepalived.conf:12:5: error")
    );
    assert!(s.contains("Child vrrp: running, pid 4243, data 120 ms old"));
    assert!(s.contains("Child checker: not running"));
    let line = s
        .lines()
        .find(|l| l.trim_start().starts_with("VI_1"))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "VI_1",
            "MASTER",
            "51",
            "eth0",
            "90/100",
            "192.0.2.11",
            "(100)",
            "1000ms"
        ]
    );
    assert!(s.contains("  TCP 192.0.2.100:80 wrr NAT quorum 3/1 UP\n"));
    assert!(s.contains("    -> 2001:db8::2:8080 FAILED weight 0/2 [TCP_CHECK DOWN]\n"));
}

#[test]
fn keepalived_json_has_2_2_7_field_names() {
    let doc = golden_doc();
    let entries: Vec<JsonEntry> = doc
        .vrrp_instances
        .iter()
        .map(|i| JsonEntry::from_status(i, &JsonExtras::default()))
        .collect();
    let text = legacy::render_json(&entries);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &v[0];
    // Every data field name of keepalived 2.2.7 vrrp_json.c (Debian build:
    // VMAC, firewall and auth compiled in), in order; arrays only when non-empty.
    let data_keys: Vec<&str> = first["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "iname",
        "dont_track_primary",
        "skip_check_adv_addr",
        "strict_mode",
        "vmac_ifname",
        "ifp_ifname",
        "master_priority",
        "last_transition",
        "garp_delay",
        "garp_refresh",
        "garp_rep",
        "garp_refresh_rep",
        "garp_lower_prio_delay",
        "garp_lower_prio_rep",
        "lower_prio_no_advert",
        "higher_prio_send_advert",
        "vrid",
        "base_priority",
        "effective_priority",
        "vipset",
        "promote_secondaries",
        "adver_int",
        "master_adver_int",
        "accept",
        "nopreempt",
        "preempt_delay",
        "state",
        "wantstate",
        "version",
        "smtp_alert",
        "notify_deleted",
        "vips",
        "evips",
        "auth_type",
    ];
    let mut sorted_data = data_keys.clone();
    sorted_data.sort();
    expected.sort();
    assert_eq!(sorted_data, expected);
    // serde_json's map is sorted unless preserve_order; check order on the text.
    let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
    assert!(pos("iname") < pos("vrid") && pos("vrid") < pos("state") && pos("state") < pos("vips"));
    let stats_keys: BTreeSet<&str> = first["stats"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        stats_keys,
        [
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
            "pri_zero_sent"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(first["data"]["iname"], "VI_1");
    assert_eq!(first["data"]["state"], 2);
    assert_eq!(first["data"]["wantstate"], 1);
    assert_eq!(first["data"]["adver_int"], 1);
    assert!(
        text.contains("\"adver_int\":1,"),
        "integral floats as %g prints them"
    );
    assert!(text.contains("\"garp_delay\":5,"));
    assert_eq!(
        first["data"]["vips"][0],
        "192.0.2.100 dev eth0 scope global"
    );
    assert_eq!(
        first["data"]["vips"][1],
        "192.0.2.101/24 dev eth0 scope global label eth0:1"
    );
    assert_eq!(
        first["data"]["evips"][0],
        "2001:db8::1/64 dev eth1 scope global preferred_lft forever"
    );
    assert_eq!(first["stats"]["advert_rcvd"], 10);
    // Empty arrays are omitted, as upstream.
    assert!(v[1]["data"].get("vips").is_none());
    // It decodes back (what an exporter does).
    let back: Vec<JsonEntry> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, entries);
}

#[test]
fn keepalived_stats_layout() {
    let doc = golden_doc();
    let s = legacy::render_stats(&doc.vrrp_instances[..1]);
    assert_eq!(
        s,
        "VRRP Instance: VI_1\n  Advertisements:\n    Received: 10\n    Sent: 3\n  Became master: 1\n  \
         Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    \
         Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    \
         Type Mismatch: 0\n    Failure: 2\n  Priority Zero:\n    Received: 0\n    Sent: 1\n"
    );
}

fn parse_metrics(text: &str) -> prometheus_parse::Scrape {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text format")
}

/// A strict line check the parser crate is lenient about: every sample line
/// is `name{k="v",…} value` with valid names and escaped values, every
/// family has one HELP and one TYPE before its samples and is contiguous.
fn check_exposition_syntax(text: &str) {
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    let mut seen_families = BTreeSet::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let fam = rest.split(' ').next().unwrap().to_string();
            assert!(name_ok(&fam), "{line}");
            assert!(
                seen_families.insert(fam.clone()),
                "family {fam} not contiguous"
            );
            current = fam;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut w = rest.split(' ');
            assert_eq!(w.next().unwrap(), current, "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"]
                    .contains(&w.next().unwrap()),
                "{line}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "{line}"
        );
        let (name, labels) = match series.find('{') {
            Some(i) => (&series[..i], Some(&series[i..])),
            None => (series, None),
        };
        assert!(name_ok(name), "{line}");
        assert!(
            name == current
                || name
                    .strip_prefix(current.as_str())
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s)),
            "sample {name} outside its family {current}"
        );
        if let Some(l) = labels {
            assert!(l.ends_with('}'), "{line}");
            let body = &l[1..l.len() - 1];
            // k="v" pairs separated by commas, values escaped.
            let mut rest = body;
            while !rest.is_empty() {
                let eq = rest.find("=\"").unwrap_or_else(|| panic!("{line}"));
                assert!(name_ok(&rest[..eq]), "{line}");
                let mut i = eq + 2;
                let b = rest.as_bytes();
                loop {
                    assert!(i < b.len(), "unterminated value in {line}");
                    match b[i] {
                        b'\\' => {
                            assert!(matches!(b[i + 1], b'\\' | b'"' | b'n'), "{line}");
                            i += 2;
                        }
                        b'"' => break,
                        b'\n' => panic!("{line}"),
                        _ => i += 1,
                    }
                }
                rest = &rest[i + 1..];
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
        }
    }
}

#[test]
fn metrics_parse_with_a_prometheus_parser_and_cover_every_family() {
    let doc = golden_doc();
    let text = metrics::render(&doc, MetricsOptions::default());
    check_exposition_syntax(&text);
    let scrape = parse_metrics(&text);
    let names: BTreeSet<String> = scrape.samples.iter().map(|s| s.metric.clone()).collect();
    for fam in metrics::family_names(MetricsOptions::default()) {
        // prometheus-parse folds histogram samples into their family name.
        assert!(names.contains(fam), "family {fam} missing from\n{text}");
    }
    // Every family the issue and the exporters name.
    for n in [
        "keepalived_up",
        "keepalived_vrrp_state",
        "keepalived_vrrp_excluded_state",
        "keepalived_advert_rcvd",
        "keepalived_advert_sent",
        "keepalived_become_master",
        "keepalived_release_master",
        "keepalived_packet_len_err",
        "keepalived_advert_interval_err",
        "keepalived_ip_ttl_err",
        "keepalived_invalid_type_rcvd",
        "keepalived_addr_list_err",
        "keepalived_invalid_authtype",
        "keepalived_authtype_mismatch",
        "keepalived_auth_failure",
        "keepalived_pri_zero_rcvd",
        "keepalived_pri_zero_sent",
        "keepalived_garp_delay",
        "keepalived_gratuitous_arp_delay_total",
        "keepalived_advertisements_received_total",
        "keepalived_script_status",
        "keepalived_lvs_vip_in_packets",
        "keepalived_lvs_vip_conn",
        "keepalived_lvs_rs_in_bytes",
        "keepalived_reload_total",
        "keepalived_scheduler_lateness_seconds",
        "keepalived_checker_up",
    ] {
        assert!(names.contains(n), "{n} missing");
    }
    let find = |metric: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("{metric} {labels:?} not found"))
    };
    let val = |s: &prometheus_parse::Sample| match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("unexpected {other:?}"),
    };
    // keepalived_vrrp_state: one series per VIP, labelled as the exporter does.
    let st = find(
        "keepalived_vrrp_state",
        &[
            ("iname", "VI_1"),
            ("intf", "eth0"),
            ("vrid", "51"),
            ("ip_address", "192.0.2.101/24"),
        ],
    );
    assert_eq!(val(st), 2.0);
    // No VIP: one series with ip_address="" and the escaped interface name.
    let st2 = find(
        "keepalived_vrrp_state",
        &[("iname", "VI_2"), ("ip_address", "")],
    );
    // prometheus-parse hands label values back still escaped.
    assert_eq!(st2.labels.get("intf"), Some(r#"eth \"quoted\"\\"#));
    assert_eq!(val(st2), 1.0);
    assert_eq!(
        val(find(
            "keepalived_vrrp_excluded_state",
            &[("intf", "eth1"), ("ip_address", "2001:db8::1/64")]
        )),
        2.0
    );
    assert_eq!(
        val(find("keepalived_advert_rcvd", &[("iname", "VI_1")])),
        10.0
    );
    assert_eq!(
        val(find(
            "keepalived_advertisements_received_total",
            &[("iname", "VI_1"), ("vrid", "51")]
        )),
        10.0
    );
    assert_eq!(
        val(find("keepalived_auth_failure", &[("iname", "VI_1")])),
        2.0
    );
    assert_eq!(
        val(find("keepalived_reload_total", &[("result", "failed")])),
        1.0
    );
    assert_eq!(
        val(find("keepalived_reload_total", &[("result", "ok")])),
        1.0
    );
    assert_eq!(
        val(find("keepalived_script_status", &[("name", "chk_nginx")])),
        1.0
    );
    assert_eq!(
        val(find(
            "keepalived_checker_up",
            &[
                ("vs", "192.0.2.100:80"),
                ("rs", "[2001:db8::2]:8080"),
                ("check", "TCP_CHECK")
            ]
        )),
        0.0
    );
    assert_eq!(
        val(find(
            "keepalived_lvs_vip_conn",
            &[("addr", "192.0.2.100:80"), ("proto", "TCP")]
        )),
        7.0
    );
    // The histogram: cumulative buckets, +Inf == count.
    let h = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "keepalived_scheduler_lateness_seconds"
                && s.labels.get("process") == Some("parent")
        })
        .unwrap();
    match &h.value {
        prometheus_parse::Value::Histogram(b) => {
            let counts: Vec<f64> = b.iter().map(|x| x.count).collect();
            assert_eq!(counts.first(), Some(&1.0));
            assert_eq!(counts.last(), Some(&2.0));
            assert!(counts.windows(2).all(|w| w[0] <= w[1]));
        }
        other => panic!("not a histogram: {other:?}"),
    }
    // Without legacy names only the current ones remain.
    let modern = metrics::render(
        &doc,
        MetricsOptions {
            legacy_names: false,
        },
    );
    assert!(!modern.contains("keepalived_advert_rcvd{"));
    assert!(modern.contains("keepalived_advertisements_received_total{"));
}

#[test]
fn empty_document_still_valid_exposition() {
    let doc = StatusDoc::assemble(
        0.0,
        DaemonStatus {
            pid: 1,
            version: "v".into(),
            started_at: 0.0,
            uptime_secs: 0.0,
            config_file: "f".into(),
            config_generation: 1,
            last_reload: None,
            reloads: ReloadCounters::default(),
        },
        vec![],
        None,
        &[],
    );
    let text = metrics::render(&doc, MetricsOptions::default());
    check_exposition_syntax(&text);
    let s = parse_metrics(&text);
    assert!(s.samples.iter().any(|x| x.metric == "keepalived_up"));
}

/// A test-only server: both endpoints on one mio loop in a thread.
struct Served {
    dir: PathBuf,
    sock: PathBuf,
    http: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<(u64, u64)>>,
}

impl Served {
    fn start(tag: &str) -> Served {
        let dir = std::env::temp_dir().join(format!("ka-status-srv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sock = dir.join("run/keepalived.sock");
        let mut poll = mio::Poll::new().unwrap();
        let mut st = Endpoint::bind_status(&sock).unwrap();
        let mut mx = Endpoint::bind_metrics("127.0.0.1:0".parse().unwrap()).unwrap();
        st.register(poll.registry(), 100).unwrap();
        mx.register(poll.registry(), 100 + TOKENS_PER_ENDPOINT)
            .unwrap();
        let http = mx.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let doc = golden_doc();
        let thread = std::thread::spawn(move || {
            let mut events = mio::Events::with_capacity(64);
            let mut produce = |q: Query| match q {
                Query::Status => doc.to_json(),
                Query::Metrics => metrics::render(&doc, MetricsOptions::default()),
            };
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                poll.poll(&mut events, Some(Duration::from_millis(20)))
                    .unwrap();
                for ev in events.iter() {
                    if st.owns(ev.token()) {
                        st.handle(poll.registry(), ev.token(), &mut produce);
                    } else if mx.owns(ev.token()) {
                        mx.handle(poll.registry(), ev.token(), &mut produce);
                    } else {
                        panic!("foreign token {:?}", ev.token());
                    }
                }
                st.expire(poll.registry(), Instant::now());
                mx.expire(poll.registry(), Instant::now());
            }
            let served = (st.served(), mx.served());
            st.close(poll.registry());
            mx.close(poll.registry());
            served
        });
        Served {
            dir,
            sock,
            http,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn http_get(addr: std::net::SocketAddr, req: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn socket_and_http_endpoints_on_a_mio_loop() {
    let srv = Served::start("e2e");
    // Modes: socket 0600, directory 0700.
    let md = std::fs::symlink_metadata(&srv.sock).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(srv.sock.parent().unwrap())
            .unwrap()
            .mode()
            & 0o777,
        0o700
    );
    // Several clients in parallel, each gets one whole document.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let p = srv.sock.clone();
            std::thread::spawn(move || status::client::query(&p, Duration::from_secs(5)).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), golden_doc());
    }
    // A client that connects and never reads does not block the others.
    let idle = std::os::unix::net::UnixStream::connect(&srv.sock).unwrap();
    let doc = status::client::query(&srv.sock, Duration::from_secs(5)).unwrap();
    assert_eq!(doc.vrrp_instances.len(), 2);
    drop(idle);

    // HTTP.
    let r = http_get(srv.http, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
    let clen: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(clen, body.len());
    let scrape = parse_metrics(body);
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "keepalived_vrrp_state"));
    // Request split across writes.
    let mut s = std::net::TcpStream::connect(srv.http).unwrap();
    s.write_all(b"GET /sta").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b"tus HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let json = out.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(StatusDoc::from_json(json).unwrap(), golden_doc());
    // Oversized request: 431, and the server lives on.
    let mut big = b"GET /metrics HTTP/1.0\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    let r = http_get(srv.http, &big);
    assert!(r.starts_with("HTTP/1.0 431 "), "{r}");
    assert!(http_get(srv.http, b"GET /nope HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 "));
    assert!(http_get(srv.http, b"DELETE / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405 "));
    // A stalled HTTP client is dropped after the I/O timeout (5 s) — not
    // waited for here; just check it does not block another request.
    let _stalled = std::net::TcpStream::connect(srv.http).unwrap();
    assert!(http_get(srv.http, b"GET / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200 "));
    let sock = srv.sock.clone();
    let (st_served, mx_served) = srv.finish();
    assert!(st_served >= 9, "{st_served}");
    assert!(mx_served >= 6, "{mx_served}");
    assert!(!sock.exists(), "socket removed at close");
}

#[test]
fn status_socket_refuses_to_replace_a_regular_file_and_replaces_a_stale_socket() {
    let dir = std::env::temp_dir().join(format!("ka-status-bind-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("file.sock");
    std::fs::write(&f, "x").unwrap();
    let e = Endpoint::bind_status(&f).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("exists and is not a socket; not replacing it"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "x");
    // Stale socket (bound then dropped without unlink).
    let s = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&s).unwrap());
    let ep = Endpoint::bind_status(&s).unwrap();
    assert_eq!(
        std::fs::metadata(&s).unwrap().permissions().mode() & 0o777,
        0o600
    );
    drop(ep);
    // A symlinked directory is refused.
    std::os::unix::fs::symlink(&dir, dir.join("link")).unwrap();
    let e = Endpoint::bind_status(&dir.join("link/x.sock")).unwrap_err();
    assert!(
        e.to_string()
            .contains("is not a directory (or is a symlink)"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// 200 VRRP instances and 100 virtual servers x 10 real servers: document,
/// JSON and exposition sizes and times (printed; bounded generously for a
/// debug build on a shared 2-core machine).
#[test]
fn large_configuration_render_cost() {
    let base = golden_doc();
    let mut doc = base.clone();
    doc.vrrp_instances = (0..200)
        .map(|k| instance(&format!("VI_{k}"), VrrpState::Backup, (k % 255) as u8 + 1))
        .collect();
    let vs = base.virtual_servers[0].clone();
    doc.virtual_servers = (0..100)
        .map(|k| {
            let mut v = vs.clone();
            v.addr = format!("192.0.2.{}:80", k + 1);
            v.real_servers = (0..10)
                .map(|r| {
                    let mut rs = vs.real_servers[0].clone();
                    rs.addr = format!("198.51.100.{}", r + 1);
                    rs
                })
                .collect();
            v
        })
        .collect();
    let t = Instant::now();
    let json = doc.to_json();
    let t_json = t.elapsed();
    let t = Instant::now();
    let text = metrics::render(&doc, MetricsOptions::default());
    let t_metrics = t.elapsed();
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    eprintln!(
        "200 instances + 1000 real servers: JSON {} bytes in {:?}; metrics {} bytes, {} samples in {:?}",
        json.len(),
        t_json,
        text.len(),
        samples,
        t_metrics
    );
    assert!(samples > 200 * 30 + 1000 * 5, "{samples}");
    assert!(t_json < Duration::from_secs(2) && t_metrics < Duration::from_secs(2));
    check_exposition_syntax(&text);
}

#[test]
fn json_extras_from_configuration() {
    let dir = std::env::temp_dir().join(format!("ka-status-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  smtp_alert_vrrp\n}\n\
         vrrp_script chk {\n  script \"/usr/bin/test -f /tmp/x\"\n}\n\
         vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 7\n  priority 100\n\
           authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n\
           track_interface {\n    eth1\n  }\n  track_script {\n    chk\n  }\n\
           garp_master_repeat 3\n  garp_master_refresh 60\n  garp_lower_prio_repeat 2\n\
           virtual_ipaddress {\n    192.0.2.100\n  }\n}\n",
    )
    .unwrap();
    let loaded = config::load(&config::LoadOptions {
        path: conf,
        config_id: None,
        lenient: false,
    })
    .unwrap_or_else(|_| panic!("config does not load"));
    let cfg = &loaded.config;
    let x = JsonExtras::from_config(cfg, &cfg.vrrp_instances[0]);
    assert_eq!(x.auth_type, 1);
    assert_eq!(x.track_ifp, ["eth1"]);
    assert_eq!(x.track_script, ["/usr/bin/test -f /tmp/x"]);
    assert_eq!((x.garp_rep, x.garp_refresh), (3, 60));
    assert_eq!(x.garp_lower_prio_rep, 2);
    assert!(x.smtp_alert, "smtp_alert_vrrp applies to instances");
    assert!(x.accept && !x.strict_mode);
    let _ = std::fs::remove_dir_all(&dir);
}
