//! `LenientJson<T>`: the request-body extractor that reads JSON like CB-Tumblebug's echo bind.
//!
//! Unlike `axum::Json` it ignores the content type (scripts often send none, or
//! `text/plain`), treats an empty body as `{}`, and decodes with [`crate::lenient`]'s Go-like
//! rules. Failures become `400 {"message": "..."}`, the error shape CB-Tumblebug clients read.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::lenient::{self, LenientError};

/// A request body decoded leniently into `T`; use it in handlers like `axum::Json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LenientJson<T>(pub T);

/// Why a [`LenientJson`] body was refused.
#[derive(Debug, thiserror::Error)]
pub enum LenientJsonRejection {
    /// The body could not be read at all (too large, connection dropped, ...).
    #[error("{message}")]
    Body {
        /// The status axum chose, e.g. 413 for a body over the size limit.
        status: StatusCode,
        /// Axum's description of the failure.
        message: String,
    },
    /// The body was read but is not acceptable JSON for the handler's type.
    #[error(transparent)]
    Invalid(#[from] LenientError),
}

impl LenientJsonRejection {
    /// The HTTP status this rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Body { status, .. } => *status,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for LenientJsonRejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

impl<T, S> FromRequest<S> for LenientJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = LenientJsonRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            tracing::debug!(status = %rejection.status(), "request body could not be read");
            LenientJsonRejection::Body { status: rejection.status(), message: rejection.body_text() }
        })?;
        decode(&body).map(LenientJson).map_err(|error| {
            // Only the location is logged: the message quotes part of the offending value.
            match &error {
                LenientError::Malformed { line, column, .. } => {
                    tracing::debug!(line, column, "request body is not JSON");
                }
                LenientError::Invalid { path, .. } => {
                    tracing::debug!(path = %path, "request body does not fit the expected type");
                }
            }
            error.into()
        })
    }
}

/// Echo binds nothing for an empty body, leaving the zero value; `{}` gives the same here.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, LenientError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        lenient::from_value(Value::Object(Map::new()))
    } else {
        lenient::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::post;
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default, rename_all = "camelCase")]
    struct SubGroupReq {
        name: String,
        sub_group_size: u32,
    }

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default, rename_all = "camelCase")]
    struct MciReq {
        name: String,
        sub_groups: Vec<SubGroupReq>,
    }

    /// Echoes the decoded request, so tests see exactly what the handler received.
    async fn echo(LenientJson(req): LenientJson<MciReq>) -> Json<MciReq> {
        Json(req)
    }

    fn app() -> Router {
        Router::new().route("/mci", post(echo)).layer(DefaultBodyLimit::max(256))
    }

    async fn send(content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::builder().method("POST").uri("/mci");
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn decodes_leniently_whatever_the_content_type() {
        let body = r#"{"Name":"mci01","SubGroups":[{"Name":"g1","SubGroupSize":"3"}]}"#;
        let expected = json!({"name": "mci01", "subGroups": [{"name": "g1", "subGroupSize": 3}]});
        for content_type in [Some("application/json"), Some("text/plain"), None] {
            let (status, echoed) = send(content_type, body).await;
            assert_eq!(status, StatusCode::OK, "content type {content_type:?}");
            assert_eq!(echoed, expected, "content type {content_type:?}");
        }
    }

    #[tokio::test]
    async fn empty_body_is_an_empty_object() {
        for body in ["", " \n"] {
            let (status, echoed) = send(None, body).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(echoed, json!({"name": "", "subGroups": []}));
        }
    }

    #[tokio::test]
    async fn bad_field_is_a_400_with_its_path() {
        let (status, body) = send(Some("application/json"), r#"{"subGroups":[{"subGroupSize":"abc"}]}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"message": "subGroups[0].subGroupSize: expected an integer, got \"abc\""}));
    }

    #[tokio::test]
    async fn malformed_json_is_a_400_with_its_position() {
        let (status, body) = send(None, "{\"name\": \"a\",}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"message": "malformed JSON at line 1, column 14: trailing comma"}));
    }

    #[tokio::test]
    async fn oversized_body_keeps_axums_status() {
        let body = format!(r#"{{"name":"{}"}}"#, "x".repeat(1_000));
        let (status, body) = send(None, &body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{body}");
    }

    #[test]
    fn rejection_statuses() {
        let invalid = LenientJsonRejection::from(LenientError::Invalid {
            path: "name".into(),
            message: "expected a string, got 1".into(),
        });
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
        assert_eq!(invalid.to_string(), "name: expected a string, got 1");
        let body = LenientJsonRejection::Body { status: StatusCode::PAYLOAD_TOO_LARGE, message: "too big".into() };
        assert_eq!(body.into_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
