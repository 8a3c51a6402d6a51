//! Operator-facing state of keepalived-rs (issue 5, "State, dumps, status").
//!
//! * [`dumpfile`]: the SIGUSR1 / SIGUSR2 / SIGRTMIN+2 dump files as keepalived
//!   2.2.7 names them, written safely ([`dumpfile::write_dump_file`]: never
//!   through a symlink, 0600, atomic rename).
//! * [`legacy`]: the content layouts exporters parse: `keepalived.json`
//!   (2.2.7 `vrrp_json.c` field names) and `keepalived.stats`.
//! * [`schema`]: our versioned JSON status document ([`schema::StatusDoc`]).
//! * [`metrics`]: Prometheus text exposition (keepalived-exporter names plus
//!   ours).
//! * [`server`]: a non-blocking Unix-socket status server and a tiny HTTP/1.0
//!   `/metrics` responder, both driven by a mio `Registry` the caller owns.
//! * [`client`]: query the socket and print the document for humans
//!   (`keepalivectl`).
//!
//! mio is used only through the caller's `Registry`; this crate never owns a
//! loop, so the watchdog registers it next to its own sources.

pub mod client;
pub mod dumpfile;
pub mod hub;
pub mod legacy;
pub mod metrics;
pub mod schema;
pub mod server;

pub use dumpfile::{write_dump_file, DumpFileError};
pub use hub::{Hub, StatusOptions, StatusService};
pub use schema::{StatusDoc, SCHEMA_VERSION};
