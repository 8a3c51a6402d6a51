//! A walk of `/proc` restricted to the cluster's network namespaces.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;

/// One process seen in one of our namespaces.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    /// Pid.
    pub pid: i32,
    /// Parent pid.
    pub ppid: i32,
    /// State letter (`R`, `S`, `Z`, `T`...).
    pub state: char,
    /// `/proc/PID/comm`.
    pub comm: String,
    /// Node index of its network namespace.
    pub node: usize,
    /// Whether its executable is our keepalived.
    pub keepalived: bool,
    /// Open file descriptors.
    pub fds: usize,
    /// Resident set size in KiB.
    pub rss_kib: u64,
}

/// Every process whose network namespace inode is a key of `ns_inodes`,
/// plus zombies (whose namespace links are gone) whose parent is one of them.
pub fn walk(ns_inodes: &BTreeMap<u64, usize>) -> Vec<ProcInfo> {
    let mut all = scan(ns_inodes);
    let known: BTreeMap<i32, usize> = all
        .iter()
        .filter_map(|(p, n)| Some((p.pid, (*n)?)))
        .collect();
    all.retain_mut(|(p, n)| {
        if n.is_none() && p.state == 'Z' {
            *n = known.get(&p.ppid).copied();
        }
        if let Some(node) = *n {
            p.node = node;
            true
        } else {
            false
        }
    });
    all.into_iter().map(|(p, _)| p).collect()
}

fn scan(ns_inodes: &BTreeMap<u64, usize>) -> Vec<(ProcInfo, Option<usize>)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let node = fs::metadata(format!("/proc/{pid}/ns/net"))
            .ok()
            .and_then(|md| ns_inodes.get(&md.ino()).copied());
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let fds = fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0);
        let rss_kib = fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0);
        if node.is_none() && state != 'Z' {
            continue;
        }
        out.push((
            ProcInfo {
                pid,
                ppid,
                state,
                comm,
                node: node.unwrap_or(usize::MAX),
                keepalived: crate::daemon::is_keepalived(pid),
                fds,
                rss_kib,
            },
            node,
        ));
    }
    out
}
