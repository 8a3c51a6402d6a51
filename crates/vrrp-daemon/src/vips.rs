//! Virtual addresses: added on MASTER, removed on leaving it, watched
//! through netlink (the "reflector").
//!
//! Choices (documented in `notes/vrrp-daemon.md`):
//! * A VIP deleted by someone else while the instance is MASTER is added
//!   back at once (unless the line says `no_track`), with keepalived's
//!   `Netlink reflector reports IP ... removed from ...` line and our own;
//!   the instance is not demoted. keepalived 2.2.7 instead demotes itself
//!   (BACKUP, priority 0, VIPs removed) and a peer takes over, or it becomes
//!   MASTER again after the skew time when alone: a needless failover
//!   caused by an operator's typo, which this choice avoids.
//! * At start-up, VIPs of ours already present on an interface (left by a
//!   crashed previous run) are removed, as keepalived does in
//!   `vrrp_init_state` (it always starts BACKUP), except for an address
//!   owner (priority 255) that wants MASTER: it becomes MASTER within
//!   microseconds, so it adopts them instead of flapping them.

//!
//! Batching: VIP additions asked for while the loop handles one round of
//! events (the master-down timers of 200 instances) and the removals of
//! a shutdown (after every priority-0 advert) are queued in
//! [`Runtime::pending_addrs`] and sent as one netlink batch at the end of
//! the round (a zero-delay timer, or explicitly at shutdown/reload),
//! followed by the GARPs queued meanwhile: the last of 200 VIPs no longer
//! waits for 199 netlink round trips and 995 GARPs. A master stepping down
//! for a peer's advert removes its VIPs at once. Anything that uses the
//! netlink socket synchronously flushes the queue first
//! ([`Runtime::flush_addrs`]).

use netlink::{AddOutcome, AddrChange, Applied, DelOutcome, IfAddr};
use sched::Sched;

use crate::runtime::{Runtime, TimerOwner};

/// A VIP change waiting for the end of the loop round.
#[derive(Debug)]
pub(crate) struct PendingAddr {
    /// Instance name (logs).
    pub name: std::sync::Arc<str>,
    /// Interface name (logs).
    pub dev: String,
    /// The address, with its interface index.
    pub addr: IfAddr,
    /// Add or delete.
    pub change: AddrChange,
}

impl Runtime {
    fn resolved(&self, i: usize) -> Vec<(String, IfAddr)> {
        self.insts[i]
            .vips
            .iter()
            .filter_map(|v| {
                let idx = self.ifindex_of(&v.dev)?;
                let mut a = v.addr.clone();
                a.ifindex = idx;
                Some((v.dev.clone(), a))
            })
            .collect()
    }

    /// Adds every VIP and eVIP of instance `i`: at the end of the loop
    /// round when `defer`, else now (after what is queued).
    pub(crate) fn add_vips(&mut self, i: usize, defer: bool) {
        let name = self.insts[i].vcfg.name.clone();
        log::debug!("({name}) setting VIPs.");
        if !defer {
            self.flush_addrs();
        }
        for (dev, a) in self.resolved(i) {
            if defer {
                self.pending_addrs.push(PendingAddr {
                    name: name.clone(),
                    dev,
                    addr: a,
                    change: AddrChange::Add,
                });
                continue;
            }
            match self.rtnl.add_address(&a) {
                Ok(AddOutcome::Added) => {
                    log::trace!("({name}) Setting VIP {} on {dev}", a.addr);
                }
                Ok(AddOutcome::AlreadyPresent) => {
                    log::debug!("({name}) VIP {} already present on {dev}", a.addr);
                }
                Err(e) => log::info!("({name}) Unable to add VIP {} on {dev}: {e}", a),
            }
        }
        if self.insts[i]
            .vips
            .iter()
            .any(|v| self.ifindex_of(&v.dev).is_none())
        {
            log::info!("({name}) some VIPs are on interfaces that do not exist");
        }
    }

    /// Removes every VIP and eVIP of instance `i`: at the end of the loop
    /// round when `defer`, else now (after what is queued).
    pub(crate) fn remove_vips(&mut self, i: usize, defer: bool) {
        let name = self.insts[i].vcfg.name.clone();
        log::debug!("({name}) removing VIPs.");
        if !defer {
            self.flush_addrs();
        }
        for (dev, a) in self.resolved(i) {
            if defer {
                self.pending_addrs.push(PendingAddr {
                    name: name.clone(),
                    dev,
                    addr: a,
                    change: AddrChange::Delete,
                });
                continue;
            }
            match self.rtnl.del_address(&a) {
                Ok(DelOutcome::Deleted) => {
                    log::trace!("({name}) Removing VIP {} from {dev}", a.addr);
                }
                Ok(DelOutcome::NotPresent) => {}
                Err(e) => log::info!("({name}) Unable to remove VIP {} from {dev}: {e}", a),
            }
        }
    }

    /// Arms the zero-delay timer that ends the loop round.
    pub(crate) fn arm_flush(&mut self, sched: &mut Sched) {
        let now = std::time::Instant::now();
        match self.flush_timer {
            Some(t) => sched.rearm_at(t, now),
            None => {
                let t = sched.timer_at(now);
                self.timer_owner.insert(t, TimerOwner::Flush);
                self.flush_timer = Some(t);
            }
        }
    }

    /// Sends the queued VIP changes as one netlink batch and logs the
    /// failures (keepalived's wording of the one-by-one path).
    pub(crate) fn flush_addrs(&mut self) {
        if self.pending_addrs.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_addrs);
        let changes: Vec<(AddrChange, &IfAddr)> =
            pending.iter().map(|p| (p.change, &p.addr)).collect();
        let results = match self.rtnl.address_batch(&changes) {
            Ok(r) => r,
            Err(e) => {
                log::info!("Unable to change {} VIPs: {e}", pending.len());
                return;
            }
        };
        for (p, r) in pending.iter().zip(results) {
            let (name, dev, a) = (&p.name, &p.dev, &p.addr);
            match (p.change, r) {
                (AddrChange::Add, Ok(Applied::Changed)) => {
                    log::trace!("({name}) Setting VIP {} on {dev}", a.addr);
                }
                (AddrChange::Add, Ok(Applied::Unchanged)) => {
                    log::debug!("({name}) VIP {} already present on {dev}", a.addr);
                }
                (AddrChange::Add, Err(e)) => {
                    log::info!("({name}) Unable to add VIP {a} on {dev}: {e}");
                }
                (AddrChange::Delete, Ok(Applied::Changed)) => {
                    log::trace!("({name}) Removing VIP {} from {dev}", a.addr);
                }
                (AddrChange::Delete, Ok(Applied::Unchanged)) => {}
                (AddrChange::Delete, Err(e)) => {
                    log::info!("({name}) Unable to remove VIP {a} from {dev}: {e}");
                }
            }
        }
    }

    /// End of a loop round: the queued VIP changes, then the GARPs that
    /// waited for them.
    pub(crate) fn flush_round(&mut self, sched: &mut Sched) {
        self.flush_addrs();
        self.flush_gratuitous(sched);
    }

    /// Start-up: leftover VIPs of instance `i` from a previous run.
    pub(crate) fn handle_leftover_vips(&mut self, i: usize) {
        let name = self.insts[i].vcfg.name.clone();
        let adopt = self.insts[i].core.config().priority == 255
            && self.insts[i].core.config().initial_state == vrrp::InitialState::Master;
        let present = self.rtnl.addresses(None, None).unwrap_or_default();
        for (dev, a) in self.resolved(i) {
            let here = present
                .iter()
                .any(|p| p.ifindex == a.ifindex && p.addr == a.addr);
            if !here {
                continue;
            }
            if adopt {
                log::info!("({name}) Adopting VIP {} already present on {dev}", a.addr);
            } else {
                log::info!(
                    "({name}) Removing leftover VIP {} from {dev} (previous run)",
                    a.addr
                );
                let _ = self.rtnl.del_address(&a);
            }
        }
    }

    /// Netlink: an address disappeared. Re-add it if it is a tracked VIP
    /// of a MASTER.
    pub(crate) fn address_removed(&mut self, a: &IfAddr) {
        for i in 0..self.insts.len() {
            let inst = &self.insts[i];
            if inst.core.state() != vrrp::State::Master || !inst.core.vips_set() {
                continue;
            }
            let Some(line) = inst
                .vips
                .iter()
                .find(|v| v.addr.addr == a.addr && self.ifindex_of(&v.dev) == Some(a.ifindex))
            else {
                continue;
            };
            if line.no_track {
                continue;
            }
            let mut want = line.addr.clone();
            want.ifindex = a.ifindex;
            let name = inst.vcfg.name.clone();
            let dev = line.dev.clone();
            log::info!("Netlink reflector reports IP {} removed from {dev}", a.addr);
            log::info!(
                "({name}) VIP {} was removed by someone else - restoring it",
                a.addr
            );
            if let Err(e) = self.rtnl.add_address(&want) {
                log::info!("({name}) Unable to restore VIP {}: {e}", a.addr);
            }
        }
    }
}
