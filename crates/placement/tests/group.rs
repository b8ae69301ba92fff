//! Exact group placement: agreement with brute force, explanations, real-matrix cases.

mod group_support;
mod latency_support;

use std::collections::HashMap;

use group_support::{diverse_subgroups, everywhere};

use tb_placement::group::{Candidate, GroupError, GroupRequest, Near, Objective, Placement, Subgroup, place};
use tb_placement::latency::{DistanceModel, LatencyMatrix, LatencyModel, RttSource, haversine_km};

/// Deterministic generator for test instances (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn candidate(region: &str, spec: &str, cost: f64) -> Candidate {
    Candidate { region: region.to_owned(), spec_id: spec.to_owned(), cost_per_vm: cost }
}

fn subgroup(name: &str, vm_count: u32, candidates: Vec<Candidate>) -> Subgroup {
    Subgroup { name: name.to_owned(), vm_count, candidates }
}

fn request(subgroups: Vec<Subgroup>, max_rtt_ms: Option<f64>) -> GroupRequest {
    GroupRequest { subgroups, max_rtt_ms, near: None, objective: Objective::Cost }
}

/// A model over a hand-written matrix, no coordinates.
fn matrix_model(csv: &str) -> LatencyModel {
    let matrix = LatencyMatrix::from_csv(csv).unwrap();
    LatencyModel::new(matrix, HashMap::new(), DistanceModel::REFERENCE).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Brute force: every combination of (unfiltered, undominated) candidates, scored independently.

#[derive(Debug, Clone, PartialEq)]
struct Brute {
    ids: Vec<(String, String)>,
    cost_milli: u64,
    worst: f64,
}

fn pair_rtt(model: &LatencyModel, a: &str, b: &str) -> f64 {
    let there = model.rtt_ms(a, b).map_or(f64::INFINITY, |r| r.ms);
    let back = model.rtt_ms(b, a).map_or(f64::INFINITY, |r| r.ms);
    there.max(back)
}

/// The optimum by enumeration; `milli[s][c]` is candidate c's cost in thousandths.
fn brute_force(request: &GroupRequest, model: &LatencyModel, milli: &[Vec<u64>], bounded: bool) -> Option<Brute> {
    let allowed: Vec<Vec<usize>> = request
        .subgroups
        .iter()
        .map(|sg| {
            (0..sg.candidates.len())
                .filter(|&c| match request.near {
                    None => true,
                    Some(near) => model
                        .coordinates(&sg.candidates[c].region)
                        .is_some_and(|p| haversine_km((near.latitude, near.longitude), p) <= near.max_distance_km),
                })
                .collect()
        })
        .collect();
    if allowed.iter().any(Vec::is_empty) {
        return None;
    }
    let mut best: Option<Brute> = None;
    let mut index = vec![0usize; allowed.len()];
    loop {
        let chosen: Vec<&Candidate> =
            index.iter().enumerate().map(|(s, &i)| &request.subgroups[s].candidates[allowed[s][i]]).collect();
        let mut worst: f64 = 0.0;
        for (a, ca) in chosen.iter().enumerate() {
            if request.subgroups[a].vm_count >= 2 {
                worst = worst.max(pair_rtt(model, &ca.region, &ca.region));
            }
            for cb in chosen.iter().skip(a + 1) {
                worst = worst.max(pair_rtt(model, &ca.region, &cb.region));
            }
        }
        let feasible = !bounded || request.max_rtt_ms.is_none_or(|b| worst <= b);
        if feasible {
            let cost_milli = index
                .iter()
                .enumerate()
                .map(|(s, &i)| u64::from(request.subgroups[s].vm_count) * milli[s][allowed[s][i]])
                .sum();
            let ids = chosen.iter().map(|c| (c.region.to_lowercase(), c.spec_id.clone())).collect();
            let objective = if bounded { request.objective } else { Objective::WorstRtt };
            let candidate = Brute { ids, cost_milli, worst };
            let better = best.as_ref().is_none_or(|b| {
                let keys = match objective {
                    Objective::Cost => {
                        candidate.cost_milli.cmp(&b.cost_milli).then(candidate.worst.total_cmp(&b.worst))
                    }
                    Objective::WorstRtt => {
                        candidate.worst.total_cmp(&b.worst).then(candidate.cost_milli.cmp(&b.cost_milli))
                    }
                };
                keys.then_with(|| candidate.ids.cmp(&b.ids)).is_lt()
            });
            if better {
                best = Some(candidate);
            }
        }
        // Next combination (odometer).
        let mut s = 0;
        loop {
            if s == index.len() {
                return best;
            }
            index[s] += 1;
            if index[s] < allowed[s].len() {
                break;
            }
            index[s] = 0;
            s += 1;
        }
    }
}

fn total_vms(request: &GroupRequest) -> u32 {
    request.subgroups.iter().map(|s| s.vm_count).sum()
}

/// Solves with the library and brute force and asserts they agree, including explanations.
/// Returns which outcome it was: "feasible" or the error variant.
fn check(request: &GroupRequest, model: &LatencyModel, milli: &[Vec<u64>], label: &str) -> &'static str {
    let expected = brute_force(request, model, milli, true);
    match (place(request, model), expected) {
        (Ok(placement), Some(brute)) => {
            assert_same(&placement, &brute, request, label);
            "feasible"
        }
        (Err(error), None) => {
            assert_explains(&error, request, model, milli, label);
            match error {
                GroupError::NothingNear { .. } => "nothing near",
                GroupError::SameRegionTooSlow { .. } => "same region too slow",
                GroupError::PairTooFar { .. } => "pair too far",
                GroupError::BoundTooTight { .. } => "bound too tight",
                _ => "other",
            }
        }
        (Ok(placement), None) => panic!("{label}: found {placement:?} but brute force found none"),
        (Err(error), Some(brute)) => panic!("{label}: {error} but brute force found {brute:?}"),
    }
}

fn assert_same(placement: &Placement, brute: &Brute, request: &GroupRequest, label: &str) {
    let ids: Vec<(String, String)> = placement.choices.iter().map(|c| (c.region.clone(), c.spec_id.clone())).collect();
    assert_eq!(ids, brute.ids, "{label}: choices differ");
    let expected_cost = brute.cost_milli as f64 / 1000.0;
    assert!(
        (placement.total_cost - expected_cost).abs() < 1e-9 * expected_cost.max(1.0),
        "{label}: cost {} vs {expected_cost}",
        placement.total_cost
    );
    match &placement.worst_rtt {
        None => assert_eq!(total_vms(request), 1, "{label}: no worst link"),
        Some(link) => {
            let ms = link.ms.unwrap_or(f64::INFINITY);
            assert_eq!(ms, brute.worst, "{label}: worst RTT");
        }
    }
    if let Some(bound) = request.max_rtt_ms {
        assert!(brute.worst <= bound, "{label}: bound violated");
    }
}

fn assert_explains(error: &GroupError, request: &GroupRequest, model: &LatencyModel, milli: &[Vec<u64>], label: &str) {
    let message = error.to_string();
    match error {
        GroupError::NothingNear { subgroup, .. } => {
            assert!(request.near.is_some(), "{label}: {message}");
            assert!(message.contains(subgroup.as_str()));
        }
        GroupError::BoundTooTight { closest, max_rtt_ms, .. } => {
            let relaxed = brute_force(request, model, milli, false).unwrap();
            assert_eq!(closest.ms.unwrap_or(f64::INFINITY), relaxed.worst, "{label}: closest achievable worst RTT");
            assert!(relaxed.worst > *max_rtt_ms, "{label}: {message}");
            assert!(message.starts_with("no region set where all subgroups fit within"));
        }
        GroupError::PairTooFar { closest, max_rtt_ms, .. } => {
            assert!(closest.ms.is_none_or(|ms| ms > *max_rtt_ms), "{label}: {message}");
        }
        GroupError::SameRegionTooSlow { best, max_rtt_ms, .. } => {
            assert!(best.ms.is_none_or(|ms| ms > *max_rtt_ms), "{label}: {message}");
        }
        other => panic!("{label}: unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Random small instances.

/// A random world of `regions` regions: some measured pairs (asymmetric, from a small set of
/// values so that ties happen), some only coordinates, some neither.
fn random_world(rng: &mut Rng, regions: usize) -> (Vec<String>, LatencyModel) {
    let ids: Vec<String> = (0..regions).map(|i| format!("p{}-r{i}", i % 3)).collect();
    let mut matrix = LatencyMatrix::new();
    for a in &ids {
        for b in &ids {
            if rng.chance(60) {
                let ms = if a == b { [0.3, 0.5, 2.0][rng.below(3) as usize] } else { (5 * (1 + rng.below(12))) as f64 };
                matrix.record(a, b, ms).unwrap();
            }
        }
    }
    let mut coordinates = HashMap::new();
    for id in &ids {
        if rng.chance(85) {
            let lat = rng.unit() * 60.0 - 10.0;
            let lon = rng.unit() * 60.0;
            coordinates.insert(id.clone(), (lat, lon));
        }
    }
    let model = LatencyModel::new(matrix, coordinates, DistanceModel::REFERENCE).unwrap();
    (ids, model)
}

fn random_request(rng: &mut Rng, ids: &[String], model: &LatencyModel) -> (GroupRequest, Vec<Vec<u64>>) {
    let groups = 1 + rng.below(4) as usize;
    let mut subgroups = Vec::new();
    let mut milli = Vec::new();
    for g in 0..groups {
        let options = 1 + rng.below(5) as usize;
        let mut candidates = Vec::new();
        let mut costs = Vec::new();
        for c in 0..options {
            let region = &ids[rng.below(ids.len() as u64) as usize];
            let cost = 100 * (1 + rng.below(5));
            candidates.push(candidate(region, &format!("s{}", rng.below(3) + c as u64), cost as f64 / 1000.0));
            costs.push(cost);
        }
        subgroups.push(subgroup(&format!("g{g}"), 1 + rng.below(3) as u32, candidates));
        milli.push(costs);
    }
    let max_rtt_ms = match rng.below(100) {
        0..15 => None,
        // Below some same-region RTTs (0.3, 0.5 or 2 ms).
        15..25 => Some([0.4, 1.0][rng.below(2) as usize]),
        _ => Some((5 * (1 + rng.below(10))) as f64),
    };
    let near = if rng.chance(25) {
        let anchor = &ids[rng.below(ids.len() as u64) as usize];
        let (lat, lon) = model.coordinates(anchor).unwrap_or((20.0, 30.0));
        Some(Near { latitude: lat, longitude: lon, max_distance_km: rng.unit() * 4000.0 })
    } else {
        None
    };
    let objective = if rng.chance(30) { Objective::WorstRtt } else { Objective::Cost };
    (GroupRequest { subgroups, max_rtt_ms, near, objective }, milli)
}

#[test]
fn optimum_equals_brute_force_on_random_small_instances() {
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for seed in 0..600 {
        let mut rng = Rng(seed);
        let regions = 3 + rng.below(6) as usize;
        let (ids, model) = random_world(&mut rng, regions);
        let (request, milli) = random_request(&mut rng, &ids, &model);
        *outcomes.entry(check(&request, &model, &milli, &format!("seed {seed}"))).or_default() += 1;
    }
    println!("random instances: {outcomes:?}");
    // Every outcome must be exercised for the comparison to mean anything.
    assert!(outcomes["feasible"] >= 200, "{outcomes:?}");
    for kind in ["nothing near", "same region too slow", "pair too far", "bound too tight"] {
        assert!(outcomes.get(kind).is_some_and(|n| *n >= 3), "{kind}: {outcomes:?}");
    }
}

#[test]
fn optimum_equals_brute_force_on_real_matrix_subsets() {
    let model = latency_support::real_model();
    let all: Vec<String> = model.matrix().regions().map(str::to_owned).collect();
    let (mut feasible, mut infeasible) = (0, 0);
    for seed in 0..200 {
        let mut rng = Rng(1_000 + seed);
        let size = 8 + rng.below(8) as usize;
        let mut subset = Vec::new();
        while subset.len() < size {
            let id = &all[rng.below(all.len() as u64) as usize];
            if !subset.contains(id) {
                subset.push(id.clone());
            }
        }
        let groups = 2 + rng.below(3) as usize;
        let mut subgroups = Vec::new();
        let mut milli = Vec::new();
        for g in 0..groups {
            let mut candidates = Vec::new();
            let mut costs = Vec::new();
            // Few regions per subgroup, so that bounds can fail.
            for _ in 0..1 + rng.below(4) {
                let region = &subset[rng.below(subset.len() as u64) as usize];
                let cost = 50 + rng.below(400);
                candidates.push(candidate(region, &format!("spec-{g}"), cost as f64 / 1000.0));
                costs.push(cost);
            }
            subgroups.push(subgroup(&format!("g{g}"), 1 + rng.below(3) as u32, candidates));
            milli.push(costs);
        }
        let bound = [10.0, 20.0, 40.0, 80.0, 150.0][rng.below(5) as usize];
        let mut request = request(subgroups, Some(bound));
        if rng.chance(30) {
            request.objective = Objective::WorstRtt;
        }
        if check(&request, &model, &milli, &format!("real seed {seed}")) == "feasible" {
            feasible += 1;
        } else {
            infeasible += 1;
        }
    }
    println!("real subsets: {feasible} feasible, {infeasible} infeasible");
    assert!(feasible >= 50 && infeasible >= 10, "{feasible}/{infeasible}");
}

// ---------------------------------------------------------------------------------------------
// Explanations.

#[test]
fn two_subgroups_too_far_apart_say_which_and_how_far() {
    let model = latency_support::real_model();
    let request = request(
        vec![
            subgroup("web", 2, vec![candidate("aws-ap-northeast-2", "t3.small", 0.02)]),
            subgroup("db", 1, vec![candidate("aws-us-east-1", "m5.large", 0.1)]),
        ],
        Some(40.0),
    );
    let error = place(&request, &model).unwrap_err();
    assert_eq!(
        error.to_string(),
        "subgroups web and db have no pair of candidate regions within 40 ms; the closest is \
         170.7 ms between aws-ap-northeast-2 (web) and aws-us-east-1 (db)"
    );
    match error {
        GroupError::PairTooFar { closest, .. } => {
            assert_eq!(closest.ms, Some(170.653), "the larger of 170.653 and 170.569");
            assert_eq!(closest.source, Some(RttSource::Measured));
        }
        other => panic!("{other:?}"),
    }
}

/// Each pair of subgroups can meet the bound on its own, but no three regions can.
#[test]
fn a_bound_no_region_set_meets_reports_the_closest_achievable() {
    let csv = ",a1,a2,b1,b2,c1,c2\n\
               a1,0.5,60,10,60,48,60\n\
               a2,60,0.5,60,60,60,10\n\
               b1,10,60,0.5,60,45,60\n\
               b2,60,60,60,0.5,10,60\n\
               c1,48,60,45,10,0.5,60\n\
               c2,60,10,60,60,60,0.5\n";
    let model = matrix_model(csv);
    let request = request(
        vec![
            subgroup("g1", 1, vec![candidate("a1", "s", 1.0), candidate("a2", "s", 1.0)]),
            subgroup("g2", 1, vec![candidate("b1", "s", 1.0), candidate("b2", "s", 1.0)]),
            subgroup("g3", 1, vec![candidate("c1", "s", 1.0), candidate("c2", "s", 1.0)]),
        ],
        Some(40.0),
    );
    let error = place(&request, &model).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no region set where all subgroups fit within 40 ms; the closest is 48.0 ms between \
         a1 (g1) and c1 (g3)"
    );
    let GroupError::BoundTooTight { placement, .. } = error else {
        panic!("expected BoundTooTight");
    };
    let regions: Vec<&str> = placement.iter().map(|c| c.region.as_str()).collect();
    assert_eq!(regions, ["a1", "b1", "c1"]);
    // With the bound at the closest value the same placement is the answer.
    let mut relaxed = request.clone();
    relaxed.max_rtt_ms = Some(48.0);
    let found = place(&relaxed, &model).unwrap();
    assert_eq!(found.worst_rtt.unwrap().ms, Some(48.0));
}

#[test]
fn nothing_near_names_the_subgroup_and_the_nearest_region() {
    let model = latency_support::real_model();
    let mut request = request(
        vec![
            subgroup("web", 1, vec![candidate("aws-ap-northeast-2", "t3", 0.02)]),
            subgroup("g2", 1, vec![candidate("aws-us-east-1", "m5", 0.1), candidate("aws-ap-northeast-1", "m5", 0.1)]),
        ],
        None,
    );
    request.near = Some(Near { latitude: 37.5, longitude: 127.0, max_distance_km: 500.0 });
    let error = place(&request, &model).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "subgroup g2 has no candidate within 500 km of (37.5, 127); the nearest is \
             aws-ap-northeast-1 at "
        ),
        "{message}"
    );
    let GroupError::NothingNear { nearest, .. } = error else {
        panic!("{message}");
    };
    let nearest = nearest.unwrap();
    let tokyo = model.coordinates("aws-ap-northeast-1").unwrap();
    assert!((nearest.distance_km - haversine_km((37.5, 127.0), tokyo)).abs() < 1e-9);

    request.subgroups[1].candidates = vec![candidate("ncp-nowhere", "x", 0.1)];
    let message = place(&request, &model).unwrap_err().to_string();
    assert!(message.ends_with("none of its candidate regions has known coordinates"), "{message}");
}

#[test]
fn several_vms_in_one_region_use_its_same_region_rtt() {
    let model = latency_support::real_model();
    // azure-eastasia measures 3.844 ms inside itself.
    let single = request(vec![subgroup("g1", 1, vec![candidate("azure-eastasia", "b2s", 0.05)])], Some(1.0));
    let placement = place(&single, &model).unwrap();
    assert_eq!(placement.worst_rtt, None, "one VM has no pair");

    let three = request(vec![subgroup("g1", 3, vec![candidate("azure-eastasia", "b2s", 0.05)])], Some(1.0));
    let error = place(&three, &model).unwrap_err();
    assert_eq!(
        error.to_string(),
        "subgroup g1 puts 3 VMs in one region but no candidate region keeps them within 1 ms of \
         each other; the best is 3.8 ms inside azure-eastasia (g1)"
    );

    // Two single-VM subgroups sharing a region are also 3.844 ms apart.
    let two = request(
        vec![
            subgroup("g1", 1, vec![candidate("azure-eastasia", "b2s", 0.05)]),
            subgroup("g2", 1, vec![candidate("azure-eastasia", "b2s", 0.05)]),
        ],
        Some(10.0),
    );
    let placement = place(&two, &model).unwrap();
    let link = placement.worst_rtt.unwrap();
    assert_eq!((link.ms, link.source), (Some(3.844), Some(RttSource::Measured)));
    // A region without a measured diagonal uses the model's constant.
    let estimated = request(vec![subgroup("g1", 2, vec![candidate("ncp-kr", "s2", 0.05)])], Some(10.0));
    let link = place(&estimated, &model).unwrap().worst_rtt.unwrap();
    assert_eq!(link.source, Some(RttSource::Estimated));
    assert_eq!(link.ms, Some(model.distance_model().same_region_ms));
}

#[test]
fn unknown_rtts_fail_a_bound_but_not_an_unbounded_request() {
    let model = matrix_model(",a,b\na,0.5,\nb,,0.5\n");
    let mut unbounded = request(
        vec![subgroup("g1", 1, vec![candidate("a", "s", 1.0)]), subgroup("g2", 1, vec![candidate("b", "s", 1.0)])],
        None,
    );
    let placement = place(&unbounded, &model).unwrap();
    let link = placement.worst_rtt.unwrap();
    assert_eq!((link.ms, link.source), (None, None));

    unbounded.max_rtt_ms = Some(1000.0);
    let message = place(&unbounded, &model).unwrap_err().to_string();
    assert_eq!(
        message,
        "subgroups g1 and g2 have no pair of candidate regions within 1000 ms; the closest is \
         an unknown RTT between a (g1) and b (g2)"
    );
}

#[test]
fn malformed_requests_are_refused() {
    let model = matrix_model(",a\na,0.5\n");
    let ok = || request(vec![subgroup("g1", 1, vec![candidate("a", "s", 1.0)])], None);
    let cases: Vec<(GroupRequest, &str)> = vec![
        (request(vec![], None), "no subgroup"),
        (
            {
                let mut r = ok();
                r.subgroups.push(r.subgroups[0].clone());
                r
            },
            "subgroup g1 appears twice",
        ),
        (
            {
                let mut r = ok();
                r.subgroups[0].vm_count = 0;
                r
            },
            "subgroup g1 has no VM",
        ),
        (
            {
                let mut r = ok();
                r.subgroups[0].candidates[0].cost_per_vm = -1.0;
                r
            },
            "costs -1",
        ),
        (
            {
                let mut r = ok();
                r.max_rtt_ms = Some(f64::NAN);
                r
            },
            "maxRttMs NaN",
        ),
    ];
    for (request, expected) in cases {
        match place(&request, &model) {
            Err(GroupError::Invalid { reason }) => {
                assert!(reason.contains(expected), "{reason} should mention {expected}")
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
    let empty = request(vec![subgroup("g9", 1, vec![])], None);
    assert_eq!(place(&empty, &model).unwrap_err().to_string(), "subgroup g9 has no candidate");
}

// ---------------------------------------------------------------------------------------------
// Objective and tie-breaks.

#[test]
fn ties_break_by_worst_rtt_then_region_then_spec() {
    let csv = ",a,b,c\na,0.5,30,10\nb,30,0.5,30\nc,10,30,0.5\n";
    let model = matrix_model(csv);
    // g2 costs the same in b and c; c is closer to g1's a.
    let by_rtt = request(
        vec![
            subgroup("g1", 1, vec![candidate("a", "s", 1.0)]),
            subgroup("g2", 1, vec![candidate("b", "s", 2.0), candidate("c", "s", 2.0)]),
        ],
        None,
    );
    let placement = place(&by_rtt, &model).unwrap();
    assert_eq!(placement.choices[1].region, "c");
    assert_eq!(placement.worst_rtt.unwrap().ms, Some(10.0));

    // Same cost, same RTT: the smaller region id, then within a region the smaller spec id.
    let by_ids = request(
        vec![subgroup("g1", 1, vec![candidate("C", "z", 1.0), candidate("b", "y", 1.0), candidate("b", "x", 1.0)])],
        None,
    );
    let placement = place(&by_ids, &model).unwrap();
    assert_eq!((placement.choices[0].region.as_str(), placement.choices[0].spec_id.as_str()), ("b", "x"));

    // A dearer spec in the same region is never chosen.
    let dominated =
        request(vec![subgroup("g1", 2, vec![candidate("a", "big", 3.0), candidate("a", "small", 1.0)])], None);
    let placement = place(&dominated, &model).unwrap();
    assert_eq!(placement.choices[0].spec_id, "small");
    assert_eq!(placement.total_cost, 2.0);
}

#[test]
fn the_worst_rtt_objective_trades_cost_for_proximity() {
    let csv = ",a,b,c\na,0.5,30,10\nb,30,0.5,30\nc,10,30,0.5\n";
    let model = matrix_model(csv);
    let mut request = request(
        vec![
            subgroup("g1", 1, vec![candidate("a", "s", 1.0)]),
            subgroup("g2", 1, vec![candidate("b", "s", 1.0), candidate("c", "s", 5.0)]),
        ],
        None,
    );
    assert_eq!(place(&request, &model).unwrap().choices[1].region, "b");
    request.objective = Objective::WorstRtt;
    let placement = place(&request, &model).unwrap();
    assert_eq!(placement.choices[1].region, "c");
    assert_eq!(placement.total_cost, 6.0);
}

// ---------------------------------------------------------------------------------------------
// Real-matrix scenarios.

#[test]
fn real_matrix_group_within_40_ms_is_near_and_cheapest() {
    let model = latency_support::real_model();
    let subgroups = vec![
        subgroup("web", 4, everywhere(&model, 1.0, "small")),
        subgroup("app", 3, everywhere(&model, 2.0, "medium")),
        subgroup("db", 2, everywhere(&model, 4.0, "large")),
        subgroup("cache", 1, everywhere(&model, 1.5, "mem")),
    ];
    let request = request(subgroups, Some(40.0));
    let placement = place(&request, &model).unwrap();
    let worst = placement.worst_rtt.clone().unwrap().ms.unwrap();
    assert!(worst <= 40.0);
    // Cheapest provider is tencent in a US region: everything fits in one such region.
    let region = &placement.choices[0].region;
    assert!(region.starts_with("tencent-na-"), "{placement:?}");
    assert!(placement.choices.iter().all(|c| &c.region == region));
    println!("{} nodes: {placement:?}", placement.nodes);
}

/// Ten single-VM subgroups of different spec families over every measured region: the
/// optimum is cheaper than any single-region placement and than the RTT objective's answer,
/// which in turn has the lower worst RTT.
#[test]
fn real_matrix_ten_subgroups_of_different_families() {
    let model = latency_support::real_model();
    let regions: Vec<String> = model.matrix().regions().map(str::to_owned).collect();
    let subgroups = diverse_subgroups(&model, &regions, &[1; 10]);
    let mut request = request(subgroups, Some(40.0));
    let cheapest = place(&request, &model).unwrap();
    let worst = cheapest.worst_rtt.as_ref().unwrap().ms.unwrap();
    assert!(worst <= 40.0);
    for region in &regions {
        let together: Option<f64> = request
            .subgroups
            .iter()
            .map(|s| s.candidates.iter().find(|c| &c.region == region).map(|c| c.cost_per_vm))
            .sum();
        if let Some(cost) = together {
            assert!(cheapest.total_cost <= cost + 1e-9, "{region} alone costs {cost}");
        }
    }
    request.objective = Objective::WorstRtt;
    let closest = place(&request, &model).unwrap();
    assert!(closest.worst_rtt.as_ref().unwrap().ms.unwrap() <= worst);
    assert!(closest.total_cost >= cheapest.total_cost);
    println!("cheapest {cheapest:?}\nclosest {closest:?}");
}

/// With one price everywhere every placement ties on cost, so the cost objective must return
/// exactly the RTT objective's answer, and without exploring the ties one by one.
#[test]
fn equal_prices_fall_back_to_the_rtt_tie_break_quickly() {
    let model = latency_support::real_model();
    let regions: Vec<String> = model.matrix().regions().map(str::to_owned).collect();
    let mut subgroups = diverse_subgroups(&model, &regions, &[1; 20]);
    for candidate in subgroups.iter_mut().flat_map(|s| &mut s.candidates) {
        candidate.cost_per_vm = 0.1;
    }
    let mut request = request(subgroups, Some(80.0));
    let by_cost = place(&request, &model).unwrap();
    request.objective = Objective::WorstRtt;
    let by_rtt = place(&request, &model).unwrap();
    assert_eq!(by_cost.choices, by_rtt.choices);
    assert_eq!(by_cost.worst_rtt, by_rtt.worst_rtt);
    // A single lexicographic pass visited ~700,000 nodes here; two passes visit a few thousand.
    assert!(by_cost.nodes < 50_000, "{} nodes", by_cost.nodes);
}

#[test]
fn distance_constraint_keeps_the_group_near_the_point() {
    let model = latency_support::real_model();
    let frankfurt = (50.11, 8.68);
    let subgroups =
        vec![subgroup("web", 2, everywhere(&model, 1.0, "small")), subgroup("db", 1, everywhere(&model, 4.0, "large"))];
    let mut request = request(subgroups, Some(30.0));
    let free = place(&request, &model).unwrap();
    let far = |p: &Placement| {
        p.choices.iter().map(|c| haversine_km(frankfurt, model.coordinates(&c.region).unwrap())).fold(0.0, f64::max)
    };
    assert!(far(&free) > 800.0, "without the constraint the cheapest is elsewhere: {free:?}");

    request.near = Some(Near { latitude: frankfurt.0, longitude: frankfurt.1, max_distance_km: 800.0 });
    let near = place(&request, &model).unwrap();
    assert!(far(&near) <= 800.0, "{near:?}");
    assert!(near.total_cost >= free.total_cost);

    // The same answer as brute force over the regions near Frankfurt.
    let mut nearby = request.clone();
    for subgroup in &mut nearby.subgroups {
        subgroup
            .candidates
            .retain(|c| model.coordinates(&c.region).is_some_and(|p| haversine_km(frankfurt, p) <= 800.0));
    }
    let brute = brute_force(&nearby, &model, &milli_of(&nearby), true).unwrap();
    let ids: Vec<(String, String)> = near.choices.iter().map(|c| (c.region.clone(), c.spec_id.clone())).collect();
    assert_eq!(ids, brute.ids);
}

/// Costs in units of 10⁻⁴, exact for four-decimal prices (only the choice is compared).
fn milli_of(request: &GroupRequest) -> Vec<Vec<u64>> {
    request
        .subgroups
        .iter()
        .map(|s| s.candidates.iter().map(|c| (c.cost_per_vm * 10_000.0).round() as u64).collect())
        .collect()
}
