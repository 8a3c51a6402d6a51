//! The README demo: two keepalived-rs nodes running the shipped sample
//! configuration in network namespaces, a client pinging the VIP, a graceful
//! stop and a crash of the master with the measured failover times.
//!
//! ```text
//! sudo integration/demo.sh                 # builds, then runs this
//! demo [--keepalived PATH] [--config FILE] [--short] [--prefix NAME]
//! ```
//! `--short` stops after the SIGTERM failover (used by the smoke test).
//! Everything lives in namespaces `kdemo-<pid>-*`; the root network
//! namespace is never touched; Ctrl-C or a failure still removes everything.

use keepalived_integration::bench::capture::{AddrMonitor, Capture, Packet};
use keepalived_integration::bench::keepalived::{Impl, Keepalived};
use keepalived_integration::bench::topo::{node_addr, Topo};
use keepalived_integration::bench::{guard, now_epoch, run, Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Opts {
    bin: PathBuf,
    config: PathBuf,
    short: bool,
    prefix: String,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn default_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KEEPALIVED_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let rel = target.join("release/keepalived");
    if rel.exists() {
        rel
    } else {
        target.join("debug/keepalived")
    }
}

fn parse_args() -> std::result::Result<Opts, String> {
    let mut o = Opts {
        bin: default_bin(),
        config: workspace_root().join("etc/keepalived.conf"),
        short: false,
        prefix: format!("kdemo-{}", std::process::id()),
    };
    let mut a = std::env::args().skip(1);
    while let Some(arg) = a.next() {
        match arg.as_str() {
            "--keepalived" => o.bin = a.next().ok_or("--keepalived needs a path")?.into(),
            "--config" => o.config = a.next().ok_or("--config needs a file")?.into(),
            "--prefix" => o.prefix = a.next().ok_or("--prefix needs a name")?,
            "--short" => o.short = true,
            "-h" | "--help" => {
                return Err(
                    "usage: demo [--keepalived PATH] [--config FILE] [--short] [--prefix NAME]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// What the demo needs to know about the sample.
#[derive(Debug)]
struct Sample {
    master: String,
    backup: String,
    rejoin: String,
    vip: String,
    advert: f64,
    notes: Vec<String>,
}

/// Replace the first line whose trimmed text starts with `key` (keeping
/// indentation and any trailing comment) by `key value`.
fn set_keyword(text: &str, key: &str, value: &str) -> Option<String> {
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let is_key = t
                .strip_prefix(key)
                .is_some_and(|r| r.starts_with(char::is_whitespace));
            if !done && is_key {
                done = true;
                let indent = &l[..l.len() - t.len()];
                let comment = t.find(['#', '!']).map(|i| &t[i..]).unwrap_or("");
                format!("{indent}{key} {value}    {comment}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    done.then(|| out.join("\n") + "\n")
}

fn adapt(sample: &str) -> Result<Sample> {
    let bad = |w: &str| Error::Other(format!("the sample has no `{w}` line to adapt"));
    let mut notes = vec!["interface eth0 (the namespace's interface has that name)".to_owned()];
    // The health script of the sample watches nginx, which the demo does not
    // run: make it succeed, so both nodes keep their configured priority.
    let mut master = sample.to_owned();
    if let Some(i) = master.find("\"/usr/bin/pgrep -x nginx\"") {
        master.replace_range(i..i + "\"/usr/bin/pgrep -x nginx\"".len(), "\"/bin/true\"");
        notes.push("chk_web runs /bin/true (no nginx in the demo)".into());
    }
    let backup = set_keyword(&master, "state", "BACKUP").ok_or_else(|| bad("state"))?;
    let backup = set_keyword(&backup, "priority", "90").ok_or_else(|| bad("priority"))?;
    let backup = set_keyword(&backup, "router_id", "lb2").ok_or_else(|| bad("router_id"))?;
    notes.push("node2: state BACKUP, priority 90, router_id lb2 (as the sample says)".into());
    // node1 comes back after its SIGTERM as a backup that does not preempt,
    // so node2 stays the master that the crash test kills.
    let rejoin = set_keyword(&master, "state", "BACKUP").ok_or_else(|| bad("state"))?;
    let rejoin = rejoin.replacen(
        "vrrp_instance VI_1 {",
        "vrrp_instance VI_1 {\n    nopreempt",
        1,
    );
    let vip = sample
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("virtual_ipaddress"))
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .map(|a| a.split('/').next().unwrap_or(a).to_owned())
        .ok_or_else(|| bad("virtual_ipaddress"))?;
    let advert = sample
        .lines()
        .find_map(|l| {
            let t = l.trim_start().strip_prefix("advert_int")?;
            t.split_whitespace().next()?.parse::<f64>().ok()
        })
        .unwrap_or(1.0);
    Ok(Sample {
        master,
        backup,
        rejoin,
        vip,
        advert,
        notes,
    })
}

struct Clock(Instant);

impl Clock {
    fn say(&self, msg: impl AsRef<str>) {
        println!("[{:5.1}s] {}", self.0.elapsed().as_secs_f64(), msg.as_ref());
    }
}

/// The text after the instance name, e.g. `(VI_1) Entering MASTER STATE`.
fn state_line(k: &Keepalived, needle: &str) -> String {
    k.log_lines(needle)
        .last()
        .and_then(|l| l.find("(VI_1)").map(|i| l[i..].to_owned()))
        .unwrap_or_else(|| format!("(no \"{needle}\" line)"))
}

fn who_holds(topo: &Topo, vip: &str) -> String {
    let holders: Vec<String> = (1..=2)
        .filter(|&n| topo.holds(n, vip))
        .map(|n| format!("node{n}"))
        .collect();
    if holders.is_empty() {
        "nobody".into()
    } else {
        holders.join(" and ")
    }
}

/// `ping -D -i 0.01` from the client, output in a file.
struct Pinger {
    child: Child,
    out: PathBuf,
}

impl Pinger {
    fn start(topo: &Topo, vip: &str, tag: &str) -> Option<Pinger> {
        let client = topo.client.as_ref()?;
        let out = topo.dir.join(format!("ping-{tag}.txt"));
        let f = std::fs::File::create(&out).ok()?;
        let child = Command::new("ip")
            .args([
                "netns", "exec", client, "ping", "-D", "-n", "-i", "0.01", "-W", "1", vip,
            ])
            .stdout(f)
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Pinger { child, out })
    }

    /// Stop; (replies, longest gap between replies in s).
    fn finish(mut self) -> (usize, f64) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let times: Vec<f64> = text
            .lines()
            .filter(|l| l.contains("bytes from"))
            .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
            .collect();
        let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        (times.len(), gap)
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn demo(o: &Opts) -> Result<()> {
    let c = Clock(Instant::now());
    let text = std::fs::read_to_string(&o.config)
        .map_err(|e| Error::Io(o.config.display().to_string(), e))?;
    let s = adapt(&text)?;
    println!(
        "keepalived-rs demo: {} (namespaces {}-*; the root network namespace is not touched)",
        o.bin.display(),
        o.prefix
    );
    let topo = Topo::new(&o.prefix, 2, true)?;
    c.say(format!(
        "LAN up: bridge, node1 {}, node2 {}, client {}",
        node_addr(1),
        node_addr(2),
        keepalived_integration::bench::topo::CLIENT_ADDR
    ));
    c.say(format!(
        "config: {} — VIP {}, advert_int {}; {}",
        o.config.display(),
        s.vip,
        s.advert,
        s.notes.join("; ")
    ));
    for (n, conf) in [(1, &s.master), (2, &s.backup)] {
        let f = topo.dir.join(format!("check{n}.conf"));
        std::fs::write(&f, conf).map_err(|e| Error::Io(f.display().to_string(), e))?;
        let bin = o.bin.display().to_string();
        let st = Command::new("ip")
            .args(["netns", "exec", topo.ns(n), &bin, "-t", "-f"])
            .arg(&f)
            .output()
            .map_err(|e| Error::Spawn(bin.clone(), e))?;
        let code = st.status.code().unwrap_or(-1);
        let verdict = match code {
            0 => "valid".to_owned(),
            3 => "valid, with warnings".to_owned(),
            _ => {
                return Err(Error::Other(format!(
                    "keepalived -t rejected the node{n} config (exit {code}):\n{}",
                    String::from_utf8_lossy(&st.stderr)
                )))
            }
        };
        c.say(format!(
            "node{n}: keepalived -t -f {}: {verdict}",
            f.display()
        ));
    }

    let mut k1 = Keepalived::start(&topo, 1, Impl::Ours, &o.bin, &s.master, "node1")?;
    let mut k2 = Keepalived::start(&topo, 2, Impl::Ours, &o.bin, &s.backup, "node2")?;
    c.say(format!(
        "started keepalived -P on node1 (pid {}, VRRP child {}) and node2 (pid {}, VRRP child {})",
        k1.parent_pid().unwrap_or(0),
        k1.vrrp_pid().unwrap_or(0),
        k2.parent_pid().unwrap_or(0),
        k2.vrrp_pid().unwrap_or(0)
    ));
    let down = 3.0 * s.advert + (256.0 - 100.0) / 256.0 * s.advert;
    k1.wait_log(
        "Entering MASTER STATE",
        1,
        Duration::from_secs_f64(down + 5.0),
    )?;
    k2.wait_log("Entering BACKUP STATE", 1, Duration::from_secs(2))?;
    let t_master = Instant::now();
    while !topo.holds(1, &s.vip) && t_master.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    c.say(format!(
        "node1 log: {}  |  node2 log: {}",
        state_line(&k1, "Entering MASTER STATE"),
        state_line(&k2, "Entering BACKUP STATE")
    ));
    c.say(format!(
        "ip addr: VIP {} is on {} → node1 is MASTER",
        s.vip,
        who_holds(&topo, &s.vip)
    ));
    if !topo.holds(1, &s.vip) || topo.holds(2, &s.vip) {
        return Err(Error::Other("node1 should hold the VIP alone".into()));
    }
    let can_ping = has("ping");
    if can_ping {
        if let Some(p) = Pinger::start(&topo, &s.vip, "steady") {
            std::thread::sleep(Duration::from_millis(500));
            let (n, _) = p.finish();
            c.say(format!("client pings {}: {n} replies in 0.5 s", s.vip));
        }
    } else {
        c.say("ping not installed (apt-get install iputils-ping): client check skipped");
    }
    let capture = if has("tcpdump") {
        Capture::start(&topo.bridge).ok()
    } else {
        None
    };

    // 1. graceful stop of the master
    let mon = AddrMonitor::start(topo.ns(2))?;
    let pinger = if can_ping {
        Pinger::start(&topo, &s.vip, "term")
    } else {
        None
    };
    std::thread::sleep(Duration::from_millis(300));
    c.say("SIGTERM to node1's keepalived (graceful stop: it sends priority 0)");
    let t_kill = k1.term();
    let got = mon.wait_added(
        std::slice::from_ref(&s.vip),
        t_kill,
        Duration::from_secs(10),
    );
    let t_vip = got
        .and_then(|v| v.first().copied())
        .ok_or_else(|| Error::Timeout(format!("VIP {} on node2", s.vip)))?;
    std::thread::sleep(Duration::from_millis(300));
    let skew = (256.0 - 90.0) / 256.0 * s.advert;
    println!();
    println!(
        "  >>> failover after SIGTERM: {:.3} s (VIP on node2; protocol bound = skew time {:.3} s)",
        t_vip - t_kill,
        skew
    );
    if let Some(p) = pinger {
        let (n, gap) = p.finish();
        println!("      client ping: {n} replies, longest gap {gap:.3} s");
    }
    println!();
    k1.wait_exit(Duration::from_secs(5));
    c.say(format!(
        "node2 log: {}; VIP is on {}",
        state_line(&k2, "Entering MASTER STATE"),
        who_holds(&topo, &s.vip)
    ));
    mon.stop();
    k1.stop();

    if !o.short {
        // 2. crash of the new master
        let _k1b = Keepalived::start(&topo, 1, Impl::Ours, &o.bin, &s.rejoin, "node1-rejoin")?;
        _k1b.wait_log("Entering BACKUP STATE", 1, Duration::from_secs(5))?;
        c.say(
            "node1 rejoined as BACKUP (same sample, state BACKUP + nopreempt: node2 keeps the VIP)",
        );
        std::thread::sleep(Duration::from_millis(1500));
        let mon = AddrMonitor::start(topo.ns(1))?;
        let pinger = if can_ping {
            Pinger::start(&topo, &s.vip, "crash")
        } else {
            None
        };
        std::thread::sleep(Duration::from_millis(300));
        c.say("SIGKILL to node2's keepalived parent and VRRP child (a crash: no priority 0)");
        let t_kill = k2.crash();
        let wait = 3.0 * s.advert + skew + 5.0;
        let t_vip = mon
            .wait_added(
                std::slice::from_ref(&s.vip),
                t_kill,
                Duration::from_secs_f64(wait),
            )
            .and_then(|v| v.first().copied())
            .ok_or_else(|| Error::Timeout(format!("VIP {} on node1", s.vip)))?;
        std::thread::sleep(Duration::from_millis(300));
        // The bound: master-down interval (3 × advert + skew of node1,
        // priority 100) minus how old node2's last advert was at the kill.
        let skew1 = (256.0 - 100.0) / 256.0 * s.advert;
        let down = 3.0 * s.advert + skew1;
        let last = capture.as_ref().and_then(|cap| {
            cap.packets().iter().rev().find_map(|p| match p {
                Packet::Advert { t, src, .. } if *t < t_kill && src == &node_addr(2) => Some(*t),
                _ => None,
            })
        });
        println!();
        match last {
            Some(tl) => println!(
                "  >>> failover after a crash: {:.3} s (VIP on node1; protocol bound = master-down {:.3} s − age of node2's last advert {:.3} s = {:.3} s)",
                t_vip - t_kill,
                down,
                t_kill - tl,
                down - (t_kill - tl)
            ),
            None => println!(
                "  >>> failover after a crash: {:.3} s (VIP on node1; protocol bound ≤ master-down {:.3} s)",
                t_vip - t_kill,
                down
            ),
        }
        if let Some(p) = pinger {
            let (n, gap) = p.finish();
            println!(
                "      client ping: {n} replies, longest gap {gap:.3} s (the dead node's kernel still answers until node1's gratuitous ARP)"
            );
        }
        println!();
        c.say(format!(
            "node1 log: {}; VIP on {} (a crashed node cannot remove its VIP: node2's copy is stale)",
            state_line(&_k1b, "Entering MASTER STATE"),
            who_holds(&topo, &s.vip)
        ));
        mon.stop();
    }
    if let Some(cap) = capture {
        let n = cap.finish().len();
        c.say(format!("{n} VRRP/ARP packets seen on the bridge"));
    }
    k2.stop();
    drop(topo);
    let left = leftovers(&o.prefix);
    if left.is_empty() {
        c.say("cleaned up: processes stopped, namespaces deleted");
        Ok(())
    } else {
        Err(Error::Other(format!("namespaces left behind: {left:?}")))
    }
}

/// Namespaces whose name starts with `prefix`.
fn leftovers(prefix: &str) -> Vec<String> {
    run("ip", &["netns", "list"])
        .map(|s| {
            s.lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn main() {
    guard::install();
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("the demo needs root (network namespaces): sudo integration/demo.sh");
        std::process::exit(1);
    }
    if !o.bin.exists() {
        eprintln!(
            "{} not found: cargo build --release -p keepalived",
            o.bin.display()
        );
        std::process::exit(1);
    }
    let t0 = now_epoch();
    let r = demo(&o);
    guard::cleanup_all();
    match r {
        Ok(()) => println!("demo done in {:.1} s", now_epoch() - t0),
        Err(e) => {
            eprintln!("demo failed: {e}");
            std::process::exit(1);
        }
    }
}
