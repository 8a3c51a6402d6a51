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

use netlink::{AddOutcome, DelOutcome, IfAddr};

use crate::runtime::Runtime;

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

    /// Adds every VIP and eVIP of instance `i`.
    pub(crate) fn add_vips(&mut self, i: usize) {
        let name = self.insts[i].vcfg.name.clone();
        log::debug!("({name}) setting VIPs.");
        for (dev, a) in self.resolved(i) {
            match self.rtnl.add_address(&a) {
                Ok(AddOutcome::Added) => {
                    log::debug!("({name}) Setting VIP {} on {dev}", a.addr);
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

    /// Removes every VIP and eVIP of instance `i`.
    pub(crate) fn remove_vips(&mut self, i: usize) {
        let name = self.insts[i].vcfg.name.clone();
        log::debug!("({name}) removing VIPs.");
        for (dev, a) in self.resolved(i) {
            match self.rtnl.del_address(&a) {
                Ok(DelOutcome::Deleted) => {
                    log::debug!("({name}) Removing VIP {} from {dev}", a.addr);
                }
                Ok(DelOutcome::NotPresent) => {}
                Err(e) => log::info!("({name}) Unable to remove VIP {} from {dev}: {e}", a),
            }
        }
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
