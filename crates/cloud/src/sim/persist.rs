//! Write-behind persistence of the sim's objects in a [`Store`], as JSON under `/sim/`.
//!
//! Changes are queued in the order the engine makes them (under its lock) and written by one
//! task, a drained batch per store transaction, so the store never sees an older version of an
//! object after a newer one. Each operation waits until its changes are written before it
//! answers, so everything a caller has been told about survives a restart.

use std::collections::BTreeMap;
use std::sync::Arc;

use tb_store::{Op as StoreOp, Store};
use tokio::sync::{mpsc, oneshot};

/// Everything the sim keeps lives under this prefix.
pub(crate) const PREFIX: &str = "/sim/";
pub(crate) const META_KEY: &str = "/sim/meta";

/// Most changes written by one store transaction.
const MAX_BATCH: usize = 512;

#[derive(Debug)]
pub(crate) enum Change {
    Put(String, Vec<u8>),
    Delete(String),
}

enum Msg {
    Write(Vec<Change>, oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// The queue in front of the writer task.
pub(crate) struct Persister {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Persister {
    /// Starts the writer task; it owns the store until [`Persister::close`] or until every
    /// sender is dropped.
    pub fn start(store: Arc<dyn Store>) -> Persister {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx));
        Persister { tx }
    }

    /// Queues `changes`; the receiver fires once they are written (or could not be).
    pub fn write(&self, changes: Vec<Change>) -> Option<oneshot::Receiver<()>> {
        let (done, wait) = oneshot::channel();
        match self.tx.send(Msg::Write(changes, done)) {
            Ok(()) => Some(wait),
            Err(_) => {
                tracing::warn!("sim persistence is closed; change kept in memory only");
                None
            }
        }
    }

    /// Writes what is queued, then releases the store.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut latest: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        let mut acks = Vec::new();
        let mut close = None;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write(changes, ack) => {
                    for change in changes {
                        match change {
                            Change::Put(key, value) => latest.insert(key, Some(value)),
                            Change::Delete(key) => latest.insert(key, None),
                        };
                    }
                    acks.push(ack);
                }
                Msg::Close(ack) => {
                    close = Some(ack);
                    break;
                }
            }
            if latest.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !latest.is_empty() {
            let count = latest.len();
            let ops = latest
                .into_iter()
                .map(|(key, value)| match value {
                    Some(value) => StoreOp::Put { key, value },
                    None => StoreOp::Delete { key },
                })
                .collect();
            if let Err(error) = store.txn(Vec::new(), ops).await {
                tracing::error!(%error, count, "sim could not persist its state");
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
        if let Some(ack) = close {
            drop(store);
            let _ = ack.send(());
            return;
        }
    }
}
