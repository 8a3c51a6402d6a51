//! Addresses of real and virtual servers, formatted the way keepalived logs
//! them (`FMT_RS` / `FMT_VS`, keepalived `lib/utils.c` `inet_sockaddrtotrio`,
//! `check/check_data.c` `format_vs`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// No protocol (fwmark services); printed as `none`.
    None,
}

impl Proto {
    /// The lower-case name keepalived prints in `[ip]:proto:port`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
            Proto::None => "none",
        }
    }
}

/// A real server address as keepalived prints it: `[192.0.2.1]:tcp:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RsAddr {
    /// Address and port of the real server.
    pub addr: SocketAddr,
    /// Protocol of the virtual server it belongs to.
    pub proto: Proto,
}

impl fmt::Display for RsAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}]:{}:{}",
            self.addr.ip(),
            self.proto.as_str(),
            self.addr.port()
        )
    }
}

/// How a virtual server is named in log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VsName {
    /// `virtual_server IP PORT`: `[ip]:proto:port`.
    Addr(RsAddr),
    /// `virtual_server fwmark N`: `FWM N`.
    Fwmark(u32),
    /// `virtual_server group NAME`: `[NAME]:port`.
    Group {
        /// Group name.
        name: String,
        /// Port of the virtual server (0 when none).
        port: u16,
    },
}

impl fmt::Display for VsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsName::Addr(a) => a.fmt(f),
            VsName::Fwmark(m) => write!(f, "FWM {m}"),
            VsName::Group { name, port } => write!(f, "[{name}]:{port}"),
        }
    }
}

/// `[ip]:port`, keepalived's `inet_sockaddrtopair`, used by SMTP_CHECK messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrPair(pub SocketAddr);

impl fmt::Display for AddrPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.0.ip(), self.0.port())
    }
}

/// Formats an IP for a URL authority: IPv6 literals in brackets (RFC 2732).
pub(crate) fn host_for_url(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_keepalived() {
        let rs = RsAddr {
            addr: "192.0.2.1:80".parse().unwrap(),
            proto: Proto::Tcp,
        };
        assert_eq!(rs.to_string(), "[192.0.2.1]:tcp:80");
        let rs6 = RsAddr {
            addr: "[2001:db8::1]:53".parse().unwrap(),
            proto: Proto::Udp,
        };
        assert_eq!(rs6.to_string(), "[2001:db8::1]:udp:53");
        assert_eq!(VsName::Fwmark(7).to_string(), "FWM 7");
        assert_eq!(
            VsName::Group {
                name: "web".into(),
                port: 80
            }
            .to_string(),
            "[web]:80"
        );
        assert_eq!(
            AddrPair("198.51.100.4:25".parse().unwrap()).to_string(),
            "[198.51.100.4]:25"
        );
    }
}
