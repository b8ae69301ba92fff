//! `tumblebug-agent`: the benchmark and metrics agent Tumblebug installs on every VM.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use tb_agent::{AgentConfig, DEFAULT_PORT, default_work_dir};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "tumblebug-agent", version, about = "CB-Milkyway-compatible benchmark and metrics agent")]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "TB_AGENT_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Address to bind.
    #[arg(long, env = "TB_AGENT_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Directory for the fileio files and the database [default: ~/.tumblebug-agent].
    #[arg(long, env = "TB_AGENT_WORK_DIR")]
    work_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args = Args::parse();
    let config =
        AgentConfig { bind: args.bind, port: args.port, work_dir: args.work_dir.unwrap_or_else(default_work_dir) };
    tb_agent::serve(config, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
