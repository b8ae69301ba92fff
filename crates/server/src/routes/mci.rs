//! `/ns/{nsId}/mci...` (and the older `/mcis...` spellings): creating, reading, controlling
//! and deleting multi-cloud infrastructures.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tb_core::mci::CreateOptions;
use tb_core::resource::ListFilter;
use tb_model::lifecycle::DeleteOption;
use tb_model::mci::*;
use tb_model::resource::{Exists, IdList, SimpleMsg};
use utoipa::IntoParams;

use super::{Accepted, is_true, json, tracked};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::LenientJson;

const TAG: &str = "[MC-Infra] MCI Provisioning and Management";
const TAG_CTL: &str = "[MC-Infra] MCI Control";

/// Whether the request came through the older `/mcis` spelling (lists then use `{"mcis":..}`).
fn legacy(uri: &OriginalUri) -> bool {
    uri.0.path().contains("/mcis")
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `hold`: write the objects, then wait for `continue` or `withdraw`.
    pub option: Option<String>,
    /// `true`: answer 202 with the request id at once; follow `GET /request/{reqId}`.
    #[serde(rename = "async")]
    #[param(rename = "async")]
    pub is_async: Option<String>,
}

#[utoipa::path(post, path = "/ns/{nsId}/mci", tag = TAG, params(("nsId" = String, Path), CreateQuery), request_body = MciReq,
    responses((status = 200, body = MciInfo), (status = 202, body = Accepted), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_mci(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(ns): Path<String>,
    Query(q): Query<CreateQuery>,
    LenientJson(req): LenientJson<MciReq>,
) -> ApiResult<Response> {
    let opts = CreateOptions { hold: q.option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("hold")) };
    let body = serde_json::to_value(&req).unwrap_or_default();
    let plan = s.tb.prepare_create_mci(&ns, req, opts).await?;
    tracked(&s, &headers, &uri, "POST", body, is_true(q.is_async.as_deref()), plan.run()).await
}

#[utoipa::path(post, path = "/ns/{nsId}/mciDynamic", tag = TAG, params(("nsId" = String, Path), CreateQuery), request_body = MciDynamicReq,
    responses((status = 200, body = MciInfo), (status = 202, body = Accepted), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn create_mci_dynamic(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(ns): Path<String>,
    Query(q): Query<CreateQuery>,
    LenientJson(req): LenientJson<MciDynamicReq>,
) -> ApiResult<Response> {
    let opts = CreateOptions { hold: q.option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("hold")) };
    let body = serde_json::to_value(&req).unwrap_or_default();
    let plan = s.tb.prepare_create_mci_dynamic(&ns, req, opts).await?;
    tracked(&s, &headers, &uri, "POST", body, is_true(q.is_async.as_deref()), plan.run()).await
}

#[utoipa::path(post, path = "/ns/{nsId}/mciDynamicReview", tag = TAG, params(("nsId" = String, Path)), request_body = MciDynamicReq,
    responses((status = 200, description = "what a dynamic create would do, with cost", body = ReviewMciDynamicReqInfo), (status = 404, body = SimpleMsg)))]
pub async fn review_mci_dynamic(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    LenientJson(req): LenientJson<MciDynamicReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.review_mci_dynamic(&ns, &req).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/registerCspVm", tag = TAG, params(("nsId" = String, Path)), request_body = MciReq,
    responses((status = 200, body = MciInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn register_csp_vm(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    LenientJson(req): LenientJson<MciReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.register_csp_vms(&ns, req).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// list: `id` | `status` | `simple`; one MCI: `id` | `status` | `accessinfo`.
    pub option: Option<String>,
    /// with `option=accessinfo`: `showSshKey` includes the private keys.
    #[serde(rename = "accessInfoOption")]
    #[param(rename = "accessInfoOption")]
    pub access_info_option: Option<String>,
    #[serde(rename = "filterKey")]
    #[param(rename = "filterKey")]
    pub filter_key: Option<String>,
    #[serde(rename = "filterVal")]
    #[param(rename = "filterVal")]
    pub filter_val: Option<String>,
}

impl GetQuery {
    fn option(&self) -> String {
        self.option.clone().unwrap_or_default().to_ascii_lowercase()
    }
}

#[utoipa::path(get, path = "/ns/{nsId}/mci", tag = TAG, params(("nsId" = String, Path), GetQuery),
    responses((status = 200, description = "`{\"mci\": [...]}` (MciInfo, or MciStatusInfo with option=status), or `{\"output\": [ids]}`", body = MciInfoList),
              (status = 404, body = SimpleMsg)))]
pub async fn list_mci(
    State(s): State<AppState>,
    uri: OriginalUri,
    Path(ns): Path<String>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Response> {
    let legacy = legacy(&uri);
    Ok(match q.option().as_str() {
        "id" => json(IdList { output: s.tb.list_mci_ids(&ns).await? }),
        "status" => {
            let list = s.tb.list_mci_status(&ns).await?;
            if legacy { json(McisStatusList { mcis: list }) } else { json(MciStatusList { mci: list }) }
        }
        other => {
            let list = if other == "simple" { s.tb.list_mci_simple(&ns).await? } else { s.tb.list_mci(&ns).await? };
            if legacy { json(McisInfoList { mcis: list }) } else { json(MciInfoList { mci: list }) }
        }
    })
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path), GetQuery),
    responses((status = 200, description = "MciInfo; `{\"status\": MciStatusInfo}` with option=status; MciAccessInfo with option=accessinfo; VM ids with option=id", body = MciInfo),
              (status = 404, body = SimpleMsg)))]
pub async fn get_mci(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Response> {
    Ok(match q.option().as_str() {
        "id" => {
            let filter = ListFilter::new(q.filter_key, q.filter_val);
            json(IdList { output: s.tb.list_vm_ids(&ns, &id, filter.as_ref()).await? })
        }
        "status" => json(MciStatusResponse { status: s.tb.mci_status(&ns, &id).await? }),
        "accessinfo" => {
            let show = q.access_info_option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("showSshKey"));
            json(s.tb.mci_access_info(&ns, &id, show).await?)
        }
        _ => json(s.tb.get_mci(&ns, &id).await?),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `terminate` terminates first; `force` deletes whatever the status.
    pub option: Option<String>,
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path), DeleteQuery),
    responses((status = 200, description = "deleted keys, each with \" [Done]\"", body = IdList), (status = 404, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn delete_mci(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    Query(q): Query<DeleteQuery>,
) -> ApiResult<Response> {
    let option = DeleteOption::parse(q.option.as_deref().unwrap_or(""));
    Ok(json(IdList { output: s.tb.delete_mci(&ns, &id, option).await? }))
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci", tag = TAG, params(("nsId" = String, Path), DeleteQuery),
    responses((status = 200, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn delete_all_mci(
    State(s): State<AppState>,
    Path(ns): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> ApiResult<Response> {
    let option = DeleteOption::parse(q.option.as_deref().unwrap_or(""));
    let n = s.tb.delete_all_mci(&ns, option).await?;
    Ok(json(SimpleMsg::new(format!("Deleted {n} MCIs of namespace {ns}"))))
}

#[utoipa::path(post, path = "/ns/{nsId}/mci/{mciId}/vm", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path)), request_body = CreateSubGroupReq,
    responses((status = 200, body = MciInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn add_subgroup(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<CreateSubGroupReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.add_subgroup(&ns, &id, req).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/mci/{mciId}/subGroupDynamic", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path)), request_body = CreateSubGroupDynamicReq,
    responses((status = 200, body = MciInfo), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn add_subgroup_dynamic(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    LenientJson(req): LenientJson<CreateSubGroupDynamicReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.add_subgroup_dynamic(&ns, &id, req).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/subgroup", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, body = IdList), (status = 404, body = SimpleMsg)))]
pub async fn list_subgroups(State(s): State<AppState>, Path((ns, id)): Path<(String, String)>) -> ApiResult<Response> {
    Ok(json(IdList { output: s.tb.list_subgroup_ids(&ns, &id).await? }))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/subgroup/{subgroupId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("subgroupId" = String, Path)),
    responses((status = 200, description = "VM ids of the subgroup", body = IdList), (status = 404, body = SimpleMsg)))]
pub async fn get_subgroup(
    State(s): State<AppState>,
    Path((ns, id, sg)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(IdList { output: s.tb.subgroup(&ns, &id, &sg).await?.vm_id }))
}

#[utoipa::path(post, path = "/ns/{nsId}/mci/{mciId}/subgroup/{subgroupId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("subgroupId" = String, Path)), request_body = ScaleOutSubGroupReq,
    responses((status = 200, body = MciInfo), (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn scale_out(
    State(s): State<AppState>,
    Path((ns, id, sg)): Path<(String, String, String)>,
    LenientJson(req): LenientJson<ScaleOutSubGroupReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.scale_out(&ns, &id, &sg, req.num_vms_to_add).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct VmQuery {
    /// `status`: VmStatusInfo; `idsInDetail`: ids in Tumblebug and the cloud.
    pub option: Option<String>,
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), VmQuery),
    responses((status = 200, body = VmInfo), (status = 404, body = SimpleMsg)))]
pub async fn get_vm(
    State(s): State<AppState>,
    Path((ns, id, vm)): Path<(String, String, String)>,
    Query(q): Query<VmQuery>,
) -> ApiResult<Response> {
    Ok(match q.option.as_deref().unwrap_or("").to_ascii_lowercase().as_str() {
        "status" => json(s.tb.vm_status(&ns, &id, &vm).await?),
        "idsindetail" => {
            let v = s.tb.get_vm(&ns, &id, &vm).await?;
            json(IdNameInDetailInfo {
                id_in_tb: v.id.clone(),
                id_in_sp: v.csp_resource_name.clone(),
                id_in_csp: v.csp_resource_id.clone(),
                name_in_csp: v.csp_resource_name.clone(),
            })
        }
        _ => json(s.tb.get_vm(&ns, &id, &vm).await?),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct VmDeleteQuery {
    /// `force`: remove the record even if the cloud refuses to terminate.
    pub option: Option<String>,
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), VmDeleteQuery),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn delete_vm(
    State(s): State<AppState>,
    Path((ns, id, vm)): Path<(String, String, String)>,
    Query(q): Query<VmDeleteQuery>,
) -> ApiResult<Response> {
    let force = q.option.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("force"));
    s.tb.delete_vm(&ns, &id, &vm, force).await?;
    Ok(json(SimpleMsg::new(format!("Deleted the VM info: {vm}"))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ControlQuery {
    /// suspend | resume | reboot | terminate | refine | continue | withdraw
    pub action: String,
    /// `true` skips the transition checks.
    pub force: Option<String>,
    #[serde(rename = "async")]
    #[param(rename = "async")]
    pub is_async: Option<String>,
}

#[utoipa::path(get, path = "/ns/{nsId}/control/mci/{mciId}", tag = TAG_CTL,
    params(("nsId" = String, Path), ("mciId" = String, Path), ControlQuery),
    responses((status = 200, body = SimpleMsg), (status = 202, body = Accepted), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn control_mci(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((ns, id)): Path<(String, String)>,
    Query(q): Query<ControlQuery>,
) -> ApiResult<Response> {
    let action = ControlAction::parse(&q.action).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let force = is_true(q.force.as_deref());
    match s.tb.prepare_control_mci(&ns, &id, action, force).await? {
        tb_core::mci::ControlStart::Done(msg) => Ok(json(SimpleMsg::new(msg))),
        tb_core::mci::ControlStart::Run(plan) => {
            let work = async move { plan.run().await.map(SimpleMsg::new) };
            tracked(&s, &headers, &uri, "GET", serde_json::Value::Null, is_true(q.is_async.as_deref()), work).await
        }
    }
}

#[utoipa::path(get, path = "/ns/{nsId}/control/mci/{mciId}/vm/{vmId}", tag = TAG_CTL,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), ControlQuery),
    responses((status = 200, body = SimpleMsg), (status = 400, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn control_vm(
    State(s): State<AppState>,
    Path((ns, id, vm)): Path<(String, String, String)>,
    Query(q): Query<ControlQuery>,
) -> ApiResult<Response> {
    let action = ControlAction::parse(&q.action).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let msg = s.tb.control_vm(&ns, &id, &vm, action, is_true(q.force.as_deref())).await?;
    Ok(json(SimpleMsg::new(msg)))
}

#[utoipa::path(get, path = "/ns/{nsId}/checkMci/{mciId}", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, body = Exists)))]
pub async fn check_mci(State(s): State<AppState>, Path((ns, id)): Path<(String, String)>) -> ApiResult<Response> {
    Ok(json(Exists { exists: s.tb.check_mci(&ns, &id).await? }))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/checkVm/{vmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path)), responses((status = 200, body = Exists)))]
pub async fn check_vm(
    State(s): State<AppState>,
    Path((ns, id, vm)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(Exists { exists: s.tb.vm_exists(&ns, &id, &vm).await? }))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/associatedResources", tag = TAG, params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, body = MciAssociatedResourceList), (status = 404, body = SimpleMsg)))]
pub async fn associated_resources(
    State(s): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.mci_associated_resources(&ns, &id).await?))
}

/// The older `/mcis` spellings, routed to the same handlers (not repeated in the OpenAPI
/// document).
pub fn legacy_routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ns/{nsId}/mcis", post(create_mci).get(list_mci).delete(delete_all_mci))
        .route("/ns/{nsId}/mcisDynamic", post(create_mci_dynamic))
        .route("/ns/{nsId}/mcisDynamicReview", post(review_mci_dynamic))
        .route("/ns/{nsId}/mcis/{mciId}", get(get_mci).delete(delete_mci))
        .route("/ns/{nsId}/mcis/{mciId}/vm", post(add_subgroup))
        .route("/ns/{nsId}/mcis/{mciId}/vmDynamic", post(add_subgroup_dynamic))
        .route("/ns/{nsId}/mcis/{mciId}/subGroupDynamic", post(add_subgroup_dynamic))
        .route("/ns/{nsId}/mcis/{mciId}/subgroup", get(list_subgroups))
        .route("/ns/{nsId}/mcis/{mciId}/subgroup/{subgroupId}", get(get_subgroup).post(scale_out))
        .route("/ns/{nsId}/mcis/{mciId}/vm/{vmId}", get(get_vm).delete(delete_vm))
        .route("/ns/{nsId}/control/mcis/{mciId}", get(control_mci))
        .route("/ns/{nsId}/cmd/mcis/{mciId}", post(super::cmd::run_command))
        .route("/ns/{nsId}/control/mcis/{mciId}/vm/{vmId}", get(control_vm))
        .route("/ns/{nsId}/checkMcis/{mciId}", get(check_mci))
        .route("/ns/{nsId}/mcis/{mciId}/checkVm/{vmId}", get(check_vm))
        .route("/ns/{nsId}/mcis/{mciId}/associatedResources", get(associated_resources))
}
