//! The embedded default backend: one redb file.
//!
//! redb is synchronous, so nothing here blocks the async runtime:
//! - every write goes through one dedicated writer thread (module `writer`) that applies a
//!   queue of transactions in a single redb write transaction and commits once (group commit);
//! - reads run redb read transactions on tokio's blocking pool and may run concurrently with
//!   each other and with the writer (redb gives them a consistent snapshot).
//!
//! Watchers are fed by the writer after each commit and before the callers are answered, so a
//! write that has returned has already been offered to every watcher registered before it. A
//! watcher whose buffer is full is dropped instead of slowing writers down (module `watchers`).

mod watchers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use async_trait::async_trait;
use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{mpsc, oneshot};

use crate::{Compare, KeyValue, Op, Store, StoreError, TxnOutcome, Watch};
use watchers::Watchers;
use writer::{Counters, Request, TxnRequest};

/// Key → (revision of the last write, value).
const KV: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("kv");
/// Store-wide bookkeeping; holds the revision counter under [`REVISION_KEY`].
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION_KEY: &str = "revision";

/// Transactions waiting for the writer before callers start waiting to enqueue.
const REQUEST_QUEUE: usize = 1024;

/// Tuning knobs of a [`RedbStore`]. The defaults suit the server.
#[derive(Debug, Clone)]
pub struct RedbOptions {
    /// Events buffered per watcher; a watcher with a full buffer is dropped as lagging.
    pub watch_buffer: usize,
    /// Most transactions applied by one redb commit; `1` turns group commit off.
    pub max_batch: usize,
}

impl Default for RedbOptions {
    fn default() -> Self {
        RedbOptions { watch_buffer: 1024, max_batch: 256 }
    }
}

/// Counters describing the writer's work since open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedbStats {
    /// Transactions the writer evaluated (committed or conflicting).
    pub transactions: u64,
    /// redb commits performed; fewer than `transactions` when group commit batched them.
    pub commits: u64,
}

/// A [`Store`] kept in one redb file.
///
/// The file is locked while the store is open: a second open of the same file fails with
/// [`StoreError::Unavailable`]. Dropping the store stops its writer thread and closes the file
/// (after any read still running on the blocking pool finishes); it waits for the batch being
/// committed, which takes at most one commit.
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
    /// `None` only while dropping, to close the queue before joining the writer.
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    watchers: Arc<Watchers>,
    counters: Arc<Counters>,
}

impl RedbStore {
    /// Opens the store in `path`, creating the file and its parent directories if missing.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, StoreError> {
        Self::open_with(path, RedbOptions::default())
    }

    /// Like [`RedbStore::open`], with explicit tuning.
    pub fn open_with(path: impl AsRef<Path>, options: RedbOptions) -> Result<RedbStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Io(format!("creating directory {}: {e}", parent.display())))?;
        }
        let db = Database::create(&path).map_err(|e| open_error(&path, e.into()))?;
        let revision = init_tables(&db).map_err(|e| store_error(&format!("initialising {}", path.display()), e))?;
        let db = Arc::new(db);

        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let watchers = Arc::new(Watchers::new(options.watch_buffer.max(1)));
        let counters = Arc::new(Counters::default());
        let writer = writer::Writer {
            db: db.clone(),
            requests: rx,
            watchers: watchers.clone(),
            counters: counters.clone(),
            revision,
            max_batch: options.max_batch.max(1),
        };
        let handle = std::thread::Builder::new()
            .name("tb-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Io(format!("starting the writer thread: {e}")))?;
        tracing::info!(path = %path.display(), revision, "opened redb store");
        Ok(RedbStore { db, path, requests: Some(tx), writer: Some(handle), watchers, counters })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer has done since open.
    pub fn stats(&self) -> RedbStats {
        RedbStats {
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
        }
    }

    fn requests(&self) -> Result<&mpsc::Sender<Request>, StoreError> {
        self.requests
            .as_ref()
            .filter(|tx| !tx.is_closed())
            .ok_or_else(|| StoreError::Unavailable("the store's writer has stopped".into()))
    }

    /// Runs `read` against a snapshot of the key table on the blocking pool.
    async fn read<T, F>(&self, what: &'static str, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadOnlyTable<&'static str, (u64, &'static [u8])>) -> Result<T, redb::Error> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            let table = txn.open_table(KV)?;
            read(&table)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("{what}: read task failed: {e}")))?
        .map_err(|e| store_error(what, e))
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop once it has answered what was queued.
        self.requests = None;
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "redb writer thread panicked");
        }
        tracing::debug!(path = %self.path.display(), "closed redb store");
    }
}

#[async_trait]
impl Store for RedbStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.read("get", move |table| {
            Ok(table.get(key.as_str())?.map(|entry| {
                let (revision, value) = entry.value();
                KeyValue { key, value: value.to_vec(), revision }
            }))
        })
        .await
    }

    async fn range(&self, prefix: &str) -> Result<Vec<KeyValue>, StoreError> {
        let prefix = prefix.to_string();
        self.read("range", move |table| {
            let mut found = Vec::new();
            for entry in table.range(prefix.as_str()..)? {
                let (key, entry) = entry?;
                let key = key.value();
                // Keys sort bytewise, so the first key without the prefix ends the run.
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                let (revision, value) = entry.value();
                found.push(KeyValue { key: key.to_string(), value: value.to_vec(), revision });
            }
            Ok(found)
        })
        .await
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request { txn: TxnRequest { compares, ops }, reply };
        self.requests()?
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the store's writer stopped before answering".into()))?
    }

    async fn watch(&self, prefix: &str) -> Result<Watch, StoreError> {
        // A stopped writer would never feed the watch: say so rather than hang the caller.
        self.requests()?;
        Ok(self.watchers.subscribe(prefix))
    }
}

/// Creates the tables if missing and reads the revision counter.
fn init_tables(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_write()?;
    let revision = {
        txn.open_table(KV)?;
        let meta = txn.open_table(META)?;
        meta.get(REVISION_KEY)?.map(|entry| entry.value()).unwrap_or(0)
    };
    txn.commit()?;
    Ok(revision)
}

fn open_error(path: &Path, error: redb::Error) -> StoreError {
    match error {
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => StoreError::Unavailable(format!(
            "{} is already open (by this or another process); only one store may use a file",
            path.display()
        )),
        other => store_error(&format!("opening {}", path.display()), other),
    }
}

/// Maps a redb error to the store's, keeping what was being done as context.
fn store_error(context: &str, error: redb::Error) -> StoreError {
    match error {
        redb::Error::Corrupted(detail) => StoreError::Corrupt(format!("{context}: {detail}")),
        redb::Error::TableTypeMismatch { table, .. } => {
            StoreError::Corrupt(format!("{context}: table {table} was written with other types"))
        }
        redb::Error::UpgradeRequired(version) => {
            StoreError::Corrupt(format!("{context}: file format version {version} needs a manual upgrade"))
        }
        redb::Error::DatabaseClosed => StoreError::Unavailable(format!("{context}: the database is closed")),
        other => StoreError::Io(format!("{context}: {other}")),
    }
}
