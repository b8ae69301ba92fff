//! Placement: `recommendSpec` (and its older names), its options, and region RTTs.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use tb_model::recommend::{RecommendSpecReq, RecommendSpecRequestOptions};
use tb_model::resource::{SimpleMsg, SpecInfo};
use utoipa::IntoParams;

use super::json;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::LenientJson;

const TAG: &str = "[MC-Infra] MCI Provisioning and Management";

#[utoipa::path(post, path = "/recommendSpec", tag = TAG, request_body = RecommendSpecReq,
    responses((status = 200, description = "specs in rank order, with orderInFilteredResult, evaluationScore09 and evaluationScore10", body = Vec<SpecInfo>),
              (status = 400, description = "unknown metric, bad operator or operand", body = SimpleMsg)))]
pub async fn recommend_spec(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<RecommendSpecReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.recommend_spec(&req)?))
}

#[utoipa::path(get, path = "/recommendSpecOptions", tag = TAG,
    responses((status = 200, description = "every filter metric, operator and priority with examples", body = RecommendSpecRequestOptions)))]
pub async fn recommend_spec_options(State(s): State<AppState>) -> Response {
    json(s.tb.recommend_spec_options())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct RttQuery {
    /// Region id `{provider}-{region}`, e.g. `aws-ap-northeast-2`.
    pub from: String,
    pub to: String,
}

#[utoipa::path(get, path = "/latency", tag = TAG, params(RttQuery),
    responses((status = 200, description = "`{\"ms\": 12.3, \"source\": \"measured\"|\"estimated\"}`"), (status = 400, body = SimpleMsg)))]
pub async fn region_rtt(State(s): State<AppState>, Query(q): Query<RttQuery>) -> ApiResult<Response> {
    Ok(json(s.tb.region_rtt(&q.from, &q.to)?))
}

#[utoipa::path(post, path = "/mciPlacement", tag = TAG, request_body = tb_model::placement::PlacementReq,
    responses((status = 200, description = "the exact optimum and the mciDynamic request that creates it", body = tb_model::placement::PlacementResult),
              (status = 400, body = SimpleMsg), (status = 422, description = "no placement satisfies the request; the message says why", body = SimpleMsg)))]
pub async fn place_mci(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<tb_model::placement::PlacementReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.place_mci(&req)?))
}

/// Older names of `recommendSpec` (v0.5–v0.11.3), not repeated in the OpenAPI document.
pub fn legacy_routes() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new().route("/mciRecommendVm", post(recommend_spec)).route("/mcisRecommendVm", post(recommend_spec))
}
