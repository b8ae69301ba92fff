//! RTT estimated from great-circle distance, for region pairs nobody measured.

use serde::{Deserialize, Serialize};

use super::FitError;

/// Mean Earth radius used by CB-Tumblebug's haversine (km).
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Round trip through fibre along the great circle: light covers ~200 km per ms in glass, so
/// 1 km of distance costs at least 0.01 ms of RTT. No estimate goes below this.
pub const FIBRE_RTT_MS_PER_KM: f64 = 0.01;

/// The steepest slope the fit considers (ten times the fibre bound); real paths are 1.5–2.5×.
const MAX_MS_PER_KM: f64 = 0.1;

/// Great-circle distance in km between two `(latitude, longitude)` points in degrees.
pub fn haversine_km(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (lat1, lat2) = (from.0.to_radians(), to.0.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (to.1 - from.1).to_radians();
    let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    // Rounding can push `a` a hair outside 0..=1 for antipodal points.
    let a = a.clamp(0.0, 1.0);
    2.0 * EARTH_RADIUS_KM * a.sqrt().atan2((1.0 - a).sqrt())
}

/// `rtt = intercept_ms + ms_per_km · distance` between distinct regions (never below the fibre
/// bound [`FIBRE_RTT_MS_PER_KM`]), and a constant `same_region_ms` for two VMs in one region.
///
/// The intercept is what two co-located regions of different providers see (router hops,
/// virtualisation); the slope is the fibre bound times the detour of real routes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistanceModel {
    /// RTT at zero distance between distinct regions.
    pub intercept_ms: f64,
    /// RTT added per km of great-circle distance.
    pub ms_per_km: f64,
    /// RTT between two VMs of the same region.
    pub same_region_ms: f64,
}

impl DistanceModel {
    /// The model fitted (by [`DistanceModel::fit`]) on every pair of CB-Tumblebug's shipped
    /// `cloudlatencymap.csv` whose regions have coordinates in `cloudinfo.yaml`.
    pub const REFERENCE: DistanceModel = DistanceModel { intercept_ms: 2.16, ms_per_km: 0.0163, same_region_ms: 0.474 };

    /// Fits the model to measured `(distance_km, rtt_ms)` pairs of distinct regions, and
    /// `same_region` RTTs measured inside one region.
    ///
    /// The line minimises the sum of absolute *relative* errors `Σ |rtt − a − b·d| / rtt`
    /// (least absolute deviations weighted by 1/rtt): the quality measure is the median
    /// absolute percentage error, and LAD keeps the few badly routed pairs from dragging the
    /// line. For a fixed slope the best intercept is the weighted median of `rtt − b·d`; the
    /// remaining function of the slope is convex, so a golden-section search finds it. The
    /// same-region RTT is the median of `same_region` ([`Self::REFERENCE`]'s when empty).
    /// Pairs with a non-finite or negative distance or a non-positive RTT are ignored.
    pub fn fit(between: &[(f64, f64)], same_region: &[f64]) -> Result<Self, FitError> {
        let samples: Vec<(f64, f64)> = between
            .iter()
            .copied()
            .filter(|&(d, rtt)| d.is_finite() && d >= 0.0 && rtt.is_finite() && rtt > 0.0)
            .collect();
        if samples.len() < 2 {
            return Err(FitError::TooFewPairs { usable: samples.len() });
        }
        let first = samples[0].0;
        if samples.iter().all(|&(d, _)| d == first) {
            return Err(FitError::OneDistance);
        }

        let mut scratch = Vec::with_capacity(samples.len());
        let mut cost = |slope: f64| best_intercept(&samples, slope, &mut scratch);
        let (mut lo, mut hi) = (0.0_f64, MAX_MS_PER_KM);
        let inv_phi = (5.0_f64.sqrt() - 1.0) / 2.0;
        let mut m1 = hi - inv_phi * (hi - lo);
        let mut m2 = lo + inv_phi * (hi - lo);
        let (mut c1, mut c2) = (cost(m1).1, cost(m2).1);
        while hi - lo > 1e-10 {
            if c1 < c2 {
                hi = m2;
                m2 = m1;
                c2 = c1;
                m1 = hi - inv_phi * (hi - lo);
                c1 = cost(m1).1;
            } else {
                lo = m1;
                m1 = m2;
                c1 = c2;
                m2 = lo + inv_phi * (hi - lo);
                c2 = cost(m2).1;
            }
        }
        let ms_per_km = (lo + hi) / 2.0;
        let (intercept_ms, _) = cost(ms_per_km);

        let mut within: Vec<f64> = same_region.iter().copied().filter(|ms| ms.is_finite() && *ms >= 0.0).collect();
        let same_region_ms = median(&mut within).unwrap_or(Self::REFERENCE.same_region_ms);
        Ok(Self { intercept_ms, ms_per_km, same_region_ms })
    }

    /// Estimated RTT between two distinct regions `distance_km` apart.
    pub fn estimate_ms(&self, distance_km: f64) -> f64 {
        let line = self.intercept_ms + self.ms_per_km * distance_km;
        line.max(FIBRE_RTT_MS_PER_KM * distance_km).max(0.0)
    }

    /// Estimated RTT between two distinct regions at these `(latitude, longitude)` points.
    pub fn estimate_between(&self, from: (f64, f64), to: (f64, f64)) -> f64 {
        self.estimate_ms(haversine_km(from, to))
    }

    /// Median absolute percentage error (in %) of the estimate over `(distance_km, rtt_ms)`
    /// pairs with a positive RTT; `None` when there is none.
    pub fn median_ape_percent(&self, pairs: &[(f64, f64)]) -> Option<f64> {
        let mut errors: Vec<f64> = pairs
            .iter()
            .filter(|&&(_, rtt)| rtt.is_finite() && rtt > 0.0)
            .map(|&(d, rtt)| (self.estimate_ms(d) - rtt).abs() / rtt * 100.0)
            .collect();
        median(&mut errors)
    }
}

impl Default for DistanceModel {
    fn default() -> Self {
        Self::REFERENCE
    }
}

/// For a fixed slope: the intercept minimising `Σ |r − a − b·d| / r`, and that minimum.
fn best_intercept(samples: &[(f64, f64)], slope: f64, scratch: &mut Vec<(f64, f64)>) -> (f64, f64) {
    scratch.clear();
    scratch.extend(samples.iter().map(|&(d, rtt)| (rtt - slope * d, 1.0 / rtt)));
    scratch.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = scratch.iter().map(|s| s.1).sum::<f64>() / 2.0;
    let mut seen = 0.0;
    let mut intercept = scratch.last().map_or(0.0, |s| s.0);
    for &(residual, weight) in scratch.iter() {
        seen += weight;
        if seen >= half {
            intercept = residual;
            break;
        }
    }
    let loss = scratch.iter().map(|&(residual, weight)| weight * (residual - intercept).abs()).sum();
    (intercept, loss)
}

/// The median (mean of the two middle values for an even count); sorts `values`.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}
