//! The VRRP child process (keepalived's `vrrp_daemon.c`).
//!
//! At this stage only the process plumbing exists: [`run`] connects to the
//! parent, takes the configuration, answers heartbeats, reloads in place,
//! and exits on SIGTERM / shutdown / loss of the parent. The VRRP runtime
//! (sockets, netlink, the `vrrp` state machine) plugs into
//! [`VrrpRuntime`]'s [`ChildHandler`] methods.

use config::Config;
use ipc::{ChildHandler, ChildOptions, DumpKind};
use sched::{Event, Sched};

/// State of the VRRP child.
#[derive(Debug, Default)]
pub struct VrrpRuntime {
    config: Option<Config>,
    reloads: u64,
}

impl VrrpRuntime {
    /// The configuration in force.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }
}

impl ChildHandler for VrrpRuntime {
    fn configure(
        &mut self,
        _sched: &mut Sched,
        config: &Config,
        reload: bool,
    ) -> Result<(), String> {
        if reload {
            self.reloads += 1;
        }
        // Not implemented yet: instances, sockets, VIPs. The configuration is
        // kept so a reload has something to diff against.
        self.config = Some(config.clone());
        Ok(())
    }

    fn event(&mut self, _sched: &mut Sched, _event: &Event) {}

    fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        Err(format!("VRRP {kind:?} dump not implemented yet"))
    }

    fn shutdown(&mut self, _sched: &mut Sched) {}
}

/// Main of the VRRP child; returns the exit code.
pub fn run(opts: &ChildOptions) -> i32 {
    let mut rt = VrrpRuntime::default();
    ipc::run_child(opts, &mut rt)
}
