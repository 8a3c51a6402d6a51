//! Sans-IO VRRP (RFC 3768 v2, RFC 5798 v3) protocol core for keepalived-rs,
//! behaving like keepalived 2.2.7.
//!
//! No sockets, no clock, no threads: the daemon feeds [`Input`]s with the
//! current [`time::Instant`] to [`Instance::handle`] and performs the
//! returned [`Action`]s in order (send datagrams, arm timers in its timer
//! heap, add/remove VIPs, send GARPs, run notify scripts, log).
//!
//! ```
//! use keepalived_vrrp::{Instance, InstanceConfig, Input, Action, time::Instant, wire::Family};
//! let mut cfg = InstanceConfig::new("VI_1", 51, Family::V4);
//! cfg.priority = 90;
//! cfg.src_addr = Some("192.0.2.1".parse().unwrap());
//! cfg.vips = vec!["192.0.2.100".parse().unwrap()];
//! let mut vi = Instance::new(cfg);
//! let actions = vi.handle(Instant::from_micros(0), Input::Startup);
//! // Log "(VI_1) Entering BACKUP STATE (init)", state INIT->BACKUP, notify
//! // BACKUP, then arm the master-down timer at 3.648437 s.
//! assert_eq!(actions.last().unwrap().to_string(), "arm-timer master-down 3.648437");
//! ```
//!
//! # Driving it from a daemon
//!
//! ```text
//! on start:      for each instance: vi.handle(now, Interface{up}) / Tracker{..}
//!                (initial states), then vi.handle(now, Startup)
//! on datagram:   let p = wire::peek(family, &buf)?;          // VRID
//!                vi = instances[(ifindex, family, p.vrid)];
//!                vi.handle(now, Packet(RxPacket::V4(&buf)))  // or V6 {..}
//! on timer:      vi.handle(now, TimerExpired(kind))
//! on netlink:    vi.handle(now, Interface{up}) / SourceAddress(addr)
//! on script end: if let Some(ok) = tracker.report(outcome).changed {
//!                    for vi tracking it: vi.handle(now, Tracker{..})
//!                }
//! on SIGHUP:     vi.handle(now, Reload(new_cfg))  (matched by vrid/family/if)
//! on SIGTERM:    vi.handle(now, Shutdown)
//! after each:    perform the actions in order; if the instance is in a
//!                sync group, pass them to SyncGroup::observe as well
//! ```
//!
//! Modules: [`wire`] (codecs), [`timers`] (skew / master-down arithmetic),
//! [`rx`] (received datagrams, rejection reasons and their log text),
//! [`track`] (script rise/fall, weights), [`sync`] (sync groups),
//! [`stats`], [`ratelimit`], [`replay`] (the text format of the replay
//! tests). Behaviour notes, deviations and test vectors:
//! `notes/vrrp-core.md`.

#![warn(missing_docs)]

pub mod action;
pub mod auth_hmac;
pub mod config;
pub mod instance;
pub mod ratelimit;
pub mod replay;
pub mod rx;
pub mod stats;
pub mod sync;
pub mod time;
pub mod timers;
pub mod track;
pub mod wire;

pub use action::{Action, Input, LogLine, NotifyEvent, OutPacket, State, TimerKind};
pub use config::{
    Auth, InitialState, InstanceConfig, TrackConfig, TrackKind, UnicastPeer, V3Checksum,
};
pub use instance::{Advert, Instance};
pub use rx::{LogLevel, RxError, RxPacket};
pub use stats::Stats;
pub use sync::{GroupAction, SyncGroup};
pub use track::{ScriptOutcome, ScriptTracker, TrackStatus};
