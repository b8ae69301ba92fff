//! The agent's errors and their HTTP form. Benchmark failures answer 404 with Milkyway's
//! `{"message": "Error in excuting the benchmark: ..."}` (spelling kept), since Tumblebug and
//! Milkyway clients match on it; a bad query parameter answers 400.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tb_model::benchmark::BENCHMARK_ERROR_PREFIX;

use crate::metrics::MetricsError;
use crate::rtt::RttError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("not initialized")]
    NotInitialized,
    #[error("invalid query parameter {name}={value}: {reason}")]
    BadParam { name: String, value: String, reason: String },
    #[error("{0}")]
    Binding(String),
    #[error("{context} {source}")]
    Io { context: &'static str, source: std::io::Error },
    #[error("{context} {source}")]
    Db { context: &'static str, source: rusqlite::Error },
    #[error("Ping {0}")]
    Rtt(#[from] RttError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("benchmark task failed: {0}")]
    Task(String),
}

impl AgentError {
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> AgentError {
        move |source| AgentError::Io { context, source }
    }

    pub fn db(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AgentError {
        move |source| AgentError::Db { context, source }
    }

    /// Status and message as the agent answers them.
    pub fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            AgentError::BadParam { .. } => (StatusCode::BAD_REQUEST, self.to_string()),
            AgentError::Binding(msg) => (StatusCode::NOT_FOUND, format!("Error in request binding {msg}")),
            AgentError::Metrics(_) => (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()),
            _ => (StatusCode::NOT_FOUND, format!("{BENCHMARK_ERROR_PREFIX}{self}")),
        }
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        tracing::warn!(status = status.as_u16(), %message, "request failed");
        (status, Json(json!({ "message": message }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_initialized_reads_as_milkyway_writes_it() {
        let (status, message) = AgentError::NotInitialized.status_and_message();
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(message, "Error in excuting the benchmark: not initialized");
    }

    #[test]
    fn bad_parameters_are_client_errors() {
        let err = AgentError::BadParam { name: "seconds".into(), value: "x".into(), reason: "not a number".into() };
        assert_eq!(err.status_and_message().0, StatusCode::BAD_REQUEST);
        let (status, message) = AgentError::Binding("EOF".into()).status_and_message();
        assert_eq!((status, message.as_str()), (StatusCode::NOT_FOUND, "Error in request binding EOF"));
    }
}
