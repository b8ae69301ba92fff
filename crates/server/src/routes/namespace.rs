//! `/ns`: namespaces.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use tb_model::resource::{Exists, IdList, NsInfo, NsList, NsReq, SimpleMsg};

use super::{ListQuery, json};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::LenientJson;

const TAG: &str = "[Namespace] Namespace management";

#[utoipa::path(post, path = "/ns", tag = TAG, request_body = NsReq,
    responses((status = 200, body = NsInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_ns(State(s): State<AppState>, LenientJson(req): LenientJson<NsReq>) -> ApiResult<Response> {
    Ok(json(s.tb.create_ns(req).await?))
}

#[utoipa::path(get, path = "/ns", tag = TAG, params(ListQuery),
    responses((status = 200, description = "`{\"ns\": [...]}`, or `{\"output\": [ids]}` with option=id", body = NsList)))]
pub async fn list_ns(State(s): State<AppState>, Query(q): Query<ListQuery>) -> ApiResult<Response> {
    if q.ids_only() {
        return Ok(json(IdList { output: s.tb.list_ns_ids().await? }));
    }
    let mut ns = s.tb.list_ns().await?;
    if let Some(f) = tb_core::resource::ListFilter::new(q.filter_key, q.filter_val) {
        ns.retain(|n| f.matches(n));
    }
    Ok(json(NsList { ns }))
}

#[utoipa::path(get, path = "/ns/{nsId}", tag = TAG, params(("nsId" = String, Path)),
    responses((status = 200, body = NsInfo), (status = 404, body = SimpleMsg)))]
pub async fn get_ns(State(s): State<AppState>, Path(ns): Path<String>) -> ApiResult<Response> {
    Ok(json(s.tb.get_ns(&ns).await?))
}

#[utoipa::path(put, path = "/ns/{nsId}", tag = TAG, params(("nsId" = String, Path)), request_body = NsReq,
    responses((status = 200, body = NsInfo), (status = 404, body = SimpleMsg)))]
pub async fn update_ns(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    LenientJson(req): LenientJson<NsReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.update_ns(&ns, req).await?))
}

#[utoipa::path(delete, path = "/ns/{nsId}", tag = TAG, params(("nsId" = String, Path)),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg), (status = 409, description = "not empty", body = SimpleMsg)))]
pub async fn delete_ns(State(s): State<AppState>, Path(ns): Path<String>) -> ApiResult<Response> {
    s.tb.delete_ns(&ns).await?;
    Ok(json(SimpleMsg::new(format!("The ns {ns} has been deleted"))))
}

#[utoipa::path(delete, path = "/ns", tag = TAG,
    responses((status = 200, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn delete_all_ns(State(s): State<AppState>) -> ApiResult<Response> {
    let deleted = s.tb.delete_all_ns().await?;
    Ok(json(SimpleMsg::new(format!("All namespaces have been deleted ({})", deleted.len()))))
}

#[utoipa::path(get, path = "/checkNs/{nsId}", tag = TAG, params(("nsId" = String, Path)),
    responses((status = 200, body = Exists)))]
pub async fn check_ns(State(s): State<AppState>, Path(ns): Path<String>) -> ApiResult<Response> {
    Ok(json(Exists { exists: s.tb.ns_exists(&ns).await? }))
}
