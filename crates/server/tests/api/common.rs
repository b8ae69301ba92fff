//! Test harness: a real application (redb store in a temp dir, in-process simulated clouds at
//! time factor 0) driven through the router without a network.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tb_cloud::sim::{SimCloud, SimConfig, SimDriver};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub dir: tempfile::TempDir,
    pub auth_header: Option<String>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

pub async fn build(
    dir: &std::path::Path,
    auth: tb_server::AuthConfig,
    assets_dir: Option<std::path::PathBuf>,
) -> Router {
    let engine = tb_core::limits::EngineConfig {
        poll_interval: std::time::Duration::from_millis(5),
        status_cache: std::time::Duration::ZERO,
        ..tb_core::limits::EngineConfig::default()
    };
    build_with(dir, auth, assets_dir, engine).await.0
}

/// The application with the given engine settings, and its simulated clouds.
pub async fn build_with(
    dir: &std::path::Path,
    auth: tb_server::AuthConfig,
    assets_dir: Option<std::path::PathBuf>,
    engine: tb_core::limits::EngineConfig,
) -> (Router, Arc<SimCloud>) {
    let store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.join("tb.redb")).unwrap());
    let sim_store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.join("sim.redb")).unwrap());
    let catalog = tb_catalog::Catalog::builtin();
    let config = SimConfig { time_factor: 0.0, seed: 7, ..SimConfig::default() };
    let cloud =
        Arc::new(SimCloud::builder(Arc::new(catalog.clone())).config(config).store(sim_store).build().await.unwrap());
    let clouds = Arc::new(tb_core::Clouds::new("sim"));
    clouds.add_driver("sim", Arc::new(SimDriver::new(cloud.clone())));
    let view = Arc::new(tb_core::CatalogView::new(catalog));
    let tb = tb_core::Tumblebug::with_config(store, view, clouds, engine).await.unwrap();
    let state = tb_server::AppState { tb, sim: Some(cloud.clone()), assets_dir };
    (tb_server::router(state, auth), cloud)
}

/// The application with simulated clouds and local regions (`lo{octet}`, `lo{octet}x`) whose VMs are
/// real sshd processes on `127.{octet}.1.n`; each test picks its own octet so that parallel
/// tests never share addresses. Needs openssh-server.
pub async fn build_local(dir: &std::path::Path, octet: u8) -> Router {
    let store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.join("tb.redb")).unwrap());
    let sim_store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.join("sim.redb")).unwrap());
    // A second region (`lo{octet}x`) for tests that spread VMs.
    let regions = vec![format!("lo{octet}"), format!("lo{octet}x")];
    let mut catalog = tb_catalog::Catalog::builtin();
    tb_cloud::local::catalog_facts(&regions, (37.5, 127.0), &mut catalog);
    let config = SimConfig { time_factor: 0.0, seed: 7, ..SimConfig::default() };
    let cloud =
        Arc::new(SimCloud::builder(Arc::new(catalog.clone())).config(config).store(sim_store).build().await.unwrap());
    let mut local = tb_cloud::local::LocalConfig::new(regions, dir.join("local"));
    local.address_base = std::net::Ipv4Addr::new(127, octet, 0, 0);
    local.stop_on_drop = true;
    let clouds = Arc::new(tb_core::Clouds::new("sim"));
    clouds.add_driver("sim", Arc::new(SimDriver::new(cloud.clone())));
    clouds.add_driver("local", Arc::new(tb_cloud::local::LocalDriver::new(local).unwrap()));
    clouds.set_provider_driver(tb_cloud::local::PROVIDER, "local");
    let view = Arc::new(tb_core::CatalogView::new(catalog));
    let engine = tb_core::limits::EngineConfig {
        poll_interval: std::time::Duration::from_millis(5),
        status_cache: std::time::Duration::ZERO,
        ..tb_core::limits::EngineConfig::default()
    };
    let tb = tb_core::Tumblebug::with_config(store, view, clouds, engine).await.unwrap();
    let state = tb_server::AppState { tb, sim: Some(cloud), assets_dir: None };
    tb_server::router(state, tb_server::AuthConfig::default())
}

impl TestApp {
    /// See [`build_local`].
    pub async fn with_local(octet: u8) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let router = build_local(dir.path(), octet).await;
        TestApp { router, dir, auth_header: None }
    }

    /// Namespace `ns` and an MCI `mci` of `n` local VMs (`g1-1..g1-n`) in region `lo{octet}`.
    pub async fn local_mci(&self, ns: &str, mci: &str, octet: u8, n: usize) -> Value {
        let r = self.post("/tumblebug/ns", &format!(r#"{{"name":"{ns}"}}"#)).await;
        assert!(r.status == 200 || r.status == 409, "{}", r.text);
        let req = serde_json::json!({"name": mci, "subGroups": [{"name": "g1", "subGroupSize": n,
            "specId": format!("local+lo{octet}+local-1x1"), "imageId": "local+all+local-debian"}]});
        let r = self.post(&format!("/tumblebug/ns/{ns}/mciDynamic"), &req.to_string()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], format!("Running:{n} (R:{n}/{n})"), "{}", r.text);
        r.body
    }

    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let router = build(dir.path(), tb_server::AuthConfig::default(), None).await;
        TestApp { router, dir, auth_header: None }
    }

    pub async fn request(&self, method: &str, uri: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(h) = &self.auth_header {
            req = req.header("authorization", h);
        }
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.request("GET", uri, None, &[]).await
    }
    pub async fn post(&self, uri: &str, body: &str) -> Resp {
        self.request("POST", uri, Some(body), &[("content-type", "application/json")]).await
    }
    pub async fn put(&self, uri: &str, body: &str) -> Resp {
        self.request("PUT", uri, Some(body), &[("content-type", "application/json")]).await
    }
    pub async fn delete(&self, uri: &str) -> Resp {
        self.request("DELETE", uri, None, &[]).await
    }
    pub async fn delete_with(&self, uri: &str, body: &str) -> Resp {
        self.request("DELETE", uri, Some(body), &[("content-type", "application/json")]).await
    }

    /// Creates a namespace and a vNet with two subnets on `conn`.
    pub async fn ns_with_vnet(&self, ns: &str, conn: &str) {
        let r = self.post("/tumblebug/ns", &format!(r#"{{"name":"{ns}"}}"#)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = self
            .post(
                &format!("/tumblebug/ns/{ns}/resources/vNet"),
                &format!(
                    r#"{{"name":"vnet01","connectionName":"{conn}","cidrBlock":"10.0.0.0/16",
                       "subnetInfoList":[{{"name":"subnet01","ipv4_CIDR":"10.0.1.0/24"}},{{"name":"subnet02","ipv4_CIDR":"10.0.2.0/24"}}]}}"#
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

/// Asserts an error response: status and a `{"message"}` body containing `needle`.
pub fn assert_error(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    let msg = r.body.get("message").and_then(Value::as_str).unwrap_or_else(|| panic!("no message in {}", r.text));
    assert!(msg.contains(needle), "message {msg:?} does not contain {needle:?}");
}
