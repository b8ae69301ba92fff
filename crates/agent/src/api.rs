//! The HTTP endpoints under `/milkyway`, answering as CB-Milkyway does. Every endpoint takes
//! GET (Milkyway's method, with an optional JSON body) and POST.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{MethodRouter, get};
use serde::de::DeserializeOwned;
use tb_model::benchmark::{AgentMetrics, BenchmarkInfo, BenchmarkInfoArray, BenchmarkReq, MultiHostReq};

use crate::error::AgentError;
use crate::metrics::{DEFAULT_SAMPLE, Section};
use crate::params::{QueryParams, format_size};
use crate::rtt::{self, RttParams};
use crate::state::AgentState;
use crate::workload::cpu::{self, CpuParams};
use crate::workload::fileio::{self, FileIoParams, FileMode, FileSet};
use crate::workload::memory::{self, MemOper, MemoryParams};
use crate::workload::oltp::{self, OltpMode, OltpParams};
use crate::workload::{Limits, RunStats};

type Reply = Result<Json<BenchmarkInfo>, AgentError>;
type Params = Query<HashMap<String, String>>;

const MAX_SECONDS: f64 = 3600.0;
const MAX_BYTES: u64 = 1 << 40;

/// All routes, with `state`.
pub fn router(state: AgentState) -> Router {
    fn both<H, T>(handler: H) -> MethodRouter<AgentState>
    where
        H: axum::handler::Handler<T, AgentState> + Clone,
        T: 'static,
    {
        get(handler.clone()).post(handler)
    }
    let milkyway = Router::new()
        .route("/install", both(install))
        .route("/init", both(init))
        .route("/cpus", both(cpus))
        .route("/cpum", both(cpum))
        .route("/memR", both(mem_read))
        .route("/memW", both(mem_write))
        .route("/fioR", both(fio_read))
        .route("/fioW", both(fio_write))
        .route("/dbR", both(db_read))
        .route("/dbW", both(db_write))
        .route("/rtt", both(rtt_one))
        .route("/mrtt", both(rtt_many))
        .route("/clean", both(clean))
        .route("/metrics", get(metrics_all))
        .route("/metrics/{metric}", get(metrics_one));
    Router::new().route("/", get(hello)).nest("/milkyway", milkyway).with_state(state)
}

async fn hello() -> &'static str {
    "Hello, World! This is tumblebug-agent (CB-Milkyway compatible)"
}

fn finished(action: &'static str, info: BenchmarkInfo) -> Reply {
    tracing::info!(action, result = %info.result, unit = %info.unit, elapsed = %info.elapsed, "benchmark finished");
    Ok(Json(info))
}

/// The time and event limits every run accepts.
fn limits(q: &QueryParams, default_seconds: f64) -> Result<Limits, AgentError> {
    Ok(Limits {
        time: Duration::from_secs_f64(q.f64("seconds", default_seconds, 0.001, MAX_SECONDS)?),
        max_events: q.u64("events", 0, 0, u64::MAX)?,
    })
}

fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, AgentError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| AgentError::Binding(err.to_string()))
}

async fn install(State(state): State<AgentState>) -> Reply {
    let began = Instant::now();
    let dir = state.work_dir().to_path_buf();
    // Everything is built in: only the work directory has to exist.
    tokio::fs::create_dir_all(&dir).await.map_err(AgentError::io("Install"))?;
    finished("install", BenchmarkInfo::new("The installation is complete", "", "", began.elapsed().as_secs_f64()))
}

async fn init(State(state): State<AgentState>, Query(q): Params) -> Reply {
    let q = QueryParams::from(q);
    // Every file stays open during fioR/fioW: below the usual 1024 descriptors.
    let num_files = q.u64("fileNum", fileio::DEFAULT_NUM_FILES as u64, 1, 512)? as usize;
    // The files may take at most half of the free space: an HTTP caller must not fill the disk.
    let free = crate::metrics::disk_usage(state.work_dir()).map(|d| d.available_bytes).unwrap_or(MAX_BYTES);
    let total =
        q.size("fileTotalSize", fileio::DEFAULT_TOTAL_SIZE, num_files as u64, (free / 2).max(num_files as u64))?;
    // About 200 bytes a row in SQLite: at most a quarter of the free space.
    let max_rows = (free / 4 / 200).clamp(1, 100_000_000);
    let table_size = q.u64("tableSize", u64::from(oltp::DEFAULT_TABLE_SIZE).min(max_rows), 1, max_rows)? as u32;
    let (dir, db) = (state.work_dir().to_path_buf(), state.db_path());
    let info = state
        .run_exclusive(move || {
            let began = Instant::now();
            let set = FileSet::prepare(&dir, total, num_files).map_err(AgentError::io("Init fileio"))?;
            oltp::prepare(&db, table_size).map_err(AgentError::db("Init DB"))?;
            let desc = format!(
                "{} files, {}Kb each, {}Mb total, {table_size} records into 'sbtest1' are created",
                set.num_files,
                set.file_size / 1024,
                set.total_size() / (1024 * 1024)
            );
            Ok(BenchmarkInfo::new("The init is complete", "", desc, began.elapsed().as_secs_f64()))
        })
        .await?;
    finished("init", info)
}

async fn clean(State(state): State<AgentState>) -> Reply {
    let (dir, db) = (state.work_dir().to_path_buf(), state.db_path());
    let info = state
        .run_exclusive(move || {
            let began = Instant::now();
            fileio::remove_files(&dir).map_err(AgentError::io("Clean fileio"))?;
            oltp::remove(&db).map_err(AgentError::io("Clean DB"))?;
            let desc = "The benchmark files and tables are removed";
            Ok(BenchmarkInfo::new("The cleaning is complete", "", desc, began.elapsed().as_secs_f64()))
        })
        .await?;
    finished("clean", info)
}

async fn cpus(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_cpu(state, QueryParams::from(q), Some(1), "cpus").await
}

async fn cpum(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_cpu(state, QueryParams::from(q), None, "cpum").await
}

async fn run_cpu(state: AgentState, q: QueryParams, threads: Option<usize>, action: &'static str) -> Reply {
    let threads = match threads {
        Some(n) => n,
        None => q.u64("threads", state.cores() as u64, 1, 1024)? as usize,
    };
    let params = CpuParams {
        max_prime: q.u64("maxPrime", cpu::DEFAULT_MAX_PRIME, 3, 100_000_000)?,
        threads,
        limits: limits(&q, cpu::DEFAULT_SECONDS)?,
    };
    let stats: RunStats = state.run_exclusive(move || Ok(cpu::run_cpu(&params))).await?;
    let desc =
        format!("Repeat the calculation (excution) for prime numbers in {} using {threads}cores", params.max_prime);
    let result = format!("{:.2}", stats.events_per_sec());
    finished(action, BenchmarkInfo::new(result, "Executions/sec", desc, stats.elapsed.as_secs_f64()))
}

async fn mem_read(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_memory(state, QueryParams::from(q), MemOper::Read).await
}

async fn mem_write(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_memory(state, QueryParams::from(q), MemOper::Write).await
}

async fn run_memory(state: AgentState, q: QueryParams, oper: MemOper) -> Reply {
    let block_size = q.size("blockSize", memory::DEFAULT_BLOCK_SIZE as u64, 8, 1 << 30)?;
    if !block_size.is_power_of_two() {
        return Err(AgentError::BadParam {
            name: "blockSize".into(),
            value: block_size.to_string(),
            reason: "must be a power of two (as sysbench requires)".into(),
        });
    }
    let params = MemoryParams {
        oper,
        block_size: block_size as usize,
        total_size: q.size("totalSize", memory::DEFAULT_TOTAL_SIZE, 8, MAX_BYTES)?,
        limits: limits(&q, memory::DEFAULT_SECONDS)?,
    };
    let report = state.run_exclusive(move || Ok(memory::run_memory(&params))).await?;
    let (verb, noun, action) = match oper {
        MemOper::Read => ("read", "reading", "memR"),
        MemOper::Write => ("write", "writing", "memW"),
    };
    let desc =
        format!("Allocate {} memory buffer and {verb} (repeat {noun} a pointer)", format_size(params.total_size));
    let result = format!("{:.2}", report.mib_per_sec());
    finished(action, BenchmarkInfo::new(result, "MiB/sec", desc, report.stats.elapsed.as_secs_f64()))
}

async fn fio_read(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_fileio(state, QueryParams::from(q), FileMode::RandomRead).await
}

async fn fio_write(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_fileio(state, QueryParams::from(q), FileMode::RandomWrite).await
}

async fn run_fileio(state: AgentState, q: QueryParams, mode: FileMode) -> Reply {
    let block_size = q.size("blockSize", fileio::DEFAULT_BLOCK_SIZE as u64, 512, 64 << 20)? as usize;
    let params = FileIoParams {
        mode,
        block_size,
        fsync_freq: q.u64("fsyncFreq", fileio::DEFAULT_FSYNC_FREQ, 0, 1_000_000_000)?,
        threads: 1,
        limits: limits(&q, fileio::DEFAULT_SECONDS)?,
    };
    let seconds = params.limits.time.as_secs_f64();
    let dir = state.work_dir().to_path_buf();
    let report = state
        .run_exclusive(move || {
            let set = FileSet::discover(&dir).map_err(AgentError::io("fileio"))?.ok_or(AgentError::NotInitialized)?;
            if set.file_size < block_size as u64 {
                return Err(AgentError::BadParam {
                    name: "blockSize".into(),
                    value: block_size.to_string(),
                    reason: format!("larger than the prepared files ({} bytes)", set.file_size),
                });
            }
            let report = fileio::run_fileio(&set, &params).map_err(AgentError::io("fileio"))?;
            Ok((set.total_size(), report))
        })
        .await?;
    let (total, report) = report;
    let total_mib = total as f64 / (1024.0 * 1024.0);
    let (desc, result, action) = match mode {
        FileMode::RandomRead => (
            format!("Check read throughput by excuting random reads for files in {total_mib}MiB for {seconds}s"),
            report.read_mib_per_sec(),
            "fioR",
        ),
        FileMode::RandomWrite => (
            format!("Check write throughput by excuting random writes for files in {total_mib}MiB for {seconds}s"),
            report.written_mib_per_sec(),
            "fioW",
        ),
    };
    finished(action, BenchmarkInfo::new(format!("{result:.2}"), "MiB/sec", desc, report.stats.elapsed.as_secs_f64()))
}

async fn db_read(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_oltp(state, QueryParams::from(q), OltpMode::ReadOnly).await
}

async fn db_write(State(state): State<AgentState>, Query(q): Params) -> Reply {
    run_oltp(state, QueryParams::from(q), OltpMode::WriteOnly).await
}

async fn run_oltp(state: AgentState, q: QueryParams, mode: OltpMode) -> Reply {
    let params = OltpParams { mode, limits: limits(&q, oltp::DEFAULT_SECONDS)? };
    let db = state.db_path();
    let (table_size, stats) = state
        .run_exclusive(move || {
            let table_size =
                oltp::prepared_table_size(&db).map_err(AgentError::db("DB"))?.ok_or(AgentError::NotInitialized)?;
            let stats = oltp::run_oltp(&db, table_size, &params).map_err(AgentError::db("DB"))?;
            Ok((table_size, stats))
        })
        .await?;
    let (verb, action) = match mode {
        OltpMode::ReadOnly => ("Read", "dbR"),
        OltpMode::WriteOnly => ("Write", "dbW"),
    };
    let desc = format!("{verb} transactions by simulating transaction loads (OLTP) in DB for {table_size} records");
    let result = format!("{:.2}", stats.events_per_sec());
    finished(action, BenchmarkInfo::new(result, "Transactions/s", desc, stats.elapsed.as_secs_f64()))
}

fn rtt_params(q: &QueryParams) -> Result<RttParams, AgentError> {
    let defaults = RttParams::default();
    Ok(RttParams {
        count: q.u64("count", u64::from(defaults.count), 1, 1000)? as u32,
        interval: q.millis("intervalMs", defaults.interval, 0, 60_000)?,
        timeout: q.millis("timeoutMs", defaults.timeout, 1, 60_000)?,
        tcp_port: q.u64("tcpPort", u64::from(defaults.tcp_port), 1, 65_535)? as u16,
    })
}

/// Measures one target on a blocking thread; `Ok` carries the result or the error's text.
async fn measure(host: String, params: RttParams) -> Result<Result<rtt::RttReport, rtt::RttError>, AgentError> {
    tokio::task::spawn_blocking(move || rtt::measure(&host, &params))
        .await
        .map_err(|err| AgentError::Task(err.to_string()))
}

async fn rtt_one(Query(q): Params, body: Bytes) -> Reply {
    let params = rtt_params(&QueryParams::from(q))?;
    let req: BenchmarkReq = parse_body(&body)?;
    let began = Instant::now();
    let report = measure(req.host.clone(), params).await??;
    let desc = format!("Average RTT to {} ({})", req.host, report.method);
    finished("rtt", BenchmarkInfo::new(format!("{:.3}", report.avg_ms()), "ms", desc, began.elapsed().as_secs_f64()))
}

/// Every host in parallel, each retried once; a host that fails twice gets an empty result
/// (as Milkyway) and the reason in `desc`. Results keep the request's order.
async fn rtt_many(Query(q): Params, body: Bytes) -> Result<Json<BenchmarkInfoArray>, AgentError> {
    let params = rtt_params(&QueryParams::from(q))?;
    let req: MultiHostReq = parse_body(&body)?;
    let tasks: Vec<_> = req
        .multihost
        .into_iter()
        .map(|target| {
            tokio::spawn(async move {
                let began = Instant::now();
                let mut outcome = measure(target.host.clone(), params).await;
                if !matches!(outcome, Ok(Ok(_))) {
                    outcome = measure(target.host.clone(), params).await;
                }
                let (result, desc) = match outcome {
                    Ok(Ok(report)) => (
                        format!("{:.3}", report.avg_ms()),
                        format!("Average RTT to {} ({})", target.host, report.method),
                    ),
                    Ok(Err(err)) => (String::new(), format!("Average RTT to {} (failed: {err})", target.host)),
                    Err(err) => (String::new(), format!("Average RTT to {} (failed: {err})", target.host)),
                };
                let mut info = BenchmarkInfo::new(result, "ms", desc, began.elapsed().as_secs_f64());
                info.specid = target.spec;
                info
            })
        })
        .collect();
    let mut resultarray = Vec::with_capacity(tasks.len());
    for task in tasks {
        resultarray.push(task.await.map_err(|err| AgentError::Task(err.to_string()))?);
    }
    tracing::info!(action = "mrtt", hosts = resultarray.len(), "benchmark finished");
    Ok(Json(BenchmarkInfoArray { resultarray }))
}

async fn metrics_all(State(state): State<AgentState>, Query(q): Params) -> Result<Json<AgentMetrics>, AgentError> {
    collect_metrics(state, QueryParams::from(q), Section::All).await
}

async fn metrics_one(
    State(state): State<AgentState>,
    Path(metric): Path<String>,
    Query(q): Params,
) -> Result<Json<AgentMetrics>, AgentError> {
    let section = Section::parse(&metric).ok_or_else(|| AgentError::BadParam {
        name: "metric".into(),
        value: metric.clone(),
        reason: "must be one of cpu, mem, disk, net, all".into(),
    })?;
    collect_metrics(state, QueryParams::from(q), section).await
}

async fn collect_metrics(
    state: AgentState,
    q: QueryParams,
    section: Section,
) -> Result<Json<AgentMetrics>, AgentError> {
    let sample = q.millis("sampleMs", DEFAULT_SAMPLE, 10, 60_000)?;
    Ok(Json(state.sampler().collect(section, sample).await?))
}
