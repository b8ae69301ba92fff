use std::time::Duration;

/// Everything that can go wrong while talking to a VM over SSH.
///
/// Messages never contain private key material.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The private key given for a target could not be parsed.
    #[error("the private key for {user}@{addr} cannot be used: {reason}")]
    InvalidKey { user: String, addr: String, reason: String },
    /// The TCP connection could not be established.
    #[error("cannot connect to {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The SSH handshake (version exchange, key exchange) failed.
    #[error("SSH handshake with {addr} failed")]
    Handshake {
        addr: String,
        #[source]
        source: russh::Error,
    },
    /// The server presented a host key different from the one stored for it.
    #[error("host key of {addr} changed: expected {expected}, got {got}")]
    HostKeyChanged { addr: String, expected: String, got: String },
    /// The server refused the public key for this user.
    #[error("authentication of {user}@{addr} with the given private key was refused")]
    Auth { user: String, addr: String },
    /// The operation did not finish within its time budget.
    #[error("{operation} timed out after {after:?}")]
    Timeout { operation: String, after: Duration },
    /// A channel could not be opened or used once connected.
    #[error("SSH channel error while {context}")]
    Channel {
        context: String,
        #[source]
        source: russh::Error,
    },
    /// Reaching the target through its bastion failed.
    #[error("via bastion {bastion}")]
    Bastion {
        bastion: String,
        #[source]
        source: Box<SshError>,
    },
    /// A remote helper command (file transfer) ended unsuccessfully.
    #[error("remote command `{command}` failed (exit status {exit_status:?}): {stderr}")]
    RemoteCommand { command: String, exit_status: Option<u32>, stderr: String },
    /// A downloaded file is larger than the caller allowed.
    #[error("remote file {path} is larger than the {limit} byte limit")]
    TooLarge { path: String, limit: usize },
    /// The caller passed an argument that cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl SshError {
    /// The message with every cause after it (`via bastion b: cannot connect to t: refused`),
    /// for reports where the whole story must fit on one line.
    pub fn full_message(&self) -> String {
        crate::run::error_chain(self)
    }
}
