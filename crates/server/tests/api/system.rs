use serde_json::Value;

use crate::common::{TestApp, assert_error};

#[tokio::test]
async fn probes_and_request_ids() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["message"], "CB-Tumblebug is ready");
    let generated = r.headers.get("x-request-id").expect("request id").to_str().unwrap().to_string();
    assert!(generated.parse::<u64>().is_ok(), "{generated}");
    let r2 = app.get("/tumblebug/livez").await;
    assert_eq!(r2.status, 200);
    assert_ne!(r2.headers.get("x-request-id").unwrap().to_str().unwrap(), generated, "ids are unique");
    let r = app.request("GET", "/tumblebug/httpVersion", None, &[("x-request-id", "my-id-42")]).await;
    assert_eq!(r.body["message"], "HTTP/1.1");
    assert_eq!(r.headers.get("x-request-id").unwrap(), "my-id-42");
    // Errors carry the id too.
    let r = app.request("GET", "/tumblebug/ns/nope", None, &[("x-request-id", "e-1")]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers.get("x-request-id").unwrap(), "e-1");
}

#[tokio::test]
async fn unknown_route_is_json_404() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/no/such/route").await;
    assert_error(&r, 404, "not found");
    let r = app.request("PATCH", "/tumblebug/ns", None, &[]).await;
    assert_error(&r, 405, "not allowed");
}

#[tokio::test]
async fn connections_providers_regions() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/connConfig").await;
    assert_eq!(r.status, 200);
    let conns = r.body["connectionconfig"].as_array().unwrap();
    assert!(conns.len() >= 150, "a connection per region, got {}", conns.len());
    let seoul = conns.iter().find(|c| c["configName"] == "aws-ap-northeast-2").expect("aws-ap-northeast-2");
    assert_eq!(seoul["providerName"], "aws");
    assert_eq!(seoul["driverName"], "sim");
    assert_eq!(seoul["regionZoneInfo"]["assignedRegion"], "ap-northeast-2");
    assert!(seoul["regionDetail"]["location"]["latitude"].as_f64().unwrap() > 37.0);
    let r = app.get("/tumblebug/connConfig/gcp-us-central1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["regionDetail"]["regionId"], "us-central1");
    assert_error(&app.get("/tumblebug/connConfig/aws-mars-1").await, 404, "aws-mars-1");

    let r = app.get("/tumblebug/provider").await;
    let providers: Vec<&str> = r.body["output"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for p in ["aws", "azure", "gcp", "alibaba", "tencent", "ibm", "ncp", "nhn", "openstack"] {
        assert!(providers.contains(&p), "{p} in {providers:?}");
    }
    let r = app.get("/tumblebug/provider/aws/region").await;
    let regions = r.body["regions"].as_array().unwrap();
    assert!(regions.len() >= 25);
    assert_eq!(regions.len(), conns.iter().filter(|c| c["providerName"] == "aws").count());
    let r = app.get("/tumblebug/provider/azure/region/koreacentral").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.body["zones"].as_array().unwrap().is_empty());
    assert_error(&app.get("/tumblebug/provider/nocloud/region").await, 404, "nocloud");
}

#[tokio::test]
async fn lookups_go_to_the_driver() {
    let app = TestApp::new().await;
    let r = app
        .post("/tumblebug/lookupSpec", r#"{"connectionName":"aws-ap-northeast-2","cspResourceId":"t3.small"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["Name"], "t3.small");
    assert_eq!(r.body["VCpu"]["Count"], "2");
    assert_eq!(r.body["MemSizeMib"], "2048");
    let r =
        app.post("/tumblebug/lookupSpec", r#"{"connectionName":"aws-ap-northeast-2","cspResourceId":"x9.huge"}"#).await;
    assert!(r.status == 404 || r.status == 400, "{}", r.text);
    let r = app.post("/tumblebug/lookupSpecs", r#"{"connectionName":"gcp-us-central1"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let specs = r.body["vmspec"].as_array().unwrap();
    assert!(specs.iter().any(|s| s["Name"] == "n2-standard-4" && s["VCpu"]["Count"] == "4"));
    let r = app.post("/tumblebug/lookupImages", r#"{"connectionName":"aws-ap-northeast-2"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let images = r.body["image"].as_array().unwrap();
    assert!(!images.is_empty());
    let first = images[0]["Name"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/tumblebug/lookupImage",
            &format!(r#"{{"connectionName":"aws-ap-northeast-2","cspImageName":"{first}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["IId"]["NameId"], first.as_str());
    assert_error(&app.post("/tumblebug/lookupSpecs", "{}").await, 400, "connectionName");
    assert_error(&app.post("/tumblebug/lookupSpecs", r#"{"connectionName":"nope-1"}"#).await, 400, "nope-1");
}

#[tokio::test]
async fn system_namespace_lists_the_catalog() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/ns/system/resources/spec").await;
    assert_eq!(r.status, 200);
    let specs = r.body["spec"].as_array().unwrap();
    assert!(specs.len() > 1000, "{} specs", specs.len());
    let t3 = specs.iter().find(|s| s["id"] == "aws+ap-northeast-2+t3.small").expect("t3.small in Seoul");
    assert_eq!(t3["vCPU"], 2);
    assert_eq!(t3["memoryGiB"], 2.0);
    assert!(t3["costPerHour"].as_f64().unwrap() > 0.0);
    assert_eq!(t3["connectionName"], "aws-ap-northeast-2");
    assert!(t3["regionLatitude"].as_f64().unwrap() > 30.0);
    let r = app.get("/tumblebug/ns/system/resources/spec/aws+ap-northeast-2+t3.small").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["cspSpecName"], "t3.small");
    let r = app.get("/tumblebug/ns/system/resources/spec?filterKey=providerName&filterVal=ncp").await;
    let ncp = r.body["spec"].as_array().unwrap();
    assert!(!ncp.is_empty() && ncp.iter().all(|s| s["providerName"] == "ncp"));
    let r = app.get("/tumblebug/ns/system/resources/spec?option=id").await;
    assert_eq!(r.body["output"].as_array().unwrap().len(), specs.len());
    let r = app.get("/tumblebug/ns/system/resources/image").await;
    assert!(!r.body["image"].as_array().unwrap().is_empty());
    assert_error(&app.delete("/tumblebug/ns/system/resources/spec/aws+ap-northeast-2+t3.small").await, 409, "catalog");
}

#[tokio::test]
async fn catalog_import_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let assets =
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/tumblebug-assets"));
    let router = crate::common::build(dir.path(), tb_server::AuthConfig::default(), Some(assets.clone())).await;
    let app = TestApp { router, dir, auth_header: None };
    let before = app.get("/tumblebug/connConfig").await.body["connectionconfig"].as_array().unwrap().len();
    let r = app.get("/tumblebug/loadAssets").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lines = r.body["output"].as_array().unwrap();
    assert_eq!(lines.len(), 4, "cloudinfo, cloudimage, cloudlatencymap and cloudspec: {lines:?}");
    let after = app.get("/tumblebug/connConfig").await.body["connectionconfig"].as_array().unwrap().len();
    assert!(after > before, "cloudinfo.yaml adds regions the built-in catalog lacks ({before} -> {after})");
    // A generic specs CSV through the import endpoint.
    let csv = "provider,region,name,vcpu,memory_gib,cost_per_hour,architecture\naws,ap-northeast-2,zz1.test,3,7.5,0.123,x86_64\n";
    let r = app
        .request("POST", "/tumblebug/catalog/import?format=specs", Some(csv), &[("content-type", "text/plain")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/tumblebug/ns/system/resources/spec/aws+ap-northeast-2+zz1.test").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["vCPU"], 3);
    let r = app.request("POST", "/tumblebug/catalog/import?format=specs", Some("name\nfoo\n"), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app.request("POST", "/tumblebug/catalog/import?format=pdf", Some("x"), &[]).await;
    assert_error(&r, 400, "format");

    // Restart on the same data directory: imports are replayed.
    let dir = app.dir;
    drop(app.router);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let router = crate::common::build(dir.path(), tb_server::AuthConfig::default(), None).await;
    let app = TestApp { router, dir, auth_header: None };
    let again = app.get("/tumblebug/connConfig").await.body["connectionconfig"].as_array().unwrap().len();
    assert_eq!(again, after);
    let r = app.get("/tumblebug/ns/system/resources/spec/aws+ap-northeast-2+zz1.test").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&app.get("/tumblebug/loadAssets").await, 400, "assets directory");
}

#[tokio::test]
async fn sim_admin_knobs() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/sim/config").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["timeFactor"].as_f64(), Some(0.0), "{}", r.text);
    let r = app.put("/tumblebug/sim/timeFactor", r#"{"timeFactor": 0.5}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/tumblebug/sim/config").await.body["timeFactor"].as_f64(), Some(0.5));
    assert_error(&app.put("/tumblebug/sim/timeFactor", r#"{"timeFactor": -1}"#).await, 400, "timeFactor");
}
