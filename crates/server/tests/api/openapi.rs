use crate::common::TestApp;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// The committed document must equal the generated one. To refresh it after changing the API:
/// `UPDATE_OPENAPI=1 cargo test -p tb-server --test api openapi`.
#[test]
fn committed_openapi_is_current() {
    let generated = serde_json::to_string_pretty(&tb_server::openapi()).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p tb-server --test api openapi` and commit it"
    );
}

#[tokio::test]
async fn served_document_and_swagger_ui() {
    let app = TestApp::new().await;
    let r = app.get("/tumblebug/api/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.body["paths"].as_object().unwrap();
    for p in ["/ns", "/ns/{nsId}", "/ns/{nsId}/resources/vNet", "/connConfig", "/lookupSpec", "/readyz"] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(paths.len() >= 30, "{} paths", paths.len());
    let r = app.get("/tumblebug/api/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("swagger"), "Swagger UI page");
    let r = app.get("/tumblebug/api/swagger-ui.css").await;
    assert_eq!(r.status, 200, "assets are embedded (offline)");
}
