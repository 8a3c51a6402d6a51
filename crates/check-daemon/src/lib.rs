//! The health-checker child process (keepalived's `check_daemon.c`).
//!
//! At this stage only the process plumbing exists: [`run`] connects to the
//! parent, takes the configuration, answers heartbeats, reloads in place,
//! and exits on SIGTERM / shutdown / loss of the parent. The checker
//! runtime (probes, IPVS reconcile) plugs into [`CheckRuntime`]'s
//! [`ChildHandler`] methods.

use config::Config;
use ipc::{ChildHandler, ChildOptions, DumpKind};
use sched::{Event, Sched};

/// State of the checker child.
#[derive(Debug, Default)]
pub struct CheckRuntime {
    config: Option<Config>,
    reloads: u64,
}

impl CheckRuntime {
    /// The configuration in force.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }
}

impl ChildHandler for CheckRuntime {
    fn configure(
        &mut self,
        _sched: &mut Sched,
        config: &Config,
        reload: bool,
    ) -> Result<(), String> {
        if reload {
            self.reloads += 1;
        }
        // Not implemented yet: checkers and the IPVS table.
        self.config = Some(config.clone());
        Ok(())
    }

    fn event(&mut self, _sched: &mut Sched, _event: &Event) {}

    fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        Err(format!("checker {kind:?} dump not implemented yet"))
    }

    fn shutdown(&mut self, _sched: &mut Sched) {}
}

/// Main of the checker child; returns the exit code.
pub fn run(opts: &ChildOptions) -> i32 {
    let mut rt = CheckRuntime::default();
    ipc::run_child(opts, &mut rt)
}
