//! Pure-Rust SSH client used to run commands and move files on VMs.
//!
//! Every operation opens its own connection (optionally hopping through a bastion with a
//! `direct-tcpip` channel), verifies the server's host key (trust on first use or ignored),
//! authenticates with the target's private key and closes the connection when done. There is
//! no shared mutable state, so callers can run operations from as many tasks as they like.

mod connection;
mod error;
mod exec;
mod host_key;
mod quote;
mod run;
mod target;
mod transfer;

pub use error::SshError;
pub use host_key::KnownHostKey;
pub use quote::shell_quote;
pub use run::{CommandResult, OutputLine, OutputStream, RunOutcome, run_commands, run_commands_live};
pub use target::{Bastion, HostKeyCheck, SshTarget};
pub use transfer::{Download, download, upload};
