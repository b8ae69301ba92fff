//! The one place where application errors become HTTP statuses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tb_cloud::CloudError;
use tb_core::CoreError;
use tb_model::resource::SimpleMsg;

/// Error returned by every handler: `{"message": ...}` with a status chosen by kind.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
}

pub fn cloud_status(e: &CloudError) -> StatusCode {
    match e {
        CloudError::InvalidRequest(_) | CloudError::UnknownConnection(_) => StatusCode::BAD_REQUEST,
        CloudError::NotFound { .. } => StatusCode::NOT_FOUND,
        CloudError::Capacity { .. } | CloudError::Quota { .. } => StatusCode::INSUFFICIENT_STORAGE,
        CloudError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        CloudError::Transient(_) | CloudError::Unreachable(_) => StatusCode::SERVICE_UNAVAILABLE,
        CloudError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        let status = match &e {
            CoreError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::AlreadyExists(_) | CoreError::Conflict(_) | CoreError::ConcurrentUpdate(_) => {
                StatusCode::CONFLICT
            }
            CoreError::Unsatisfiable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::Cloud(c) => cloud_status(c),
            CoreError::Store(_) | CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CoreError::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        ApiError { status, message: e.to_string() }
    }
}

impl From<CloudError> for ApiError {
    fn from(e: CloudError) -> ApiError {
        ApiError { status: cloud_status(&e), message: e.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(SimpleMsg::new(self.message))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
