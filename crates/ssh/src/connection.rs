use std::sync::{Arc, LazyLock};

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, decode_secret_key};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::SshError;
use crate::host_key::{HandshakeError, HostKeyVerifier, KnownHostKey};
use crate::target::{Bastion, HostKeyCheck, SshTarget};

// One immutable config shared by every connection; timeouts are enforced by the callers.
static CONFIG: LazyLock<Arc<client::Config>> = LazyLock::new(|| Arc::new(client::Config::default()));

/// An authenticated SSH connection to a target, plus the bastion connection carrying it.
pub(crate) struct Connection {
    pub(crate) handle: Handle<HostKeyVerifier>,
    pub(crate) host_key: KnownHostKey,
    // The target's transport runs inside a channel of this connection: it must outlive `handle`.
    bastion: Option<Box<Connection>>,
}

impl Connection {
    /// Connects to `target`, directly or through `bastion`, and authenticates.
    pub(crate) async fn open(
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
    ) -> Result<Self, SshError> {
        match bastion {
            None => {
                let addr = target.addr();
                tracing::debug!(addr = %addr, user = %target.user, "connecting");
                let stream = TcpStream::connect((target.host.as_str(), target.port))
                    .await
                    .map_err(|source| SshError::Connect { addr: addr.clone(), source })?;
                // Small command/response exchanges: latency matters more than packet count.
                let _ = stream.set_nodelay(true);
                Self::over_stream(stream, target, check, None).await
            }
            Some(bastion) => {
                let via = bastion.target.addr();
                let wrap = |source: SshError| SshError::Bastion { bastion: via.clone(), source: Box::new(source) };
                let jump = Box::pin(Self::open(&bastion.target, None, &bastion.check)).await.map_err(wrap)?;
                tracing::debug!(bastion = %via, addr = %target.addr(), "opening tunnel");
                let channel = jump
                    .handle
                    .channel_open_direct_tcpip(target.host.as_str(), u32::from(target.port), "127.0.0.1", 0)
                    .await
                    .map_err(|source| {
                        wrap(SshError::Channel { context: format!("opening a tunnel to {}", target.addr()), source })
                    })?;
                Self::over_stream(channel.into_stream(), target, check, Some(Box::new(jump))).await
            }
        }
    }

    async fn over_stream<S>(
        stream: S,
        target: &SshTarget,
        check: &HostKeyCheck,
        bastion: Option<Box<Connection>>,
    ) -> Result<Self, SshError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let addr = target.addr();
        let key = decode_secret_key(&target.private_key, None).map_err(|error| SshError::InvalidKey {
            user: target.user.clone(),
            addr: addr.clone(),
            reason: error.to_string(),
        })?;
        let (verifier, presented) = HostKeyVerifier::new(check.clone());
        let mut handle =
            client::connect_stream(Arc::clone(&CONFIG), stream, verifier).await.map_err(|error| match error {
                HandshakeError::HostKeyChanged { expected, got } => {
                    SshError::HostKeyChanged { addr: addr.clone(), expected, got }
                }
                HandshakeError::Ssh(source) => SshError::Handshake { addr: addr.clone(), source },
            })?;
        let host_key = presented
            .get()
            .cloned()
            .ok_or_else(|| SshError::Handshake { addr: addr.clone(), source: russh::Error::UnknownKey })?;

        let key = Arc::new(key);
        // Asking for the server's RSA signature algorithms can wait for a server message, so
        // only do it when it matters.
        let rsa_hash = if key.algorithm().is_rsa() {
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(|source| SshError::Handshake { addr: addr.clone(), source })?
                .flatten()
        } else {
            None
        };
        let auth = handle
            .authenticate_publickey(target.user.as_str(), PrivateKeyWithHashAlg::new(key, rsa_hash))
            .await
            .map_err(|source| SshError::Handshake { addr: addr.clone(), source })?;
        if !auth.success() {
            return Err(SshError::Auth { user: target.user.clone(), addr });
        }
        tracing::debug!(addr = %addr, user = %target.user, fingerprint = %host_key.fingerprint, "authenticated");
        Ok(Self { handle, host_key, bastion })
    }

    /// Says goodbye politely; errors are irrelevant since the work is done.
    pub(crate) async fn close(self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        if let Some(bastion) = self.bastion {
            Box::pin(bastion.close()).await;
        }
    }
}
