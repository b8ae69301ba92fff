//! Reads CB-Tumblebug's shipped assets for tests and benches.

#![allow(dead_code)]

use std::collections::HashMap;

use tb_placement::latency::{LatencyMatrix, LatencyModel, fit_to_matrix};

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/tumblebug-assets");

/// The real measured matrix.
pub fn real_matrix() -> LatencyMatrix {
    let text = std::fs::read_to_string(format!("{ASSETS}/cloudlatencymap.csv")).unwrap();
    LatencyMatrix::from_csv(&text).unwrap()
}

/// `{provider}-{region}` → (latitude, longitude) from `cloudinfo.yaml`.
pub fn real_coordinates() -> HashMap<String, (f64, f64)> {
    let text = std::fs::read_to_string(format!("{ASSETS}/cloudinfo.yaml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut out = HashMap::new();
    let clouds = doc["cloud"].as_mapping().unwrap();
    for (provider, cloud) in clouds {
        let provider = provider.as_str().unwrap();
        let Some(regions) = cloud.get("region").and_then(|r| r.as_mapping()) else {
            continue;
        };
        for (region, info) in regions {
            let location = &info["location"];
            let number = |key: &str| match &location[key] {
                serde_norway::Value::Number(n) => n.as_f64().unwrap(),
                serde_norway::Value::String(s) => s.parse().unwrap(),
                other => panic!("{provider}-{region:?}: {key} is {other:?}"),
            };
            let id = format!("{provider}-{}", region.as_str().unwrap());
            out.insert(id.to_lowercase(), (number("latitude"), number("longitude")));
        }
    }
    out
}

/// The real matrix with a model fitted to it and every known coordinate.
pub fn real_model() -> LatencyModel {
    let matrix = real_matrix();
    let coordinates = real_coordinates();
    let distance = fit_to_matrix(&matrix, &coordinates).unwrap();
    LatencyModel::new(matrix, coordinates, distance).unwrap()
}
