//! Spec recommendation (`POST /recommendSpec`): keep the catalog specs that pass every filter
//! policy, order them by the priority policies, return the first `limit`.
//!
//! Semantics (where they differ from CB-Tumblebug, this is the decision taken):
//!
//! * **Filters.** Metric names are case-insensitive. Numeric metrics take `>=`, `<=`, `==`,
//!   `>`, `<`; every bound counts, `0` included (CB-Tumblebug read a bound of 0 as "unset").
//!   For `costPerHour` and `evaluationScore01..10` a negative value means "unknown" and never
//!   satisfies a condition. String metrics take `==` or an empty operator; the operand is one
//!   value or a list separated by commas or spaces, matched case-insensitively (any of).
//!   `acceleratorModel` and `description` match substrings (fragments separated by commas).
//!   Conditions on the same metric all hold (AND). Unknown metrics, wrong operators and
//!   non-numeric operands are errors, never ignored.
//! * **Priorities.** None means `cost`. Several without weights: lexicographic, in the given
//!   order (v0.11.9+). If any carries a weight: each key is normalised to 0..1 over the
//!   filtered specs (lower cost, distance, latency better; higher performance better; an
//!   unknown value counts as the worst), and specs are ordered by the weighted sum; a
//!   priority without a weight then weighs 1. Remaining ties: cost (unknown last), then id.
//! * **Location** uses the haversine distance (R = 6371 km) from the spec's region
//!   coordinates: `coordinateClose` to one point, `coordinateFair` to the spherical centroid of
//!   several, `coordinateWithin` to the farthest of the points, with an optional `radiusKm`
//!   that drops specs beyond it. Exact distances are compared (no 50 km buckets).
//! * **Latency** sums [`LatencyLookup::rtt_ms`] from each given region to the spec's region
//!   (`{provider}-{region}`); an unknown pair counts as [`MISSING_LATENCY_MS`] and is named
//!   in the spec's `details` under `latencyMissing`.
//! * **Random** takes an optional `seed` parameter for a repeatable order.
//! * **Limit**: absent or ≤ 0 returns every match.
//! * **Result fields.** `orderInFilteredResult` is the dense 1-based rank over the priority
//!   keys (specs with equal keys, e.g. the same region under a location priority, share a
//!   rank; the cost/id tie-break does not split a rank). `evaluationScore09` is the primary key
//!   normalised over the filtered specs: `(max − v)/(max − min + 1e-7)` for lower-is-better
//!   keys, `(v − min)/(max − min + 1e-7)` for performance, the weighted sum when weighted,
//!   cost under `random`; 0 for unknown values. `evaluationScore10` is the raw distance (km)
//!   or latency (ms) of the first location/latency priority (-1 without coordinates), and is
//!   left as stored otherwise.

mod error;
mod filter;
pub mod geo;
mod index;
mod metrics;
mod options;
mod priority;
mod rank;

use tb_model::recommend::RecommendSpecReq;
use tb_model::resource::SpecInfo;

pub use error::RecommendError;
pub use index::SpecIndex;
pub use options::options;
pub use rank::MISSING_LATENCY_MS;

/// Measured round-trip times between regions, by id `{provider}-{region}` (e.g.
/// `aws-ap-northeast-2`).
pub trait LatencyLookup {
    /// RTT in milliseconds from `from` to `to`; `None` when unknown.
    fn rtt_ms(&self, from: &str, to: &str) -> Option<f64>;
}

/// A lookup that knows no latency: every pair counts as [`MISSING_LATENCY_MS`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLatency;

impl LatencyLookup for NoLatency {
    fn rtt_ms(&self, _from: &str, _to: &str) -> Option<f64> {
        None
    }
}

impl<F: Fn(&str, &str) -> Option<f64>> LatencyLookup for F {
    fn rtt_ms(&self, from: &str, to: &str) -> Option<f64> {
        self(from, to)
    }
}

/// Filters and ranks the specs of `index` as `req` asks. The returned specs are copies
/// carrying `orderInFilteredResult`, `evaluationScore09` and `evaluationScore10` (see the
/// module documentation for their meaning).
pub fn recommend(
    index: &SpecIndex,
    req: &RecommendSpecReq,
    latency: &dyn LatencyLookup,
) -> Result<Vec<SpecInfo>, RecommendError> {
    let plan = filter::compile(index, &req.filter)?;
    let priorities = priority::parse(&req.priority)?;
    let limit = req.limit.filter(|&n| n > 0).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let rows = plan.run(index);
    let ranked = rank::rank(index, rows, &priorities, latency, limit);
    Ok(ranked
        .into_iter()
        .map(|r| {
            let mut spec = index.spec(r.row).clone();
            spec.order_in_filtered_result = r.order;
            spec.evaluation_score09 = r.score09;
            if let Some(v) = r.score10 {
                spec.evaluation_score10 = v;
            }
            spec.details.extend(r.notes);
            spec
        })
        .collect())
}
