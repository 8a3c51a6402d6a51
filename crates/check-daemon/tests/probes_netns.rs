//! Probe I/O of the checker runtime against real backends on 127.0.0.1
//! inside a network namespace each test creates (root; skipped otherwise).
//! The runtime runs in the test thread, which enters the namespace; the
//! backends are threads spawned after that (they inherit it). IPVS is the
//! in-memory backend (this kernel has no IPVS); the IPVS-not-available
//! path is tested against the real kernel.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ipc::{ChildFlags, ChildHandler};
use keepalived_check_daemon::backend::{IpvsBackend, MemoryIpvs, MemoryState};
use keepalived_check_daemon::{drive, CheckRuntime, LogCapture};
use sched::Sched;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace with lo up and moves the calling thread into it.
    fn enter() -> Option<Netns> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: not root");
            return None;
        }
        let name = format!(
            "ka-cd-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        let ns = Netns { name };
        let ok = Command::new("ip")
            .args(["-n", &ns.name, "link", "set", "lo", "up"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "lo up");
        let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).expect("netns file");
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        Some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

struct Rig {
    sched: Sched,
    rt: CheckRuntime,
    logs: LogCapture,
    ipvs: Arc<Mutex<MemoryState>>,
    _dir: tempfile::TempDir,
}

fn load(text: &str, dir: &std::path::Path) -> config::Config {
    let p = dir.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    match config::load(&config::LoadOptions {
        path: p,
        config_id: Some("t".into()),
        lenient: false,
    }) {
        Ok(l) => l.config,
        Err(f) => panic!("{:?}", f.diagnostics),
    }
}

fn rig_with(text: &str, mem: MemoryIpvs) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let cfg = load(text, dir.path());
    let state = Arc::clone(&mem.state);
    let mut rt = CheckRuntime::with_backend(
        ChildFlags::default(),
        Box::new(move || Ok(Box::new(mem.clone()) as Box<dyn IpvsBackend>)),
    );
    let logs = rt.capture_logs();
    let mut sched = Sched::new().unwrap();
    rt.configure(&mut sched, &cfg, false).expect("configure");
    Rig {
        sched,
        rt,
        logs,
        ipvs: state,
        _dir: dir,
    }
}

fn rig(text: &str) -> Rig {
    rig_with(text, MemoryIpvs::default())
}

impl Rig {
    fn has(&self, needle: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(needle))
    }
    /// Runs the loop until a log line contains `needle`; returns the time it took.
    fn wait_log(&mut self, needle: &str, limit: Duration) -> Duration {
        let t0 = Instant::now();
        while !self.has(needle) {
            assert!(
                t0.elapsed() < limit,
                "no log line with {needle:?} within {limit:?}; lines:\n{}",
                self.logs.lock().unwrap().join("\n")
            );
            drive(&mut self.sched, &mut self.rt, Duration::from_millis(20));
        }
        t0.elapsed()
    }
    fn dests(&self) -> Vec<(SocketAddr, u32)> {
        let st = self.ipvs.lock().unwrap();
        st.table()
            .iter()
            .flat_map(|v| {
                v.dests
                    .iter()
                    .map(|d| (SocketAddr::new(d.key.addr, d.key.port), d.weight))
            })
            .collect()
    }
    fn ops(&self) -> usize {
        self.ipvs.lock().unwrap().ops.len()
    }
    fn reload(&mut self, text: &str) {
        let cfg = load(text, self._dir.path());
        self.rt
            .configure(&mut self.sched, &cfg, true)
            .expect("reload");
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn vs(body: &str) -> String {
    format!(
        "virtual_server 192.0.2.1 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{body}\n}}\n"
    )
}

/// A TCP server answering every connection with `reply` (after reading
/// the request head), recording the requests.
type Requests = Arc<Mutex<Vec<Vec<u8>>>>;

fn http_server(reply: &'static [u8]) -> (u16, Requests, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let reqs = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (r2, s2) = (Arc::clone(&reqs), Arc::clone(&stop));
    l.set_nonblocking(true).unwrap();
    thread::spawn(move || loop {
        if s2.load(Ordering::SeqCst) {
            return;
        }
        match l.accept() {
            Ok((mut c, _)) => {
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut buf = Vec::new();
                let mut b = [0u8; 512];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                r2.lock().unwrap().push(buf);
                let _ = c.write_all(reply);
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    });
    (port, reqs, stop)
}

#[test]
fn tcp_check_closed_port_removed_and_readded() {
    let Some(_ns) = Netns::enter() else { return };
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let p1 = up.local_addr().unwrap().port();
    // A port with nothing listening.
    let p2 = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {p1} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\nreal_server 127.0.0.2 {p2} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    // Not alpha: both added at start.
    assert_eq!(
        r.dests(),
        vec![
            (addr(&format!("127.0.0.1:{p1}")), 1),
            (addr(&format!("127.0.0.2:{p2}")), 1)
        ]
    );
    let t = r.wait_log(
        &format!("Removing service [127.0.0.2]:tcp:{p2} from VS [192.0.2.1]:tcp:80"),
        Duration::from_secs(5),
    );
    assert!(r.has(&format!("TCP_CHECK on service [127.0.0.2]:tcp:{p2} failed")));
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.1:{p1}")), 1)]);
    // bootstrap 1 s + warmup jitter (≤ delay_loop 1 s), refused at once.
    assert!(t < Duration::from_millis(3_000), "removed after {t:?}");
    // The port comes back.
    let _l2 = TcpListener::bind(format!("127.0.0.2:{p2}")).unwrap();
    let t = r.wait_log(
        &format!("Adding service [127.0.0.2]:tcp:{p2} to VS [192.0.2.1]:tcp:80"),
        Duration::from_secs(4),
    );
    assert!(r.has(&format!("TCP connection to [127.0.0.2]:tcp:{p2} success.")));
    assert!(t <= Duration::from_millis(2_000), "re-added after {t:?}");
    assert_eq!(r.dests().len(), 2);
    // The first one goes away.
    drop(up);
    r.wait_log(
        &format!("Removing service [127.0.0.1]:tcp:{p1} from VS [192.0.2.1]:tcp:80"),
        Duration::from_secs(4),
    );
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.2:{p2}")), 1)]);
    // Reload with the same configuration: no IPVS operation at all.
    let before = r.ops();
    r.reload(&text);
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_500));
    assert_eq!(
        r.ops(),
        before,
        "reload of an unchanged config changed IPVS"
    );
}

#[test]
fn http_get_request_bytes_status_digest_and_timeout() {
    let Some(_ns) = Netns::enter() else { return };
    let (ok, reqs, _s1) = http_server(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    let (bad, _r2, _s2) = http_server(b"HTTP/1.0 500 Internal Server Error\r\n\r\noops");
    // Accepts, never answers.
    let hang = TcpListener::bind("127.0.0.3:0").unwrap();
    let ph = hang.local_addr().unwrap().port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {ok} {{\n HTTP_GET {{\n url {{\n path /x\n digest 900150983cd24fb0d6963f7d28e17f72\n }}\n connect_timeout 1\n }}\n}}\n\
         real_server 127.0.0.1 {bad} {{\n HTTP_GET {{\n url {{\n path /y\n }}\n connect_timeout 1\n }}\n}}\n\
         real_server 127.0.0.3 {ph} {{\n HTTP_GET {{\n url {{\n path /z\n }}\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    r.wait_log(
        &format!("Removing service [127.0.0.1]:tcp:{bad} from VS [192.0.2.1]:tcp:80"),
        Duration::from_secs(5),
    );
    let t = r.wait_log(
        &format!("Removing service [127.0.0.3]:tcp:{ph} from VS"),
        Duration::from_secs(5),
    );
    let _ = t;
    assert!(r.has(&format!(
        "HTTP_CHECK on service [127.0.0.3]:tcp:{ph} failed"
    )));
    // The good one stays.
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_200));
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.1:{ok}")), 1)]);
    let req = reqs.lock().unwrap().first().cloned().expect("a request");
    assert_eq!(
        String::from_utf8_lossy(&req),
        format!("GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{ok}\r\n\r\n")
    );
    drop(hang);
}

#[test]
fn smtp_check_dialogue() {
    let Some(_ns) = Netns::enter() else { return };
    fn smtp_server(banner: &'static [u8]) -> (u16, Arc<Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let _ = c.write_all(banner);
                let mut rd = BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                if rd.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                s2.lock().unwrap().push(line.clone());
                let _ = c.write_all(b"250 hello\r\n");
                line.clear();
                if rd.read_line(&mut line).unwrap_or(0) > 0 {
                    s2.lock().unwrap().push(line.clone());
                    let _ = c.write_all(b"221 bye\r\n");
                }
            }
        });
        (port, seen)
    }
    let (good, seen) = smtp_server(b"220 mx.example ESMTP\r\n");
    let (bad, _) = smtp_server(b"554 go away\r\n");
    let text = vs(&format!(
        "real_server 127.0.0.1 {good} {{\n SMTP_CHECK {{\n connect_timeout 1\n }}\n}}\nreal_server 127.0.0.1 {bad} {{\n SMTP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    r.wait_log(
        &format!("Removing service [127.0.0.1]:tcp:{bad} from VS"),
        Duration::from_secs(5),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_200));
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.1:{good}")), 1)]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.first().map(String::as_str),
        Some("HELO smtpchecker.keepalived.org\r\n")
    );
    assert_eq!(seen.get(1).map(String::as_str), Some("QUIT\r\n"));
}

#[test]
fn dns_and_udp_checks() {
    let Some(_ns) = Netns::enter() else { return };
    // DNS responder: answers with QR set and the given rcode.
    fn dns_server(rcode: u8) -> u16 {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut b) {
                let mut r = b[..n].to_vec();
                if r.len() >= 4 {
                    r[2] |= 0x80;
                    r[3] = (r[3] & 0xf0) | rcode;
                }
                let _ = s.send_to(&r, from);
            }
        });
        port
    }
    let d_ok = dns_server(0);
    let d_nx = dns_server(3);
    // UDP echo.
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let pe = echo.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut b = [0u8; 512];
        while let Ok((n, from)) = echo.recv_from(&mut b) {
            let _ = echo.send_to(&b[..n], from);
        }
    });
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "virtual_server 192.0.2.1 53 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol UDP\n\
         real_server 127.0.0.1 {d_ok} {{\n DNS_CHECK {{\n connect_timeout 1\n name example.com\n type A\n }}\n}}\n\
         real_server 127.0.0.1 {d_nx} {{\n DNS_CHECK {{\n connect_timeout 1\n retry 0\n }}\n}}\n\
         real_server 127.0.0.1 {pe} {{\n UDP_CHECK {{\n connect_timeout 1\n payload 0102\n require_reply 0102\n }}\n}}\n\
         real_server 127.0.0.1 {closed} {{\n UDP_CHECK {{\n connect_timeout 1\n payload 0102\n }}\n}}\n}}\n"
    );
    let mut r = rig(&text);
    r.wait_log(
        &format!("Removing service [127.0.0.1]:udp:{d_nx} from VS [192.0.2.1]:udp:53"),
        Duration::from_secs(5),
    );
    assert!(r.has(&format!(
        "DNS_CHECK ([127.0.0.1]:udp:{d_nx}) read error occurred. (rcode = 3)"
    )));
    r.wait_log(
        &format!("Removing service [127.0.0.1]:udp:{closed} from VS"),
        Duration::from_secs(5),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_200));
    assert_eq!(
        r.dests(),
        vec![
            (addr(&format!("127.0.0.1:{d_ok}")), 1),
            (addr(&format!("127.0.0.1:{pe}")), 1)
        ]
    );
}

#[test]
fn misc_check_scripts() {
    let Some(_ns) = Netns::enter() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let ok = mk("ok.sh", "exit 0");
    let fail = mk("fail.sh", "exit 1");
    let pids = dir.path().join("pids");
    let slow = mk(
        "slow.sh",
        &format!("echo $$ >> {}\nsleep 30", pids.display()),
    );
    let dynw = mk("dyn.sh", "exit 5");
    let text = vs(&format!(
        "real_server 198.51.100.1 80 {{\n MISC_CHECK {{\n misc_path \"{ok}\"\n }}\n}}\n\
         real_server 198.51.100.2 80 {{\n MISC_CHECK {{\n misc_path \"{fail} arg\"\n }}\n}}\n\
         real_server 198.51.100.3 80 {{\n MISC_CHECK {{\n misc_path {slow}\n misc_timeout 1\n }}\n}}\n\
         real_server 198.51.100.4 80 {{\n MISC_CHECK {{\n misc_path {dynw}\n misc_dynamic\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    r.wait_log(
        &format!("Misc check for [[198.51.100.2]:tcp:80 VS [192.0.2.1]:tcp:80] by [{fail}] failed with retry disabled (exited with status 1)."),
        Duration::from_secs(5),
    );
    r.wait_log(
        "Removing service [198.51.100.2]:tcp:80 from VS",
        Duration::from_secs(2),
    );
    let t0 = Instant::now();
    r.wait_log(
        &format!("Misc check for [[198.51.100.3]:tcp:80 VS [192.0.2.1]:tcp:80] by [{slow}] timed out with retry disabled."),
        Duration::from_secs(5),
    );
    let _ = t0;
    r.wait_log(
        "Removing service [198.51.100.3]:tcp:80 from VS",
        Duration::from_secs(2),
    );
    r.wait_log(
        "Changing weight from 1 to 3 for active service [198.51.100.4]:tcp:80 of VS [192.0.2.1]:tcp:80",
        Duration::from_secs(5),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(300));
    assert_eq!(
        r.dests(),
        vec![(addr("198.51.100.1:80"), 1), (addr("198.51.100.4:80"), 3)]
    );
    // The timed-out script (and its `sleep`, same process group) is gone.
    let first: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // (Zombies re-parented to this container's pid 1, which does not reap,
    // do not count: under the watchdog, a subreaper, they are reaped.)
    let live = live_members(first);
    assert!(
        live.is_empty(),
        "process group {first} of the timed-out script still has {live:?}\n{}",
        r.logs.lock().unwrap().join("\n")
    );
}

/// Non-zombie processes of process group `pgid`.
fn live_members(pgid: i32) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(") ").map(|x| x.1) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[2] == pgid.to_string() && f[0] != "Z" {
            out.push(stat.trim().to_string());
        }
    }
    out
}

#[test]
fn ssl_get_against_local_tls_server() {
    let Some(_ns) = Netns::enter() else { return };
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap(),
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let reqs = Arc::new(Mutex::new(Vec::<String>::new()));
    let r2 = Arc::clone(&reqs);
    thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { return };
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let conn = rustls::ServerConnection::new(Arc::clone(&cfg)).unwrap();
            let mut s = rustls::StreamOwned::new(conn, c);
            let mut buf = Vec::new();
            let mut b = [0u8; 512];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&b[..n]),
                }
            }
            r2.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).into_owned());
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nabc");
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    });
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {port} {{\n SSL_GET {{\n url {{\n path /tls\n digest 900150983cd24fb0d6963f7d28e17f72\n }}\n connect_timeout 2\n }}\n}}\n\
         real_server 127.0.0.1 {closed} {{\n SSL_GET {{\n url {{\n path /\n }}\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    r.wait_log(
        &format!("Removing service [127.0.0.1]:tcp:{closed} from VS"),
        Duration::from_secs(5),
    );
    // Wait until the TLS server answered at least twice (two checks passed).
    let t0 = Instant::now();
    while reqs.lock().unwrap().len() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "TLS server saw {:?}",
            reqs.lock().unwrap()
        );
        drive(&mut r.sched, &mut r.rt, Duration::from_millis(50));
    }
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(100));
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.1:{port}")), 1)]);
    assert!(
        !r.has(&format!("[127.0.0.1]:tcp:{port} failed")),
        "{:?}",
        r.logs.lock().unwrap()
    );
    assert_eq!(
        reqs.lock().unwrap()[0],
        format!(
            "GET /tls HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        )
    );
}

#[test]
fn ping_check_and_quorum_sorry_server() {
    let Some(_ns) = Netns::enter() else { return };
    // 192.0.2.77 is not routable in the namespace: the ping fails.
    let text = vs("quorum 2\n sorry_server 127.0.0.9 80\n\
         real_server 127.0.0.1 80 {\n PING_CHECK {\n connect_timeout 1\n }\n}\n\
         real_server 192.0.2.77 80 {\n PING_CHECK {\n connect_timeout 1\n }\n}\n");
    let mut r = rig(&text);
    r.wait_log(
        "Removing service [192.0.2.77]:tcp:80 from VS",
        Duration::from_secs(5),
    );
    r.wait_log(
        "Lost quorum 2-0=2 > 1 for VS [192.0.2.1]:tcp:80",
        Duration::from_secs(1),
    );
    r.wait_log(
        "Adding sorry server [127.0.0.9]:tcp:80 to VS [192.0.2.1]:tcp:80",
        Duration::from_secs(1),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_500));
    assert!(
        !r.has("ICMP CHECK on service [127.0.0.1]"),
        "{:?}",
        r.logs.lock().unwrap()
    );
    assert_eq!(r.dests(), vec![(addr("127.0.0.9:80"), 1)]);
}

#[test]
fn adopts_existing_table_without_changes() {
    let Some(_ns) = Netns::enter() else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {p} {{\n TCP_CHECK {{\n }}\n}}\n"
    ));
    // First run programs the table; a second runtime on the same table (a
    // restarted checker child) must not touch it.
    let mem = MemoryIpvs::default();
    let mut r1 = rig_with(&text, mem.clone());
    let ops1 = r1.ops();
    assert_eq!(ops1, 2, "AddService + AddDest");
    drive(&mut r1.sched, &mut r1.rt, Duration::from_millis(100));
    drop(r1);
    let r2 = rig_with(&text, mem);
    assert_eq!(r2.ops(), ops1, "the restarted child changed the table");
    let _ = TcpStream::connect(("127.0.0.1", p));
}

#[test]
fn ipvs_not_available_on_this_kernel() {
    let Some(_ns) = Netns::enter() else { return };
    if ipvs::Ipvs::open().is_ok() {
        eprintln!("skipped: this kernel has IPVS");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = load(
        &vs("real_server 127.0.0.1 8080 {\n TCP_CHECK {\n connect_timeout 2\n }\n}\n"),
        dir.path(),
    );
    let mut rt = CheckRuntime::new(ChildFlags::default(), None);
    let logs = rt.capture_logs();
    let mut sched = Sched::new().unwrap();
    let e = rt.configure(&mut sched, &cfg, false).unwrap_err();
    assert_eq!(e, "IPVS: Can't initialize ipvs: No such file or directory");
    assert_eq!(
        *logs.lock().unwrap(),
        vec![
            "IPVS: Can't initialize ipvs: No such file or directory".to_string(),
            "Shutting down service [127.0.0.1]:tcp:8080 from VS [192.0.2.1]:tcp:80".to_string(),
        ]
    );
}

#[test]
fn smtp_alert_on_real_server_down() {
    let Some(_ns) = Netns::enter() else { return };
    // A minimal mail sink: records the DATA of each mail.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let sp = l.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::<String>::new()));
    let m2 = Arc::clone(&mails);
    thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = c.write_all(b"220 sink\r\n");
            let mut rd = BufReader::new(c.try_clone().unwrap());
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if rd.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        m2.lock().unwrap().push(std::mem::take(&mut data));
                        let _ = c.write_all(b"250 queued\r\n");
                    } else {
                        data.push_str(&line);
                    }
                    continue;
                }
                let up = line.to_ascii_uppercase();
                if up.starts_with("DATA") {
                    in_data = true;
                    let _ = c.write_all(b"354 go\r\n");
                } else if up.starts_with("QUIT") {
                    let _ = c.write_all(b"221 bye\r\n");
                    break;
                } else {
                    let _ = c.write_all(b"250 ok\r\n");
                }
            }
        }
    });
    let closed = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "global_defs {{\n router_id T\n notification_email {{\n ops@example.com\n }}\n notification_email_from ka@example.com\n smtp_server 127.0.0.1 {sp}\n smtp_connect_timeout 3\n}}\n{}",
        vs(&format!(
            "smtp_alert\n real_server 127.0.0.2 {closed} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
        ))
    );
    let mut r = rig(&text);
    r.wait_log("Removing service [127.0.0.2]", Duration::from_secs(5));
    let t0 = Instant::now();
    while mails.lock().unwrap().len() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "mails: {:?}",
            mails.lock().unwrap()
        );
        drive(&mut r.sched, &mut r.rt, Duration::from_millis(50));
    }
    let all = mails.lock().unwrap().join("\n----\n");
    assert!(
        all.contains(&format!(
            "Subject: [T] Realserver [127.0.0.2]:tcp:{closed} of virtual server [192.0.2.1]:tcp:80 - DOWN"
        )),
        "{all}"
    );
    assert!(all.contains("=> TCP CHECK failed on service <="), "{all}");
    assert!(
        all.contains("Subject: [T] Virtualserver [192.0.2.1]:tcp:80 - DOWN"),
        "{all}"
    );
    assert!(all.contains("=> Lost quorum 1-0=1 > 0 <="), "{all}");
}

#[test]
fn data_dump_lists_servers_and_table() {
    let Some(_ns) = Netns::enter() else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {p} {{\n weight 3\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let r = rig(&text);
    let t = keepalived_check_daemon::dump::data_text(&r.rt);
    assert!(t.contains(" VS = [192.0.2.1]:tcp:80\n"), "{t}");
    assert!(t.contains(&format!("   RS = [127.0.0.1]:tcp:{p}\n")), "{t}");
    assert!(
        t.contains("     weight = 3, effective weight = 3, alive = yes, in IPVS = yes\n"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "     Checker = TCP_CHECK [127.0.0.1]:{p}, state = UP"
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("-a -t 192.0.2.1:80 -r 127.0.0.1:{p} -m -w 3")),
        "{t}"
    );
}

#[test]
fn ha_suspend_follows_the_virtual_address() {
    let Some(_ns) = Netns::enter() else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    let text = vs(&format!(
        "ha_suspend\n real_server 127.0.0.1 {p} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    let count = |r: &Rig, s: &str| {
        r.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(s))
            .count()
    };
    let name = format!("service [127.0.0.1]:tcp:{p} for VS [192.0.2.1]:tcp:80");
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(100));
    let before = r.logs.lock().unwrap().clone();
    assert!(
        !before
            .iter()
            .any(|l| l.starts_with("Activating") && l.contains(&name)),
        "{before:?}"
    );
    let ok = Command::new("ip")
        .args(["addr", "add", "192.0.2.1/32", "dev", "lo"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok);
    r.wait_log(
        &format!("Activating healthchecker for {name}"),
        Duration::from_secs(2),
    );
    let ok = Command::new("ip")
        .args(["addr", "del", "192.0.2.1/32", "dev", "lo"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok);
    r.wait_log(
        &format!("Suspending healthchecker for {name}"),
        Duration::from_secs(2),
    );
    assert_eq!(
        count(&r, &format!("Deactivating healthchecker for {name}")),
        1
    );
}

#[test]
fn reload_applies_only_the_difference() {
    let Some(_ns) = Netns::enter() else { return };
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let pa = a.local_addr().unwrap().port();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    let pb = b.local_addr().unwrap().port();
    let rs = |p: u16, w: u32| {
        format!("real_server 127.0.0.1 {p} {{\n weight {w}\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n")
    };
    let two_vs = |body1: String| {
        format!(
            "{}virtual_server 192.0.2.2 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}}}\n",
            vs(&body1),
            rs(pa, 1)
        )
    };
    let mut r = rig(&two_vs(rs(pa, 1)));
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_500));
    let ops0 = r.ops();
    assert_eq!(ops0, 4);
    // Weight change + a new real server on the first VS; the second VS goes.
    r.reload(&vs(&(rs(pa, 5) + &rs(pb, 2))));
    let st = r.ipvs.lock().unwrap();
    let new_ops: Vec<String> = st.ops[ops0..].iter().map(ipvs::ipvsadm::op_line).collect();
    drop(st);
    assert_eq!(
        new_ops,
        vec![
            "-D -t 192.0.2.2:80".to_string(),
            format!("-e -t 192.0.2.1:80 -r 127.0.0.1:{pa} -m -w 5"),
            format!("-a -t 192.0.2.1:80 -r 127.0.0.1:{pb} -m -w 2"),
        ]
    );
    assert!(
        r.has(&format!(
            "Changing weight from 1 to 5 for active service [127.0.0.1]:tcp:{pa}"
        )),
        "{:?}",
        r.logs.lock().unwrap()
    );
    // The kept real server kept its state: still up, never removed.
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_500));
    assert!(!r.has("Removing service"), "{:?}", r.logs.lock().unwrap());
    assert_eq!(
        r.dests(),
        vec![
            (addr(&format!("127.0.0.1:{pa}")), 5),
            (addr(&format!("127.0.0.1:{pb}")), 2)
        ]
    );
}

#[test]
fn table_changed_behind_our_back_is_repaired() {
    let Some(_ns) = Netns::enter() else { return };
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let pa = a.local_addr().unwrap().port();
    let closed = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = vs(&format!(
        "real_server 127.0.0.1 {pa} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\nreal_server 127.0.0.2 {closed} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    // Someone deletes our service (ipvsadm -D): the next change re-creates
    // it after the refused operation.
    {
        let mut st = r.ipvs.lock().unwrap();
        let k = st.order[0];
        st.map.remove(&k);
        st.order.clear();
    }
    r.wait_log(
        &format!("Removing service [127.0.0.2]:tcp:{closed}"),
        Duration::from_secs(5),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(100));
    assert_eq!(r.dests(), vec![(addr(&format!("127.0.0.1:{pa}")), 1)]);
}

#[test]
fn bindto_bind_port_and_connect_ip() {
    let Some(_ns) = Netns::enter() else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    let peers = Arc::new(Mutex::new(Vec::<SocketAddr>::new()));
    let p2 = Arc::clone(&peers);
    thread::spawn(move || {
        for c in l.incoming().flatten() {
            if let Ok(a) = c.peer_addr() {
                p2.lock().unwrap().push(a);
            }
        }
    });
    let bp = UdpSocket::bind("127.0.0.5:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The real server is elsewhere; the check goes to connect_ip:connect_port
    // from bindto:bind_port.
    let text = vs(&format!(
        "real_server 198.51.100.7 80 {{\n TCP_CHECK {{\n connect_ip 127.0.0.1\n connect_port {p}\n bindto 127.0.0.5\n bind_port {bp}\n connect_timeout 1\n }}\n}}\n"
    ));
    let mut r = rig(&text);
    let t0 = Instant::now();
    while peers.lock().unwrap().is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(4), "no connection");
        drive(&mut r.sched, &mut r.rt, Duration::from_millis(20));
    }
    assert_eq!(peers.lock().unwrap()[0], addr(&format!("127.0.0.5:{bp}")));
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(100));
    assert!(!r.has("failed"), "{:?}", r.logs.lock().unwrap());
    assert_eq!(r.dests(), vec![(addr("198.51.100.7:80"), 1)]);
}

#[test]
fn ping_check_ipv6() {
    let Some(_ns) = Netns::enter() else { return };
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 in the namespace");
        return;
    }
    let text = "virtual_server 2001:db8::1 80 {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
                real_server ::1 80 {\n PING_CHECK {\n connect_timeout 1\n }\n}\n\
                real_server 2001:db8::77 80 {\n PING_CHECK {\n connect_timeout 1\n }\n}\n}\n";
    let mut r = rig(text);
    r.wait_log(
        "Removing service [2001:db8::77]:tcp:80 from VS [2001:db8::1]:tcp:80",
        Duration::from_secs(5),
    );
    drive(&mut r.sched, &mut r.rt, Duration::from_millis(1_500));
    assert!(
        !r.has("[::1]:tcp:80 failed"),
        "{:?}",
        r.logs.lock().unwrap()
    );
    assert_eq!(r.dests(), vec![(addr("[::1]:80"), 1)]);
}

#[test]
fn file_check_follows_the_track_file() {
    let Some(_ns) = Netns::enter() else { return };
    let fdir = tempfile::tempdir().unwrap();
    let fa = fdir.path().join("weight");
    let fb = fdir.path().join("maint");
    let text = format!(
        "track_file tw {{\n file \"{}\"\n init_file 5\n}}\n\
         track_file tm {{\n file \"{}\"\n weight 0\n}}\n{}",
        fa.display(),
        fb.display(),
        vs("real_server 127.0.0.1 8001 {\n weight 10\n FILE_CHECK {\n track_file tw\n }\n}\n\
            real_server 127.0.0.1 8002 {\n weight 3\n FILE_CHECK {\n track_file tm\n }\n}\n\
            real_server 127.0.0.1 8003 {\n weight 2\n FILE_CHECK {\n track_file tw\n weight 2 reverse\n }\n}\n")
    );
    let mut r = rig(&text);
    // init_file wrote 5; the missing maint file is 0 (up).
    assert_eq!(std::fs::read_to_string(&fa).unwrap(), "5\n");
    assert_eq!(
        r.dests(),
        vec![
            (addr("127.0.0.1:8001"), 15),
            (addr("127.0.0.1:8002"), 3),
            (addr("127.0.0.1:8003"), 0), // 2 - 5*2 < 0
        ]
    );
    // A weight change through a rewrite.
    std::fs::write(&fa, "1\n").unwrap();
    let t = r.wait_log(
        "Changing weight from 15 to 11 for active service [127.0.0.1]:tcp:8001 of VS [192.0.2.1]:tcp:80",
        Duration::from_secs(2),
    );
    eprintln!("weight change seen after {t:?}");
    assert_eq!(
        r.dests(),
        vec![
            (addr("127.0.0.1:8001"), 11),
            (addr("127.0.0.1:8002"), 3),
            (addr("127.0.0.1:8003"), 0),
        ]
    );
    // Maintenance file created (non-zero with weight 0): removed.
    let tmp = fdir.path().join("maint.tmp");
    std::fs::write(&tmp, "1\n").unwrap();
    std::fs::rename(&tmp, &fb).unwrap();
    r.wait_log(
        "Removing service [127.0.0.1]:tcp:8002 from VS [192.0.2.1]:tcp:80",
        Duration::from_secs(2),
    );
    assert!(!r.dests().iter().any(|(a, _)| *a == addr("127.0.0.1:8002")));
    // Deleted: 0 again, restored with its weight.
    std::fs::remove_file(&fb).unwrap();
    r.wait_log(
        "Adding service [127.0.0.1]:tcp:8002 to VS [192.0.2.1]:tcp:80",
        Duration::from_secs(2),
    );
    assert!(r.dests().contains(&(addr("127.0.0.1:8002"), 3)));
    // An invalid number is logged and ignored.
    std::fs::write(&fa, "99999999999\n").unwrap();
    r.wait_log(
        &format!(
            "Invalid number 99999999999 read from {} - ignoring",
            fa.display()
        ),
        Duration::from_secs(2),
    );
    assert!(r.dests().contains(&(addr("127.0.0.1:8001"), 11)));
    std::fs::write(&fa, "0\n").unwrap();
    r.wait_log(
        "Changing weight from 11 to 10 for active service [127.0.0.1]:tcp:8001",
        Duration::from_secs(2),
    );
    assert!(r.dests().contains(&(addr("127.0.0.1:8003"), 2)));
    // Reload: the value is re-read (init_file does not overwrite), nothing
    // changes, and the new watch works.
    let ops = r.ops();
    r.reload(&text);
    assert_eq!(r.ops(), ops, "{:?}", r.logs.lock().unwrap());
    assert_eq!(std::fs::read_to_string(&fa).unwrap(), "0\n");
    std::fs::write(&fa, "3\n").unwrap();
    r.wait_log(
        "Changing weight from 10 to 13 for active service [127.0.0.1]:tcp:8001",
        Duration::from_secs(2),
    );
    assert!(r.dests().contains(&(addr("127.0.0.1:8001"), 13)));
}

#[test]
fn restarted_child_keeps_sorry_server_and_dead_servers_out() {
    let Some(_ns) = Netns::enter() else { return };
    // One live and one dead real server (quorum 2 → sorry server), and an
    // inhibited dead one at weight 0.
    let live = TcpListener::bind("127.0.0.1:0").unwrap();
    let pl = live.local_addr().unwrap().port();
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let pd = dead.local_addr().unwrap().port();
    drop(dead);
    let text = vs(&format!(
        "quorum 2\n sorry_server 127.0.0.9 80\n\
         real_server 127.0.0.1 {pl} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n\
         real_server 127.0.0.2 {pd} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n\
         real_server 127.0.0.3 {pd} {{\n inhibit_on_failure\n TCP_CHECK {{\n connect_timeout 1\n }}\n}}\n"
    ));
    let mem = MemoryIpvs::default();
    let mut r1 = rig_with(&text, mem.clone());
    r1.wait_log(
        "Adding sorry server [127.0.0.9]:tcp:80 to VS [192.0.2.1]:tcp:80",
        Duration::from_secs(5),
    );
    drive(&mut r1.sched, &mut r1.rt, Duration::from_millis(300));
    let table = r1.dests();
    assert_eq!(
        table,
        vec![
            (addr(&format!("127.0.0.3:{pd}")), 0),
            (addr("127.0.0.9:80"), 1)
        ]
    );
    let ops1 = r1.ops();
    drop(r1);
    // The restarted child: same table, no operation at start nor after its
    // first checks.
    let mut r2 = rig_with(&text, mem);
    assert_eq!(r2.ops(), ops1, "{:?}", r2.logs.lock().unwrap());
    assert!(r2.has("Starting with quorum down"));
    drive(&mut r2.sched, &mut r2.rt, Duration::from_millis(2_500));
    assert_eq!(r2.dests(), table);
    assert_eq!(r2.ops(), ops1, "{:?}", r2.logs.lock().unwrap());
    drop(live);
}
