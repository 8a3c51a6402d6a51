#![allow(unsafe_code)]
//! The one place with `unsafe`: thin, documented wrappers over system calls
//! that nix does not cover. Every `unsafe` block carries a `// SAFETY:` comment.
//!
//! * [`process`]: prctl, process groups, fork/exec helpers (watchdog, notify).
//! * [`inotify`]: directory watches (track files of the checker).
//! * [`mem`]: heap trimming after a configuration load.
//! * [`net`]: socket options and packet sockets (netlink crate, VRRP daemon).

pub mod inotify;
pub mod mem;
pub mod net;
pub mod process;
