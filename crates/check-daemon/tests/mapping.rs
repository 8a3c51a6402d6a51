//! config → check engine input and config → IPVS services/destinations,
//! with literal expected values.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use check::{CheckKind, DesiredDest};
use ipvs::{
    DestKey, Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags,
    ServiceKey, Tunnel, TunnelType, VirtualService,
};
use keepalived_check_daemon::mapping::{desired_services, map_config, Mapped, ProbeKind};

fn load_path(p: &Path) -> config::Config {
    match config::load(&config::LoadOptions {
        path: p.to_path_buf(),
        config_id: Some("test".into()),
        lenient: false,
    }) {
        Ok(l) => l.config,
        Err(f) => panic!("{}: {:?}", p.display(), f.diagnostics),
    }
}

fn load(text: &str) -> config::Config {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(&p, text).unwrap();
    load_path(&p)
}

fn sample(name: &str) -> Mapped {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../etc/samples")
        .join(name);
    map_config(&load_path(&p))
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp_key(a: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: v4(a),
        port,
    }
}

/// The table when every real server is alive (what keepalived programs at
/// start without alpha).
fn all_alive(m: &Mapped, vs: usize) -> Vec<VirtualService> {
    let e = &m.engine[vs];
    let mut t: Vec<DesiredDest> = e
        .real_servers
        .iter()
        .map(|r| DesiredDest {
            addr: r.addr,
            weight: r.weight,
            present: true,
            sorry: false,
        })
        .collect();
    if let Some(s) = &e.sorry_server {
        t.push(DesiredDest {
            addr: s.addr,
            weight: 0,
            present: s.inhibit,
            sorry: true,
        });
    }
    desired_services(&m.plans[vs], &t)
}

fn dest(a: &str, port: u16, fwd: Forward, w: u32) -> Destination {
    Destination {
        key: DestKey { addr: v4(a), port },
        forward: fwd,
        weight: w,
        u_threshold: 0,
        l_threshold: 0,
        stats: None,
    }
}

fn svc(key: ServiceKey, sched: Scheduler) -> Service {
    Service::new(key, sched)
}

#[test]
fn sample_sorry_server() {
    let m = sample("001-sorry-server.conf");
    assert_eq!(m.engine.len(), 1);
    let e = &m.engine[0];
    assert_eq!(e.name.to_string(), "[192.168.8.100]:tcp:80");
    assert_eq!(e.quorum, 1);
    assert_eq!(e.hysteresis, 0);
    let s = e.sorry_server.as_ref().unwrap();
    assert_eq!(s.addr, "127.0.0.1:80".parse::<SocketAddr>().unwrap());
    assert!(!s.inhibit);
    assert_eq!(e.real_servers.len(), 2);
    let c = &e.real_servers[0].checkers[0];
    assert_eq!(c.kind, CheckKind::Tcp);
    assert_eq!(c.connect_timeout, Duration::from_secs(3));
    assert_eq!(c.retry, 3);
    assert_eq!(c.delay_before_retry, Duration::from_secs(2));
    assert_eq!(c.delay_loop, Duration::from_secs(2));
    assert_eq!(c.warmup, Duration::from_secs(2));
    let p = &m.plans[0].real_servers[1].probes[0];
    assert_eq!(p.target, "192.168.8.17:80".parse::<SocketAddr>().unwrap());
    assert_eq!(p.kind, ProbeKind::Tcp);
    assert_eq!(
        all_alive(&m, 0),
        vec![VirtualService {
            service: svc(tcp_key("192.168.8.100", 80), Scheduler::Rr),
            dests: vec![
                dest("192.168.8.16", 80, Forward::Route, 1),
                dest("192.168.8.17", 80, Forward::Route, 1),
            ],
        }]
    );
    // Sorry server active: only it, weight 1, DR as the VS.
    let t = vec![
        DesiredDest {
            addr: "192.168.8.16:80".parse().unwrap(),
            weight: 0,
            present: false,
            sorry: false,
        },
        DesiredDest {
            addr: "192.168.8.17:80".parse().unwrap(),
            weight: 0,
            present: false,
            sorry: false,
        },
        DesiredDest {
            addr: "127.0.0.1:80".parse().unwrap(),
            weight: 1,
            present: true,
            sorry: true,
        },
    ];
    assert_eq!(
        desired_services(&m.plans[0], &t)[0].dests,
        vec![dest("127.0.0.1", 80, Forward::Route, 1)]
    );
}

#[test]
fn samples_with_virtual_servers() {
    // (file, VS address, port, scheduler, real servers)
    let cases: &[(&str, &str, u16, Scheduler, &[&str])] = &[
        (
            "001-http-get.conf",
            "192.168.8.100",
            80,
            Scheduler::Rr,
            &["192.168.8.16", "192.168.8.17"],
        ),
        (
            "001-tcp-check.conf",
            "192.168.8.100",
            80,
            Scheduler::Rr,
            &["192.168.8.16", "192.168.8.17"],
        ),
        (
            "001-kpmaster-lvs.conf",
            "192.168.8.100",
            80,
            Scheduler::Rr,
            &["192.168.8.16", "192.168.8.17"],
        ),
        (
            "000-lvs-conf.d-www.m99-magedu.com.conf",
            "10.0.0.123",
            80,
            Scheduler::Rr,
            &["10.0.0.218", "10.0.0.219"],
        ),
        (
            "004-node1.conf",
            "192.168.1.118",
            80,
            Scheduler::Wrr,
            &["192.168.1.145", "192.168.1.146"],
        ),
    ];
    for (file, vip, port, sched, rss) in cases {
        let m = sample(file);
        let t = all_alive(&m, 0);
        assert_eq!(t.len(), 1, "{file}");
        assert_eq!(
            t[0].service,
            svc(tcp_key(vip, *port), sched.clone()),
            "{file}"
        );
        let want: Vec<Destination> = rss.iter().map(|r| dest(r, 80, Forward::Route, 1)).collect();
        assert_eq!(t[0].dests, want, "{file}");
    }
    // HTTP_GET sample: url, 3 s delay_before_retry default unless set.
    let m = sample("001-http-get.conf");
    match &m.plans[0].real_servers[0].probes[0].kind {
        ProbeKind::Http(h) => {
            assert!(!h.ssl);
            assert!(!h.urls.is_empty());
        }
        k => panic!("{k:?}"),
    }
}

const RS2: &str = "real_server 192.0.2.11 80 { weight 2\n TCP_CHECK { connect_timeout 2 } }\nreal_server 192.0.2.12 80 { weight 3\n TCP_CHECK { } }\n";

fn one_vs(header: &str, body: &str) -> Mapped {
    map_config(&load(&format!("{header} {{\n{body}\n{RS2}}}\n")))
}

#[test]
fn every_algorithm() {
    for (name, sched) in [
        ("rr", Scheduler::Rr),
        ("wrr", Scheduler::Wrr),
        ("lc", Scheduler::Lc),
        ("wlc", Scheduler::Wlc),
        ("lblc", Scheduler::Lblc),
        ("lblcr", Scheduler::Lblcr),
        ("sh", Scheduler::Sh),
        ("dh", Scheduler::Dh),
        ("sed", Scheduler::Sed),
        ("nq", Scheduler::Nq),
        ("fo", Scheduler::Fo),
        ("ovf", Scheduler::Ovf),
        ("mh", Scheduler::Mh),
    ] {
        let m = one_vs(
            "virtual_server 192.0.2.1 80",
            &format!("lb_algo {name}\nlb_kind NAT\nprotocol TCP"),
        );
        let t = all_alive(&m, 0);
        assert_eq!(t[0].service, svc(tcp_key("192.0.2.1", 80), sched), "{name}");
        assert_eq!(
            t[0].dests,
            vec![
                dest("192.0.2.11", 80, Forward::Masq, 2),
                dest("192.0.2.12", 80, Forward::Masq, 3)
            ]
        );
    }
    // sh flags
    let m = one_vs(
        "virtual_server 192.0.2.1 80",
        "lb_algo sh\nsh-port\nsh-fallback\nlb_kind NAT\nprotocol TCP",
    );
    let mut s = svc(tcp_key("192.0.2.1", 80), Scheduler::Sh);
    s.flags = ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK;
    assert_eq!(all_alive(&m, 0)[0].service, s);
}

#[test]
fn every_kind_and_protocol() {
    let m = one_vs(
        "virtual_server 192.0.2.1 80",
        "lb_algo rr\nlb_kind DR\nprotocol TCP",
    );
    assert_eq!(all_alive(&m, 0)[0].dests[0].forward, Forward::Route);
    let m = one_vs(
        "virtual_server 192.0.2.1 80",
        "lb_algo rr\nlb_kind TUN\nprotocol TCP",
    );
    assert_eq!(
        all_alive(&m, 0)[0].dests[0].forward,
        Forward::Tunnel(Tunnel::IPIP)
    );
    let m = one_vs(
        "virtual_server 192.0.2.1 80",
        "lb_algo rr\nlb_kind TUN type gue port 6080\nprotocol TCP",
    );
    assert_eq!(
        all_alive(&m, 0)[0].dests[0].forward,
        Forward::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: 0
        })
    );
    for (p, proto, name) in [
        ("UDP", Protocol::Udp, "udp"),
        ("SCTP", Protocol::Sctp, "sctp"),
        ("TCP", Protocol::Tcp, "tcp"),
    ] {
        let m = one_vs(
            "virtual_server 192.0.2.1 53",
            &format!("lb_algo rr\nlb_kind NAT\nprotocol {p}"),
        );
        assert_eq!(
            all_alive(&m, 0)[0].service.key,
            ServiceKey::Addr {
                protocol: proto,
                addr: v4("192.0.2.1"),
                port: 53
            }
        );
        assert_eq!(
            m.engine[0].name.to_string(),
            format!("[192.0.2.1]:{name}:53")
        );
    }
    // keepalived 2.2.7: no protocol on an address VS → UDP (with a warning).
    let m = one_vs("virtual_server 192.0.2.1 80", "lb_algo rr\nlb_kind NAT");
    assert_eq!(
        all_alive(&m, 0)[0].service.key,
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: v4("192.0.2.1"),
            port: 80
        }
    );
    // real_server lvs_method overrides the VS's.
    let m = map_config(&load(
        "virtual_server 192.0.2.1 80 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 192.0.2.11 80 {\nlvs_method DR\nuthreshold 100\nlthreshold 10\n}\n}\n",
    ));
    let d = &all_alive(&m, 0)[0].dests[0];
    assert_eq!(d.forward, Forward::Route);
    assert_eq!((d.u_threshold, d.l_threshold), (100, 10));
}

#[test]
fn fwmark_group_ipv6_persistence() {
    let m = one_vs(
        "virtual_server fwmark 7",
        "lb_algo wlc\nlb_kind DR\nprotocol TCP",
    );
    assert_eq!(
        all_alive(&m, 0)[0].service,
        svc(
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark: 7
            },
            Scheduler::Wlc
        )
    );
    assert_eq!(m.engine[0].name.to_string(), "FWM 7");

    let m = map_config(&load(
        "virtual_server_group web {\n192.0.2.1 80\n192.0.2.5-7 80\nfwmark 9\n}\nvirtual_server group web {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 192.0.2.11 80 { }\n}\n",
    ));
    let keys: Vec<ServiceKey> = all_alive(&m, 0).iter().map(|v| v.service.key).collect();
    assert_eq!(
        keys,
        vec![
            tcp_key("192.0.2.1", 80),
            tcp_key("192.0.2.5", 80),
            tcp_key("192.0.2.6", 80),
            tcp_key("192.0.2.7", 80),
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark: 9
            },
        ]
    );
    assert!(all_alive(&m, 0)
        .iter()
        .all(|v| v.dests == vec![dest("192.0.2.11", 80, Forward::Masq, 1)]));

    let m = map_config(&load(
        "virtual_server 2001:db8::1 443 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\npersistence_timeout 600\npersistence_granularity 64\nreal_server 2001:db8::11 443 {\nweight 5\nSSL_GET {\nurl {\npath /\n}\n}\n}\n}\n",
    ));
    let t = all_alive(&m, 0);
    let mut s = svc(
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "2001:db8::1".parse().unwrap(),
            port: 443,
        },
        Scheduler::Rr,
    );
    s.flags = ServiceFlags::PERSISTENT;
    s.timeout = 600;
    s.netmask = Netmask::V6(64);
    assert_eq!(t[0].service, s);
    assert_eq!(
        t[0].dests[0].key,
        DestKey {
            addr: "2001:db8::11".parse().unwrap(),
            port: 443
        }
    );
    assert_eq!(t[0].dests[0].weight, 5);
    assert_eq!(m.engine[0].name.to_string(), "[2001:db8::1]:tcp:443");
    assert!(matches!(
        &m.plans[0].real_servers[0].probes[0].kind,
        ProbeKind::Http(h) if h.ssl
    ));

    let m = one_vs(
        "virtual_server 192.0.2.1 80",
        "lb_algo rr\nlb_kind NAT\nprotocol TCP\npersistence_timeout\npersistence_granularity 255.255.255.0",
    );
    let mut s = svc(tcp_key("192.0.2.1", 80), Scheduler::Rr);
    s.flags = ServiceFlags::PERSISTENT;
    s.timeout = 360;
    s.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(all_alive(&m, 0)[0].service, s);
}

#[test]
fn checker_defaults_and_quorum_clamps() {
    let m = map_config(&load(
        "virtual_server 192.0.2.1 80 {\ndelay_loop 7\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nquorum 10\nhysteresis 20\nreal_server 192.0.2.11 80 {\nweight 2\n\
         HTTP_GET {\nurl {\npath /h\nstatus_code 200-204\n}\n}\n\
         DNS_CHECK {\ntype A\nname example.com\n}\n\
         MISC_CHECK {\nmisc_path \"/bin/true x\"\n}\n\
         SMTP_CHECK {\nconnect_ip 192.0.2.50\nconnect_port 25\nbindto 192.0.2.2\n}\n\
         UDP_CHECK {\npayload 0a0b\nrequire_reply 0a\n}\n\
         PING_CHECK {\n}\n\
         TCP_CHECK {\nnb_get_retry 4\n}\n}\n}\n",
    ));
    let e = &m.engine[0];
    assert_eq!((e.quorum, e.hysteresis), (2, 1));
    let c = &e.real_servers[0].checkers;
    let s = Duration::from_secs;
    // HTTP: retry 1, delay_before_retry 3 s, warmup = delay_loop.
    assert_eq!(
        (
            c[0].retry,
            c[0].delay_before_retry,
            c[0].warmup,
            c[0].connect_timeout
        ),
        (1, s(3), s(7), s(5))
    );
    // DNS: retry 3, delay_before_retry = delay_loop.
    assert_eq!((c[1].retry, c[1].delay_before_retry), (3, s(7)));
    // MISC: retry 0, timeout = delay_loop.
    assert_eq!((c[2].retry, c[2].connect_timeout), (0, s(7)));
    assert_eq!(
        c[2].kind,
        CheckKind::Misc {
            script: "/bin/true".into(),
            dynamic: false
        }
    );
    // TCP with nb_get_retry.
    assert_eq!((c[6].retry, c[6].delay_before_retry), (4, s(1)));
    let p = &m.plans[0].real_servers[0].probes;
    assert_eq!(p[3].target, "192.0.2.50:25".parse::<SocketAddr>().unwrap());
    assert_eq!(p[3].bind(), Some("192.0.2.2:0".parse().unwrap()));
    assert_eq!(
        c[3].kind,
        CheckKind::Smtp {
            server: "192.0.2.50:25".parse().unwrap()
        }
    );
    match &p[0].kind {
        ProbeKind::Http(h) => {
            assert!(h.urls[0].status_codes.contains(204));
            assert!(!h.urls[0].status_codes.contains(205));
        }
        k => panic!("{k:?}"),
    }
    match &p[4].kind {
        ProbeKind::Udp(u) => {
            assert_eq!(u.payload, vec![0x0a, 0x0b]);
            assert!(u.expect.require_reply);
            assert!(u.expect.reply_ok(&[0x0a, 0x01]));
            assert!(!u.expect.reply_ok(&[0x0b]));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(p[5].kind, ProbeKind::Ping);
}

#[test]
fn ports_and_protocols_fixed_like_keepalived() {
    // DR real server on another port: reset to the virtual port; NAT keeps it.
    let m = map_config(&load(
        "virtual_server 192.0.2.1 80 {\nlb_algo rr\nlb_kind DR\nprotocol TCP\nreal_server 192.0.2.11 8080 { }\nreal_server 192.0.2.12 8080 {\nlvs_method NAT\n}\n}\n",
    ));
    let d = &all_alive(&m, 0)[0].dests;
    assert_eq!(d[0].key.port, 80);
    assert_eq!(d[1].key.port, 8080);
    assert_eq!(
        m.engine[0].real_servers[0].addr,
        "192.0.2.11:80".parse::<SocketAddr>().unwrap()
    );
    // The probe still goes to the configured port.
    assert_eq!(m.plans[0].real_servers[0].probes.len(), 0);
    // fwmark + DR: port cleared, protocol ignored in names.
    let m = map_config(&load(
        "virtual_server fwmark 7 {\nlb_algo rr\nlb_kind DR\nprotocol TCP\nreal_server 192.0.2.11 80 {\nTCP_CHECK { }\n}\n}\n",
    ));
    assert_eq!(all_alive(&m, 0)[0].dests[0].key.port, 0);
    assert_eq!(m.engine[0].proto, check::Proto::None);
    assert_eq!(
        m.plans[0].real_servers[0].probes[0].target,
        "192.0.2.11:80".parse::<SocketAddr>().unwrap()
    );
    // Zero port: persistence 360 s is set.
    let m = one_vs(
        "virtual_server 192.0.2.1 0",
        "lb_algo rr\nlb_kind NAT\nprotocol TCP",
    );
    let s = &all_alive(&m, 0)[0].service;
    assert_eq!((s.flags, s.timeout), (ServiceFlags::PERSISTENT, 360));
}
