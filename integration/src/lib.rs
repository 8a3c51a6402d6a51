//! Test harness shared by the integration tests (root, network namespaces).
//!
//! * [`netns`]: [`Netns`] (unique names, deleted on drop with every process
//!   inside killed), [`veth`], a bridged [`Lan`] of hosts.
//! * [`daemon`]: [`Daemon`], our keepalived started in a namespace with pid
//!   and log files in a temporary directory, killed by pid on drop; log
//!   capture; [`keepalived_bin`].
//! * [`wait`]: [`wait_for`] / [`wait_for_value`].
//!
//! Tests that need root call [`skip_unless_root`] first.

pub mod bench;
pub mod chaos;
pub mod daemon;
pub mod netns;
pub mod wait;

pub use daemon::{alive, keepalived_bin, ppid, Daemon, Proc};
pub use netns::{short_name, unique_name, veth, Lan, Netns, Node};
pub use wait::{wait_for, wait_for_value};

/// True when running as root.
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Print a SKIP line and return true when not root (`if skip_unless_root("x") { return; }`).
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("SKIP {test}: needs root (network namespaces)");
    true
}
