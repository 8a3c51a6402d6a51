//! Start, reload and stop of instances (keepalived `vrrp_daemon.c`
//! `start_vrrp`, `reload_vrrp_thread`, `vrrp_terminate_phase1`).
//!
//! Reload keeps every instance whose (VRID, family, interface) is still
//! configured: its core gets [`Input::Reload`] and keeps its state, so
//! there is no transition, no GARP and no VIP removal; only VIP lines that
//! were added or removed are applied on a MASTER. Instances that
//! disappeared stop (priority 0 if MASTER, VIPs removed, `notify_deleted`
//! or the STOP notifications); new ones start as at boot.

use std::time::Duration;

use config::Config;
use sched::{Sched, TimerId};
use vrrp::{Input, State, TrackKind};

use crate::map;
use crate::runtime::{Group, Inst, Runtime};

impl Runtime {
    fn build_inst(&mut self, cfg: &Config, vi: &config::VrrpInstance) -> Inst {
        let g = &cfg.global;
        let mut ic = map::instance_config(cfg, vi);
        let key = map::key_of(cfg, vi).share(self.insts.last().map(|l| &l.key));
        // One copy of the interface name for the key and the core.
        if ic.interface == key.interface {
            ic.interface = key.interface.clone();
        }
        let id = self.next_id;
        self.next_id += 1;
        let disabled = match map::auth_hmac(vi) {
            Ok(_) => false,
            Err(line) => {
                log::error!("{line}");
                true
            }
        };
        // One copy of the name for the core and the instance.
        let mut vcfg = map::InstCfg::new(vi, self.insts.last().map(|l| &l.vcfg));
        vcfg.share_name(&ic.name);
        let mut core = vrrp::Instance::new(ic);
        if let Some(l) = core.set_wall_clock(self.now(), unix_micros_now()) {
            log::debug!("{}", l.text);
        }
        Inst {
            id,
            core,
            ifindex: self.ifindex_of(&key.interface),
            key,
            vcfg,
            src: None,
            timer: None,
            vips: map::vip_lines(cfg, vi),
            group: map::group_of(cfg, &vi.name).map(|g| g.name.clone()),
            want_master: false,
            notify: Some(map::notify_scripts(cfg, &vi.notify))
                .filter(|n| *n != notify::NotifyScripts::default())
                .map(Box::new),
            smtp: vi
                .smtp_alert
                .or(g.smtp_alert_vrrp)
                .or(g.smtp_alert)
                .unwrap_or(false),
            prio_changes: vi
                .notify_priority_changes
                .unwrap_or(g.vrrp_notify_priority_changes),
            deleting: false,
            vmac: crate::vmac::vmac_of(cfg, vi),
            disabled,
        }
    }

    /// Opens (or joins) the receive socket of instance `id`.
    pub(crate) fn open_sockets_for(&mut self, sched: &Sched, id: u64) {
        let Some(i) = self.idx(id) else { return };
        let Some(ifindex) = self.rx_ifindex(i) else {
            return;
        };
        let inst = &self.insts[i];
        let c = inst.core.config();
        let group = (!c.is_unicast()).then_some(c.mcast_group);
        let fam = inst.key.family;
        let ah = matches!(c.effective_auth(), vrrp::Auth::Ah(_));
        let name = inst.vcfg.name.clone();
        if let Err(e) = self
            .socks
            .ensure_rx(sched.registry(), ifindex, fam, group, false)
        {
            log::error!("({name}) Unable to open the VRRP socket: {e}");
        }
        if ah {
            if let Err(e) = self
                .socks
                .ensure_rx(sched.registry(), ifindex, fam, group, true)
            {
                log::error!("({name}) Unable to open the AH socket: {e}");
            }
        }
    }

    /// Starts instance `id` (already in `self.insts`).
    fn start_inst(&mut self, sched: &mut Sched, id: u64) {
        let Some(i) = self.idx(id) else { return };
        if self.insts[i].disabled {
            log::error!(
                "({}) not started: its auth_hmac key cannot be used",
                self.insts[i].vcfg.name
            );
            return;
        }
        self.setup_vmac(i);
        self.handle_leftover_vips(i);
        self.open_sockets_for(sched, id);
        let inst = &self.insts[i];
        let up = inst
            .ifindex
            .and_then(|x| self.links.get(&x))
            .is_some_and(|l| l.is_up());
        if inst.ifindex.is_none() {
            log::info!(
                "({}) interface {} does not exist",
                inst.vcfg.name,
                inst.key.interface
            );
        }
        let src = match inst.vcfg.src_ip {
            Some(a) => Some(a),
            None => inst
                .ifindex
                .and_then(|x| self.primary_address(x, inst.key.family)),
        };
        let trackers = inst.core.config().trackers.clone();
        self.insts[i].src = src;
        self.drive(sched, id, Input::Interface { up });
        self.drive(sched, id, Input::SourceAddress(src));
        for t in trackers {
            let status = match t.kind {
                TrackKind::Script => self.trackers.script_status(&t.name),
                TrackKind::File => self.trackers.file_status(&t.name),
                TrackKind::Process => self.processes.status(&t.name),
                TrackKind::Interface => {
                    let up = self
                        .ifindex_of(&t.name)
                        .and_then(|x| self.links.get(&x))
                        .is_some_and(|l| l.is_up());
                    if up {
                        vrrp::TrackStatus::Up
                    } else {
                        vrrp::TrackStatus::Down
                    }
                }
                _ => continue,
            };
            self.drive(
                sched,
                id,
                Input::Tracker {
                    kind: t.kind,
                    name: t.name.clone(),
                    status,
                },
            );
        }
        self.drive(sched, id, Input::Startup);
    }

    fn setup_groups(&mut self) {
        let cfg = self.cfg.clone();
        let mut groups = std::collections::HashMap::new();
        for g in &cfg.vrrp_sync_groups {
            let state = self.groups.get(&g.name).map_or(State::Init, |o| o.state);
            groups.insert(
                g.name.clone(),
                Group {
                    members: g.group.clone(),
                    notify: map::notify_scripts(&cfg, &g.notify),
                    smtp: g
                        .smtp_alert
                        .or(cfg.global.smtp_alert_vrrp)
                        .or(cfg.global.smtp_alert)
                        .unwrap_or(false),
                    state,
                },
            );
        }
        self.groups = groups;
    }

    /// First configuration: create and start every instance.
    pub(crate) fn start(&mut self, sched: &mut Sched, cfg: &Config) {
        self.apply_statics(None, cfg);
        self.setup_firewall(&cfg.vrrp_instances);
        self.insts.reserve_exact(cfg.vrrp_instances.len());
        for vi in &cfg.vrrp_instances {
            let inst = self.build_inst(cfg, vi);
            self.insts.push(inst);
        }
        self.setup_groups();
        self.setup_trackers(sched);
        self.setup_processes(sched);
        self.arm_wall_clock(sched);
        self.rebuild_vip_set();
        let delay = cfg.global.vrrp_startup_delay.as_duration();
        if delay.is_zero() {
            self.start_all(sched);
        } else {
            log::info!("Delaying startup for {} seconds", delay.as_secs_f64());
            let t = sched.timer_after(delay);
            self.timer_owner
                .insert(t, crate::runtime::TimerOwner::Startup);
        }
        self.arm_runner_timer(sched);
        // VIPs of address owners (MASTER at once) were queued.
        self.flush_round(sched);
    }

    /// Starts every instance still in INIT (after `vrrp_startup_delay`).
    pub(crate) fn start_all(&mut self, sched: &mut Sched) {
        let ids: Vec<u64> = self
            .insts
            .iter()
            .filter(|i| i.core.state() == State::Init)
            .map(|i| i.id)
            .collect();
        for id in ids {
            self.start_inst(sched, id);
        }
    }

    /// SIGHUP: apply `new` in place.
    pub(crate) fn reload(&mut self, sched: &mut Sched, new: &Config) {
        let old = std::mem::replace(
            &mut self.cfg,
            std::sync::Arc::new(crate::runtime::vrrp_view(new)),
        );
        self.apply_statics(Some(&old), new);
        self.setup_firewall(&new.vrrp_instances);
        self.notifier.reconfigure(new);
        // Removed instances.
        let gone: Vec<u64> = self
            .insts
            .iter()
            .filter(|i| {
                !new.vrrp_instances
                    .iter()
                    .any(|v| map::key_of(new, v) == i.key)
            })
            .map(|i| i.id)
            .collect();
        for id in gone {
            if let Some(i) = self.idx(id) {
                log::info!(
                    "({}) removed by the reload - stopping",
                    self.insts[i].vcfg.name
                );
                self.insts[i].deleting = true;
                self.insts[i].group = None;
            }
            self.drive(sched, id, Input::Shutdown);
            // Its VIPs go before its VMAC does.
            self.flush_addrs();
            if let Some(i) = self.idx(id) {
                self.remove_vmac(i);
                self.drop_timers(sched, i);
                self.insts.remove(i);
            }
        }
        // Kept and new instances.
        let mut fresh = Vec::new();
        for vi in &new.vrrp_instances {
            let key = map::key_of(new, vi);
            match self.insts.iter().position(|i| i.key == key) {
                Some(i) => self.reload_inst(sched, i, new, vi),
                None => {
                    let inst = self.build_inst(new, vi);
                    fresh.push(inst.id);
                    self.insts.push(inst);
                }
            }
        }
        self.setup_groups();
        self.setup_trackers(sched);
        self.setup_processes(sched);
        self.arm_wall_clock(sched);
        self.rebuild_vip_set();
        for id in fresh {
            self.start_inst(sched, id);
        }
        let used: Vec<(u32, vrrp::wire::Family)> = self
            .insts
            .iter()
            .enumerate()
            .filter_map(|(n, i)| self.rx_ifindex(n).map(|x| (x, i.key.family)))
            .collect();
        self.socks.retain_rx(sched.registry(), &used);
        self.arm_runner_timer(sched);
        self.flush_round(sched);
    }

    fn reload_inst(
        &mut self,
        sched: &mut Sched,
        i: usize,
        new: &Config,
        vi: &config::VrrpInstance,
    ) {
        let fresh = self.build_inst(new, vi);
        if fresh.disabled {
            log::error!(
                "({}) reload not applied: its auth_hmac key cannot be used",
                vi.name
            );
            return;
        }
        // A changed VMAC is replaced before the VIP lines (which name it) are
        // compared.
        self.reload_vmac(i, fresh.vmac.clone());
        let id = self.insts[i].id;
        let old_vips = std::mem::replace(&mut self.insts[i].vips, fresh.vips.clone());
        let master = self.insts[i].core.vips_set();
        if master {
            // Remove the lines that went away, add the new ones.
            let removed: Vec<_> = old_vips
                .iter()
                .filter(|v| !fresh.vips.contains(v))
                .cloned()
                .collect();
            for v in removed {
                if let Some(x) = self.ifindex_of(&v.dev) {
                    let mut a = v.addr.clone();
                    a.ifindex = x;
                    log::info!("({}) Removing VIP {} (reload)", vi.name, a.addr);
                    let _ = self.rtnl.del_address(&a);
                }
            }
            let added: Vec<_> = fresh
                .vips
                .iter()
                .filter(|v| !old_vips.contains(v))
                .cloned()
                .collect();
            for v in added {
                if let Some(x) = self.ifindex_of(&v.dev) {
                    let mut a = v.addr.clone();
                    a.ifindex = x;
                    log::info!("({}) Setting VIP {} on {} (reload)", vi.name, a.addr, v.dev);
                    let _ = self.rtnl.add_address(&a);
                }
            }
        }
        if master {
            self.reload_virtual_routes(i, vi);
        }
        let inst = &mut self.insts[i];
        inst.vcfg = fresh.vcfg;
        inst.group = fresh.group;
        inst.notify = fresh.notify;
        inst.smtp = fresh.smtp;
        inst.prio_changes = fresh.prio_changes;
        let ic = fresh.core.config().clone();
        if let Some(a) = ic.src_addr {
            inst.src = Some(a);
        }
        self.drive(sched, id, Input::Reload(Box::new(ic)));
        self.open_sockets_for(sched, id);
    }

    /// Stop: priority 0 from masters, VIPs removed (unless
    /// `--dont-release-vrrp`), STOP notifications run (bounded).
    ///
    /// Every master's priority-0 advert leaves before any VIP is removed:
    /// the removals are queued and sent as one netlink batch after the
    /// last advert, so with 200 instances the last priority 0 does not wait
    /// for 199 netlink round trips.
    pub(crate) fn shutdown(&mut self, sched: &mut Sched) {
        self.flush_addrs();
        self.stopping = true;
        let ids: Vec<u64> = self.insts.iter().map(|i| i.id).collect();
        for id in ids {
            self.drive(sched, id, Input::Shutdown);
        }
        self.flush_addrs();
        if !self.flags.dont_release_vrrp {
            for i in 0..self.insts.len() {
                self.remove_vmac(i);
            }
            self.remove_statics();
        }
        self.remove_firewall();
        self.trackers.kill_all();
        self.notifier.drain(Duration::from_secs(5));
    }
}

/// The wall clock in µs since the Unix epoch (0 before 1970).
fn unix_micros_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// How often `auth_hmac` instances read the wall clock (a disagreement is
/// followed once it lasted 300 s, see `vrrp::auth_hmac`).
const WALL_CLOCK_EVERY: Duration = Duration::from_secs(5);

impl Runtime {
    /// Keeps the wall-clock timer running exactly while some instance uses
    /// `auth_hmac` (start and every reload).
    pub(crate) fn arm_wall_clock(&mut self, sched: &mut Sched) {
        let wanted = self
            .insts
            .iter()
            .any(|i| i.core.config().auth_hmac.is_some());
        match (wanted, self.wall_timer) {
            (true, None) => {
                let t = sched.timer_after(WALL_CLOCK_EVERY);
                self.timer_owner
                    .insert(t, crate::runtime::TimerOwner::WallClock);
                self.wall_timer = Some(t);
            }
            (false, Some(t)) => {
                sched.cancel(t);
                self.timer_owner.remove(&t);
                self.wall_timer = None;
            }
            _ => {}
        }
    }

    /// The wall-clock timer fired: every `auth_hmac` instance reads the clock.
    pub(crate) fn read_wall_clock(&mut self, sched: &mut Sched, t: TimerId) {
        sched.rearm_after(t, WALL_CLOCK_EVERY);
        let now = self.now();
        let wall = unix_micros_now();
        for i in &mut self.insts {
            if let Some(l) = i.core.set_wall_clock(now, wall) {
                log::info!("{}", l.text);
            }
        }
    }
}
