//! Raw `IPPROTO_VRRP` (112) sockets for adverts, IPv4 and IPv6.
//!
//! One socket both sends and receives: bound to the interface
//! (`SO_BINDTOIFINDEX`), joined to the multicast group on that interface,
//! multicast TTL / hop limit and unicast TTL 255 (RFC 3768 §7.1, RFC 5798
//! §5.1.1.3), multicast loop off (a router must not see its own adverts),
//! `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` off (only groups joined on this
//! socket are delivered, so instances with different `vrrp_mcast_group4`
//! do not see each other's traffic through group memberships).
//! The source address (`mcast_src_ip` / `unicast_src_ip`) is set per packet
//! with an `IP_PKTINFO` / `IPV6_PKTINFO` control message, so the socket is
//! not bound to an address and still receives multicast and unicast.
//! Received IPv4 datagrams carry their IP header, from which the TTL and
//! the destination are read (no receive control messages); IPv6 ones get
//! `IPV6_PKTINFO` / `IPV6_HOPLIMIT`. [`VrrpSocket::recv_batch`] takes up to
//! [`RX_BATCH`] queued datagrams with one `recvmmsg`.
//!
//! ```no_run
//! use keepalived_netlink::{Family, Rtnl, VrrpSocket, VrrpSocketConfig};
//! let ifindex = Rtnl::new()?.ifindex("eth0")?;
//! let mut cfg = VrrpSocketConfig::new(Family::V4, ifindex);
//! cfg.src = Some("192.0.2.11".parse().unwrap()); // mcast_src_ip
//! let sock = VrrpSocket::open(&cfg)?;
//! // mio: registry.register(&mut SourceFd(&sock.as_raw_fd()), TOKEN, READABLE)
//! let mut buf = [0u8; 1500];
//! while let Some(r) = sock.recv(&mut buf)? {
//!     // r.hop_limit == Some(255) is checked by the protocol core;
//!     // &buf[..r.len] is the IPv4 header followed by the advert.
//!     let _ = (r.src, &buf[..r.len]);
//! }
//! sock.send_to(&[0x21, 51, 100, 1, 0, 1, 0, 0], "224.0.0.18".parse().unwrap())?;
//! # Ok::<(), keepalived_netlink::Error>(())
//! ```

use std::io::IoSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    sendmsg, setsockopt, sockopt, ControlMessage, MsgFlags, SockaddrIn, SockaddrIn6,
};
use sys::net::RecvMeta;

use crate::error::{Error, Result};
use crate::types::Family;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 VRRP multicast group (RFC 3768 §5.2.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// `SO_BINDTOIFINDEX` (Linux 5.0+; not in every libc crate version).
const SO_BINDTOIFINDEX: libc::c_int = 62;

/// How to open a [`VrrpSocket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpSocketConfig {
    /// IPv4 or IPv6.
    pub family: Family,
    /// Interface the socket is bound to (the instance's interface or VMAC).
    pub ifindex: u32,
    /// Multicast group to join (`vrrp_mcast_group4/6`); `None` for a
    /// unicast-only instance. Defaults to 224.0.0.18 / ff02::12.
    pub group: Option<IpAddr>,
    /// Source address for sent packets (`mcast_src_ip` /
    /// `unicast_src_ip`); `None` lets the kernel choose.
    pub src: Option<IpAddr>,
    /// Multicast TTL / hop limit (255).
    pub multicast_ttl: u8,
    /// Unicast TTL / hop limit (255; keepalived's `unicast_ttl`).
    pub unicast_ttl: u8,
    /// IPv6 only: let the kernel compute and verify the VRRP checksum at
    /// offset 6 (`IPV6_CHECKSUM`), as keepalived does. Packets with a bad
    /// checksum are then dropped by the kernel, not seen by the daemon.
    pub kernel_checksum: bool,
    /// IP TOS / IPv6 traffic class of sent packets (`IP_TOS` /
    /// `IPV6_TCLASS`); keepalived uses 0xc0 (internetwork control).
    /// `None` leaves the kernel default (0).
    pub tos: Option<u8>,
    /// IPv4 only: [`VrrpSocket::send_to`] takes a complete IP datagram
    /// (`IP_HDRINCL`), header built by the caller as keepalived does (TOS,
    /// id, TTL, source); the kernel fills in the checksum and total
    /// length, and the id and source when zero. `src` is then unused.
    pub header_included: bool,
    /// A socket used only to send: no group is joined and its receive
    /// buffer is set to the minimum. Do not register it for reading.
    pub send_only: bool,
}

impl VrrpSocketConfig {
    /// Defaults for `family` on `ifindex`: the standard group, no source,
    /// TTL 255, kernel checksum for IPv6.
    pub fn new(family: Family, ifindex: u32) -> VrrpSocketConfig {
        let group = match family {
            Family::V4 => IpAddr::V4(VRRP_GROUP_V4),
            Family::V6 => IpAddr::V6(VRRP_GROUP_V6),
        };
        VrrpSocketConfig {
            family,
            ifindex,
            group: Some(group),
            src: None,
            multicast_ttl: 255,
            unicast_ttl: 255,
            kernel_checksum: true,
            tos: None,
            header_included: false,
            send_only: false,
        }
    }
}

/// One received VRRP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes in the buffer. IPv4: the IP header followed by the VRRP
    /// packet, as the kernel delivers it on raw sockets. IPv6: the VRRP
    /// packet only.
    pub len: usize,
    /// The datagram did not fit the buffer.
    pub truncated: bool,
    /// Source address.
    pub src: IpAddr,
    /// Destination address (group or our unicast address). IPv4: from
    /// the IP header (`None` if it is shorter than 20 bytes).
    pub dst: Option<IpAddr>,
    /// Receiving interface. IPv4: the interface the socket is bound to.
    pub ifindex: Option<u32>,
    /// TTL (IPv4, from the IP header) / hop limit (IPv6).
    pub hop_limit: Option<u8>,
}

/// A non-blocking raw VRRP socket. Register [`AsRawFd::as_raw_fd`] with mio
/// (`SourceFd`) for readability and call [`VrrpSocket::recv`] until it
/// returns `None`.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: OwnedFd,
    family: Family,
    ifindex: u32,
    src: Option<IpAddr>,
    header_included: bool,
}

fn io(op: &'static str) -> impl Fn(Errno) -> Error {
    move |e| Error::io(op, e.into())
}

fn int_opt(fd: BorrowedFd<'_>, op: &'static str, level: i32, name: i32, v: i32) -> Result<()> {
    sys::net::setsockopt_int(fd, level, name, v).map_err(|e| Error::io(op, e))
}

impl VrrpSocket {
    /// Opens and configures the socket (needs `CAP_NET_RAW`).
    pub fn open(cfg: &VrrpSocketConfig) -> Result<VrrpSocket> {
        for a in [cfg.group, cfg.src].into_iter().flatten() {
            if Family::of(&a) != cfg.family {
                return Err(Error::Invalid(format!(
                    "{a} is not an {:?} address",
                    cfg.family
                )));
            }
        }
        if cfg.header_included && cfg.family != Family::V4 {
            return Err(Error::Invalid("IP_HDRINCL is for IPv4 sockets".into()));
        }
        if cfg.group.is_some_and(|g| !g.is_multicast()) {
            return Err(Error::Invalid(
                "VRRP group is not a multicast address".into(),
            ));
        }
        let v6 = cfg.family == Family::V6;
        let fd =
            sys::net::ip_raw_socket(v6, IPPROTO_VRRP).map_err(|e| Error::io("VRRP socket", e))?;
        let b = fd.as_fd();
        int_opt(
            b,
            "SO_BINDTOIFINDEX",
            libc::SOL_SOCKET,
            SO_BINDTOIFINDEX,
            cfg.ifindex as i32,
        )?;
        if v6 {
            let p = libc::IPPROTO_IPV6;
            int_opt(
                b,
                "IPV6_MULTICAST_HOPS",
                p,
                libc::IPV6_MULTICAST_HOPS,
                cfg.multicast_ttl.into(),
            )?;
            setsockopt(&fd, sockopt::Ipv6Ttl, &i32::from(cfg.unicast_ttl))
                .map_err(io("IPV6_UNICAST_HOPS"))?;
            int_opt(b, "IPV6_MULTICAST_LOOP", p, libc::IPV6_MULTICAST_LOOP, 0)?;
            int_opt(b, "IPV6_MULTICAST_ALL", p, libc::IPV6_MULTICAST_ALL, 0)?;
            int_opt(
                b,
                "IPV6_MULTICAST_IF",
                p,
                libc::IPV6_MULTICAST_IF,
                cfg.ifindex as i32,
            )?;
            setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true).map_err(io("IPV6_RECVPKTINFO"))?;
            int_opt(b, "IPV6_RECVHOPLIMIT", p, libc::IPV6_RECVHOPLIMIT, 1)?;
            if cfg.kernel_checksum {
                int_opt(b, "IPV6_CHECKSUM", p, libc::IPV6_CHECKSUM, 6)?;
            }
            if let Some(tc) = cfg.tos {
                int_opt(b, "IPV6_TCLASS", p, libc::IPV6_TCLASS, tc.into())?;
            }
        } else {
            setsockopt(&fd, sockopt::IpMulticastTtl, &cfg.multicast_ttl)
                .map_err(io("IP_MULTICAST_TTL"))?;
            setsockopt(&fd, sockopt::Ipv4Ttl, &i32::from(cfg.unicast_ttl)).map_err(io("IP_TTL"))?;
            setsockopt(&fd, sockopt::IpMulticastLoop, &false).map_err(io("IP_MULTICAST_LOOP"))?;
            int_opt(
                b,
                "IP_MULTICAST_ALL",
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_ALL,
                0,
            )?;
            let src = match cfg.src {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            };
            sys::net::ipv4_multicast_if(b, cfg.ifindex, src)
                .map_err(|e| Error::io("IP_MULTICAST_IF", e))?;
            // No IP_PKTINFO / IP_RECVTTL: a raw IPv4 socket delivers the IP
            // header, which has the TTL and the destination (what keepalived
            // reads too); the interface is the one the socket is bound to.
            // Saves the kernel two control messages per datagram.
            if let Some(tos) = cfg.tos {
                int_opt(b, "IP_TOS", libc::IPPROTO_IP, libc::IP_TOS, tos.into())?;
            }
            if cfg.header_included {
                int_opt(b, "IP_HDRINCL", libc::IPPROTO_IP, libc::IP_HDRINCL, 1)?;
            }
        }
        if cfg.send_only {
            int_opt(b, "SO_RCVBUF", libc::SOL_SOCKET, libc::SO_RCVBUF, 0)?;
        }
        let s = VrrpSocket {
            fd,
            family: cfg.family,
            ifindex: cfg.ifindex,
            src: cfg.src,
            header_included: cfg.header_included,
        };
        if let Some(g) = cfg.group.filter(|_| !cfg.send_only) {
            s.join(g)?;
        }
        Ok(s)
    }

    /// The socket's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface it is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn membership(&self, group: IpAddr, join: bool) -> Result<()> {
        let r = match (group, self.family) {
            (IpAddr::V4(g), Family::V4) => {
                sys::net::ipv4_membership(self.fd.as_fd(), g, self.ifindex, join)
            }
            (IpAddr::V6(g), Family::V6) => {
                sys::net::ipv6_membership(self.fd.as_fd(), g, self.ifindex, join)
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "group {group} is of the other family"
                )))
            }
        };
        r.map_err(|e| Error::io(if join { "join group" } else { "leave group" }, e))
    }

    /// Joins a multicast group on the socket's interface.
    pub fn join(&self, group: IpAddr) -> Result<()> {
        self.membership(group, true)
    }

    /// Leaves a multicast group.
    pub fn leave(&self, group: IpAddr) -> Result<()> {
        self.membership(group, false)
    }

    /// Sends one VRRP packet (no IP header) to `dst`: the group or a
    /// unicast peer. IPv6 link-local and link-scope multicast destinations
    /// get the socket's interface as scope. Returns `WouldBlock` as an
    /// `Error::Io` if the socket buffer is full.
    pub fn send_to(&self, pkt: &[u8], dst: IpAddr) -> Result<usize> {
        let iov = [IoSlice::new(pkt)];
        let fd = self.fd.as_raw_fd();
        match (dst, self.family) {
            (IpAddr::V4(d), Family::V4) => {
                let addr = SockaddrIn::from(SocketAddrV4::new(d, 0));
                let info;
                let mut cmsgs = Vec::new();
                if let Some(IpAddr::V4(s)) = self.src.filter(|_| !self.header_included) {
                    info = libc::in_pktinfo {
                        ipi_ifindex: 0,
                        ipi_spec_dst: libc::in_addr {
                            s_addr: u32::from_ne_bytes(s.octets()),
                        },
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    cmsgs.push(ControlMessage::Ipv4PacketInfo(&info));
                }
                sendmsg(fd, &iov, &cmsgs, MsgFlags::empty(), Some(&addr))
                    .map_err(io("send VRRP advert"))
            }
            (IpAddr::V6(d), Family::V6) => {
                let link_scope = d.is_unicast_link_local()
                    || (d.is_multicast() && d.segments()[0] & 0x000f <= 2);
                let scope = if link_scope { self.ifindex } else { 0 };
                let addr = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, scope));
                let info;
                let mut cmsgs = Vec::new();
                if let Some(IpAddr::V6(s)) = self.src {
                    info = libc::in6_pktinfo {
                        ipi6_addr: libc::in6_addr {
                            s6_addr: s.octets(),
                        },
                        ipi6_ifindex: self.ifindex,
                    };
                    cmsgs.push(ControlMessage::Ipv6PacketInfo(&info));
                }
                sendmsg(fd, &iov, &cmsgs, MsgFlags::empty(), Some(&addr))
                    .map_err(io("send VRRP advert"))
            }
            _ => Err(Error::Invalid(format!(
                "destination {dst} is of the other family"
            ))),
        }
    }

    /// Receives one datagram; `Ok(None)` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<Received>> {
        loop {
            match sys::net::recv_msg(self.fd.as_fd(), buf) {
                Ok(m) => match received(self.family, self.ifindex, &m, &buf[..m.len]) {
                    Some(r) => return Ok(Some(r)),
                    None => continue, // no source address: not an IP datagram
                },
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("receive VRRP advert", e)),
            }
        }
    }

    /// Receives up to [`RX_BATCH`] queued datagrams in one system call
    /// (`recvmmsg`): see [`recv_batch`]. `Ok(0)` when nothing is queued.
    pub fn recv_batch(
        &self,
        buf: &mut [u8],
        slot: usize,
        out: &mut [Option<Received>; RX_BATCH],
    ) -> Result<usize> {
        recv_batch(self.fd.as_fd(), self.family, self.ifindex, buf, slot, out)
    }
}

/// Most datagrams [`recv_batch`] returns per call.
pub const RX_BATCH: usize = sys::net::RECV_BATCH_MAX;

/// Receives up to [`RX_BATCH`] datagrams from a raw IP socket of `family`
/// bound to `ifindex` (a [`VrrpSocket`], or keepalived's protocol-51
/// socket for `auth_type AH`) with one `recvmmsg`. Datagram `i` is in
/// `buf[i * slot..][..len]`; `out[i]` is its metadata, `None` for a
/// datagram without an IP source (never seen on raw IP sockets). Returns
/// the count; `0` when nothing is queued.
///
/// IPv4: `dst` and `hop_limit` come from the IP header the kernel
/// delivers (so the socket needs no `IP_PKTINFO`/`IP_RECVTTL`), `ifindex`
/// is the socket's. IPv6: from `IPV6_PKTINFO`/`IPV6_HOPLIMIT`.
///
/// A count below the number of slots (`buf.len() / slot`, at most
/// [`RX_BATCH`]) means the kernel found the queue empty: a caller woken by
/// an edge-triggered poll may stop reading there (see the receive loop of
/// the VRRP child for why that is safe).
#[inline]
pub fn recv_batch(
    fd: BorrowedFd<'_>,
    family: Family,
    ifindex: u32,
    buf: &mut [u8],
    slot: usize,
    out: &mut [Option<Received>; RX_BATCH],
) -> Result<usize> {
    let mut metas = [RecvMeta::default(); RX_BATCH];
    // IPv4 needs no control messages (see `received`).
    let control = family == Family::V6;
    let n = sys::net::recv_mmsg(fd, buf, slot, &mut metas, control)
        .map_err(|e| Error::io("receive VRRP advert", e))?;
    for (i, m) in metas.iter().take(n).enumerate() {
        let data = &buf[i * slot..i * slot + m.len];
        out[i] = received(family, ifindex, m, data);
    }
    Ok(n)
}

/// Metadata of one datagram: IPv4 from its header, IPv6 from the control
/// messages. `None` without a source address.
#[inline]
fn received(family: Family, ifindex: u32, m: &RecvMeta, data: &[u8]) -> Option<Received> {
    let src = m.src?;
    let mut r = Received {
        len: m.len,
        truncated: m.truncated,
        src,
        dst: m.dst,
        ifindex: m.ifindex,
        hop_limit: m.hop_limit,
    };
    if family == Family::V4 {
        r.ifindex = r.ifindex.or(Some(ifindex));
        // A header shorter than 20 bytes is left to the protocol core to
        // reject (it checks the length before anything else).
        if let (Some(&ttl), Some(d)) = (data.get(8), data.get(16..20)) {
            r.hop_limit = r.hop_limit.or(Some(ttl));
            r.dst = r
                .dst
                .or(Some(IpAddr::V4(Ipv4Addr::new(d[0], d[1], d[2], d[3]))));
        }
    }
    Some(r)
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults() {
        let c = VrrpSocketConfig::new(Family::V4, 3);
        assert_eq!(c.group, Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))));
        assert_eq!((c.multicast_ttl, c.unicast_ttl), (255, 255));
        let c = VrrpSocketConfig::new(Family::V6, 3);
        assert_eq!(c.group, Some("ff02::12".parse().unwrap()));
    }

    #[test]
    fn bad_configs_rejected_before_any_syscall() {
        let mut c = VrrpSocketConfig::new(Family::V4, 3);
        c.group = Some("192.0.2.1".parse().unwrap());
        assert!(matches!(VrrpSocket::open(&c), Err(Error::Invalid(_))));
        let mut c = VrrpSocketConfig::new(Family::V4, 3);
        c.src = Some("2001:db8::1".parse().unwrap());
        assert!(matches!(VrrpSocket::open(&c), Err(Error::Invalid(_))));
    }
}
