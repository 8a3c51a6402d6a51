//! Errors of the IPVS client.

use thiserror::Error;

use crate::wire::WireError;

/// Anything that can go wrong talking to IPVS.
#[derive(Debug, Error)]
pub enum IpvsError {
    /// The "IPVS" generic netlink family is not registered (no `ip_vs` module
    /// or no IPVS in this kernel). `errno` is what the controller answered
    /// (ENOENT). keepalived 2.2.7 logs `IPVS: Can't initialize ipvs: No such
    /// file or directory` and its checker exits FATAL, which stops the whole
    /// daemon (see [`IpvsError::keepalived_log_line`]).
    #[error("IPVS not available in this kernel ({})", errno_text(*errno))]
    NotAvailable {
        /// Positive errno.
        errno: i32,
    },
    /// Opening, sending on or receiving from the netlink socket failed.
    #[error("netlink socket: {0}")]
    Socket(#[from] std::io::Error),
    /// The kernel refused a command.
    #[error("IPVS command {cmd} failed: {}", errno_text(*errno))]
    Kernel {
        /// The `IPVS_CMD_*` number.
        cmd: u8,
        /// Positive errno.
        errno: i32,
    },
    /// A reply could not be decoded.
    #[error("malformed IPVS reply: {0}")]
    Wire(#[from] WireError),
    /// The kernel closed the exchange without the reply the request needs.
    #[error("no reply from the kernel to IPVS command {0}")]
    NoReply(u8),
    /// A value cannot be sent (e.g. a scheduler name longer than 15 bytes).
    #[error("invalid IPVS request: {0}")]
    Invalid(String),
}

/// `strerror`-like text for an errno (Rust's own table, which is glibc's wording).
pub fn errno_text(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; keepalived prints the bare strerror text.
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl IpvsError {
    /// The errno behind the error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::NotAvailable { errno } | IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::Socket(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// The line keepalived 2.2.7 logs when IPVS cannot be initialised
    /// (`check/ipvswrapper.c`): `IPVS: Can't initialize ipvs: <strerror>`.
    pub fn keepalived_log_line(&self) -> String {
        let why = match self.errno() {
            Some(e) => errno_text(e),
            None => self.to_string(),
        };
        format!("IPVS: Can't initialize ipvs: {why}")
    }
}
