//! Where the simulated cloud reads the time. Persisted timestamps are wall-clock unix
//! milliseconds, so a restarted sim sees every transition as far along as it really is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The sim's clock: the system clock, or a manual one that tests move by hand.
#[derive(Debug, Clone, Default)]
pub enum SimClock {
    #[default]
    System,
    /// Time passes only when [`ManualClock::advance`] is called, and calls never wait: the
    /// latency of a call is skipped rather than slept.
    Manual(ManualClock),
}

impl SimClock {
    /// Unix time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        match self {
            SimClock::System => system_now_ms(),
            SimClock::Manual(clock) => clock.now_ms(),
        }
    }

    /// Waits out a simulated call latency.
    pub(crate) async fn sleep(&self, ms: u64) {
        if ms > 0 && matches!(self, SimClock::System) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

/// A clock shared by its clones that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `start_ms` (unix milliseconds).
    pub fn new(start_ms: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(start_ms)))
    }

    /// A clock starting at the current wall-clock time.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(system_now_ms())
    }

    /// The time it reads, unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

fn system_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}
