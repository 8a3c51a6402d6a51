//! Where the checker's IPVS operations go: the kernel through
//! [`ipvs::Ipvs`], or an in-memory table for tests on kernels without IPVS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ipvs::{IpvsError, Op, ServiceKey, VirtualService};

/// An IPVS table the checker programs.
pub trait IpvsBackend: std::fmt::Debug {
    /// Dump every service with its destinations.
    fn table(&mut self) -> Result<Vec<VirtualService>, IpvsError>;
    /// Apply one operation.
    fn apply_op(&mut self, op: &Op) -> Result<(), IpvsError>;
    /// Remove every service (`lvs_flush`).
    fn flush(&mut self) -> Result<(), IpvsError>;
    /// Apply several operations (pipelined where the backend can); returns
    /// the failed ones with their index.
    fn apply_ops(&mut self, ops: &[Op]) -> Vec<(usize, IpvsError)> {
        ops.iter()
            .enumerate()
            .filter_map(|(i, op)| self.apply_op(op).err().map(|e| (i, e)))
            .collect()
    }
    /// Set the tcp/tcpfin/udp timeouts (`lvs_timeouts`; 0 = unchanged).
    fn set_timeouts(&mut self, _t: &ipvs::Timeouts) -> Result<(), IpvsError> {
        Ok(())
    }
}

impl IpvsBackend for ipvs::Ipvs {
    fn table(&mut self) -> Result<Vec<VirtualService>, IpvsError> {
        ipvs::Ipvs::table(self)
    }
    fn apply_op(&mut self, op: &Op) -> Result<(), IpvsError> {
        ipvs::Ipvs::apply_op(self, op)
    }
    fn flush(&mut self) -> Result<(), IpvsError> {
        ipvs::Ipvs::flush(self)
    }
    fn set_timeouts(&mut self, t: &ipvs::Timeouts) -> Result<(), IpvsError> {
        ipvs::Ipvs::set_timeouts(self, t)
    }
    fn apply_ops(&mut self, ops: &[Op]) -> Vec<(usize, IpvsError)> {
        if ops.len() < 2 {
            return ops
                .iter()
                .enumerate()
                .filter_map(|(i, op)| self.apply_op(op).err().map(|e| (i, e)))
                .collect();
        }
        match self.apply_all(ops) {
            Ok(f) => f,
            // The batch could not be sent at all: every step failed.
            Err(e) => {
                let text = e.to_string();
                (0..ops.len())
                    .map(|i| (i, IpvsError::Invalid(text.clone())))
                    .collect()
            }
        }
    }
}

/// Applies `op` to a table held as a map (the daemon's mirror of the
/// kernel, and [`MemoryIpvs`]). Returns an error like the kernel's when the
/// service or destination is missing or already there.
pub fn apply_to_map(
    map: &mut HashMap<ServiceKey, VirtualService>,
    order: &mut Vec<ServiceKey>,
    op: &Op,
) -> Result<(), IpvsError> {
    let exists = IpvsError::Kernel {
        cmd: 0,
        errno: libc::EEXIST,
    };
    let missing = IpvsError::Kernel {
        cmd: 0,
        errno: libc::ESRCH,
    };
    match op {
        Op::AddService(s) => {
            if map.contains_key(&s.key) {
                return Err(exists);
            }
            order.push(s.key);
            map.insert(
                s.key,
                VirtualService {
                    service: s.clone(),
                    dests: Vec::new(),
                },
            );
        }
        Op::EditService(s) => {
            map.get_mut(&s.key).ok_or(missing)?.service = s.clone();
        }
        Op::DelService(k) => {
            map.remove(k).ok_or(missing)?;
            order.retain(|x| x != k);
        }
        Op::AddDest(k, d) => {
            let v = map.get_mut(k).ok_or(missing)?;
            if v.dests.iter().any(|x| x.key == d.key) {
                return Err(exists);
            }
            v.dests.push(d.clone());
        }
        Op::EditDest(k, d) => {
            let v = map.get_mut(k).ok_or(missing)?;
            let x = v
                .dests
                .iter_mut()
                .find(|x| x.key == d.key)
                .ok_or(IpvsError::Kernel {
                    cmd: 0,
                    errno: libc::ENOENT,
                })?;
            *x = d.clone();
        }
        Op::DelDest(k, dk) => {
            let v = map.get_mut(k).ok_or(missing)?;
            let before = v.dests.len();
            v.dests.retain(|x| x.key != *dk);
            if v.dests.len() == before {
                return Err(IpvsError::Kernel {
                    cmd: 0,
                    errno: libc::ENOENT,
                });
            }
        }
    }
    Ok(())
}

/// The shared state of a [`MemoryIpvs`]: table and every operation applied.
#[derive(Debug, Default)]
pub struct MemoryState {
    /// Services by key.
    pub map: HashMap<ServiceKey, VirtualService>,
    /// Insertion order of the services.
    pub order: Vec<ServiceKey>,
    /// Every operation applied, in order.
    pub ops: Vec<Op>,
}

impl MemoryState {
    /// The table in insertion order.
    pub fn table(&self) -> Vec<VirtualService> {
        self.order
            .iter()
            .filter_map(|k| self.map.get(k).cloned())
            .collect()
    }
}

/// An in-memory IPVS table (tests on a kernel without IPVS).
#[derive(Debug, Clone, Default)]
pub struct MemoryIpvs {
    /// Shared with the test that inspects it.
    pub state: Arc<Mutex<MemoryState>>,
}

impl IpvsBackend for MemoryIpvs {
    fn table(&mut self) -> Result<Vec<VirtualService>, IpvsError> {
        Ok(self.state.lock().map(|s| s.table()).unwrap_or_default())
    }
    fn apply_op(&mut self, op: &Op) -> Result<(), IpvsError> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| IpvsError::Invalid("poisoned".into()))?;
        let st = &mut *s;
        apply_to_map(&mut st.map, &mut st.order, op)?;
        st.ops.push(op.clone());
        Ok(())
    }
    fn flush(&mut self) -> Result<(), IpvsError> {
        if let Ok(mut s) = self.state.lock() {
            s.map.clear();
            s.order.clear();
        }
        Ok(())
    }
}
