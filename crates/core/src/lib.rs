//! The Tumblebug application layer: namespaces, connections, resources and the catalog, with
//! MCI provisioning to come. It talks to the [`Store`] and [`CloudDriver`] traits only: which
//! backend or driver sits behind them is decided by the binary that builds a [`Tumblebug`].
//!
//! [`Store`]: tb_store::Store
//! [`CloudDriver`]: tb_cloud::CloudDriver

use std::sync::Arc;

pub mod assets;
pub mod benchmark;
pub mod catalog_view;
pub mod clouds;
pub mod error;
pub mod keys;
pub mod limits;
pub mod lookup;
pub mod mci;
pub mod namespace;
pub mod ops;
pub mod placement;
pub mod remote;
mod repo;
pub mod resource;

pub use catalog_view::{CatalogSnapshot, CatalogView};
pub use clouds::Clouds;
pub use error::CoreError;

pub type CoreResult<T> = Result<T, CoreError>;

/// The system namespace that holds the shared catalog of specs and images (v0.9.10+ name).
pub const SYSTEM_NS: &str = "system";

/// The application: every request handler calls into one of these.
#[derive(Clone)]
pub struct Tumblebug {
    store: Arc<dyn tb_store::Store>,
    catalog: Arc<CatalogView>,
    clouds: Arc<Clouds>,
    engine: Arc<mci::Engine>,
    latency: Arc<placement::Latency>,
    streams: Arc<remote::CommandStreams>,
    /// SSH connections kept for reuse (one per VM and login; one per bastion for all the VMs
    /// behind it).
    ssh: tb_ssh::SshPool,
    /// Calls to the benchmark agents.
    http: reqwest::Client,
    /// The agent binary `installBenchmarkAgent` uploads (see [`benchmark::default_agent_binary`]).
    agent_binary: Arc<std::sync::RwLock<Option<std::path::PathBuf>>>,
}

impl Tumblebug {
    /// Builds the application with default engine settings.
    pub async fn new(
        store: Arc<dyn tb_store::Store>,
        catalog: Arc<CatalogView>,
        clouds: Arc<Clouds>,
    ) -> CoreResult<Tumblebug> {
        Tumblebug::with_config(store, catalog, clouds, limits::EngineConfig::default()).await
    }

    /// Builds the application and makes sure the system namespace exists. Background work
    /// (recovery after a restart, status polling) starts with [`Tumblebug::start_background`].
    pub async fn with_config(
        store: Arc<dyn tb_store::Store>,
        catalog: Arc<CatalogView>,
        clouds: Arc<Clouds>,
        config: limits::EngineConfig,
    ) -> CoreResult<Tumblebug> {
        let installation = mci::installation_id(store.as_ref()).await?;
        let engine = Arc::new(mci::Engine::new(config, installation));
        let tb = Tumblebug {
            store,
            catalog,
            clouds,
            engine,
            latency: Arc::default(),
            streams: Arc::default(),
            ssh: tb_ssh::SshPool::default(),
            http: benchmark::client(),
            agent_binary: Arc::new(std::sync::RwLock::new(benchmark::default_agent_binary())),
        };
        tb.ensure_system_ns().await?;
        tb.replay_catalog_imports().await?;
        tb.replay_benchmarks().await?;
        let interrupted = tb.mark_interrupted_requests().await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "requests interrupted by the last stop were marked as errors");
        }
        let interrupted = tb.mark_interrupted_commands().await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "commands interrupted by the last stop were marked Interrupted");
        }
        Ok(tb)
    }

    /// Uses this agent binary for `installBenchmarkAgent`.
    pub fn set_agent_binary(&self, path: std::path::PathBuf) {
        *self.agent_binary.write().unwrap_or_else(|p| p.into_inner()) = Some(path);
    }

    pub fn agent_binary(&self) -> Option<std::path::PathBuf> {
        self.agent_binary.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn store(&self) -> &Arc<dyn tb_store::Store> {
        &self.store
    }

    pub fn catalog(&self) -> Arc<CatalogSnapshot> {
        self.catalog.snapshot()
    }

    pub fn clouds(&self) -> &Arc<Clouds> {
        &self.clouds
    }

    /// Ready when the store answers.
    pub async fn ready(&self) -> bool {
        self.store.get(&keys::ns(SYSTEM_NS)).await.is_ok()
    }
}

/// Current time as Tumblebug prints it (`2006-01-02 15:04:05`, UTC).
pub fn now_string() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format_unix(secs)
}

/// Formats unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC), without a date-time dependency.
pub fn format_unix(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}")
}

/// A new internal unique id (`rs/xid`-style, 20 chars, sortable), as CB-Tumblebug's `uid`.
pub fn new_uid() -> String {
    xid::new().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::format_unix(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_unix(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(super::format_unix(951_782_400), "2000-02-29 00:00:00");
    }
}
