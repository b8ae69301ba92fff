//! Registry of watchers, fed by the writer after each commit.
//!
//! Delivery never blocks: each watcher has a bounded buffer, and a watcher whose buffer is full
//! is removed. Its [`Watch::next`] then yields what was buffered and `None`, which tells the
//! consumer it missed events and must re-read and watch again (as after an etcd compaction).
//! Slow consumers therefore cost themselves a resync instead of stalling every writer.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::{Watch, WatchEvent};

pub(super) struct Watchers {
    buffer: usize,
    list: Mutex<Vec<Watcher>>,
}

struct Watcher {
    prefix: String,
    events: mpsc::Sender<WatchEvent>,
}

impl Watchers {
    pub(super) fn new(buffer: usize) -> Self {
        Watchers { buffer, list: Mutex::new(Vec::new()) }
    }

    /// Registers a watcher for keys under `prefix`.
    pub(super) fn subscribe(&self, prefix: &str) -> Watch {
        let (tx, rx) = mpsc::channel(self.buffer);
        self.lock().push(Watcher { prefix: prefix.to_string(), events: tx });
        Watch::new(rx)
    }

    /// Whether a commit needs to build events at all.
    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Offers `events` (in revision order) to every matching watcher, dropping the ones that
    /// lag or went away.
    pub(super) fn publish(&self, events: &[WatchEvent]) {
        if events.is_empty() {
            return;
        }
        self.lock().retain(|watcher| watcher.deliver(events));
    }

    /// Ends every watch: their `next()` returns `None` once drained.
    pub(super) fn close_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Watcher>> {
        // Nothing panics while the lock is held, and the list stays valid even if it did.
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Watcher {
    /// Sends the matching events; `false` when this watcher must be removed.
    fn deliver(&self, events: &[WatchEvent]) -> bool {
        if self.events.is_closed() {
            return false;
        }
        for event in events.iter().filter(|e| e.key().starts_with(&self.prefix)) {
            match self.events.try_send(event.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(
                        prefix = %self.prefix,
                        buffer = self.events.max_capacity(),
                        "watcher fell behind; dropping it"
                    );
                    return false;
                }
                Err(TrySendError::Closed(_)) => return false,
            }
        }
        true
    }
}
