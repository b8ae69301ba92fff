//! `/sim`: run-time knobs of the simulated clouds (fault injection and time factor), used by
//! tests and demos. Present only when the server runs with the sim driver.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use tb_cloud::sim::FaultConfig;
use tb_model::resource::SimpleMsg;

use super::json;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::LenientJson;

const TAG: &str = "[Admin] Simulated cloud";

fn admin(s: &AppState) -> ApiResult<&std::sync::Arc<dyn tb_cloud::sim::SimAdmin>> {
    s.sim.as_ref().ok_or_else(|| ApiError::not_found("this server does not run the simulated clouds"))
}

#[utoipa::path(get, path = "/sim/config", tag = TAG,
    responses((status = 200, description = "time factor, seed and fault knobs"), (status = 404, body = SimpleMsg)))]
pub async fn get_config(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(json(admin(&s)?.config().await?))
}

#[utoipa::path(put, path = "/sim/faults", tag = TAG,
    request_body(content = serde_json::Value, description = "FaultConfig: the whole set of fault knobs (absent = off)"),
    responses((status = 200, body = SimpleMsg), (status = 400, body = SimpleMsg)))]
pub async fn set_faults(
    State(s): State<AppState>,
    LenientJson(faults): LenientJson<FaultConfig>,
) -> ApiResult<Response> {
    admin(&s)?.set_faults(faults).await?;
    Ok(json(SimpleMsg::new("fault knobs updated")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeFactorReq {
    /// 1.0 = realistic durations, 0 = instant.
    pub time_factor: f64,
}

#[utoipa::path(put, path = "/sim/timeFactor", tag = TAG, request_body = TimeFactorReq,
    responses((status = 200, body = SimpleMsg), (status = 400, body = SimpleMsg)))]
pub async fn set_time_factor(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<TimeFactorReq>,
) -> ApiResult<Response> {
    if !req.time_factor.is_finite() || req.time_factor < 0.0 {
        return Err(ApiError::bad_request("timeFactor must be a finite number >= 0"));
    }
    admin(&s)?.set_time_factor(req.time_factor).await?;
    Ok(json(SimpleMsg::new(format!("time factor set to {}", req.time_factor))))
}
