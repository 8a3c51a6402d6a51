//! The raw `NETLINK_ROUTE` socket (nix): open, send, receive.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

use crate::error::{Error, Result};

/// Opens a `NETLINK_ROUTE` socket bound to the multicast `groups` bitmask
/// (`RTMGRP_*`; 0 for a request socket).
pub(crate) fn open(groups: u32, nonblock: bool) -> Result<OwnedFd> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblock {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        flags,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|e| Error::io("netlink socket", e.into()))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))
        .map_err(|e| Error::io("netlink bind", e.into()))?;
    Ok(fd)
}

/// Sends one request datagram to the kernel.
pub(crate) fn send_req(fd: BorrowedFd<'_>, req: &[u8]) -> Result<()> {
    loop {
        match send(fd.as_raw_fd(), req, MsgFlags::empty()) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::io("netlink send", e.into())),
        }
    }
}

/// Receives one datagram (retrying on `EINTR`); errors are returned raw so
/// callers can tell `EAGAIN` and `ENOBUFS` apart.
pub(crate) fn recv_raw(fd: BorrowedFd<'_>, buf: &mut [u8]) -> std::result::Result<usize, Errno> {
    loop {
        match recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Err(Errno::EINTR) => continue,
            r => return r.map(|n| n.min(buf.len())),
        }
    }
}

/// Receives one datagram, mapping errors.
pub(crate) fn recv_dgram(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    recv_raw(fd, buf).map_err(|e| Error::io("netlink recv", e.into()))
}
