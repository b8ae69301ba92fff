//! `/request`: tracked requests.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use tb_model::request::RequestDetails;
use tb_model::resource::SimpleMsg;
use utoipa::IntoParams;

use super::json;
use crate::AppState;
use crate::error::ApiResult;

const TAG: &str = "[Admin] Request tracking";

#[utoipa::path(get, path = "/request/{reqId}", tag = TAG, params(("reqId" = String, Path)),
    responses((status = 200, body = RequestDetails), (status = 404, body = SimpleMsg)))]
pub async fn get_request(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(json(s.tb.request(&id).await?))
}

#[utoipa::path(delete, path = "/request/{reqId}", tag = TAG, params(("reqId" = String, Path)),
    responses((status = 200, body = SimpleMsg)))]
pub async fn delete_request(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    s.tb.delete_request(&id).await?;
    Ok(json(SimpleMsg::new(format!("Request {id} has been deleted"))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// `Handling`, `Success` or `Error`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/requests", tag = TAG, params(RequestsQuery),
    responses((status = 200, description = "request id → details", body = BTreeMap<String, RequestDetails>)))]
pub async fn list_requests(State(s): State<AppState>, Query(q): Query<RequestsQuery>) -> ApiResult<Response> {
    let all: BTreeMap<String, RequestDetails> = s.tb.requests(q.status.as_deref()).await?.into_iter().collect();
    Ok(json(all))
}

#[utoipa::path(delete, path = "/requests", tag = TAG, responses((status = 200, body = SimpleMsg)))]
pub async fn delete_requests(State(s): State<AppState>) -> ApiResult<Response> {
    let n = s.tb.delete_requests().await?;
    Ok(json(SimpleMsg::new(format!("{n} requests deleted"))))
}
