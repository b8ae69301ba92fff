//! The connection an operation runs on: its own (one-shot) or borrowed from an [`SshPool`].

use std::sync::Arc;

use russh::Channel;
use russh::client::Msg;
use tokio::sync::OwnedSemaphorePermit;

use crate::connection::{Connection, close_in_background};
use crate::error::SshError;
use crate::host_key::KnownHostKey;
use crate::pool::{PoolKey, SshPool};
use crate::target::{Bastion, HostKeyCheck, SshTarget};

/// Gets a connection for one operation: a fresh one closed when the lease ends, or with a
/// pool, a shared one.
pub(crate) async fn acquire<'a>(
    pool: Option<&'a SshPool>,
    target: &'a SshTarget,
    bastion: Option<&'a Bastion>,
    check: &'a HostKeyCheck,
) -> Result<Lease<'a>, SshError> {
    match pool {
        Some(pool) => pool.lease(target, bastion, check, true).await,
        None => Ok(Lease::own(Arc::new(Connection::open(target, bastion, check).await?))),
    }
}

/// A connection lent to one operation.
pub(crate) struct Lease<'a> {
    connection: Arc<Connection>,
    /// `Some` while the connection is shared through the pool.
    permit: Option<OwnedSemaphorePermit>,
    /// How to replace a pooled connection that turns out stale on first use.
    retry: Option<Retry<'a>>,
}

/// What a lease needs to evict its pooled connection and get another one.
pub(crate) struct Retry<'a> {
    pub(crate) pool: &'a SshPool,
    pub(crate) key: PoolKey,
    pub(crate) target: &'a SshTarget,
    pub(crate) bastion: Option<&'a Bastion>,
    pub(crate) check: &'a HostKeyCheck,
}

impl<'a> Lease<'a> {
    /// A connection of the operation's own, closed when the lease ends.
    pub(crate) fn own(connection: Arc<Connection>) -> Self {
        Self { connection, permit: None, retry: None }
    }

    /// A pooled connection; `retry` is given when it was opened before this operation began,
    /// hence might have gone stale meanwhile.
    pub(crate) fn shared(connection: Arc<Connection>, permit: OwnedSemaphorePermit, retry: Option<Retry<'a>>) -> Self {
        connection.touch();
        Self { connection, permit: Some(permit), retry }
    }

    pub(crate) fn host_key(&self) -> &KnownHostKey {
        &self.connection.host_key
    }

    /// The host key of the bastion carrying the connection, if any.
    pub(crate) fn bastion_host_key(&self) -> Option<&KnownHostKey> {
        self.connection.bastion_host_key()
    }

    /// Opens a session channel to run `command` in.
    ///
    /// The first session on a reused pooled connection doubles as its health check: when it
    /// cannot be opened (server restarted, connection dropped, `MaxSessions` reached), the
    /// connection is evicted and the session opened once more on a fresh one. Nothing ran
    /// yet, so retrying cannot run anything twice.
    pub(crate) async fn session(&mut self) -> Result<Channel<Msg>, SshError> {
        let opened = self.connection.session().await;
        let opened = match (opened, self.retry.take()) {
            (Err(error), Some(retry)) => {
                let (addr, user) = (retry.target.addr(), &retry.target.user);
                tracing::debug!(%addr, %user, %error, "pooled connection is stale, reconnecting");
                retry.pool.evict(&retry.key, &self.connection);
                *self = retry.pool.lease(retry.target, retry.bastion, retry.check, false).await?;
                self.connection.session().await
            }
            (opened, _) => opened,
        };
        opened.map_err(|source| SshError::Channel { context: "opening a session for the command".to_string(), source })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.permit.is_some() {
            self.connection.touch();
        } else {
            // Nobody else holds a connection of the operation's own.
            close_in_background(Arc::clone(&self.connection));
        }
    }
}
