//! A blocking IPVS client over a generic netlink socket (neli's `NlSocket`).
//!
//! Each call sends one request and reads until its ACK, error, reply or
//! `NLMSG_DONE`; messages with another sequence number (stale replies) are
//! skipped. Netlink to the kernel answers in microseconds, so blocking calls are
//! fine on the checker's loop.

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::consts::*;
use crate::diff::Op;
use crate::error::IpvsError;
use crate::msg::{self, Header};
use crate::types::*;
use crate::wire::{messages, Reply};

/// Receive buffer size: larger than any dump chunk the kernel builds.
const RECV_BUF: usize = 64 * 1024;

/// An open connection to the kernel's IPVS.
pub struct Ipvs {
    sock: NlSocket,
    family_id: u16,
    seq: u32,
    buf: Vec<u8>,
    /// Whether the request being answered carried NLM_F_ACK (set by the senders).
    awaiting_ack: bool,
}

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipvs")
            .field("family_id", &self.family_id)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Ipvs {
    /// Open a generic netlink socket in the current network namespace and
    /// resolve the "IPVS" family. [`IpvsError::NotAvailable`] when the kernel
    /// has no IPVS.
    pub fn open() -> Result<Self, IpvsError> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        let mut me = Ipvs {
            sock,
            family_id: 0,
            seq: 1,
            buf: vec![0; RECV_BUF],
            awaiting_ack: true,
        };
        me.family_id = me.resolve_family()?;
        Ok(me)
    }

    /// Open the client in another network namespace (keepalived's
    /// `net_namespace_ipvs`): the calling thread enters `netns` (e.g.
    /// `/run/netns/NAME`), opens the socket, and returns to its own namespace.
    /// The socket stays bound to `netns`, so every later call acts there.
    pub fn open_in_netns(netns: &std::path::Path) -> Result<Self, IpvsError> {
        use nix::sched::{setns, CloneFlags};
        let own = std::fs::File::open("/proc/thread-self/ns/net")?;
        let target = std::fs::File::open(netns)?;
        setns(&target, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
        let opened = Self::open();
        // Going back must not fail silently: the thread would stay in the wrong namespace.
        setns(&own, CloneFlags::CLONE_NEWNET).map_err(|e| {
            IpvsError::Invalid(format!(
                "cannot return to the original network namespace: {e}"
            ))
        })?;
        opened
    }

    /// The generic netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    fn next_header(&mut self) -> Header {
        self.seq = self.seq.wrapping_add(1);
        Header {
            family_id: self.family_id,
            seq: self.seq,
        }
    }

    fn resolve_family(&mut self) -> Result<u16, IpvsError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.sock.send(msg::get_family(seq), Msg::empty())?;
        let mut id = None;
        self.awaiting_ack = true;
        let r = self.exchange(seq, CTRL_CMD_GETFAMILY, |attrs| {
            id = Some(msg::parse_family_id(attrs)?);
            Ok(())
        });
        match r {
            Err(IpvsError::Kernel { errno, .. }) => Err(IpvsError::NotAvailable { errno }),
            Err(e) => Err(e),
            Ok(()) => id.ok_or(IpvsError::NoReply(CTRL_CMD_GETFAMILY)),
        }
    }

    /// Read replies to `seq` until ACK / DONE / error, feeding data messages to `on_data`.
    /// A request without NLM_F_ACK and without DUMP ends at its first data message.
    fn exchange(
        &mut self,
        seq: u32,
        cmd: u8,
        mut on_data: impl FnMut(&[u8]) -> Result<(), IpvsError>,
    ) -> Result<(), IpvsError> {
        let mut got_data = false;
        loop {
            let (n, _) = self.sock.recv(&mut self.buf[..], Msg::empty())?;
            if n == 0 {
                return Err(IpvsError::NoReply(cmd));
            }
            let mut multi = false;
            for m in messages(&self.buf[..n]) {
                let m = m?;
                if m.seq != seq {
                    continue;
                }
                multi |= m.flags & NLM_F_MULTI != 0;
                match m.reply()? {
                    Reply::Ack | Reply::Done => return Ok(()),
                    Reply::Error(errno) => return Err(IpvsError::Kernel { cmd, errno }),
                    Reply::Data { attrs, .. } => {
                        on_data(attrs)?;
                        got_data = true;
                    }
                }
            }
            // A plain reply (GET_INFO, GET_CONFIG) is one message and, as no ACK was
            // asked for, the end; GETFAMILY asks for an ACK, so read on until it.
            if got_data && !multi && !self.awaiting_ack {
                return Ok(());
            }
        }
    }

    fn command(&mut self, cmd: u8, build: impl FnOnce(Header) -> Vec<u8>) -> Result<(), IpvsError> {
        let h = self.next_header();
        self.sock.send(build(h), Msg::empty())?;
        self.awaiting_ack = true;
        self.exchange(h.seq, cmd, |_| Ok(()))
    }

    /// IPVS version and connection table size (`ipvsadm` header line).
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let h = self.next_header();
        self.sock.send(msg::get_info(h), Msg::empty())?;
        let mut out = None;
        self.awaiting_ack = false;
        self.exchange(h.seq, IPVS_CMD_GET_INFO, |a| {
            out = Some(msg::parse_info(a)?);
            Ok(())
        })?;
        out.ok_or(IpvsError::NoReply(IPVS_CMD_GET_INFO))
    }

    /// Every service (dump), with stats.
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let h = self.next_header();
        self.sock.send(msg::get_services(h), Msg::empty())?;
        let mut out = Vec::new();
        self.awaiting_ack = false;
        self.exchange(h.seq, IPVS_CMD_GET_SERVICE, |a| {
            out.push(msg::parse_service_reply(a)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The destinations of one service (dump), with stats.
    pub fn destinations(&mut self, svc: &ServiceKey) -> Result<Vec<Destination>, IpvsError> {
        let h = self.next_header();
        self.sock.send(msg::get_dests(h, svc), Msg::empty())?;
        let fam = svc.family();
        let mut out = Vec::new();
        self.awaiting_ack = false;
        self.exchange(h.seq, IPVS_CMD_GET_DEST, |a| {
            out.push(msg::parse_dest_reply(a, fam)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The whole table: every service with its destinations.
    pub fn table(&mut self) -> Result<Vec<VirtualService>, IpvsError> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for service in services {
            let dests = self.destinations(&service.key)?;
            out.push(VirtualService { service, dests });
        }
        Ok(out)
    }

    fn check_service(s: &Service) -> Result<(), IpvsError> {
        if s.scheduler.name().len() >= IP_VS_SCHEDNAME_MAXLEN {
            return Err(IpvsError::Invalid(format!(
                "scheduler name {:?} longer than {} bytes",
                s.scheduler.name(),
                IP_VS_SCHEDNAME_MAXLEN - 1
            )));
        }
        if let Some(pe) = &s.pe_name {
            if pe.len() >= IP_VS_PENAME_MAXLEN {
                return Err(IpvsError::Invalid(format!(
                    "persistence engine {pe:?} too long"
                )));
            }
        }
        Ok(())
    }

    fn check_dest(d: &Destination) -> Result<(), IpvsError> {
        if d.weight > i32::MAX as u32 {
            return Err(IpvsError::Invalid(format!(
                "weight {} out of range",
                d.weight
            )));
        }
        Ok(())
    }

    /// Add a service (`ipvsadm -A`).
    pub fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        Self::check_service(s)?;
        self.command(IPVS_CMD_NEW_SERVICE, |h| msg::new_service(h, s))
    }
    /// Change a service's scheduler, flags, persistence (`ipvsadm -E`).
    pub fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        Self::check_service(s)?;
        self.command(IPVS_CMD_SET_SERVICE, |h| msg::set_service(h, s))
    }
    /// Delete a service and its destinations (`ipvsadm -D`).
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_DEL_SERVICE, |h| msg::del_service(h, key))
    }
    /// Add a destination (`ipvsadm -a`).
    pub fn add_dest(&mut self, svc: &ServiceKey, d: &Destination) -> Result<(), IpvsError> {
        Self::check_dest(d)?;
        self.command(IPVS_CMD_NEW_DEST, |h| msg::new_dest(h, svc, d))
    }
    /// Change a destination (`ipvsadm -e`), e.g. its weight.
    pub fn edit_dest(&mut self, svc: &ServiceKey, d: &Destination) -> Result<(), IpvsError> {
        Self::check_dest(d)?;
        self.command(IPVS_CMD_SET_DEST, |h| msg::set_dest(h, svc, d))
    }
    /// Delete a destination (`ipvsadm -d`).
    pub fn del_dest(&mut self, svc: &ServiceKey, d: &DestKey) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_DEL_DEST, |h| msg::del_dest(h, svc, d))
    }
    /// Delete every service (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_FLUSH, msg::flush)
    }
    /// Connection timeouts (`ipvsadm -L --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let h = self.next_header();
        self.sock.send(msg::get_config(h), Msg::empty())?;
        let mut out = None;
        self.awaiting_ack = false;
        self.exchange(h.seq, IPVS_CMD_GET_CONFIG, |a| {
            out = Some(msg::parse_timeouts(a)?);
            Ok(())
        })?;
        out.ok_or(IpvsError::NoReply(IPVS_CMD_GET_CONFIG))
    }
    /// Set timeouts (`ipvsadm --set`); 0 leaves a value unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_SET_CONFIG, |h| msg::set_config(h, t))
    }

    /// Zero the counters of one service (`ipvsadm -Z -t ...`) or of all (`None`).
    pub fn zero(&mut self, svc: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_ZERO, |h| msg::zero(h, svc))
    }

    /// Start a connection synchronisation daemon (`lvs_sync_daemon`).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        if d.mcast_ifn.is_empty() || d.mcast_ifn.len() >= 16 {
            return Err(IpvsError::Invalid(format!(
                "interface name {:?}",
                d.mcast_ifn
            )));
        }
        self.command(IPVS_CMD_NEW_DAEMON, |h| msg::new_daemon(h, d))
    }

    /// Stop the master or backup synchronisation daemon.
    pub fn stop_daemon(&mut self, state: SyncState, sync_id: u32) -> Result<(), IpvsError> {
        self.command(IPVS_CMD_DEL_DAEMON, |h| msg::del_daemon(h, state, sync_id))
    }

    /// The running synchronisation daemons (dump).
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let h = self.next_header();
        self.sock.send(msg::get_daemons(h), Msg::empty())?;
        let mut out = Vec::new();
        self.awaiting_ack = false;
        self.exchange(h.seq, IPVS_CMD_GET_DAEMON, |a| {
            out.push(msg::parse_daemon_reply(a)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Apply one reconciliation step.
    pub fn apply_op(&mut self, op: &Op) -> Result<(), IpvsError> {
        match op {
            Op::AddService(s) => self.add_service(s),
            Op::EditService(s) => self.edit_service(s),
            Op::DelService(k) => self.del_service(k),
            Op::AddDest(k, d) => self.add_dest(k, d),
            Op::EditDest(k, d) => self.edit_dest(k, d),
            Op::DelDest(k, d) => self.del_dest(k, d),
        }
    }

    /// Apply steps in order; stops at the first failure and returns its index.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), (usize, IpvsError)> {
        for (i, op) in ops.iter().enumerate() {
            self.apply_op(op).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// Apply every step, pipelined: up to [`PIPELINE_WINDOW`] requests are in
    /// flight before their acknowledgements are read, which is what makes a
    /// reload of tens of thousands of destinations fast. A failed step does
    /// not stop the others (as keepalived logs and continues); the failures
    /// are returned with their index. The kernel handles the requests of one
    /// socket in order, so a destination added after its service sees it.
    pub fn apply_all(&mut self, ops: &[Op]) -> Result<Vec<(usize, IpvsError)>, IpvsError> {
        for op in ops {
            match op {
                Op::AddService(s) | Op::EditService(s) => Self::check_service(s)?,
                Op::AddDest(_, d) | Op::EditDest(_, d) => Self::check_dest(d)?,
                _ => {}
            }
        }
        let mut failures = Vec::new();
        // seq -> (op index, command)
        let mut pending: std::collections::HashMap<u32, (usize, u8)> = Default::default();
        let mut next = 0usize;
        while next < ops.len() || !pending.is_empty() {
            while next < ops.len() && pending.len() < PIPELINE_WINDOW {
                let h = self.next_header();
                let (cmd, bytes) = encode_op(h, &ops[next]);
                self.sock.send(bytes, Msg::empty())?;
                pending.insert(h.seq, (next, cmd));
                next += 1;
            }
            let (n, _) = self.sock.recv(&mut self.buf[..], Msg::empty())?;
            if n == 0 {
                return Err(IpvsError::NoReply(0));
            }
            for m in messages(&self.buf[..n]) {
                let m = m?;
                let Some(&(idx, cmd)) = pending.get(&m.seq) else {
                    continue;
                };
                match m.reply()? {
                    Reply::Ack | Reply::Done => {
                        pending.remove(&m.seq);
                    }
                    Reply::Error(errno) => {
                        pending.remove(&m.seq);
                        failures.push((idx, IpvsError::Kernel { cmd, errno }));
                    }
                    Reply::Data { .. } => {}
                }
            }
        }
        failures.sort_by_key(|(i, _)| *i);
        Ok(failures)
    }
}

/// Requests in flight in [`Ipvs::apply_all`]: each unread ACK costs receive
/// buffer space (an skb of ~1 KiB truesize against the default 208 KiB).
pub const PIPELINE_WINDOW: usize = 64;

fn encode_op(h: Header, op: &Op) -> (u8, Vec<u8>) {
    match op {
        Op::AddService(s) => (IPVS_CMD_NEW_SERVICE, msg::new_service(h, s)),
        Op::EditService(s) => (IPVS_CMD_SET_SERVICE, msg::set_service(h, s)),
        Op::DelService(k) => (IPVS_CMD_DEL_SERVICE, msg::del_service(h, k)),
        Op::AddDest(k, d) => (IPVS_CMD_NEW_DEST, msg::new_dest(h, k, d)),
        Op::EditDest(k, d) => (IPVS_CMD_SET_DEST, msg::set_dest(h, k, d)),
        Op::DelDest(k, d) => (IPVS_CMD_DEL_DEST, msg::del_dest(h, k, d)),
    }
}
