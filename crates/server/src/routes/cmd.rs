//! `/ns/{nsId}/cmd/mci/{mciId}`: remote commands on the VMs of an MCI.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use tb_core::remote::CommandTarget;
use tb_model::mci::{MciCmdReq, MciSshCmdResult};
use tb_model::resource::SimpleMsg;
use utoipa::IntoParams;

use super::json;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::LenientJson;

const TAG: &str = "[MC-Infra] MCI Remote Command";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CmdQuery {
    /// Only the VMs of this subgroup.
    #[serde(rename = "subGroupId")]
    #[param(rename = "subGroupId")]
    pub sub_group_id: Option<String>,
    /// Only this VM.
    #[serde(rename = "vmId")]
    #[param(rename = "vmId")]
    pub vm_id: Option<String>,
    /// `key=value,key2=value2` on the VMs' labels.
    #[serde(rename = "labelSelector")]
    #[param(rename = "labelSelector")]
    pub label_selector: Option<String>,
}

#[utoipa::path(post, path = "/ns/{nsId}/cmd/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), CmdQuery), request_body = MciCmdReq,
    responses((status = 200, description = "one result per VM: commands, stdout and stderr by index, err", body = MciSshCmdResult),
              (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn run_command(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<CmdQuery>,
    LenientJson(req): LenientJson<MciCmdReq>,
) -> ApiResult<Response> {
    let target = CommandTarget { sub_group_id: q.sub_group_id, vm_id: q.vm_id, label_selector: q.label_selector };
    Ok(json(MciSshCmdResult { results: s.tb.run_mci_command(&ns, &mci, req, target).await? }))
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/sshHostKey", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path)),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn reset_host_key(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    s.tb.reset_host_key(&ns, &mci, &vm).await?;
    Ok(json(SimpleMsg::new(format!("The host key of VM {vm} was reset; the next connection trusts the key it sees"))))
}
