//! Realistic group placement instances over the real matrix, for tests and the benchmark.

#![allow(dead_code)]

use tb_placement::group::{Candidate, Subgroup};
use tb_placement::latency::LatencyModel;

/// A provider's list price for a 1× VM (USD/hour), roughly as public catalogs show.
fn base_price(region: &str) -> f64 {
    match region.split('-').next().unwrap_or("") {
        "aws" => 0.096,
        "azure" => 0.099,
        "gcp" => 0.094,
        "alibaba" => 0.082,
        "tencent" => 0.079,
        "ibm" => 0.105,
        _ => 0.1,
    }
}

/// Regional price factor by continent (North America cheapest, South America dearest), from
/// the region's coordinates; 1.3 when unknown.
fn regional_factor(model: &LatencyModel, region: &str) -> f64 {
    match model.coordinates(region) {
        Some((lat, lon)) if lon < -30.0 && lat > 15.0 => 1.0,
        Some((lat, lon)) if lon < -30.0 && lat <= 15.0 => 1.45,
        Some((lat, lon)) if (-30.0..45.0).contains(&lon) && lat > 35.0 => 1.12,
        Some(_) => 1.22,
        None => 1.3,
    }
}

/// Per-provider base price × regional factor × size, rounded to four decimals like catalogs.
pub fn realistic_cost(model: &LatencyModel, region: &str, size: f64) -> f64 {
    let price = base_price(region) * regional_factor(model, region) * size;
    (price * 10_000.0).round() / 10_000.0
}

/// One candidate of `spec` in every region of the measured matrix.
pub fn everywhere(model: &LatencyModel, size: f64, spec: &str) -> Vec<Candidate> {
    model
        .matrix()
        .regions()
        .map(|region| Candidate {
            region: region.to_owned(),
            spec_id: spec.to_owned(),
            cost_per_vm: realistic_cost(model, region, size),
        })
        .collect()
}

/// Spec families with per-provider price multipliers: providers are not uniformly cheap.
const FAMILIES: [(&str, [(&str, f64); 6]); 4] = [
    ("general", [("aws", 1.0), ("azure", 1.0), ("gcp", 1.0), ("alibaba", 1.0), ("tencent", 1.0), ("ibm", 1.0)]),
    ("compute", [("aws", 0.92), ("azure", 1.05), ("gcp", 0.88), ("alibaba", 1.1), ("tencent", 1.15), ("ibm", 1.0)]),
    ("memory", [("aws", 1.05), ("azure", 0.9), ("gcp", 1.1), ("alibaba", 1.0), ("tencent", 1.2), ("ibm", 0.95)]),
    ("gpu", [("aws", 1.0), ("azure", 0.97), ("gcp", 0.93), ("alibaba", 1.2), ("tencent", 1.3), ("ibm", 1.1)]),
];

/// A stable pseudo-random number in `0..100` for a subgroup and region.
fn stable_percent(subgroup: usize, region: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ subgroup as u64;
    for byte in region.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash % 100
}

/// Subgroups of the given sizes over `regions`, cycling through spec families: each family is
/// offered in 80 % of regions (GPUs in 35 %), priced base × regional factor × family size ×
/// the family's per-provider multiplier, with ±5 % regional noise.
pub fn diverse_subgroups(model: &LatencyModel, regions: &[String], sizes: &[u32]) -> Vec<Subgroup> {
    sizes
        .iter()
        .enumerate()
        .map(|(g, &vm_count)| {
            let (family, multipliers) = FAMILIES[g % FAMILIES.len()];
            let (offered, size) = if family == "gpu" { (35, 8.0) } else { (80, 1.0 + (g % 3) as f64) };
            let candidates = regions
                .iter()
                .filter(|region| stable_percent(g, region) < offered)
                .map(|region| {
                    let provider = region.split('-').next().unwrap_or("");
                    let multiplier = multipliers.iter().find(|(p, _)| *p == provider).map_or(1.0, |(_, m)| *m);
                    let noise = 0.95 + stable_percent(g + 1000, region) as f64 / 1000.0;
                    let price = realistic_cost(model, region, size) * multiplier * noise;
                    Candidate {
                        region: region.clone(),
                        spec_id: format!("{family}-{size}x"),
                        cost_per_vm: (price * 10_000.0).round() / 10_000.0,
                    }
                })
                .collect();
            Subgroup { name: format!("g{g}-{family}"), vm_count, candidates }
        })
        .collect()
}
