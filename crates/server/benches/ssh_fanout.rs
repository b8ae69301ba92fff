//! Issue 5's benchmark: `hostname` on 50 local VMs (real sshd processes) in one remote-command
//! call, against the same call on one VM; and the server's CPU time per VM.
//! `cargo bench -p tb-server --bench ssh_fanout` (env `VMS`, `ROUNDS`). Needs openssh-server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn call(router: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let vms = env_usize("VMS", 50);
    let rounds = env_usize("ROUNDS", 5);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async move {
        let store: Arc<dyn tb_store::Store> =
            Arc::new(tb_store::RedbStore::open(dir.path().join("tb.redb")).expect("store"));
        let regions = vec!["lo9".to_string()];
        let mut catalog = tb_catalog::Catalog::builtin();
        tb_cloud::local::catalog_facts(&regions, (0.0, 0.0), &mut catalog);
        let mut config = tb_cloud::local::LocalConfig::new(regions, dir.path().join("local"));
        config.stop_on_drop = true;
        let driver = tb_cloud::local::LocalDriver::new(config).expect("local driver");
        let clouds = Arc::new(tb_core::Clouds::new("sim"));
        clouds.add_driver("local", Arc::new(driver));
        clouds.set_provider_driver(tb_cloud::local::PROVIDER, "local");
        let view = Arc::new(tb_core::CatalogView::new(catalog));
        let tb = tb_core::Tumblebug::new(store, view, clouds).await.expect("app");
        let state = tb_server::AppState { tb, sim: None, assets_dir: None };
        let router = tb_server::router(state, tb_server::AuthConfig::default());

        call(&router, "POST", "/tumblebug/ns", Some(json!({"name": "bench"}))).await;
        let req = json!({"name": "fan", "subGroups": [{"name": "g1", "subGroupSize": vms,
            "specId": "local+lo9+local-1x1", "imageId": "local+all+local-debian"}]});
        let t = Instant::now();
        let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/mciDynamic", Some(req)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], format!("Running:{vms} (R:{vms}/{vms})"), "{v}");
        let create = t.elapsed();
        // No userName: the VM record carries the account the local driver logs in as.
        let cmd = json!({"command": ["hostname"]});
        // Warm-up: trusts every host key once.
        let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan", Some(cmd.clone())).await;
        assert_eq!(s, 200, "{v}");
        let mut one = Vec::new();
        let mut all = Vec::new();
        let mut cpu_all = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan?vmId=g1-1", Some(cmd.clone())).await;
            one.push(t.elapsed());
            assert_eq!(s, 200);
            assert!(v["results"][0]["err"].is_null(), "{v}");
            let c = cpu_time();
            let t = Instant::now();
            let (s, v) = call(&router, "POST", "/tumblebug/ns/bench/cmd/mci/fan", Some(cmd.clone())).await;
            all.push(t.elapsed());
            cpu_all.push(cpu_time().saturating_sub(c));
            assert_eq!(s, 200);
            let results = v["results"].as_array().expect("results");
            assert_eq!(results.len(), vms);
            assert!(results.iter().all(|r| r["err"].is_null()), "{v}");
        }
        let (one, all, cpu) = (median(one), median(all), median(cpu_all));
        println!("| measure | value |");
        println!("|---|---|");
        println!("| create {vms} local VMs (sshd processes) | {:.2} s |", create.as_secs_f64());
        println!("| `hostname` on 1 VM, median of {rounds} | {:.1} ms |", one.as_secs_f64() * 1e3);
        println!("| `hostname` on {vms} VMs in one call, median | {:.1} ms |", all.as_secs_f64() * 1e3);
        println!("| ratio (bar ≤ 2) | {:.2} |", all.as_secs_f64() / one.as_secs_f64());
        println!("| server CPU time per VM (user + system) | {:.2} ms |", cpu.as_secs_f64() * 1e3 / vms as f64);
        let (s, v) = call(&router, "DELETE", "/tumblebug/ns/bench/mci/fan?option=terminate", None).await;
        assert_eq!(s, 200, "{v}");
    });
}
