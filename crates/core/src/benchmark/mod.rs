//! Benchmarks and utilisation metrics through the agent on every VM (reference §5, §2.8,
//! §2.10): installing `tumblebug-agent` over SSH, calling its CB-Milkyway endpoints on all
//! VMs at once, and feeding the results to placement — a per-spec performance score
//! ([`score`]) and measured latencies between regions.
//!
//! Where things are: [`install`] puts the agent on the VMs; [`call`] talks to agents;
//! [`run`] is the benchmark endpoints; [`results`] stores what was measured and applies it;
//! [`monitor`] reads utilisation.

mod call;
mod install;
mod monitor;
mod results;
mod run;
pub mod score;

use std::path::PathBuf;

pub(crate) use call::client;
pub use run::AgentQuery;

/// The agent's port (CB-Milkyway's).
pub const AGENT_PORT: u16 = 1324;

/// Where the agent binary that `installBenchmarkAgent` uploads is found: `TB_AGENT_BINARY`,
/// else `tumblebug-agent` next to the running executable (or one directory up, where cargo
/// puts binaries of test executables in `deps/`).
pub fn default_agent_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TB_AGENT_BINARY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("tumblebug-agent"), dir.parent()?.join("tumblebug-agent")].into_iter().find(|p| p.is_file())
}
