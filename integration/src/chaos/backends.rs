//! The real servers of the chaos cluster: TCP and small HTTP listeners run
//! by threads of the test process whose sockets are made inside the backend
//! namespace (`setns(2)` on the thread), switched on and off to make a
//! backend flap. Closing the listener makes the checkers' connects fail with
//! a reset at once.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The checker a real server is probed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `TCP_CHECK`: a connect.
    Tcp,
    /// `HTTP_GET` of `/`, `status_code 200`.
    Http,
}

/// One real server of the virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServer {
    /// Port on the backend address.
    pub port: u16,
    /// Checker.
    pub probe: Probe,
    /// Configured weight.
    pub weight: u32,
    /// `inhibit_on_failure`: kept in the table with weight 0 when down.
    pub inhibit: bool,
}

/// The backend host's address (the fifth host of the LAN).
pub const BACKEND_ADDR: &str = "192.0.2.15";

/// The virtual server every node of ours configures.
pub const VS: (&str, u16) = ("192.0.2.200", 80);

/// The real servers.
pub const REAL_SERVERS: [RealServer; 3] = [
    RealServer {
        port: 8001,
        probe: Probe::Tcp,
        weight: 1,
        inhibit: false,
    },
    RealServer {
        port: 8002,
        probe: Probe::Http,
        weight: 2,
        inhibit: false,
    },
    RealServer {
        port: 8003,
        probe: Probe::Http,
        weight: 3,
        inhibit: true,
    },
];

/// The `virtual_server` block of the configuration of a node of ours.
pub fn vs_config() -> String {
    let mut s = format!(
        "virtual_server {} {} {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n",
        VS.0, VS.1
    );
    for rs in REAL_SERVERS {
        s += &format!(
            "  real_server {BACKEND_ADDR} {} {{\n    weight {}\n",
            rs.port, rs.weight
        );
        if rs.inhibit {
            s += "    inhibit_on_failure\n";
        }
        let common = "      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n";
        match rs.probe {
            Probe::Tcp => s += &format!("    TCP_CHECK {{\n{common}    }}\n"),
            Probe::Http => {
                s += &format!(
                    "    HTTP_GET {{\n      url {{\n        path /\n        status_code 200\n      }}\n{common}    }}\n"
                )
            }
        }
        s += "  }\n";
    }
    s += "}\n";
    s
}

struct Slot {
    up: AtomicBool,
    /// Connections accepted (for the report).
    accepted: AtomicU64,
}

/// The running listeners; `Drop` stops the threads.
pub struct Backends {
    slots: Vec<Arc<Slot>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends")
            .field("up", &self.states())
            .finish()
    }
}

fn serve_http(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 16 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s.write_all(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
    );
}

fn listener_thread(ns: String, rs: RealServer, slot: Arc<Slot>, stop: Arc<AtomicBool>) {
    let Ok(f) = std::fs::File::open(format!("/run/netns/{ns}")) else {
        return;
    };
    if nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
        return;
    }
    let mut listener: Option<TcpListener> = None;
    while !stop.load(Ordering::Relaxed) {
        let want = slot.up.load(Ordering::Relaxed);
        if !want {
            listener = None;
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if listener.is_none() {
            // std sets SO_REUSEADDR: rebinding right after a close works.
            match TcpListener::bind((BACKEND_ADDR, rs.port)) {
                Ok(l) => {
                    let _ = l.set_nonblocking(true);
                    listener = Some(l);
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        }
        let Some(l) = listener.as_ref() else {
            continue;
        };
        match l.accept() {
            Ok((s, _)) => {
                slot.accepted.fetch_add(1, Ordering::Relaxed);
                let _ = s.set_nonblocking(false);
                match rs.probe {
                    Probe::Tcp => drop(s),
                    Probe::Http => {
                        std::thread::spawn(move || serve_http(s));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

impl Backends {
    /// Start one listener per real server in namespace `ns`, all up; waits
    /// (5 s at most) until each accepts connections.
    pub fn start(ns: &str) -> io::Result<Backends> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut slots = Vec::new();
        let mut threads = Vec::new();
        for rs in REAL_SERVERS {
            let slot = Arc::new(Slot {
                up: AtomicBool::new(true),
                accepted: AtomicU64::new(0),
            });
            let (ns2, s2, st2) = (ns.to_string(), slot.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("backend-{}", rs.port))
                    .spawn(move || listener_thread(ns2, rs, s2, st2))?,
            );
            slots.push(slot);
        }
        let b = Backends {
            slots,
            stop,
            threads,
        };
        let t = Instant::now();
        while b
            .slots
            .iter()
            .any(|s| s.accepted.load(Ordering::Relaxed) == 0)
        {
            // Connect from inside the namespace to prove each listener is up.
            if t.elapsed() > Duration::from_secs(5) {
                return Err(io::Error::other("backend listeners did not come up"));
            }
            let _ = probe_all(ns);
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(b)
    }

    /// Switch real server `i` on or off.
    pub fn set_up(&self, i: usize, up: bool) {
        if let Some(s) = self.slots.get(i) {
            s.up.store(up, Ordering::Relaxed);
        }
    }

    /// Whether real server `i` is meant to be up.
    pub fn is_up(&self, i: usize) -> bool {
        self.slots
            .get(i)
            .is_some_and(|s| s.up.load(Ordering::Relaxed))
    }

    /// Up flags of every real server.
    pub fn states(&self) -> Vec<bool> {
        (0..self.slots.len()).map(|i| self.is_up(i)).collect()
    }

    /// Connections accepted per real server.
    pub fn accepted(&self) -> Vec<u64> {
        self.slots
            .iter()
            .map(|s| s.accepted.load(Ordering::Relaxed))
            .collect()
    }

    /// The table the checkers must program: `(ip:port, weight)` of every
    /// up real server, and of down ones with `inhibit_on_failure` at weight 0.
    pub fn expected_table(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = REAL_SERVERS
            .iter()
            .enumerate()
            .filter_map(|(i, rs)| {
                let key = format!("{BACKEND_ADDR}:{}", rs.port);
                match (self.is_up(i), rs.inhibit) {
                    (true, _) => Some((key, rs.weight)),
                    (false, true) => Some((key, 0)),
                    (false, false) => None,
                }
            })
            .collect();
        v.sort();
        v
    }
}

/// One connect to each listener from a thread inside `ns` (start-up check).
fn probe_all(ns: &str) -> io::Result<()> {
    let ns = ns.to_string();
    std::thread::spawn(move || -> io::Result<()> {
        let f = std::fs::File::open(format!("/run/netns/{ns}"))?;
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        for rs in REAL_SERVERS {
            let addr = format!("{BACKEND_ADDR}:{}", rs.port)
                .parse()
                .map_err(io::Error::other)?;
            if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                if rs.probe == Probe::Http {
                    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
                }
            }
        }
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("probe thread panicked"))?
}

impl Drop for Backends {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The destinations of virtual server [`VS`] in an `ipvsadm -S -n` style
/// text (the `IPVS Topology` part of `keepalived_check.data`), sorted:
/// `(ip:port, weight)`. `None` when the service is not in the table.
pub fn parse_table(text: &str) -> Option<Vec<(String, u32)>> {
    let topo = text.split("------< IPVS Topology >------").nth(1)?;
    let svc = format!("-t {}:{}", VS.0, VS.1);
    let mut found = false;
    let mut v = Vec::new();
    for l in topo.lines() {
        let l = l.trim();
        if l.starts_with("-A ") && l.contains(&svc) {
            found = true;
        }
        if let Some(rest) = l.strip_prefix("-a ") {
            if !rest.starts_with(&svc) {
                continue;
            }
            let mut w = rest.split_whitespace();
            let (mut addr, mut weight) = (None, None);
            while let Some(t) = w.next() {
                match t {
                    "-r" => addr = w.next().map(str::to_string),
                    "-w" => weight = w.next().and_then(|x| x.parse().ok()),
                    _ => {}
                }
            }
            if let (Some(a), Some(wt)) = (addr, weight) {
                v.push((a, wt));
            }
        }
    }
    v.sort();
    found.then_some(v)
}

/// The checker's count of IPVS operations applied (`IPVS operations
/// applied = N` at the end of `keepalived_check.data`).
pub fn parse_ops(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("IPVS operations applied = "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_text_parsed() {
        let t = "------< Health checkers >------\n x\n------< IPVS Topology >------\n\
                 -A -t 192.0.2.200:80 -s rr\n\
                 -a -t 192.0.2.200:80 -r 192.0.2.15:8003 -m -w 0\n\
                 -a -t 192.0.2.200:80 -r 192.0.2.15:8001 -m -w 1\n\
                 IPVS operations applied = 4\n";
        assert_eq!(
            parse_table(t),
            Some(vec![
                ("192.0.2.15:8001".to_string(), 1),
                ("192.0.2.15:8003".to_string(), 0)
            ])
        );
        assert_eq!(parse_ops(t), Some(4));
        assert_eq!(parse_table("------< IPVS Topology >------\n"), None);
        assert_eq!(parse_table("nothing"), None);
    }

    #[test]
    fn config_has_every_real_server() {
        let c = vs_config();
        for rs in REAL_SERVERS {
            assert!(c.contains(&format!("real_server {BACKEND_ADDR} {}", rs.port)));
        }
        assert_eq!(c.matches("inhibit_on_failure").count(), 1);
        assert_eq!(c.matches('{').count(), c.matches('}').count());
    }
}
