//! Ordering the filtered specs: one key per priority (lower is better, unknown is +∞),
//! compared in priority order or combined by weights, then cost, then id. Only the top
//! `limit` are sorted: the rest is cut off by a linear-time selection first.

use std::cmp::Ordering;

use tb_model::resource::KeyValue;

use super::LatencyLookup;
use super::geo::haversine_km;
use super::index::SpecIndex;
use super::priority::{Priority, Rule};

/// The latency counted for a pair of regions the lookup does not know (CB-Tumblebug's value).
pub const MISSING_LATENCY_MS: f64 = 999_999.0;

/// `+1e-7` keeps the score finite when every candidate has the same value (as in §4.3).
const SCORE_EPSILON: f64 = 1e-7;

/// A spec of the result with what the ranking found out about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ranked {
    pub row: u32,
    /// 1-based dense rank: specs with equal priority keys share it.
    pub order: u32,
    /// Normalised score of the primary key, 1 best, 0 worst or unknown.
    pub score09: f64,
    /// Raw distance (km) or latency (ms) of the first place priority; -1 for a spec without
    /// coordinates; `None` when no priority measures a place.
    pub score10: Option<f64>,
    /// Why a value had to be assumed (missing latency, unknown location).
    pub notes: Vec<KeyValue>,
}

/// How one priority turns a spec into a key.
enum Measure<'a> {
    Cost,
    Performance,
    /// Distance per distinct place of the index (+∞ where the place is unknown).
    Place(Vec<f64>),
    /// Total latency per region of the index, with the sources that had no measurement.
    Latency {
        from: &'a [String],
        sums: Vec<f64>,
        missing: Vec<Vec<u32>>,
    },
    Random(u64),
}

impl Measure<'_> {
    fn key(&self, index: &SpecIndex, row: u32) -> f64 {
        match self {
            Measure::Cost => index.cost_key(row),
            Measure::Performance => {
                let score = index.spec(row).evaluation_score01;
                if score > 0.0 { -score } else { f64::INFINITY }
            }
            Measure::Place(by_place) => by_place[index.place_of(row)],
            Measure::Latency { sums, .. } => sums[index.region_of(row)],
            Measure::Random(seed) => unit_interval(splitmix64(seed ^ index.id_hash(row))),
        }
    }
}

fn measure<'a>(index: &SpecIndex, rule: &'a Rule, rows: &[u32], latency: &dyn LatencyLookup) -> Measure<'a> {
    match rule {
        Rule::Cost => Measure::Cost,
        Rule::Performance => Measure::Performance,
        Rule::Random(seed) => Measure::Random(*seed),
        Rule::Near(target) => Measure::Place(
            index.places().iter().map(|p| p.map_or(f64::INFINITY, |p| haversine_km(*target, p))).collect(),
        ),
        Rule::Within { points, .. } => Measure::Place(
            index
                .places()
                .iter()
                .map(|p| p.map_or(f64::INFINITY, |p| points.iter().map(|q| haversine_km(*q, p)).fold(0.0, f64::max)))
                .collect(),
        ),
        Rule::Latency(from) => {
            // Only the regions some candidate is in are looked up.
            let regions = index.regions();
            let mut needed = vec![false; regions.len()];
            for &row in rows {
                needed[index.region_of(row)] = true;
            }
            let mut sums = vec![f64::INFINITY; regions.len()];
            let mut missing = vec![Vec::new(); regions.len()];
            for (r, to) in regions.iter().enumerate() {
                if !needed[r] {
                    continue;
                }
                let mut sum = 0.0;
                for (f, source) in from.iter().enumerate() {
                    match latency.rtt_ms(source, to) {
                        Some(ms) if ms.is_finite() && ms >= 0.0 => sum += ms,
                        _ => {
                            sum += MISSING_LATENCY_MS;
                            missing[r].push(u32::try_from(f).unwrap_or(u32::MAX));
                        }
                    }
                }
                sums[r] = sum;
            }
            Measure::Latency { from, sums, missing }
        }
    }
}

/// A candidate during selection. The first key sits inline because most comparisons are
/// decided by it; the others are read from the flat key table at `pos`.
#[derive(Clone, Copy)]
struct Candidate {
    key0: f64,
    cost: f64,
    pos: u32,
    row: u32,
}

/// Orders `rows` by `priorities` and returns the first `limit` (all when `None`).
pub(crate) fn rank(
    index: &SpecIndex,
    mut rows: Vec<u32>,
    priorities: &[Priority],
    latency: &dyn LatencyLookup,
    limit: Option<usize>,
) -> Vec<Ranked> {
    let measures: Vec<Measure<'_>> = priorities.iter().map(|p| measure(index, &p.rule, &rows, latency)).collect();

    for (p, m) in priorities.iter().zip(&measures) {
        if let (Rule::Within { radius_km: Some(radius), .. }, Measure::Place(by_place)) = (&p.rule, m) {
            rows.retain(|&row| by_place[index.place_of(row)] <= *radius);
        }
    }

    let weighted = priorities.iter().any(|p| p.weight.is_some());
    let width = if weighted { 2 } else { measures.len() };
    let keys: Vec<f64> = if weighted {
        weighted_keys(index, &rows, priorities, &measures)
    } else {
        rows.iter().flat_map(|&row| measures.iter().map(move |m| m.key(index, row))).collect()
    };

    // The primary score: of the first key, or of the cost when the first priority is random
    // (a random key says nothing about the spec; CB-Tumblebug scored random results by cost).
    let by_cost = !weighted && matches!(priorities.first().map(|p| &p.rule), Some(Rule::Random(_)));
    let primary = |pos: usize, row: u32| {
        if by_cost { index.cost_key(row) } else { keys[pos * width] }
    };
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for (pos, &row) in rows.iter().enumerate() {
        let v = primary(pos, row);
        if v.is_finite() {
            low = low.min(v);
            high = high.max(v);
        }
    }

    let mut candidates: Vec<Candidate> = rows
        .iter()
        .enumerate()
        .map(|(pos, &row)| Candidate {
            key0: keys.get(pos * width).copied().unwrap_or(0.0),
            cost: index.cost_key(row),
            pos: u32::try_from(pos).unwrap_or(u32::MAX),
            row,
        })
        .collect();
    let rest = |c: &Candidate| {
        let start = c.pos as usize * width + 1;
        keys.get(start..start + width - 1).unwrap_or(&[])
    };
    let compare = |a: &Candidate, b: &Candidate| {
        a.key0
            .total_cmp(&b.key0)
            .then_with(|| cmp_keys(rest(a), rest(b)))
            .then_with(|| a.cost.total_cmp(&b.cost))
            .then_with(|| index.spec(a.row).id.cmp(&index.spec(b.row).id))
            .then_with(|| a.row.cmp(&b.row))
    };
    let take = match limit {
        Some(k) if k < candidates.len() => k,
        _ => candidates.len(),
    };
    if take == 0 {
        return Vec::new();
    }
    if take < candidates.len() {
        candidates.select_nth_unstable_by(take - 1, &compare);
        candidates.truncate(take);
    }
    candidates.sort_unstable_by(&compare);

    let place_rule = priorities.iter().zip(&measures).find(|(p, _)| p.rule.is_place()).map(|(_, m)| m);
    let mut order = 0;
    let mut previous: Option<&Candidate> = None;
    let mut ranked = Vec::with_capacity(candidates.len());
    for c in &candidates {
        let same = previous.is_some_and(|p| p.key0 == c.key0 && rest(p) == rest(c));
        if !same {
            order += 1;
        }
        previous = Some(c);
        let v = primary(c.pos as usize, c.row);
        let score09 = if v.is_finite() { (high - v) / (high - low + SCORE_EPSILON) } else { 0.0 };
        ranked.push(Ranked {
            row: c.row,
            order,
            score09,
            score10: place_rule.map(|m| raw_place_value(index, m, c.row)),
            notes: notes(index, &measures, c.row),
        });
    }
    ranked
}

/// Two keys per row: Σ weight × (key normalised to 0..1 over the candidates), with an
/// unknown value counting as the worst (1); then the total weight of the unknown values, so
/// that an unknown value ranks after the worst known one (a single weighted priority then orders
/// exactly like the same priority without weight). A priority without a weight weighs 1.
fn weighted_keys(index: &SpecIndex, rows: &[u32], priorities: &[Priority], measures: &[Measure<'_>]) -> Vec<f64> {
    let raw: Vec<Vec<f64>> = measures.iter().map(|m| rows.iter().map(|&row| m.key(index, row)).collect()).collect();
    let ranges: Vec<(f64, f64)> = raw
        .iter()
        .map(|column| {
            column
                .iter()
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
        })
        .collect();
    let mut keys = Vec::with_capacity(rows.len() * 2);
    for pos in 0..rows.len() {
        let (mut sum, mut unknown) = (0.0, 0.0);
        for (p, (column, &(lo, hi))) in priorities.iter().zip(raw.iter().zip(&ranges)) {
            let weight = p.weight.unwrap_or(1.0);
            let v = column[pos];
            let normalised = if !v.is_finite() {
                unknown += weight;
                1.0
            } else if hi > lo {
                (v - lo) / (hi - lo)
            } else {
                0.0
            };
            sum += weight * normalised;
        }
        keys.push(sum);
        keys.push(unknown);
    }
    keys
}

fn cmp_keys(a: &[f64], b: &[f64]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

fn raw_place_value(index: &SpecIndex, m: &Measure<'_>, row: u32) -> f64 {
    let v = m.key(index, row);
    if v.is_finite() { v } else { -1.0 }
}

fn notes(index: &SpecIndex, measures: &[Measure<'_>], row: u32) -> Vec<KeyValue> {
    let mut notes: Vec<KeyValue> = Vec::new();
    for m in measures {
        let note = match m {
            Measure::Place(by_place) if !by_place[index.place_of(row)].is_finite() => KeyValue {
                key: "locationUnknown".into(),
                value: "the region has no coordinates; ranked after every located spec".into(),
            },
            Measure::Latency { from, missing, .. } => {
                let sources = &missing[index.region_of(row)];
                if sources.is_empty() {
                    continue;
                }
                let names: Vec<&str> =
                    sources.iter().filter_map(|&f| from.get(f as usize).map(String::as_str)).collect();
                KeyValue {
                    key: "latencyMissing".into(),
                    value: format!(
                        "no measured latency from {} to {}; counted as {MISSING_LATENCY_MS} ms each",
                        names.join(", "),
                        index.regions()[index.region_of(row)]
                    ),
                }
            }
            _ => continue,
        };
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The top 53 bits as a number in [0, 1).
fn unit_interval(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}
