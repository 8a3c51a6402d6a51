//! The runtime's copy of the kernel's IPVS table, kept compact: a
//! destination is its key, forwarding method, weight and thresholds (44
//! bytes instead of the 144 of an [`ipvs::Destination`] with its dump-only
//! counters). The full types are rebuilt one service at a time when a
//! service is compared with its desired state.

use std::collections::HashMap;

use ipvs::{DestKey, Destination, Forward, Op, Service, ServiceKey, VirtualService};

/// One destination as the mirror keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dest {
    key: DestKey,
    forward: Forward,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
}

impl Dest {
    fn of(d: &Destination) -> Dest {
        Dest {
            key: d.key,
            forward: d.forward,
            weight: d.weight,
            u_threshold: d.u_threshold,
            l_threshold: d.l_threshold,
        }
    }

    fn destination(&self) -> Destination {
        let mut d = Destination::new(self.key.addr, self.key.port, self.forward);
        d.weight = self.weight;
        d.u_threshold = self.u_threshold;
        d.l_threshold = self.l_threshold;
        d
    }
}

#[derive(Debug)]
struct Entry {
    service: Service,
    dests: Vec<Dest>,
}

impl Entry {
    fn virtual_service(&self) -> VirtualService {
        VirtualService {
            service: self.service.clone(),
            dests: self.dests.iter().map(Dest::destination).collect(),
        }
    }
}

/// The table as the runtime believes the kernel holds it.
#[derive(Debug, Default)]
pub struct Mirror {
    map: HashMap<ServiceKey, Entry>,
    order: Vec<ServiceKey>,
}

impl Mirror {
    /// Replaces the content with a table read from the kernel.
    pub fn load(&mut self, table: Vec<VirtualService>) {
        self.map.clear();
        self.order.clear();
        for v in table {
            self.order.push(v.service.key);
            let dests = v.dests.iter().map(Dest::of).collect();
            self.map.insert(
                v.service.key,
                Entry {
                    service: v.service,
                    dests,
                },
            );
        }
    }

    /// Whether the service is in the table.
    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.map.contains_key(key)
    }

    /// One service with its destinations, as `ipvs` types.
    pub fn get(&self, key: &ServiceKey) -> Option<VirtualService> {
        self.map.get(key).map(Entry::virtual_service)
    }

    /// Whether the service is in the table exactly as `desired` (same
    /// settings, same destinations in the same order): nothing to apply.
    pub fn same(&self, desired: &VirtualService) -> bool {
        self.map.get(&desired.service.key).is_some_and(|e| {
            e.service == desired.service
                && e.dests.len() == desired.dests.len()
                && e.dests
                    .iter()
                    .zip(&desired.dests)
                    .all(|(m, d)| *m == Dest::of(d))
        })
    }

    /// The weight of the destination `pred` selects in service `key`:
    /// `None` when the service is absent, `Some(None)` when the
    /// destination is.
    pub fn dest_weight(
        &self,
        key: &ServiceKey,
        pred: impl Fn(&DestKey) -> bool,
    ) -> Option<Option<u32>> {
        let e = self.map.get(key)?;
        Some(e.dests.iter().find(|d| pred(&d.key)).map(|d| d.weight))
    }

    /// Service keys in insertion order.
    pub fn keys(&self) -> &[ServiceKey] {
        &self.order
    }

    /// The whole table in insertion order.
    pub fn table(&self) -> Vec<VirtualService> {
        self.order
            .iter()
            .filter_map(|k| self.map.get(k).map(Entry::virtual_service))
            .collect()
    }

    /// Records an operation the kernel accepted (same effect as
    /// [`crate::backend::apply_to_map`]; operations that do not fit the
    /// table are ignored).
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::AddService(s) => {
                if !self.map.contains_key(&s.key) {
                    self.order.push(s.key);
                    self.map.insert(
                        s.key,
                        Entry {
                            service: s.clone(),
                            dests: Vec::new(),
                        },
                    );
                }
            }
            Op::EditService(s) => {
                if let Some(e) = self.map.get_mut(&s.key) {
                    e.service = s.clone();
                }
            }
            Op::DelService(k) => {
                if self.map.remove(k).is_some() {
                    self.order.retain(|x| x != k);
                }
            }
            Op::AddDest(k, d) => {
                if let Some(e) = self.map.get_mut(k) {
                    if !e.dests.iter().any(|x| x.key == d.key) {
                        e.dests.push(Dest::of(d));
                    }
                }
            }
            Op::EditDest(k, d) => {
                if let Some(x) = self
                    .map
                    .get_mut(k)
                    .and_then(|e| e.dests.iter_mut().find(|x| x.key == d.key))
                {
                    *x = Dest::of(d);
                }
            }
            Op::DelDest(k, dk) => {
                if let Some(e) = self.map.get_mut(k) {
                    e.dests.retain(|x| x.key != *dk);
                }
            }
        }
    }

    /// Gives back the room of destination lists that shrank.
    pub fn compact(&mut self) {
        for e in self.map.values_mut() {
            if e.dests.capacity() > e.dests.len() + e.dests.len() / 4 + 8 {
                e.dests.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs::{Protocol, Scheduler};

    fn key() -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.1".parse().unwrap(),
            port: 80,
        }
    }

    #[test]
    fn operations_and_round_trip_keep_every_setting() {
        let mut m = Mirror::default();
        let s = Service::new(key(), Scheduler::from_name("rr"));
        let mut d = Destination::new("198.51.100.1".parse().unwrap(), 8080, Forward::Masq);
        d.weight = 3;
        d.u_threshold = 10;
        d.l_threshold = 2;
        m.apply(&Op::AddService(s.clone()));
        m.apply(&Op::AddDest(key(), d.clone()));
        m.apply(&Op::AddDest(key(), d.clone()));
        let mut d2 = Destination::new("198.51.100.2".parse().unwrap(), 80, Forward::Route);
        d2.weight = 0;
        m.apply(&Op::AddDest(key(), d2.clone()));
        assert_eq!(
            m.table(),
            vec![VirtualService {
                service: s.clone(),
                dests: vec![d.clone(), d2.clone()],
            }]
        );
        d.weight = 7;
        m.apply(&Op::EditDest(key(), d.clone()));
        m.apply(&Op::DelDest(key(), d2.key));
        assert_eq!(m.get(&key()).unwrap().dests, vec![d.clone()]);
        assert!(m.same(&VirtualService {
            service: s.clone(),
            dests: vec![d.clone()],
        }));
        assert!(!m.same(&VirtualService {
            service: s.clone(),
            dests: vec![d2.clone()],
        }));
        assert_eq!(m.dest_weight(&key(), |k| k.port == 8080), Some(Some(7)));
        assert_eq!(m.dest_weight(&key(), |k| k.port == 1), Some(None));
        m.apply(&Op::DelService(key()));
        assert!(!m.contains(&key()));
        assert_eq!(m.dest_weight(&key(), |_| true), None);
        assert!(m.keys().is_empty());
        m.load(vec![VirtualService {
            service: s,
            dests: vec![d],
        }]);
        assert_eq!(m.keys(), &[key()]);
        m.compact();
        assert_eq!(m.get(&key()).unwrap().dests.len(), 1);
    }
}
