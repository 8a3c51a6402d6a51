//! Errors of the IPVS client.

use thiserror::Error;

use crate::consts::*;
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

    /// The `IP_VS_SO_SET_*` number keepalived 2.2.7 logs for a netlink command
    /// (it names commands by their old setsockopt numbers, base 1152).
    pub fn keepalived_sockopt_cmd(cmd: u8) -> Option<u32> {
        const BASE: u32 = 64 + 1024 + 64;
        Some(match cmd {
            IPVS_CMD_NEW_SERVICE => BASE + 2,
            IPVS_CMD_SET_SERVICE => BASE + 3,
            IPVS_CMD_DEL_SERVICE => BASE + 4,
            IPVS_CMD_FLUSH => BASE + 5,
            IPVS_CMD_NEW_DEST => BASE + 7,
            IPVS_CMD_DEL_DEST => BASE + 8,
            IPVS_CMD_SET_DEST => BASE + 9,
            IPVS_CMD_SET_CONFIG => BASE + 10,
            IPVS_CMD_NEW_DAEMON => BASE + 11,
            IPVS_CMD_DEL_DAEMON => BASE + 12,
            IPVS_CMD_ZERO => BASE + 15,
            _ => return None,
        })
    }

    /// keepalived's wording for a failed command (its libipvs `ipvs_strerror`
    /// table), falling back to the C library text.
    pub fn keepalived_strerror(cmd: u8, errno: i32) -> String {
        let specific = match (cmd, errno) {
            (IPVS_CMD_NEW_SERVICE, libc::EEXIST) => Some("Service already exists"),
            (IPVS_CMD_NEW_SERVICE | IPVS_CMD_SET_SERVICE, libc::ENOENT) => {
                Some("Scheduler or persistence engine not found")
            }
            (IPVS_CMD_NEW_DEST, libc::EEXIST) => Some("Destination already exists"),
            (IPVS_CMD_SET_DEST | IPVS_CMD_DEL_DEST, libc::ENOENT) => Some("No such destination"),
            (IPVS_CMD_NEW_DAEMON, libc::EEXIST) => Some("Daemon has already run"),
            (IPVS_CMD_DEL_DAEMON, libc::ESRCH) => Some("No daemon is running"),
            (_, libc::ESRCH) => Some("No such service"),
            (_, libc::EPERM) => Some("Permission denied (you must be root)"),
            (_, libc::EINVAL) => {
                Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
            }
            (_, libc::ENOPROTOOPT) => Some("Protocol not available"),
            (_, libc::ENOMEM) => Some("Memory allocation problem"),
            (_, libc::EOPNOTSUPP) => Some("Operation not supported with IPv6"),
            (_, libc::EAFNOSUPPORT) => {
                Some("Operation not supported with specified address family")
            }
            (_, libc::EMSGSIZE) => Some("Module is wrong version"),
            _ => None,
        };
        specific.map_or_else(|| errno_text(errno), str::to_string)
    }

    /// For a refused command, the line keepalived 2.2.7 logs
    /// (`check/ipvswrapper.c`): `IPVS (cmd 1159, errno 17): Destination already exists`.
    pub fn keepalived_cmd_log_line(&self) -> Option<String> {
        match self {
            IpvsError::Kernel { cmd, errno } => Some(format!(
                "IPVS (cmd {}, errno {errno}): {}",
                Self::keepalived_sockopt_cmd(*cmd)?,
                Self::keepalived_strerror(*cmd, *errno)
            )),
            _ => None,
        }
    }

    /// Failures keepalived counts as success (after logging them): EEXIST when
    /// adding a service or destination, ENOENT when deleting one.
    pub fn is_benign(&self) -> bool {
        matches!(
            self,
            IpvsError::Kernel {
                cmd: IPVS_CMD_NEW_SERVICE | IPVS_CMD_NEW_DEST,
                errno: libc::EEXIST
            } | IpvsError::Kernel {
                cmd: IPVS_CMD_DEL_SERVICE | IPVS_CMD_DEL_DEST,
                errno: libc::ENOENT
            }
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_wording_of_kernel_refusals() {
        let e = IpvsError::Kernel {
            cmd: IPVS_CMD_NEW_DEST,
            errno: libc::EEXIST,
        };
        assert_eq!(
            e.keepalived_cmd_log_line().unwrap(),
            "IPVS (cmd 1159, errno 17): Destination already exists"
        );
        assert!(e.is_benign());
        let e = IpvsError::Kernel {
            cmd: IPVS_CMD_DEL_SERVICE,
            errno: libc::ESRCH,
        };
        assert_eq!(
            e.keepalived_cmd_log_line().unwrap(),
            "IPVS (cmd 1156, errno 3): No such service"
        );
        assert!(!e.is_benign());
        let e = IpvsError::Kernel {
            cmd: IPVS_CMD_SET_DEST,
            errno: libc::ENOENT,
        };
        assert_eq!(
            e.keepalived_cmd_log_line().unwrap(),
            "IPVS (cmd 1161, errno 2): No such destination"
        );
        let e = IpvsError::Kernel {
            cmd: IPVS_CMD_NEW_SERVICE,
            errno: libc::EBUSY,
        };
        assert_eq!(
            e.keepalived_cmd_log_line().unwrap(),
            "IPVS (cmd 1154, errno 16): Device or resource busy"
        );
        assert_eq!(
            IpvsError::NotAvailable { errno: 2 }.keepalived_cmd_log_line(),
            None
        );
    }
}
