//! `use_vmac` (keepalived `vrrp_vmac.c`, `vrrp_if_config.c`): a macvlan in
//! private mode on the instance's interface with the RFC 5798 virtual MAC
//! 00:00:5e:00:01:VRID (IPv6 00:00:5e:00:02:VRID), carrying the VIPs.
//!
//! * Created (or adopted when a macvlan of that name already sits on the
//!   same base interface) before the instance starts; brought up.
//! * IPv4 sysctls as upstream: on the VMAC `arp_ignore=1`, `accept_local=1`,
//!   `rp_filter=0`; on the base interface `arp_ignore=1`, `arp_filter=1`
//!   (so the base never answers ARP for a VIP with its own MAC) and, beyond
//!   upstream, `arp_announce=2`: replies from a VIP leave through the base
//!   (its connected route comes first), and its ARP requests would
//!   otherwise carry the VIP as sender address with the base MAC, which
//!   rewrites the client's ARP entry for the VIP (seen in the namespace
//!   test). The base's previous values are restored when the last VMAC on
//!   it goes away.
//! * An IPv4 VMAC has IPv6 off (`addr_gen_mode=1`, `disable_ipv6=1`), as
//!   keepalived 2.2.7 (observed).
//! * IPv6 (observed on keepalived 2.2.7 in a namespace): no IPv4 sysctl is
//!   touched; the VMAC has `addrgenmode none` (no EUI-64 address of the
//!   virtual MAC) and carries the base interface's link-local address,
//!   `nodad`, preferred lifetime 0 (`deprecated`), so adverts leave the
//!   VMAC with the base's link-local source as RFC 5798 wants.
//! * VIP lines without `dev` (or with `dev <base>` / `use_vmac`) are put on
//!   the VMAC; GARPs / unsolicited NAs for them leave from the VMAC with
//!   the virtual MAC.
//! * Adverts (IPv4 and IPv6) leave through the VMAC (source MAC = virtual
//!   MAC) unless `vmac_xmit_base`; adverts are received on the VMAC.
//! * keepalived's nftables VMAC rules (IGMP/MLD reports from the VMAC sent
//!   from the base instead, IPv6 router solicitations from it dropped) are
//!   added with the VMAC and its map entry removed with it.
//! * Deleted when the instance stops (not with `--dont-release-vrrp`, which
//!   keeps the VIPs, hence the VMAC too).

use std::net::{IpAddr, Ipv6Addr};

use netlink::{AddOutcome, DelOutcome, MacvlanMode};
use vrrp::wire::Family;

use crate::runtime::Runtime;

/// The VMAC of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vmac {
    /// Interface name (`vrrp.VRID` by default).
    pub name: String,
    /// Its hardware address.
    pub mac: [u8; 6],
    /// `vmac_xmit_base`: adverts leave from the base interface.
    pub xmit_base: bool,
    /// Its interface index once created.
    pub ifindex: Option<u32>,
}

/// The RFC 4291 §2.5.1 modified EUI-64 link-local address of `mac`
/// (what the kernel gives an interface with `addrgenmode eui64`).
pub fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([mac[0] ^ 0x02, mac[1]]),
        u16::from_be_bytes([mac[2], 0xff]),
        u16::from_be_bytes([0xfe, mac[3]]),
        u16::from_be_bytes([mac[4], mac[5]]),
    )
}

/// The RFC 5798 §7.3 virtual MAC of `vrid` for `family`.
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let kind = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid]
}

/// The VMAC settings of an instance (`None` without `use_vmac`; boxed,
/// most instances have none).
pub fn vmac_of(cfg: &config::Config, vi: &config::VrrpInstance) -> Option<Box<Vmac>> {
    let v = vi.use_vmac.as_ref()?;
    let family = crate::map::family_of(vi);
    Some(Box::new(Vmac {
        name: v
            .name
            .clone()
            .unwrap_or_else(|| format!("{}.{}", cfg.global.vmac_prefix, vi.virtual_router_id)),
        mac: v
            .mac
            .unwrap_or_else(|| virtual_mac(family, vi.virtual_router_id)),
        xmit_base: v.xmit_base,
        ifindex: None,
    }))
}

/// Formats a MAC as `00:00:5e:00:01:33`.
pub fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A base-interface sysctl changed by us, with its previous value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedSysctl {
    pub ifname: String,
    pub key: &'static str,
    pub old: String,
}

impl Runtime {
    /// Creates (or adopts) the VMAC of instance `i`, sets its sysctls and
    /// brings it up. Returns false when it could not be created.
    pub(crate) fn setup_vmac(&mut self, i: usize) -> bool {
        let Some(vm) = self.insts[i].vmac.clone() else {
            return true;
        };
        let name = self.insts[i].vcfg.name.clone();
        let base = self.insts[i].key.interface.clone();
        let Some(base_idx) = self.insts[i].ifindex else {
            log::info!(
                "({name}): Unable to create VMAC interface {} - {base} does not exist",
                vm.name
            );
            return false;
        };
        match self.rtnl.link_by_name(&vm.name) {
            Ok(l) if l.kind.as_deref() == Some("macvlan") && l.parent == Some(base_idx) => {
                log::info!(
                    "({name}): VMAC interface {} already exists - using it",
                    vm.name
                );
            }
            Ok(_) => {
                log::info!(
                    "({name}): Unable to create VMAC interface {} - an interface of that name exists",
                    vm.name
                );
                return false;
            }
            Err(_) => match self
                .rtnl
                .add_macvlan(base_idx, &vm.name, vm.mac, MacvlanMode::Private)
            {
                Ok(AddOutcome::Added) | Ok(AddOutcome::AlreadyPresent) => {
                    log::info!("({name}): Success creating VMAC interface {}", vm.name);
                }
                Err(e) => {
                    log::info!("({name}): Unable to create VMAC interface {}: {e}", vm.name);
                    return false;
                }
            },
        }
        let link = match self.rtnl.link_by_name(&vm.name) {
            Ok(l) => l,
            Err(e) => {
                log::info!("({name}): Unable to find VMAC interface {}: {e}", vm.name);
                return false;
            }
        };
        let idx = link.index;
        if let Some(v) = self.insts[i].vmac.as_mut() {
            v.ifindex = Some(idx);
        }
        log::debug!("({name}) VMAC {} has MAC {}", vm.name, mac_text(&vm.mac));
        self.links.insert(idx, link);
        if self.insts[i].key.family == Family::V4 {
            self.vmac_ipv4_sysctls(i, &vm.name, &base);
            // keepalived 2.2.7 turns IPv6 off on an IPv4 VMAC (observed:
            // `addrgenmode none`, `disable_ipv6 = 1`): no link-local, no
            // MLD report or neighbour solicitation ever leaves with the
            // virtual MAC, which would move it to a backup's switch port.
            // Absent when IPv6 is off in the kernel: nothing to do then.
            for (key, value) in [("addr_gen_mode", "1"), ("disable_ipv6", "1")] {
                if let Err(e) = netlink::set_if_sysctl(netlink::Family::V6, &vm.name, key, value) {
                    log::debug!("({name}) Unable to set {key}={value} on {}: {e}", vm.name);
                }
            }
        } else {
            // No address of its own (keepalived creates it with
            // IFLA_INET6_ADDR_GEN_MODE none: `addrgenmode none`): the kernel
            // must not give it an EUI-64 link-local from the virtual MAC.
            if let Err(e) =
                netlink::set_if_sysctl(netlink::Family::V6, &vm.name, "addr_gen_mode", "1")
            {
                log::info!("({name}) Unable to set addr_gen_mode=1 on {}: {e}", vm.name);
            }
        }
        // The nftables rules before the VMAC is up and has an address: the
        // kernel sends a router solicitation and MLD reports as soon as its
        // link-local is usable (seen in the namespace test when the rules
        // came after).
        self.vmac_firewall(i, idx, base_idx, true);
        if let Err(e) = self.rtnl.set_link_up(idx, true) {
            log::info!(
                "({name}) Unable to bring VMAC interface {} up: {e}",
                vm.name
            );
        }
        if self.insts[i].key.family == Family::V6 {
            self.vmac_link_local(i, idx, base_idx, &vm.name);
        }
        if let Ok(l) = self.rtnl.link_by_index(idx) {
            self.links.insert(idx, l);
        }
        true
    }

    /// IPv4 VMAC sysctls: on the VMAC `arp_ignore=1`, `accept_local=1`,
    /// `rp_filter=0`; on the base `arp_ignore=1`, `arp_filter=1`,
    /// `arp_announce=2` (previous values saved for the exit).
    fn vmac_ipv4_sysctls(&mut self, i: usize, vmac: &str, base: &str) {
        let name = self.insts[i].vcfg.name.clone();
        let v4 = netlink::Family::V4;
        for (key, value) in [
            ("arp_ignore", "1"),
            ("accept_local", "1"),
            ("rp_filter", "0"),
        ] {
            if let Err(e) = netlink::set_if_sysctl(v4, vmac, key, value) {
                log::info!("({name}) Unable to set {key}={value} on {vmac}: {e}");
            }
        }
        for (key, value) in [
            ("arp_ignore", "1"),
            ("arp_filter", "1"),
            ("arp_announce", "2"),
        ] {
            match netlink::set_if_sysctl(v4, base, key, value) {
                Ok(old) => {
                    if !self
                        .saved_sysctls
                        .iter()
                        .any(|s| s.ifname == base && s.key == key)
                    {
                        self.saved_sysctls.push(SavedSysctl {
                            ifname: base.to_string(),
                            key,
                            old,
                        });
                    }
                }
                Err(e) => log::info!("({name}) Unable to set {key}={value} on {base}: {e}"),
            }
        }
    }

    /// IPv6 VMAC: the base interface's link-local address is added to the
    /// VMAC (`nodad`, preferred lifetime 0 so it is never chosen as a
    /// source by anything else), as keepalived 2.2.7 does: adverts leave
    /// the VMAC with the same source address as from the base (RFC 5798
    /// §5.1.2.1: the link-local address of the interface), and the
    /// kernel accepts that source on the VMAC (a link-local source must be
    /// an address of the sending interface). Without a link-local on the
    /// base, the modified EUI-64 of the base MAC is used.
    fn vmac_link_local(&mut self, i: usize, idx: u32, base_idx: u32, vmac: &str) {
        let name = self.insts[i].vcfg.name.clone();
        // The base's link-local, even while DAD still runs on it (the
        // advert source is that address once DAD completes).
        let base_ll = self
            .rtnl
            .addresses(Some(netlink::Family::V6), Some(base_idx))
            .ok()
            .and_then(|v| {
                v.iter().find_map(|a| match a.addr {
                    IpAddr::V6(x)
                        if x.segments()[0] & 0xffc0 == 0xfe80
                            && !self.vip_set.contains(&a.addr) =>
                    {
                        Some(x)
                    }
                    _ => None,
                })
            });
        let ll = base_ll.or_else(|| {
            self.links
                .get(&base_idx)
                .and_then(|l| l.mac)
                .map(eui64_link_local)
        });
        let Some(ll) = ll else {
            log::info!("({name}) Unable to find a link-local address for {vmac}");
            return;
        };
        let mut a = netlink::IfAddr::new(idx, IpAddr::V6(ll), 64);
        a.flags = netlink::AddrFlags::NODAD;
        a.preferred_lft = Some(0);
        match self.rtnl.add_address(&a) {
            Ok(_) => log::info!("Assigned address {ll} for interface {vmac}"),
            Err(e) => log::info!("({name}) Unable to add {ll} to {vmac}: {e}"),
        }
    }

    /// keepalived's nftables VMAC rules (`nft::Nft::add_vmac`): IGMP /
    /// MLD reports the kernel sends from the VMAC leave from the base
    /// interface instead, router solicitations from an IPv6 VMAC are
    /// dropped, so a BACKUP never sends a frame from the virtual MAC. The
    /// table is opened here when no strict/no_accept instance opened it
    /// (keepalived logs the same line for use_vmac), and removed at exit
    /// with the others. Not done with `vrrp_iptables` (not implemented).
    fn vmac_firewall(&mut self, i: usize, vmac: u32, base: u32, add: bool) {
        if self.cfg.global.vrrp_iptables.is_some() {
            return;
        }
        let name = self.insts[i].vcfg.name.clone();
        let family = match self.insts[i].key.family {
            Family::V4 => nft::Family::Ipv4,
            Family::V6 => nft::Family::Ipv6,
        };
        if self.nft.is_none() {
            if !add {
                return;
            }
            self.nft = self.open_nft();
        }
        let Some(n) = self.nft.as_mut() else { return };
        let link = nft::VmacLink { family, vmac, base };
        let r = if add {
            n.add_vmac(link)
        } else {
            n.del_vmac(link)
        };
        match r {
            Ok(()) => {
                if add && !self.nft_families.contains(&family) {
                    self.nft_families.push(family);
                }
            }
            Err(e) => log::info!("({name}) Unable to set the VMAC firewall rules: {e}"),
        }
    }

    /// The interface instance `i` receives adverts on: its VMAC when it has
    /// one (a peer's advert carries the same virtual MAC as our VMAC, so the
    /// macvlan driver hands it to the VMAC only, never to the base), else
    /// its interface.
    pub(crate) fn rx_ifindex(&self, i: usize) -> Option<u32> {
        let inst = &self.insts[i];
        match inst.vmac.as_deref() {
            Some(Vmac {
                ifindex: Some(x), ..
            }) => Some(*x),
            _ => inst.ifindex,
        }
    }

    /// The interface instance `i` sends adverts on: its VMAC without
    /// `vmac_xmit_base` (IPv4 and IPv6, as keepalived 2.2.7), else its
    /// interface.
    pub(crate) fn tx_ifindex(&self, i: usize) -> Option<u32> {
        let inst = &self.insts[i];
        match &inst.vmac {
            Some(vm) if !vm.xmit_base => self.ifindex_of(&vm.name),
            _ => inst.ifindex,
        }
    }

    /// Reload: instance `i`'s VMAC settings become `new` ([`vmac_of`] on the
    /// new configuration). Same name, MAC and `vmac_xmit_base`: nothing
    /// happens. Otherwise the old VMAC goes (with the addresses on it) and
    /// the new one is created, before the VIP lines are compared (they name
    /// the VMAC). Returns whether anything changed.
    pub(crate) fn reload_vmac(&mut self, i: usize, new: Option<Box<Vmac>>) -> bool {
        let same = match (&self.insts[i].vmac, &new) {
            (None, None) => true,
            (Some(a), Some(b)) => a.name == b.name && a.mac == b.mac && a.xmit_base == b.xmit_base,
            _ => false,
        };
        if same {
            return false;
        }
        self.remove_vmac(i);
        self.insts[i].vmac = new;
        if self.insts[i].vmac.is_some() {
            self.setup_vmac(i);
        }
        true
    }

    /// Deletes the VMAC of instance `i` (its VIPs are gone already) and
    /// restores the base sysctls when no other VMAC uses that base.
    pub(crate) fn remove_vmac(&mut self, i: usize) {
        let Some(vm) = self.insts[i].vmac.take() else {
            return;
        };
        let name = self.insts[i].vcfg.name.clone();
        let base = self.insts[i].key.interface.clone();
        if let Some(idx) = self.ifindex_of(&vm.name) {
            if let Some(b) = self.insts[i].ifindex {
                self.vmac_firewall(i, idx, b, false);
            }
            match self.rtnl.del_link(idx) {
                Ok(DelOutcome::Deleted) => {
                    log::info!("({name}) Success removing VMAC interface {}", vm.name);
                }
                Ok(DelOutcome::NotPresent) => {}
                Err(e) => log::info!("({name}): Unable to remove VMAC interface {}: {e}", vm.name),
            }
            self.links.remove(&idx);
        }
        let others = self
            .insts
            .iter()
            .enumerate()
            .any(|(j, x)| j != i && x.vmac.is_some() && x.key.interface == base);
        if others {
            return;
        }
        let (restore, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.saved_sysctls)
            .into_iter()
            .partition(|s| *s.ifname == *base);
        self.saved_sysctls = keep;
        for s in restore {
            if let Err(e) = netlink::set_if_sysctl(netlink::Family::V4, &s.ifname, s.key, &s.old) {
                log::info!("Unable to restore {} on {}: {e}", s.key, s.ifname);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5798_virtual_macs() {
        assert_eq!(mac_text(&virtual_mac(Family::V4, 51)), "00:00:5e:00:01:33");
        assert_eq!(mac_text(&virtual_mac(Family::V6, 255)), "00:00:5e:00:02:ff");
    }

    #[test]
    fn eui64_link_local_as_the_kernel() {
        // eth0 02:00:00:00:0a:01 has fe80::ff:fe00:a01 (ip -6 addr).
        assert_eq!(
            eui64_link_local([0x02, 0, 0, 0, 0x0a, 0x01]).to_string(),
            "fe80::ff:fe00:a01"
        );
        assert_eq!(
            eui64_link_local([0, 0, 0x5e, 0, 2, 0x34]).to_string(),
            "fe80::200:5eff:fe00:234"
        );
    }

    #[test]
    fn vmac_name_and_vip_placement() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n use_vmac\n virtual_ipaddress {\n  192.0.2.200/24\n  192.0.2.201/24 dev eth1\n }\n}\n";
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k.conf");
        std::fs::write(&p, text).expect("write");
        let opts = config::LoadOptions {
            path: p,
            ..Default::default()
        };
        let cfg = config::load(&opts).expect("config").config;
        let vi = &cfg.vrrp_instances[0];
        let vm = vmac_of(&cfg, vi).expect("vmac");
        assert_eq!(vm.name, "vrrp.51");
        assert_eq!(vm.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert!(!vm.xmit_base);
        let lines = crate::map::vip_lines(&cfg, vi);
        assert_eq!(lines[0].dev, "vrrp.51");
        assert_eq!(lines[1].dev, "eth1");
    }
}
