//! Request/response rtnetlink handle: links, addresses, routes.

use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

use crate::error::{Error, Result};
use crate::msg::{self, RawMsg};
use crate::types::{AddOutcome, DelOutcome, Family, IfAddr, Link, MacvlanMode, Route, Rule};

/// Receive buffer size for replies (large enough for any dump datagram).
const RECV_BUF: usize = 64 * 1024;
/// Receive buffer for requests answered by an ACK or an error only (an
/// error echoes the request, a few hundred bytes at most).
const ACK_BUF: usize = 8 * 1024;
/// Requests per datagram in [`Rtnl::address_batch`]: bounds what can
/// queue up on the socket (one error message per failed request).
const BATCH_CHUNK: usize = 64;
/// `NLM_F_ACK`.
const NLM_F_ACK: u16 = 0x4;

/// One address change of [`Rtnl::address_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrChange {
    /// `RTM_NEWADDR` (as [`Rtnl::add_address`]).
    Add,
    /// `RTM_DELADDR` (as [`Rtnl::del_address`]).
    Delete,
}

/// What one change of a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The address was added or deleted.
    Changed,
    /// Nothing to do: already present (add, `EEXIST`) or not present
    /// (delete, `EADDRNOTAVAIL`).
    Unchanged,
}
/// How often an interrupted dump (`NLM_F_DUMP_INTR`) is retried.
const DUMP_RETRIES: usize = 5;

/// A blocking rtnetlink request socket (`NETLINK_ROUTE`, no multicast
/// groups) in the network namespace of the thread that created it.
///
/// Each call sends one request and reads its reply; a 5 s receive timeout
/// keeps a lost reply from hanging the caller. Not `Sync`: use one handle
/// per thread.
pub struct Rtnl {
    sock: OwnedFd,
    seq: Cell<u32>,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtnl")
            .field("fd", &self.sock.as_raw_fd())
            .finish()
    }
}

/// Replies of one request: (message type, payload) pairs.
type Replies = Vec<(u16, Vec<u8>)>;

impl Rtnl {
    /// Opens the socket.
    pub fn new() -> Result<Rtnl> {
        let sock = crate::nlsock::open(0, false)?;
        let tv = TimeVal::new(5, 0);
        setsockopt(&sock, sockopt::ReceiveTimeout, &tv)
            .map_err(|e| Error::io("netlink SO_RCVTIMEO", e.into()))?;
        Ok(Rtnl {
            sock,
            seq: Cell::new(1),
        })
    }

    fn next_seq(&self) -> u32 {
        let s = self.seq.get().wrapping_add(1).max(1);
        self.seq.set(s);
        s
    }

    /// Sends `req` (already carrying `seq`) and collects the replies until
    /// the ACK / `NLMSG_DONE`. Returns the replies and whether the dump was
    /// interrupted. A kernel error is returned as `Err(errno)` in the inner
    /// result so callers can map `EEXIST` etc.
    fn transact(
        &self,
        op: &'static str,
        seq: u32,
        req: &[u8],
    ) -> Result<std::result::Result<(Replies, bool), i32>> {
        self.transact_buf(op, seq, req, RECV_BUF)
    }

    /// [`Rtnl::transact`] with a receive buffer of `buf_len` bytes.
    fn transact_buf(
        &self,
        op: &'static str,
        seq: u32,
        req: &[u8],
        buf_len: usize,
    ) -> Result<std::result::Result<(Replies, bool), i32>> {
        crate::nlsock::send_req(self.sock.as_fd(), req)?;
        let mut buf = vec![0u8; buf_len];
        let mut out = Vec::new();
        let mut intr = false;
        loop {
            let n = crate::nlsock::recv_dgram(self.sock.as_fd(), &mut buf)?;
            let (msgs, bad) = msg::split(&buf[..n.min(buf.len())]);
            if bad {
                log::debug!("{op}: malformed netlink reply bytes skipped");
            }
            for RawMsg {
                ty,
                flags,
                seq: s,
                payload,
            } in msgs
            {
                if s != seq {
                    continue; // stale reply of an earlier, timed-out request
                }
                if flags & msg::NLM_F_DUMP_INTR != 0 {
                    intr = true;
                }
                match ty {
                    msg::NLMSG_ERROR => {
                        let code = msg::error_code(payload)
                            .ok_or_else(|| Error::Decode(format!("{op}: short NLMSG_ERROR")))?;
                        return Ok(if code == 0 {
                            Ok((out, intr))
                        } else {
                            Err(code)
                        });
                    }
                    msg::NLMSG_DONE => return Ok(Ok((out, intr))),
                    msg::NLMSG_OVERRUN => {
                        return Err(Error::Decode(format!("{op}: NLMSG_OVERRUN")))
                    }
                    msg::NLMSG_NOOP => {}
                    _ => out.push((ty, payload.to_vec())),
                }
            }
        }
    }

    /// A request expecting only an ACK.
    fn ack(&self, op: &'static str, build: impl Fn(u32) -> Result<Vec<u8>>) -> Result<()> {
        match self.ack_errno(op, build)? {
            0 => Ok(()),
            errno => Err(Error::Kernel { op, errno }),
        }
    }

    /// Like `ack` but returns the errno (0 = success) for the caller to map.
    fn ack_errno(&self, op: &'static str, build: impl Fn(u32) -> Result<Vec<u8>>) -> Result<i32> {
        let seq = self.next_seq();
        let req = build(seq)?;
        Ok(match self.transact_buf(op, seq, &req, ACK_BUF)? {
            Ok(_) => 0,
            Err(e) => e,
        })
    }

    /// A dump, retried when the kernel flags it as interrupted.
    fn dump(&self, op: &'static str, build: impl Fn(u32) -> Result<Vec<u8>>) -> Result<Replies> {
        let mut last = Vec::new();
        for _ in 0..DUMP_RETRIES {
            let seq = self.next_seq();
            let req = build(seq)?;
            match self.transact(op, seq, &req)? {
                Ok((r, false)) => return Ok(r),
                Ok((r, true)) => last = r,
                Err(errno) => return Err(Error::Kernel { op, errno }),
            }
        }
        log::warn!("{op}: dump still interrupted after {DUMP_RETRIES} tries; using last result");
        Ok(last)
    }

    /// All links.
    pub fn links(&self) -> Result<Vec<Link>> {
        let replies = self.dump("dump links", |s| msg::get_link(s, 0, None))?;
        Ok(replies
            .iter()
            .filter(|(ty, _)| *ty == msg::RTM_NEWLINK)
            .filter_map(|(_, p)| msg::decode_link(p).ok())
            .collect())
    }

    fn one_link(&self, what: String, build: impl Fn(u32) -> Result<Vec<u8>>) -> Result<Link> {
        let seq = self.next_seq();
        let req = build(seq)?;
        match self.transact("get link", seq, &req)? {
            Ok((replies, _)) => replies
                .iter()
                .find(|(ty, _)| *ty == msg::RTM_NEWLINK)
                .map(|(_, p)| msg::decode_link(p))
                .unwrap_or(Err(Error::NoSuchInterface(what))),
            Err(libc::ENODEV) => Err(Error::NoSuchInterface(what)),
            Err(errno) => Err(Error::Kernel {
                op: "get link",
                errno,
            }),
        }
    }

    /// The link with this name.
    pub fn link_by_name(&self, name: &str) -> Result<Link> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(Error::NoSuchInterface(name.to_string()));
        }
        self.one_link(name.to_string(), |s| msg::get_link(s, 0, Some(name)))
    }

    /// The link with this index.
    pub fn link_by_index(&self, index: u32) -> Result<Link> {
        if index == 0 || index > i32::MAX as u32 {
            return Err(Error::NoSuchInterface(format!("index {index}")));
        }
        self.one_link(format!("index {index}"), |s| msg::get_link(s, index, None))
    }

    /// Interface name → index.
    pub fn ifindex(&self, name: &str) -> Result<u32> {
        self.link_by_name(name).map(|l| l.index)
    }

    /// Interface index → name.
    pub fn ifname(&self, index: u32) -> Result<String> {
        self.link_by_index(index).map(|l| l.name)
    }

    /// Sets a link administratively up or down (`ip link set dev X up`).
    pub fn set_link_up(&self, index: u32, up: bool) -> Result<()> {
        self.ack("set link", |s| msg::set_link_up(s, index, up))
    }

    /// Creates a macvlan `name` on `parent` with hardware address `mac`
    /// (keepalived's VMAC: `vrrp.VRID`, 00:00:5e:00:01:VRID, private mode).
    /// The link is created down. An existing `name` gives `AlreadyPresent`
    /// (the caller checks it is really ours with [`Rtnl::link_by_name`]).
    pub fn add_macvlan(
        &self,
        parent: u32,
        name: &str,
        mac: [u8; 6],
        mode: MacvlanMode,
    ) -> Result<AddOutcome> {
        let op = "add macvlan";
        match self.ack_errno(op, |s| msg::new_macvlan(s, parent, name, mac, mode))? {
            0 => Ok(AddOutcome::Added),
            libc::EEXIST => Ok(AddOutcome::AlreadyPresent),
            errno => Err(Error::Kernel { op, errno }),
        }
    }

    /// Deletes a link (a VMAC); an absent one gives `NotPresent`.
    pub fn del_link(&self, index: u32) -> Result<DelOutcome> {
        let op = "delete link";
        match self.ack_errno(op, |s| msg::del_link(s, index))? {
            0 => Ok(DelOutcome::Deleted),
            libc::ENODEV => Ok(DelOutcome::NotPresent),
            errno => Err(Error::Kernel { op, errno }),
        }
    }

    /// Addresses, optionally of one family and/or one interface.
    pub fn addresses(&self, family: Option<Family>, ifindex: Option<u32>) -> Result<Vec<IfAddr>> {
        let replies = self.dump("dump addresses", |s| msg::dump_addrs(s, family))?;
        Ok(replies
            .iter()
            .filter(|(ty, _)| *ty == msg::RTM_NEWADDR)
            .filter_map(|(_, p)| msg::decode_addr(p).ok())
            .filter(|a| family.is_none_or(|f| a.family() == f))
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// Adds an address. An address already present (same local address and
    /// prefix on the interface) gives [`AddOutcome::AlreadyPresent`].
    pub fn add_address(&self, a: &IfAddr) -> Result<AddOutcome> {
        match self.ack_errno("add address", |s| msg::addr_request(s, a, true))? {
            0 => Ok(AddOutcome::Added),
            libc::EEXIST => Ok(AddOutcome::AlreadyPresent),
            errno => Err(Error::Kernel {
                op: "add address",
                errno,
            }),
        }
    }

    /// Deletes an address (matched by interface, local address, prefix).
    /// An absent address gives [`DelOutcome::NotPresent`].
    pub fn del_address(&self, a: &IfAddr) -> Result<DelOutcome> {
        match self.ack_errno("delete address", |s| msg::addr_request(s, a, false))? {
            0 => Ok(DelOutcome::Deleted),
            libc::EADDRNOTAVAIL => Ok(DelOutcome::NotPresent),
            errno => Err(Error::Kernel {
                op: "delete address",
                errno,
            }),
        }
    }

    /// Several address additions/deletions with few system calls: the
    /// requests go to the kernel in datagrams of up to 64 messages, only the
    /// last message of a datagram asks for an ACK (the kernel reports every
    /// failed request with its own error message anyway and handles a
    /// datagram's messages in order, so the last ACK means all are done).
    /// The kernel has applied every change of a datagram when its `send`
    /// returns; the replies are read after it.
    ///
    /// Returns one result per change, in order, mapped as
    /// [`Rtnl::add_address`] / [`Rtnl::del_address`] do (`EEXIST` on add and
    /// `EADDRNOTAVAIL` on delete are [`Applied::Unchanged`]). The outer error
    /// is a transport failure (send/receive): the state of that datagram's
    /// changes is then unknown.
    pub fn address_batch(&self, changes: &[(AddrChange, &IfAddr)]) -> Result<Vec<Result<Applied>>> {
        let mut out: Vec<Option<Result<Applied>>> = changes.iter().map(|_| None).collect();
        let mut rbuf = vec![0u8; ACK_BUF];
        for (c, chunk) in changes.chunks(BATCH_CHUNK).enumerate() {
            let mut req = Vec::new();
            // (index in `changes`, seq, offset of the message in `req`)
            let mut sent: Vec<(usize, u32, usize)> = Vec::with_capacity(chunk.len());
            for (k, (op, a)) in chunk.iter().enumerate() {
                let idx = c * BATCH_CHUNK + k;
                let seq = self.next_seq();
                match msg::addr_request(seq, a, *op == AddrChange::Add) {
                    Ok(m) => {
                        sent.push((idx, seq, req.len()));
                        req.extend_from_slice(&m);
                    }
                    Err(e) => out[idx] = Some(Err(e)),
                }
            }
            let Some(&(_, last_seq, _)) = sent.last() else {
                continue;
            };
            for &(_, seq, off) in &sent {
                if seq != last_seq {
                    let f = u16::from_ne_bytes([req[off + 6], req[off + 7]]) & !NLM_F_ACK;
                    req[off + 6..off + 8].copy_from_slice(&f.to_ne_bytes());
                }
            }
            crate::nlsock::send_req(self.sock.as_fd(), &req)?;
            'replies: loop {
                let n = crate::nlsock::recv_dgram(self.sock.as_fd(), &mut rbuf)?;
                let (msgs, _) = msg::split(&rbuf[..n.min(rbuf.len())]);
                for m in msgs {
                    if m.ty != msg::NLMSG_ERROR {
                        continue;
                    }
                    let Some(&(idx, _, _)) = sent.iter().find(|(_, s, _)| *s == m.seq) else {
                        continue; // stale reply of an earlier, timed-out request
                    };
                    let code = msg::error_code(m.payload).unwrap_or(libc::EIO);
                    out[idx] = Some(applied(changes[idx].0, code));
                    if m.seq == last_seq {
                        break 'replies;
                    }
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or(Ok(Applied::Changed)))
            .collect())
    }

    /// Unicast routes of `family` in every table (filter on `table`,
    /// `protocol` == 18 etc. to find keepalived's leftovers). Cached and
    /// local-table routes are included as the kernel reports them.
    pub fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let replies = self.dump("dump routes", |s| msg::dump_routes(s, family, false))?;
        Ok(replies
            .iter()
            .filter(|(ty, _)| *ty == msg::RTM_NEWROUTE)
            .filter_map(|(_, p)| msg::decode_route(p).ok().flatten())
            .collect())
    }

    /// Policy rules of `family`.
    pub fn rules(&self, family: Family) -> Result<Vec<Rule>> {
        let replies = self.dump("dump rules", |s| msg::dump_routes(s, family, true))?;
        Ok(replies
            .iter()
            .filter(|(ty, _)| *ty == msg::RTM_NEWRULE)
            .filter_map(|(_, p)| msg::decode_rule(p).ok().flatten())
            .collect())
    }

    /// Adds a route; an identical existing one gives `AlreadyPresent`.
    pub fn add_route(&self, r: &Route) -> Result<AddOutcome> {
        match self.ack_errno("add route", |s| msg::route_request(s, r, true))? {
            0 => Ok(AddOutcome::Added),
            libc::EEXIST => Ok(AddOutcome::AlreadyPresent),
            errno => Err(Error::Kernel {
                op: "add route",
                errno,
            }),
        }
    }

    /// Deletes a route; an absent one gives `NotPresent` (`ESRCH`).
    pub fn del_route(&self, r: &Route) -> Result<DelOutcome> {
        match self.ack_errno("delete route", |s| msg::route_request(s, r, false))? {
            0 => Ok(DelOutcome::Deleted),
            libc::ESRCH => Ok(DelOutcome::NotPresent),
            errno => Err(Error::Kernel {
                op: "delete route",
                errno,
            }),
        }
    }

    /// Adds a policy-routing rule; an identical existing one gives
    /// `AlreadyPresent`.
    pub fn add_rule(&self, r: &Rule) -> Result<AddOutcome> {
        match self.ack_errno("add rule", |s| msg::rule_request(s, r, true))? {
            0 => Ok(AddOutcome::Added),
            libc::EEXIST => Ok(AddOutcome::AlreadyPresent),
            errno => Err(Error::Kernel {
                op: "add rule",
                errno,
            }),
        }
    }

    /// Deletes a policy-routing rule; an absent one gives `NotPresent`
    /// (`ENOENT`).
    pub fn del_rule(&self, r: &Rule) -> Result<DelOutcome> {
        match self.ack_errno("delete rule", |s| msg::rule_request(s, r, false))? {
            0 => Ok(DelOutcome::Deleted),
            libc::ENOENT => Ok(DelOutcome::NotPresent),
            errno => Err(Error::Kernel {
                op: "delete rule",
                errno,
            }),
        }
    }
}

/// Maps the errno of one [`Rtnl::address_batch`] change.
fn applied(op: AddrChange, code: i32) -> Result<Applied> {
    match (op, code) {
        (_, 0) => Ok(Applied::Changed),
        (AddrChange::Add, libc::EEXIST) | (AddrChange::Delete, libc::EADDRNOTAVAIL) => {
            Ok(Applied::Unchanged)
        }
        (AddrChange::Add, errno) => Err(Error::Kernel {
            op: "add address",
            errno,
        }),
        (AddrChange::Delete, errno) => Err(Error::Kernel {
            op: "delete address",
            errno,
        }),
    }
}

impl AsRawFd for Rtnl {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Rtnl {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
