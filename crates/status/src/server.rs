//! Non-blocking status socket and `/metrics` responder, on the caller's mio
//! loop.
//!
//! An [`Endpoint`] owns a listener and up to [`MAX_CONNS`] connections. It
//! uses the tokens `base ..= base + MAX_CONNS` ([`TOKENS_PER_ENDPOINT`]); the
//! owner registers it once, and for each event whose token
//! [`Endpoint::owns`], calls [`Endpoint::handle`] with a closure producing
//! the requested body. Call [`Endpoint::expire`] now and then (e.g. on a 1 s
//! tick) to drop clients that stall (> [`IO_TIMEOUT`]).
//!
//! * Status ([`Endpoint::bind_status`]): a Unix stream socket, mode 0600, in a
//!   directory created 0700; a client connects and reads one JSON document
//!   until EOF; nothing needs to be sent. Peers whose uid is neither 0 nor
//!   ours (SO_PEERCRED) get an error document instead.
//! * Metrics ([`Endpoint::bind_metrics`]): TCP, a minimal HTTP/1.0 server:
//!   `GET /metrics` (text format 0.0.4), `GET /status` (the JSON document),
//!   `GET /` (a one-line index); requests larger than [`MAX_REQUEST`] get
//!   `431`, other methods `405`, other paths `404`; one response per
//!   connection (`Connection: close`).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// Default status socket path.
pub const DEFAULT_SOCKET: &str = "/run/keepalived/keepalived.sock";
/// Connections served at once per endpoint (more are closed at accept).
pub const MAX_CONNS: usize = 16;
/// Tokens an endpoint uses, starting at its base.
pub const TOKENS_PER_ENDPOINT: usize = 1 + MAX_CONNS;
/// Largest HTTP request head accepted.
pub const MAX_REQUEST: usize = 8192;
/// A connection not finished within this time is dropped.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// The JSON status document.
    Status,
    /// The Prometheus exposition.
    Metrics,
}

/// Why an endpoint could not be set up.
#[derive(Debug)]
pub enum ServerError {
    /// Something other than a socket is in the way at the socket path.
    NotASocket(PathBuf),
    /// The socket's directory is a symlink or not a directory.
    BadDirectory(PathBuf),
    /// Another process serves this socket.
    InUse(PathBuf),
    /// A system call failed.
    Io {
        /// What we were doing.
        step: &'static str,
        /// Path or address concerned.
        what: String,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::NotASocket(p) => {
                write!(
                    f,
                    "{} exists and is not a socket; not replacing it",
                    p.display()
                )
            }
            ServerError::InUse(p) => {
                write!(f, "{} is served by another process", p.display())
            }
            ServerError::BadDirectory(p) => {
                write!(f, "{} is not a directory (or is a symlink)", p.display())
            }
            ServerError::Io { step, what, source } => write!(f, "{step} {what}: {source}"),
        }
    }
}

impl std::error::Error for ServerError {}

fn io_err(step: &'static str, what: impl fmt::Display) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.to_string();
    move |source| ServerError::Io { step, what, source }
}

#[derive(Debug)]
enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

#[derive(Debug)]
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
        }
    }
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
        }
    }
    fn shutdown(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }
}

#[derive(Debug)]
struct Conn {
    stream: Stream,
    inbuf: Vec<u8>,
    out: Option<Vec<u8>>,
    written: usize,
    opened: Instant,
    /// Response sent and counted; TCP: write side shut, reading the rest of
    /// the request until EOF so that closing does not reset the connection
    /// (a reset can destroy the response before the client read it).
    draining: bool,
    discarded: usize,
}

/// Most bytes read and dropped after a response before closing anyway.
const MAX_DRAIN: usize = 1 << 20;

/// A listening endpoint and its connections.
#[derive(Debug)]
pub struct Endpoint {
    listener: Listener,
    base: Option<usize>,
    conns: Vec<Option<Conn>>,
    served: u64,
}

/// Create `dir` (and parents) with mode 0700 when missing; refuse a symlink
/// or a non-directory. An existing directory keeps its mode (it may be
/// shared), except one we just created.
fn prepare_dir(dir: &Path) -> Result<(), ServerError> {
    match std::fs::symlink_metadata(dir) {
        Ok(md) if md.file_type().is_dir() => Ok(()),
        Ok(_) => Err(ServerError::BadDirectory(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err("create directory", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err("chmod", dir.display()))
        }
        Err(e) => Err(io_err("stat", dir.display())(e)),
    }
}

impl Endpoint {
    /// Bind the status socket at `path`: its directory is created 0700 when
    /// missing, a stale socket is removed (a live one — another daemon — and
    /// anything that is not a socket are refused), the socket is made 0600.
    pub fn bind_status(path: &Path) -> Result<Endpoint, ServerError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        prepare_dir(dir)?;
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.file_type().is_socket() => {
                // A live server (another daemon) answers: leave it alone.
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ServerError::InUse(path.to_path_buf()));
                }
                std::fs::remove_file(path).map_err(io_err("remove stale", path.display()))?
            }
            Ok(_) => return Err(ServerError::NotASocket(path.to_path_buf())),
            Err(_) => {}
        }
        let l = UnixListener::bind(path).map_err(io_err("bind", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("chmod", path.display()))?;
        Ok(Endpoint::new(Listener::Unix(l, path.to_path_buf())))
    }

    /// Bind the metrics listener on `addr` (e.g. `127.0.0.1:9650`).
    pub fn bind_metrics(addr: SocketAddr) -> Result<Endpoint, ServerError> {
        let l = TcpListener::bind(addr).map_err(io_err("bind", addr))?;
        Ok(Endpoint::new(Listener::Tcp(l)))
    }

    fn new(listener: Listener) -> Endpoint {
        Endpoint {
            listener,
            base: None,
            conns: (0..MAX_CONNS).map(|_| None).collect(),
            served: 0,
        }
    }

    /// The bound TCP address (metrics endpoints).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.listener {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }

    /// Responses completed since start.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// Register the listener with token `base`; connections will use
    /// `base + 1 ..= base + MAX_CONNS`.
    pub fn register(&mut self, registry: &Registry, base: usize) -> io::Result<()> {
        let t = Token(base);
        match &mut self.listener {
            Listener::Unix(l, _) => registry.register(l, t, Interest::READABLE)?,
            Listener::Tcp(l) => registry.register(l, t, Interest::READABLE)?,
        }
        self.base = Some(base);
        Ok(())
    }

    /// Whether `token` belongs to this endpoint.
    pub fn owns(&self, token: Token) -> bool {
        matches!(self.base, Some(b) if token.0 >= b && token.0 < b + TOKENS_PER_ENDPOINT)
    }

    /// Handle an event for one of our tokens; `produce` gives the body of a
    /// status document or a metrics exposition.
    pub fn handle(
        &mut self,
        registry: &Registry,
        token: Token,
        produce: &mut dyn FnMut(Query) -> String,
    ) {
        let Some(base) = self.base else { return };
        if token.0 == base {
            self.accept(registry, produce);
        } else if let Some(k) = token.0.checked_sub(base + 1) {
            if k < MAX_CONNS {
                self.drive(registry, k, produce);
            }
        }
    }

    fn accept(&mut self, registry: &Registry, produce: &mut dyn FnMut(Query) -> String) {
        loop {
            let accepted = match &self.listener {
                Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
                Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            };
            let mut stream = match accepted {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("status: accept failed: {e}");
                    return;
                }
            };
            let Some(k) = self.conns.iter().position(|c| c.is_none()) else {
                log::warn!("status: too many connections ({MAX_CONNS}), closing a new one");
                continue;
            };
            let base = self.base.unwrap_or(0);
            let interest = match stream {
                Stream::Unix(_) => Interest::WRITABLE,
                Stream::Tcp(_) => Interest::READABLE,
            };
            if let Err(e) = registry.register(stream.source(), Token(base + 1 + k), interest) {
                log::warn!("status: register failed: {e}");
                continue;
            }
            let out = match &stream {
                Stream::Unix(s) => Some(status_reply(s, produce)),
                Stream::Tcp(_) => None,
            };
            self.conns[k] = Some(Conn {
                stream,
                inbuf: Vec::new(),
                out,
                written: 0,
                opened: Instant::now(),
                draining: false,
                discarded: 0,
            });
            // Edge-triggered: the socket may already be ready.
            self.drive(registry, k, produce);
        }
    }

    fn drive(&mut self, registry: &Registry, k: usize, produce: &mut dyn FnMut(Query) -> String) {
        let Some(conn) = self.conns[k].as_mut() else {
            return;
        };
        let was_draining = conn.draining;
        let done = match step(conn, registry, self.base.unwrap_or(0) + 1 + k, produce) {
            Ok(d) => d,
            Err(e) => {
                log::debug!("status: connection error: {e}");
                true
            }
        };
        let sent = conn.out.as_ref().is_some_and(|o| conn.written >= o.len());
        if sent && !was_draining && (done || conn.draining) {
            self.served += 1;
        }
        if done {
            if let Some(mut c) = self.conns[k].take() {
                c.stream.shutdown();
                let _ = registry.deregister(c.stream.source());
            }
        }
    }

    /// Drop connections open for longer than [`IO_TIMEOUT`].
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        for slot in &mut self.conns {
            if slot
                .as_ref()
                .is_some_and(|c| now.saturating_duration_since(c.opened) > IO_TIMEOUT)
            {
                if let Some(mut c) = slot.take() {
                    let _ = registry.deregister(c.stream.source());
                }
            }
        }
    }

    /// Deregister everything and remove the socket file (status endpoints).
    pub fn close(mut self, registry: &Registry) {
        for slot in &mut self.conns {
            if let Some(mut c) = slot.take() {
                let _ = registry.deregister(c.stream.source());
            }
        }
        match &mut self.listener {
            Listener::Unix(l, p) => {
                let _ = registry.deregister(l);
                let _ = std::fs::remove_file(p);
            }
            Listener::Tcp(l) => {
                let _ = registry.deregister(l);
            }
        }
    }
}

fn status_reply(s: &UnixStream, produce: &mut dyn FnMut(Query) -> String) -> Vec<u8> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let me = nix::unistd::geteuid().as_raw();
    match getsockopt(s, PeerCredentials) {
        Ok(c) if c.uid() == 0 || c.uid() == me => produce(Query::Status).into_bytes(),
        Ok(c) => {
            log::warn!("status: refused a client with uid {}", c.uid());
            b"{\"error\":\"permission denied\"}\n".to_vec()
        }
        Err(e) => format!("{{\"error\":\"peer credentials: {e}\"}}\n").into_bytes(),
    }
}

/// Advance one connection; `Ok(true)` when it is finished.
fn step(
    conn: &mut Conn,
    registry: &Registry,
    token: usize,
    produce: &mut dyn FnMut(Query) -> String,
) -> io::Result<bool> {
    if conn.draining {
        return drain(conn);
    }
    if conn.out.is_none() {
        // HTTP: read the request head.
        let mut buf = [0u8; 2048];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    if conn.inbuf.is_empty() {
                        return Ok(true);
                    }
                    break;
                }
                Ok(n) => {
                    conn.inbuf.extend_from_slice(&buf[..n]);
                    if conn.inbuf.len() > MAX_REQUEST || head_complete(&conn.inbuf) {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        conn.out = Some(http_response(&conn.inbuf, produce));
        registry.reregister(conn.stream.source(), Token(token), Interest::WRITABLE)?;
    }
    let out = conn.out.as_deref().unwrap_or_default();
    while conn.written < out.len() {
        match conn.stream.write(&out[conn.written..]) {
            Ok(0) => return Ok(true),
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if matches!(conn.stream, Stream::Tcp(_)) {
        conn.stream.shutdown();
        conn.draining = true;
        registry.reregister(conn.stream.source(), Token(token), Interest::READABLE)?;
        return drain(conn);
    }
    Ok(true)
}

/// Read and drop what the client still sends; `Ok(true)` at EOF or past
/// [`MAX_DRAIN`].
fn drain(conn: &mut Conn) -> io::Result<bool> {
    let mut buf = [0u8; 4096];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                conn.discarded += n;
                if conn.discarded > MAX_DRAIN {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn head_complete(b: &[u8]) -> bool {
    b.windows(4).any(|w| w == b"\r\n\r\n") || b.windows(2).any(|w| w == b"\n\n")
}

/// The full HTTP/1.0 response to a request head.
pub fn http_response(head: &[u8], produce: &mut dyn FnMut(Query) -> String) -> Vec<u8> {
    if head.len() > MAX_REQUEST {
        return reply(
            431,
            "Request Header Fields Too Large",
            "text/plain",
            "request too large\n",
            true,
        );
    }
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target)) = (method, target) else {
        return reply(400, "Bad Request", "text/plain", "bad request\n", true);
    };
    if !version.is_none_or(|v| v.starts_with("HTTP/1.")) {
        return reply(400, "Bad Request", "text/plain", "bad request\n", true);
    }
    let body_wanted = match method {
        "GET" => true,
        "HEAD" => false,
        _ => {
            return reply(
                405,
                "Method Not Allowed",
                "text/plain",
                "only GET and HEAD\n",
                true,
            );
        }
    };
    let path = target.split('?').next().unwrap_or("");
    let (ctype, body) = match path {
        "/metrics" => (crate::metrics::CONTENT_TYPE, produce(Query::Metrics)),
        "/status" => ("application/json", produce(Query::Status)),
        "/" => (
            "text/plain",
            "keepalived-rs: /metrics (Prometheus), /status (JSON)\n".to_string(),
        ),
        _ => return reply(404, "Not Found", "text/plain", "not found\n", body_wanted),
    };
    reply(200, "OK", ctype, &body, body_wanted)
}

fn reply(code: u16, reason: &str, ctype: &str, body: &str, with_body: bool) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.0 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if with_body {
        v.extend_from_slice(body.as_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: Query) -> String {
        match q {
            Query::Status => "{}".into(),
            Query::Metrics => "keepalived_up 1\n".into(),
        }
    }

    fn resp(req: &str) -> String {
        String::from_utf8(http_response(req.as_bytes(), &mut p)).unwrap()
    }

    #[test]
    fn http_routes_and_errors() {
        let r = resp("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.0 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(r.contains("Content-Length: 16\r\n"));
        assert!(r.ends_with("\r\n\r\nkeepalived_up 1\n"));
        assert!(resp("GET /status HTTP/1.0\r\n\r\n").ends_with("\r\n\r\n{}"));
        let h = resp("HEAD /metrics HTTP/1.0\r\n\r\n");
        assert!(h.starts_with("HTTP/1.0 200 OK") && h.ends_with("\r\n\r\n"));
        assert!(resp("GET /nope HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 "));
        assert!(resp("POST /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405 "));
        assert!(resp("\r\n\r\n").starts_with("HTTP/1.0 400 "));
        assert!(resp("GET /metrics SPDY/3\r\n\r\n").starts_with("HTTP/1.0 400 "));
        let big = format!(
            "GET /metrics HTTP/1.0\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_REQUEST)
        );
        assert!(resp(&big).starts_with("HTTP/1.0 431 "));
    }
}
