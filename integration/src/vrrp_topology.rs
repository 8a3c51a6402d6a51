//! Namespace topologies for the VRRP tests: a bridge in its own network
//! namespace and N node namespaces, each with `eth0` (192.0.2.10+N/24,
//! MAC 02:00:00:00:0a:NN) plugged into the bridge, IPv6 disabled for clean
//! captures. Nothing is created in the root namespace; everything is torn
//! down by `Drop` (processes inside our namespaces are killed by pid).
//!
//! Daemons: ours (`target/debug/keepalived`, built on demand) and the real
//! keepalived 2.2.7 (`/usr/sbin/keepalived`), each with its own pid files
//! (`-p -r -c -b`), VRRP only (`-P`), logging to a file (`-n -l -D`).
//!
//! Included by the `vrrp_*` tests with `#[path]`, so it does not touch the
//! crate's `lib.rs`.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Why a test cannot run here (not root, tools missing), if so.
pub fn unavailable(need_keepalived: bool) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not root".into());
    }
    if !Path::new("/usr/sbin/ip").exists() && !Path::new("/sbin/ip").exists() {
        return Some("iproute2 not installed".into());
    }
    if need_keepalived && !Path::new("/usr/sbin/keepalived").exists() {
        return Some("keepalived 2.2.7 not installed (apt-get install keepalived)".into());
    }
    None
}

/// Skips the test (returns early) with a printed reason.
#[macro_export]
macro_rules! skip_unless_ready {
    ($need_ka:expr) => {
        if let Some(why) = vrrp_topology::unavailable($need_ka) {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Our binary: `$KEEPALIVED_RS_BIN`, else `target/debug/keepalived` of the
/// workspace, built with `cargo build -p keepalived` once per test process.
pub fn our_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("KEEPALIVED_RS_BIN") {
            return PathBuf::from(p);
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "keepalived"])
            .current_dir(workspace_root())
            .status();
        if !matches!(st, Ok(s) if s.success()) {
            eprintln!("cargo build -p keepalived failed: {st:?}; using what is there");
        }
        target.join("debug/keepalived")
    })
    .clone()
}

fn ip(args: &[&str]) -> io::Result<Output> {
    Command::new("ip").args(args).output()
}

fn must(args: &[&str]) {
    let o = ip(args).unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The IPv4 address of node `n` (1-based): 192.0.2.10+n.
pub fn node_addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + n as u8)
}

/// A bridge and N nodes.
#[derive(Debug)]
pub struct Lan {
    /// Namespace prefix (unique per test and process).
    pub prefix: String,
    /// Node namespaces, index 0 = node 1.
    pub nodes: Vec<String>,
    /// The bridge namespace.
    pub bridge: String,
    /// Scratch directory (configs, logs, pid files).
    pub dir: PathBuf,
    /// A `sleep` process per node namespace: its `/proc/PID/net` shows the
    /// node's addresses without spawning `ip` (cheap 5 ms polling).
    holders: Vec<Child>,
}

impl Lan {
    /// Creates the bridge and `n` nodes. `tag` keeps names readable.
    pub fn new(tag: &str, n: usize) -> Lan {
        Self::build(tag, n, false)
    }

    /// As [`Lan::new`] with IPv6 enabled (link-local addresses, no DAD).
    pub fn new_v6(tag: &str, n: usize) -> Lan {
        Self::build(tag, n, true)
    }

    fn build(tag: &str, n: usize, v6: bool) -> Lan {
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("kv{tag}{}x{seq}", std::process::id());
        let dir = std::env::temp_dir().join(format!("{prefix}-work"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        let bridge = format!("{prefix}br");
        let mut lan = Lan {
            prefix: prefix.clone(),
            nodes: Vec::new(),
            bridge: bridge.clone(),
            dir,
            holders: Vec::new(),
        };
        must(&["netns", "add", &bridge]);
        must(&["-n", &bridge, "link", "set", "lo", "up"]);
        must(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        must(&["-n", &bridge, "link", "set", "br0", "up"]);
        for k in 1..=n {
            let ns = format!("{prefix}n{k}");
            must(&["netns", "add", &ns]);
            lan.nodes.push(ns.clone());
            let v = format!("v{k}");
            must(&[
                "link", "add", &v, "netns", &bridge, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            must(&["-n", &bridge, "link", "set", &v, "master", "br0", "up"]);
            must(&[
                "-n",
                &ns,
                "link",
                "set",
                "eth0",
                "address",
                &format!("02:00:00:00:0a:{k:02x}"),
            ]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            let sysctls: &[&str] = if v6 {
                &[
                    "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0",
                ]
            } else {
                &[
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ]
            };
            let _ = Command::new("ip")
                .args(["netns", "exec", &ns, "sysctl", "-qw"])
                .args(sysctls)
                .status();
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", node_addr(k)),
                "dev",
                "eth0",
            ]);
            let h = Command::new("ip")
                .args(["netns", "exec", &ns, "sleep", "100000"])
                .stdin(Stdio::null())
                .spawn()
                .expect("namespace holder");
            lan.holders.push(h);
        }
        // `ip netns exec` execs sleep: wait until it runs in the namespace.
        std::thread::sleep(Duration::from_millis(50));
        lan
    }

    /// Namespace of node `n` (1-based).
    pub fn ns(&self, n: usize) -> &str {
        &self.nodes[n - 1]
    }

    /// Whether node `n` has `addr` as a local address (read from
    /// `/proc/PID/net/fib_trie` or `if_inet6` of the node's holder process).
    pub fn has_addr(&self, n: usize, addr: &str) -> bool {
        let pid = self.holders[n - 1].id();
        match addr.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => {
                let t = fs::read_to_string(format!("/proc/{pid}/net/fib_trie")).unwrap_or_default();
                let key = format!("|-- {addr}");
                let mut lines = t.lines();
                while let Some(l) = lines.next() {
                    if l.trim_end().ends_with(&key) {
                        if let Some(next) = lines.next() {
                            if next.contains("/32 host LOCAL") {
                                return true;
                            }
                        }
                    }
                }
                false
            }
            Ok(std::net::IpAddr::V6(a)) => {
                let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
                fs::read_to_string(format!("/proc/{pid}/net/if_inet6"))
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l.starts_with(&hex))
            }
            Err(_) => false,
        }
    }

    /// Which nodes hold `addr`.
    pub fn holders(&self, addr: &str) -> Vec<usize> {
        (1..=self.nodes.len())
            .filter(|&n| self.has_addr(n, addr))
            .collect()
    }

    /// Runs `ip` inside node `n`.
    pub fn ip(&self, n: usize, args: &[&str]) -> bool {
        let mut a = vec!["-n", self.ns(n)];
        a.extend_from_slice(args);
        ip(&a).map(|o| o.status.success()).unwrap_or(false)
    }

    /// Polls until `f` or `timeout`; returns the elapsed time when it held.
    pub fn wait_for(&self, timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
        let t0 = Instant::now();
        loop {
            if f() {
                return Some(t0.elapsed());
            }
            if t0.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Writes a file in the scratch directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for h in &mut self.holders {
            let _ = h.kill();
            let _ = h.wait();
        }
        for ns in self.nodes.iter().chain(std::iter::once(&self.bridge)) {
            if let Ok(o) = ip(&["netns", "pids", ns]) {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(pid) = p.parse::<i32>() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
            let _ = ip(&["netns", "del", ns]);
        }
        if std::env::var_os("KEEP_TEST_DIR").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Which implementation a daemon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// keepalived-rs.
    Ours,
    /// keepalived 2.2.7.
    Theirs,
}

/// One running keepalived (ours or theirs) in a node namespace.
#[derive(Debug)]
pub struct Daemon {
    /// Implementation.
    pub which: Impl,
    /// Node number.
    pub node: usize,
    child: Option<Child>,
    /// Log file (stdout + stderr).
    pub log: PathBuf,
    pid: PathBuf,
    vrrp_pid: PathBuf,
    /// The configuration file (rewrite it, then SIGHUP, to reload).
    pub conf: PathBuf,
}

fn read_pid(p: &Path) -> Option<i32> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

impl Daemon {
    /// Starts `which` on node `n` with configuration text `conf`.
    pub fn start(lan: &Lan, n: usize, which: Impl, conf: &str) -> Daemon {
        Self::start_env(lan, n, which, conf, &[])
    }

    /// [`Daemon::start`] with the default instance ([`Inst`]) at `priority`,
    /// router id `n<N>`: the common case of the two-node scenarios.
    pub fn start_prio(lan: &Lan, n: usize, which: Impl, priority: u8) -> Daemon {
        let inst = Inst {
            priority,
            ..Default::default()
        };
        Self::start(lan, n, which, &inst.conf(&format!("n{n}")))
    }

    /// [`Daemon::start`] with extra environment variables.
    pub fn start_env(lan: &Lan, n: usize, which: Impl, conf: &str, env: &[(&str, &str)]) -> Daemon {
        Self::start_full(lan, n, which, conf, env, &[])
    }

    /// [`Daemon::start`] with extra environment variables and options.
    pub fn start_full(
        lan: &Lan,
        n: usize,
        which: Impl,
        conf: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Daemon {
        let tag = match which {
            Impl::Ours => "rs",
            Impl::Theirs => "ka",
        };
        let base = format!("{tag}{n}-{}", SEQ.fetch_add(1, Ordering::SeqCst));
        let cfg = lan.write(&format!("{base}.conf"), conf);
        let d = &lan.dir;
        let (pid, vrrp_pid) = (
            d.join(format!("{base}.pid")),
            d.join(format!("{base}-vrrp.pid")),
        );
        let log = d.join(format!("{base}.log"));
        let bin = match which {
            Impl::Ours => our_binary(),
            Impl::Theirs => PathBuf::from("/usr/sbin/keepalived"),
        };
        let logf = fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", lan.ns(n)])
            .arg(&bin)
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&cfg)
            .arg("-p")
            .arg(&pid)
            .arg("-r")
            .arg(&vrrp_pid)
            .arg("-c")
            .arg(d.join(format!("{base}-chk.pid")))
            .arg("-b")
            .arg(d.join(format!("{base}-bfd.pid")))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("log fd"))
            .stderr(logf)
            .spawn()
            .expect("start keepalived");
        let dm = Daemon {
            which,
            node: n,
            child: Some(child),
            log,
            pid,
            vrrp_pid,
            conf: cfg.clone(),
        };
        let ok = lan
            .wait_for(Duration::from_secs(10), || {
                read_pid(&dm.vrrp_pid).is_some() && read_pid(&dm.pid).is_some()
            })
            .is_some();
        assert!(
            ok,
            "{which:?} on node {n} did not start:\n{}",
            dm.log_text()
        );
        dm
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the log contains `s`.
    pub fn logged(&self, s: &str) -> bool {
        self.log_text().contains(s)
    }

    /// Parent pid.
    pub fn parent_pid(&self) -> Option<i32> {
        read_pid(&self.pid)
    }

    /// VRRP child pid.
    pub fn vrrp_pid(&self) -> Option<i32> {
        read_pid(&self.vrrp_pid)
    }

    /// Sends `sig` to the parent.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        if let Some(p) = self.parent_pid() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
        }
    }

    /// SIGTERM to the parent (graceful stop: priority 0 from a master).
    pub fn term(&self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }

    /// A crash: SIGKILL of the VRRP child and the parent together.
    pub fn crash(&self) {
        let k = |p: Option<i32>| {
            if let Some(p) = p {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        };
        k(self.vrrp_pid());
        k(self.parent_pid());
    }

    /// Waits for the process to exit (up to `t`), then kills it.
    pub fn wait_exit(&mut self, t: Duration) {
        if let Some(mut c) = self.child.take() {
            let t0 = Instant::now();
            while t0.elapsed() < t {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.term();
            self.wait_exit(Duration::from_secs(5));
            let k = |p: Option<i32>| {
                if let Some(p) = p {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            };
            k(self.vrrp_pid());
        }
    }
}

/// Options of a generated `vrrp_instance`.
#[derive(Debug, Clone)]
pub struct Inst {
    /// `state`.
    pub state: &'static str,
    /// `priority`.
    pub priority: u8,
    /// `advert_int` as written.
    pub advert: &'static str,
    /// `vrrp_version`.
    pub version: u8,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// VIP.
    pub vip: &'static str,
    /// VIP prefix length.
    pub vip_prefix: u8,
    /// Unicast: (own node, peer nodes).
    pub unicast: Option<(usize, Vec<usize>)>,
    /// `auth_pass` (PASS, or AH with `auth_ah`).
    pub auth_pass: Option<&'static str>,
    /// `auth_type AH` instead of PASS.
    pub auth_ah: bool,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// Extra lines inside the instance.
    pub extra: String,
    /// Extra top-level text (vrrp_script blocks...).
    pub top: String,
}

impl Default for Inst {
    fn default() -> Self {
        Inst {
            state: "BACKUP",
            priority: 100,
            advert: "1",
            version: 2,
            vrid: 51,
            vip: "192.0.2.200",
            vip_prefix: 24,
            unicast: None,
            auth_pass: None,
            auth_ah: false,
            nopreempt: false,
            extra: String::new(),
            top: String::new(),
        }
    }
}

impl Inst {
    /// The configuration file text (one item per line, as keepalived
    /// 2.2.7 wants).
    pub fn conf(&self, router_id: &str) -> String {
        let mut s = format!(
            "global_defs {{\n  router_id {router_id}\n  vrrp_version {}\n}}\n{}",
            self.version, self.top
        );
        s += "vrrp_instance VI_1 {\n";
        s += &format!("  state {}\n  interface eth0\n", self.state);
        s += &format!("  virtual_router_id {}\n", self.vrid);
        s += &format!(
            "  priority {}\n  advert_int {}\n",
            self.priority, self.advert
        );
        if self.nopreempt {
            s += "  nopreempt\n";
        }
        if let Some((me, peers)) = &self.unicast {
            s += &format!("  unicast_src_ip {}\n  unicast_peer {{\n", node_addr(*me));
            for p in peers {
                s += &format!("    {}\n", node_addr(*p));
            }
            s += "  }\n";
        }
        if let Some(p) = self.auth_pass {
            let t = if self.auth_ah { "AH" } else { "PASS" };
            s += &format!("  authentication {{\n    auth_type {t}\n    auth_pass {p}\n  }}\n");
        }
        s += &self.extra;
        s += &format!(
            "  virtual_ipaddress {{\n    {}/{}\n  }}\n}}\n",
            self.vip, self.vip_prefix
        );
        s
    }
}

/// Runs a command inside namespace `ns`; (success, stdout).
pub fn in_ns(ns: &str, args: &[&str]) -> (bool, String) {
    match Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
    {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
        Err(_) => (false, String::new()),
    }
}

/// Runs scenarios in parallel threads (each builds its own namespaces) and
/// panics listing the ones that failed.
///
/// `VRRP_ONLY=word` runs only the scenarios whose name contains `word`.
pub fn run_parallel(scenarios: Vec<(&'static str, fn())>) {
    let only = std::env::var("VRRP_ONLY").ok();
    let handles: Vec<_> = scenarios
        .into_iter()
        .filter(|(name, _)| only.as_deref().is_none_or(|o| name.contains(o)))
        .map(|(name, f)| {
            (
                name,
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(f)
                    .expect("spawn scenario"),
            )
        })
        .collect();
    let failed: Vec<&str> = handles
        .into_iter()
        .filter_map(|(name, h)| h.join().is_err().then_some(name))
        .collect();
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}

/// Samples the VIP holders for `d`; true when it was exactly `[n]` all along.
pub fn sole_holder_for(lan: &Lan, vip: &str, n: usize, d: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < d {
        if lan.holders(vip) != vec![n] {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// Waits until node `n` holds `vip`; returns how long it took.
pub fn wait_holder(lan: &Lan, vip: &str, n: usize, timeout: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if lan.has_addr(n, vip) {
            return Some(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
