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

    /// Writes the dump `kind`; returns the file written.
    pub(crate) fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        let dir = dump_dir();
        let (file, text) = match kind {
            DumpKind::Data => ("keepalived.data", self.data_text()),
            DumpKind::Stats | DumpKind::StatsClear => ("keepalived.stats", self.stats_text()),
            DumpKind::Json => ("keepalived.json", self.json_text()),
        };
        let path = dir.join(file);
        status::write_dump_file(&path, text.as_bytes())
            .map_err(|e| format!("Unable to write {}: {e}", path.display()))?;
        if kind == DumpKind::StatsClear {
            for i in &mut self.insts {
                i.core.clear_stats();
            }
        }
        Ok(path.display().to_string())
    }
}

fn sstate(s: State) -> status::schema::VrrpState {
    use status::schema::VrrpState as V;
    match s {
        State::Init => V::Init,
        State::Backup => V::Backup,
        State::Master => V::Master,
        State::Fault => V::Fault,
        State::Stopped => V::Stop,
    }
}

impl Runtime {
    /// One instance in the status schema.
    pub(crate) fn instance_status(&self, k: usize) -> status::schema::VrrpInstanceStatus {
        let i = &self.insts[k];
        let c = i.core.config();
        let s = i.core.stats();
        let set = i.core.vips_set();
        let nvip = i.vcfg.n_vips;
        let fmt = |v: &crate::map::VipLine| {
            let mut extra = Vec::new();
            if v.addr.addr.is_ipv6() {
                extra.push("preferred_lft forever");
            }
            if set {
                extra.push("set");
            }
            let label = v.addr.label.as_deref().filter(|l| *l != v.dev);
            status::legacy::format_vip(
                v.addr.addr,
                v.addr.prefix_len,
                v.addr.broadcast,
                &v.dev,
                &v.addr.scope.to_string(),
                label,
                &extra,
            )
        };
        let adv = u64::from(c.adver_int.0) * 10;
        status::schema::VrrpInstanceStatus {
            name: i.vcfg.name.to_string(),
            state: sstate(i.core.state()),
            wanted_state: if i.vcfg.state == config::InitialState::Master {
                status::schema::VrrpState::Master
            } else {
                status::schema::VrrpState::Backup
            },
            vrid: c.vrid,
            interface: i.key.interface.to_string(),
            family: if i.src.is_some_and(|a| a.is_ipv6()) {
                "inet6"
            } else {
                "inet"
            }
            .into(),
            vrrp_version: if c.version == vrrp::wire::Version::V2 {
                2
            } else {
                3
            },
            base_priority: c.priority,
            effective_priority: i.core.effective_priority(),
            master_address: i.core.master().map(|(a, _)| a.to_string()),
            master_priority: i.core.master().map(|(_, p)| p),
            advert_interval_ms: adv,
            master_advert_interval_ms: u64::from(i.core.master_adver_int().0) * 10,
            master_down_interval_ms: u64::from(i.core.master_down_interval_us()) / 1000,
            preempt: !c.nopreempt,
            preempt_delay_ms: c.preempt_delay.as_millis() as u64,
            last_transition: None,
            vips: i.vips.iter().take(nvip).map(fmt).collect(),
            excluded_vips: i.vips.iter().skip(nvip).map(fmt).collect(),
            sync_group: i.group.clone(),
            garp_delay_secs: c.garp_master_delay.as_secs_f64(),
            counters: status::schema::VrrpCounters {
                advert_rcvd: s.advert_rcvd,
                advert_sent: u64::from(s.advert_sent),
                become_master: u64::from(s.become_master),
                release_master: u64::from(s.release_master),
                packet_len_err: s.packet_len_err,
                advert_interval_err: s.advert_interval_err,
                ip_ttl_err: s.ip_ttl_err,
                invalid_type_rcvd: s.invalid_type_rcvd,
                addr_list_err: s.addr_list_err,
                invalid_authtype: u64::from(s.invalid_authtype),
                authtype_mismatch: u64::from(s.authtype_mismatch),
                auth_failure: u64::from(s.auth_failure),
                pri_zero_rcvd: s.pri_zero_rcvd,
                pri_zero_sent: s.pri_zero_sent,
            },
        }
    }

    fn json_text(&self) -> String {
        let entries: Vec<status::legacy::JsonEntry> = (0..self.insts.len())
            .filter_map(|k| {
                let i = &self.insts[k];
                // Kept serialised by the instance (see `map::InstCfg`).
                let Some(block) = i.vcfg.block() else {
                    log::error!(
                        "({}) configuration block unreadable - not dumped",
                        i.vcfg.name
                    );
                    return None;
                };
                let mut x = status::legacy::JsonExtras::from_config(&self.cfg, &block);
                x.vipset = i.core.vips_set();
                Some(status::legacy::JsonEntry::from_status(
                    &self.instance_status(k),
                    &x,
                ))
            })
            .collect();
        status::legacy::render_json(&entries)
    }

    /// The child snapshot (JSON) for the parent's status document.
    pub(crate) fn status_json(&self) -> String {
        let snap = status::schema::ChildSnapshot {
            vrrp_instances: (0..self.insts.len())
                .map(|k| self.instance_status(k))
                .collect(),
            ..Default::default()
        };
        snap.to_json()
    }
}
