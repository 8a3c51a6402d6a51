//! Observers in our namespaces: a `tcpdump` on the bridge (VRRP adverts and
//! gratuitous ARPs with kernel timestamps) and `ip -ts monitor address` in a
//! node (when each address appeared). Both use CLOCK_REALTIME, like
//! [`super::now_epoch`], so times compare with the moment of a kill.

use super::{Error, Result};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A packet seen on the bridge.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// A VRRP advertisement.
    Advert {
        /// Epoch seconds.
        t: f64,
        /// Source IPv4 address.
        src: String,
        /// VRID.
        vrid: u8,
        /// Priority.
        prio: u8,
    },
    /// A gratuitous ARP (sender = target) for `addr`.
    Garp {
        /// Epoch seconds.
        t: f64,
        /// The announced address.
        addr: String,
    },
}

fn num_after<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    let i = words.iter().position(|w| *w == key)?;
    words.get(i + 1).map(|w| w.trim_end_matches(','))
}

/// Parse one line of `tcpdump -n -tt -l` (no `-e`, no `-v`), e.g.
/// `1795380762.722497 IP 192.0.2.11 > 224.0.0.18: VRRPv2, Advertisement,
/// vrid 51, prio 100, authtype none, intvl 1s, length 20` or
/// `… ARP, Request who-has 192.0.2.200 tell 192.0.2.200, length 28`.
pub fn parse_tcpdump_line(line: &str) -> Option<Packet> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let t: f64 = words.first()?.parse().ok()?;
    if line.contains("VRRPv") {
        let src = num_after(&words, "IP")?.to_owned();
        let vrid = num_after(&words, "vrid")?.parse().ok()?;
        let prio = num_after(&words, "prio")?.parse().ok()?;
        return Some(Packet::Advert { t, src, vrid, prio });
    }
    if words.get(1) == Some(&"ARP,") {
        let who = num_after(&words, "who-has")?;
        let tell = num_after(&words, "tell")?;
        if who == tell {
            return Some(Packet::Garp {
                t,
                addr: who.to_owned(),
            });
        }
    }
    None
}

/// Collects the stdout lines of a child on a thread.
#[derive(Debug)]
struct LineReader {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl LineReader {
    fn spawn(
        mut cmd: Command,
        what: &str,
    ) -> Result<(LineReader, Option<std::process::ChildStderr>)> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| Error::Spawn(what.into(), e))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            let l = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(|r| r.ok()) {
                    if let Ok(mut v) = l.lock() {
                        v.push(line);
                    }
                }
            });
        }
        let err = child.stderr.take();
        Ok((LineReader { child, lines }, err))
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(2) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                // let the reader thread drain what was flushed
                std::thread::sleep(Duration::from_millis(20));
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LineReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tcpdump -i br0` in the bridge namespace (VRRP and ARP only).
#[derive(Debug)]
pub struct Capture {
    r: LineReader,
}

impl Capture {
    /// Start capturing; returns once tcpdump says it is listening.
    pub fn start(bridge_ns: &str) -> Result<Capture> {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            bridge_ns,
            "tcpdump",
            "-i",
            "br0",
            "-n",
            "-tt",
            "-l",
            "ip proto 112 or arp",
        ]);
        let (r, err) = LineReader::spawn(c, "tcpdump (apt-get install tcpdump)")?;
        let ready = Arc::new(AtomicBool::new(false));
        if let Some(err) = err {
            let rd = Arc::clone(&ready);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(|r| r.ok()) {
                    if line.contains("listening on") {
                        rd.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
        let t0 = Instant::now();
        while !ready.load(Ordering::SeqCst) {
            if t0.elapsed() > Duration::from_secs(5) {
                return Err(Error::Timeout("tcpdump to start listening".into()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Capture { r })
    }

    /// Packets so far.
    pub fn packets(&self) -> Vec<Packet> {
        self.r
            .snapshot()
            .iter()
            .filter_map(|l| parse_tcpdump_line(l))
            .collect()
    }

    /// Stop tcpdump and return every packet it printed.
    pub fn finish(mut self) -> Vec<Packet> {
        self.r.stop();
        self.packets()
    }
}

/// An address event from `ip -ts -o monitor address`.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrEvent {
    /// Epoch seconds (as printed by `ip`, microseconds).
    pub t: f64,
    /// The address, without prefix length.
    pub addr: String,
    /// True for a removal.
    pub deleted: bool,
}

/// Parse `[2026-11-22T20:52:42.417244] 2: eth0    inet 192.0.2.5/32 …`
/// (timestamps in UTC: the monitor runs with `TZ=UTC`); `Deleted 2: …` for
/// removals.
pub fn parse_monitor_line(line: &str) -> Option<AddrEvent> {
    let rest = line.strip_prefix('[')?;
    let (ts, rest) = rest.split_once(']')?;
    let dt = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let t = dt.and_utc().timestamp_micros() as f64 / 1e6;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let deleted = words.first() == Some(&"Deleted");
    let i = words.iter().position(|w| *w == "inet")?;
    let a = words.get(i + 1)?;
    Some(AddrEvent {
        t,
        addr: a.split('/').next().unwrap_or(a).to_owned(),
        deleted,
    })
}

/// `ip -ts -o monitor address` in a node namespace.
#[derive(Debug)]
pub struct AddrMonitor {
    r: LineReader,
}

impl AddrMonitor {
    /// Start the monitor (it has no ready signal: a short pause follows).
    pub fn start(ns: &str) -> Result<AddrMonitor> {
        let mut c = Command::new("ip");
        c.env("TZ", "UTC")
            .args(["-n", ns, "-ts", "-o", "monitor", "address"]);
        let (r, _err) = LineReader::spawn(c, "ip monitor")?;
        std::thread::sleep(Duration::from_millis(100));
        Ok(AddrMonitor { r })
    }

    /// Events so far.
    pub fn events(&self) -> Vec<AddrEvent> {
        self.r
            .snapshot()
            .iter()
            .filter_map(|l| parse_monitor_line(l))
            .collect()
    }

    /// First time `addr` was added at or after `after`.
    pub fn added(&self, addr: &str, after: f64) -> Option<f64> {
        self.events()
            .into_iter()
            .find(|e| !e.deleted && e.addr == addr && e.t >= after)
            .map(|e| e.t)
    }

    /// Wait until every address in `addrs` was added after `after`; returns
    /// the time of each (in `addrs` order) or `None` at the timeout.
    pub fn wait_added(&self, addrs: &[String], after: f64, timeout: Duration) -> Option<Vec<f64>> {
        let t0 = Instant::now();
        loop {
            let ev = self.events();
            let got: Vec<Option<f64>> = addrs
                .iter()
                .map(|a| {
                    ev.iter()
                        .find(|e| !e.deleted && &e.addr == a && e.t >= after)
                        .map(|e| e.t)
                })
                .collect();
            if got.iter().all(Option::is_some) {
                return Some(got.into_iter().flatten().collect());
            }
            if t0.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stop the monitor.
    pub fn stop(mut self) {
        self.r.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcpdump_lines() {
        let l = "1795380762.722497 IP 192.0.2.11 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype none, intvl 1s, length 20";
        assert_eq!(
            parse_tcpdump_line(l),
            Some(Packet::Advert {
                t: 1795380762.722497,
                src: "192.0.2.11".into(),
                vrid: 51,
                prio: 100
            })
        );
        let l = "1795380762.5 ARP, Request who-has 192.0.2.200 tell 192.0.2.200, length 28";
        assert_eq!(
            parse_tcpdump_line(l),
            Some(Packet::Garp {
                t: 1795380762.5,
                addr: "192.0.2.200".into()
            })
        );
        assert_eq!(
            parse_tcpdump_line("1.0 ARP, Request who-has 192.0.2.1 tell 192.0.2.2, length 28"),
            None
        );
        assert_eq!(parse_tcpdump_line("garbage"), None);
    }

    #[test]
    fn monitor_lines() {
        let e = parse_monitor_line(
            "[2026-11-22T20:52:42.417244] 1: lo    inet 192.0.2.5/32 scope global lo\\       valid_lft forever",
        );
        assert_eq!(
            e,
            Some(AddrEvent {
                t: 1795380762.417244,
                addr: "192.0.2.5".into(),
                deleted: false
            })
        );
        let d = parse_monitor_line(
            "[2026-11-22T20:52:42.000001] Deleted 2: eth0    inet 192.0.2.100/24 scope global",
        );
        assert!(d.is_some_and(|d| d.deleted));
    }
}
