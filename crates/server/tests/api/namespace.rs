use serde_json::Value;

use crate::common::{TestApp, assert_error};

#[tokio::test]
async fn namespace_lifecycle() {
    let app = TestApp::new().await;
    let r = app.post("/tumblebug/ns", r#"{"name":"ns01","description":"first"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], "ns01");
    assert_eq!(r.body["resourceType"], "ns");
    assert_eq!(r.body["uid"].as_str().unwrap().len(), 20);
    assert_error(&app.post("/tumblebug/ns", r#"{"name":"ns01"}"#).await, 409, "already exists");
    for bad in [r#"{"name":""}"#, r#"{"name":"1ns"}"#, r#"{"name":"ns_01"}"#, r#"{"name":"ns-"}"#, r#"{}"#] {
        assert_error(&app.post("/tumblebug/ns", bad).await, 400, "name");
    }

    let r = app.get("/tumblebug/ns/ns01").await;
    assert_eq!(r.body["description"], "first");
    assert_error(&app.get("/tumblebug/ns/ns99").await, 404, "ns99");

    let r = app.put("/tumblebug/ns/ns01", r#"{"name":"ns01","description":"second"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get("/tumblebug/ns/ns01").await.body["description"], "second");
    assert_error(&app.put("/tumblebug/ns/ns01", r#"{"name":"other"}"#).await, 400, "cannot be changed");
    assert_error(&app.put("/tumblebug/ns/ns99", r#"{"description":"x"}"#).await, 404, "ns99");

    app.post("/tumblebug/ns", r#"{"name":"ns02"}"#).await;
    let r = app.get("/tumblebug/ns?option=id").await;
    let ids: Vec<&str> = r.body["output"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(ids, ["ns01", "ns02", "system"]);
    let r = app.get("/tumblebug/ns").await;
    assert_eq!(r.body["ns"].as_array().unwrap().len(), 3);

    assert_eq!(app.get("/tumblebug/checkNs/ns02").await.body["exists"], true);
    assert_eq!(app.get("/tumblebug/checkNs/ns77").await.body["exists"], false);

    let r = app.delete("/tumblebug/ns/ns02").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&app.delete("/tumblebug/ns/ns02").await, 404, "ns02");
    assert_error(&app.delete("/tumblebug/ns/system").await, 409, "system");
}

#[tokio::test]
async fn namespace_delete_refused_while_not_empty() {
    let app = TestApp::new().await;
    app.ns_with_vnet("ns01", "aws-ap-northeast-2").await;
    assert_error(&app.delete("/tumblebug/ns/ns01").await, 409, "not empty");
    app.post("/tumblebug/ns", r#"{"name":"empty"}"#).await;
    let r = app.delete("/tumblebug/ns").await;
    assert_error(&r, 409, "ns01");
    assert_eq!(app.get("/tumblebug/checkNs/empty").await.body["exists"], false, "the empty one was deleted");
    assert_eq!(app.get("/tumblebug/checkNs/ns01").await.body["exists"], true);
    let r = app.delete("/tumblebug/ns/ns01/resources/vNet/vnet01").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.delete("/tumblebug/ns").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/tumblebug/ns?option=id").await;
    assert_eq!(r.body["output"], serde_json::json!(["system"]));
}

#[tokio::test]
async fn lenient_json_like_go() {
    let app = TestApp::new().await;
    // Capitalised keys, unknown fields, no content type.
    let r = app
        .request("POST", "/tumblebug/ns", Some(r#"{"Name":"ns03","DESCRIPTION":"caps","extra":{"x":1}}"#), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["description"], "caps");
    assert_error(&app.post("/tumblebug/ns", r#"{"name": "ns04""#).await, 400, "");
    assert_error(&app.post("/tumblebug/ns", r#"["ns05"]"#).await, 400, "");
    assert_error(&app.post("/tumblebug/ns", r#"{"name": 5}"#).await, 400, "name");
}
