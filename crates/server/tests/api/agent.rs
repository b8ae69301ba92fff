//! The benchmark agent on real local VMs: installation over SSH, benchmarks on every VM,
//! results that change recommendations, measured latencies, and utilisation metrics.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};

/// The `tumblebug-agent` binary of this build (built here if the test run did not).
fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("tumblebug-agent");
    if !path.is_file() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "tb-agent", "--bin", "tumblebug-agent"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(path.is_file(), "{} missing", path.display());
    path
}

fn numeric(v: &Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Stops every agent started on this test's addresses (local VMs share the machine, so the
/// agents outlive the VMs otherwise).
struct StopAgents(u8);

impl Drop for StopAgents {
    fn drop(&mut self) {
        let pattern = format!("--bin[d] 127\\.{}\\.", self.0);
        let _ = std::process::Command::new("pkill").args(["-f", "--", &pattern]).status();
    }
}

/// The performance order of the local specs, as the recommender gives it.
async fn performance_order(app: &TestApp, octet: u8) -> Vec<String> {
    let req = json!({
        "filter": {"policy": [{"metric": "providerName", "condition": [{"operand": "local"}]},
                              {"metric": "regionName", "condition": [{"operand": format!("lo{octet}")}]}]},
        "priority": {"policy": [{"metric": "performance"}]},
        "limit": "10"
    });
    let r = app.post("/tumblebug/mciRecommendVm", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().unwrap().iter().map(|s| s["cspSpecName"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn agent_benchmarks_feed_placement() {
    let octet = 215;
    agent_binary();
    let _stop = StopAgents(octet);
    let app = TestApp::with_local(octet).await;
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    // The spec the recommender now ranks last by performance (no spec has a score yet).
    let before = performance_order(&app, octet).await;
    assert!(before.len() >= 3, "{before:?}");
    let measured = before.last().unwrap().clone();
    let req = json!({"name": "bench", "subGroups": [
        {"name": "g1", "subGroupSize": 1, "specId": format!("local+lo{octet}+{measured}"), "imageId": "local+all+local-debian"},
        {"name": "g2", "subGroupSize": 1, "specId": format!("local+lo{octet}x+local-1x1"), "imageId": "local+all+local-debian"}]});
    let r = app.post("/tumblebug/ns/ns01/mciDynamic", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Before installation the agents cannot be reached: a clear per-VM error.
    let r = app.post("/tumblebug/ns/ns01/benchmark/mci/bench?action=cpus", "{}").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["resultarray"][0]["result"].as_str().unwrap().contains("cannot be reached"), "{}", r.text);

    let r = app.post("/tumblebug/ns/ns01/installBenchmarkAgent/mci/bench", "{}").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let installed = r.body["resultArray"].as_array().unwrap();
    assert_eq!(installed.len(), 2);
    assert!(installed.iter().all(|x| x["result"].as_str().unwrap().starts_with("installed")), "{}", r.text);
    // Again: left alone, already running.
    let r = app.post("/tumblebug/ns/ns01/installBenchmarkAgent/mcis/bench", "{}").await;
    assert!(r.body["resultArray"][0]["result"].as_str().unwrap().contains("already running"), "{}", r.text);

    // One action on every VM, small workload.
    let r = app.post("/tumblebug/ns/ns01/benchmark/mci/bench?action=cpus&seconds=0.2&maxPrime=2000", "{}").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["resultarray"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for x in results {
        assert_eq!(x["unit"], "Executions/sec", "{x}");
        assert!(numeric(&x["result"]) > 0.0, "{x}");
        assert!(x["specid"].as_str().unwrap().starts_with("local+"), "{x}");
        assert!(x["regionName"].as_str().unwrap().starts_with("local-lo"), "{x}");
    }
    assert_error(&app.post("/tumblebug/ns/ns01/benchmark/mci/bench?action=gpu", "{}").await, 400, "gpu");

    // Regions of the same place: estimated before the agents measure them.
    let (a, b) = (format!("local-lo{octet}"), format!("local-lo{octet}x"));
    let rtt = app.get(&format!("/tumblebug/latency?from={a}&to={b}")).await;
    assert_eq!(rtt.body["source"], "estimated", "{}", rtt.text);

    // benchmarkAll with small workloads: every action, per VM.
    // Other workload sizes are answered but not kept: they do not compare with the references.
    let odd = "seconds=0.2&maxPrime=2000&tableSize=500&fileTotalSize=4M&totalSize=64M&count=2&intervalMs=10";
    let r = app.post(&format!("/tumblebug/ns/ns01/benchmarkAll/mci/bench?{odd}"), "{}").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(performance_order(&app, octet).await, before, "results of other sizes changed the ranking");
    // Short runs at the default sizes.
    let q = "seconds=0.2&count=2&intervalMs=10";
    let r = app.post(&format!("/tumblebug/ns/ns01/benchmarkAll/mci/bench?{q}"), "{}").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let actions: Vec<&str> =
        r.body["resultarray"].as_array().unwrap().iter().map(|a| a["desc"].as_str().unwrap()).collect();
    assert_eq!(actions, ["cpus", "cpum", "memR", "memW", "fioR", "fioW", "dbR", "dbW", "mrtt"], "{}", r.text);
    for action in r.body["resultarray"].as_array().unwrap().iter().take(8) {
        for x in action["resultarray"].as_array().unwrap() {
            assert!(numeric(&x["result"]) > 0.0, "{}: {x}", action["desc"]);
        }
    }

    // The measured spec now leads the performance ranking, without a restart.
    let after = performance_order(&app, octet).await;
    assert_eq!(after[0], measured, "before {before:?}, after {after:?}");
    // And the RTT between the two regions is a measurement now.
    let rtt = app.get(&format!("/tumblebug/latency?from={a}&to={b}")).await;
    assert_eq!(rtt.body["source"], "measured", "{}", rtt.text);
    assert!(rtt.body["ms"].as_f64().unwrap() < 2.0, "loopback: {}", rtt.text);

    // Utilisation read from the agents.
    let r = app.get("/tumblebug/ns/ns01/monitoring/mci/bench/metric/cpu").await;
    assert_eq!(r.status, 200, "{}", r.text);
    for vm in r.body["mciMonitoring"].as_array().unwrap() {
        let cpu: f64 = vm["value"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{vm}");
        assert!(vm["err"].is_null(), "{vm}");
    }
    let r = app.get("/tumblebug/ns/ns01/monitoring/mci/bench/metric/all").await;
    assert!(r.body["mciMonitoring"][0]["metrics"]["mem"]["totalBytes"].as_u64().unwrap() > 0, "{}", r.text);
    assert_error(&app.get("/tumblebug/ns/ns01/monitoring/mci/bench/metric/gpu").await, 400, "gpu");
    assert_eq!(app.delete("/tumblebug/ns/ns01/mci/bench?option=terminate").await.status, 200);
}
