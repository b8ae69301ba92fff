//! The agent over real HTTP on loopback: every endpoint with small workloads.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tb_agent::{AgentConfig, RunningAgent};
use tb_model::benchmark::{AgentMetrics, BenchmarkInfo, BenchmarkInfoArray};
use tempfile::TempDir;

struct Agent {
    running: RunningAgent,
    dir: TempDir,
    http: reqwest::Client,
}

impl Agent {
    async fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let config = AgentConfig { bind: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 0, work_dir: dir.path().join("agent") };
        let running = tb_agent::start(config).await.unwrap();
        Agent { running, dir, http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/milkyway/{path}", self.running.addr)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn get_with(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn ok(&self, path: &str) -> BenchmarkInfo {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_value(body).unwrap()
    }

    async fn stop(self) {
        self.running.shutdown().await.unwrap();
    }
}

fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// A decimal string with exactly `decimals` digits after the point, positive.
fn positive_number(text: &str, decimals: usize) -> f64 {
    let (_, fraction) = text.split_once('.').unwrap_or_else(|| panic!("{text:?} has no decimals"));
    assert_eq!(fraction.len(), decimals, "{text:?}");
    let value: f64 = text.parse().unwrap();
    assert!(value > 0.0, "{text:?}");
    value
}

fn elapsed_secs(info: &BenchmarkInfo) -> f64 {
    positive_or_zero(&info.elapsed)
}

fn positive_or_zero(text: &str) -> f64 {
    let (_, fraction) = text.split_once('.').unwrap();
    assert_eq!(fraction.len(), 6, "elapsed {text:?} must have six decimals");
    text.parse().unwrap()
}

#[tokio::test]
async fn install_answers_like_milkyway() {
    let agent = Agent::start().await;
    let (status, body) = agent.get("install").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sorted_keys(&body), ["desc", "elapsed", "result", "specid", "unit"]);
    assert_eq!(body["result"], "The installation is complete");
    assert!(agent.dir.path().join("agent").is_dir());
    let response = agent.http.post(agent.url("install")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    agent.stop().await;
}

#[tokio::test]
async fn cpu_single_and_multi_core() {
    let agent = Agent::start().await;
    let single = agent.ok("cpus?seconds=0.2&maxPrime=10000").await;
    assert_eq!(single.unit, "Executions/sec");
    assert_eq!(single.desc, "Repeat the calculation (excution) for prime numbers in 10000 using 1cores");
    positive_number(&single.result, 2);
    assert!(elapsed_secs(&single) >= 0.2);

    let multi = agent.ok("cpum?seconds=0.2&maxPrime=10000&threads=2").await;
    assert!(multi.desc.ends_with("using 2cores"), "{}", multi.desc);
    positive_number(&multi.result, 2);

    let bounded = agent.ok("cpus?events=3&maxPrime=1000&seconds=60").await;
    assert!(elapsed_secs(&bounded) < 30.0, "the event limit ends the run");
    agent.stop().await;
}

#[tokio::test]
async fn memory_read_and_write() {
    let agent = Agent::start().await;
    let read = agent.ok("memR?seconds=0.2").await;
    assert_eq!(read.unit, "MiB/sec");
    assert_eq!(read.desc, "Allocate 10G memory buffer and read (repeat reading a pointer)");
    positive_number(&read.result, 2);

    let write = agent.ok("memW?totalSize=4M&blockSize=4K").await;
    assert_eq!(write.desc, "Allocate 4M memory buffer and write (repeat writing a pointer)");
    positive_number(&write.result, 2);
    assert!(elapsed_secs(&write) < 5.0, "4M are transferred long before the 10 s limit");

    let (status, body) = agent.get("memR?blockSize=1000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("power of two"), "{body}");
    agent.stop().await;
}

#[tokio::test]
async fn file_and_database_runs_need_init_and_clean_removes_it() {
    let agent = Agent::start().await;
    for action in ["fioR", "fioW", "dbR", "dbW"] {
        let (status, body) = agent.get(&format!("{action}?seconds=0.1")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(body, json!({"message": "Error in excuting the benchmark: not initialized"}), "{action}");
    }

    let init = agent.ok("init?fileTotalSize=1M&fileNum=4&tableSize=1000").await;
    assert_eq!(init.result, "The init is complete");
    assert_eq!(init.desc, "4 files, 256Kb each, 1Mb total, 1000 records into 'sbtest1' are created");
    let work = agent.dir.path().join("agent");
    assert!(work.join("test_file.3").is_file() && work.join("sbtest.db").is_file());

    let read = agent.ok("fioR?seconds=0.2").await;
    assert_eq!(read.unit, "MiB/sec");
    assert_eq!(read.desc, "Check read throughput by excuting random reads for files in 1MiB for 0.2s");
    positive_number(&read.result, 2);
    let write = agent.ok("fioW?seconds=0.2").await;
    assert!(write.desc.starts_with("Check write throughput by excuting random writes"), "{}", write.desc);
    positive_number(&write.result, 2);

    let db_read = agent.ok("dbR?seconds=0.2").await;
    assert_eq!(db_read.unit, "Transactions/s");
    assert_eq!(db_read.desc, "Read transactions by simulating transaction loads (OLTP) in DB for 1000 records");
    positive_number(&db_read.result, 2);
    let db_write = agent.ok("dbW?events=5").await;
    assert_eq!(db_write.desc, "Write transactions by simulating transaction loads (OLTP) in DB for 1000 records");
    positive_number(&db_write.result, 2);

    let (status, body) = agent.get("fioR?blockSize=1M").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "blocks larger than the files: {body}");

    let clean = agent.ok("clean").await;
    assert_eq!(clean.result, "The cleaning is complete");
    assert_eq!(clean.desc, "The benchmark files and tables are removed");
    assert!(!work.join("test_file.0").exists() && !work.join("sbtest.db").exists());
    let (status, _) = agent.get("dbR").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Cleaning twice is harmless, as sysbench's cleanup is.
    agent.ok("clean").await;
    agent.stop().await;
}

#[tokio::test]
async fn concurrent_runs_take_turns() {
    let agent = Agent::start().await;
    let began = Instant::now();
    let (a, b) = tokio::join!(agent.ok("cpus?seconds=0.3&maxPrime=1000"), agent.ok("memW?seconds=0.3"));
    positive_number(&a.result, 2);
    positive_number(&b.result, 2);
    assert!(began.elapsed() >= Duration::from_millis(600), "the runs overlapped: {:?}", began.elapsed());
    agent.stop().await;
}

#[tokio::test]
async fn rtt_to_a_loopback_tcp_listener() {
    let agent = Agent::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (status, body) =
        agent.get_with("rtt?count=3&intervalMs=10", json!({"host": format!("127.0.0.1:{port}")})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let info: BenchmarkInfo = serde_json::from_value(body).unwrap();
    assert_eq!(info.unit, "ms");
    assert_eq!(info.desc, format!("Average RTT to 127.0.0.1:{port} (TCP connect to port {port})"));
    let ms = positive_number(&info.result, 3);
    assert!(ms < 1000.0);

    let (status, body) = agent.get_with("rtt?count=1", json!({"host": ""})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Error in excuting the benchmark: Ping no host given");

    let response = agent.http.get(agent.url("rtt")).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("Error in request binding"), "{body}");
    drop(listener);
    agent.stop().await;
}

#[tokio::test]
async fn rtt_to_loopback_without_port_uses_icmp_or_port_22() {
    let agent = Agent::start().await;
    let (status, body) = agent.get_with("rtt?count=2&intervalMs=10", json!({"host": "127.0.0.1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let desc = body["desc"].as_str().unwrap();
    let expected = if tb_agent::rtt::icmp_permitted(IpAddr::V4(Ipv4Addr::LOCALHOST)) {
        "Average RTT to 127.0.0.1 (ICMP echo)"
    } else {
        "Average RTT to 127.0.0.1 (TCP connect to port 22)"
    };
    assert_eq!(desc, expected);
    agent.stop().await;
}

#[tokio::test]
async fn mrtt_measures_every_host_in_order() {
    let agent = Agent::start().await;
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    let hosts = json!({"multihost": [
        {"host": first.local_addr().unwrap().to_string(), "spec": "aws-ap-northeast-2-t3-small"},
        {"host": second.local_addr().unwrap().to_string(), "spec": "gcp-asia-east1-e2-small"},
        {"host": "", "spec": "broken"},
    ]});
    let began = Instant::now();
    let (status, body) = agent.get_with("mrtt?count=5&intervalMs=100", hosts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Five probes 100 ms apart take 0.4 s; two hosts in sequence would take 0.8 s.
    assert!(began.elapsed() < Duration::from_millis(780), "hosts were not measured in parallel");
    let all: BenchmarkInfoArray = serde_json::from_value(body).unwrap();
    let specs: Vec<&str> = all.resultarray.iter().map(|r| r.specid.as_str()).collect();
    assert_eq!(specs, ["aws-ap-northeast-2-t3-small", "gcp-asia-east1-e2-small", "broken"]);
    for info in &all.resultarray[..2] {
        assert_eq!(info.unit, "ms");
        positive_number(&info.result, 3);
    }
    let broken = &all.resultarray[2];
    assert_eq!(broken.result, "");
    assert!(broken.desc.contains("failed: no host given"), "{}", broken.desc);
    agent.stop().await;
}

#[tokio::test]
async fn metrics_are_in_range() {
    let agent = Agent::start().await;
    let response = agent.http.get(agent.url("metrics?sampleMs=50")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let metrics: AgentMetrics = response.json().await.unwrap();
    for metric in ["cpu", "mem", "disk"] {
        let value = metrics.value(metric).unwrap();
        assert!((0.0..=100.0).contains(&value), "{metric} = {value}");
    }
    assert!(metrics.value("net").unwrap() >= 0.0);
    assert!(metrics.cpu.as_ref().unwrap().cores >= 1);
    assert!(metrics.mem.as_ref().unwrap().total_bytes > 0);
    assert!(metrics.sample_seconds > 0.0);

    let (status, body) = agent.get("metrics/mem").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sorted_keys(&body), ["mem", "sampleSeconds"]);

    let (status, _) = agent.get("metrics/swap").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    agent.stop().await;
}

#[tokio::test]
async fn bad_query_parameters_are_rejected_before_running() {
    let agent = Agent::start().await;
    for path in ["cpus?seconds=abc", "cpus?seconds=0", "cpum?threads=0", "init?fileNum=0", "rtt?count=0"] {
        let (status, body) = agent.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body["message"].as_str().unwrap().starts_with("invalid query parameter"), "{path}: {body}");
    }
    agent.stop().await;
}
