//! Tracked requests (`GET /tumblebug/request/{reqId}`), in CB-Tumblebug's `RequestDetails`
//! shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RequestInfo {
    pub method: String,
    pub url: String,
    pub header: BTreeMap<String, String>,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestDetails {
    pub start_time: String,
    pub end_time: String,
    /// `Handling`, `Success` or `Error`.
    pub status: String,
    pub request_info: RequestInfo,
    /// What the request has done so far (e.g. `12/40 VMs created`).
    pub progress: String,
    #[schema(value_type = Object)]
    pub response_data: serde_json::Value,
    pub error_response: String,
}

pub const REQUEST_HANDLING: &str = "Handling";
pub const REQUEST_SUCCESS: &str = "Success";
pub const REQUEST_ERROR: &str = "Error";
