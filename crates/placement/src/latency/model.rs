//! Measured RTT where there is one, the distance estimate otherwise.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::LatencyError;
use super::distance::DistanceModel;
use super::matrix::{LatencyMatrix, Measurement, normalise};

/// Whether an RTT was measured or estimated from distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RttSource {
    /// From the latency matrix (loaded or recorded).
    Measured,
    /// From the [`DistanceModel`].
    Estimated,
}

/// An RTT and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rtt {
    /// Round-trip time in milliseconds.
    pub ms: f64,
    /// Measured or estimated.
    pub source: RttSource,
}

/// A region id resolved against the model's tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegionHandle {
    index: Option<u32>,
    coordinates: Option<(f64, f64)>,
}

/// Region coordinates `(latitude, longitude)` in degrees keyed by `{provider}-{region}`.
pub type Coordinates = HashMap<String, (f64, f64)>;

/// RTT between any two regions: the measurement when the matrix has one (either direction),
/// else the distance estimate from the regions' coordinates. Two VMs in the same region get
/// the measured diagonal cell or the model's same-region RTT, which needs no coordinates.
#[derive(Debug, Clone, Default)]
pub struct LatencyModel {
    matrix: LatencyMatrix,
    coordinates: Coordinates,
    distance: DistanceModel,
}

impl LatencyModel {
    /// Builds the model; coordinate keys are normalised like region ids (trimmed, lower case).
    /// Fails on a latitude outside ±90° or a longitude outside ±180°.
    pub fn new(matrix: LatencyMatrix, coordinates: Coordinates, distance: DistanceModel) -> Result<Self, LatencyError> {
        let mut normalised = HashMap::with_capacity(coordinates.len());
        for (region, (latitude, longitude)) in coordinates {
            let valid = (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
            if !valid {
                return Err(LatencyError::InvalidCoordinates { region, latitude, longitude });
            }
            normalised.insert(normalise(&region).into_owned(), (latitude, longitude));
        }
        Ok(Self { matrix, coordinates: normalised, distance })
    }

    /// RTT from `from` to `to`.
    pub fn rtt_ms(&self, from: &str, to: &str) -> Result<Rtt, LatencyError> {
        if let Some(Measurement { ms, .. }) = self.matrix.measurement(from, to) {
            return Ok(Rtt { ms, source: RttSource::Measured });
        }
        let (from_id, to_id) = (normalise(from), normalise(to));
        if from_id == to_id {
            return Ok(Rtt { ms: self.distance.same_region_ms, source: RttSource::Estimated });
        }
        let unknown = |missing: &str| LatencyError::Unknown {
            from: from_id.to_string(),
            to: to_id.to_string(),
            missing: missing.to_owned(),
        };
        let a = self.coordinates.get(from_id.as_ref()).ok_or_else(|| unknown(&from_id))?;
        let b = self.coordinates.get(to_id.as_ref()).ok_or_else(|| unknown(&to_id))?;
        Ok(Rtt { ms: self.distance.estimate_between(*a, *b), source: RttSource::Estimated })
    }

    /// Records a measurement (e.g. from the benchmark agent); it wins over loaded values and
    /// over the estimate.
    pub fn record(&mut self, from: &str, to: &str, ms: f64) -> Result<(), LatencyError> {
        self.matrix.record(from, to, ms)
    }

    /// Resolves a region id once, so that many pairs can be looked up without hashing strings.
    pub(crate) fn handle(&self, region: &str) -> RegionHandle {
        let id = normalise(region);
        RegionHandle { index: self.matrix.index_of(&id), coordinates: self.coordinates.get(id.as_ref()).copied() }
    }

    /// The larger of the two directions' RTTs between two resolved regions (`same` when they
    /// are one region): a bound that holds whichever VM starts the round trip. `None` when
    /// neither a measurement nor both coordinates are known.
    pub(crate) fn symmetric_rtt(&self, a: &RegionHandle, b: &RegionHandle, same: bool) -> Option<Rtt> {
        if let (Some(i), Some(j)) = (a.index, b.index) {
            let there = self.matrix.directed_by_index(i, j);
            let back = self.matrix.directed_by_index(j, i);
            let measured = match (there, back) {
                (Some(x), Some(y)) => Some(x.ms.max(y.ms)),
                (Some(x), None) | (None, Some(x)) => Some(x.ms),
                (None, None) => None,
            };
            if let Some(ms) = measured {
                return Some(Rtt { ms, source: RttSource::Measured });
            }
        }
        let ms = if same {
            self.distance.same_region_ms
        } else {
            self.distance.estimate_between(a.coordinates?, b.coordinates?)
        };
        Some(Rtt { ms, source: RttSource::Estimated })
    }

    /// The region's `(latitude, longitude)`, if known.
    pub fn coordinates(&self, region: &str) -> Option<(f64, f64)> {
        self.coordinates.get(normalise(region).as_ref()).copied()
    }

    /// The measured matrix.
    pub fn matrix(&self) -> &LatencyMatrix {
        &self.matrix
    }

    /// The distance model used for estimates.
    pub fn distance_model(&self) -> &DistanceModel {
        &self.distance
    }
}
