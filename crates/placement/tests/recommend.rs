//! Spec recommendation over a small hand-built catalog: every filter metric and operator,
//! every priority, ranks and scores, errors, limits, the options document, and a randomised
//! comparison of the indexed query against a plain scan.

use std::collections::HashMap;

use serde_json::json;
use tb_model::recommend::{RecommendSpecReq, RecommendSpecRequestOptions};
use tb_model::resource::SpecInfo;
use tb_placement::recommend::geo::{Coordinate, centroid, haversine_km};
use tb_placement::recommend::{
    LatencyLookup, MISSING_LATENCY_MS, NoLatency, RecommendError, SpecIndex, options, recommend,
};

// ---------------------------------------------------------------------------------------------
// The catalog

const SEOUL: (f64, f64) = (37.5665, 126.9780);
const TOKYO: (f64, f64) = (35.6762, 139.6503);
const VIRGINIA: (f64, f64) = (38.9072, -77.0369);
const LONDON: (f64, f64) = (51.5074, -0.1278);
const SINGAPORE: (f64, f64) = (1.3521, 103.8198);
const NOWHERE: (f64, f64) = (0.0, 0.0);

/// A spec named `label` (tests compare names), with the id CB-Tumblebug would give it.
fn spec(
    label: &str,
    (provider, region, csp): (&str, &str, &str),
    at: (f64, f64),
    vcpu: u32,
    memory_gib: f64,
    cost_per_hour: f64,
    performance: f64,
) -> SpecInfo {
    SpecInfo {
        id: format!("{provider}+{region}+{csp}").to_lowercase(),
        name: label.into(),
        provider_name: provider.into(),
        region_name: region.into(),
        connection_name: format!("{provider}-{region}"),
        csp_spec_name: csp.into(),
        infra_type: "vm".into(),
        architecture: "x86_64".into(),
        vcpu,
        memory_gib,
        cost_per_hour,
        evaluation_score01: performance,
        region_latitude: at.0,
        region_longitude: at.1,
        ..SpecInfo::default()
    }
}

fn catalog() -> Vec<SpecInfo> {
    let mut specs = vec![
        spec("seoul-small", ("aws", "ap-northeast-2", "t3.small"), SEOUL, 2, 2.0, 0.026, 100.0),
        spec("seoul-large", ("aws", "ap-northeast-2", "t3.large"), SEOUL, 2, 8.0, 0.104, 150.0),
        spec("seoul-arm", ("aws", "ap-northeast-2", "m6g.xlarge"), SEOUL, 4, 16.0, 0.154, 300.0),
        spec("tokyo-std", ("gcp", "asia-northeast1", "e2-standard-4"), TOKYO, 4, 16.0, 0.134, 280.0),
        spec("tokyo-gpu", ("gcp", "asia-northeast1", "a2-highgpu-1g"), TOKYO, 12, 85.0, 3.67, 900.0),
        spec("virginia-small", ("aws", "us-east-1", "t3.small"), VIRGINIA, 2, 2.0, 0.0208, 100.0),
        spec("virginia-gpu", ("aws", "us-east-1", "g4dn.xlarge"), VIRGINIA, 4, 16.0, 0.526, 400.0),
        spec("london-b2s", ("azure", "uksouth", "Standard_B2s"), LONDON, 2, 4.0, 0.0416, -1.0),
        spec("singapore-d4", ("azure", "southeastasia", "Standard_D4s_v5"), SINGAPORE, 4, 16.0, -1.0, 0.0),
        spec("ibm-nowhere", ("ibm", "unknown", "bx2-2x8"), NOWHERE, 2, 8.0, 0.096, 120.0),
    ];
    let by = |specs: &[SpecInfo], label: &str| -> usize { specs.iter().position(|s| s.name == label).unwrap() };
    let i = by(&specs, "seoul-arm");
    specs[i].architecture = "arm64".into();
    specs[i].description = "Graviton2 general purpose".into();
    specs[i].max_total_storage_tib = 64;
    let i = by(&specs, "tokyo-gpu");
    specs[i].accelerator_type = "gpu".into();
    specs[i].accelerator_model = "NVIDIA A100".into();
    specs[i].accelerator_count = 1;
    specs[i].accelerator_memory_gb = 40.0;
    specs[i].net_bw_gbps = 24;
    let i = by(&specs, "virginia-gpu");
    specs[i].accelerator_type = "GPU".into();
    specs[i].accelerator_model = "NVIDIA T4".into();
    specs[i].accelerator_count = 1;
    specs[i].accelerator_memory_gb = 16.0;
    specs[i].disk_size_gb = 125.0;
    specs[i].net_bw_gbps = 25;
    let i = by(&specs, "tokyo-std");
    specs[i].infra_type = "k8s".into();
    let i = by(&specs, "singapore-d4");
    specs[i].os_type = "Windows".into();
    let i = by(&specs, "seoul-small");
    specs[i].evaluation_status = "done".into();
    let i = by(&specs, "seoul-large");
    let s = &mut specs[i];
    for (n, score) in [
        &mut s.evaluation_score02,
        &mut s.evaluation_score03,
        &mut s.evaluation_score04,
        &mut s.evaluation_score05,
        &mut s.evaluation_score06,
        &mut s.evaluation_score07,
        &mut s.evaluation_score08,
        &mut s.evaluation_score09,
        &mut s.evaluation_score10,
    ]
    .into_iter()
    .enumerate()
    {
        *score = (n + 2) as f64;
    }
    specs
}

fn index() -> SpecIndex {
    SpecIndex::new(catalog())
}

/// The catalog in the default (cost) order: cheapest first, unknown price last.
const BY_COST: [&str; 10] = [
    "virginia-small",
    "seoul-small",
    "london-b2s",
    "ibm-nowhere",
    "seoul-large",
    "tokyo-std",
    "seoul-arm",
    "virginia-gpu",
    "tokyo-gpu",
    "singapore-d4",
];

fn req(body: serde_json::Value) -> RecommendSpecReq {
    serde_json::from_value(body).unwrap()
}

fn run(body: serde_json::Value) -> Vec<SpecInfo> {
    recommend(&index(), &req(body), &NoLatency).unwrap()
}

fn names(specs: &[SpecInfo]) -> Vec<&str> {
    specs.iter().map(|s| s.name.as_str()).collect()
}

fn ranks(specs: &[SpecInfo]) -> Vec<u32> {
    specs.iter().map(|s| s.order_in_filtered_result).collect()
}

fn error(body: serde_json::Value) -> String {
    recommend(&index(), &req(body), &NoLatency).unwrap_err().to_string()
}

/// A filter policy: `(metric, [(operator, operand)])`.
type Policy<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// A request with one filter policy per `(metric, [(operator, operand)])`.
fn filtered(policies: &[Policy]) -> serde_json::Value {
    let policy: Vec<_> = policies
        .iter()
        .map(|(metric, conditions)| {
            let condition: Vec<_> = conditions
                .iter()
                .map(|(operator, operand)| json!({"operator": operator, "operand": operand}))
                .collect();
            json!({"metric": metric, "condition": condition})
        })
        .collect();
    json!({"filter": {"policy": policy}})
}

fn check_filter(policies: &[Policy], expected: &[&str]) {
    let got = run(filtered(policies));
    assert_eq!(names(&got), expected, "{policies:?}");
}

// ---------------------------------------------------------------------------------------------
// Filters

#[test]
fn no_filter_and_no_priority_lists_everything_by_cost() {
    let got = run(json!({}));
    assert_eq!(names(&got), BY_COST);
    assert_eq!(ranks(&got), (1..=10).collect::<Vec<u32>>());
}

#[test]
fn numeric_operators() {
    let cases: &[(&[Policy], &[&str])] = &[
        (&[("vCPU", &[(">=", "4")])], &["tokyo-std", "seoul-arm", "virginia-gpu", "tokyo-gpu", "singapore-d4"]),
        (&[("vCPU", &[("<=", "2")])], &["virginia-small", "seoul-small", "london-b2s", "ibm-nowhere", "seoul-large"]),
        (&[("vCPU", &[("==", "12")])], &["tokyo-gpu"]),
        (&[("vCPU", &[(">", "4")])], &["tokyo-gpu"]),
        (&[("vCPU", &[("<", "4")])], &["virginia-small", "seoul-small", "london-b2s", "ibm-nowhere", "seoul-large"]),
        (&[("vCPU", &[(">", "4"), ("<", "12")])], &[]),
        (&[("vCPU", &[(">=", "8"), ("<=", "4")])], &[]),
        (&[("vCPU", &[(" >= ", " 12.0 ")])], &["tokyo-gpu"]),
        (
            &[("memoryGiB", &[(">=", "8"), ("<=", "16")])],
            &["ibm-nowhere", "seoul-large", "tokyo-std", "seoul-arm", "virginia-gpu", "singapore-d4"],
        ),
        (&[("memoryGiB", &[("==", "4")])], &["london-b2s"]),
        // The same metric in two policies: both hold.
        (&[("memoryGiB", &[(">=", "8")]), ("memoryGiB", &[("<", "16")])], &["ibm-nowhere", "seoul-large"]),
    ];
    for (policies, expected) in cases {
        check_filter(policies, expected);
    }
}

#[test]
fn every_numeric_metric_filters() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("diskSizeGB", ">=", "100", &["virginia-gpu"]),
        ("costPerHour", ">", "3", &["tokyo-gpu"]),
        ("acceleratorCount", ">=", "1", &["virginia-gpu", "tokyo-gpu"]),
        ("acceleratorMemoryGB", ">=", "20", &["tokyo-gpu"]),
        ("netBwGbps", ">=", "25", &["virginia-gpu"]),
        ("netBwGbps", "==", "24", &["tokyo-gpu"]),
        ("maxTotalStorageTiB", ">=", "1", &["seoul-arm"]),
        ("evaluationScore01", ">=", "280", &["tokyo-std", "seoul-arm", "virginia-gpu", "tokyo-gpu"]),
    ];
    for (metric, op, operand, expected) in cases {
        check_filter(&[(metric, &[(op, operand)])], expected);
    }
    for n in 2..=10 {
        let metric = format!("evaluationScore{n:02}");
        let operand = n.to_string();
        check_filter(&[(&metric, &[("==", &operand)])], &["seoul-large"]);
    }
}

#[test]
fn a_bound_of_zero_is_a_bound() {
    // CB-Tumblebug read 0 as "unset"; here `<= 0` selects the specs without accelerators.
    check_filter(
        &[("acceleratorCount", &[("<=", "0")])],
        &[
            "virginia-small",
            "seoul-small",
            "london-b2s",
            "ibm-nowhere",
            "seoul-large",
            "tokyo-std",
            "seoul-arm",
            "singapore-d4",
        ],
    );
    check_filter(&[("diskSizeGB", &[("==", "0")]), ("vCPU", &[(">", "4")])], &["tokyo-gpu"]);
}

#[test]
fn unknown_prices_and_scores_satisfy_no_condition() {
    // singapore-d4 costs -1 (unknown): not "at most 0.05".
    check_filter(&[("costPerHour", &[("<=", "0.05")])], &["virginia-small", "seoul-small", "london-b2s"]);
    check_filter(&[("costPerHour", &[("<=", "0")])], &[]);
    // london-b2s scores -1 (unknown); singapore-d4 scores 0, a known value.
    check_filter(&[("evaluationScore01", &[("<=", "100")])], &["virginia-small", "seoul-small", "singapore-d4"]);
}

#[test]
fn string_metrics() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "providerName",
            "",
            "aws,gcp",
            &["virginia-small", "seoul-small", "seoul-large", "tokyo-std", "seoul-arm", "virginia-gpu", "tokyo-gpu"],
        ),
        ("providerName", "==", "AZURE ibm", &["london-b2s", "ibm-nowhere", "singapore-d4"]),
        ("providerName", "==", " gcp , ", &["tokyo-std", "tokyo-gpu"]),
        ("providerName", "", "oracle", &[]),
        ("regionName", "", "us-east-1", &["virginia-small", "virginia-gpu"]),
        ("connectionName", "==", "azure-uksouth", &["london-b2s"]),
        ("cspSpecName", "==", "t3.small", &["virginia-small", "seoul-small"]),
        ("cspSpecName", "==", "standard_b2s", &["london-b2s"]),
        ("architecture", "", "arm64", &["seoul-arm"]),
        ("infraType", "", "k8s", &["tokyo-std"]),
        ("osType", "", "windows", &["singapore-d4"]),
        ("acceleratorType", "", "gpu", &["virginia-gpu", "tokyo-gpu"]),
        ("acceleratorModel", "", "t4", &["virginia-gpu"]),
        ("acceleratorModel", "", "a100, T4", &["virginia-gpu", "tokyo-gpu"]),
        ("acceleratorModel", "==", "nvidia", &["virginia-gpu", "tokyo-gpu"]),
        ("description", "", "graviton", &["seoul-arm"]),
        ("description", "", "general purpose", &["seoul-arm"]),
        ("description", "", "purpose general", &[]),
        ("evaluationStatus", "", "done", &["seoul-small"]),
        ("id", "", "aws+us-east-1+t3.small", &["virginia-small"]),
        ("name", "", "ibm-nowhere", &["ibm-nowhere"]),
    ];
    for (metric, op, operand, expected) in cases {
        check_filter(&[(metric, &[(op, operand)])], expected);
    }
}

#[test]
fn filters_combine_and_metric_names_ignore_case() {
    check_filter(
        &[("PROVIDERNAME", &[("", "aws")]), ("regionname", &[("==", "ap-northeast-2")]), ("vcpu", &[(">=", "2")])],
        &["seoul-small", "seoul-large", "seoul-arm"],
    );
    // Two conditions on one string metric: both hold.
    check_filter(&[("providerName", &[("", "aws,gcp"), ("", "gcp,azure")])], &["tokyo-std", "tokyo-gpu"]);
    // The three-filter shape of the benchmark.
    check_filter(
        &[("vCPU", &[(">=", "2")]), ("memoryGiB", &[("<=", "8")]), ("providerName", &[("", "aws,gcp,azure")])],
        &["virginia-small", "seoul-small", "london-b2s", "seoul-large"],
    );
    // A policy without conditions filters nothing.
    check_filter(&[("vCPU", &[])], &BY_COST);
}

#[test]
fn numeric_operands_may_be_json_numbers() {
    let got = run(json!({"filter": {"policy": [
        {"metric": "vCPU", "condition": [{"operator": ">=", "operand": 12}]}]}}));
    assert_eq!(names(&got), ["tokyo-gpu"]);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn errors_say_what_and_where() {
    let filter_error = |metric: &str, operator: &str, operand: &str| {
        error(filtered(&[("vCPU", &[(">=", "1")]), (metric, &[(operator, operand)])]))
    };
    let unknown = filter_error("cores", ">=", "2");
    assert!(
        unknown.starts_with("filter.policy[1]: invalid metric: cores (expected one of: vCPU, memoryGiB,"),
        "{unknown}"
    );
    assert_eq!(
        filter_error("providerName", ">=", "aws"),
        "filter.policy[1].condition[0]: operator \">=\" does not apply to providerName \
         (use one of: ==, \"\")"
    );
    assert_eq!(
        filter_error("vCPU", "=>", "2"),
        "filter.policy[1].condition[0]: operator \"=>\" does not apply to vCPU \
         (use one of: >=, <=, ==, >, <)"
    );
    assert_eq!(
        filter_error("memoryGiB", "", "2"),
        "filter.policy[1].condition[0]: operator \"\" does not apply to memoryGiB \
         (use one of: >=, <=, ==, >, <)"
    );
    assert_eq!(
        filter_error("memoryGiB", "<=", "lots"),
        "filter.policy[1].condition[0]: operand \"lots\" of memoryGiB is not a number"
    );
    assert_eq!(
        filter_error("costPerHour", "<=", "inf"),
        "filter.policy[1].condition[0]: operand \"inf\" of costPerHour is not a number"
    );
    assert_eq!(filter_error("regionName", "", "  "), "filter.policy[1].condition[0]: operand of regionName is empty");

    let priority_error = |policy: serde_json::Value| error(json!({"priority": {"policy": [policy]}}));
    assert_eq!(
        priority_error(json!({"metric": "speed"})),
        "priority.policy[0]: invalid metric: speed (expected one of: cost, performance, \
         location, latency, random)"
    );
    assert_eq!(
        priority_error(json!({"metric": "cost", "parameter": [{"key": "coordinateClose", "val": ["1/2"]}]})),
        "priority.policy[0].parameter[0]: priority cost takes no parameter (got \"coordinateClose\")"
    );
    assert_eq!(
        priority_error(json!({"metric": "location"})),
        "priority.policy[0]: priority location needs one of: coordinateClose, coordinateFair, \
         coordinateWithin"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [{"key": "coordinateNear", "val": ["1/2"]}]})),
        "priority.policy[0].parameter[0]: unknown parameter \"coordinateNear\" for priority \
         location (expected one of: coordinateClose, coordinateFair, coordinateWithin, radiusKm)"
    );
    assert_eq!(
        priority_error(
            json!({"metric": "location", "parameter": [{"key": "coordinateClose", "val": ["37.5,127.0/3"]}]})
        ),
        "priority.policy[0].parameter[0]: coordinateClose: \"37.5,127.0/3\" is not a point \
         \"latitude/longitude\" (latitude -90..90, longitude -180..180), e.g. 37.5665/126.9780"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [{"key": "coordinateClose", "val": ["95/0"]}]})),
        "priority.policy[0].parameter[0]: coordinateClose: \"95/0\" is not a point \
         \"latitude/longitude\" (latitude -90..90, longitude -180..180), e.g. 37.5665/126.9780"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateClose", "val": ["1/2", "3/4"]}]})),
        "priority.policy[0].parameter[0]: coordinateClose takes one point; use coordinateFair for several"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateClose", "val": ["1/2"]}, {"key": "coordinateFair", "val": ["1/2"]}]})),
        "priority.policy[0].parameter[1]: priority location takes only one of: coordinateClose, \
         coordinateFair, coordinateWithin"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateClose", "val": ["1/2"]}, {"key": "radiusKm", "val": ["10"]}]})),
        "priority.policy[0].parameter[1]: radiusKm applies to coordinateWithin only"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateWithin", "val": ["1/2"]}, {"key": "radiusKm", "val": ["-5"]}]})),
        "priority.policy[0].parameter[1]: radiusKm: \"-5\" is not a positive number of km"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateFair", "val": ["0/0", "0/180"]}]})),
        "priority.policy[0].parameter[0]: the points of coordinateFair cancel out: they have no centroid"
    );
    assert_eq!(
        priority_error(json!({"metric": "location", "parameter": [
            {"key": "coordinateClose", "val": ["1/2"]}, {"key": "COORDINATECLOSE", "val": ["1/2"]}]})),
        "priority.policy[0].parameter[1]: parameter coordinateClose is given twice"
    );
    assert_eq!(
        priority_error(json!({"metric": "latency"})),
        "priority.policy[0]: priority latency needs latencyMinimal with region ids like aws-ap-northeast-2"
    );
    assert_eq!(
        priority_error(json!({"metric": "latency", "parameter": [{"key": "latencyMinimal", "val": [" "]}]})),
        "priority.policy[0].parameter[0]: latencyMinimal needs at least one region id"
    );
    assert_eq!(
        priority_error(json!({"metric": "random", "parameter": [{"key": "seed", "val": ["-1"]}]})),
        "priority.policy[0].parameter[0]: seed: \"-1\" is not an unsigned integer"
    );
    assert_eq!(
        priority_error(json!({"metric": "cost", "weight": "-0.5"})),
        "priority.policy[0]: weight -0.5 must be a finite number >= 0"
    );
    assert_eq!(
        error(json!({"priority": {"policy": [
            {"metric": "cost", "weight": 0}, {"metric": "performance", "weight": "0"}]}})),
        "priority.policy: the weights add up to 0; give at least one priority a positive weight"
    );
    assert!(matches!(
        recommend(
            &index(),
            &req(json!({"priority": {"policy": [{"metric": "random", "parameter": [{"key": "seed", "val": ["x"]}]}]}})),
            &NoLatency
        ),
        Err(RecommendError::BadParameter { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Priorities

fn priority(policies: serde_json::Value) -> serde_json::Value {
    json!({"priority": {"policy": policies}})
}

fn close_to(point: (f64, f64)) -> serde_json::Value {
    json!({"metric": "location", "parameter": [
        {"key": "coordinateClose", "val": [format!("{}/{}", point.0, point.1)]}]})
}

#[test]
fn cost_priority_scores_and_ranks() {
    let got = run(priority(json!([{"metric": "COST"}])));
    assert_eq!(names(&got), BY_COST);
    assert_eq!(ranks(&got), (1..=10).collect::<Vec<u32>>());
    let (low, high) = (0.0208, 3.67);
    let score = |cost: f64| (high - cost) / (high - low + 1e-7);
    assert_eq!(got[0].evaluation_score09, score(0.0208));
    assert_eq!(got[1].evaluation_score09, score(0.026));
    assert!(got[0].evaluation_score09 > 0.999_999 && got[0].evaluation_score09 < 1.0);
    assert_eq!(got[8].evaluation_score09, 0.0);
    // Unknown price: last, score 0.
    assert_eq!(got[9].evaluation_score09, 0.0);
    // No location/latency priority: evaluationScore10 stays as stored.
    let large = got.iter().find(|s| s.name == "seoul-large").unwrap();
    assert_eq!(large.evaluation_score10, 10.0);
}

#[test]
fn performance_priority_puts_unknown_scores_last() {
    let got = run(priority(json!([{"metric": "performance"}])));
    assert_eq!(
        names(&got),
        [
            "tokyo-gpu",
            "virginia-gpu",
            "seoul-arm",
            "tokyo-std",
            "seoul-large",
            "ibm-nowhere",
            "virginia-small",
            "seoul-small",
            "london-b2s",
            "singapore-d4",
        ]
    );
    // Equal scores share a rank; the cost tie-break does not split it.
    assert_eq!(ranks(&got), [1, 2, 3, 4, 5, 6, 7, 7, 8, 8]);
    assert_eq!(got[0].evaluation_score09, 800.0 / (800.0 + 1e-7));
    assert_eq!(got[1].evaluation_score09, 300.0 / (800.0 + 1e-7));
    assert_eq!(got[6].evaluation_score09, 0.0);
    assert_eq!(got[9].evaluation_score09, 0.0);
}

#[test]
fn location_close_ranks_by_distance_then_cost() {
    let got = run(priority(json!([close_to(SEOUL)])));
    assert_eq!(
        names(&got),
        [
            "seoul-small",
            "seoul-large",
            "seoul-arm",
            "tokyo-std",
            "tokyo-gpu",
            "singapore-d4",
            "london-b2s",
            "virginia-small",
            "virginia-gpu",
            "ibm-nowhere",
        ]
    );
    assert_eq!(ranks(&got), [1, 1, 1, 2, 2, 3, 4, 5, 5, 6]);
    let at = |p: (f64, f64)| Coordinate::new(p.0, p.1).unwrap();
    let to_tokyo = haversine_km(at(SEOUL), at(TOKYO));
    let to_virginia = haversine_km(at(SEOUL), at(VIRGINIA));
    assert_eq!(got[0].evaluation_score10, 0.0);
    assert_eq!(got[3].evaluation_score10, to_tokyo);
    assert!((to_tokyo - 1149.357).abs() < 0.01, "{to_tokyo}");
    assert_eq!(got[8].evaluation_score10, to_virginia);
    assert_eq!(got[0].evaluation_score09, to_virginia / (to_virginia + 1e-7));
    assert_eq!(got[3].evaluation_score09, (to_virginia - to_tokyo) / (to_virginia + 1e-7));
    assert_eq!(got[8].evaluation_score09, 0.0);
    // No coordinates: last, raw value -1, and said so.
    let nowhere = &got[9];
    assert_eq!(nowhere.evaluation_score10, -1.0);
    assert_eq!(nowhere.evaluation_score09, 0.0);
    assert_eq!(nowhere.details.len(), 1);
    assert_eq!(nowhere.details[0].key, "locationUnknown");
    assert!(got[0].details.is_empty());
}

#[test]
fn location_fair_uses_the_spherical_centroid() {
    // Seoul and San Francisco: the centroid is in the North Pacific, so Tokyo is nearest
    // (the arithmetic mean of degrees would land near Spain and pick London).
    let fair = json!({"metric": "location", "parameter": [
        {"key": "coordinateFair", "val": ["37.5665/126.9780", "37.7749/-122.4194"]}]});
    let got =
        run(json!({"filter": {"policy": [{"metric": "vCPU", "condition": [{"operator": "<=", "operand": "4"}]}]},
                         "priority": {"policy": [fair]}}));
    assert_eq!(
        names(&got),
        [
            "tokyo-std",
            "seoul-small",
            "seoul-large",
            "seoul-arm",
            "virginia-small",
            "virginia-gpu",
            "london-b2s",
            "singapore-d4",
            "ibm-nowhere",
        ]
    );
    let c =
        centroid(&[Coordinate::new(37.5665, 126.9780).unwrap(), Coordinate::new(37.7749, -122.4194).unwrap()]).unwrap();
    assert!((c.latitude - 53.598).abs() < 0.001 && (c.longitude + 177.837).abs() < 0.001);
    assert_eq!(got[0].evaluation_score10, haversine_km(c, Coordinate::new(TOKYO.0, TOKYO.1).unwrap()));
}

#[test]
fn location_within_bounds_the_farthest_point() {
    let within = |radius: Option<&str>| {
        let mut parameter = vec![json!({"key": "coordinateWithin", "val": ["36/128", "35.6762/139.6503"]})];
        if let Some(r) = radius {
            parameter.push(json!({"key": "radiusKm", "val": [r]}));
        }
        run(priority(json!([{"metric": "location", "parameter": parameter}])))
    };
    // Farthest-point distances: Tokyo 1050 km (to 36/128), Seoul 1149 km (to Tokyo).
    assert_eq!(names(&within(Some("1100"))), ["tokyo-std", "tokyo-gpu"]);
    assert_eq!(names(&within(Some("1200"))), ["tokyo-std", "tokyo-gpu", "seoul-small", "seoul-large", "seoul-arm"]);
    let all = within(None);
    assert_eq!(all.len(), 10);
    assert_eq!(names(&all)[..5], ["tokyo-std", "tokyo-gpu", "seoul-small", "seoul-large", "seoul-arm"]);
    assert!((all[0].evaluation_score10 - 1050.18).abs() < 0.01);
    assert_eq!(all[9].name, "ibm-nowhere");
}

/// Measured RTTs from Seoul and from Virginia; nothing is known about the IBM region.
fn rtt(from: &str, to: &str) -> Option<f64> {
    let table: HashMap<(&str, &str), f64> = [
        (("aws-ap-northeast-2", "aws-ap-northeast-2"), 1.0),
        (("aws-ap-northeast-2", "gcp-asia-northeast1"), 30.0),
        (("aws-ap-northeast-2", "azure-southeastasia"), 70.0),
        (("aws-ap-northeast-2", "aws-us-east-1"), 180.0),
        (("aws-ap-northeast-2", "azure-uksouth"), 250.0),
        (("aws-us-east-1", "aws-ap-northeast-2"), 180.0),
        (("aws-us-east-1", "gcp-asia-northeast1"), 150.0),
        (("aws-us-east-1", "azure-southeastasia"), 230.0),
        (("aws-us-east-1", "aws-us-east-1"), 1.0),
        (("aws-us-east-1", "azure-uksouth"), 75.0),
    ]
    .into_iter()
    .collect();
    table.get(&(from, to)).copied()
}

#[test]
fn latency_sums_rtts_and_reports_missing_pairs() {
    let body = priority(json!([{"metric": "latency", "parameter": [
        {"key": "latencyMinimal", "val": ["AWS-ap-northeast-2", "aws-us-east-1"]}]}]));
    let got = recommend(&index(), &req(body), &rtt).unwrap();
    // Sums: Tokyo 180, Seoul 181, Virginia 181, London 325, Singapore 300.
    assert_eq!(
        names(&got),
        [
            "tokyo-std",
            "tokyo-gpu",
            "virginia-small",
            "seoul-small",
            "seoul-large",
            "seoul-arm",
            "virginia-gpu",
            "singapore-d4",
            "london-b2s",
            "ibm-nowhere",
        ]
    );
    assert_eq!(ranks(&got), [1, 1, 2, 2, 2, 2, 2, 3, 4, 5]);
    assert_eq!(got[0].evaluation_score10, 180.0);
    assert_eq!(got[7].evaluation_score10, 300.0);
    let nowhere = &got[9];
    assert_eq!(nowhere.evaluation_score10, 2.0 * MISSING_LATENCY_MS);
    assert_eq!(nowhere.details.len(), 1);
    assert_eq!(nowhere.details[0].key, "latencyMissing");
    assert_eq!(
        nowhere.details[0].value,
        "no measured latency from aws-ap-northeast-2, aws-us-east-1 to ibm-unknown; \
         counted as 999999 ms each"
    );
    assert!(got[0].details.is_empty());
    let max = 2.0 * MISSING_LATENCY_MS;
    assert_eq!(got[0].evaluation_score09, (max - 180.0) / (max - 180.0 + 1e-7));

    // A lookup that knows nothing ranks every region alike (then by cost).
    let blind = recommend(
        &index(),
        &req(priority(json!([{"metric": "latency", "parameter": [
        {"key": "latencyMinimal", "val": ["aws-ap-northeast-2"]}]}]))),
        &NoLatency,
    )
    .unwrap();
    assert_eq!(names(&blind), BY_COST);
    assert!(blind.iter().all(|s| s.order_in_filtered_result == 1));
}

#[test]
fn random_is_a_seeded_permutation() {
    let seeded =
        |seed: &str| run(priority(json!([{"metric": "random", "parameter": [{"key": "seed", "val": [seed]}]}])));
    let a = seeded("42");
    let mut sorted = names(&a);
    sorted.sort_unstable();
    let mut all = BY_COST.to_vec();
    all.sort_unstable();
    assert_eq!(sorted, all);
    assert_eq!(names(&seeded("42")), names(&a));
    assert_ne!(names(&seeded("43")), names(&a));
    assert_eq!(ranks(&a), (1..=10).collect::<Vec<u32>>());
    // Scored by cost, as CB-Tumblebug does for random results.
    let cheapest = a.iter().find(|s| s.name == "virginia-small").unwrap();
    assert_eq!(cheapest.evaluation_score09, (3.67 - 0.0208) / (3.67 - 0.0208 + 1e-7));
    // Without a seed: still every spec once.
    let unseeded = run(priority(json!([{"metric": "random"}])));
    assert_eq!(unseeded.len(), 10);
}

#[test]
fn several_priorities_sort_lexicographically() {
    let got = run(priority(json!([close_to(SEOUL), {"metric": "performance"}])));
    assert_eq!(
        names(&got),
        [
            "seoul-arm",
            "seoul-large",
            "seoul-small",
            "tokyo-gpu",
            "tokyo-std",
            "singapore-d4",
            "london-b2s",
            "virginia-gpu",
            "virginia-small",
            "ibm-nowhere",
        ]
    );
    assert_eq!(ranks(&got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The first priority gives the scores.
    assert_eq!(got[1].evaluation_score09, got[0].evaluation_score09);
    assert_eq!(got[3].evaluation_score10, got[4].evaluation_score10);

    let got = run(priority(json!([{"metric": "performance"}, close_to(VIRGINIA)])));
    assert_eq!(
        names(&got)[..8],
        [
            "tokyo-gpu",
            "virginia-gpu",
            "seoul-arm",
            "tokyo-std",
            "seoul-large",
            "ibm-nowhere",
            "virginia-small",
            "seoul-small",
        ]
    );
    // Same performance (100): Virginia is closer to Virginia than Seoul, whatever the price.
    assert_eq!(ranks(&got)[6..8], [7, 8]);
    // Unknown performance, then distance to Virginia: London before Singapore.
    assert_eq!(names(&got)[8..], ["london-b2s", "singapore-d4"]);
}

#[test]
fn weights_rank_by_the_weighted_sum_of_normalised_keys() {
    let weighted = |cost: &str, performance: &str| {
        run(priority(json!([
            {"metric": "cost", "weight": cost},
            {"metric": "performance", "weight": performance}])))
    };
    let even = weighted("1", "1");
    assert_eq!(
        names(&even),
        [
            "virginia-gpu",
            "seoul-arm",
            "tokyo-std",
            "seoul-large",
            "ibm-nowhere",
            "virginia-small",
            "tokyo-gpu",
            "seoul-small",
            "london-b2s",
            "singapore-d4",
        ]
    );
    // virginia-small (cheapest, slowest) and tokyo-gpu (dearest, fastest) both sum to 1.
    assert_eq!(ranks(&even), [1, 2, 3, 4, 5, 6, 6, 7, 8, 9]);
    // Score: (max − sum)/(max − min + 1e-7), with max 2 (singapore-d4: both unknown).
    let min = 0.7634413022032226;
    assert!((even[0].evaluation_score09 - (2.0 - min) / (2.0 - min + 1e-7)).abs() < 1e-12);
    assert_eq!(even[9].evaluation_score09, 0.0);

    let cost_heavy = weighted("10", "1");
    assert_eq!(
        names(&cost_heavy),
        [
            "virginia-small",
            "seoul-small",
            "london-b2s",
            "tokyo-std",
            "seoul-arm",
            "seoul-large",
            "ibm-nowhere",
            "virginia-gpu",
            "tokyo-gpu",
            "singapore-d4",
        ]
    );
    let performance_only = weighted("0", "1");
    assert_eq!(
        names(&performance_only),
        [
            "tokyo-gpu",
            "virginia-gpu",
            "seoul-arm",
            "tokyo-std",
            "seoul-large",
            "ibm-nowhere",
            "virginia-small",
            "seoul-small",
            "london-b2s",
            "singapore-d4",
        ]
    );
    // Equal sums; the unknown performance of london-b2s and singapore-d4 ranks them after.
    assert_eq!(ranks(&performance_only)[6..], [7, 7, 8, 8]);

    // One weighted priority orders like the same priority without weight (the v0.11 clients'
    // `"weight": "0.3"`), and a priority without weight weighs 1 next to weighted ones.
    let plain = run(priority(json!([close_to(LONDON)])));
    let with_weight = run(priority(json!([{"metric": "location", "weight": "0.3", "parameter": [
        {"key": "coordinateClose", "val": [format!("{}/{}", LONDON.0, LONDON.1)]}]}])));
    assert_eq!(names(&plain), names(&with_weight));
    assert_eq!(ranks(&plain), ranks(&with_weight));
    let mixed = run(priority(json!([{"metric": "cost", "weight": "1"}, {"metric": "performance"}])));
    assert_eq!(names(&mixed), names(&even));
}

// ---------------------------------------------------------------------------------------------
// Limit and determinism

#[test]
fn limit() {
    let limited = |limit: serde_json::Value| names(&run(json!({"limit": limit}))).len();
    assert_eq!(names(&run(json!({"limit": "3"}))), BY_COST[..3]);
    assert_eq!(names(&run(json!({"limit": 1}))), BY_COST[..1]);
    assert_eq!(limited(json!(0)), 10);
    assert_eq!(limited(json!(-1)), 10);
    assert_eq!(limited(json!("all")), 10);
    assert_eq!(limited(json!(100)), 10);
    assert_eq!(limited(json!(null)), 10);
    // Top-k selection returns exactly the head of the full order, ranks included.
    let full = run(priority(json!([close_to(SEOUL)])));
    for k in 1..=10 {
        let mut body = priority(json!([close_to(SEOUL)]));
        body["limit"] = json!(k);
        let head = run(body);
        assert_eq!(head, full[..k].to_vec(), "limit {k}");
    }
}

#[test]
fn equal_keys_fall_back_to_cost_then_id() {
    // Three specs identical but for their ids: the id decides, whatever the input order.
    let twin = |csp: &str| spec(csp, ("aws", "us-east-1", csp), VIRGINIA, 2, 4.0, 0.05, 10.0);
    let forward = vec![twin("c.large"), twin("a.large"), twin("b.large")];
    let mut backward = forward.clone();
    backward.reverse();
    for specs in [forward, backward] {
        let got = recommend(&SpecIndex::new(specs), &req(json!({})), &NoLatency).unwrap();
        assert_eq!(names(&got), ["a.large", "b.large", "c.large"]);
        assert_eq!(ranks(&got), [1, 1, 1]);
    }
}

#[test]
fn an_empty_catalog_recommends_nothing() {
    let empty = SpecIndex::new(Vec::new());
    let body = req(json!({"filter": {"policy": [{"metric": "providerName", "condition": [{"operand": "aws"}]}]},
                          "priority": {"policy": [close_to(SEOUL)]}}));
    assert!(recommend(&empty, &body, &NoLatency).unwrap().is_empty());
    assert!(recommend(&SpecIndex::default(), &body, &NoLatency).unwrap().is_empty());
    // Errors are still errors without data.
    assert!(recommend(&empty, &req(filtered(&[("nope", &[])])), &NoLatency).is_err());
}

// ---------------------------------------------------------------------------------------------
// Haversine

#[test]
fn haversine_matches_known_city_distances() {
    let at = |lat: f64, lon: f64| Coordinate::new(lat, lon).unwrap();
    let seoul = at(37.5665, 126.9780);
    let cases = [
        // (from, to, published great-circle km)
        (seoul, at(35.6762, 139.6503), 1_160.0),                  // Tokyo
        (at(51.5074, -0.1278), at(48.8566, 2.3522), 344.0),       // London–Paris
        (at(40.7128, -74.0060), at(34.0522, -118.2437), 3_936.0), // New York–Los Angeles
        (at(-33.8688, 151.2093), at(1.3521, 103.8198), 6_300.0),  // Sydney–Singapore
    ];
    for (a, b, km) in cases {
        let d = haversine_km(a, b);
        assert!((d - km).abs() / km < 0.01, "{a:?} {b:?}: {d} vs {km}");
        assert!((d - haversine_km(b, a)).abs() < 1e-9);
    }
    assert_eq!(haversine_km(seoul, seoul), 0.0);
    // Half the circumference between antipodes.
    let half = haversine_km(at(0.0, 0.0), at(0.0, 180.0));
    assert!((half - std::f64::consts::PI * 6371.0).abs() < 1e-6, "{half}");
}

// ---------------------------------------------------------------------------------------------
// Options

#[test]
fn options_describe_everything_the_parser_accepts() {
    let index = index();
    let doc: RecommendSpecRequestOptions = options(&index);
    let filter = &doc.filter;
    assert_eq!(filter.available_metrics.len(), 31);
    assert_eq!(filter.metrics.len(), filter.available_metrics.len());
    assert_eq!(filter.available_values["providerName"], ["aws", "azure", "gcp", "ibm"]);
    assert_eq!(filter.available_values["architecture"], ["arm64", "x86_64"]);
    assert_eq!(filter.available_values["acceleratorType"], ["gpu"]);
    assert!(!filter.available_values.contains_key("cspSpecName"));
    assert_eq!(doc.priority.available_metrics, ["cost", "performance", "location", "latency", "random"]);
    let location: Vec<&str> =
        doc.priority.parameter_options.location_parameters.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(location, ["coordinateClose", "coordinateFair", "coordinateWithin", "radiusKm"]);

    // Every example is accepted, alone and through JSON (the document round-trips).
    let json = serde_json::to_value(&doc).unwrap();
    assert!(json["filter"]["availableMetrics"].is_array());
    assert!(json["priority"]["parameterOptions"]["latencyParameters"].is_array());
    for example in json["filter"]["examplePolicies"].as_array().unwrap() {
        let body = json!({"filter": {"policy": [example]}});
        recommend(&index, &req(body), &NoLatency).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
    for example in json["priority"]["examplePolicies"].as_array().unwrap() {
        let body = json!({"priority": {"policy": [example]}});
        recommend(&index, &req(body), &rtt).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
    for metric in &filter.metrics {
        for operator in &metric.operators {
            let body = filtered(&[(&metric.metric, &[(operator, "1")])]);
            recommend(&index, &req(body), &NoLatency).unwrap_or_else(|e| panic!("{} {operator}: {e}", metric.metric));
        }
    }
    let back: RecommendSpecRequestOptions = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);
}

// ---------------------------------------------------------------------------------------------
// The index against a plain scan

/// A deterministic generator (splitmix64) so that failures reproduce.
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
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn generated_catalog(g: &mut Gen, n: usize) -> Vec<SpecInfo> {
    let places = [
        ("aws", "ap-northeast-2", SEOUL),
        ("aws", "us-east-1", VIRGINIA),
        ("gcp", "asia-northeast1", TOKYO),
        ("azure", "uksouth", LONDON),
        ("azure", "southeastasia", SINGAPORE),
        ("ibm", "unknown", NOWHERE),
    ];
    (0..n)
        .map(|i| {
            let (provider, region, at) = *g.pick(&places);
            let vcpu = *g.pick(&[1, 2, 4, 8, 16]);
            let memory = f64::from(vcpu) * *g.pick(&[0.5, 1.0, 2.0, 4.0]);
            let cost = if g.below(10) == 0 { -1.0 } else { (g.below(500) as f64) / 100.0 };
            let perf = g.below(5) as f64 * 100.0 - 100.0;
            let mut s = spec(&format!("s{i}"), (provider, region, &format!("type{i}")), at, vcpu, memory, cost, perf);
            s.architecture = g.pick(&["x86_64", "arm64"]).to_string();
            s
        })
        .collect()
}

/// What the filters mean, checked spec by spec.
fn admits(s: &SpecInfo, metric: &str, op: &str, operand: &str) -> bool {
    let number = |v: f64, unknown_below_zero: bool| {
        let x: f64 = operand.parse().unwrap();
        if unknown_below_zero && v < 0.0 {
            return false;
        }
        match op {
            ">=" => v >= x,
            "<=" => v <= x,
            "==" => v == x,
            ">" => v > x,
            "<" => v < x,
            _ => unreachable!(),
        }
    };
    let text = |v: &str| operand.split(',').any(|o| o.eq_ignore_ascii_case(v));
    match metric {
        "vCPU" => number(f64::from(s.vcpu), false),
        "memoryGiB" => number(s.memory_gib, false),
        "costPerHour" => number(s.cost_per_hour, true),
        "evaluationScore01" => number(s.evaluation_score01, true),
        "providerName" => text(&s.provider_name),
        "architecture" => text(&s.architecture),
        _ => unreachable!(),
    }
}

#[test]
fn indexed_queries_match_a_plain_scan() {
    let mut g = Gen(7);
    let specs = generated_catalog(&mut g, 3000);
    let index = SpecIndex::new(specs.clone());
    let numeric = ["vCPU", "memoryGiB", "costPerHour", "evaluationScore01"];
    let operands = ["-1", "0", "1", "2", "3.5", "4", "8", "16", "100", "200"];
    let operators = [">=", "<=", "==", ">", "<"];
    let provider_lists = ["aws", "gcp,azure", "ibm,aws", "oracle"];
    let origins = [SEOUL, LONDON, (-12.0, -77.0)];
    for round in 0..300 {
        let mut conditions: Vec<(&str, &str, String)> = Vec::new();
        for _ in 0..g.below(4) {
            match g.below(3) {
                0 | 1 => conditions.push((*g.pick(&numeric), *g.pick(&operators), g.pick(&operands).to_string())),
                _ if g.below(2) == 0 => conditions.push(("providerName", "", g.pick(&provider_lists).to_string())),
                _ => conditions.push(("architecture", "==", g.pick(&["arm64", "x86_64"]).to_string())),
            }
        }
        let origin = *g.pick(&origins);
        let by_location = g.below(2) == 0;
        let limit = g.below(15);
        let policy: Vec<_> = conditions
            .iter()
            .map(|(m, o, v)| json!({"metric": m, "condition": [{"operator": o, "operand": v}]}))
            .collect();
        let priorities = if by_location {
            json!([close_to(origin), {"metric": "performance"}])
        } else {
            json!([{"metric": "performance"}])
        };
        let body = json!({"filter": {"policy": policy}, "priority": {"policy": priorities}, "limit": limit});
        let got = recommend(&index, &req(body), &NoLatency).unwrap();

        let target = Coordinate::new(origin.0, origin.1).unwrap();
        let key = |s: &SpecInfo| {
            let distance = if s.region_latitude == 0.0 && s.region_longitude == 0.0 {
                f64::INFINITY
            } else {
                haversine_km(target, Coordinate::new(s.region_latitude, s.region_longitude).unwrap())
            };
            let perf = if s.evaluation_score01 > 0.0 { -s.evaluation_score01 } else { f64::INFINITY };
            let cost = if s.cost_per_hour >= 0.0 { s.cost_per_hour } else { f64::INFINITY };
            (if by_location { distance } else { 0.0 }, perf, cost)
        };
        let mut expected: Vec<&SpecInfo> =
            specs.iter().filter(|s| conditions.iter().all(|(m, o, v)| admits(s, m, o, v))).collect();
        expected.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.total_cmp(&kb.2)).then(a.id.cmp(&b.id))
        });
        if limit > 0 {
            expected.truncate(limit);
        }
        let expected_ids: Vec<&str> = expected.iter().map(|s| s.id.as_str()).collect();
        let got_ids: Vec<&str> = got.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(got_ids, expected_ids, "round {round}: {conditions:?} limit {limit}");
        // Dense ranks over (distance, performance).
        let ranked_by = |s: &SpecInfo| (key(s).0, key(s).1);
        let mut rank = 0;
        for (i, s) in expected.iter().enumerate() {
            if i == 0 || ranked_by(expected[i - 1]) != ranked_by(s) {
                rank += 1;
            }
            assert_eq!(got[i].order_in_filtered_result, rank, "round {round}, position {i}");
        }
    }
}

#[test]
fn latency_lookup_can_be_any_type() {
    struct Flat;
    impl LatencyLookup for Flat {
        fn rtt_ms(&self, _: &str, to: &str) -> Option<f64> {
            (to == "gcp-asia-northeast1").then_some(5.0)
        }
    }
    let body = priority(json!([{"metric": "latency", "parameter": [{"key": "latencyMinimal", "val": ["x-y"]}]}]));
    let got = recommend(&index(), &req(body), &Flat).unwrap();
    assert_eq!(names(&got)[..2], ["tokyo-std", "tokyo-gpu"]);
    assert_eq!(got[0].evaluation_score10, 5.0);
}

#[test]
fn the_index_can_be_shared_between_request_threads() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let index = std::sync::Arc::new(index());
    shareable(&index);
    let copy = std::sync::Arc::clone(&index);
    let got = std::thread::spawn(move || run_on(&copy)).join().unwrap();
    assert_eq!(got, BY_COST);
}

fn run_on(index: &SpecIndex) -> Vec<String> {
    recommend(index, &req(json!({})), &NoLatency).unwrap().into_iter().map(|s| s.name).collect()
}
