//! IPC errors.

/// Everything that can go wrong on a channel.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// Creating a channel, socket or thread failed.
    #[error("IPC setup failed: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding or sending a message failed (peer gone or message unencodable).
    #[error("IPC send failed: {0}")]
    Send(String),
    /// Receiving failed or the peer closed the channel.
    #[error("IPC receive failed: {0}")]
    Recv(String),
    /// The peer sent something the protocol does not allow here.
    #[error("IPC protocol error: {0}")]
    Protocol(String),
    /// Nothing arrived in time.
    #[error("IPC timed out waiting for {0}")]
    Timeout(&'static str),
}
