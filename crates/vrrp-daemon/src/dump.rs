//! SIGUSR1 / SIGUSR2 / SIGRTMAX-1 / SIGRTMIN+2 dumps (anatomy §1.6):
//! `keepalived.data`, `keepalived.stats` (keepalived 2.2.7's block per
//! instance, `vrrp/vrrp_print.c`), `keepalived.json`, in `$TMPDIR` when it
//! is an absolute existing directory, else `/tmp`.

use std::fmt::Write as _;
use std::path::PathBuf;

use ipc::DumpKind;
use vrrp::State;

use crate::runtime::Runtime;

/// The directory dumps go to.
pub fn dump_dir() -> PathBuf {
    match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(p) if p.is_absolute() && p.is_dir() => p,
        _ => PathBuf::from("/tmp"),
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stopped => "STOP",
    }
}

impl Runtime {
    /// The stats file content.
    pub(crate) fn stats_text(&self) -> String {
        let mut out = String::new();
        for i in &self.insts {
            i.core.stats().write_stats_block(&i.vcfg.name, &mut out);
        }
        out
    }

    /// The data file content (VRRP part of keepalived's `keepalived.data`).
    pub(crate) fn data_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "------< VRRP Topology >------");
        for i in &self.insts {
            let c = i.core.config();
            let _ = writeln!(o, " VRRP Instance = {}", i.vcfg.name);
            let _ = writeln!(
                o,
                "   VRRP Version = {}",
                if c.version == vrrp::wire::Version::V2 {
                    2
                } else {
                    3
                }
            );
            let _ = writeln!(o, "   State = {}", state_name(i.core.state()));
            if let Some((addr, prio)) = i.core.master() {
                let _ = writeln!(o, "   Last master = {addr} priority {prio}");
            }
            let _ = writeln!(
                o,
                "   Wantstate = {}",
                if i.vcfg.state == config::InitialState::Master {
                    "MASTER"
                } else {
                    "BACKUP"
                }
            );
            let _ = writeln!(o, "   Interface = {}", i.key.interface);
            if let Some(s) = i.src {
                let _ = writeln!(o, "   Using src_ip = {s}");
            }
            let _ = writeln!(o, "   Virtual Router ID = {}", c.vrid);
            let _ = writeln!(o, "   Priority = {}", c.priority);
            let _ = writeln!(o, "   Effective priority = {}", i.core.effective_priority());
            let _ = writeln!(
                o,
                "   Advert interval = {}ms",
                u32::from(c.adver_int.0) * 10
            );
            let _ = writeln!(
                o,
                "   Master advert interval = {}ms",
                u32::from(i.core.master_adver_int().0) * 10
            );
            let _ = writeln!(
                o,
                "   Preempt = {}",
                if c.nopreempt { "disabled" } else { "enabled" }
            );
            if !c.preempt_delay.is_zero() {
                let _ = writeln!(
                    o,
                    "   Preempt delay = {} secs",
                    c.preempt_delay.as_secs_f64()
                );
            }
            if let Some(g) = &i.group {
                let _ = writeln!(o, "   Sync group = {g}");
            }
            if !c.unicast_peers.is_empty() {
                let _ = writeln!(o, "   Unicast Peer = {}", c.unicast_peers.len());
                for p in &c.unicast_peers {
                    let _ = writeln!(o, "     {}", p.addr);
                }
            } else {
                let _ = writeln!(o, "   Multicast address = {}", c.mcast_group);
            }
            let _ = writeln!(o, "   Virtual IP = {}", i.vips.len());
            for v in &i.vips {
                let _ = writeln!(
                    o,
                    "     {}/{} dev {} scope {}{}",
                    v.addr.addr,
                    v.addr.prefix_len,
                    v.dev,
                    v.addr.scope,
                    v.addr
                        .label
                        .as_deref()
                        .map(|l| format!(" label {l}"))
                        .unwrap_or_default()
                );
            }
            if !c.trackers.is_empty() {
                let _ = writeln!(o, "   Tracked objects = {}", c.trackers.len());
                for t in &c.trackers {
                    let _ = writeln!(o, "     {:?} {} weight {}", t.kind, t.name, t.weight);
                }
            }
        }
        if !self.groups.is_empty() {
            let _ = writeln!(o, "------< VRRP Sync groups >------");
            let mut names: Vec<&String> = self.groups.keys().collect();
            names.sort();
            for n in names {
                let g = &self.groups[n];
                let _ = writeln!(o, " VRRP Sync Group = {n}, {}", state_name(g.state));
                for m in &g.members {
                    let _ = writeln!(o, "   monitor = {m}");
                }
            }
        }
        if !self.trackers.scripts.is_empty() {
            let _ = writeln!(o, "------< VRRP Scripts >------");
            let mut names: Vec<&String> = self.trackers.scripts.keys().collect();
            names.sort();
            for n in names {
                let _ = writeln!(o, " VRRP Script = {n}");
                let _ = writeln!(
                    o,
                    "   Status = {}",
                    match self.trackers.script_status(n) {
                        vrrp::TrackStatus::Up => "GOOD",
                        vrrp::TrackStatus::Down => "BAD",
                        _ => "INIT",
                    }
                );
            }
        }
        o
    }

    fn json_text(&self) -> String {
        let mut o = String::from("[");
        for (k, i) in self.insts.iter().enumerate() {
            let s = i.core.stats();
            let c = i.core.config();
            if k > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"data\":{{\"iname\":{:?},\"ifp_ifname\":{:?},\"vrid\":{},\"state\":{},\"base_priority\":{},\"effective_priority\":{},\"vips\":[{}]}},\
                 \"stats\":{{\"advert_rcvd\":{},\"advert_sent\":{},\"become_master\":{},\"release_master\":{},\"packet_len_err\":{},\"advert_interval_err\":{},\"ip_ttl_err\":{},\"invalid_type_rcvd\":{},\"addr_list_err\":{},\"invalid_authtype\":{},\"authtype_mismatch\":{},\"auth_failure\":{},\"pri_zero_rcvd\":{},\"pri_zero_sent\":{}}}}}",
                i.vcfg.name,
                i.key.interface,
                c.vrid,
                match i.core.state() {
                    State::Init => 0,
                    State::Backup => 1,
                    State::Master => 2,
                    State::Fault => 3,
                    State::Stopped => 98,
                },
                c.priority,
                i.core.effective_priority(),
                i.vips
                    .iter()
                    .map(|v| format!("\"{}\"", v.addr.addr))
                    .collect::<Vec<_>>()
                    .join(","),
                s.advert_rcvd,
                s.advert_sent,
                s.become_master,
                s.release_master,
                s.packet_len_err,
                s.advert_interval_err,
                s.ip_ttl_err,
                s.invalid_type_rcvd,
                s.addr_list_err,
                s.invalid_authtype,
                s.authtype_mismatch,
                s.auth_failure,
                s.pri_zero_rcvd,
                s.pri_zero_sent,
            );
        }
        o.push(']');
        o
    }

    /// Writes the dump `kind`; returns the file written.
    pub(crate) fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        let dir = dump_dir();
        let (file, text) = match kind {
            DumpKind::Data => ("keepalived.data", self.data_text()),
            DumpKind::Stats | DumpKind::StatsClear => ("keepalived.stats", self.stats_text()),
            DumpKind::Json => ("keepalived.json", self.json_text()),
        };
        let path = dir.join(file);
        let tmp = dir.join(format!(".{file}.{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("Unable to write {}: {e}", path.display()))?;
        if kind == DumpKind::StatsClear {
            for i in &mut self.insts {
                i.core.clear_stats();
            }
        }
        Ok(path.display().to_string())
    }
}
