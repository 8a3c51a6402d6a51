//! The chaos cluster: a bridge namespace, three nodes running our
//! keepalived (two VRRP instances, a `vrrp_script`, a `notify` script) and
//! a client namespace used for ARP checks. Everything lives in namespaces
//! made here and a temporary directory; `Drop` tears it down.

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
        for p in [self.vrrp_pid(), self.parent_pid()].into_iter().flatten() {
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

/// The cluster. Field order: daemons dropped before the namespaces.
#[derive(Debug)]
pub struct Cluster {
    /// The keepalived nodes.
    pub nodes: Vec<NodeDaemon>,
    /// Bridge + 3 nodes + client (index 3).
    pub lan: Lan,
    /// MAC of each node's `eth0`.
    pub macs: Vec<String>,
    /// Network namespace inode → node index (3 = client).
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
/// priority (config changes during SIGHUP storms).
pub fn config(dir: &Path, idx: usize, prio_delta: i32) -> String {
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
    /// Build the namespaces and start the three daemons.
    pub fn new(tag: &str) -> io::Result<Cluster> {
        let lan = Lan::new(tag, NODES + 1, "192.0.2")?;
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
            write_atomic(&nd.join("keepalived.conf"), &config(&nd, i, 0))?;
            c.nodes.push(NodeDaemon {
                idx: i,
                dir: nd,
                child: None,
                starts: 0,
            });
            c.start(i)?;
        }
        Ok(c)
    }

    /// Namespace name of node `i` (3 = client).
    pub fn ns(&self, i: usize) -> &str {
        self.lan.nodes[i].ns.name()
    }

    /// Start (or restart) node `i`'s daemon; waits for both pid files.
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
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(crate::daemon::keepalived_bin())
            .args(["-n", "-l", "-D", "-P", "-f"])
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
            n.parent_pid() == Some(parent)
                && n.vrrp_pid().is_some_and(|v| {
                    crate::daemon::alive(v) && crate::daemon::ppid(v) == Some(parent)
                })
        });
        if !ok {
            return Err(io::Error::other(format!(
                "node {i}: daemon did not start (parent {parent}, vrrp pid file {:?})",
                n.vrrp_pid()
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
        let client = &self.lan.nodes[NODES].ns;
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
                    "==== node {} ({}) ====\n{}",
                    n.idx,
                    n.dir.display(),
                    n.log()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
