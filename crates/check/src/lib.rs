//! keepalived-check: the sans-IO core of the health checker.
//!
//! No sockets, no clock, no threads: the checker daemon (`check-daemon`)
//! feeds bytes and times in and gets bytes, verdicts and actions out.
//!
//! * Protocol logic: [`http`] (HTTP_GET/SSL_GET request and bounded
//!   response parser with MD5), [`smtp`], [`dns`], [`icmp`], [`udp`],
//!   FILE_CHECK values [`file`].
//! * Scheduling and retries per checker: [`checker`].
//! * Real servers, quorum, sorry server, desired IPVS table: [`pool`].
//! * Log lines with keepalived's wording: [`log`].

pub mod checker;
pub mod dns;
pub mod file;
pub mod http;
pub mod icmp;
pub mod log;
pub mod pool;
pub mod service;
pub mod smtp;
pub mod time;
pub mod tls;
pub mod udp;

pub use checker::{
    CheckKind, Checker, CheckerConfig, CheckerStep, MiscExit, Names, ProbeFailure, ProbeOutcome,
    ProbeRequest,
};
pub use pool::{
    Action, CheckerId, DesiredDest, Engine, Notify, RealServerConfig, SorryServerConfig,
    VirtualServerConfig,
};
pub use service::{Proto, RsAddr, VsName};
pub use time::Millis;
