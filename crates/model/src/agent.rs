//! What Tumblebug answers about the agents on the VMs: installation results and utilisation
//! read from them (`installBenchmarkAgent`, `monitoring/mci/{id}/metric/{metric}`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::benchmark::AgentMetrics;

/// What happened on one VM (CB-Tumblebug's `AgentInstallContent`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentInstallContent {
    pub mci_id: String,
    pub vm_id: String,
    pub vm_ip: String,
    /// What was done, or why it failed.
    pub result: String,
}

/// `{"resultArray": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentInstallResult {
    pub result_array: Vec<AgentInstallContent>,
}

/// One VM's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VmMonitoring {
    pub vm_id: String,
    pub vm_ip: String,
    pub metric: String,
    /// The headline number (`cpu`, `mem`, `disk`: percent used; `net`: bytes out per second),
    /// empty for `all` or on failure.
    pub value: String,
    /// Everything the agent reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<AgentMetrics>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub err: String,
}

/// The answer for an MCI.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MonitoringResult {
    pub ns_id: String,
    pub mci_id: String,
    pub mci_monitoring: Vec<VmMonitoring>,
}
