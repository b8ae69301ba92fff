//! `tumblebug`: the control plane (`serve`) and the simulated clouds as their own process
//! (`sim-cloud`). This is the composition root: the only place that names concrete store
//! backends and cloud drivers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use tb_cloud::sim::{SimAdmin, SimCloud, SimConfig, SimDriver, SimHttpDriver};
use tb_store::{RedbStore, Store};

#[derive(Parser)]
#[command(name = "tumblebug", version, about = "Multi-cloud infrastructure orchestrator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: REST API on :1323 under /tumblebug.
    Serve(ServeArgs),
    /// Run the simulated clouds as their own process, with their own persistent state.
    SimCloud(SimCloudArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// YAML config file; flags and environment variables override it.
    #[arg(long, env = "TB_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:1323].
    #[arg(long, env = "TB_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory of the embedded store (`tumblebug.redb`) [default: ./data].
    #[arg(long, env = "TB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Directory with CB-Tumblebug asset files for `GET /loadAssets`.
    #[arg(long, env = "TB_ASSETS_DIR")]
    assets_dir: Option<PathBuf>,
    /// Reach the simulated clouds over HTTP (a `tumblebug sim-cloud` process) instead of
    /// running them in-process.
    #[arg(long, env = "TB_SIM_URL")]
    sim_url: Option<String>,
    /// Time factor of in-process simulated clouds (1 = realistic, 0 = instant).
    #[arg(long, env = "TB_SIM_TIME_FACTOR")]
    sim_time_factor: Option<f64>,
    /// Seed of in-process simulated clouds.
    #[arg(long, env = "TB_SIM_SEED")]
    sim_seed: Option<u64>,
    /// Local regions (comma separated, e.g. `lo1,lo2`) whose VMs are real sshd processes on
    /// loopback addresses of this machine (connections `local-lo1`, ...).
    #[arg(long, env = "TB_LOCAL_REGIONS", value_delimiter = ',')]
    local_regions: Vec<String>,
    /// VM operations running at once per connection (provider-region).
    #[arg(long, env = "TB_VMS_PER_REGION", default_value_t = 20)]
    vms_per_region: usize,
    /// How often VMs in transition are polled, in milliseconds.
    #[arg(long, env = "TB_POLL_INTERVAL_MS", default_value_t = 2000)]
    poll_interval_ms: u64,
    /// A stable VM is not re-read from its cloud more often than this, in milliseconds.
    #[arg(long, env = "TB_STATUS_CACHE_MS", default_value_t = 10000)]
    status_cache_ms: u64,
    /// The `tumblebug-agent` binary that `installBenchmarkAgent` uploads to VMs (default: next
    /// to this executable).
    #[arg(long, env = "TB_AGENT_BINARY")]
    agent_binary: Option<PathBuf>,
}

#[derive(Args)]
struct SimCloudArgs {
    /// YAML file with a `sim:` section (time factor, seed, faults).
    #[arg(long, env = "TB_SIM_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, env = "TB_SIM_LISTEN", default_value = "127.0.0.1:1400")]
    listen: SocketAddr,
    /// Directory of the clouds' own state (`sim-cloud.redb`).
    #[arg(long, env = "TB_SIM_DATA_DIR", default_value = "./sim-data")]
    data_dir: PathBuf,
    #[arg(long, env = "TB_SIM_TIME_FACTOR")]
    time_factor: Option<f64>,
    #[arg(long, env = "TB_SIM_SEED")]
    seed: Option<u64>,
}

/// The config file. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    assets_dir: Option<PathBuf>,
    sim_url: Option<String>,
    sim: Option<SimConfig>,
}

fn read_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("TB_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

fn open_store(dir: &Path, file: &str) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    let path = dir.join(file);
    let store = RedbStore::open(&path).with_context(|| format!("opening store {}", path.display()))?;
    Ok(Arc::new(store))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = read_config(args.config.as_deref())?;
    let listen = args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 1323)));
    let data_dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data"));
    let assets_dir = args.assets_dir.or(file.assets_dir);
    let sim_url = args.sim_url.or(file.sim_url);
    let mut sim_config = file.sim.unwrap_or_default();
    if let Some(f) = args.sim_time_factor {
        sim_config.time_factor = f;
    }
    if let Some(seed) = args.sim_seed {
        sim_config.seed = seed;
    }

    let store = open_store(&data_dir, "tumblebug.redb")?;
    let mut catalog = tb_catalog::Catalog::builtin();
    let clouds = Arc::new(tb_core::Clouds::new("sim"));
    let regions: Vec<String> =
        args.local_regions.iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
    if !regions.is_empty() {
        let config = tb_cloud::local::LocalConfig::new(regions.clone(), data_dir.join("local"));
        let driver = tb_cloud::local::LocalDriver::new(config).context("starting the local driver")?;
        tb_cloud::local::catalog_facts(&regions, (0.0, 0.0), &mut catalog);
        clouds.add_driver("local", Arc::new(driver));
        clouds.set_provider_driver(tb_cloud::local::PROVIDER, "local");
        tracing::info!(regions = ?regions, "local regions: VMs are sshd processes on loopback addresses");
    }
    let sim_admin: Arc<dyn SimAdmin> = match &sim_url {
        Some(url) => {
            let driver = Arc::new(SimHttpDriver::new(url));
            clouds.add_driver("sim", driver.clone());
            tracing::info!(url = %url, "simulated clouds reached over HTTP");
            driver
        }
        None => {
            let sim_store = open_store(&data_dir, "sim-cloud.redb")?;
            let cloud = Arc::new(
                SimCloud::builder(Arc::new(catalog.clone()))
                    .config(sim_config)
                    .store(sim_store)
                    .build()
                    .await
                    .context("starting the simulated clouds")?,
            );
            clouds.add_driver("sim", Arc::new(SimDriver::new(cloud.clone())));
            tracing::info!("simulated clouds run in-process");
            cloud
        }
    };
    let view = Arc::new(tb_core::CatalogView::new(catalog));
    let engine = tb_core::limits::EngineConfig {
        vms_per_region: args.vms_per_region.max(1),
        poll_interval: std::time::Duration::from_millis(args.poll_interval_ms.max(10)),
        status_cache: std::time::Duration::from_millis(args.status_cache_ms),
        ..tb_core::limits::EngineConfig::default()
    };
    let tb = tb_core::Tumblebug::with_config(store, view, clouds, engine).await.context("starting the application")?;
    if let Some(agent) = args.agent_binary.clone() {
        tb.set_agent_binary(agent);
    }
    // Recovery of interrupted work (adopt, resume, sweep orphans), then the status poller.
    let _background = tb.start_background();
    let state = tb_server::AppState { tb, sim: Some(sim_admin), assets_dir };
    let app = tb_server::router(state, tb_server::AuthConfig::from_env());
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, data_dir = %data_dir.display(), "Tumblebug serving on /tumblebug");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn sim_cloud(args: SimCloudArgs) -> anyhow::Result<()> {
    let file = read_config(args.config.as_deref())?;
    let mut config = file.sim.unwrap_or_default();
    if let Some(f) = args.time_factor {
        config.time_factor = f;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let store = open_store(&args.data_dir, "sim-cloud.redb")?;
    let cloud = Arc::new(
        SimCloud::builder(Arc::new(tb_catalog::Catalog::builtin()))
            .config(config)
            .store(store)
            .build()
            .await
            .context("starting the simulated clouds")?,
    );
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, data_dir = %args.data_dir.display(), "simulated clouds serving");
    tb_cloud::sim::serve(listener, cloud).await?;
    Ok(())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::SimCloud(args) => sim_cloud(args).await,
        }
    })
}
