//! The `vrrp_strict` / `no_accept` firewall (keepalived
//! `vrrp_nftables.c`): while an instance that does not accept traffic for
//! its VIPs (priority < 255 without `accept`) is MASTER, its VIPs and eVIPs
//! are in the `vips` set of `table ip|ip6 keepalived`, whose chains drop
//! traffic to and from them. Programmed over NETLINK_NETFILTER by the `nft`
//! crate. The tables are created at start when any instance needs them and
//! removed at exit.
//!
//! The VMAC IGMP/MLD and router-solicitation rules are added by vmac.rs
//! (`Nft::add_vmac`). Not done: `vrrp_iptables` (ipsets).

use std::net::IpAddr;

use crate::runtime::Runtime;

impl Runtime {
    fn fw_vips(&self, i: usize) -> Vec<nft::Vip> {
        self.insts[i]
            .vips
            .iter()
            .map(|v| nft::Vip {
                addr: v.addr.addr,
                ifindex: self.ifindex_of(&v.dev).unwrap_or(0),
            })
            .collect()
    }

    /// Start: opens the tables when some instance needs them.
    pub(crate) fn setup_firewall(&mut self, instances: &[config::VrrpInstance]) {
        if self.cfg.global.vrrp_iptables.is_some() {
            return;
        }
        let needs: Vec<&config::VrrpInstance> = instances
            .iter()
            .filter(|v| v.needs_vip_firewall())
            .collect();
        if needs.is_empty() || self.nft.is_some() {
            return;
        }
        let mut fams = Vec::new();
        for v in &needs {
            for a in v
                .virtual_ipaddress
                .iter()
                .chain(v.virtual_ipaddress_excluded.iter())
            {
                let f = match a.addr {
                    IpAddr::V4(_) => nft::Family::Ipv4,
                    IpAddr::V6(_) => nft::Family::Ipv6,
                };
                if !fams.contains(&f) {
                    fams.push(f);
                }
            }
        }
        let Some(mut n) = self.open_nft() else { return };
        for f in &fams {
            if let Err(e) = n.ensure_table(*f) {
                log::error!("Unable to create nftables table {}: {e}", n.table());
            }
        }
        for v in &needs {
            log::info!("({}) removing firewall drop rule", v.name);
        }
        self.nft_families = fams;
        self.nft = Some(n);
    }

    /// Open keepalived's nftables table (the `nftables` name, else the
    /// default), with upstream's line when no firewall was configured; a
    /// failure is logged and gives `None`.
    pub(crate) fn open_nft(&self) -> Option<nft::Nft> {
        if self.cfg.global.nftables.is_none() {
            log::info!(
                "use_vmac or no_accept/strict specified, but no firewall configured - using nftables"
            );
        }
        let table = self
            .cfg
            .global
            .nftables
            .clone()
            .flatten()
            .unwrap_or_else(|| nft::DEFAULT_TABLE.to_string());
        match nft::Nft::open(&table, nft::DEFAULT_PRIORITY) {
            Ok(n) => Some(n),
            Err(e) => {
                log::error!("Unable to open nftables: {e}");
                None
            }
        }
    }

    /// The VIPs of instance `i` were added (MASTER).
    pub(crate) fn firewall_add(&mut self, i: usize) {
        if !self.insts[i].vcfg.needs_vip_firewall() {
            return;
        }
        let vips = self.fw_vips(i);
        let name = self.insts[i].vcfg.name.clone();
        if let Some(n) = self.nft.as_mut() {
            log::info!("({name}) setting firewall drop rule");
            if let Err(e) = n.add_vips(&vips) {
                log::info!("({name}) Unable to set the firewall drop rule: {e}");
            }
        }
    }

    /// The VIPs of instance `i` were removed.
    pub(crate) fn firewall_del(&mut self, i: usize) {
        if !self.insts[i].vcfg.needs_vip_firewall() {
            return;
        }
        let vips = self.fw_vips(i);
        let name = self.insts[i].vcfg.name.clone();
        if let Some(n) = self.nft.as_mut() {
            log::info!("({name}) removing firewall drop rule");
            if let Err(e) = n.del_vips(&vips) {
                log::info!("({name}) Unable to remove the firewall drop rule: {e}");
            }
        }
    }

    /// Exit: the tables go.
    pub(crate) fn remove_firewall(&mut self) {
        // Every family whose table the handle created: strict mode, VMAC
        // rules, and tables built on first use after a reload.
        let mut fams = std::mem::take(&mut self.nft_families);
        if let Some(mut n) = self.nft.take() {
            for f in n.families() {
                if !fams.contains(&f) {
                    fams.push(f);
                }
            }
            for f in fams {
                if let Err(e) = n.remove_table(f) {
                    log::info!("Unable to remove nftables table {}: {e}", n.table());
                }
            }
        }
    }
}
