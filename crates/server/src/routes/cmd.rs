//! `/ns/{nsId}/cmd/mci/{mciId}`: remote commands on the VMs of an MCI.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tb_core::remote::CommandTarget;
use tb_model::mci::{MciCmdReq, MciSshCmdResult};
use tb_model::resource::SimpleMsg;
use utoipa::IntoParams;

use super::{Accepted, is_true, json, request_id, tracked};
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
    /// `true`: answer 202 with the request id at once and run in the background.
    #[serde(rename = "async")]
    #[param(rename = "async")]
    pub is_async: Option<String>,
}

#[utoipa::path(post, path = "/ns/{nsId}/cmd/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), CmdQuery), request_body = MciCmdReq,
    responses((status = 200, description = "one result per VM: commands, stdout and stderr by index, err", body = MciSshCmdResult),
              (status = 202, description = "`async=true`: accepted; follow `GET /ns/{nsId}/stream/cmd/mci/{mciId}?xRequestId=` or `GET /request/{xRequestId}`", body = Accepted),
              (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn run_command(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<CmdQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
    LenientJson(req): LenientJson<MciCmdReq>,
) -> ApiResult<Response> {
    let target = CommandTarget { sub_group_id: q.sub_group_id, vm_id: q.vm_id, label_selector: q.label_selector };
    let id = request_id(&headers);
    let body = serde_json::to_value(&req).unwrap_or_default();
    let tb = s.tb.clone();
    tb.open_command_stream(&ns, &mci, &id)?;
    let work = async move {
        let results = tb.run_mci_command(&ns, &mci, req, target, &id).await?;
        Ok(MciSshCmdResult { results })
    };
    tracked(&s, &headers, &uri, "POST", body, is_true(q.is_async.as_deref()), work).await
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

/// Largest file accepted by `transferFile` (reference: 10 MB).
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;
/// Largest file `downloadFile` returns.
pub const MAX_DOWNLOAD: usize = 100 * 1024 * 1024;

#[utoipa::path(post, path = "/ns/{nsId}/transferFile/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), CmdQuery),
    request_body(content_type = "multipart/form-data", description = "fields `path` (destination on the VMs), `file` (≤ 10 MB) and optional `userName`"),
    responses((status = 200, description = "one result per VM (`err` set on failure)", body = MciSshCmdResult),
              (status = 400, body = SimpleMsg), (status = 413, body = SimpleMsg)))]
pub async fn transfer_file(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<CmdQuery>,
    mut form: axum::extract::Multipart,
) -> ApiResult<Response> {
    use crate::error::ApiError;
    let (mut path, mut user, mut file) = (String::new(), String::new(), None::<Vec<u8>>);
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::bad_request(format!("multipart: {e}")))? {
        match field.name().unwrap_or_default() {
            "path" => path = field.text().await.map_err(|e| ApiError::bad_request(e.to_string()))?,
            "userName" => user = field.text().await.map_err(|e| ApiError::bad_request(e.to_string()))?,
            "file" => {
                let bytes = field.bytes().await.map_err(|e| ApiError::bad_request(e.to_string()))?;
                if bytes.len() > MAX_UPLOAD {
                    return Err(ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        format!("file is larger than {MAX_UPLOAD} bytes"),
                    ));
                }
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("multipart field `file` is required"))?;
    let target = CommandTarget { sub_group_id: q.sub_group_id, vm_id: q.vm_id, label_selector: q.label_selector };
    let results = s.tb.upload_file(&ns, &mci, target, &user, &path, std::sync::Arc::new(file)).await?;
    Ok(json(MciSshCmdResult { results }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadReq {
    pub source_path: String,
    pub user_name: String,
}

#[utoipa::path(post, path = "/ns/{nsId}/downloadFile/mci/{mciId}/vm/{vmId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path)), request_body = DownloadReq,
    responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream"), (status = 404, body = SimpleMsg)))]
pub async fn download_file(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
    LenientJson(req): LenientJson<DownloadReq>,
) -> ApiResult<Response> {
    use axum::response::IntoResponse;
    let bytes = s.tb.download_file(&ns, &mci, &vm, &req.user_name, &req.source_path, MAX_DOWNLOAD).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
