//! Persistence behind one small trait. Only this crate knows how bytes reach the disk.
//!
//! The model is etcd's: every write bumps a store-wide revision, each key remembers the revision
//! of its last write (`mod_revision`), and conditional writes compare that number. A revision of
//! `0` means "the key does not exist", so `cas(key, 0, v)` is create-if-absent.

use async_trait::async_trait;

pub mod conformance;
pub mod redb_backend;

pub use redb_backend::RedbStore;

/// Store-wide, strictly increasing write counter. `0` is "absent".
pub type Revision = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the last write of this key.
    pub revision: Revision,
}

/// Condition of a transaction: the key's current revision must equal `revision` (0 = absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put { key: String, value: Vec<u8> },
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
    pub fn is_committed(&self) -> bool {
        matches!(self, TxnOutcome::Committed(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Put(KeyValue),
    Delete { key: String, revision: Revision },
}

impl WatchEvent {
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
    pub fn new(rx: tokio::sync::mpsc::Receiver<WatchEvent>) -> Self {
        Watch { rx }
    }

    /// The next event; `None` when the store is closed or the watcher fell too far behind
    /// (a watcher that lags must re-read and watch again, as with etcd compaction).
    pub async fn next(&mut self) -> Option<WatchEvent> {
        self.rx.recv().await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("store is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Every key starting with `prefix`, sorted by key.
    async fn range(&self, prefix: &str) -> Result<Vec<KeyValue>, StoreError>;

    /// Applies `ops` atomically if every comparison holds.
    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome, StoreError>;

    /// Events for keys under `prefix` written after this call returns.
    async fn watch(&self, prefix: &str) -> Result<Watch, StoreError>;

    /// Unconditional write; returns the new revision.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, StoreError> {
        let ops = vec![Op::Put {
            key: key.to_string(),
            value,
        }];
        match self.txn(Vec::new(), ops).await? {
            TxnOutcome::Committed(rev) => Ok(rev),
            TxnOutcome::Conflict => {
                Err(StoreError::Corrupt("unconditional write conflicted".into()))
            }
        }
    }

    /// Unconditional delete; returns whether the key existed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let Some(kv) = self.get(key).await? else {
            return Ok(false);
        };
        let compares = vec![Compare {
            key: key.to_string(),
            revision: kv.revision,
        }];
        let ops = vec![Op::Delete {
            key: key.to_string(),
        }];
        match self.txn(compares, ops).await? {
            TxnOutcome::Committed(_) => Ok(true),
            // Rewritten meanwhile: delete whatever is there now.
            TxnOutcome::Conflict => {
                let ops = vec![Op::Delete {
                    key: key.to_string(),
                }];
                self.txn(Vec::new(), ops).await?;
                Ok(true)
            }
        }
    }

    /// Writes `value` only if the key's revision is `expected` (0 = must not exist).
    async fn cas(
        &self,
        key: &str,
        expected: Revision,
        value: Vec<u8>,
    ) -> Result<TxnOutcome, StoreError> {
        let compares = vec![Compare {
            key: key.to_string(),
            revision: expected,
        }];
        self.txn(
            compares,
            vec![Op::Put {
                key: key.to_string(),
                value,
            }],
        )
        .await
    }

    /// Deletes the key only if its revision is `expected`.
    async fn cas_delete(&self, key: &str, expected: Revision) -> Result<TxnOutcome, StoreError> {
        let compares = vec![Compare {
            key: key.to_string(),
            revision: expected,
        }];
        self.txn(
            compares,
            vec![Op::Delete {
                key: key.to_string(),
            }],
        )
        .await
    }
}
