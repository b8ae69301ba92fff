//! Top-10 recommendation over a 90,000-spec catalog: `tb_placement::recommend` against the
//! same filter and order as an SQL query in SQLite (CB-Tumblebug v0.11.9+ runs it in its RDB).
//!
//! Query: vCPU >= 2, memoryGiB <= 16, providerName in aws,gcp,azure, ordered by distance to a
//! point (coordinateClose), then cost (unknown last), then id. The setup asserts that both
//! return the same ids, prints the medians and their ratio, then lets criterion measure both.
//!
//! SQLite gets every advantage: an in-memory database, the indexes CB-Tumblebug creates
//! (reference §9.1) plus `ANALYZE`, a statement prepared once, and the law-of-cosines distance
//! of §4.3 registered as one deterministic SQL function (SQLite's bundled build has no math
//! functions, and one call per row is cheaper than five).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, params};
use serde::Deserialize;
use tb_model::recommend::RecommendSpecReq;
use tb_model::resource::SpecInfo;
use tb_placement::recommend::{NoLatency, SpecIndex, recommend};

const CATALOG_SIZE: usize = 90_000;
/// Idaho, the example point of CB-Tumblebug's request template.
const TARGET: (f64, f64) = (44.146838, -116.411403);
const CLOUDINFO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/tumblebug-assets/cloudinfo.yaml");

// ---------------------------------------------------------------------------------------------
// The catalog

#[derive(Deserialize)]
struct CloudInfo {
    cloud: BTreeMap<String, Csp>,
}

#[derive(Deserialize)]
struct Csp {
    #[serde(default)]
    region: BTreeMap<String, RegionInfo>,
}

#[derive(Deserialize)]
struct RegionInfo {
    location: Location,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

/// Every (provider, region, latitude, longitude) of CB-Tumblebug's `cloudinfo.yaml`.
fn regions() -> Vec<(String, String, f64, f64)> {
    let text = std::fs::read_to_string(CLOUDINFO).expect("cloudinfo.yaml");
    let info: CloudInfo = serde_norway::from_str(&text).expect("cloudinfo.yaml parses");
    info.cloud
        .into_iter()
        .flat_map(|(csp, c)| {
            c.region.into_iter().map(move |(id, r)| (csp.clone(), id, r.location.latitude, r.location.longitude))
        })
        .collect()
}

/// splitmix64: a fixed catalog on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Realistic shapes: instance families with memory/vCPU ratios of 0.5–8 GiB, sizes from 1 to
/// 96 vCPUs (small ones most common), prices from a per-provider rate with a regional
/// factor, some ARM, some GPUs, 2% unknown prices, 10% unmeasured performance.
fn catalog(n: usize) -> Vec<SpecInfo> {
    let regions = regions();
    let mut g = Gen(2024);
    let families: [(&str, f64); 5] = [("c", 2.0), ("m", 4.0), ("r", 8.0), ("t", 2.0), ("n", 1.0)];
    let sizes = [1u32, 2, 2, 4, 4, 4, 8, 8, 16, 32, 48, 64, 96];
    let gpus = ["NVIDIA T4", "NVIDIA A10G", "NVIDIA L4", "NVIDIA A100", "NVIDIA H100"];
    let per_region = n.div_ceil(regions.len());
    let mut specs = Vec::with_capacity(n);
    for (provider, region, lat, lon) in &regions {
        let rate = match provider.as_str() {
            "aws" => 1.0,
            "gcp" => 0.95,
            "azure" => 1.02,
            "alibaba" | "tencent" => 0.8,
            _ => 0.9,
        };
        let regional = 0.9 + 0.5 * g.unit();
        for j in 0..per_region {
            if specs.len() == n {
                break;
            }
            let (family, ratio) = g.pick(&families);
            let vcpu = g.pick(&sizes);
            let memory = (f64::from(vcpu) * ratio * if vcpu == 1 { 0.5 } else { 1.0 }).max(0.5);
            let arm = g.below(5) == 0;
            let generation = 5 + g.below(3);
            let gpu = (g.below(20) == 0).then(|| (g.pick(&gpus), g.pick(&[1u32, 2, 4, 8])));
            let mut cost = rate * regional * (0.0115 * f64::from(vcpu) + 0.005 * memory);
            if arm {
                cost *= 0.8;
            }
            if let Some((_, count)) = gpu {
                cost += 0.5 * f64::from(count);
            }
            let cost = if g.below(50) == 0 { -1.0 } else { (cost * 10_000.0).round() / 10_000.0 };
            let name = format!("{family}{generation}{}.{vcpu}x{}-{j}", if arm { "g" } else { "" }, memory as u32);
            let mut spec = SpecInfo {
                id: format!("{provider}+{region}+{name}"),
                name: format!("{provider}+{region}+{name}"),
                namespace: "system".into(),
                connection_name: format!("{provider}-{region}"),
                provider_name: provider.clone(),
                region_name: region.clone(),
                csp_spec_name: name,
                infra_type: "vm".into(),
                architecture: if arm { "arm64" } else { "x86_64" }.into(),
                vcpu,
                memory_gib: memory,
                disk_size_gb: if g.below(4) == 0 { 100.0 } else { 0.0 },
                net_bw_gbps: (vcpu / 4).max(1),
                cost_per_hour: cost,
                evaluation_score01: if g.below(10) == 0 {
                    -1.0
                } else {
                    (f64::from(vcpu) * 100.0 * (0.8 + 0.4 * g.unit())).round()
                },
                region_latitude: *lat,
                region_longitude: *lon,
                description: format!("{family}-family generation {generation}"),
                root_disk_type: "default".into(),
                root_disk_size: "default".into(),
                ..SpecInfo::default()
            };
            if let Some((model, count)) = gpu {
                spec.accelerator_type = "gpu".into();
                spec.accelerator_model = model.into();
                spec.accelerator_count = count;
                spec.accelerator_memory_gb = 24.0;
            }
            specs.push(spec);
        }
    }
    specs
}

// ---------------------------------------------------------------------------------------------
// The two implementations

fn request(limit: usize) -> RecommendSpecReq {
    serde_json::from_value(serde_json::json!({
        "filter": {"policy": [
            {"metric": "vCPU", "condition": [{"operator": ">=", "operand": "2"}]},
            {"metric": "memoryGiB", "condition": [{"operator": "<=", "operand": "16"}]},
            {"metric": "providerName", "condition": [{"operand": "aws,gcp,azure"}]}]},
        "priority": {"policy": [{"metric": "location", "parameter": [
            {"key": "coordinateClose", "val": [format!("{}/{}", TARGET.0, TARGET.1)]}]}]},
        "limit": limit.to_string()
    }))
    .expect("request")
}

fn ours(index: &SpecIndex, req: &RecommendSpecReq) -> Vec<String> {
    recommend(index, req, &NoLatency).expect("recommend").into_iter().map(|s| s.id).collect()
}

/// The columns of CB-Tumblebug's `spec_infos` table that a spec row carries.
const SCHEMA: &str = "
CREATE TABLE spec_infos (
    namespace TEXT NOT NULL, id TEXT NOT NULL, uid TEXT, name TEXT, connection_name TEXT,
    provider_name TEXT, region_name TEXT, csp_spec_name TEXT, infra_type TEXT, os_type TEXT,
    v_cpu INTEGER, memory_gi_b REAL, disk_size_gb REAL, max_total_storage_ti_b INTEGER,
    net_bw_gbps INTEGER, accelerator_model TEXT, accelerator_count INTEGER,
    accelerator_memory_gb REAL, accelerator_type TEXT, cost_per_hour REAL, description TEXT,
    order_in_filtered_result INTEGER, evaluation_status TEXT, evaluation_score01 REAL,
    evaluation_score09 REAL, evaluation_score10 REAL, root_disk_type TEXT, root_disk_size TEXT,
    architecture TEXT, region_latitude REAL, region_longitude REAL, system_label TEXT,
    PRIMARY KEY (id, namespace));
CREATE INDEX idx_spec_infos_namespace ON spec_infos (namespace);
CREATE INDEX idx_spec_infos_v_cpu ON spec_infos (v_cpu);
CREATE INDEX idx_spec_infos_memory_gi_b ON spec_infos (memory_gi_b);
CREATE INDEX idx_spec_infos_csp_spec_name ON spec_infos (csp_spec_name);
CREATE INDEX idx_spec_infos_cost_per_hour ON spec_infos (cost_per_hour);
CREATE INDEX idx_spec_infos_composite
    ON spec_infos (namespace, architecture, v_cpu, memory_gi_b, cost_per_hour);
";

/// Same filter, same order: unknown coordinates last, distance, cost (unknown last), id.
const QUERY: &str = "
SELECT id FROM spec_infos
WHERE namespace = 'system' AND v_cpu >= ?3 AND memory_gi_b <= ?4
  AND provider_name IN ('aws', 'gcp', 'azure')
ORDER BY (region_latitude = 0 AND region_longitude = 0),
         distance_km(?1, ?2, region_latitude, region_longitude),
         CASE WHEN cost_per_hour >= 0 THEN cost_per_hour ELSE 1e308 END,
         id
LIMIT ?5";

/// §4.3 v0.11.9+: `6371·acos(cos φ·cos φr·cos(λr−λ) + sin φ·sin φr)`.
fn law_of_cosines_km(lat: f64, lon: f64, region_lat: f64, region_lon: f64) -> f64 {
    let (p, pr) = (lat.to_radians(), region_lat.to_radians());
    let cosine = p.cos() * pr.cos() * (region_lon.to_radians() - lon.to_radians()).cos() + p.sin() * pr.sin();
    6371.0 * cosine.clamp(-1.0, 1.0).acos()
}

fn sqlite(specs: &[SpecInfo]) -> Connection {
    let db = Connection::open_in_memory().expect("sqlite");
    db.create_scalar_function(
        "distance_km",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(law_of_cosines_km(ctx.get(0)?, ctx.get(1)?, ctx.get(2)?, ctx.get(3)?)),
    )
    .expect("register distance_km");
    db.execute_batch(SCHEMA).expect("schema");
    db.execute_batch("BEGIN").expect("begin");
    {
        let mut insert = db
            .prepare(
                "INSERT INTO spec_infos VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                 ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28,
                 ?29, ?30, ?31, ?32)",
            )
            .expect("insert");
        for s in specs {
            insert
                .execute(params![
                    s.namespace,
                    s.id,
                    s.uid,
                    s.name,
                    s.connection_name,
                    s.provider_name,
                    s.region_name,
                    s.csp_spec_name,
                    s.infra_type,
                    s.os_type,
                    s.vcpu,
                    s.memory_gib,
                    s.disk_size_gb,
                    s.max_total_storage_tib,
                    s.net_bw_gbps,
                    s.accelerator_model,
                    s.accelerator_count,
                    s.accelerator_memory_gb,
                    s.accelerator_type,
                    s.cost_per_hour,
                    s.description,
                    s.order_in_filtered_result,
                    s.evaluation_status,
                    s.evaluation_score01,
                    s.evaluation_score09,
                    s.evaluation_score10,
                    s.root_disk_type,
                    s.root_disk_size,
                    s.architecture,
                    s.region_latitude,
                    s.region_longitude,
                    s.system_label,
                ])
                .expect("row");
        }
    }
    db.execute_batch("COMMIT; ANALYZE;").expect("commit");
    db
}

fn theirs(statement: &mut rusqlite::Statement<'_>, limit: usize) -> Vec<String> {
    statement
        .query_map(params![TARGET.0, TARGET.1, 2, 16.0, limit as i64], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

// ---------------------------------------------------------------------------------------------

fn top10(c: &mut Criterion) {
    let started = Instant::now();
    let specs = catalog(CATALOG_SIZE);
    assert_eq!(specs.len(), CATALOG_SIZE);
    let generated = started.elapsed();
    let started = Instant::now();
    let index = SpecIndex::new(specs.clone());
    let indexed = started.elapsed();
    let db = sqlite(&specs);
    let mut statement = db.prepare(QUERY).expect("prepare");

    let req = request(10);
    let ours_top = ours(&index, &req);
    let theirs_top = theirs(&mut statement, 10);
    assert_eq!(ours_top.len(), 10);
    assert_eq!(ours_top, theirs_top, "tb-placement and SQLite disagree on the top 10");
    // A longer head crosses several regions: the orders agree there too.
    assert_eq!(ours(&index, &request(500)), theirs(&mut statement, 500));
    let candidates = ours(&index, &request(0)).len();

    let ours_ms = median_ms(201, || {
        black_box(ours(&index, &req));
    });
    let sqlite_ms = median_ms(21, || {
        black_box(theirs(&mut statement, 10));
    });
    let ratio = sqlite_ms / ours_ms;
    println!(
        "recommend top-10 of {CATALOG_SIZE} specs ({candidates} pass the filters; catalog \
         generated in {generated:.0?}, indexed in {indexed:.0?})"
    );
    println!("  tb-placement median {ours_ms:.3} ms");
    println!("  sqlite       median {sqlite_ms:.3} ms");
    println!(
        "  ratio {ratio:.1}x  bar (ours <= 2 ms and >= 20x): {}",
        if ours_ms <= 2.0 && ratio >= 20.0 { "met" } else { "MISSED" }
    );
    println!("  top-10: {}", ours_top.join(", "));

    let mut group = c.benchmark_group("recommend_top10_90k");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.bench_function("tb-placement", |b| b.iter(|| ours(&index, black_box(&req))));
    group.bench_function("sqlite", |b| b.iter(|| theirs(&mut statement, black_box(10))));
    group.finish();
}

criterion_group!(benches, top10);
criterion_main!(benches);
