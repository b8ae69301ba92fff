//! Listing the full catalog's specs through the API (router in-process, no network):
//! `cargo bench -p tb-server --bench api`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tb_cloud::sim::{SimCloud, SimConfig, SimDriver};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let router = rt.block_on(async {
        let store: Arc<dyn tb_store::Store> =
            Arc::new(tb_store::RedbStore::open(dir.path().join("tb.redb")).expect("store"));
        let catalog = tb_catalog::Catalog::builtin();
        let config = SimConfig { time_factor: 0.0, ..SimConfig::default() };
        let cloud = Arc::new(SimCloud::new(Arc::new(catalog.clone()), config).expect("sim"));
        let clouds = Arc::new(tb_core::Clouds::new("sim"));
        clouds.add_driver("sim", Arc::new(SimDriver::new(cloud.clone())));
        let view = Arc::new(tb_core::CatalogView::new(catalog));
        let tb = tb_core::Tumblebug::new(store, view, clouds).await.expect("app");
        let state = tb_server::AppState { tb, sim: Some(cloud), assets_dir: None };
        tb_server::router(state, tb_server::AuthConfig::default())
    });
    let call = |uri: &'static str| {
        let router = router.clone();
        async move {
            let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
            let resp = router.oneshot(req).await.expect("response");
            assert!(resp.status().is_success());
            resp.into_body().collect().await.expect("body").to_bytes().len()
        }
    };
    let bytes = rt.block_on(call("/tumblebug/ns/system/resources/spec"));
    let ids = rt.block_on(call("/tumblebug/ns/system/resources/spec?option=id"));
    eprintln!("full spec list: {bytes} bytes; id list: {ids} bytes");

    let mut g = c.benchmark_group("api");
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(5));
    g.bench_function("list_all_specs", |b| b.iter(|| rt.block_on(call("/tumblebug/ns/system/resources/spec"))));
    g.bench_function("list_spec_ids", |b| {
        b.iter(|| rt.block_on(call("/tumblebug/ns/system/resources/spec?option=id")))
    });
    g.bench_function("get_one_spec", |b| {
        b.iter(|| rt.block_on(call("/tumblebug/ns/system/resources/spec/aws+ap-northeast-2+t3.small")))
    });
    g.bench_function("filter_specs_by_provider", |b| {
        b.iter(|| rt.block_on(call("/tumblebug/ns/system/resources/spec?filterKey=providerName&filterVal=ncp")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
