//! Route handlers, one module per area of the API. Handlers parse, call `tb_core`, and shape
//! the response; no business rule lives here.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

pub mod cmd;
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
