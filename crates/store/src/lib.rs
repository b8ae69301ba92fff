//! Persistence behind one small trait. Only this crate knows how bytes reach the disk.
//!
//! The model is etcd's: every write bumps a store-wide revision, each key remembers the revision
//! of its last write (`mod_revision`), and conditional writes compare that number. A revision of
//! `0` means "the key does not exist", so `cas(key, 0, v)` is create-if-absent.
//!
//! Revision rules every backend follows:
//! - one store-wide counter, bumped once per committed transaction that changes something; every
//!   key written by that transaction gets that revision;
//! - a transaction that changes nothing (no ops, or only deletes of absent keys) commits at the
//!   current revision without bumping it, as in etcd;
//! - revisions survive restarts and never go backwards.
//!
//! [`conformance`] holds the suite that proves a backend follows these rules.

use async_trait::async_trait;

pub mod conformance;
pub mod redb_backend;

pub use redb_backend::{RedbOptions, RedbStats, RedbStore};

/// Store-wide, strictly increasing write counter. `0` is "absent".
pub type Revision = u64;

/// A stored key with its value and the revision of its last write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Full key, e.g. `/ns/default/mci/m1`.
    pub key: String,
    /// Opaque bytes; may be empty.
    pub value: Vec<u8>,
    /// Revision of the last write of this key.
    pub revision: Revision,
}

/// Condition of a transaction: the key's current revision must equal `revision` (0 = absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    /// Key whose revision is checked.
    pub key: String,
    /// Expected revision of the key's last write; `0` = the key must be absent.
    pub revision: Revision,
}

/// A write inside a transaction. Ops apply in order; all of them get the transaction's revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create or overwrite `key`.
    Put { key: String, value: Vec<u8> },
    /// Remove `key`; removing an absent key changes nothing and emits no event.
    Delete { key: String },
}

/// Outcome of a conditional write. A failed comparison is not an error: callers decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// All comparisons held and every op was applied at this revision.
    Committed(Revision),
    /// At least one comparison failed; nothing was written.
    Conflict,
}

impl TxnOutcome {
    /// Whether the comparisons held and the ops were applied.
    pub fn is_committed(&self) -> bool {
        matches!(self, TxnOutcome::Committed(_))
    }
}

/// A change seen by a [`Watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The key was created or overwritten; `revision` is the writing transaction's.
    Put(KeyValue),
    /// The key was removed by the transaction at `revision`.
    Delete { key: String, revision: Revision },
}

impl WatchEvent {
    /// The key the event is about.
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put(kv) => &kv.key,
            WatchEvent::Delete { key, .. } => key,
        }
    }
}

/// Events under a prefix, in revision order, from the moment `watch` returned.
pub struct Watch {
    rx: tokio::sync::mpsc::Receiver<WatchEvent>,
}

impl Watch {
    /// Wraps the receiving end a backend feeds; the backend drops the sender to end the watch.
    pub fn new(rx: tokio::sync::mpsc::Receiver<WatchEvent>) -> Self {
        Watch { rx }
    }

    /// The next event; `None` when the store is closed or the watcher fell too far behind
    /// (a watcher that lags must re-read and watch again, as with etcd compaction).
    pub async fn next(&mut self) -> Option<WatchEvent> {
        self.rx.recv().await
    }
}

/// Why a store operation failed. A failed comparison is not an error (see [`TxnOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the underlying storage failed.
    #[error("store I/O failed: {0}")]
    Io(String),
    /// The stored bytes are not what the backend wrote.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store cannot serve requests: already open elsewhere, closed, or its writer stopped.
    #[error("store is unavailable: {0}")]
    Unavailable(String),
}

/// A transactional key-value store with etcd's revision model (see the crate docs).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key with its value and revision, or `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Every key starting with `prefix`, sorted by key.
    async fn range(&self, prefix: &str) -> Result<Vec<KeyValue>, StoreError>;

    /// Applies `ops` atomically if every comparison holds.
    ///
    /// Returns once the outcome is durable. Dropping the future after the call was issued does
    /// not cancel the transaction: it may still commit.
    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome, StoreError>;

    /// Events for keys under `prefix` written after this call returns.
    ///
    /// Backends buffer a bounded number of events per watcher and end a watcher that falls
    /// behind rather than slow down writers (see [`Watch::next`]).
    async fn watch(&self, prefix: &str) -> Result<Watch, StoreError>;

    /// Unconditional write; returns the new revision.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, StoreError> {
        let ops = vec![Op::Put { key: key.to_string(), value }];
        match self.txn(Vec::new(), ops).await? {
            TxnOutcome::Committed(rev) => Ok(rev),
            TxnOutcome::Conflict => Err(StoreError::Corrupt("unconditional write conflicted".into())),
        }
    }

    /// Unconditional delete; returns whether the key existed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let Some(kv) = self.get(key).await? else {
            return Ok(false);
        };
        let compares = vec![Compare { key: key.to_string(), revision: kv.revision }];
        let ops = vec![Op::Delete { key: key.to_string() }];
        match self.txn(compares, ops).await? {
            TxnOutcome::Committed(_) => Ok(true),
            // Rewritten meanwhile: delete whatever is there now.
            TxnOutcome::Conflict => {
                let ops = vec![Op::Delete { key: key.to_string() }];
                self.txn(Vec::new(), ops).await?;
                Ok(true)
            }
        }
    }

    /// Writes `value` only if the key's revision is `expected` (0 = must not exist).
    async fn cas(&self, key: &str, expected: Revision, value: Vec<u8>) -> Result<TxnOutcome, StoreError> {
        let compares = vec![Compare { key: key.to_string(), revision: expected }];
        self.txn(compares, vec![Op::Put { key: key.to_string(), value }]).await
    }

    /// Deletes the key only if its revision is `expected`.
    async fn cas_delete(&self, key: &str, expected: Revision) -> Result<TxnOutcome, StoreError> {
        let compares = vec![Compare { key: key.to_string(), revision: expected }];
        self.txn(compares, vec![Op::Delete { key: key.to_string() }]).await
    }
}
