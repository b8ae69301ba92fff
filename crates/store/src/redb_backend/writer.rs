//! The single writer thread and its group commit.
//!
//! Callers queue transactions; the writer takes whatever is queued (up to a limit), evaluates
//! each transaction in queue order against the state left by the ones before it, and commits
//! the lot with one redb commit (one fsync). Each transaction still gets its own comparisons and
//! its own revision, so the outcome is the same as committing them one at a time; only the
//! number of disk syncs changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadableTable, Table};
use tokio::sync::{mpsc, oneshot};

use super::watchers::Watchers;
use super::{KV, META, REVISION_KEY, store_error};
use crate::{Compare, KeyValue, Op, StoreError, TxnOutcome, WatchEvent};

/// Stop adding transactions to a batch once it carries this many bytes of keys and values, so
/// that one commit never holds an unbounded amount of memory.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The comparisons and writes of one transaction.
pub(super) struct TxnRequest {
    pub(super) compares: Vec<Compare>,
    pub(super) ops: Vec<Op>,
}

impl TxnRequest {
    fn payload_bytes(&self) -> usize {
        let compares: usize = self.compares.iter().map(|c| c.key.len()).sum();
        let ops: usize = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Put { key, value } => key.len() + value.len(),
                Op::Delete { key } => key.len(),
            })
            .sum();
        compares + ops
    }
}

/// A queued transaction and where to send its outcome.
pub(super) struct Request {
    pub(super) txn: TxnRequest,
    pub(super) reply: oneshot::Sender<Result<TxnOutcome, StoreError>>,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) transactions: AtomicU64,
    pub(super) commits: AtomicU64,
}

pub(super) struct Writer {
    pub(super) db: Arc<Database>,
    pub(super) requests: mpsc::Receiver<Request>,
    pub(super) watchers: Arc<Watchers>,
    pub(super) counters: Arc<Counters>,
    /// Last committed revision.
    pub(super) revision: u64,
    pub(super) max_batch: usize,
}

impl Writer {
    /// Serves the queue until every sender is gone.
    pub(super) fn run(mut self) {
        while let Some(first) = self.requests.blocking_recv() {
            let mut bytes = first.txn.payload_bytes();
            let mut batch = vec![first];
            while batch.len() < self.max_batch && bytes < MAX_BATCH_BYTES {
                match self.requests.try_recv() {
                    Ok(request) => {
                        bytes += request.txn.payload_bytes();
                        batch.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
        tracing::debug!(revision = self.revision, "redb writer stopped");
    }

    /// Applies and commits `batch`, publishes its events, then answers its callers.
    fn commit(&mut self, batch: Vec<Request>) {
        let (txns, replies): (Vec<TxnRequest>, Vec<_>) = batch.into_iter().map(|r| (r.txn, r.reply)).unzip();
        let with_events = !self.watchers.is_empty();
        let outcomes = match apply(&self.db, self.revision, &txns, with_events) {
            Ok(applied) => self.finish(applied, txns.len()),
            Err(error) if txns.len() > 1 => {
                // One bad transaction must not fail its neighbours: retry each on its own.
                tracing::warn!(batch = txns.len(), %error, "group commit failed; retrying one by one");
                let mut outcomes = Vec::with_capacity(txns.len());
                for txn in &txns {
                    let single = std::slice::from_ref(txn);
                    outcomes.push(match apply(&self.db, self.revision, single, with_events) {
                        Ok(applied) => self.finish(applied, 1).swap_remove(0),
                        Err(error) => Err(self.failure(error)),
                    });
                }
                outcomes
            }
            Err(error) => vec![Err(self.failure(error))],
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The caller may have given up waiting; the outcome stands regardless.
            let _ = reply.send(outcome);
        }
    }

    fn finish(&mut self, applied: Applied, evaluated: usize) -> Vec<Result<TxnOutcome, StoreError>> {
        self.counters.transactions.fetch_add(evaluated as u64, Ordering::Relaxed);
        if applied.committed {
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(transactions = evaluated, revision = applied.revision, "committed");
        }
        self.revision = applied.revision;
        self.watchers.publish(&applied.events);
        applied.outcomes.into_iter().map(Ok).collect()
    }

    fn failure(&self, error: redb::Error) -> StoreError {
        let error = store_error("committing a transaction", error);
        tracing::error!(%error, "redb write failed");
        error
    }
}

impl Drop for Writer {
    /// Ends every watch whether the writer stopped normally or panicked, so no watcher waits on
    /// a writer that is gone.
    fn drop(&mut self) {
        self.watchers.close_all();
    }
}

/// What one redb write transaction did.
pub(super) struct Applied {
    /// Revision after the batch.
    pub(super) revision: u64,
    /// One per transaction, in order.
    pub(super) outcomes: Vec<TxnOutcome>,
    /// Changes in revision order; empty when events were not wanted.
    pub(super) events: Vec<WatchEvent>,
    /// Whether anything was written (nothing is committed otherwise).
    pub(super) committed: bool,
}

/// Evaluates `txns` in order on top of revision `base` and commits them together.
pub(super) fn apply(db: &Database, base: u64, txns: &[TxnRequest], with_events: bool) -> Result<Applied, redb::Error> {
    let write = db.begin_write()?;
    let mut revision = base;
    let mut outcomes = Vec::with_capacity(txns.len());
    let mut events = Vec::new();
    {
        let mut kv = write.open_table(KV)?;
        for txn in txns {
            if !compares_hold(&kv, &txn.compares)? {
                outcomes.push(TxnOutcome::Conflict);
                continue;
            }
            let next = revision + 1;
            let mut changed = false;
            for op in &txn.ops {
                match op {
                    Op::Put { key, value } => {
                        kv.insert(key.as_str(), (next, value.as_slice()))?;
                        changed = true;
                        if with_events {
                            events.push(WatchEvent::Put(KeyValue {
                                key: key.clone(),
                                value: value.clone(),
                                revision: next,
                            }));
                        }
                    }
                    Op::Delete { key } => {
                        if kv.remove(key.as_str())?.is_some() {
                            changed = true;
                            if with_events {
                                events.push(WatchEvent::Delete { key: key.clone(), revision: next });
                            }
                        }
                    }
                }
            }
            if changed {
                revision = next;
            }
            outcomes.push(TxnOutcome::Committed(revision));
        }
        if revision != base {
            write.open_table(META)?.insert(REVISION_KEY, revision)?;
        }
    }
    let committed = revision != base;
    if committed {
        write.commit()?;
    } else {
        write.abort()?;
    }
    Ok(Applied { revision, outcomes, events, committed })
}

fn compares_hold(kv: &Table<&str, (u64, &[u8])>, compares: &[Compare]) -> Result<bool, redb::Error> {
    for compare in compares {
        let current = kv.get(compare.key.as_str())?.map(|entry| entry.value().0).unwrap_or(0);
        if current != compare.revision {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str) -> Op {
        Op::Put { key: key.into(), value: value.into() }
    }

    fn txn(compares: &[(&str, u64)], ops: Vec<Op>) -> TxnRequest {
        TxnRequest {
            compares: compares
                .iter()
                .map(|(key, revision)| Compare { key: key.to_string(), revision: *revision })
                .collect(),
            ops,
        }
    }

    fn open(dir: &tempfile::TempDir) -> Database {
        let db = Database::create(dir.path().join("db.redb")).unwrap();
        super::super::init_tables(&db).unwrap();
        db
    }

    #[test]
    fn batch_evaluates_each_txn_against_the_ones_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir);
        let batch = vec![
            txn(&[("/k", 0)], vec![put("/k", "first")]),
            // Same create-if-absent: /k now exists at revision 1.
            txn(&[("/k", 0)], vec![put("/k", "second")]),
            txn(&[], vec![put("/other", "x")]),
            txn(&[("/k", 1)], vec![put("/k", "third")]),
            txn(&[("/missing", 0)], vec![Op::Delete { key: "/missing".into() }]),
        ];
        let applied = apply(&db, 0, &batch, true).unwrap();
        assert_eq!(
            applied.outcomes,
            vec![
                TxnOutcome::Committed(1),
                TxnOutcome::Conflict,
                TxnOutcome::Committed(2),
                TxnOutcome::Committed(3),
                // Deleting an absent key changes nothing, so the revision stays.
                TxnOutcome::Committed(3),
            ]
        );
        assert_eq!(applied.revision, 3);
        assert!(applied.committed);
        let revisions: Vec<u64> = applied
            .events
            .iter()
            .map(|e| match e {
                WatchEvent::Put(kv) => kv.revision,
                WatchEvent::Delete { revision, .. } => *revision,
            })
            .collect();
        assert_eq!(revisions, vec![1, 2, 3]);

        let read = redb::ReadableDatabase::begin_read(&db).unwrap();
        let kv = read.open_table(KV).unwrap();
        let stored = kv.get("/k").unwrap().unwrap();
        assert_eq!(stored.value(), (3, b"third".as_slice()));
        let meta = read.open_table(META).unwrap();
        assert_eq!(meta.get(REVISION_KEY).unwrap().unwrap().value(), 3);
    }

    #[test]
    fn batch_that_changes_nothing_is_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir);
        let batch = vec![txn(&[("/k", 7)], vec![put("/k", "v")]), txn(&[], vec![Op::Delete { key: "/k".into() }])];
        let applied = apply(&db, 5, &batch, false).unwrap();
        assert_eq!(applied.outcomes, vec![TxnOutcome::Conflict, TxnOutcome::Committed(5)]);
        assert!(!applied.committed);
        assert!(applied.events.is_empty());
    }
}
