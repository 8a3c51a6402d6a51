//! The chaos cluster: a bridge namespace, three nodes running our
//! keepalived (two VRRP instances, a `vrrp_script`, a `notify` script, a
//! `virtual_server` whose checker child programs an in-memory IPVS table),
//! a client namespace used for ARP checks and a backend namespace with the
//! real servers. Optionally node 2 runs keepalived 2.2.7 (VRRP only).
//! Everything lives in namespaces made here and a temporary directory;
//! `Drop` tears it down.

use super::backends::{parse_table, vs_config, Backends};
use crate::netns::{run, Lan};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Number of keepalived nodes.
pub const NODES: usize = 3;
/// LAN host index of the client (ARP checks).
pub const CLIENT: usize = NODES;
/// LAN host index of the backend (real servers, 192.0.2.15).
pub const BACKEND: usize = NODES + 1;
/// keepalived 2.2.7, for the optional upstream node.
pub const UPSTREAM_BIN: &str = "/usr/sbin/keepalived";
/// The hidden option giving our checker child an in-memory IPVS table (the
/// host kernel has no IPVS).
pub const MEMORY_IPVS: &str = "--ipvs-backend=memory";
/// The VIPs, one per instance (`VI_1` vrid 51, `VI_2` vrid 52).
pub const VIPS: [&str; 2] = ["192.0.2.200", "192.0.2.201"];
/// Base priorities per instance and node: `VI_1` prefers node 0, `VI_2` node 2.
pub const PRIO: [[u8; NODES]; 2] = [[150, 120, 100], [100, 120, 150]];
/// `weight` of the track script (a hung script drops the node by this much).
pub const SCRIPT_WEIGHT: i32 = -60;

/// One keepalived node: its directory (config, pid files, log, scripts,
/// flag files, dumps) and the process we spawned.
#[derive(Debug)]
pub struct NodeDaemon {
    /// Node index (0-based).
    pub idx: usize,
    /// Its directory.
    pub dir: PathBuf,
    child: Option<Child>,
    /// Number of times it was (re)started by the exerciser.
    pub starts: u32,
    /// Runs keepalived 2.2.7 (VRRP only, `-P`) instead of ours.
    pub upstream: bool,
}

impl NodeDaemon {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The console log (`-l`), appended to over restarts.
    pub fn log(&self) -> String {
        fs::read_to_string(self.file("keepalived.log")).unwrap_or_default()
    }

    fn read_pid(&self, name: &str) -> Option<i32> {
        fs::read_to_string(self.file(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The parent's pid (pid file).
    pub fn parent_pid(&self) -> Option<i32> {
        self.read_pid("keepalived.pid")
    }

    /// The VRRP child's pid (pid file).
    pub fn vrrp_pid(&self) -> Option<i32> {
        self.read_pid("vrrp.pid")
    }

    /// The checker child's pid (pid file; ours only).
    pub fn checker_pid(&self) -> Option<i32> {
        if self.upstream {
            return None;
        }
        self.read_pid("checkers.pid")
    }

    /// Whether this node runs a checker child (ours: yes; 2.2.7: `-P`).
    pub fn has_checker(&self) -> bool {
        !self.upstream
    }

    /// keepalived processes expected on this node (parent and children).
    pub fn expected_procs(&self) -> usize {
        if self.has_checker() {
            3
        } else {
            2
        }
    }

    /// The checker child's IPVS table for the chaos virtual server: a
    /// SIGUSR1 to the checker child, then its `keepalived_check.data`
    /// (written atomically in `TMPDIR` = the node directory). `None` when
    /// there is no checker or no answer within `timeout`.
    pub fn checker_table(&self, timeout: Duration) -> Option<Vec<(String, u32)>> {
        let path = self.file("keepalived_check.data");
        let _ = fs::remove_file(&path);
        let pid = self.checker_pid()?;
        if !(crate::daemon::alive(pid) && crate::daemon::is_keepalived(pid)) {
            return None;
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGUSR1,
        )
        .ok()?;
        let text = crate::wait::wait_for_value(timeout, || fs::read_to_string(&path).ok())?;
        // A dump from before the service was added reads as an empty table.
        Some(parse_table(&text).unwrap_or_default())
    }

    /// Reap the spawned parent if it exited (so it is not left a zombie of ours).
    pub fn reap(&mut self) -> bool {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(_)) = c.try_wait() {
                self.child = None;
                return true;
            }
            return false;
        }
        true
    }

    /// Whether the process we spawned is still running.
    pub fn spawned_running(&mut self) -> bool {
        !self.reap()
    }
}

impl Drop for NodeDaemon {
    fn drop(&mut self) {
        let pids = [self.vrrp_pid(), self.checker_pid(), self.parent_pid()];
        for p in pids.into_iter().flatten() {
            if crate::daemon::alive(p) && crate::daemon::is_keepalived(p) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The cluster. Field order: daemons dropped before the listeners and the
/// namespaces.
#[derive(Debug)]
pub struct Cluster {
    /// The keepalived nodes.
    pub nodes: Vec<NodeDaemon>,
    /// The real servers' listeners (in the backend namespace).
    pub backends: Backends,
    /// Bridge + 3 nodes + client ([`CLIENT`]) + backend ([`BACKEND`]).
    pub lan: Lan,
    /// MAC of each node's `eth0`.
    pub macs: Vec<String>,
    /// Network namespace inode → LAN host index (3 = client, 4 = backend).
    pub ns_inodes: BTreeMap<u64, usize>,
    /// Run directory.
    pub dir: tempfile::TempDir,
}

/// The shell script of the `vrrp_script`: hangs while `DIR/hang` exists.
fn chk_script(dir: &Path) -> String {
    format!(
        "#!/bin/sh\nif [ -e {d}/hang ]; then exec sleep 1000; fi\nexit 0\n",
        d = dir.display()
    )
}

/// The notify script: logs its arguments; never exits (well, 60 s) while
/// `DIR/notify_hang` exists.
fn notify_script(dir: &Path) -> String {
    format!(
        "#!/bin/sh\necho \"$@\" >> {d}/notify.log\nif [ -e {d}/notify_hang ]; then exec sleep 60; fi\nexit 0\n",
        d = dir.display()
    )
}

/// The configuration of node `idx`; `prio_delta` is added to `VI_1`'s
/// priority (config changes during SIGHUP storms); `with_vs` adds the
/// `virtual_server` (nodes of ours).
pub fn config(dir: &Path, idx: usize, prio_delta: i32, with_vs: bool) -> String {
    let d = dir.display();
    let mut s = format!(
        "global_defs {{\n  router_id chaos{idx}\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script \"{d}/chk.sh\"\n  interval 1\n  timeout 2\n  fall 2\n  rise 1\n  weight {SCRIPT_WEIGHT}\n}}\n"
    );
    for (i, vip) in VIPS.iter().enumerate() {
        let mut p = i32::from(PRIO[i][idx]);
        if i == 0 {
            p = (p + prio_delta).clamp(1, 254);
        }
        s += &format!(
            "vrrp_instance VI_{n} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {p}\n  advert_int 1\n  track_script {{\n    chk\n  }}\n  notify \"{d}/notify.sh\"\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n",
            n = i + 1,
            vrid = 51 + i,
        );
    }
    if with_vs {
        s += &vs_config();
    }
    s
}

/// Write `text` to `path` atomically (temp file + rename), so a reload never
/// reads half a file.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

impl Cluster {
    /// Build the namespaces, start the real servers and the three daemons;
    /// `upstream` is the node (if any) that runs keepalived 2.2.7.
    pub fn new(tag: &str, upstream: Option<usize>) -> io::Result<Cluster> {
        let lan = Lan::new(tag, NODES + 2, "192.0.2")?;
        let backends = Backends::start(lan.nodes[BACKEND].ns.name())?;
        let dir = tempfile::Builder::new().prefix("ka-chaos-").tempdir()?;
        let mut macs = Vec::new();
        let mut ns_inodes = BTreeMap::new();
        for (i, n) in lan.nodes.iter().enumerate() {
            let mac = format!("02:00:00:00:c0:{:02x}", i + 1);
            n.ns.ip(&["link", "set", "eth0", "address", &mac])?;
            macs.push(mac);
            let ino = fs::metadata(format!("/run/netns/{}", n.ns.name()))?.ino();
            ns_inodes.insert(ino, i);
        }
        let mut c = Cluster {
            nodes: Vec::new(),
            backends,
            lan,
            macs,
            ns_inodes,
            dir,
        };
        for i in 0..NODES {
            let nd = c.dir.path().join(format!("n{i}"));
            fs::create_dir_all(&nd)?;
            for (name, text) in [
                ("chk.sh", chk_script(&nd)),
                ("notify.sh", notify_script(&nd)),
            ] {
                let p = nd.join(name);
                fs::write(&p, text)?;
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
            }
            let up = upstream == Some(i);
            write_atomic(&nd.join("keepalived.conf"), &config(&nd, i, 0, !up))?;
            c.nodes.push(NodeDaemon {
                idx: i,
                dir: nd,
                child: None,
                starts: 0,
                upstream: up,
            });
            c.start(i)?;
        }
        Ok(c)
    }

    /// Namespace name of LAN host `i` (3 = client, 4 = backend).
    pub fn ns(&self, i: usize) -> &str {
        self.lan.nodes[i].ns.name()
    }

    /// Start (or restart) node `i`'s daemon; waits for the pid files
    /// (parent, VRRP child and, on ours, checker child).
    pub fn start(&mut self, i: usize) -> io::Result<()> {
        let ns = self.lan.nodes[i].ns.name().to_string();
        let n = &mut self.nodes[i];
        n.reap();
        let d = n.dir.clone();
        let p = |f: &str| d.join(f).to_string_lossy().into_owned();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("keepalived.log"))?;
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", &ns]);
        if n.upstream {
            // keepalived 2.2.7, VRRP only.
            cmd.arg(UPSTREAM_BIN).args(["-P", "-n", "-l", "-D", "-f"]);
        } else {
            // Ours with both children; the checker gets an in-memory table.
            cmd.arg(crate::daemon::keepalived_bin())
                .args([MEMORY_IPVS, "-n", "-l", "-D", "-f"]);
        }
        let child = cmd
            .arg(p("keepalived.conf"))
            .args(["-p", &p("keepalived.pid"), "-r", &p("vrrp.pid")])
            .args(["-c", &p("checkers.pid"), "-b", &p("bfd.pid")])
            .env("TMPDIR", &d)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let parent = child.id() as i32;
        n.child = Some(child);
        n.starts += 1;
        let ok = crate::wait::wait_for(Duration::from_secs(15), || {
            let child_ok = |v: Option<i32>| {
                v.is_some_and(|v| crate::daemon::alive(v) && crate::daemon::ppid(v) == Some(parent))
            };
            n.parent_pid() == Some(parent)
                && child_ok(n.vrrp_pid())
                && (!n.has_checker() || child_ok(n.checker_pid()))
        });
        if !ok {
            return Err(io::Error::other(format!(
                "node {i}: daemon did not start (parent {parent}, vrrp pid file {:?}, checker pid file {:?})",
                n.vrrp_pid(),
                n.checker_pid()
            )));
        }
        Ok(())
    }

    /// Addresses of `eth0` in node `i` (`ip -o addr`).
    pub fn addrs(&self, i: usize) -> String {
        self.lan.nodes[i]
            .ns
            .ip(&["-o", "-4", "addr", "show", "dev", "eth0"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Which nodes hold each VIP.
    pub fn holders(&self) -> [Vec<usize>; 2] {
        let a: Vec<String> = (0..NODES).map(|i| self.addrs(i)).collect();
        let h = |vip: &str| {
            let needle = format!(" {vip}/");
            (0..NODES).filter(|&i| a[i].contains(&needle)).collect()
        };
        [h(VIPS[0]), h(VIPS[1])]
    }

    /// The MAC that answers ARP for `vip` as seen from the client: neighbour
    /// entry flushed, one ping, then `ip neigh show`.
    pub fn arp_mac(&self, vip: &str) -> Option<String> {
        let client = &self.lan.nodes[CLIENT].ns;
        let _ = client.ip(&["neigh", "flush", "dev", "eth0"]);
        let _ = client.exec("ping", &["-c", "1", "-W", "1", vip]);
        let out = client.ip(&["neigh", "show", vip]).ok()?;
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut w = s.split_whitespace();
        while let Some(t) = w.next() {
            if t == "lladdr" {
                return w.next().map(str::to_string);
            }
        }
        None
    }

    /// `nft -f -` style: run an nft command in namespace `ns`.
    pub fn nft(&self, ns: &str, args: &[&str]) -> io::Result<()> {
        let mut a = vec!["netns", "exec", ns, "nft"];
        a.extend_from_slice(args);
        run("ip", &a).map(|_| ())
    }

    /// Logs of every node, for a failure report.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                format!(
                    "==== node {} ({}{}) ====\n{}",
                    n.idx,
                    n.dir.display(),
                    if n.upstream { ", keepalived 2.2.7" } else { "" },
                    n.log()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
