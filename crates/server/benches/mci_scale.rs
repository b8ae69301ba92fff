//! Issue 3's benchmark: a 1,000-VM MCI over 20 simulated regions whose create calls take 2 s
//! (time factor 1), 20 VMs per region at a time, then `GET ?option=status` on it.
//! `cargo bench -p tb-server --bench mci_scale` (env `VMS`, `REGIONS`, `READS` change the size).
//! Ideal wall time = ceil(VMs per region / 20) rounds × 2 s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tb_cloud::sim::{DurationOverrides, SimCloud, SimConfig, SimDriver};
use tower::ServiceExt;

const CREATE_SECS: f64 = 2.0;
const PER_REGION: usize = 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn call(router: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value, usize) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), bytes.len())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let vms = env_usize("VMS", 1000);
    let regions = env_usize("REGIONS", 20);
    let reads = env_usize("READS", 50);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async move {
        let store: Arc<dyn tb_store::Store> = Arc::new(tb_store::RedbStore::open(dir.path().join("tb.redb")).expect("store"));
        let catalog = tb_catalog::Catalog::builtin();
        let config = SimConfig {
            time_factor: 1.0,
            seed: 42,
            durations: DurationOverrides { create_call_secs: Some(CREATE_SECS), boot_secs: Some(0.0) },
            ..SimConfig::default()
        };
        let cloud = Arc::new(SimCloud::new(Arc::new(catalog.clone()), config).expect("sim"));
        let clouds = Arc::new(tb_core::Clouds::new("sim"));
        clouds.add_driver("sim", Arc::new(SimDriver::new(cloud.clone())));
        let view = Arc::new(tb_core::CatalogView::new(catalog.clone()));
        let engine = tb_core::limits::EngineConfig {
            vms_per_region: PER_REGION,
            poll_interval: Duration::from_millis(200),
            ..tb_core::limits::EngineConfig::default()
        };
        let tb = tb_core::Tumblebug::with_config(store, view, clouds, engine).await.expect("app");
        let state = tb_server::AppState { tb, sim: Some(cloud), assets_dir: None };
        let router = tb_server::router(state, tb_server::AuthConfig::default());

        // Regions taken round-robin over three CSPs, with a small spec and an image each.
        let candidates: Vec<Vec<(String, String)>> = ["aws", "gcp", "azure"]
            .iter()
            .map(|provider| {
                catalog
                    .regions()
                    .iter()
                    .filter(|r| r.provider == *provider)
                    .filter_map(|r| {
                        let spec = catalog
                            .specs_in(provider, &r.id)
                            .into_iter()
                            .filter(|s| s.gpu.is_none())
                            .min_by(|a, b| a.vcpu.cmp(&b.vcpu).then(a.cost_per_hour.total_cmp(&b.cost_per_hour)))?;
                        let image = catalog
                            .images_in(provider, &r.id)
                            .into_iter()
                            .find(|i| !i.is_gpu_image && i.os_type.contains("Ubuntu"))?;
                        Some((
                            tb_model::provider_region_key(provider, &r.id, &spec.name),
                            tb_core::catalog_view::image_id(provider, &image.region, &image.name),
                        ))
                    })
                    .collect()
            })
            .collect();
        let mut picks = Vec::new();
        for i in 0.. {
            if picks.len() >= regions || candidates.iter().all(|c| c.len() <= i) {
                break;
            }
            for c in &candidates {
                if let Some(p) = c.get(i)
                    && picks.len() < regions
                {
                    picks.push(p.clone());
                }
            }
        }
        picks.truncate(regions);
        let per_region = vms / picks.len();
        let subgroups: Vec<Value> = picks
            .iter()
            .enumerate()
            .map(|(i, (spec, image))| json!({"name": format!("r{i:02}"), "subGroupSize": per_region, "specId": spec, "imageId": image}))
            .collect();
        let total = per_region * picks.len();

        let (s, _, _) = call(&router, "POST", "/tumblebug/ns", Some(json!({"name": "bench"}))).await;
        assert_eq!(s, 200);
        // Shared vNet/SG/key per region are made by a first, small MCI (not timed), as they
        // would exist in a namespace in use.
        let warm: Vec<Value> = subgroups.iter().map(|g| { let mut g = g.clone(); g["subGroupSize"] = json!(1); g }).collect();
        let t = Instant::now();
        let (s, v, _) = call(&router, "POST", "/tumblebug/ns/bench/mciDynamic", Some(json!({"name": "warm", "subGroups": warm}))).await;
        assert_eq!(s, 200, "{v}");
        let warm_time = t.elapsed();
        let (s, v, _) = call(&router, "DELETE", "/tumblebug/ns/bench/mci/warm?option=force", None).await;
        assert_eq!(s, 200, "{v}");

        let t = Instant::now();
        let (s, v, _) = call(&router, "POST", "/tumblebug/ns/bench/mciDynamic", Some(json!({"name": "big", "subGroups": subgroups}))).await;
        let create = t.elapsed();
        assert_eq!(s, 200, "{v}");
        let status = v["status"].as_str().unwrap_or_default().to_string();
        assert_eq!(status, format!("Running:{total} (R:{total}/{total})"), "{}", v["creationErrors"]);
        let rounds = per_region.div_ceil(PER_REGION);
        let ideal = Duration::from_secs_f64(rounds as f64 * CREATE_SECS);

        let mut times = Vec::with_capacity(reads);
        let mut size = 0;
        for _ in 0..reads {
            let t = Instant::now();
            let (s, v, n) = call(&router, "GET", "/tumblebug/ns/bench/mci/big?option=status", None).await;
            times.push(t.elapsed());
            assert_eq!(s, 200);
            assert_eq!(v["status"]["statusCount"]["countRunning"], total);
            size = n;
        }
        times.sort();
        println!("| measure | value |");
        println!("|---|---|");
        println!("| VMs × regions | {total} = {per_region} × {} |", picks.len());
        println!("| shared resources (20 regions, untimed warm-up MCI of 1 VM per region) | {:.2} s |", warm_time.as_secs_f64());
        println!("| create wall time | {:.2} s |", create.as_secs_f64());
        println!("| ideal ({rounds} rounds × {CREATE_SECS} s) | {:.2} s |", ideal.as_secs_f64());
        println!("| ratio to ideal (bar ≤ 1.10) | {:.3} |", create.as_secs_f64() / ideal.as_secs_f64());
        println!("| GET ?option=status median ({reads} reads, {size} bytes) | {:.2} ms |", percentile(&times, 0.5).as_secs_f64() * 1e3);
        println!("| GET ?option=status p99 | {:.2} ms |", percentile(&times, 0.99).as_secs_f64() * 1e3);
        println!("| peak RSS of the process (server + sim) | {:.0} MiB |", peak_rss_mib());
    });
}
