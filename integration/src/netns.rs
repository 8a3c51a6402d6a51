//! Network namespaces and links for tests, torn down by `Drop`.

use std::io;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this test process and call: `ka-<tag>-<pid>-<n>`.
/// Namespace names may be long; interface names may not (use [`short_name`]).
pub fn unique_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("ka-{tag}-{}-{n}", std::process::id())
}

/// An interface name unique in this process, at most 15 bytes (IFNAMSIZ-1).
pub fn short_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let s = format!("{prefix}{:x}{n}", std::process::id() % 0xffff);
    s.chars().take(15).collect()
}

/// Run a command; error (with its stderr) unless it exits 0.
pub fn run(cmd: &str, args: &[&str]) -> io::Result<Output> {
    let out = Command::new(cmd).args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )));
    }
    Ok(out)
}

/// A network namespace that is deleted (with every process still in it
/// killed) when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create `ka-<tag>-<pid>-<n>` with `lo` up.
    pub fn new(tag: &str) -> io::Result<Netns> {
        let name = unique_name(tag);
        run("ip", &["netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NS ARGS...`.
    pub fn ip(&self, args: &[&str]) -> io::Result<Output> {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// `ip netns exec NS CMD ARGS...`, waiting for it.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> io::Result<Output> {
        let mut a = vec!["netns", "exec", self.name.as_str(), cmd];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// A `Command` that runs `cmd` inside the namespace (`ip netns exec`
    /// execs, so the spawned pid is the program's own).
    pub fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.name.as_str(), cmd]);
        c
    }

    /// Pids of the processes in the namespace.
    pub fn pids(&self) -> Vec<i32> {
        run("ip", &["netns", "pids", &self.name])
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Add an address to an interface and bring it up.
    pub fn addr_up(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        self.ip(&["addr", "add", cidr, "dev", ifname])?;
        self.ip(&["link", "set", ifname, "up"])?;
        Ok(())
    }

    /// Turn IPv6 off (no DAD/RS/MLD noise).
    pub fn disable_ipv6(&self) -> io::Result<()> {
        self.exec(
            "sysctl",
            &[
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for pid in self.pids() {
            if pid > 0 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair from `a` (named `a_if`) to `b` (named `b_if`), both up.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> io::Result<()> {
    run(
        "ip",
        &[
            "link",
            "add",
            a_if,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.name(),
        ],
    )?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}

/// One host on a [`Lan`].
#[derive(Debug)]
pub struct Node {
    /// Its namespace.
    pub ns: Netns,
    /// Its interface on the LAN (always `eth0`).
    pub ifname: String,
    /// Its address on the LAN, without prefix length.
    pub addr: String,
}

/// A bridge in its own namespace with `n` hosts plugged in, each in its
/// own namespace with `eth0` = `<net>.<11+i>/24`. Hosts are dropped before
/// the bridge (field order).
#[derive(Debug)]
pub struct Lan {
    /// The hosts.
    pub nodes: Vec<Node>,
    /// The namespace holding bridge `br0`.
    pub bridge: Netns,
}

impl Lan {
    /// Build the LAN; `net` is the first three octets of a TEST-NET /24,
    /// e.g. `"192.0.2"`.
    pub fn new(tag: &str, n: usize, net: &str) -> io::Result<Lan> {
        let bridge = Netns::new(&format!("{tag}br"))?;
        bridge.ip(&["link", "add", "br0", "type", "bridge"])?;
        bridge.ip(&["link", "set", "br0", "up"])?;
        let mut nodes = Vec::new();
        for i in 0..n {
            let ns = Netns::new(&format!("{tag}{i}"))?;
            ns.disable_ipv6()?;
            let port = format!("p{i}");
            veth(&bridge, &port, &ns, "eth0")?;
            bridge.ip(&["link", "set", &port, "master", "br0"])?;
            let addr = format!("{net}.{}", 11 + i);
            ns.addr_up("eth0", &format!("{addr}/24"))?;
            nodes.push(Node {
                ns,
                ifname: "eth0".into(),
                addr,
            });
        }
        Ok(Lan { nodes, bridge })
    }
}
