//! Fitting the distance model to a measured matrix, and judging it on pairs it did not see.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::FitError;
use super::distance::{DistanceModel, haversine_km};
use super::matrix::{LatencyMatrix, normalise};

/// Measurements paired with the great-circle distance of their regions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitSamples {
    /// `(distance_km, rtt_ms)` of every measured directed cell between distinct regions that
    /// both have coordinates.
    pub between: Vec<(f64, f64)>,
    /// RTTs measured inside one region (the matrix diagonal).
    pub same_region: Vec<f64>,
}

/// Pairs every measured cell of `matrix` with the distance between its regions.
/// `coordinates` maps `{provider}-{region}` (any case) to `(latitude, longitude)`.
pub fn fit_samples(matrix: &LatencyMatrix, coordinates: &HashMap<String, (f64, f64)>) -> FitSamples {
    let mut samples = FitSamples::default();
    for pair in pairs(matrix, coordinates).into_values() {
        samples.between.extend(pair.between());
        samples.same_region.extend(pair.same_region());
    }
    samples
}

/// Fits a [`DistanceModel`] to every usable cell of `matrix`.
pub fn fit_to_matrix(
    matrix: &LatencyMatrix,
    coordinates: &HashMap<String, (f64, f64)>,
) -> Result<DistanceModel, FitError> {
    let samples = fit_samples(matrix, coordinates);
    DistanceModel::fit(&samples.between, &samples.same_region)
}

/// The outcome of [`evaluate_holdout`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldoutReport {
    /// The model fitted on the training pairs.
    pub model: DistanceModel,
    /// Directed cells between distinct regions used for fitting.
    pub train_cells: usize,
    /// Directed cells between distinct regions held out.
    pub test_cells: usize,
    /// Median absolute percentage error of the model on the held-out cells.
    pub median_ape_percent: f64,
}

/// K-fold style hold-out: region pairs (unordered, so both directions of a pair fall on the
/// same side) are sorted by id and every `folds`-th one starting at `fold` is held out; the
/// model is fitted on the rest and scored on the held-out cells between distinct regions.
/// Deterministic: the same matrix gives the same report.
pub fn evaluate_holdout(
    matrix: &LatencyMatrix,
    coordinates: &HashMap<String, (f64, f64)>,
    folds: usize,
    fold: usize,
) -> Result<HoldoutReport, FitError> {
    if folds < 2 || fold >= folds {
        return Err(FitError::InvalidFold { folds, fold });
    }
    let all = pairs(matrix, coordinates);
    let mut train = FitSamples::default();
    let mut test = Vec::new();
    let distinct = all.values().filter(|pair| !pair.same);
    for (position, pair) in distinct.enumerate() {
        if position % folds == fold {
            test.extend(pair.between());
        } else {
            train.between.extend(pair.between());
        }
    }
    for pair in all.values() {
        train.same_region.extend(pair.same_region());
    }
    let model = DistanceModel::fit(&train.between, &train.same_region)?;
    let median_ape_percent = model.median_ape_percent(&test).ok_or(FitError::TooFewPairs { usable: 0 })?;
    Ok(HoldoutReport { model, train_cells: train.between.len(), test_cells: test.len(), median_ape_percent })
}

/// Both directions' measurements of one unordered region pair.
struct Pair {
    distance_km: f64,
    same: bool,
    rtts: Vec<f64>,
}

impl Pair {
    fn between(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let d = self.distance_km;
        self.rtts.iter().filter(|_| !self.same).map(move |&rtt| (d, rtt))
    }

    fn same_region(&self) -> impl Iterator<Item = f64> + '_ {
        self.rtts.iter().copied().filter(|_| self.same)
    }
}

/// Measured pairs whose regions both have coordinates, keyed by the ordered id pair.
fn pairs(matrix: &LatencyMatrix, coordinates: &HashMap<String, (f64, f64)>) -> BTreeMap<(String, String), Pair> {
    let coordinates: HashMap<String, (f64, f64)> =
        coordinates.iter().map(|(id, &point)| (normalise(id).into_owned(), point)).collect();
    let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
    for (from, to, measurement) in matrix.iter() {
        let (Some(&a), Some(&b)) = (coordinates.get(from), coordinates.get(to)) else {
            continue;
        };
        let key = if from <= to { (from.to_owned(), to.to_owned()) } else { (to.to_owned(), from.to_owned()) };
        pairs
            .entry(key)
            .or_insert_with(|| Pair { distance_km: haversine_km(a, b), same: from == to, rtts: Vec::new() })
            .rtts
            .push(measurement.ms);
    }
    // The matrix iterates in hash order; sorting keeps every fit bit-for-bit reproducible.
    for pair in pairs.values_mut() {
        pair.rtts.sort_by(f64::total_cmp);
    }
    pairs
}
