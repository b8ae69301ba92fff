//! How hard Tumblebug leans on each cloud: a bound on concurrent VM operations per
//! connection (provider-region) and the timeouts of cloud calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Settings of the MCI engine. `Default` gives production values.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// VM operations (create, control) running at once per connection.
    pub vms_per_region: usize,
    /// Status reads running at once per connection (reads are cheap but clouds throttle them).
    pub status_reads_per_region: usize,
    /// Upper bound of one VM create call.
    pub create_timeout: Duration,
    /// Upper bound of one suspend/resume/reboot/terminate call.
    pub control_timeout: Duration,
    /// Upper bound of one status read.
    pub status_timeout: Duration,
    /// A VM in a stable state is not asked again before this much time passed.
    pub status_cache: Duration,
    /// How often VMs in transition are polled (by waiters and the background poller).
    pub poll_interval: Duration,
    /// Give up waiting for a created VM to reach Running after this long.
    pub boot_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            vms_per_region: 20,
            status_reads_per_region: 30,
            create_timeout: Duration::from_secs(20 * 60),
            control_timeout: Duration::from_secs(10 * 60),
            status_timeout: Duration::from_secs(60),
            status_cache: Duration::from_secs(10),
            poll_interval: Duration::from_secs(2),
            boot_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// One semaphore per connection, created on first use.
pub struct RegionLimiter {
    permits: usize,
    by_connection: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl RegionLimiter {
    pub fn new(permits: usize) -> RegionLimiter {
        RegionLimiter { permits: permits.max(1), by_connection: Mutex::new(HashMap::new()) }
    }

    pub async fn acquire(&self, connection: &str) -> OwnedSemaphorePermit {
        let sem = {
            let mut map = self.by_connection.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(connection.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.permits))).clone()
        };
        // Panics only if the semaphore were closed, and this type never closes one.
        sem.acquire_owned().await.expect("region semaphores are never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_each_connection_separately() {
        let l = Arc::new(RegionLimiter::new(2));
        let a1 = l.acquire("aws-x").await;
        let _a2 = l.acquire("aws-x").await;
        // A third on the same connection waits; another connection does not.
        let l2 = l.clone();
        let waiting = tokio::spawn(async move { l2.acquire("aws-x").await });
        let _g = tokio::time::timeout(Duration::from_millis(50), l.acquire("gcp-y")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(a1);
        let _permit = tokio::time::timeout(Duration::from_secs(1), waiting).await.unwrap().unwrap();
    }
}
