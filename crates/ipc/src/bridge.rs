//! Bridge from a blocking ipc-channel receiver into a mio loop.
//!
//! An `IpcReceiver` has no pollable fd in its public API, so a small thread
//! blocks in `recv()`, queues each message and wakes the loop through the
//! shared [`mio::Waker`]. On [`sched::Event::Wake`] the loop drains every
//! bridge with [`Bridge::try_recv`]. The thread ends when the other side
//! closes (the last message is then [`Received::Closed`]).

use ipc_channel::ipc::{IpcError, IpcReceiver};
use mio::Waker;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::mpsc;
use std::sync::Arc;

/// What a bridge delivers.
#[derive(Debug)]
pub enum Received<T> {
    /// One message.
    Msg(T),
    /// The sending side is gone (process exited or dropped its sender),
    /// or the channel broke; no more messages will come.
    Closed(String),
}

/// A receiver thread feeding the loop.
#[derive(Debug)]
pub struct Bridge<T> {
    rx: mpsc::Receiver<Received<T>>,
    closed: bool,
}

impl<T> Bridge<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Start the thread for `receiver`; `name` names the thread (for `ps -T`).
    pub fn spawn(
        receiver: IpcReceiver<T>,
        waker: Arc<Waker>,
        name: &str,
    ) -> std::io::Result<Bridge<T>> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || loop {
                let item = match receiver.recv() {
                    Ok(m) => Received::Msg(m),
                    Err(IpcError::Disconnected) => Received::Closed("channel closed".into()),
                    Err(IpcError::Bincode(e)) => {
                        Received::Closed(format!("undecodable message: {e}"))
                    }
                    Err(IpcError::Io(e)) => Received::Closed(format!("channel I/O error: {e}")),
                };
                let last = matches!(item, Received::Closed(_));
                if tx.send(item).is_err() {
                    return; // the loop dropped the bridge
                }
                let _ = waker.wake();
                if last {
                    return;
                }
            })?;
        Ok(Bridge { rx, closed: false })
    }
}

impl<T> Bridge<T> {
    /// The next queued message, without blocking.
    pub fn try_recv(&mut self) -> Option<Received<T>> {
        if self.closed {
            return None;
        }
        match self.rx.try_recv() {
            Ok(r) => {
                if matches!(r, Received::Closed(_)) {
                    self.closed = true;
                }
                Some(r)
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.closed = true;
                Some(Received::Closed("bridge thread ended".into()))
            }
        }
    }

    /// True once [`Received::Closed`] was delivered.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
