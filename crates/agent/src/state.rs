//! What the handlers share: the work directory, the lock that keeps benchmark runs from
//! overlapping, and the metrics sampler.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::AgentError;
use crate::metrics::Sampler;
use crate::workload::oltp::DB_FILE;

#[derive(Debug, Clone)]
pub struct AgentState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    work_dir: PathBuf,
    bench_lock: Arc<Mutex<()>>,
    sampler: Sampler,
    cores: usize,
}

impl AgentState {
    pub fn new(work_dir: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let sampler = Sampler::new(work_dir.clone());
        AgentState { inner: Arc::new(Inner { work_dir, bench_lock: Arc::new(Mutex::new(())), sampler, cores }) }
    }

    /// Where the fileio files and the database live.
    pub fn work_dir(&self) -> &Path {
        &self.inner.work_dir
    }

    pub fn db_path(&self) -> PathBuf {
        self.inner.work_dir.join(DB_FILE)
    }

    /// Cores available to this process (`cpum`'s default thread count).
    pub fn cores(&self) -> usize {
        self.inner.cores
    }

    pub fn sampler(&self) -> &Sampler {
        &self.inner.sampler
    }

    /// Runs `work` on a blocking thread while holding the benchmark lock, so two runs never
    /// measure each other. The lock moves into the thread: a client that hangs up does not
    /// free it before the work is done.
    pub async fn run_exclusive<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
    ) -> Result<T, AgentError> {
        let guard = self.inner.bench_lock.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            work()
        })
        .await
        .map_err(|err| AgentError::Task(err.to_string()))?
    }
}
