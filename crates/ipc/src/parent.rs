//! Parent side: listen for a child, then talk to it.
//!
//! ```text
//! parent                                  child (fork+exec, --ipc-server NAME)
//! ChildServer::listen() -> NAME  ───────▶ IpcSender::connect(NAME)
//!   (accept thread)        ◀─── Hello{pid, role, to_child}
//! ParentLink (bridge on FromChild)
//!   send(Config{..}) ─────────────────────▶ ChildLink::connect returns the config
//!                         ◀─── Loaded{generation}
//!   send(Heartbeat(n)) ───────────────────▶ (answered inside ChildLink)
//!                         ◀─── HeartbeatAck(n)
//! ```

use crate::bridge::{Bridge, Received};
use crate::messages::{FromChild, Role, ToChild};
use crate::IpcError;
use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use mio::Waker;
use std::sync::{mpsc, Arc};

/// A one-shot server waiting (on a thread) for one child to connect.
#[derive(Debug)]
pub struct ChildServer {
    name: String,
    waker: Arc<Waker>,
    rx: mpsc::Receiver<Result<ParentLink, IpcError>>,
    done: bool,
}

impl ChildServer {
    /// Create the server; pass [`ChildServer::name`] to the child.
    pub fn listen(waker: Arc<Waker>) -> Result<ChildServer, IpcError> {
        let (server, name) = IpcOneShotServer::<FromChild>::new()?;
        let (tx, rx) = mpsc::channel();
        let w = Arc::clone(&waker);
        std::thread::Builder::new()
            .name("ipc-accept".into())
            .spawn(move || {
                let res = match server.accept() {
                    Ok((
                        receiver,
                        FromChild::Hello {
                            pid,
                            role,
                            to_child,
                        },
                    )) => {
                        Bridge::spawn(receiver, Arc::clone(&w), &format!("ipc-{}", role.as_arg()))
                            .map(|bridge| ParentLink {
                                pid,
                                role,
                                tx: to_child,
                                bridge,
                            })
                            .map_err(IpcError::from)
                    }
                    Ok((_, FromChild::Abort)) => Err(IpcError::Protocol("accept aborted".into())),
                    Ok((_, other)) => {
                        Err(IpcError::Protocol(format!("expected Hello, got {other:?}")))
                    }
                    Err(e) => Err(IpcError::Recv(e.to_string())),
                };
                let _ = tx.send(res);
                let _ = w.wake();
            })?;
        Ok(ChildServer {
            name,
            waker,
            rx,
            done: false,
        })
    }

    /// The server name the child connects to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connected child, once it said Hello (non-blocking).
    pub fn try_accept(&mut self) -> Option<Result<ParentLink, IpcError>> {
        if self.done {
            return None;
        }
        let r = self.rx.try_recv().ok()?;
        self.done = true;
        Some(r)
    }

    /// Give up on the child (it died before connecting): unblocks and ends
    /// the accept thread by connecting to the server ourselves.
    pub fn abort(mut self) {
        if !self.done {
            if let Ok(tx) = IpcSender::<FromChild>::connect(self.name.clone()) {
                let _ = tx.send(FromChild::Abort);
            }
            self.done = true;
            let _ = &self.waker;
        }
    }
}

/// The parent's end of one child's channels.
#[derive(Debug)]
pub struct ParentLink {
    /// The child's pid, as it reported it.
    pub pid: u32,
    /// The child's role, as it reported it.
    pub role: Role,
    tx: IpcSender<ToChild>,
    bridge: Bridge<FromChild>,
}

impl ParentLink {
    /// Send one message to the child.
    pub fn send(&self, msg: ToChild) -> Result<(), IpcError> {
        self.tx.send(msg).map_err(|e| IpcError::Send(e.to_string()))
    }

    /// The next message from the child, without blocking.
    pub fn try_recv(&mut self) -> Option<Received<FromChild>> {
        self.bridge.try_recv()
    }

    /// True once the child's side closed.
    pub fn is_closed(&self) -> bool {
        self.bridge.is_closed()
    }
}
