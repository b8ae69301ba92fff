//! Pure-Rust SSH client used to run commands and move files on VMs.
//!
//! An operation connects (optionally hopping through a bastion with a `direct-tcpip` channel),
//! verifies the server's host key on every new connection (trust on first use or ignored),
//! authenticates with the target's private key and runs commands in session channels. The free
//! functions ([`run_commands`], [`upload`], ...) use a connection of their own and close it when
//! done; the same operations on an [`SshPool`] share connections between operations and tasks.

mod connection;
mod error;
mod exec;
mod host_key;
mod lease;
mod pool;
mod quote;
mod run;
mod target;
mod transfer;

pub use error::SshError;
pub use host_key::KnownHostKey;
pub use pool::SshPool;
pub use quote::shell_quote;
pub use run::{CommandResult, OutputLine, OutputStream, RunOutcome, run_commands, run_commands_live};
pub use target::{Bastion, HostKeyCheck, SshTarget};
pub use transfer::{Download, download, upload};
