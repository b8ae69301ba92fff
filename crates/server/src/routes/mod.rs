//! Route handlers, one module per area of the API. Handlers parse, call `tb_core`, and shape
//! the response; no business rule lives here.

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

pub mod bastion;
pub mod benchmark;
pub mod cmd;
pub mod cmd_history;
pub mod mci;
pub mod namespace;
pub mod recommend;
pub mod request;
pub mod resource;
pub mod sim;
pub mod system;

/// Query options shared by list and delete endpoints. All strings: Go's binder accepted
/// anything, so parsing is lenient and done here.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `id` returns `{"output": [ids]}`.
    pub option: Option<String>,
    /// Field name to filter on (e.g. `cspResourceName`).
    #[serde(rename = "filterKey")]
    #[param(rename = "filterKey")]
    pub filter_key: Option<String>,
    /// Value the field must equal.
    #[serde(rename = "filterVal")]
    #[param(rename = "filterVal")]
    pub filter_val: Option<String>,
}

impl ListQuery {
    pub fn ids_only(&self) -> bool {
        self.option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("id"))
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true` deletes even while other objects use the resource.
    pub force: Option<String>,
    /// vNet deletion: `withsubnets`, `refine` or `force`.
    pub action: Option<String>,
    /// Bulk deletion: only ids containing this substring.
    #[serde(rename = "match")]
    #[param(rename = "match")]
    pub matching: Option<String>,
}

impl DeleteQuery {
    pub fn force(&self) -> bool {
        is_true(self.force.as_deref()) || self.action.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("force"))
    }
}

pub fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

pub fn json<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}

/// The request's id (the request-id layer sets one when the client sent none).
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Answer of an asynchronous request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub x_request_id: String,
    pub message: String,
}

/// Runs `work` as a tracked request: synchronously (answering its result) or, with
/// `async=true`, in the background (answering 202 with the request id).
pub(crate) async fn tracked<T, F>(
    s: &AppState,
    headers: &HeaderMap,
    uri: &OriginalUri,
    method: &str,
    body: serde_json::Value,
    is_async: bool,
    work: F,
) -> ApiResult<Response>
where
    T: Serialize + Send + Sync + 'static,
    F: std::future::Future<Output = Result<T, tb_core::CoreError>> + Send + 'static,
{
    let id = request_id(headers);
    let track = s.tb.track(&id, method, &uri.0.to_string(), body).await.ok();
    let run = async move {
        let result = work.await;
        if let Some(t) = &track {
            match &result {
                Ok(v) => t.succeed(v).await,
                Err(e) => t.fail(&e.to_string()).await,
            }
        }
        result
    };
    // The work runs in its own task either way: a client that disconnects from a synchronous
    // request must not cancel provisioning half-way (dropping a JoinHandle detaches).
    let handle = tokio::spawn(run);
    if is_async {
        let body =
            Accepted { x_request_id: id, message: "accepted; follow GET /tumblebug/request/{xRequestId}".into() };
        return Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response());
    }
    match handle.await {
        Ok(result) => Ok(json(result?)),
        Err(e) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("request task failed: {e}"))),
    }
}
