//! Probe I/O on the checker's single mio loop: every probe is a
//! non-blocking socket (or a script) registered with the loop under the
//! probe's token, advanced on readiness until it has a verdict.
//!
//! * TCP_CHECK: non-blocking connect; writable + no `SO_ERROR` = success.
//! * HTTP_GET: connect, write the request from [`check::http::HttpProbe`],
//!   read to EOF, verdict from the sans-IO machine.
//! * SSL_GET: the same bytes through a rustls `ClientConnection` driven by
//!   `read_tls`/`write_tls` on readiness (no blocking handshake).
//! * SMTP_CHECK: [`check::smtp::SmtpDialogue`].
//! * DNS_CHECK: one UDP query, [`check::dns::check_response`].
//! * UDP_CHECK: payload out; reply judged by [`check::udp::UdpExpect`]; an
//!   ICMP port unreachable (ECONNREFUSED) fails; without `require_reply` the
//!   silence until just before the deadline is a success (check_udp.c).
//! * PING_CHECK: ICMP/ICMPv6 echo on a ping socket (`SOCK_DGRAM`), raw
//!   socket when ping sockets are not allowed.
//!
//! MISC_CHECK scripts run through `notify::ScriptRunner` (see the runtime).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use check::http::{HttpProbe, RequestHost, DEFAULT_MAX_BODY_BYTES};
use check::icmp::IcmpFamily;
use check::smtp::{SmtpDialogue, SmtpStep};
use check::udp::UdpExpect;
use check::{ProbeFailure, ProbeOutcome};
use mio::net::{TcpStream, UdpSocket};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::socket::{
    self as ns, AddressFamily, SockFlag, SockProtocol, SockType, SockaddrStorage,
};
use rustls::ClientConnection;

use crate::mapping::{ProbeKind, ProbeSpec};

/// A probe's I/O state.
#[derive(Debug)]
pub enum ProbeIo {
    /// TCP_CHECK: waiting for the connect to finish.
    Tcp(TcpStream),
    /// HTTP_GET / SSL_GET.
    Http(Box<HttpIo>),
    /// SMTP_CHECK.
    Smtp(Box<SmtpIo>),
    /// DNS_CHECK: waiting for the answer to query `id`.
    Dns {
        /// The socket (connected to the server).
        sock: UdpSocket,
        /// Query id.
        id: u16,
    },
    /// UDP_CHECK.
    Udp {
        /// The socket (connected to the server).
        sock: UdpSocket,
        /// What the reply must look like.
        expect: UdpExpect,
    },
    /// PING_CHECK.
    Ping {
        /// Ping or raw ICMP socket.
        fd: OwnedFd,
        /// Echo sequence number sent.
        seq: u16,
        /// ICMP or ICMPv6.
        family: IcmpFamily,
        /// Raw IPv4 socket: replies carry the IP header.
        raw_v4: bool,
    },
}

/// HTTP/SSL probe state.
#[derive(Debug)]
pub struct HttpIo {
    sock: TcpStream,
    connected: bool,
    http: Option<HttpProbe>,
    /// SSL_GET only (boxed: a plain HTTP probe does not carry its ~1 KB).
    tls: Option<Box<ClientConnection>>,
    request_queued: bool,
}

/// SMTP probe state.
#[derive(Debug)]
pub struct SmtpIo {
    sock: TcpStream,
    connected: bool,
    dialogue: SmtpDialogue,
    out: Vec<u8>,
    done: bool,
}

fn unspecified(target: &SocketAddr) -> IpAddr {
    match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn af(target: &SocketAddr) -> AddressFamily {
    match target {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn errno_io(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// A non-blocking socket with the checker's common options applied
/// (`bindto`/`bind_port`, `fwmark`, `bind_if`).
fn new_socket(spec: &ProbeSpec, ty: SockType, proto: Option<SockProtocol>) -> io::Result<OwnedFd> {
    let fd = ns::socket(
        af(&spec.target),
        ty,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        proto,
    )
    .map_err(errno_io)?;
    if let Some(mark) = spec.fwmark() {
        ns::setsockopt(&fd, ns::sockopt::Mark, &mark).map_err(errno_io)?;
    }
    if let Some(ifname) = spec.bind_if() {
        ns::setsockopt(
            &fd,
            ns::sockopt::BindToDevice,
            &std::ffi::OsString::from(ifname),
        )
        .map_err(errno_io)?;
    }
    if let Some(b) = spec.bind() {
        if b.port() != 0 {
            ns::setsockopt(&fd, ns::sockopt::ReuseAddr, &true).map_err(errno_io)?;
        }
        ns::bind(fd.as_raw_fd(), &SockaddrStorage::from(b)).map_err(errno_io)?;
    }
    Ok(fd)
}

fn tcp_connect(spec: &ProbeSpec) -> io::Result<TcpStream> {
    let fd = new_socket(spec, SockType::Stream, None)?;
    match ns::connect(fd.as_raw_fd(), &SockaddrStorage::from(spec.target)) {
        Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
        Err(e) => return Err(errno_io(e)),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(fd)))
}

fn udp_connect(spec: &ProbeSpec) -> io::Result<UdpSocket> {
    let fd = new_socket(spec, SockType::Datagram, None)?;
    if spec.bind().is_none() {
        let any = SocketAddr::new(unspecified(&spec.target), 0);
        ns::bind(fd.as_raw_fd(), &SockaddrStorage::from(any)).map_err(errno_io)?;
    }
    let s = UdpSocket::from_std(std::net::UdpSocket::from(fd));
    s.connect(spec.target)?;
    Ok(s)
}

/// The result of starting a probe.
#[derive(Debug)]
pub enum Started {
    /// Registered; wait for readiness.
    Io(ProbeIo),
    /// Finished at once (e.g. connect refused synchronously).
    Done(ProbeOutcome),
}

fn fail_now(e: &io::Error) -> Started {
    log::debug!("probe could not start: {e}");
    Started::Done(ProbeOutcome::Failure(ProbeFailure::ConnectFailed))
}

/// Starts the probe of `spec` (url index `url` for HTTP) and registers it
/// under `token`. `tls` is the shared SSL_GET client configuration.
pub fn start(
    spec: &ProbeSpec,
    url: usize,
    token: Token,
    registry: &Registry,
    tls: Option<&Arc<rustls::ClientConfig>>,
    seq: u16,
) -> Started {
    let rw = Interest::READABLE | Interest::WRITABLE;
    match &spec.kind {
        ProbeKind::Tcp => match tcp_connect(spec) {
            Ok(mut s) => match registry.register(&mut s, token, Interest::WRITABLE) {
                Ok(()) => Started::Io(ProbeIo::Tcp(s)),
                Err(e) => fail_now(&e),
            },
            Err(e) => fail_now(&e),
        },
        ProbeKind::Http(h) => {
            let Some(u) = h.urls.get(url) else {
                return Started::Done(ProbeOutcome::Failure(ProbeFailure::Io));
            };
            let vh = u.virtualhost.as_deref().or(h.virtualhost.as_deref());
            let host = match vh {
                Some(v) => RequestHost::VirtualHost(v),
                None => RequestHost::Addr(spec.target),
            };
            let http = HttpProbe::new(u, h.protocol, &host, DEFAULT_MAX_BODY_BYTES);
            let tls_conn = if h.ssl {
                let Some(cfg) = tls else {
                    return Started::Done(ProbeOutcome::Failure(ProbeFailure::Io));
                };
                let name = check::tls::server_name(spec.target.ip(), h.sni.as_deref());
                match ClientConnection::new(Arc::clone(cfg), name) {
                    Ok(c) => Some(Box::new(c)),
                    Err(e) => {
                        log::info!("SSL_GET: cannot create TLS session: {e}");
                        return Started::Done(ProbeOutcome::Failure(ProbeFailure::Io));
                    }
                }
            } else {
                None
            };
            match tcp_connect(spec) {
                Ok(mut s) => match registry.register(&mut s, token, rw) {
                    Ok(()) => Started::Io(ProbeIo::Http(Box::new(HttpIo {
                        sock: s,
                        connected: false,
                        http: Some(http),
                        tls: tls_conn,
                        request_queued: false,
                    }))),
                    Err(e) => fail_now(&e),
                },
                Err(e) => fail_now(&e),
            }
        }
        ProbeKind::Smtp { helo } => match tcp_connect(spec) {
            Ok(mut s) => match registry.register(&mut s, token, rw) {
                Ok(()) => Started::Io(ProbeIo::Smtp(Box::new(SmtpIo {
                    sock: s,
                    connected: false,
                    dialogue: SmtpDialogue::new(helo),
                    out: Vec::new(),
                    done: false,
                }))),
                Err(e) => fail_now(&e),
            },
            Err(e) => fail_now(&e),
        },
        ProbeKind::Dns { qtype, name } => {
            let id = seq ^ 0x5a5a;
            let Ok(q) = check::dns::build_query(id, name, *qtype) else {
                return Started::Done(ProbeOutcome::Failure(ProbeFailure::Dns(
                    check::dns::DnsFailure::WriteFailed,
                )));
            };
            match udp_connect(spec) {
                Ok(mut s) => {
                    if s.send(&q).is_err() {
                        return Started::Done(ProbeOutcome::Failure(ProbeFailure::Dns(
                            check::dns::DnsFailure::WriteFailed,
                        )));
                    }
                    match registry.register(&mut s, token, Interest::READABLE) {
                        Ok(()) => Started::Io(ProbeIo::Dns { sock: s, id }),
                        Err(e) => fail_now(&e),
                    }
                }
                Err(e) => fail_now(&e),
            }
        }
        ProbeKind::Udp(u) => match udp_connect(spec) {
            Ok(mut s) => {
                if s.send(&u.payload).is_err() {
                    return Started::Done(ProbeOutcome::Failure(ProbeFailure::ConnectFailed));
                }
                match registry.register(&mut s, token, Interest::READABLE) {
                    Ok(()) => Started::Io(ProbeIo::Udp {
                        sock: s,
                        expect: u.expect.clone(),
                    }),
                    Err(e) => fail_now(&e),
                }
            }
            Err(e) => fail_now(&e),
        },
        ProbeKind::Ping => match ping_start(spec, seq) {
            Ok((fd, family, raw_v4)) => {
                let raw = fd.as_raw_fd();
                match registry.register(&mut SourceFd(&raw), token, Interest::READABLE) {
                    Ok(()) => Started::Io(ProbeIo::Ping {
                        fd,
                        seq,
                        family,
                        raw_v4,
                    }),
                    Err(e) => fail_now(&e),
                }
            }
            Err(e) => fail_now(&e),
        },
        ProbeKind::Misc(_) | ProbeKind::File => {
            Started::Done(ProbeOutcome::Failure(ProbeFailure::Io))
        }
    }
}

fn ping_start(spec: &ProbeSpec, seq: u16) -> io::Result<(OwnedFd, IcmpFamily, bool)> {
    let (family, proto) = match spec.target {
        SocketAddr::V4(_) => (IcmpFamily::V4, SockProtocol::Icmp),
        SocketAddr::V6(_) => (IcmpFamily::V6, SockProtocol::IcmpV6),
    };
    let (fd, raw) = match new_socket(spec, SockType::Datagram, Some(proto)) {
        Ok(fd) => (fd, false),
        Err(_) => (new_socket(spec, SockType::Raw, Some(proto))?, true),
    };
    let id = (std::process::id() & 0xffff) as u16;
    let pkt = check::icmp::build_echo_request(family, id, seq);
    let to = SockaddrStorage::from(SocketAddr::new(spec.target.ip(), 0));
    ns::sendto(fd.as_raw_fd(), &pkt, &to, ns::MsgFlags::empty()).map_err(errno_io)?;
    Ok((fd, family, raw && family == IcmpFamily::V4))
}

/// Stops watching a probe's socket (it is closed when dropped).
pub fn deregister(io: &mut ProbeIo, registry: &Registry) {
    let _ = match io {
        ProbeIo::Tcp(s) => registry.deregister(s),
        ProbeIo::Http(h) => registry.deregister(&mut h.sock),
        ProbeIo::Smtp(s) => registry.deregister(&mut s.sock),
        ProbeIo::Dns { sock, .. } | ProbeIo::Udp { sock, .. } => registry.deregister(sock),
        ProbeIo::Ping { fd, .. } => registry.deregister(&mut SourceFd(&fd.as_raw_fd())),
    };
}

fn connect_result(s: &TcpStream, ev: &sched::IoEvent) -> Option<bool> {
    match s.take_error() {
        Ok(Some(_)) | Err(_) => return Some(false),
        Ok(None) => {}
    }
    if ev.error {
        return Some(false);
    }
    match s.peer_addr() {
        Ok(_) => Some(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
            if ev.writable || ev.read_closed {
                // Not connected although the kernel says writable/hung up:
                // the connect failed.
                Some(false)
            } else {
                None
            }
        }
        Err(_) => Some(false),
    }
}

impl ProbeIo {
    /// Advances the probe on readiness; `Some(outcome)` when it is over.
    pub fn on_event(&mut self, ev: &sched::IoEvent) -> Option<ProbeOutcome> {
        match self {
            ProbeIo::Tcp(s) => match connect_result(s, ev)? {
                true => Some(ProbeOutcome::Success(None)),
                false => Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed)),
            },
            ProbeIo::Http(h) => h.on_event(ev),
            ProbeIo::Smtp(s) => s.on_event(ev),
            ProbeIo::Dns { sock, id } => {
                let mut buf = [0u8; check::dns::DNS_BUFFER_SIZE];
                loop {
                    match sock.recv(&mut buf) {
                        Ok(n) => match check::dns::check_response(*id, &buf[..n]) {
                            check::dns::DnsVerdict::Ignore => continue,
                            check::dns::DnsVerdict::Success => {
                                return Some(ProbeOutcome::Success(None))
                            }
                            check::dns::DnsVerdict::Failure(f) => {
                                return Some(ProbeOutcome::Failure(ProbeFailure::Dns(f)))
                            }
                        },
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                        Err(_) => return Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed)),
                    }
                }
            }
            ProbeIo::Udp { sock, expect } => {
                let mut buf = vec![0u8; expect.recv_buf_len()];
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        if expect.reply_ok(&buf[..n]) {
                            Some(ProbeOutcome::Success(None))
                        } else {
                            Some(ProbeOutcome::Failure(ProbeFailure::ReplyMismatch))
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                    Err(_) => Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed)),
                }
            }
            ProbeIo::Ping {
                fd,
                seq,
                family,
                raw_v4,
            } => {
                let mut buf = [0u8; 1500];
                loop {
                    match ns::recv(fd.as_raw_fd(), &mut buf, ns::MsgFlags::MSG_DONTWAIT) {
                        Ok(n) => {
                            let mut msg = &buf[..n];
                            if *raw_v4 {
                                let ihl = usize::from(msg.first().copied().unwrap_or(0) & 0x0f) * 4;
                                msg = msg.get(ihl..).unwrap_or_default();
                            }
                            match check::icmp::parse_echo_reply(*family, msg) {
                                Ok(r) if r.seq == *seq => return Some(ProbeOutcome::Success(None)),
                                _ => continue,
                            }
                        }
                        Err(nix::errno::Errno::EAGAIN) => return None,
                        Err(_) => return Some(ProbeOutcome::Failure(ProbeFailure::ReplyMismatch)),
                    }
                }
            }
        }
    }
}

impl HttpIo {
    fn on_event(&mut self, ev: &sched::IoEvent) -> Option<ProbeOutcome> {
        if !self.connected {
            match connect_result(&self.sock, ev)? {
                true => self.connected = true,
                false => return Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed)),
            }
        }
        // Queue the request (into TLS or for the socket).
        if !self.request_queued {
            if let (Some(tls), Some(http)) = (self.tls.as_mut(), self.http.as_mut()) {
                let req = http.pending().to_vec();
                if tls.writer().write_all(&req).is_err() {
                    return Some(ProbeOutcome::Failure(ProbeFailure::Io));
                }
                http.wrote(req.len());
            }
            self.request_queued = true;
        }
        if let Some(r) = self.flush() {
            return Some(r);
        }
        self.read()
    }

    /// Writes what is pending (plain request bytes or TLS records).
    fn flush(&mut self) -> Option<ProbeOutcome> {
        if let Some(tls) = self.tls.as_mut() {
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return Some(ProbeOutcome::Failure(ProbeFailure::Io)),
                }
            }
            return None;
        }
        let http = self.http.as_mut()?;
        while !http.pending().is_empty() {
            match self.sock.write(http.pending()) {
                Ok(0) => return Some(ProbeOutcome::Failure(ProbeFailure::Io)),
                Ok(n) => http.wrote(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Some(ProbeOutcome::Failure(ProbeFailure::Io)),
            }
        }
        None
    }

    fn finish(&mut self) -> Option<ProbeOutcome> {
        let http = self.http.take()?;
        Some(ProbeOutcome::from(http.eof()))
    }

    fn feed(&mut self, data: &[u8]) -> Option<ProbeOutcome> {
        let http = self.http.as_mut()?;
        if let Some(f) = http.received(data) {
            return Some(ProbeOutcome::Failure(ProbeFailure::Http(f)));
        }
        None
    }

    fn read(&mut self) -> Option<ProbeOutcome> {
        let mut buf = [0u8; 16 * 1024];
        if self.tls.is_none() {
            loop {
                match self.sock.read(&mut buf) {
                    Ok(0) => return self.finish(),
                    Ok(n) => {
                        if let Some(r) = self.feed(&buf[..n]) {
                            return Some(r);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // A reset after data: judge what arrived, as keepalived does.
                    Err(_) => return self.finish(),
                }
            }
        }
        // TLS: ciphertext in, plaintext out.
        let mut eof = false;
        loop {
            let tls = self.tls.as_mut()?;
            match tls.read_tls(&mut self.sock) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {
                    if tls.process_new_packets().is_err() {
                        let _ = tls.write_tls(&mut self.sock);
                        return Some(ProbeOutcome::Failure(ProbeFailure::Io));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    eof = true;
                    break;
                }
            }
            // Drain plaintext as it comes (bounded buffers inside rustls).
            loop {
                let tls = self.tls.as_mut()?;
                match tls.reader().read(&mut buf) {
                    Ok(0) => return self.finish(),
                    Ok(n) => {
                        let data = buf[..n].to_vec();
                        if let Some(r) = self.feed(&data) {
                            return Some(r);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return self.finish(),
                }
            }
        }
        // Handshake records may need sending after reading.
        if let Some(r) = self.flush() {
            return Some(r);
        }
        if eof {
            // Drain the rest of the plaintext, then judge.
            while let Some(tls) = self.tls.as_mut() {
                match tls.reader().read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let data = buf[..n].to_vec();
                        if let Some(r) = self.feed(&data) {
                            return Some(r);
                        }
                    }
                    _ => break,
                }
            }
            return self.finish();
        }
        None
    }
}

impl SmtpIo {
    fn on_event(&mut self, ev: &sched::IoEvent) -> Option<ProbeOutcome> {
        if !self.connected {
            match connect_result(&self.sock, ev)? {
                true => self.connected = true,
                false => return Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed)),
            }
        }
        let mut buf = [0u8; 1024];
        loop {
            if let Some(r) = self.flush() {
                return Some(r);
            }
            match self.sock.read(&mut buf) {
                Ok(0) => {
                    return Some(match self.dialogue.eof() {
                        Ok(()) => ProbeOutcome::Success(None),
                        Err(f) => ProbeOutcome::Failure(ProbeFailure::Smtp(f)),
                    })
                }
                Ok(n) => match self.dialogue.feed(&buf[..n]) {
                    Ok(SmtpStep::NeedMore) => {}
                    Ok(SmtpStep::Send(b)) => self.out.extend_from_slice(&b),
                    Ok(SmtpStep::Done) => {
                        self.done = true;
                        return Some(ProbeOutcome::Success(None));
                    }
                    Err(f) => return Some(ProbeOutcome::Failure(ProbeFailure::Smtp(f))),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    return Some(ProbeOutcome::Failure(ProbeFailure::Smtp(
                        check::smtp::SmtpFailure::ReadFailure,
                    )))
                }
            }
        }
    }

    fn flush(&mut self) -> Option<ProbeOutcome> {
        while !self.out.is_empty() {
            match self.sock.write(&self.out) {
                Ok(0) => return Some(ProbeOutcome::Failure(ProbeFailure::Io)),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return Some(ProbeOutcome::Failure(ProbeFailure::Io)),
            }
        }
        None
    }
}
