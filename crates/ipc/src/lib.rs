//! Typed IPC between the keepalived-rs parent and its children.
//!
//! * [`messages`]: the serde enums of every channel ([`ToChild`],
//!   [`FromChild`]), the [`Role`] of a child and the [`DumpKind`]s.
//! * [`Bridge`]: an ipc-channel receiver feeding a `sched` (mio) loop.
//! * [`parent`]: [`ChildServer`] (one-shot bootstrap across fork+exec) and
//!   [`ParentLink`] (the parent's end of one child).
//! * [`child`]: [`ChildLink`] and [`run_child`] with the [`ChildHandler`]
//!   trait the VRRP and checker runtimes implement.
//! * [`liveness`]: the child's proof of life (a pipe the parent reads at
//!   its deadlines).
//! * [`pidfile`]: pid file helpers shared by parent and children.

pub mod bridge;
pub mod child;
mod error;
pub mod liveness;
pub mod messages;
pub mod parent;
pub mod pidfile;

pub use bridge::{Bridge, Received};
pub use child::{
    run_child, ChildEvent, ChildFlags, ChildHandler, ChildLink, ChildOptions, LivenessOptions,
};
pub use error::IpcError;
pub use messages::{ConfigPayload, DumpKind, FromChild, Role, ToChild};
pub use parent::{ChildServer, ParentLink};
