//! System endpoints without a namespace: probes, connections, providers and regions, spec and
//! image look-ups, and catalog loading.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tb_model::resource::*;
use utoipa::IntoParams;

use super::json;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::LenientJson;

const TAG_SYS: &str = "[Admin] System management";
const TAG_CONN: &str = "[Admin] Cloud Connection";
const TAG_LOOKUP: &str = "[Infra Resource] Lookup";

#[utoipa::path(get, path = "/readyz", tag = TAG_SYS,
    responses((status = 200, body = SimpleMsg), (status = 503, body = SimpleMsg)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    if s.tb.ready().await {
        json(SimpleMsg::new("CB-Tumblebug is ready"))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(SimpleMsg::new("CB-Tumblebug is NOT ready"))).into_response()
    }
}

#[utoipa::path(get, path = "/livez", tag = TAG_SYS, responses((status = 200, body = SimpleMsg)))]
pub async fn livez() -> Response {
    json(SimpleMsg::new("CB-Tumblebug is alive"))
}

#[utoipa::path(get, path = "/httpVersion", tag = TAG_SYS, responses((status = 200, body = SimpleMsg)))]
pub async fn http_version(version: axum::http::Version) -> Response {
    let v = match version {
        axum::http::Version::HTTP_09 => "HTTP/0.9",
        axum::http::Version::HTTP_10 => "HTTP/1.0",
        axum::http::Version::HTTP_2 => "HTTP/2.0",
        axum::http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    json(SimpleMsg::new(v))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ConnQuery {
    #[serde(rename = "filterCredentialHolder")]
    #[param(rename = "filterCredentialHolder")]
    pub filter_credential_holder: Option<String>,
    #[serde(rename = "filterVerified")]
    #[param(rename = "filterVerified")]
    pub filter_verified: Option<String>,
    #[serde(rename = "filterRegionRepresentative")]
    #[param(rename = "filterRegionRepresentative")]
    pub filter_region_representative: Option<String>,
}

#[utoipa::path(get, path = "/connConfig", tag = TAG_CONN, params(ConnQuery),
    responses((status = 200, body = ConnConfigList)))]
pub async fn list_conn_config(State(s): State<AppState>, Query(q): Query<ConnQuery>) -> Response {
    let mut list = s.tb.clouds().list();
    if let Some(holder) = q.filter_credential_holder.filter(|h| !h.is_empty()) {
        list.retain(|c| c.credential_holder == holder);
    }
    if super::is_true(q.filter_verified.as_deref()) {
        list.retain(|c| c.verified);
    }
    if super::is_true(q.filter_region_representative.as_deref()) {
        list.retain(|c| c.region_representative);
    }
    json(ConnConfigList { connectionconfig: list })
}

#[utoipa::path(get, path = "/connConfig/{connConfigName}", tag = TAG_CONN, params(("connConfigName" = String, Path)),
    responses((status = 200, body = ConnConfig), (status = 404, body = SimpleMsg)))]
pub async fn get_conn_config(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    Ok(json(s.tb.clouds().config(&name)?))
}

#[utoipa::path(get, path = "/provider", tag = TAG_CONN, responses((status = 200, body = IdList)))]
pub async fn list_providers(State(s): State<AppState>) -> Response {
    json(IdList { output: s.tb.providers() })
}

#[utoipa::path(get, path = "/provider/{providerName}/region", tag = TAG_CONN, params(("providerName" = String, Path)),
    responses((status = 200, body = RegionList), (status = 404, body = SimpleMsg)))]
pub async fn list_regions(State(s): State<AppState>, Path(provider): Path<String>) -> ApiResult<Response> {
    Ok(json(RegionList { regions: s.tb.regions_of(&provider)? }))
}

#[utoipa::path(get, path = "/provider/{providerName}/region/{regionName}", tag = TAG_CONN,
    params(("providerName" = String, Path), ("regionName" = String, Path)),
    responses((status = 200, body = RegionDetail), (status = 404, body = SimpleMsg)))]
pub async fn get_region(
    State(s): State<AppState>,
    Path((provider, region)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.region_of(&provider, &region)?))
}

fn require_connection(name: &str) -> ApiResult<()> {
    if name.is_empty() { Err(ApiError::bad_request("connectionName is required")) } else { Ok(()) }
}

#[utoipa::path(post, path = "/lookupSpec", tag = TAG_LOOKUP, request_body = LookupSpecReq,
    responses((status = 200, body = SpiderSpecInfo), (status = 404, body = SimpleMsg)))]
pub async fn lookup_spec(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<LookupSpecReq>,
) -> ApiResult<Response> {
    require_connection(&req.connection_name)?;
    let name = if req.csp_resource_id.is_empty() { &req.csp_spec_name } else { &req.csp_resource_id };
    if name.is_empty() {
        return Err(ApiError::bad_request("cspResourceId is required"));
    }
    Ok(json(s.tb.lookup_spec(&req.connection_name, name).await?))
}

#[utoipa::path(post, path = "/lookupSpecs", tag = TAG_LOOKUP, request_body = ConnectionNameReq,
    responses((status = 200, body = SpiderSpecList), (status = 400, body = SimpleMsg)))]
pub async fn lookup_specs(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<ConnectionNameReq>,
) -> ApiResult<Response> {
    require_connection(&req.connection_name)?;
    Ok(json(SpiderSpecList { vmspec: s.tb.lookup_specs(&req.connection_name).await? }))
}

#[utoipa::path(post, path = "/lookupImage", tag = TAG_LOOKUP, request_body = LookupImageReq,
    responses((status = 200, body = SpiderImageInfo), (status = 404, body = SimpleMsg)))]
pub async fn lookup_image(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<LookupImageReq>,
) -> ApiResult<Response> {
    require_connection(&req.connection_name)?;
    let name = if req.csp_image_name.is_empty() { &req.csp_image_id } else { &req.csp_image_name };
    if name.is_empty() {
        return Err(ApiError::bad_request("cspImageName is required"));
    }
    Ok(json(s.tb.lookup_image(&req.connection_name, name).await?))
}

#[utoipa::path(post, path = "/lookupImages", tag = TAG_LOOKUP, request_body = ConnectionNameReq,
    responses((status = 200, body = SpiderImageList), (status = 400, body = SimpleMsg)))]
pub async fn lookup_images(
    State(s): State<AppState>,
    LenientJson(req): LenientJson<ConnectionNameReq>,
) -> ApiResult<Response> {
    require_connection(&req.connection_name)?;
    Ok(json(SpiderImageList { image: s.tb.lookup_images(&req.connection_name).await? }))
}

#[utoipa::path(get, path = "/loadAssets", tag = TAG_SYS,
    responses((status = 200, description = "one line per imported file", body = IdList), (status = 400, body = SimpleMsg)))]
pub async fn load_assets(State(s): State<AppState>) -> ApiResult<Response> {
    let dir = s.assets_dir.clone().ok_or_else(|| {
        ApiError::bad_request("no assets directory is configured (start the server with --assets-dir or TB_ASSETS_DIR)")
    })?;
    Ok(json(IdList { output: s.tb.load_assets(&dir).await? }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `cloudinfo` (cloudinfo.yaml), `cloudspec` (cloudspec.csv), `cloudimage` (cloudimage.csv)
    /// or `specs` (generic specs CSV).
    pub format: String,
}

#[utoipa::path(post, path = "/catalog/import", tag = TAG_SYS, params(ImportQuery),
    request_body(content = String, description = "the file's contents", content_type = "text/plain"),
    responses((status = 200, body = SimpleMsg), (status = 400, body = SimpleMsg)))]
pub async fn import_catalog(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    body: String,
) -> ApiResult<Response> {
    let format = tb_core::assets::ImportFormat::parse(&q.format).ok_or_else(|| {
        ApiError::bad_request(format!("format {:?} is not one of cloudinfo, cloudspec, cloudimage, specs", q.format))
    })?;
    Ok(json(SimpleMsg::new(s.tb.import_catalog(format, &body).await?)))
}
