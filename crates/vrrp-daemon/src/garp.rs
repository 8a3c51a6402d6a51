//! Gratuitous ARP / unsolicited NA bursts, paced per interface by
//! `vrrp_garp_interval` / `vrrp_gna_interval` (zero: sent at once).
//!
//! Frames go out in round order (every VIP's first GARP before any VIP's
//! second) and at most [`BUDGET`] per loop turn: when 200 instances become
//! MASTER together, the 1,000 frames of their bursts do not hold up the
//! master-down timers of the instances that are due next.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use sched::{Sched, TimerId};

use crate::runtime::{Runtime, TimerOwner};

/// Frames sent per loop turn; the rest follow on a zero-delay timer.
const BUDGET: usize = 64;

/// One frame to send.
#[derive(Debug, Clone)]
struct Item {
    /// Which repeat of the burst (0 = first).
    round: u32,
    ifindex: u32,
    ifname: String,
    mac: [u8; 6],
    addr: IpAddr,
    gap: Duration,
}

/// Frames waiting for their interface's pacing gap.
#[derive(Debug, Default)]
pub struct GarpQueue {
    items: VecDeque<Item>,
    next_ok: HashMap<(u32, bool), Instant>,
    timer: Option<TimerId>,
}

impl Runtime {
    /// Queues `repeat` rounds over every VIP and eVIP of instance `i`.
    pub(crate) fn queue_gratuitous(&mut self, sched: &mut Sched, i: usize, repeat: u32) {
        let name = self.insts[i].vcfg.name.clone();
        let garp = self.insts[i].vcfg.garp.clone();
        let mut round = Vec::new();
        for v in &self.insts[i].vips {
            let Some(idx) = self.ifindex_of(&v.dev) else {
                continue;
            };
            let Some(link) = self.links.get(&idx) else {
                continue;
            };
            if link.is_noarp() {
                continue;
            }
            let Some(mac) = link.mac else { continue };
            let v6 = v.addr.addr.is_ipv6();
            if v6 {
                log::info!(
                    "({name}) Sending/queueing Unsolicited Neighbour Adverts on {} for {}",
                    v.dev,
                    v.addr.addr
                );
            } else {
                log::info!(
                    "({name}) Sending/queueing gratuitous ARPs on {} for {}",
                    v.dev,
                    v.addr.addr
                );
            }
            round.push(Item {
                round: 0,
                ifindex: idx,
                ifname: v.dev.clone(),
                mac,
                addr: v.addr.addr,
                gap: if v6 {
                    garp.gna_interval.as_duration()
                } else {
                    garp.interval.as_duration()
                },
            });
        }
        for r in 0..repeat {
            self.garp
                .items
                .extend(round.iter().cloned().map(|it| Item { round: r, ..it }));
        }
        // VIPs still queued for the end of the round: the GARPs follow them
        // (`flush_round`).
        if self.pending_addrs.is_empty() {
            self.flush_gratuitous(sched);
        }
    }

    /// Sends what the pacing allows now; re-arms the pacing timer.
    pub(crate) fn flush_gratuitous(&mut self, sched: &mut Sched) {
        let now = Instant::now();
        let mut wait: Option<Instant> = None;
        let mut kept = VecDeque::new();
        let mut sent = 0;
        // Stable: within a round, the order the frames were queued in.
        self.garp.items.make_contiguous().sort_by_key(|it| it.round);
        while let Some(it) = self.garp.items.pop_front() {
            if sent == BUDGET {
                // The rest after the loop's other due work.
                kept.push_back(it);
                wait = Some(now);
                continue;
            }
            let key = (it.ifindex, it.addr.is_ipv6());
            let ok_at = self.garp.next_ok.get(&key).copied();
            if let Some(t) = ok_at {
                if t > now
                    || kept
                        .iter()
                        .any(|k: &Item| (k.ifindex, k.addr.is_ipv6()) == key)
                {
                    wait = Some(wait.map_or(t, |w: Instant| w.min(t)));
                    kept.push_back(it);
                    continue;
                }
            }
            self.send_one(&it);
            sent += 1;
            if it.gap.is_zero() {
                self.garp.next_ok.remove(&key);
            } else {
                self.garp.next_ok.insert(key, now + it.gap);
            }
        }
        self.garp.items = kept;
        if let Some(at) = wait {
            let t = match self.garp.timer {
                Some(t) => t,
                None => {
                    let t = sched.timer_at(at);
                    self.timer_owner.insert(t, TimerOwner::Garp);
                    self.garp.timer = Some(t);
                    t
                }
            };
            sched.rearm_at(t, at);
        }
    }

    fn send_one(&self, it: &Item) {
        let Some(a) = &self.announcer else { return };
        match it.addr {
            IpAddr::V4(v4) => {
                log::debug!("Sending gratuitous ARP on {} for {}", it.ifname, v4);
                if let Err(e) = a.send_garp(it.ifindex, it.mac, v4) {
                    log::info!(
                        "Error sending gratuitous ARP on {} for {}: {e}",
                        it.ifname,
                        v4
                    );
                }
            }
            IpAddr::V6(v6) => {
                log::debug!(
                    "Sending unsolicited Neighbour Advert on {} for {}",
                    it.ifname,
                    v6
                );
                let router = netlink::ipv6_forwarding(&it.ifname).unwrap_or(false);
                if let Err(e) = a.send_na(it.ifindex, it.mac, v6, router) {
                    log::info!(
                        "Error sending unsolicited NA on {} for {}: {e}",
                        it.ifname,
                        v6
                    );
                }
            }
        }
    }
}
