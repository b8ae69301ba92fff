//! Benchmark agent installation, benchmarks on every VM of an MCI, and utilisation metrics
//! read from the agents.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use tb_model::agent::{AgentInstallResult, MonitoringResult};
use tb_model::benchmark::{BenchmarkInfoArray, BenchmarkReq};
use tb_model::mci::MciCmdReq;
use tb_model::resource::SimpleMsg;

use super::json;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::LenientJson;

const TAG: &str = "[MC-Infra] MCI Performance Benchmarks";
const TAG_MON: &str = "[MC-Infra] MCI Resource Monitor";

/// Query parameters other than Tumblebug's own (`action`, `option`), passed on to the agents
/// (workload sizes such as `seconds=0.5`).
fn agent_query(q: BTreeMap<String, String>) -> tb_core::benchmark::AgentQuery {
    q.into_iter().filter(|(k, _)| k != "action" && k != "option").collect()
}

#[utoipa::path(post, path = "/ns/{nsId}/installBenchmarkAgent/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path),
           ("option" = Option<String>, Query, description = "`update`: replace and restart a running agent")),
    request_body = MciCmdReq,
    responses((status = 200, description = "one result per VM", body = AgentInstallResult),
              (status = 404, body = SimpleMsg), (status = 503, description = "the agent binary is missing", body = SimpleMsg)))]
pub async fn install_agent(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    LenientJson(body): LenientJson<MciCmdReq>,
) -> ApiResult<Response> {
    let update = q.get("option").is_some_and(|o| o.eq_ignore_ascii_case("update"));
    Ok(json(s.tb.install_benchmark_agent(&ns, &mci, &body.user_name, update).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/benchmark/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path),
           ("action" = String, Query, description = "install, init, cpus, cpum, memR, memW, fioR, fioW, dbR, dbW, rtt, mrtt or clean; other query parameters go to the agents")),
    request_body = BenchmarkReq,
    responses((status = 200, description = "one result per VM (failures written into `result`)", body = BenchmarkInfoArray),
              (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn benchmark(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    LenientJson(body): LenientJson<BenchmarkReq>,
) -> ApiResult<Response> {
    let action = q.get("action").cloned().unwrap_or_default();
    Ok(json(s.tb.benchmark(&ns, &mci, &action, &body.host, &agent_query(q)).await?))
}

#[utoipa::path(post, path = "/ns/{nsId}/benchmarkAll/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path)),
    request_body = BenchmarkReq,
    responses((status = 200, description = "one entry per action, each with the per-VM results; results are stored per spec and feed the performance score", body = BenchmarkInfoArray),
              (status = 404, body = SimpleMsg)))]
pub async fn benchmark_all(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    LenientJson(body): LenientJson<BenchmarkReq>,
) -> ApiResult<Response> {
    Ok(json(s.tb.benchmark_all(&ns, &mci, &body.host, &agent_query(q)).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/benchmarkLatency/mci/{mciId}", tag = TAG,
    params(("nsId" = String, Path), ("mciId" = String, Path)),
    responses((status = 200, description = "RTTs between the VMs, recorded as measured latencies between their regions", body = BenchmarkInfoArray),
              (status = 404, body = SimpleMsg)))]
pub async fn benchmark_latency(
    State(s): State<AppState>,
    Path((ns, mci)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    Ok(json(s.tb.benchmark_latency(&ns, &mci, &agent_query(q)).await?))
}

#[utoipa::path(get, path = "/ns/{nsId}/monitoring/mci/{mciId}/metric/{metric}", tag = TAG_MON,
    params(("nsId" = String, Path), ("mciId" = String, Path), ("metric" = String, Path, description = "cpu, mem, disk, net or all")),
    responses((status = 200, body = MonitoringResult), (status = 400, body = SimpleMsg), (status = 404, body = SimpleMsg)))]
pub async fn monitoring(
    State(s): State<AppState>,
    Path((ns, mci, metric)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(json(s.tb.monitor_mci(&ns, &mci, &metric).await?))
}

/// The `/mcis` spellings.
pub fn legacy_routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ns/{nsId}/installBenchmarkAgent/mcis/{mciId}", post(install_agent))
        .route("/ns/{nsId}/benchmark/mcis/{mciId}", post(benchmark))
        .route("/ns/{nsId}/benchmarkAll/mcis/{mciId}", post(benchmark_all))
        .route("/ns/{nsId}/benchmarkLatency/mcis/{mciId}", get(benchmark_latency))
        .route("/ns/{nsId}/monitoring/mcis/{mciId}/metric/{metric}", get(monitoring))
}
