//! Network I/O primitives for the VRRP child: rtnetlink (links, addresses,
//! routes), a netlink event socket, gratuitous ARP / unsolicited NA, and raw
//! VRRP sockets. No protocol decisions are made here.
//!
//! Everything works in the network namespace of the thread that opens it,
//! and every socket type implements `AsRawFd` for mio registration
//! (`mio::unix::SourceFd`).
//!
//! * [`Rtnl`]: blocking request socket. [`Rtnl::links`],
//!   [`Rtnl::link_by_name`], [`Rtnl::ifindex`], [`Rtnl::addresses`],
//!   [`Rtnl::add_address`] (→ [`AddOutcome::AlreadyPresent`] on `EEXIST`),
//!   [`Rtnl::del_address`] (→ [`DelOutcome::NotPresent`] on
//!   `EADDRNOTAVAIL`), [`Rtnl::routes`], [`Rtnl::add_route`],
//!   [`Rtnl::del_route`], [`Rtnl::rules`], [`Rtnl::add_rule`],
//!   [`Rtnl::del_rule`], [`Rtnl::add_macvlan`], [`Rtnl::del_link`],
//!   [`Rtnl::set_link_up`].
//! * [`EventSocket`]: non-blocking [`EventSocket::drain`] returning
//!   [`Event`]s; register its fd for readability and drain on wake-up.
//! * [`Announcer`]: [`Announcer::send_garp`], [`Announcer::send_na`]; frame
//!   builders [`garp_frame`], [`na_frame`].
//! * [`get_if_sysctl`] / [`set_if_sysctl`]: per-interface IP sysctls
//!   (VMAC set-up).
//! * [`VrrpSocket`]: raw protocol-112 socket, [`VrrpSocket::send_to`],
//!   [`VrrpSocket::recv`], [`VrrpSocket::recv_batch`] (`recvmmsg`).
//!
//! ```no_run
//! use keepalived_netlink::{IfAddr, Rtnl, AddOutcome};
//! let rt = Rtnl::new()?;
//! let eth0 = rt.link_by_name("eth0")?;
//! let mut vip = IfAddr::new(eth0.index, "192.0.2.10".parse().unwrap(), 24);
//! vip.broadcast = vip.computed_broadcast(); // `brd +`
//! vip.label = Some("eth0:1".into());
//! match rt.add_address(&vip)? {
//!     AddOutcome::Added => {}
//!     AddOutcome::AlreadyPresent => { /* adopt it */ }
//! }
//! # Ok::<(), keepalived_netlink::Error>(())
//! ```

#![warn(missing_docs)]

mod announce;
mod error;
mod events;
mod msg;
mod nlsock;
mod rtnl;
mod sysctl;
mod types;
mod vrrp_socket;

pub use announce::{
    garp_frame, icmpv6_checksum, ipv6_forwarding, na_frame, Announcer, ALL_NODES, ALL_NODES_MAC,
    BROADCAST_MAC, ETH_P_ARP, ETH_P_IPV6, GARP_LEN, NA_LEN,
};
pub use error::{Error, Result};
pub use events::{fuzzing, Event, EventSocket};
pub use rtnl::{AddrChange, Applied, Rtnl};
pub use sysctl::{get_if_sysctl, set_if_sysctl};
pub use types::{
    AddOutcome, AddrFlags, BadScope, DelOutcome, Family, IfAddr, Link, MacvlanMode, Route, Rule,
    Scope,
};
pub use vrrp_socket::{
    recv_batch, Received, VrrpSocket, VrrpSocketConfig, IPPROTO_VRRP, RX_BATCH, VRRP_GROUP_V4,
    VRRP_GROUP_V6,
};
