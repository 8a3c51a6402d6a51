//! The VRRP child process (keepalived's `vrrp_daemon.c`).
//!
//! [`run`] connects to the parent through `ipc::run_child` with
//! [`VrrpRuntime`] as the [`ChildHandler`]. The runtime maps the
//! configuration to `vrrp` protocol cores (one per `vrrp_instance`), drives
//! them from the `sched` loop (timers, raw sockets, netlink events, SIGCHLD)
//! and performs their actions: adverts, VIPs, GARP/NA, notifications.
//!
//! Files by concern: [`map`] (config → core), `runtime` (instances, action
//! execution, sync groups), `net` (sockets), `rx` (receive/demux), `vips`
//! (addresses and the netlink reflector), `garp` (paced GARP/NA),
//! `trackers` (scripts, files, interfaces), `notifier` (scripts, FIFO,
//! SMTP), `lifecycle` (start, reload, stop), `dump` (data/stats/json files).

mod dump;
mod firewall;
mod garp;
mod lifecycle;
pub mod map;
mod net;
mod notifier;
mod process;
mod routes;
mod runtime;
mod rx;
mod trackers;
mod vips;
mod vmac;

pub use dump::dump_dir;
pub use trackers::parse_file_value;

use config::Config;
use ipc::{ChildFlags, ChildHandler, ChildOptions, DumpKind};
use sched::{Event, Sched};

use runtime::{Runtime, NETLINK_TOKEN};

/// State of the VRRP child.
#[derive(Debug, Default)]
pub struct VrrpRuntime {
    flags: ChildFlags,
    rt: Option<Runtime>,
    reloads: u64,
    /// The receive buffer, allocated before the configuration arrives (see
    /// [`VrrpRuntime::new`]); moved into the runtime at the first
    /// configuration.
    rxbuf: Vec<u8>,
}

impl VrrpRuntime {
    /// A runtime with the command-line switches of the process.
    ///
    /// The receive buffer is allocated here, before anything was freed: the
    /// C allocator's threshold for giving a large block its own mapping
    /// rises when such a block is freed (the decoded configuration's), and
    /// the buffer must stay above it (see [`runtime::RX_BUFFER`]).
    pub fn new(flags: ChildFlags) -> Self {
        VrrpRuntime {
            flags,
            rxbuf: runtime::rx_buffer(),
            ..Default::default()
        }
    }

    /// Number of reloads applied.
    pub fn reloads(&self) -> u64 {
        self.reloads
    }
}

impl ChildHandler for VrrpRuntime {
    fn configure(
        &mut self,
        sched: &mut Sched,
        config: &Config,
        reload: bool,
    ) -> Result<(), String> {
        match &mut self.rt {
            Some(rt) if reload => {
                rt.flush_round(sched);
                rt.reload(sched, config);
                rt.arm_trim(sched);
                self.reloads += 1;
            }
            _ => {
                let rxbuf = match std::mem::take(&mut self.rxbuf) {
                    b if b.len() == runtime::RX_BUFFER => b,
                    _ => runtime::rx_buffer(),
                };
                let mut rt =
                    Runtime::new(sched, self.flags, config, rxbuf).map_err(|e| e.to_string())?;
                rt.start(sched, config);
                rt.arm_trim(sched);
                self.rt = Some(rt);
            }
        }
        Ok(())
    }

    fn event(&mut self, sched: &mut Sched, event: &Event) {
        let Some(rt) = &mut self.rt else { return };
        match event {
            Event::Io(io) if io.token == NETLINK_TOKEN => {
                // The reflector dumps and restores through the same socket:
                // VIP changes queued in this round go first.
                rt.flush_addrs();
                rt.netlink_events(sched)
            }
            Event::Io(io) => rt.receive(sched, io.token),
            Event::Timer(t) => rt.timer(sched, *t),
            Event::Signal(si) if si.signo == libc::SIGCHLD => rt.poll_children(sched),
            _ => {}
        }
    }

    fn dump(&mut self, kind: DumpKind) -> Result<String, String> {
        match &mut self.rt {
            Some(rt) => rt.dump(kind),
            None => Err("VRRP child not configured yet".into()),
        }
    }

    fn status(&mut self) -> String {
        match &self.rt {
            Some(rt) => rt.status_json(),
            None => "{}".into(),
        }
    }

    fn shutdown(&mut self, sched: &mut Sched) {
        if let Some(rt) = &mut self.rt {
            rt.shutdown(sched);
        }
    }
}

/// Main of the VRRP child; returns the exit code.
pub fn run(opts: &ChildOptions) -> i32 {
    let mut rt = VrrpRuntime::new(opts.flags);
    ipc::run_child(opts, &mut rt)
}
