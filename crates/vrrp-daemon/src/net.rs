//! Sockets of the VRRP child.
//!
//! * One receive socket per (interface, family), shared by every instance
//!   on it; datagrams are demultiplexed by VRID ([`vrrp::wire::peek`]).
//!   It joins the multicast groups of the multicast instances.
//! * IPv4 adverts leave through one `IP_HDRINCL` raw socket per interface,
//!   carrying the IP header the protocol core built, exactly as keepalived
//!   does (TOS 0xc0, its IP id counter, TTL 255, the configured source).
//!   Multicast loop is off and its receive buffer is minimal (it is never
//!   read: the receive socket gets everything).
//! * IPv6 adverts leave through a [`VrrpSocket`] per (interface, source),
//!   which sets hop limit 255 and lets the kernel fill in the checksum;
//!   its traffic class is set to 0xc0 as keepalived does.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mio::{Interest, Registry, Token};
use netlink::{Received, VrrpSocket, VrrpSocketConfig};
use nix::sys::socket::{sendto, setsockopt, sockopt, MsgFlags, SockaddrIn};
use vrrp::wire::Family;

/// `SO_BINDTOIFINDEX`.
const SO_BINDTOIFINDEX: libc::c_int = 62;

/// Errors opening or using sockets.
#[derive(Debug)]
pub enum NetError {
    /// A netlink-crate socket operation failed.
    Netlink(netlink::Error),
    /// A system call failed.
    Io(&'static str, std::io::Error),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Netlink(e) => write!(f, "{e}"),
            NetError::Io(op, e) => write!(f, "{op}: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<netlink::Error> for NetError {
    fn from(e: netlink::Error) -> Self {
        NetError::Netlink(e)
    }
}

fn nl_family(f: Family) -> netlink::Family {
    match f {
        Family::V4 => netlink::Family::V4,
        Family::V6 => netlink::Family::V6,
    }
}

/// The socket behind a [`RxSocket`]: VRRP (protocol 112) or, for
/// instances with `auth_type AH`, protocol 51 (keepalived opens its
/// receive socket with `IPPROTO_AH` for those).
#[derive(Debug)]
pub enum RxKind {
    /// Protocol 112.
    Vrrp(VrrpSocket),
    /// Protocol 51 (IPv4 only).
    Ah(OwnedFd),
}

impl RxKind {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            RxKind::Vrrp(s) => s.as_fd(),
            RxKind::Ah(f) => f.as_fd(),
        }
    }

    fn join(&self, g: IpAddr, ifindex: u32) -> Result<(), NetError> {
        match (self, g) {
            (RxKind::Vrrp(s), _) => Ok(s.join(g)?),
            (RxKind::Ah(f), IpAddr::V4(g4)) => {
                sys::net::ipv4_membership(f.as_fd(), g4, ifindex, true)
                    .map_err(|e| NetError::Io("join group", e))
            }
            _ => Ok(()),
        }
    }
}

fn open_ah_rx(ifindex: u32) -> Result<OwnedFd, NetError> {
    let fd = sys::net::ip_raw_socket(false, 51).map_err(|e| NetError::Io("AH socket", e))?;
    let b = fd.as_fd();
    let opt = |level, name, v, op| {
        sys::net::setsockopt_int(b, level, name, v).map_err(|e| NetError::Io(op, e))
    };
    opt(
        libc::SOL_SOCKET,
        SO_BINDTOIFINDEX,
        ifindex as i32,
        "SO_BINDTOIFINDEX",
    )?;
    // TTL and destination are read from the IP header the raw socket
    // delivers (no IP_PKTINFO / IP_RECVTTL control messages).
    opt(
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_ALL,
        0,
        "IP_MULTICAST_ALL",
    )?;
    Ok(fd)
}

/// A receive socket.
#[derive(Debug)]
pub struct RxSocket {
    /// The socket.
    pub sock: RxKind,
    /// Its mio token.
    pub token: Token,
    /// Interface index.
    pub ifindex: u32,
    /// Family.
    pub family: Family,
    /// Protocol 51 socket.
    pub ah: bool,
    groups: Vec<IpAddr>,
}

impl RxSocket {
    /// Receives up to [`netlink::RX_BATCH`] queued datagrams with one
    /// `recvmmsg` ([`netlink::recv_batch`]): datagram `i` is in
    /// `buf[i * slot..]`, `out[i]` its metadata. `Ok(0)`: nothing queued; a
    /// count below the number of slots: the queue was found empty.
    pub fn recv_batch(
        &self,
        buf: &mut [u8],
        slot: usize,
        out: &mut [Option<Received>; netlink::RX_BATCH],
    ) -> Result<usize, NetError> {
        let fam = nl_family(self.family);
        Ok(netlink::recv_batch(
            self.sock.fd(),
            fam,
            self.ifindex,
            buf,
            slot,
            out,
        )?)
    }
}

/// Every socket of the child.
#[derive(Debug, Default)]
pub struct Sockets {
    rx: Vec<RxSocket>,
    tx4: HashMap<u32, OwnedFd>,
    tx6: HashMap<(u32, Option<IpAddr>), VrrpSocket>,
    next_token: usize,
}

/// First token used for receive sockets.
pub const RX_TOKEN_BASE: usize = 1000;

impl Sockets {
    /// The receive socket with this token.
    pub fn rx_by_token(&self, t: Token) -> Option<&RxSocket> {
        self.rx.iter().find(|r| r.token == t)
    }

    /// Re-registers the receive socket with this token, so that epoll
    /// reports it again if datagrams are still queued (the receive loop
    /// stopped at its per-wake bound; edge-triggered polling would
    /// otherwise wait for the next datagram).
    pub fn rearm_rx(&self, reg: &Registry, t: Token) {
        if let Some(r) = self.rx_by_token(t) {
            if let Err(e) = reg.reregister(
                &mut mio::unix::SourceFd(&r.sock.fd().as_raw_fd()),
                t,
                Interest::READABLE,
            ) {
                log::info!("VRRP socket re-register: {e}");
            }
        }
    }

    /// Makes sure a receive socket exists for (ifindex, family) and is a
    /// member of `group` (when given); registers new sockets with `reg`.
    pub fn ensure_rx(
        &mut self,
        reg: &Registry,
        ifindex: u32,
        family: Family,
        group: Option<IpAddr>,
        ah: bool,
    ) -> Result<(), NetError> {
        if let Some(r) = self
            .rx
            .iter_mut()
            .find(|r| r.ifindex == ifindex && r.family == family && r.ah == ah)
        {
            if let Some(g) = group {
                if !r.groups.contains(&g) {
                    r.sock.join(g, ifindex)?;
                    r.groups.push(g);
                }
            }
            return Ok(());
        }
        let sock = if ah {
            let s = RxKind::Ah(open_ah_rx(ifindex)?);
            if let Some(g) = group {
                s.join(g, ifindex)?;
            }
            s
        } else {
            let mut cfg = VrrpSocketConfig::new(nl_family(family), ifindex);
            cfg.group = group;
            RxKind::Vrrp(VrrpSocket::open(&cfg)?)
        };
        let token = Token(RX_TOKEN_BASE + self.next_token);
        self.next_token += 1;
        reg.register(
            &mut mio::unix::SourceFd(&sock.fd().as_raw_fd()),
            token,
            Interest::READABLE,
        )
        .map_err(|e| NetError::Io("register VRRP socket", e))?;
        self.rx.push(RxSocket {
            sock,
            token,
            ifindex,
            family,
            ah,
            groups: group.into_iter().collect(),
        });
        Ok(())
    }

    /// Closes receive sockets of interfaces/families no longer used.
    pub fn retain_rx(&mut self, reg: &Registry, used: &[(u32, Family)]) {
        self.rx.retain(|r| {
            let keep = used.contains(&(r.ifindex, r.family));
            if !keep {
                let _ = reg.deregister(&mut mio::unix::SourceFd(&r.sock.fd().as_raw_fd()));
            }
            keep
        });
        self.tx4.retain(|i, _| used.contains(&(*i, Family::V4)));
        self.tx6
            .retain(|(i, _), _| used.contains(&(*i, Family::V6)));
    }

    fn tx4(&mut self, ifindex: u32) -> Result<&OwnedFd, NetError> {
        match self.tx4.entry(ifindex) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => Ok(e.insert(open_tx4(ifindex)?)),
        }
    }

    /// Sends one advert built by the protocol core: an IPv4 datagram with
    /// its header, or an IPv6 VRRP message.
    pub fn send(
        &mut self,
        ifindex: u32,
        family: Family,
        src: Option<IpAddr>,
        dst: IpAddr,
        data: &[u8],
    ) -> Result<(), NetError> {
        match (family, dst) {
            (Family::V4, IpAddr::V4(d)) => {
                let fd = self.tx4(ifindex)?;
                let addr = SockaddrIn::from(SocketAddrV4::new(d, 0));
                sendto(fd.as_raw_fd(), data, &addr, MsgFlags::empty())
                    .map_err(|e| NetError::Io("send VRRP advert", e.into()))?;
                Ok(())
            }
            (Family::V6, _) => {
                let key = (ifindex, src);
                if let std::collections::hash_map::Entry::Vacant(slot) = self.tx6.entry(key) {
                    let mut cfg = VrrpSocketConfig::new(netlink::Family::V6, ifindex);
                    cfg.group = None;
                    cfg.src = src;
                    let s = VrrpSocket::open(&cfg)?;
                    let _ = sys::net::setsockopt_int(
                        s.as_fd(),
                        libc::IPPROTO_IPV6,
                        libc::IPV6_TCLASS,
                        0xc0,
                    );
                    let _ =
                        sys::net::setsockopt_int(s.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 0);
                    slot.insert(s);
                }
                if let Some(s) = self.tx6.get(&key) {
                    s.send_to(data, dst)?;
                }
                Ok(())
            }
            _ => Err(NetError::Io(
                "send VRRP advert",
                std::io::ErrorKind::InvalidInput.into(),
            )),
        }
    }
}

fn open_tx4(ifindex: u32) -> Result<OwnedFd, NetError> {
    let fd = sys::net::ip_raw_socket(false, netlink::IPPROTO_VRRP)
        .map_err(|e| NetError::Io("VRRP send socket", e))?;
    let b = fd.as_fd();
    let opt = |level, name, v, op| {
        sys::net::setsockopt_int(b, level, name, v).map_err(|e| NetError::Io(op, e))
    };
    opt(libc::IPPROTO_IP, libc::IP_HDRINCL, 1, "IP_HDRINCL")?;
    opt(
        libc::SOL_SOCKET,
        SO_BINDTOIFINDEX,
        ifindex as i32,
        "SO_BINDTOIFINDEX",
    )?;
    opt(
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_ALL,
        0,
        "IP_MULTICAST_ALL",
    )?;
    opt(libc::SOL_SOCKET, libc::SO_RCVBUF, 0, "SO_RCVBUF")?;
    sys::net::ipv4_multicast_if(b, ifindex, None)
        .map_err(|e| NetError::Io("IP_MULTICAST_IF", e))?;
    setsockopt(&fd, sockopt::IpMulticastLoop, &false)
        .map_err(|e| NetError::Io("IP_MULTICAST_LOOP", e.into()))?;
    Ok(fd)
}
