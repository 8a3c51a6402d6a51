//! Reconciliation: the smallest list of IPVS operations that turns the
//! current kernel table into the desired one (pure, no I/O).
//!
//! Rules:
//! * a service is identified by its [`ServiceKey`], a destination by its
//!   [`DestKey`] within the service;
//! * a changed scheduler, flags, persistence timeout, granularity or persistence
//!   engine is an `EditService` (the kernel's SET_SERVICE changes them in place,
//!   keeping destinations and connections);
//! * a changed forwarding method, weight or threshold is an `EditDest`, never a
//!   delete and re-add (which would drop the destination's connections);
//! * stats and the kernel's `HASHED` flag are ignored.
//!
//! Order of the result: service deletions first (in the current table's order),
//! then, per desired service in the desired order, the service add or edit
//! followed by its destination deletions, edits and additions.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::types::*;

/// One IPVS change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// NEW_SERVICE.
    AddService(Service),
    /// SET_SERVICE.
    EditService(Service),
    /// DEL_SERVICE (its destinations go with it).
    DelService(ServiceKey),
    /// NEW_DEST.
    AddDest(ServiceKey, Destination),
    /// SET_DEST.
    EditDest(ServiceKey, Destination),
    /// DEL_DEST.
    DelDest(ServiceKey, DestKey),
}

/// What the reconciliation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Delete kernel services that are not in the desired table. With `false`,
    /// services someone else made are left alone (only desired ones are managed).
    pub remove_unknown_services: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            remove_unknown_services: true,
        }
    }
}

/// Compute the operations that make `current` equal to `desired`.
/// Duplicate keys in `desired` are resolved by the last occurrence winning.
pub fn diff(current: &[VirtualService], desired: &[VirtualService], opts: DiffOptions) -> Vec<Op> {
    let mut ops = Vec::new();
    let cur: HashMap<ServiceKey, &VirtualService> =
        current.iter().map(|v| (v.service.key, v)).collect();
    let want: HashMap<ServiceKey, &VirtualService> =
        desired.iter().map(|v| (v.service.key, v)).collect();

    if opts.remove_unknown_services {
        let mut seen = HashSet::new();
        for v in current {
            let k = v.service.key;
            if !want.contains_key(&k) && seen.insert(k) {
                ops.push(Op::DelService(k));
            }
        }
    }

    let mut done = HashSet::new();
    for v in desired {
        let k = v.service.key;
        if !done.insert(k) {
            continue;
        }
        // Last occurrence wins for duplicates.
        let v = want.get(&k).copied().unwrap_or(v);
        match cur.get(&k) {
            None => {
                ops.push(Op::AddService(strip_service(&v.service)));
                let mut added = HashSet::new();
                for d in v.dests.iter().rev() {
                    if added.insert(d.key) {
                        ops.push(Op::AddDest(k, strip_dest(d)));
                    }
                }
                // Reverse twice: last duplicate wins, desired order kept.
                let n = added.len();
                let start = ops.len() - n;
                ops[start..].reverse();
            }
            Some(c) => {
                if !c.service.same_settings(&v.service) {
                    ops.push(Op::EditService(strip_service(&v.service)));
                }
                diff_dests(k, &c.dests, &v.dests, &mut ops);
            }
        }
    }
    ops
}

fn diff_dests(k: ServiceKey, current: &[Destination], desired: &[Destination], ops: &mut Vec<Op>) {
    let cur: HashMap<DestKey, &Destination> = current.iter().map(|d| (d.key, d)).collect();
    let want: HashMap<DestKey, &Destination> = desired.iter().map(|d| (d.key, d)).collect();
    let mut seen = HashSet::new();
    for d in current {
        if !want.contains_key(&d.key) && seen.insert(d.key) {
            ops.push(Op::DelDest(k, d.key));
        }
    }
    let mut edits = Vec::new();
    let mut adds = Vec::new();
    let mut done = HashSet::new();
    for d in desired {
        if !done.insert(d.key) {
            continue;
        }
        let d = want.get(&d.key).copied().unwrap_or(d);
        match cur.get(&d.key) {
            None => adds.push(Op::AddDest(k, strip_dest(d))),
            Some(c) if !c.same_settings(d) => edits.push(Op::EditDest(k, strip_dest(d))),
            Some(_) => {}
        }
    }
    ops.extend(edits);
    ops.extend(adds);
}

fn strip_service(s: &Service) -> Service {
    Service {
        stats: None,
        flags: s.flags.configured(),
        ..s.clone()
    }
}

fn strip_dest(d: &Destination) -> Destination {
    Destination {
        stats: None,
        ..d.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn tcp(a: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip(a),
            port,
        }
    }
    fn vs(key: ServiceKey, sched: Scheduler, dests: Vec<Destination>) -> VirtualService {
        VirtualService {
            service: Service::new(key, sched),
            dests,
        }
    }
    fn rs(a: &str, w: u32) -> Destination {
        let mut d = Destination::new(ip(a), 80, Forward::Masq);
        d.weight = w;
        d
    }

    #[test]
    fn identical_tables_need_nothing_even_with_stats_and_hashed() {
        let want = vec![vs(
            tcp("192.0.2.1", 80),
            Scheduler::Wrr,
            vec![rs("198.51.100.1", 3)],
        )];
        let mut cur = want.clone();
        cur[0].service.flags = ServiceFlags::HASHED;
        cur[0].service.stats = Some(Stats {
            conns: 5,
            ..Stats::default()
        });
        cur[0].dests[0].stats = Some(DestStats {
            active_conns: 2,
            ..DestStats::default()
        });
        assert_eq!(diff(&cur, &want, DiffOptions::default()), vec![]);
    }

    #[test]
    fn weight_change_is_an_edit_not_delete_and_add() {
        let k = tcp("192.0.2.1", 80);
        let cur = vec![vs(
            k,
            Scheduler::Wrr,
            vec![rs("198.51.100.1", 1), rs("198.51.100.2", 1)],
        )];
        let want = vec![vs(
            k,
            Scheduler::Wrr,
            vec![rs("198.51.100.1", 1), rs("198.51.100.2", 0)],
        )];
        assert_eq!(
            diff(&cur, &want, DiffOptions::default()),
            vec![Op::EditDest(k, rs("198.51.100.2", 0))]
        );
    }

    #[test]
    fn new_service_brings_its_dests_in_order() {
        let k = tcp("192.0.2.1", 80);
        let want = vec![vs(
            k,
            Scheduler::Rr,
            vec![rs("198.51.100.1", 1), rs("198.51.100.2", 2)],
        )];
        assert_eq!(
            diff(&[], &want, DiffOptions::default()),
            vec![
                Op::AddService(Service::new(k, Scheduler::Rr)),
                Op::AddDest(k, rs("198.51.100.1", 1)),
                Op::AddDest(k, rs("198.51.100.2", 2)),
            ]
        );
    }

    #[test]
    fn scheduler_and_persistence_change_is_an_edit() {
        let k = tcp("192.0.2.1", 80);
        let cur = vec![vs(k, Scheduler::Rr, vec![rs("198.51.100.1", 1)])];
        let mut want = vec![vs(k, Scheduler::Wlc, vec![rs("198.51.100.1", 1)])];
        want[0].service.flags = ServiceFlags::PERSISTENT;
        want[0].service.timeout = 300;
        let ops = diff(&cur, &want, DiffOptions::default());
        assert_eq!(ops, vec![Op::EditService(want[0].service.clone())]);
    }

    #[test]
    fn removed_things_are_deleted_and_unknown_services_optionally_kept() {
        let k = tcp("192.0.2.1", 80);
        let other = ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 7,
        };
        let cur = vec![
            vs(other, Scheduler::Sh, vec![]),
            vs(
                k,
                Scheduler::Rr,
                vec![rs("198.51.100.1", 1), rs("198.51.100.9", 1)],
            ),
        ];
        let want = vec![vs(
            k,
            Scheduler::Rr,
            vec![rs("198.51.100.1", 1), rs("198.51.100.3", 1)],
        )];
        assert_eq!(
            diff(&cur, &want, DiffOptions::default()),
            vec![
                Op::DelService(other),
                Op::DelDest(k, rs("198.51.100.9", 1).key),
                Op::AddDest(k, rs("198.51.100.3", 1)),
            ]
        );
        let keep = DiffOptions {
            remove_unknown_services: false,
        };
        assert_eq!(diff(&cur, &want, keep).len(), 2);
    }

    #[test]
    fn forwarding_change_is_an_edit() {
        let k = tcp("192.0.2.1", 80);
        let cur = vec![vs(k, Scheduler::Rr, vec![rs("198.51.100.1", 1)])];
        let mut d = rs("198.51.100.1", 1);
        d.forward = Forward::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: 1,
        });
        let want = vec![vs(k, Scheduler::Rr, vec![d.clone()])];
        assert_eq!(
            diff(&cur, &want, DiffOptions::default()),
            vec![Op::EditDest(k, d)]
        );
    }

    #[test]
    fn duplicates_in_desired_last_one_wins() {
        let k = tcp("192.0.2.1", 80);
        let want = vec![vs(
            k,
            Scheduler::Rr,
            vec![rs("198.51.100.1", 1), rs("198.51.100.1", 5)],
        )];
        assert_eq!(
            diff(&[], &want, DiffOptions::default()),
            vec![
                Op::AddService(Service::new(k, Scheduler::Rr)),
                Op::AddDest(k, rs("198.51.100.1", 5)),
            ]
        );
    }
}
