//! systemd readiness notifications (`sd_notify(3)` protocol) for
//! `Type=notify` units: `READY=1` once every child has loaded its
//! configuration, `RELOADING=1` / `READY=1` around a reload, `STOPPING=1`
//! at shutdown (upstream `lib/systemd.c`). Active only when `$NOTIFY_SOCKET`
//! is set; children never inherit it.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;

/// The environment variable systemd sets.
pub const ENV: &str = "NOTIFY_SOCKET";

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    sock: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
    pub fn from_env() -> Option<Notifier> {
        let v = std::env::var_os(ENV)?;
        let s = v.to_string_lossy().into_owned();
        match Notifier::new(&s) {
            Ok(n) => Some(n),
            Err(e) => {
                log::warn!("Ignoring {ENV}={s}: {e}");
                None
            }
        }
    }

    /// For `target` (a path, or `@name` abstract).
    pub fn new(target: &str) -> io::Result<Notifier> {
        let addr = if let Some(name) = target.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())?
        } else {
            SocketAddr::from_pathname(PathBuf::from(target))?
        };
        Ok(Notifier {
            sock: UnixDatagram::unbound()?,
            addr,
        })
    }

    /// Send one notification (newline-separated `KEY=value` lines).
    pub fn notify(&self, state: &str) {
        if let Err(e) = self.sock.send_to_addr(state.as_bytes(), &self.addr) {
            log::debug!("sd_notify failed: {e}");
        }
    }

    /// `READY=1` with our pid and a status line.
    pub fn ready(&self, status: &str) {
        self.notify(&format!(
            "READY=1\nSTATUS={status}\nMAINPID={}",
            std::process::id()
        ));
    }

    /// `RELOADING=1` with the monotonic timestamp systemd ≥ 253 wants.
    pub fn reloading(&self) {
        let usec = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
            .unwrap_or(0);
        self.notify(&format!(
            "RELOADING=1\nSTATUS=Reloading\nMONOTONIC_USEC={usec}"
        ));
    }

    /// A status line only.
    pub fn status(&self, status: &str) {
        self.notify(&format!("STATUS={status}"));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=Stopping");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_the_socket() {
        let d = std::env::temp_dir().join(format!("ka-sdn-{}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        let rx = UnixDatagram::bind(&d).unwrap();
        let n = Notifier::new(&d.to_string_lossy()).unwrap();
        n.ready("Startup complete");
        n.reloading();
        n.stopping();
        let mut buf = [0u8; 256];
        let k = rx.recv(&mut buf).unwrap();
        let ready = String::from_utf8_lossy(&buf[..k]).into_owned();
        assert_eq!(
            ready,
            format!(
                "READY=1\nSTATUS=Startup complete\nMAINPID={}",
                std::process::id()
            )
        );
        let k = rx.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..k])
            .starts_with("RELOADING=1\nSTATUS=Reloading\nMONOTONIC_USEC="));
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STOPPING=1\nSTATUS=Stopping");
        let _ = std::fs::remove_file(&d);
    }

    #[test]
    fn abstract_names() {
        let name = format!("ka-sdn-abstract-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
            .unwrap();
        Notifier::new(&format!("@{name}")).unwrap().status("x");
        let mut buf = [0u8; 64];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STATUS=x");
    }
}
