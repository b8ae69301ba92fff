//! Command history per VM, handling counts, and the live event stream of a command request
//! (server-sent events).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tb_core::remote::CommandStatusFilter;
use tb_model::command::{
    CommandExecutionStatus, CommandStatusInfo, CommandStatusListResponse, CommandStreamEvent, CommandStreamEventType,
    CommandTaskInfo, HandlingCommandCountResponse, MciHandlingCommandCountResponse,
};
use tb_model::resource::SimpleMsg;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use utoipa::IntoParams;

use super::json;
use crate::AppState;
use crate::error::{ApiError, ApiResult};

const TAG: &str = "[MC-Infra] MCI Remote Command";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Comma-separated statuses (Queued, Handling, Completed, Failed, Timeout, Cancelled, Interrupted).
    pub status: Option<String>,
    #[serde(rename = "xRequestId")]
    #[param(rename = "xRequestId")]
    pub x_request_id: Option<String>,
    /// Substring of the requested commands.
    #[serde(rename = "commandContains")]
    #[param(rename = "commandContains")]
    pub command_contains: Option<String>,
    #[serde(rename = "indexFrom")]
    #[param(rename = "indexFrom")]
    pub index_from: Option<String>,
    #[serde(rename = "indexTo")]
    #[param(rename = "indexTo")]
    pub index_to: Option<String>,
    /// Default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

fn number<T: std::str::FromStr>(name: &str, v: Option<&str>) -> ApiResult<Option<T>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name} must be a non-negative integer, not {v:?}"))),
    }
}

impl StatusQuery {
    fn filter(&self) -> ApiResult<CommandStatusFilter> {
        let mut status = Vec::new();
        for word in self.status.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|w| !w.is_empty()) {
            status.push(
                CommandExecutionStatus::parse(word)
                    .ok_or_else(|| ApiError::bad_request(format!("unknown command status {word:?}")))?,
            );
        }
        Ok(CommandStatusFilter {
            status,
            x_request_id: self.x_request_id.clone(),
            command_contains: self.command_contains.clone().filter(|c| !c.is_empty()),
            index_from: number("indexFrom", self.index_from.as_deref())?,
            index_to: number("indexTo", self.index_to.as_deref())?,
            limit: number("limit", self.limit.as_deref())?,
            offset: number("offset", self.offset.as_deref())?,
        })
    }
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/commandStatus", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), StatusQuery),
    responses((status = 200, body = CommandStatusListResponse), (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn list_command_status(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Response> {
    Ok(json(s.tb.command_status_list(&ns, &mci, &vm, &q.filter()?).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/commandStatus/{index}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = CommandStatusInfo), (status = 404, body = SimpleMsg)))]
pub async fn get_command_status(
    State(s): State<AppState>,
    Path((ns, mci, vm, index)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let index = parse_index(&index)?;
    Ok(json(s.tb.command_status(&ns, &mci, &vm, index).await?))
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/commandStatus/{index}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg), (status = 409, body = SimpleMsg)))]
pub async fn delete_command_status(
    State(s): State<AppState>,
    Path((ns, mci, vm, index)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let index = parse_index(&index)?;
    s.tb.delete_command_status(&ns, &mci, &vm, index).await?;
    Ok(json(SimpleMsg::new(format!("Command record {index} of VM {vm} deleted"))))
}

#[utoipa::path(delete, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/commandStatusAll", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path)),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn delete_all_command_status(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let n = s.tb.delete_command_status_all(&ns, &mci, &vm).await?;
    Ok(json(SimpleMsg::new(format!("Deleted {n} command records of VM {vm}"))))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/vm/{vmId}/handlingCount", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("vmId" = String, Path)),
    responses((status = 200, body = HandlingCommandCountResponse), (status = 404, body = SimpleMsg)))]
pub async fn vm_handling_count(
    State(s): State<AppState>,
    Path((ns, mci, vm)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.handling_count(&ns, &mci, &vm).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/mci/{mciId}/handlingCount", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, body = MciHandlingCommandCountResponse), (status = 404, body = SimpleMsg)))]
pub async fn mci_handling_count(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.mci_handling_count(&ns, &mci).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/cmd/mci/{mciId}/task", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, description = "command requests of the MCI this server runs or ran in the last 10 minutes", body = Vec<CommandTaskInfo>),
              (status = 404, body = SimpleMsg)))]
pub async fn list_tasks(State(s): State<AppState>, Path((ns, mci)): Path<(String, String)>) -> ApiResult<Response> {
    Ok(json(s.tb.command_tasks(&ns, &mci).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/cmd/mci/{mciId}/task/{taskId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("taskId" = String, Path)),
    responses((status = 200, body = CommandTaskInfo), (status = 404, body = SimpleMsg)))]
pub async fn get_task(
    State(s): State<AppState>,
    Path((ns, mci, task)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.command_task(&ns, &mci, &task).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/cmd/mci/{mciId}/task/{taskId}/cancel", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("taskId" = String, Path)),
    responses((status = 200, body = SimpleMsg), (status = 404, body = SimpleMsg), (status = 409, description = "already ended", body = SimpleMsg)))]
pub async fn cancel_task(
    State(s): State<AppState>,
    Path((ns, mci, task)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    s.tb.cancel_command_task(&ns, &mci, &task)?;
    Ok(json(SimpleMsg::new(format!("Command task {task} is being cancelled; its VMs record Cancelled"))))
}

fn parse_index(index: &str) -> ApiResult<u64> {
    index.trim().parse().map_err(|_| ApiError::bad_request(format!("index must be a positive integer, not {index:?}")))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The id answered by `POST /cmd/mci/{mciId}?async=true` (or sent as `X-Request-Id`).
    #[serde(rename = "xRequestId")]
    #[param(rename = "xRequestId")]
    pub x_request_id: String,
}

#[utoipa::path(get, path = "/ns/{nsId}/stream/cmd/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path), StreamQuery),
    responses((status = 200, description = "server-sent events `CommandStatus`, `CommandLog` and a last `CommandDone`; each `data` is a CommandStreamEvent", content_type = "text/event-stream", body = CommandStreamEvent),
              (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn stream_command(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<StreamQuery>,
) -> ApiResult<Response> {
    if q.x_request_id.trim().is_empty() {
        return Err(ApiError::bad_request("xRequestId is required"));
    }
    let sub = s.tb.subscribe_command_stream(&ns, &mci, q.x_request_id.trim())?;
    Ok(Sse::new(events(sub)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// The backlog, then live events, ending after `CommandDone`.
fn events(sub: tb_core::remote::Subscription) -> impl Stream<Item = Result<Event, Infallible>> {
    let backlog = futures::stream::iter(sub.backlog.into_iter().map(Some));
    let live = match sub.live {
        Some(rx) => BroadcastStream::new(rx)
            .map(|item| match item {
                Ok(event) => Some(event),
                // A slow client missed events; it keeps the rest (the history has the outcome).
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "command stream subscriber lagged");
                    None
                }
            })
            .left_stream(),
        None => futures::stream::empty().right_stream(),
    };
    let events = backlog.chain(live).filter_map(|e| async move { e }).boxed();
    // Ends right after `CommandDone`, without waiting for the channel (kept for late readers).
    futures::stream::unfold((events, false), |(mut events, done)| async move {
        if done {
            return None;
        }
        let event = events.next().await?;
        let done = event.kind == CommandStreamEventType::CommandDone;
        let data = serde_json::to_string(&event).unwrap_or_default();
        Some((Ok(Event::default().event(event.kind.as_str()).data(data)), (events, done)))
    })
}
