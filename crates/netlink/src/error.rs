//! Error type of the crate.

use std::fmt;
use std::io;

/// Errors from netlink requests and packet sockets.
#[derive(Debug)]
pub enum Error {
    /// A system call failed (`op` names it).
    Io {
        /// What was being done, e.g. `"netlink send"`.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The kernel rejected a netlink request with this errno.
    Kernel {
        /// What was being done, e.g. `"add address"`.
        op: &'static str,
        /// Positive errno (e.g. `libc::EPERM`).
        errno: i32,
    },
    /// No interface with this name or index.
    NoSuchInterface(String),
    /// A request could not be encoded (bad label length, family mismatch...).
    Invalid(String),
    /// A reply could not be decoded.
    Decode(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, source: io::Error) -> Error {
        Error::Io { op, source }
    }

    /// The errno behind this error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, source } => write!(f, "{op}: {source}"),
            Error::Kernel { op, errno } => {
                write!(f, "{op}: {}", io::Error::from_raw_os_error(*errno))
            }
            Error::NoSuchInterface(name) => write!(f, "no such interface: {name}"),
            Error::Invalid(msg) => write!(f, "invalid request: {msg}"),
            Error::Decode(msg) => write!(f, "cannot decode netlink reply: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
