//! Socket-level system calls that nix does not cover (or covers only
//! partially): multicast membership by interface index (`ip_mreqn`),
//! AF_PACKET send/receive with `sockaddr_ll`, integer socket options by
//! number, and `recvmsg` / `recvmmsg` returning the IPv4/IPv6 packet-info
//! and hop-limit ancillary data the VRRP receive path needs.
//!
//! Every function takes a borrowed fd ([`BorrowedFd`]) so the caller keeps
//! ownership; every `unsafe` block carries a `// SAFETY:` comment.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Converts a libc return value (`-1` = error) to an `io::Result`.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Converts a libc `ssize_t` return value to an `io::Result<usize>`.
fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// `setsockopt` with a plain value of type `T` (an int or a C struct).
fn setsockopt_val<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` is a valid reference for the duration of the call and
    // its exact size is passed as optlen; the kernel only reads from it.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast::<libc::c_void>(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    cvt(ret).map(|_| ())
}

/// Sets an integer socket option (`level`, `name` as in `<netinet/in.h>`),
/// e.g. `IPPROTO_IPV6`/`IPV6_RECVHOPLIMIT`.
pub fn setsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    setsockopt_val(fd, level, name, &value)
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(a.octets()),
    }
}

fn in6_addr(a: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr {
        s6_addr: a.octets(),
    }
}

/// Joins (`join = true`) or leaves an IPv4 multicast group on the interface
/// with index `ifindex` (`IP_ADD_MEMBERSHIP` with a `struct ip_mreqn`).
pub fn ipv4_membership(
    fd: BorrowedFd<'_>,
    group: Ipv4Addr,
    ifindex: u32,
    join: bool,
) -> io::Result<()> {
    let mreq = libc::ip_mreqn {
        imr_multiaddr: in_addr(group),
        imr_address: in_addr(Ipv4Addr::UNSPECIFIED),
        imr_ifindex: ifindex as libc::c_int,
    };
    let name = if join {
        libc::IP_ADD_MEMBERSHIP
    } else {
        libc::IP_DROP_MEMBERSHIP
    };
    setsockopt_val(fd, libc::IPPROTO_IP, name, &mreq)
}

/// Joins or leaves an IPv6 multicast group on interface `ifindex`
/// (`IPV6_ADD_MEMBERSHIP` / `IPV6_DROP_MEMBERSHIP`).
pub fn ipv6_membership(
    fd: BorrowedFd<'_>,
    group: Ipv6Addr,
    ifindex: u32,
    join: bool,
) -> io::Result<()> {
    let mreq = libc::ipv6_mreq {
        ipv6mr_multiaddr: in6_addr(group),
        ipv6mr_interface: ifindex as libc::c_uint,
    };
    let name = if join {
        libc::IPV6_ADD_MEMBERSHIP
    } else {
        libc::IPV6_DROP_MEMBERSHIP
    };
    setsockopt_val(fd, libc::IPPROTO_IPV6, name, &mreq)
}

/// Selects the outgoing interface (and, when `src` is given, the source
/// address) of IPv4 multicast (`IP_MULTICAST_IF` with a `struct ip_mreqn`).
pub fn ipv4_multicast_if(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    src: Option<Ipv4Addr>,
) -> io::Result<()> {
    let mreq = libc::ip_mreqn {
        imr_multiaddr: in_addr(Ipv4Addr::UNSPECIFIED),
        imr_address: in_addr(src.unwrap_or(Ipv4Addr::UNSPECIFIED)),
        imr_ifindex: ifindex as libc::c_int,
    };
    setsockopt_val(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)
}

/// Opens an `AF_PACKET`/`SOCK_RAW` socket for the Ethernet protocol
/// `ethertype` (host order, e.g. `0x0806`), close-on-exec and non-blocking.
/// `ethertype = 0` opens a send-only socket that receives nothing.
pub fn packet_socket(ethertype: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call with constant arguments; no pointers.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::c_int::from(ethertype.to_be()),
        )
    })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a raw IP socket (`SOCK_RAW`) for IP protocol `protocol` (e.g.
/// 112 = VRRP), IPv4 or IPv6, close-on-exec and non-blocking. nix's
/// `SockProtocol` has no variant for arbitrary IP protocol numbers.
pub fn ip_raw_socket(ipv6: bool, protocol: u8) -> io::Result<OwnedFd> {
    let domain = if ipv6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2) call with integer arguments; no pointers.
    let fd = cvt(unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::c_int::from(protocol),
        )
    })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sockaddr_ll(ifindex: u32, ethertype: u16, dst: Option<[u8; 6]>) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is a plain C struct for which all-zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = ethertype.to_be();
    sll.sll_ifindex = ifindex as libc::c_int;
    if let Some(mac) = dst {
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&mac);
    }
    sll
}

/// Binds an `AF_PACKET` socket to interface `ifindex` and `ethertype`
/// (host order), so that it receives only that interface's frames.
pub fn packet_bind(fd: BorrowedFd<'_>, ifindex: u32, ethertype: u16) -> io::Result<()> {
    let sll = sockaddr_ll(ifindex, ethertype, None);
    // SAFETY: `sll` is a valid, initialised sockaddr_ll and its size is passed.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Sends a complete Ethernet frame (`frame` starts with the Ethernet header)
/// on interface `ifindex` through an `AF_PACKET`/`SOCK_RAW` socket.
pub fn packet_send(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    ethertype: u16,
    dst: [u8; 6],
    frame: &[u8],
) -> io::Result<usize> {
    let sll = sockaddr_ll(ifindex, ethertype, Some(dst));
    // SAFETY: `frame` is a valid slice for `frame.len()` bytes; `sll` is a
    // valid sockaddr_ll whose size is passed; the kernel only reads both.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast::<libc::c_void>(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
}

/// What [`recv_msg`] learnt about one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvMeta {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// Source address (from the socket address).
    pub src: Option<IpAddr>,
    /// Destination address (`IP_PKTINFO` / `IPV6_PKTINFO`), if enabled.
    pub dst: Option<IpAddr>,
    /// Receiving interface index (`IP_PKTINFO` / `IPV6_PKTINFO`), if enabled.
    pub ifindex: Option<u32>,
    /// Hop limit (`IPV6_HOPLIMIT`) or TTL (`IP_TTL`), if enabled.
    pub hop_limit: Option<u8>,
}

/// The source address in a `sockaddr_storage` filled by the kernel.
fn storage_addr(storage: &libc::sockaddr_storage) -> Option<IpAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, and
            // sockaddr_storage is large and aligned enough for it.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// Decodes the `IP_PKTINFO`, `IP_TTL`, `IPV6_PKTINFO` and `IPV6_HOPLIMIT`
/// control messages of a `msghdr` filled by `recvmsg`/`recvmmsg`.
fn decode_cmsgs(msg: &libc::msghdr, meta: &mut RecvMeta) {
    // SAFETY: `msg` was filled by the kernel; CMSG_FIRSTHDR/NXTHDR only
    // return headers inside msg_control[..msg_controllen] (null when the
    // kernel wrote none: msg_controllen below a header).
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points inside the control buffer.
        let (level, ty, data, data_len) = unsafe {
            let c = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let hdr = libc::CMSG_LEN(0) as usize;
            (
                c.cmsg_level,
                c.cmsg_type,
                data,
                (c.cmsg_len as usize).saturating_sub(hdr),
            )
        };
        match (level, ty) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data_len >= size_of::<libc::in_pktinfo>() => {
                // SAFETY: the kernel wrote an in_pktinfo here (length checked);
                // read_unaligned because cmsg data need not be aligned for it.
                let info = unsafe { data.cast::<libc::in_pktinfo>().read_unaligned() };
                meta.dst = Some(IpAddr::V4(Ipv4Addr::from(
                    info.ipi_addr.s_addr.to_ne_bytes(),
                )));
                meta.ifindex = u32::try_from(info.ipi_ifindex).ok();
            }
            (libc::IPPROTO_IP, libc::IP_TTL) if data_len >= size_of::<libc::c_int>() => {
                // SAFETY: the kernel wrote an int here (length checked).
                let ttl = unsafe { data.cast::<libc::c_int>().read_unaligned() };
                meta.hop_limit = u8::try_from(ttl).ok();
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                if data_len >= size_of::<libc::in6_pktinfo>() =>
            {
                // SAFETY: the kernel wrote an in6_pktinfo here (length checked).
                let info = unsafe { data.cast::<libc::in6_pktinfo>().read_unaligned() };
                meta.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                meta.ifindex = Some(info.ipi6_ifindex);
            }
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) if data_len >= size_of::<libc::c_int>() => {
                // SAFETY: the kernel wrote an int here (length checked).
                let hl = unsafe { data.cast::<libc::c_int>().read_unaligned() };
                meta.hop_limit = u8::try_from(hl).ok();
            }
            _ => {}
        }
        // SAFETY: `msg` and `cmsg` are as described above.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
}

/// `recvmsg(2)` on an IPv4 or IPv6 datagram/raw socket with room for
/// ancillary data; decodes `IP_PKTINFO`, `IP_TTL`, `IPV6_PKTINFO` and
/// `IPV6_HOPLIMIT` control messages when the socket has them enabled.
/// Returns `WouldBlock` on a non-blocking socket with nothing queued.
pub fn recv_msg(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<RecvMeta> {
    // u64 alignment is enough for cmsghdr on Linux.
    let mut cbuf = [0u64; 32];
    // SAFETY: sockaddr_storage and msghdr are plain C structs; all-zero is valid.
    let mut storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast::<libc::c_void>();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast::<libc::c_void>();
    msg.msg_controllen = size_of::<[u64; 32]>() as _; // usize on glibc, socklen_t on musl

    // SAFETY: every pointer in `msg` refers to a live local (`storage`,
    // `iov` -> `buf`, `cbuf`) with the matching length; they outlive the call.
    let len = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })?;

    let mut meta = RecvMeta {
        len: len.min(buf.len()),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        src: storage_addr(&storage),
        ..RecvMeta::default()
    };
    decode_cmsgs(&msg, &mut meta);
    Ok(meta)
}

/// Most datagrams one [`recv_mmsg`] call receives.
pub const RECV_BATCH_MAX: usize = 8;

/// Control-message room per datagram in [`recv_mmsg`]: `in6_pktinfo` and
/// a hop limit take 64 bytes (`CMSG_SPACE(20) + CMSG_SPACE(4)`); twice that.
const BATCH_CMSG_WORDS: usize = 16;

/// The source address in a `sockaddr_in`/`sockaddr_in6` the kernel wrote
/// (`len` bytes of it) at `p`.
///
/// # Safety
/// `p` must point to at least `len` bytes written by the kernel, aligned
/// for `sockaddr_in6`.
unsafe fn sockaddr_at(p: *const libc::sockaddr_in6, len: usize) -> Option<IpAddr> {
    if len < size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: the family field is within the `len` bytes written.
    let family = unsafe { std::ptr::addr_of!((*p).sin6_family).read() };
    match libc::c_int::from(family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: a complete sockaddr_in was written at `p`, and its
            // alignment (4) is below sockaddr_in6's.
            let sin = unsafe { p.cast::<libc::sockaddr_in>().read() };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: a complete sockaddr_in6 was written at `p`.
            let sin6 = unsafe { p.read() };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// `recvmmsg(2)`: receives up to `min(metas.len(), buf.len() / slot,`
/// [`RECV_BATCH_MAX`]`)` datagrams from an IPv4 or IPv6 socket in one
/// system call. Datagram `i` lands in `buf[i * slot..]` (at most `slot`
/// bytes, longer ones are `truncated`) and is described by `metas[i]`
/// (source, and with `control` the packet-info and hop-limit control
/// messages [`recv_msg`] decodes; without it no control buffer is passed).
/// Returns how many were received, `0` when nothing is queued (the call
/// never blocks; `WouldBlock` is never returned). A count below the
/// number of slots means the kernel found the queue empty before the
/// batch was full.
///
/// Only the headers of the slots in use are built, and nothing the kernel
/// fills is zeroed first: the call sits on the VRRP child's per-advert
/// path, where every cache line touched after a sleep is a miss.
#[inline]
pub fn recv_mmsg(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    slot: usize,
    metas: &mut [RecvMeta],
    control: bool,
) -> io::Result<usize> {
    let n = match buf.len().checked_div(slot) {
        Some(k) => k.min(metas.len()).min(RECV_BATCH_MAX),
        None => 0,
    };
    if n == 0 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let mut names = [MaybeUninit::<libc::sockaddr_in6>::uninit(); RECV_BATCH_MAX];
    let mut cbufs = [MaybeUninit::<[u64; BATCH_CMSG_WORDS]>::uninit(); RECV_BATCH_MAX];
    let mut iovs = [MaybeUninit::<libc::iovec>::uninit(); RECV_BATCH_MAX];
    let mut hdrs = [MaybeUninit::<libc::mmsghdr>::uninit(); RECV_BATCH_MAX];
    for (i, chunk) in buf.chunks_exact_mut(slot).take(n).enumerate() {
        let iov = iovs[i].write(libc::iovec {
            iov_base: chunk.as_mut_ptr().cast::<libc::c_void>(),
            iov_len: slot,
        });
        // SAFETY: mmsghdr is a plain C struct (pointers, lengths, padding
        // on some libcs) for which all-zero is valid.
        let mut h: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
        h.msg_hdr.msg_name = names[i].as_mut_ptr().cast::<libc::c_void>();
        h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        h.msg_hdr.msg_iov = iov;
        h.msg_hdr.msg_iovlen = 1;
        if control {
            h.msg_hdr.msg_control = cbufs[i].as_mut_ptr().cast::<libc::c_void>();
            h.msg_hdr.msg_controllen = size_of::<[u64; BATCH_CMSG_WORDS]>() as _;
        }
        hdrs[i].write(h);
    }
    let got = loop {
        // SAFETY: the first `n` headers are initialised and point at live
        // locals (`names`, `iovs` -> disjoint `slot`-sized chunks of `buf`,
        // `cbufs`) with their exact sizes; all outlive the call, and the
        // kernel writes only within them. MSG_DONTWAIT: never blocks; a
        // null timeout is allowed.
        let r = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr().cast::<libc::mmsghdr>(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        match cvt(r) {
            Ok(k) => break (k as usize).min(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) => return Err(e),
        }
    };
    for (i, meta) in metas.iter_mut().take(got).enumerate() {
        // SAFETY: header `i < n` was initialised above; the kernel updated
        // its lengths and flags.
        let h = unsafe { hdrs[i].assume_init_ref() };
        let mut m = RecvMeta {
            len: (h.msg_len as usize).min(slot),
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            // SAFETY: the kernel wrote msg_namelen bytes (at most the
            // sockaddr_in6 we offered) of names[i].
            src: unsafe {
                sockaddr_at(
                    names[i].as_ptr(),
                    (h.msg_hdr.msg_namelen as usize).min(size_of::<libc::sockaddr_in6>()),
                )
            },
            ..RecvMeta::default()
        };
        if control {
            decode_cmsgs(&h.msg_hdr, &mut m);
        }
        *meta = m;
    }
    Ok(got)
}

/// Receives one frame from an `AF_PACKET` socket: returns the frame length
/// and the interface index it arrived on. `WouldBlock` when none is queued.
pub fn packet_recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, u32)> {
    // SAFETY: sockaddr_ll is a plain C struct; all-zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut slen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `sll`/`slen`
    // are valid and describe the address buffer size.
    let n = cvt_size(unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<libc::c_void>(),
            buf.len(),
            0,
            (&mut sll as *mut libc::sockaddr_ll).cast::<libc::sockaddr>(),
            &mut slen,
        )
    })?;
    Ok((n.min(buf.len()), sll.sll_ifindex as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_addr_is_network_order() {
        let a = in_addr(Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(a.s_addr.to_ne_bytes(), [224, 0, 0, 18]);
    }

    #[test]
    fn sockaddr_ll_fields() {
        let s = sockaddr_ll(7, 0x0806, Some([0xff; 6]));
        assert_eq!(s.sll_family, libc::AF_PACKET as u16);
        assert_eq!(s.sll_protocol, 0x0806u16.to_be());
        assert_eq!(s.sll_ifindex, 7);
        assert_eq!(s.sll_halen, 6);
        assert_eq!(&s.sll_addr[..6], &[0xff; 6]);
    }
}
