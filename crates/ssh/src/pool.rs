//! SSH connections kept open between operations and shared by them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::connection::{Connection, close_in_background, tunnel_error, via};
use crate::error::SshError;
use crate::host_key::KnownHostKey;
use crate::lease::{Lease, Retry};
use crate::run::{OutputLine, RunOutcome, run};
use crate::target::{Bastion, HostKeyCheck, SshTarget};
use crate::transfer::{Download, download_with, upload_with};

/// How long an unused connection stays open by default.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// How many connections a pool keeps by default.
const DEFAULT_CAPACITY: usize = 2048;
/// Expired connections are looked for at most this often (and on every [`SshPool::len`]).
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Authenticated SSH connections reused across operations.
///
/// Operations through a pool behave like the free functions ([`crate::run_commands`], ...),
/// but share connections: one per target (and per login, key and host key policy), and one
/// per bastion, carrying the tunnels of every target behind it. Concurrent first uses of a
/// connection wait for the one being opened, so a hundred targets behind a bastion cost the
/// bastion one handshake. A connection unused for the idle time is closed; a stale one
/// (server restarted, connection dropped) is replaced on first use.
///
/// Cloning is cheap and clones share the connections.
#[derive(Clone)]
pub struct SshPool {
    inner: Arc<Inner>,
}

struct Inner {
    idle: Duration,
    capacity: usize,
    state: Mutex<State>,
}

struct State {
    slots: HashMap<PoolKey, Slot>,
    next_sweep: Instant,
}

/// Where the connection of one key lives; empty while it is being opened.
type Slot = Arc<OnceCell<Arc<Connection>>>;

/// What makes two operations able to share a connection. Holds a digest of the private key,
/// never the key itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    host: String,
    port: u16,
    user: String,
    key_digest: [u8; 32],
    check: HostKeyCheck,
    bastion: Option<Box<PoolKey>>,
}

impl PoolKey {
    fn new(target: &SshTarget, bastion: Option<&Bastion>, check: &HostKeyCheck) -> Self {
        Self {
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            key_digest: Sha256::digest(target.private_key.as_bytes()).into(),
            check: check.clone(),
            bastion: bastion.map(|bastion| Box::new(Self::new(&bastion.target, None, &bastion.check))),
        }
    }
}

impl Default for SshPool {
    /// A pool closing connections unused for 60 seconds.
    fn default() -> Self {
        Self::new(DEFAULT_IDLE)
    }
}

impl fmt::Debug for SshPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshPool")
            .field("idle", &self.inner.idle)
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl SshPool {
    /// A pool closing connections unused for `idle`, keeping at most 2,048.
    pub fn new(idle: Duration) -> Self {
        Self::with_capacity(idle, DEFAULT_CAPACITY)
    }

    /// A pool closing connections unused for `idle`; beyond `capacity` connections, the least
    /// recently used one is dropped from the pool (and closed once its users are done).
    pub fn with_capacity(idle: Duration, capacity: usize) -> Self {
        let state = State { slots: HashMap::new(), next_sweep: Instant::now() };
        Self { inner: Arc::new(Inner { idle, capacity: capacity.max(1), state: Mutex::new(state) }) }
    }

    /// How many connections the pool holds (bastions included), after closing expired ones.
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        self.sweep(&mut state, Instant::now());
        state.slots.values().filter(|slot| slot.initialized()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Disconnects every pooled connection; operations running on them fail.
    pub fn clear(&self) {
        let slots = std::mem::take(&mut self.lock().slots);
        for connection in slots.into_values().filter_map(|slot| slot.get().cloned()) {
            close_in_background(connection);
        }
    }

    /// [`crate::run_commands`] on a pooled connection.
    pub async fn run_commands(
        &self,
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
        commands: &[String],
        timeout: Duration,
    ) -> Result<RunOutcome, SshError> {
        run(Some(self), target, bastion, check, commands, timeout, None).await
    }

    /// [`crate::run_commands_live`] on a pooled connection.
    pub async fn run_commands_live(
        &self,
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
        commands: &[String],
        timeout: Duration,
        live: UnboundedSender<OutputLine>,
    ) -> Result<RunOutcome, SshError> {
        run(Some(self), target, bastion, check, commands, timeout, Some(&live)).await
    }

    /// [`crate::upload`] on a pooled connection.
    pub async fn upload(
        &self,
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
        remote_path: &str,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<KnownHostKey, SshError> {
        upload_with(Some(self), target, bastion, check, remote_path, bytes, timeout).await
    }

    /// [`crate::download`] on a pooled connection.
    pub async fn download(
        &self,
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
        remote_path: &str,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Download, SshError> {
        download_with(Some(self), target, bastion, check, remote_path, max_bytes, timeout).await
    }

    /// Lends the pooled connection to `target` (opening it if needed) to one operation.
    /// `may_retry` allows the lease to replace the connection if it turns out stale.
    pub(crate) async fn lease<'a>(
        &'a self,
        target: &'a SshTarget,
        bastion: Option<&'a Bastion>,
        check: &'a HostKeyCheck,
        may_retry: bool,
    ) -> Result<Lease<'a>, SshError> {
        let started = Instant::now();
        let key = PoolKey::new(target, bastion, check);
        let connection = self.connection(&key, || self.open(&key, target, bastion, check, started)).await?;
        let Some(permit) = connection.try_session_permit() else {
            // Every session of the shared connection is taken; rather than queue behind
            // commands that may run for minutes, this operation gets a connection of its own
            // (still through the shared bastion).
            tracing::debug!(addr = %target.addr(), user = %target.user, "pooled connection busy, opening another");
            let own = self.open(&key, target, bastion, check, started).await?;
            return Ok(Lease::own(Arc::new(own)));
        };
        // A connection opened meanwhile (by this caller or one it waited for) is known good.
        let retry =
            (may_retry && connection.opened_at < started).then_some(Retry { pool: self, key, target, bastion, check });
        Ok(Lease::shared(connection, permit, retry))
    }

    /// Removes `connection` from the pool if it is still the one under `key`; its current
    /// users keep it until they are done.
    pub(crate) fn evict(&self, key: &PoolKey, connection: &Arc<Connection>) {
        let mut state = self.lock();
        let pooled = state.slots.get(key).and_then(|slot| slot.get());
        if pooled.is_some_and(|pooled| Arc::ptr_eq(pooled, connection)) {
            state.slots.remove(key);
        }
    }

    /// The pooled connection under `key`, opened with `open` if there is none; concurrent
    /// callers wait for the one opening it (and try themselves if that fails).
    async fn connection<F, Fut>(&self, key: &PoolKey, open: F) -> Result<Arc<Connection>, SshError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Connection, SshError>>,
    {
        let slot = self.slot(key);
        let connection = slot.get_or_try_init(|| async { open().await.map(Arc::new) }).await?;
        Ok(Arc::clone(connection))
    }

    /// Opens a connection to `target`, through the pooled connection to its bastion if any.
    async fn open(
        &self,
        key: &PoolKey,
        target: &SshTarget,
        bastion: Option<&Bastion>,
        check: &HostKeyCheck,
        started: Instant,
    ) -> Result<Connection, SshError> {
        let (Some(bastion), Some(jump_key)) = (bastion, key.bastion.as_deref()) else {
            return Connection::direct(target, check).await;
        };
        let jump = || self.connection(jump_key, || Connection::direct(&bastion.target, &bastion.check));
        let mut jump_connection = jump().await.map_err(via(bastion))?;
        let tunnel = match jump_connection.tunnel(target).await {
            // A refusal the bastion answered (target unreachable, forwarding denied) says
            // nothing against the bastion connection; only a broken transport does.
            Err(error)
                if !matches!(error, russh::Error::ChannelOpenFailure(_)) && jump_connection.opened_at < started =>
            {
                let addr = bastion.target.addr();
                tracing::debug!(bastion = %addr, %error, "pooled bastion connection is stale, reconnecting");
                self.evict(jump_key, &jump_connection);
                jump_connection = jump().await.map_err(via(bastion))?;
                jump_connection.tunnel(target).await
            }
            tunnel => tunnel,
        }
        .map_err(|source| tunnel_error(bastion, target, source))?;
        Connection::through(jump_connection, tunnel, target, check).await
    }

    /// The slot for `key`, created (making room if the pool is full) when missing or when its
    /// connection is closed.
    fn slot(&self, key: &PoolKey) -> Slot {
        let mut state = self.lock();
        let now = Instant::now();
        if now >= state.next_sweep {
            self.sweep(&mut state, now);
        }
        match state.slots.get(key) {
            Some(slot) if !slot.get().is_some_and(|connection| connection.is_closed()) => return Arc::clone(slot),
            Some(_) => {}
            None if state.slots.len() >= self.inner.capacity => evict_least_recently_used(&mut state),
            None => {}
        }
        let slot = Slot::default();
        state.slots.insert(key.clone(), Arc::clone(&slot));
        slot
    }

    /// Drops closed connections and closes those unused for the idle time.
    fn sweep(&self, state: &mut State, now: Instant) {
        let idle = self.inner.idle;
        state.next_sweep = now + (idle / 4).min(MAX_SWEEP_INTERVAL);
        state.slots.retain(|_, slot| match slot.get() {
            // Empty: still being opened if someone holds it, else a failed opening.
            None => Arc::strong_count(slot) > 1,
            Some(connection) if connection.is_closed() => false,
            // Held by a lease, or as the bastion of a pooled connection: in use.
            Some(connection) if Arc::strong_count(connection) > 1 => true,
            Some(connection) if now.saturating_duration_since(connection.last_used()) < idle => true,
            Some(connection) => {
                tracing::debug!(host_key = %connection.host_key.fingerprint, "closing idle connection");
                close_in_background(Arc::clone(connection));
                false
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic: every update is a single map operation.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes room for one more connection by dropping the least recently used one.
fn evict_least_recently_used(state: &mut State) {
    let oldest = state
        .slots
        .iter()
        .filter_map(|(key, slot)| slot.get().map(|connection| (key, connection.last_used())))
        .min_by_key(|(_, last_used)| *last_used)
        .map(|(key, _)| key.clone());
    let Some(connection) = oldest.and_then(|key| state.slots.remove(&key)).and_then(|slot| slot.get().cloned()) else {
        return;
    };
    if Arc::strong_count(&connection) == 1 {
        close_in_background(connection);
    }
}
