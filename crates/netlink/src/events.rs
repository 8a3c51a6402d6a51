//! Non-blocking rtnetlink event socket (link and address changes) for a mio
//! loop: register [`EventSocket`]'s fd for readability, call
//! [`EventSocket::drain`] when it fires.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt};

use crate::error::{Error, Result};
use crate::msg;
use crate::types::{IfAddr, Link};

/// `RTMGRP_LINK`.
const RTMGRP_LINK: u32 = 0x1;
/// `RTMGRP_IPV4_IFADDR`.
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
/// `RTMGRP_IPV6_IFADDR`.
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// Receive buffer requested from the kernel (bursts of events at start-up
/// or when many VIPs move at once).
const SOCK_RCVBUF: usize = 1 << 20;

/// A link or address change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An interface index not seen before (full state; it may be up or down).
    LinkAdded(Link),
    /// A known interface became up (`IFF_UP` and `IFF_RUNNING`).
    LinkUp {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// A known interface stopped being up (admin down or carrier lost).
    LinkDown {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// A known interface's name, MAC or MTU changed (new full state). Sent
    /// in addition to `LinkUp`/`LinkDown` when those change too.
    LinkChanged(Link),
    /// An interface disappeared (deleted or moved to another namespace).
    LinkRemoved {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
    },
    /// An address was added (or its attributes changed).
    AddrAdded(IfAddr),
    /// An address was removed.
    AddrRemoved(IfAddr),
    /// The kernel dropped events (`ENOBUFS`): state must be re-read with
    /// [`crate::Rtnl::links`] / [`crate::Rtnl::addresses`] and then
    /// [`EventSocket::prime`].
    Overrun,
}

/// What the socket remembers per link.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    name: String,
    up: bool,
    mac: Option<[u8; 6]>,
    mtu: Option<u32>,
}

impl Known {
    fn of(l: &Link) -> Known {
        Known {
            name: l.name.clone(),
            up: l.is_up(),
            mac: l.mac,
            mtu: l.mtu,
        }
    }
}

/// Subscribed to `RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`
/// in the namespace of the creating thread. Non-blocking.
///
/// `RTM_NEWLINK` is sent by the kernel for every link change; the socket
/// remembers each link's name and up state so that it reports only
/// transitions ([`Event::LinkUp`] / [`Event::LinkDown`]), and
/// [`Event::LinkAdded`] for indexes it has not seen. Call
/// [`EventSocket::prime`] with a link dump after creating it so that
/// existing links are not reported as added.
#[derive(Debug)]
pub struct EventSocket {
    fd: OwnedFd,
    tracker: Tracker,
    buf: Vec<u8>,
    overruns: u64,
}

/// The socket-free part of [`EventSocket`]: datagram parsing and the link
/// table; also driven by [`crate::fuzzing`].
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    links: HashMap<u32, Known>,
    malformed: u64,
}

impl EventSocket {
    /// Opens and subscribes the socket.
    pub fn new() -> Result<EventSocket> {
        let fd = crate::nlsock::open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true)?;
        let s = EventSocket {
            fd,
            tracker: Tracker::default(),
            buf: vec![0u8; 64 * 1024],
            overruns: 0,
        };
        if let Err(e) = s.set_recv_buffer(SOCK_RCVBUF, true) {
            log::debug!("netlink event socket: {e}");
        }
        Ok(s)
    }

    /// Sets the kernel receive buffer (keepalived's
    /// `vrrp_netlink_monitor_rcv_bufs` / `..._force`). With `force`,
    /// `SO_RCVBUFFORCE` (needs `CAP_NET_ADMIN`) ignores
    /// `net.core.rmem_max`; if that fails, or without `force`, `SO_RCVBUF`
    /// is used, which the kernel caps at `rmem_max`. The default is 1 MiB,
    /// forced.
    pub fn set_recv_buffer(&self, bytes: usize, force: bool) -> Result<()> {
        if force && setsockopt(&self.fd, sockopt::RcvBufForce, &bytes).is_ok() {
            return Ok(());
        }
        setsockopt(&self.fd, sockopt::RcvBuf, &bytes)
            .map_err(|e| Error::io("netlink event socket SO_RCVBUF", e.into()))
    }

    /// Replaces the remembered link table (after a dump, at start-up or
    /// after an [`Event::Overrun`]).
    pub fn prime(&mut self, links: &[Link]) {
        self.tracker.links = links.iter().map(|l| (l.index, Known::of(l))).collect();
    }

    /// Number of malformed messages skipped so far.
    pub fn malformed(&self) -> u64 {
        self.tracker.malformed
    }

    /// Number of overruns (`ENOBUFS`) seen so far.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Reads everything queued, without blocking, and returns the events in
    /// kernel order. Malformed messages are skipped and counted.
    pub fn drain(&mut self) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        loop {
            let n = match crate::nlsock::recv_raw(self.fd.as_fd(), &mut self.buf) {
                Ok(n) => n,
                Err(Errno::EAGAIN) => break,
                Err(Errno::ENOBUFS) => {
                    self.overruns += 1;
                    out.push(Event::Overrun);
                    continue;
                }
                Err(e) => return Err(Error::io("netlink event recv", e.into())),
            };
            if n == 0 {
                break;
            }
            self.tracker.parse(&self.buf[..n], &mut out);
        }
        Ok(out)
    }
}

impl Tracker {
    /// Parses one datagram (also used by tests with hand-made bytes).
    pub(crate) fn parse(&mut self, dgram: &[u8], out: &mut Vec<Event>) {
        let (msgs, bad) = msg::split(dgram);
        if bad {
            self.malformed += 1;
        }
        for m in msgs {
            match m.ty {
                msg::RTM_NEWLINK => match msg::decode_link(m.payload) {
                    Ok(link) => self.on_newlink(link, out),
                    Err(e) => self.skip(e),
                },
                msg::RTM_DELLINK => match msg::decode_link(m.payload) {
                    Ok(link) => {
                        self.links.remove(&link.index);
                        out.push(Event::LinkRemoved {
                            index: link.index,
                            name: link.name,
                        });
                    }
                    Err(e) => self.skip(e),
                },
                msg::RTM_NEWADDR => match msg::decode_addr(m.payload) {
                    Ok(a) => out.push(Event::AddrAdded(a)),
                    Err(e) => self.skip(e),
                },
                msg::RTM_DELADDR => match msg::decode_addr(m.payload) {
                    Ok(a) => out.push(Event::AddrRemoved(a)),
                    Err(e) => self.skip(e),
                },
                msg::NLMSG_ERROR | msg::NLMSG_DONE | msg::NLMSG_NOOP => {}
                _ => {} // other rtnetlink types: not subscribed, ignored
            }
        }
    }

    fn skip(&mut self, e: Error) {
        self.malformed += 1;
        log::debug!("netlink event skipped: {e}");
    }

    fn on_newlink(&mut self, link: Link, out: &mut Vec<Event>) {
        let now = Known::of(&link);
        let Some(known) = self.links.get_mut(&link.index) else {
            self.links.insert(link.index, now);
            out.push(Event::LinkAdded(link));
            return;
        };
        let was = std::mem::replace(known, now.clone());
        if (&was.name, was.mac, was.mtu) != (&now.name, now.mac, now.mtu) {
            out.push(Event::LinkChanged(link.clone()));
        }
        if was.up != now.up {
            let (index, name) = (link.index, link.name);
            out.push(if now.up {
                Event::LinkUp { index, name }
            } else {
                Event::LinkDown { index, name }
            });
        }
    }
}

impl AsRawFd for EventSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for EventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Fuzzing entry points (for `cargo fuzz` targets; not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use super::{Event, Tracker};

    /// Runs one datagram through the event parser (framing, link and
    /// address decoders, link table) and the request-reply decoders. Must
    /// never panic, whatever the input.
    pub fn parse_datagram(data: &[u8]) -> Vec<Event> {
        let mut t = Tracker::default();
        let mut out = Vec::new();
        t.parse(data, &mut out);
        // Twice, so the second pass sees a populated link table.
        t.parse(data, &mut out);
        let (msgs, _) = crate::msg::split(data);
        for m in msgs {
            let _ = crate::msg::decode_route(m.payload);
            let _ = crate::msg::decode_rule(m.payload);
            let _ = crate::msg::error_code(m.payload);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsg(ty: u16, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&0u16.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    /// ifinfomsg (family, pad, type, index, flags, change) + IFLA_IFNAME.
    fn ifinfo(index: i32, flags: u32, name: &str) -> Vec<u8> {
        let mut p = vec![0u8, 0];
        p.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
        p.extend_from_slice(&index.to_ne_bytes());
        p.extend_from_slice(&flags.to_ne_bytes());
        p.extend_from_slice(&0xffff_ffffu32.to_ne_bytes());
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        p.extend_from_slice(&((4 + n.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&3u16.to_ne_bytes()); // IFLA_IFNAME
        p.extend_from_slice(&n);
        while p.len() % 4 != 0 {
            p.push(0);
        }
        p
    }

    fn sock() -> Tracker {
        Tracker::default()
    }

    #[test]
    fn link_transitions() {
        let mut s = sock();
        let up = (libc::IFF_UP | libc::IFF_RUNNING) as u32;
        let admin_up = libc::IFF_UP as u32;
        let mut out = Vec::new();
        s.parse(
            &nlmsg(msg::RTM_NEWLINK, &ifinfo(5, admin_up, "veth0")),
            &mut out,
        );
        assert!(
            matches!(&out[0], Event::LinkAdded(l) if l.index == 5 && l.name == "veth0" && !l.is_up())
        );
        out.clear();
        // Same state again: nothing. Then up, then down.
        let mut d = nlmsg(msg::RTM_NEWLINK, &ifinfo(5, admin_up, "veth0"));
        d.extend(nlmsg(msg::RTM_NEWLINK, &ifinfo(5, up, "veth0")));
        d.extend(nlmsg(msg::RTM_NEWLINK, &ifinfo(5, 0, "veth0")));
        d.extend(nlmsg(msg::RTM_NEWLINK, &ifinfo(5, 0, "eth7")));
        d.extend(nlmsg(msg::RTM_DELLINK, &ifinfo(5, 0, "eth7")));
        s.parse(&d, &mut out);
        assert_eq!(
            out,
            vec![
                Event::LinkUp {
                    index: 5,
                    name: "veth0".into()
                },
                Event::LinkDown {
                    index: 5,
                    name: "veth0".into()
                },
                Event::LinkChanged(Link {
                    index: 5,
                    name: "eth7".into(),
                    flags: 0,
                    mac: None,
                    mtu: None,
                    hw_type: 1,
                    kind: None,
                    parent: None,
                }),
                Event::LinkRemoved {
                    index: 5,
                    name: "eth7".into()
                },
            ]
        );
        assert_eq!(s.malformed, 0);
    }

    #[test]
    fn malformed_skipped_and_counted() {
        let mut s = sock();
        let mut out = Vec::new();
        // A link message with a truncated attribute, then a good one.
        let mut bad = ifinfo(6, 0, "x");
        bad.truncate(18);
        let mut d = nlmsg(msg::RTM_NEWLINK, &bad);
        d.extend(nlmsg(msg::RTM_NEWADDR, &[2, 24, 0])); // short ifaddrmsg
        d.extend(nlmsg(msg::RTM_NEWLINK, &ifinfo(7, 0, "y")));
        d.extend_from_slice(&[1, 2, 3]); // trailing junk
        s.parse(&d, &mut out);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Event::LinkAdded(l) if l.index == 7));
        assert_eq!(s.malformed, 3);
    }

    /// Random bit flips and truncations of a valid datagram (link, address,
    /// route and rule messages) never panic the event path.
    #[test]
    fn fuzz_entry_point_survives_mutations() {
        let mut a = IfAddr::new(3, "2001:db8::1".parse().unwrap(), 64);
        a.preferred_lft = Some(0);
        let mut good = nlmsg(msg::RTM_NEWLINK, &ifinfo(5, 0x41, "veth0"));
        good.extend(nlmsg(
            msg::RTM_NEWADDR,
            &msg::addr_request(1, &a, true).unwrap()[16..],
        ));
        let r = crate::Route::new("192.0.2.0".parse().unwrap(), 24);
        good.extend(nlmsg(24, &msg::route_request(1, &r, true).unwrap()[16..]));
        let u = crate::Rule::new(crate::Family::V4, 100);
        good.extend(nlmsg(32, &msg::rule_request(1, &u, true).unwrap()[16..]));
        good.extend(nlmsg(msg::RTM_DELLINK, &ifinfo(5, 0, "veth0")));
        // Each pass: LinkAdded, AddrAdded, LinkRemoved (routes/rules are not events).
        assert_eq!(fuzzing::parse_datagram(&good).len(), 6);
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut v = good.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % v.len();
                v[i] = next() as u8;
            }
            v.truncate((next() as usize) % (v.len() + 1));
            let _ = fuzzing::parse_datagram(&v);
        }
    }

    #[test]
    fn addr_event_decoded() {
        let mut a = IfAddr::new(3, "192.0.2.10".parse().unwrap(), 24);
        a.label = Some("eth0:1".into());
        let req = msg::addr_request(1, &a, true).unwrap();
        let payload = &req[16..];
        let mut s = sock();
        let mut out = Vec::new();
        s.parse(&nlmsg(msg::RTM_DELADDR, payload), &mut out);
        assert_eq!(out, vec![Event::AddrRemoved(a)]);
    }
}
