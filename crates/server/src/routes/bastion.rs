//! Bastions: which VM of a subnet the other VMs of that subnet are reached through over SSH.

use axum::extract::{Path, State};
use axum::response::Response;
use tb_model::resource::{BastionNode, SimpleMsg};

use super::json;
use crate::AppState;
use crate::error::ApiResult;

const TAG: &str = "[MC-Infra] MCI Remote Command";

// The VM segment is spelled `{vmId}` as in the other `/vm/{vmId}/...` routes: the router
// wants one name per position.
#[utoipa::path(put, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/bastion/{bastionVmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path, description = "target VM"),
           ("bastionVmId" = String, Path, description = "VM (with a public IP) to reach the target's subnet through")),
    responses((status = 200, body = SimpleMsg), (status = 400, description = "the bastion VM has no public IP", body = SimpleMsg),
              (status = 404, body = SimpleMsg)))]
pub async fn set_bastion(
    State(s): State<AppState>,
    Path((ns, mci, vm, bastion)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(SimpleMsg::new(s.tb.set_bastion(&ns, &mci, &vm, &bastion).await?)))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/bastion", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path, description = "target VM")),
    responses((status = 200, description = "the bastion nodes of the VM's subnet, the one in use first", body = Vec<BastionNode>),
              (status = 404, body = SimpleMsg)))]
pub async fn get_bastions(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.get_bastions(&ns, &mci, &vm).await?))
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}/bastion/{bastionVmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("bastionVmId" = String, Path)),
    responses((status = 200, description = "removed from every subnet that listed it", body = SimpleMsg),
              (status = 404, body = SimpleMsg)))]
pub async fn remove_bastion(
    State(s): State<AppState>,
    Path((ns, mci, bastion)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(SimpleMsg::new(s.tb.remove_bastion(&ns, &mci, &bastion).await?)))
}

/// The `/mcis` spellings (not repeated in the OpenAPI document).
pub fn legacy_routes() -> axum::Router<AppState> {
    use axum::routing::{delete, get, put};
    axum::Router::new()
        .route("/ns/{nsId}/mcis/{mciId}/vm/{vmId}/bastion/{bastionVmId}", put(set_bastion))
        .route("/ns/{nsId}/mcis/{mciId}/vm/{vmId}/bastion", get(get_bastions))
        .route("/ns/{nsId}/mcis/{mciId}/bastion/{bastionVmId}", delete(remove_bastion))
}
