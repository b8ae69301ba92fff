use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn recommend_spec_filters_and_ranks_the_catalog() {
    let app = TestApp::new().await;
    let req = json!({
        "filter": {"policy": [
            {"metric": "vCPU", "condition": [{"operator": ">=", "operand": "2"}, {"operator": "<=", "operand": "4"}]},
            {"metric": "memoryGiB", "condition": [{"operator": ">=", "operand": "8"}]},
            {"metric": "providerName", "condition": [{"operand": "aws,gcp"}]}]},
        "priority": {"policy": [{"metric": "cost"}]},
        "limit": "5"});
    let r = app.post("/tumblebug/recommendSpec", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let specs = r.body.as_array().unwrap();
    assert_eq!(specs.len(), 5);
    let costs: Vec<f64> = specs.iter().map(|s| s["costPerHour"].as_f64().unwrap()).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "cheapest first: {costs:?}");
    let ranks: Vec<u64> = specs.iter().map(|s| s["orderInFilteredResult"].as_u64().unwrap()).collect();
    assert_eq!(ranks[0], 1);
    assert!(ranks.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1), "dense ranks: {ranks:?}");
    for s in specs {
        let vcpu = s["vCPU"].as_u64().unwrap();
        assert!((2..=4).contains(&vcpu) && s["memoryGiB"].as_f64().unwrap() >= 8.0);
        assert!(s["providerName"] == "aws" || s["providerName"] == "gcp");
    }
    // The older name answers the same.
    let r2 = app.post("/tumblebug/mciRecommendVm", &req.to_string()).await;
    assert_eq!(ids(&r2.body), ids(&r.body));

    // Closest to Seoul: the Seoul region comes first, with its distance in evaluationScore10.
    let near = json!({
        "filter": {"policy": [{"metric": "providerName", "condition": [{"operand": "aws"}]}]},
        "priority": {"policy": [{"metric": "location", "parameter": [{"key": "coordinateClose", "val": ["37.5665/126.9780"]}]}]},
        "limit": 3});
    let r = app.post("/tumblebug/recommendSpec", &near.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[0]["regionName"], "ap-northeast-2", "{}", r.text);
    assert!(r.body[0]["evaluationScore10"].as_f64().unwrap() < 50.0, "km from Seoul");

    // Errors are explicit.
    let bad = json!({"filter": {"policy": [{"metric": "cores", "condition": [{"operator": ">=", "operand": "2"}]}]}});
    assert_error(&app.post("/tumblebug/recommendSpec", &bad.to_string()).await, 400, "invalid metric");
    let bad = json!({"filter": {"policy": [{"metric": "vCPU", "condition": [{"operator": ">=", "operand": "two"}]}]}});
    assert_error(&app.post("/tumblebug/recommendSpec", &bad.to_string()).await, 400, "two");

    let r = app.get("/tumblebug/recommendSpecOptions").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("coordinateClose") && r.text.contains("vCPU"), "{}", &r.text[..r.text.len().min(300)]);
}

#[tokio::test]
async fn measured_latency_wins_over_the_estimate_and_drives_latency_priority() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/latency?from=aws-ap-northeast-2&to=gcp-asia-northeast3").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"], "estimated");
    let estimated = r.body["ms"].as_f64().unwrap();
    assert!(estimated > 0.0 && estimated < 20.0, "Seoul to Seoul across providers: {estimated}");
    // Import the measured matrix.
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/tumblebug-assets/cloudlatencymap.csv"
    ))
    .unwrap();
    let r = app
        .request(
            "POST",
            "/tumblebug/catalog/import?format=cloudlatencymap",
            Some(&csv),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/tumblebug/latency?from=aws-ap-northeast-2&to=aws-us-east-1").await;
    assert_eq!(r.body["source"], "measured", "{}", r.text);
    let ms = r.body["ms"].as_f64().unwrap();
    assert!(ms > 100.0 && ms < 300.0, "Seoul–Virginia {ms}");
    // latencyMinimal: regions nearest (in RTT) to Seoul first.
    let req = json!({
        "filter": {"policy": [{"metric": "providerName", "condition": [{"operand": "aws"}]}, {"metric": "vCPU", "condition": [{"operator": "==", "operand": "2"}]}]},
        "priority": {"policy": [{"metric": "latency", "parameter": [{"key": "latencyMinimal", "val": ["aws-ap-northeast-2"]}]}]},
        "limit": 1});
    let r = app.post("/tumblebug/recommendSpec", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[0]["regionName"], "ap-northeast-2", "{}", r.text);
    assert_error(
        &app.request("POST", "/tumblebug/catalog/import?format=cloudlatencymap", Some("not,a\nmatrix"), &[]).await,
        400,
        "",
    );
}
