use std::sync::{Arc, OnceLock};

use russh::client;
use russh::keys::{HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::target::HostKeyCheck;

/// A server host key as stored for trust on first use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KnownHostKey {
    /// Key algorithm, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// `SHA256:` fingerprint, as printed by `ssh-keygen -l`; this is what is compared.
    pub fingerprint: String,
    /// The public key in OpenSSH form (`ssh-ed25519 AAAA...`), without a comment.
    pub host_key: String,
}

impl KnownHostKey {
    /// Describes a public key the way it is stored.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let bare = PublicKey::new(key.key_data().clone(), "");
        Self {
            key_type: key.algorithm().to_string(),
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
            // Encoding a key we just decoded from the wire cannot reasonably fail; an empty
            // string still leaves the fingerprint to compare.
            host_key: bare.to_openssh().unwrap_or_default(),
        }
    }

    /// Whether `other` is the same key: by fingerprint when this record has one, otherwise by
    /// the key type and base64 blob of the OpenSSH form (comments ignored).
    pub fn matches(&self, other: &KnownHostKey) -> bool {
        if !self.fingerprint.is_empty() {
            return self.fingerprint == other.fingerprint;
        }
        let essential = |key: &str| key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let mine = essential(&self.host_key);
        !mine.is_empty() && mine == essential(&other.host_key)
    }
}

/// Why the handshake stopped, as seen by the handler.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Ssh(russh::Error),
    HostKeyChanged { expected: String, got: String },
}

impl From<russh::Error> for HandshakeError {
    fn from(error: russh::Error) -> Self {
        Self::Ssh(error)
    }
}

/// russh client handler that applies a [`HostKeyCheck`] and records the presented key.
pub(crate) struct HostKeyVerifier {
    check: HostKeyCheck,
    presented: Arc<OnceLock<KnownHostKey>>,
}

impl HostKeyVerifier {
    pub(crate) fn new(check: HostKeyCheck) -> (Self, Arc<OnceLock<KnownHostKey>>) {
        let presented = Arc::new(OnceLock::new());
        let verifier = Self { check, presented: Arc::clone(&presented) };
        (verifier, presented)
    }
}

impl client::Handler for HostKeyVerifier {
    type Error = HandshakeError;

    async fn check_server_key(&mut self, server_public_key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let got = KnownHostKey::from_public_key(&server_public_key.public_key());
        // A rekey presents the key again; the first one is what the caller stores.
        let _ = self.presented.set(got.clone());
        match &self.check {
            HostKeyCheck::Ignore | HostKeyCheck::TrustOnFirstUse { known: None } => Ok(true),
            HostKeyCheck::TrustOnFirstUse { known: Some(known) } => {
                if known.matches(&got) {
                    Ok(true)
                } else {
                    Err(HandshakeError::HostKeyChanged {
                        expected: if known.fingerprint.is_empty() {
                            known.host_key.clone()
                        } else {
                            known.fingerprint.clone()
                        },
                        got: got.fingerprint,
                    })
                }
            }
        }
    }
}
