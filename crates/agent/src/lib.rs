//! `tumblebug-agent`: a benchmark and metrics agent that answers CB-Milkyway's REST API
//! (port 1324, prefix `/milkyway`) with the workloads built in, so a VM needs neither sysbench
//! nor MySQL. Each workload reimplements the sysbench test Milkyway runs (same algorithm,
//! block sizes and defaults), so scores track sysbench's and compare with published ones.
//!
//! | endpoint | workload (Milkyway's sysbench equivalent) | `result` / `unit` |
//! |---|---|---|
//! | `install` | nothing to install; creates the work directory | "The installation is complete" |
//! | `init` | 128 files of 50M total, SQLite table `sbtest1` of 100000 rows | "The init is complete" |
//! | `cpus`, `cpum` | primes below 100000 per event, 1 thread / all cores, 10 s | events/s, `Executions/sec` |
//! | `memR`, `memW` | 1K blocks over one buffer, 10G or 10 s | `MiB/sec` |
//! | `fioR`, `fioW` | random 16K reads / writes (fsync every 100), 30 s | `MiB/sec` |
//! | `dbR`, `dbW` | OLTP read-only / write-only transactions, 10 s | `Transactions/s` |
//! | `rtt` | body `{"host"}`: 10 ICMP echoes 1 s apart, else TCP connects | average, `ms` |
//! | `mrtt` | body `{"multihost":[{"host","spec"}]}`: every host in parallel, retried once | `{"resultarray"}` |
//! | `clean` | removes the files and the database | "The cleaning is complete" |
//! | `metrics[/{cpu,mem,disk,net}]` | current utilisation ([`tb_model::benchmark::AgentMetrics`]) | |
//!
//! Results are [`tb_model::benchmark::BenchmarkInfo`]: `result` is a number with two
//! decimals (three for RTT), `elapsed` seconds with six. Errors answer 404
//! `{"message":"Error in excuting the benchmark: ..."}` (e.g. `not initialized` when `fioR`,
//! `fioW`, `dbR` or `dbW` run before `init`); invalid query parameters answer 400.
//!
//! # Query parameters
//!
//! Every size and duration can be changed per request (sizes take sysbench's `16K`, `50M`,
//! `10G` spelling):
//!
//! - all runs: `seconds` (time limit; default 10, fileio 30), `events` (stop after this many
//!   events; default 0, no limit)
//! - `cpus`, `cpum`: `maxPrime` (100000); `cpum` also `threads` (default: available cores)
//! - `memR`, `memW`: `blockSize` (1K, a power of two), `totalSize` (10G)
//! - `init`: `fileTotalSize` (50M), `fileNum` (128), `tableSize` (100000)
//! - `fioR`, `fioW`: `blockSize` (16K), `fsyncFreq` (100; 0 disables)
//! - `rtt`, `mrtt`: `count` (10), `intervalMs` (1000), `timeoutMs` (1000), `tcpPort` (22, the
//!   fallback port when ICMP is not permitted; `host:port` always measures TCP)
//! - `metrics`: `sampleMs` (250; used when the previous call is not 0.1–60 s old)
//!
//! Benchmark runs hold one lock, so concurrent requests queue instead of measuring each
//! other; the work runs on blocking threads.

pub mod api;
pub mod error;
pub mod metrics;
pub mod params;
pub mod rtt;
pub mod state;
pub mod workload;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use api::router;
pub use error::AgentError;
pub use state::AgentState;

/// Milkyway's port.
pub const DEFAULT_PORT: u16 = 1324;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub bind: IpAddr,
    /// 0 picks a free port (see [`RunningAgent::addr`]).
    pub port: u16,
    /// Where the fileio files and the database live.
    pub work_dir: PathBuf,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig { bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED), port: DEFAULT_PORT, work_dir: default_work_dir() }
    }
}

/// `~/.tumblebug-agent`, or `/tmp/tumblebug-agent` without a home directory.
pub fn default_work_dir() -> PathBuf {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".tumblebug-agent"),
        None => std::env::temp_dir().join("tumblebug-agent"),
    }
}

/// An agent serving in the background.
#[derive(Debug)]
pub struct RunningAgent {
    /// The bound address (with the real port when 0 was asked for).
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl RunningAgent {
    /// Stops accepting, lets running requests finish, and waits.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.map_err(io::Error::other)?
    }
}

async fn bind(config: &AgentConfig) -> io::Result<(TcpListener, AgentState)> {
    tokio::fs::create_dir_all(&config.work_dir).await?;
    let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port)).await?;
    Ok((listener, AgentState::new(config.work_dir.clone())))
}

/// Binds and serves in a background task.
pub async fn start(config: AgentConfig) -> io::Result<RunningAgent> {
    let (listener, state) = bind(&config).await?;
    let addr = listener.local_addr()?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    tracing::info!(%addr, work_dir = %config.work_dir.display(), "tumblebug-agent listening");
    Ok(RunningAgent { addr, shutdown, task })
}

/// Binds and serves until `shutdown` completes.
pub async fn serve(config: AgentConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
    let (listener, state) = bind(&config).await?;
    tracing::info!(addr = %listener.local_addr()?, work_dir = %config.work_dir.display(), "tumblebug-agent listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
