//! IPVS programming over generic netlink (family "IPVS"), the way keepalived's
//! checker does it (`check/libipvs.c`), plus a pure reconciliation between the
//! kernel table and the desired one.
//!
//! * [`types`]: [`Service`], [`Destination`], [`VirtualService`] and their parts.
//! * [`msg`]: every request as bytes, every reply decoded (pure, tested on byte vectors).
//! * [`Ipvs`]: the blocking client (neli `NlSocket`): add/edit/delete services and
//!   destinations, dumps, flush, timeouts, info.
//! * [`diff()`]: the minimal [`Op`] list from the current table to the desired one.
//! * [`ipvsadm`]: the `ipvsadm -Sn` rule text, printed and parsed (tests, probe tool).

pub mod client;
pub mod consts;
pub mod diff;
pub mod error;
pub mod ipvsadm;
pub mod msg;
pub mod types;
pub mod wire;

pub use client::Ipvs;
pub use diff::{diff, DiffOptions, Op};
pub use error::IpvsError;
pub use types::*;
