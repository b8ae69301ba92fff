use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::{PrivateKeyWithHashAlg, decode_secret_key};
use russh::{Channel, ChannelStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::SshError;
use crate::host_key::{HandshakeError, HostKeyVerifier, KnownHostKey};
use crate::target::{Bastion, HostKeyCheck, SshTarget};

/// Session channels one pooled connection carries at once. OpenSSH refuses more than
/// `MaxSessions` (10 by default) and frees a closed session only a moment after closing it,
/// so staying a little below keeps a shared connection clear of refusals.
const SESSIONS_PER_CONNECTION: usize = 8;

// One immutable config shared by every connection; timeouts are enforced by the callers.
// Keepalives make a pooled connection whose peer vanished without a word (VM gone, NAT entry
// expired) close itself instead of lingering as a half-open connection.
static CONFIG: LazyLock<Arc<client::Config>> = LazyLock::new(|| {
    Arc::new(client::Config { keepalive_interval: Some(Duration::from_secs(30)), ..client::Config::default() })
});

/// Longest wait for a TCP connection to be accepted.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// An authenticated SSH connection to a target, plus the bastion connection carrying it.
pub(crate) struct Connection {
    handle: Handle<HostKeyVerifier>,
    pub(crate) host_key: KnownHostKey,
    pub(crate) opened_at: Instant,
    last_used: Mutex<Instant>,
    sessions: Arc<Semaphore>,
    // The target's transport runs inside a channel of this connection: it must outlive `handle`.
    bastion: Option<Arc<Connection>>,
}

impl Connection {
    /// The host key of the bastion carrying this connection, if any.
    pub(crate) fn bastion_host_key(&self) -> Option<&KnownHostKey> {
        self.bastion.as_ref().map(|b| &b.host_key)
    }

    /// Connects to `target`, directly or through a bastion connection of its own, and
    /// authenticates.
    pub(crate) async fn open(
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
    ) -> Result<Self, SshError> {
        let Some(bastion) = bastion else {
            return Self::direct(target, check).await;
        };
        let jump = Self::direct(&bastion.target, &bastion.check).await.map_err(via(bastion))?;
        let jump = Arc::new(jump);
        let tunnel = jump.tunnel(target).await.map_err(|source| tunnel_error(bastion, target, source))?;
        Self::over_stream(tunnel, target, check, Some(jump)).await
    }

    /// Connects to `target` over TCP and authenticates.
    pub(crate) async fn direct(target: &SshTarget, check: &HostKeyCheck) -> Result<Self, SshError> {
        let addr = target.addr();
        tracing::debug!(addr = %addr, user = %target.user, "connecting");
        // A host that drops packets must not hold callers for the kernel's SYN timeout.
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((target.host.as_str(), target.port)))
            .await
            .map_err(|_| SshError::Timeout { operation: format!("connecting to {addr}"), after: CONNECT_TIMEOUT })?
            .map_err(|source| SshError::Connect { addr: addr.clone(), source })?;
        // Small command/response exchanges: latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        Self::over_stream(stream, target, check, None).await
    }

    /// Connects to `target` through `tunnel`, a channel of the `jump` connection, and
    /// authenticates.
    pub(crate) async fn through(
        jump: Arc<Connection>,
        tunnel: ChannelStream<Msg>,
        target: &SshTarget,
        check: &HostKeyCheck,
    ) -> Result<Self, SshError> {
        Self::over_stream(tunnel, target, check, Some(jump)).await
    }

    /// Opens a `direct-tcpip` channel from this (bastion) connection to `target`.
    pub(crate) async fn tunnel(&self, target: &SshTarget) -> Result<ChannelStream<Msg>, russh::Error> {
        tracing::debug!(addr = %target.addr(), "opening tunnel");
        self.touch();
        let channel =
            self.handle.channel_open_direct_tcpip(target.host.as_str(), u32::from(target.port), "127.0.0.1", 0).await?;
        Ok(channel.into_stream())
    }

    /// Opens a session channel, to exec one command in.
    pub(crate) async fn session(&self) -> Result<Channel<Msg>, russh::Error> {
        self.handle.channel_open_session().await
    }

    /// Whether the transport ended (peer closed, keepalives unanswered, disconnected).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A right to run one session on this connection while others share it, if one is free.
    pub(crate) fn try_session_permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.sessions).try_acquire_owned().ok()
    }

    /// Records that the connection was just used; idleness is measured from here.
    pub(crate) fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    pub(crate) fn last_used(&self) -> Instant {
        *self.last_used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn over_stream<S>(
        stream: S,
        target: &SshTarget,
        check: &HostKeyCheck,
        bastion: Option<Arc<Connection>>,
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
        let now = Instant::now();
        Ok(Self {
            handle,
            host_key,
            opened_at: now,
            last_used: Mutex::new(now),
            sessions: Arc::new(Semaphore::new(SESSIONS_PER_CONNECTION)),
            bastion,
        })
    }

    /// Says goodbye politely, then to the bastion unless another connection still uses it;
    /// errors are irrelevant since the work is done.
    pub(crate) async fn close(&self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        if let Some(bastion) = &self.bastion
            && Arc::strong_count(bastion) == 1
        {
            Box::pin(bastion.close()).await;
        }
    }
}

/// Closes `connection` in the background: closing politely must not delay anyone (a dead peer
/// would make it wait).
pub(crate) fn close_in_background(connection: Arc<Connection>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move { connection.close().await });
    }
}

/// Wraps an error that happened while reaching or using `bastion`.
pub(crate) fn via(bastion: &Bastion) -> impl Fn(SshError) -> SshError + '_ {
    |source| SshError::Bastion { bastion: bastion.target.addr(), source: Box::new(source) }
}

/// The error for a tunnel to `target` that `bastion` could not open.
pub(crate) fn tunnel_error(bastion: &Bastion, target: &SshTarget, source: russh::Error) -> SshError {
    via(bastion)(SshError::Channel { context: format!("opening a tunnel to {}", target.addr()), source })
}
