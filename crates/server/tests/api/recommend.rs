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

fn filter(policies: &[(&str, &str, &str)]) -> Value {
    json!({"policy": policies.iter().map(|(m, op, v)| json!({"metric": m, "condition": [{"operator": op, "operand": v}]})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn group_placement_under_an_rtt_bound_and_into_mci_dynamic() {
    let app = TestApp::new().await;
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/tumblebug-assets/cloudlatencymap.csv"
    ))
    .unwrap();
    let r = app.request("POST", "/tumblebug/catalog/import?format=cloudlatencymap", Some(&csv), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let req = json!({
        "maxRttMs": 40,
        "near": {"latitude": 37.5665, "longitude": 126.978, "maxDistanceKm": 3000},
        "subGroups": [
            {"name": "web", "subGroupSize": 2, "filter": filter(&[("vCPU", ">=", "2"), ("providerName", "==", "aws,gcp,azure")])},
            {"name": "db", "subGroupSize": 1, "filter": filter(&[("memoryGiB", ">=", "16"), ("providerName", "==", "aws,gcp,azure")])}]});
    let r = app.post("/tumblebug/mciPlacement", &req.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let worst = r.body["worstRttMs"].as_f64().unwrap();
    assert!(worst <= 40.0, "every pair within the bound: {worst}");
    let choices = r.body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    let total: f64 = choices.iter().map(|c| c["costPerVm"].as_f64().unwrap() * c["vmCount"].as_f64().unwrap()).sum();
    assert!((total - r.body["totalCost"].as_f64().unwrap()).abs() < 1e-6);
    // Loosening the bound can only make it cheaper or equal.
    let mut loose = req.clone();
    loose["maxRttMs"] = json!(400);
    let l = app.post("/tumblebug/mciPlacement", &loose.to_string()).await;
    assert!(l.body["totalCost"].as_f64().unwrap() <= r.body["totalCost"].as_f64().unwrap() + 1e-9);

    // Impossible bounds are explained.
    let mut tight = req.clone();
    tight["maxRttMs"] = json!(0.01);
    let t = app.post("/tumblebug/mciPlacement", &tight.to_string()).await;
    assert_error(&t, 422, "");
    assert!(t.body["message"].as_str().unwrap().len() > 20, "{}", t.text);

    // The answer is an mciDynamic request, and mciDynamic takes the placement itself.
    let mut dynamic = r.body["mciDynamicReq"].clone();
    dynamic["name"] = json!("placed");
    app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await;
    let m = app.post("/tumblebug/ns/ns01/mciDynamic", &dynamic.to_string()).await;
    assert_eq!(m.body["status"], "Running:3 (R:3/3)", "{}", m.text);
    let m = app.post("/tumblebug/ns/ns01/mciDynamic", &json!({"name": "placed2", "placement": req}).to_string()).await;
    assert_eq!(m.body["status"], "Running:3 (R:3/3)", "{}", m.text);
    let conns: Vec<&str> =
        m.body["vm"].as_array().unwrap().iter().map(|v| v["connectionName"].as_str().unwrap()).collect();
    let chosen: Vec<&str> = choices.iter().map(|c| c["connectionName"].as_str().unwrap()).collect();
    assert!(conns.iter().all(|c| chosen.contains(c)), "{conns:?} vs {chosen:?}");
}
