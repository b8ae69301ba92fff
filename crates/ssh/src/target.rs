use std::fmt;

use crate::host_key::KnownHostKey;

/// Where and as whom to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or IP address.
    pub host: String,
    /// TCP port of the SSH server.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Private key in OpenSSH (or PEM) text form.
    pub private_key: String,
}

impl SshTarget {
    /// `host:port`, bracketing IPv6 addresses, for messages and socket addresses.
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

// The private key must never end up in logs or error reports.
impl fmt::Debug for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// How to treat the host key a server presents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostKeyCheck {
    /// Accept the key if it matches `known`; with no known key accept any key (the caller
    /// stores the key returned by the operation and passes it next time).
    TrustOnFirstUse {
        /// The key recorded on an earlier connection, if any.
        known: Option<KnownHostKey>,
    },
    /// Accept any key (Tumblebug up to v0.12.1).
    Ignore,
}

/// A jump host: the target is reached through a `direct-tcpip` channel of this host's SSH
/// connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bastion {
    /// How to log in to the bastion.
    pub target: SshTarget,
    /// Host key policy for the bastion itself.
    pub check: HostKeyCheck,
}
