//! Group placement requests (a Tumblebug extension): where to put a whole MCI so that every
//! pair of VMs is within an RTT bound, optionally near a point, at the lowest cost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mci::MciDynamicReq;
use crate::recommend::FilterInfo;

/// One subgroup: how many VMs, which specs qualify, which OS.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PlacementSubGroupReq {
    pub name: String,
    /// VMs in the subgroup (default 1). All of them go to one region with one spec.
    pub sub_group_size: Option<u32>,
    /// The same filter as `recommendSpec` (e.g. vCPU >= 2, providerName in aws,gcp).
    pub filter: FilterInfo,
    /// OS wanted, matched against catalog images of the chosen region (default `Ubuntu 22.04`).
    pub os_type: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PlacementNear {
    pub latitude: f64,
    pub longitude: f64,
    /// Every VM within this distance of the point.
    pub max_distance_km: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PlacementReq {
    pub sub_groups: Vec<PlacementSubGroupReq>,
    /// Bound on the round-trip time between every pair of VMs, in ms.
    pub max_rtt_ms: Option<f64>,
    pub near: Option<PlacementNear>,
    /// `cost` (default) or `worstRtt`.
    pub objective: String,
}

/// One subgroup's chosen place.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PlacementChoice {
    pub sub_group: String,
    /// `{provider}-{region}` (the connection).
    pub connection_name: String,
    pub spec_id: String,
    pub image_id: String,
    pub cost_per_vm: f64,
    pub vm_count: u32,
}

/// The optimum and the `mciDynamic` request that creates it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PlacementResult {
    pub choices: Vec<PlacementChoice>,
    /// Total cost per hour of every VM.
    pub total_cost: f64,
    /// Worst round-trip time between any two VMs, ms (absent when unknown).
    pub worst_rtt_ms: Option<f64>,
    /// Which pair of subgroups and regions has it.
    pub worst_pair: String,
    /// Search nodes visited (the optimum is exact, not a heuristic).
    pub nodes: u64,
    pub mci_dynamic_req: MciDynamicReq,
}
