//! The LAN: a bridge namespace and node namespaces (plus an optional
//! client), all deleted on `Drop` (and on a signal, via [`super::guard`]).
//!
//! ```text
//! ns <prefix>-br : br0, ports v1, v2, …, vc
//! ns <prefix>-n1 : eth0 192.0.2.11/24  02:00:00:00:0a:01
//! ns <prefix>-n2 : eth0 192.0.2.12/24  02:00:00:00:0a:02
//! ns <prefix>-c  : eth0 192.0.2.50/24  02:00:00:00:0a:32   (client)
//! ```
//! 192.0.2.0/24 is TEST-NET-1 (RFC 5737); no namespace has a route off the
//! bridge, IPv6 is off in the hosts (no DAD/RS/MLD noise).

use super::{guard, run, Error, Result};
use std::path::PathBuf;

/// Address of node `n` (1-based).
pub fn node_addr(n: usize) -> String {
    format!("192.0.2.{}", 10 + n)
}

/// Address of the client.
pub const CLIENT_ADDR: &str = "192.0.2.50";

/// A bridge, `n` nodes and optionally a client.
#[derive(Debug)]
pub struct Topo {
    /// Namespace name prefix, e.g. `kdemo-1234`.
    pub prefix: String,
    /// Bridge namespace (holds `br0`).
    pub bridge: String,
    /// Node namespaces, index 0 = node 1.
    pub nodes: Vec<String>,
    /// Client namespace, if any.
    pub client: Option<String>,
    /// Scratch directory (configs, logs, pid files).
    pub dir: PathBuf,
}

impl Topo {
    /// Build the LAN. `prefix` must be unique on the machine (include the pid).
    pub fn new(prefix: &str, nodes: usize, with_client: bool) -> Result<Topo> {
        let dir = std::env::temp_dir().join(format!("{prefix}-work"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::Io(dir.display().to_string(), e))?;
        let mut t = Topo {
            prefix: prefix.to_owned(),
            bridge: format!("{prefix}-br"),
            nodes: Vec::new(),
            client: None,
            dir,
        };
        t.add_ns(&t.bridge.clone())?;
        t.ipn(&t.bridge, &["link", "add", "br0", "type", "bridge"])?;
        t.ipn(&t.bridge, &["link", "set", "br0", "up"])?;
        for k in 1..=nodes {
            let ns = format!("{prefix}-n{k}");
            t.add_ns(&ns)?;
            t.nodes.push(ns.clone());
            t.plug(&ns, &format!("v{k}"), &format!("02:00:00:00:0a:{k:02x}"))?;
            t.ipn(
                &ns,
                &[
                    "addr",
                    "add",
                    &format!("{}/24", node_addr(k)),
                    "dev",
                    "eth0",
                ],
            )?;
        }
        if with_client {
            let ns = format!("{prefix}-c");
            t.add_ns(&ns)?;
            t.client = Some(ns.clone());
            t.plug(&ns, "vc", "02:00:00:00:0a:32")?;
            t.ipn(
                &ns,
                &["addr", "add", &format!("{CLIENT_ADDR}/24"), "dev", "eth0"],
            )?;
        }
        Ok(t)
    }

    fn add_ns(&mut self, ns: &str) -> Result<()> {
        if guard::interrupted() {
            return Err(Error::Interrupted);
        }
        run("ip", &["netns", "add", ns])?;
        guard::register(ns);
        self.ipn(ns, &["link", "set", "lo", "up"])?;
        Ok(())
    }

    /// A veth from the bridge (`port`) to `eth0` in `ns`, created from inside
    /// the bridge namespace so the root namespace never sees it.
    fn plug(&self, ns: &str, port: &str, mac: &str) -> Result<()> {
        self.ipn(
            &self.bridge,
            &[
                "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
        )?;
        self.ipn(&self.bridge, &["link", "set", port, "master", "br0", "up"])?;
        self.ipn(ns, &["link", "set", "eth0", "address", mac])?;
        run(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        self.ipn(ns, &["link", "set", "eth0", "up"])?;
        Ok(())
    }

    /// `ip -n NS args…`.
    pub fn ipn(&self, ns: &str, args: &[&str]) -> Result<String> {
        let mut a = vec!["-n", ns];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// Namespace of node `n` (1-based).
    pub fn ns(&self, n: usize) -> &str {
        &self.nodes[n - 1]
    }

    /// IPv4 addresses on `eth0` of node `n` (without prefix length).
    pub fn addrs(&self, n: usize) -> Vec<String> {
        self.ipn(self.ns(n), &["-o", "-4", "addr", "show", "dev", "eth0"])
            .map(|s| {
                s.lines()
                    .filter_map(|l| {
                        let mut w = l.split_whitespace();
                        w.position(|x| x == "inet")?;
                        let a = w.next()?;
                        Some(a.split('/').next().unwrap_or(a).to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether node `n` holds `addr`.
    pub fn holds(&self, n: usize, addr: &str) -> bool {
        self.addrs(n).iter().any(|a| a == addr)
    }

    /// Remove every address of node `n` except its own (VIPs left after a
    /// crash: a killed keepalived cannot remove them).
    pub fn flush_vips(&self, n: usize) {
        let own = node_addr(n);
        if self.addrs(n).iter().any(|a| *a != own) {
            let _ = self.ipn(self.ns(n), &["addr", "flush", "dev", "eth0"]);
            let _ = self.ipn(
                self.ns(n),
                &["addr", "add", &format!("{own}/24"), "dev", "eth0"],
            );
        }
    }

    /// All namespace names (nodes, client, bridge).
    pub fn all_ns(&self) -> Vec<String> {
        let mut v = self.nodes.clone();
        v.extend(self.client.clone());
        v.push(self.bridge.clone());
        v
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        for ns in self.all_ns() {
            guard::destroy_ns(&ns);
            guard::unregister(&ns);
        }
        if std::env::var_os("KEEP_BENCH_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
