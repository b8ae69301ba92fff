//! Exact group placement over the real latency matrix: 10 VMs under a 40 ms bound.
//!
//! `cargo bench -p tb-placement --bench group`. Two region sets: the 110 measured regions of
//! `cloudlatencymap.csv`, and every region known at all (measured ∪ `cloudinfo.yaml`, pairs
//! without a measurement estimated from distance). Two group shapes: subgroups of 4/3/2/1 VMs
//! and 10 single-VM subgroups, with prices from `diverse_subgroups` (per-provider base ×
//! regional factor × per-family provider multiplier, families offered in 35–80 % of regions),
//! and the same with one uniform price.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tb_placement::group::{GroupRequest, Objective, place};

#[path = "../tests/group_support/mod.rs"]
mod group_support;
#[path = "../tests/latency_support/mod.rs"]
mod latency_support;

fn bench_group(c: &mut Criterion) {
    let model = latency_support::real_model();
    let measured: Vec<String> = model.matrix().regions().map(str::to_owned).collect();
    let mut known = measured.clone();
    for region in latency_support::real_coordinates().into_keys() {
        if !known.contains(&region) {
            known.push(region);
        }
    }
    known.sort();

    let mut group = c.benchmark_group("group");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    let shapes: [(&str, &[u32]); 2] = [("4-3-2-1", &[4, 3, 2, 1]), ("10x1", &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1])];
    // "uniform": one price everywhere, so every placement ties on cost and the RTT tie-break
    // decides (the case the two-pass cost search exists for).
    let prices = ["catalog", "uniform"];
    let cases = [("measured", &measured), ("all", &known)]
        .into_iter()
        .flat_map(|regions| shapes.map(|shape| (regions, shape)))
        .flat_map(|case| prices.map(|price| (case, price)));
    for (((regions_label, regions), (shape, sizes)), price) in cases {
        let mut subgroups = group_support::diverse_subgroups(&model, regions, sizes);
        if price == "uniform" {
            for candidate in subgroups.iter_mut().flat_map(|s| &mut s.candidates) {
                candidate.cost_per_vm = 0.1;
            }
        }
        for objective in [Objective::Cost, Objective::WorstRtt] {
            if price == "uniform" && objective == Objective::WorstRtt {
                continue;
            }
            {
                let request =
                    GroupRequest { subgroups: subgroups.clone(), max_rtt_ms: Some(40.0), near: None, objective };
                let name = format!("{shape}/{objective:?}/{price}/{}-regions", regions.len());
                match place(&request, &model) {
                    Ok(p) => eprintln!(
                        "{name} ({regions_label}): cost {:.4}, worst {:?} ms, {} nodes, regions {:?}",
                        p.total_cost,
                        p.worst_rtt.and_then(|l| l.ms),
                        p.nodes,
                        p.choices.iter().map(|c| c.region.as_str()).collect::<Vec<_>>()
                    ),
                    Err(e) => eprintln!("{name} ({regions_label}): {e}"),
                }
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| place(black_box(&request), black_box(&model)))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_group);
criterion_main!(benches);
