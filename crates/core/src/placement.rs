//! Placement questions answered from the catalog and the latency model: spec recommendation
//! (`recommendSpec`), its options, and RTTs between regions. The ranking itself lives in
//! `tb_placement`; this module holds the state it works on.

use std::sync::{Arc, RwLock};

use tb_model::recommend::{RecommendSpecReq, RecommendSpecRequestOptions};
use tb_model::resource::SpecInfo;
use tb_placement::latency::{Coordinates, DistanceModel, LatencyMatrix, LatencyModel, Rtt};
use tb_placement::recommend::{LatencyLookup, SpecIndex};

use crate::{CoreError, CoreResult, Tumblebug};

/// Measured RTTs (imported matrices, later the benchmark agent's) and the model built on them.
#[derive(Default)]
pub struct Latency {
    matrix: RwLock<LatencyMatrix>,
    model: RwLock<Arc<LatencyModel>>,
}

impl Latency {
    fn model(&self) -> Arc<LatencyModel> {
        self.model.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct ModelLookup(Arc<LatencyModel>);

impl LatencyLookup for ModelLookup {
    fn rtt_ms(&self, from: &str, to: &str) -> Option<f64> {
        self.0.rtt_ms(from, to).ok().map(|r| r.ms)
    }
}

impl Tumblebug {
    /// `POST /recommendSpec`: catalog specs filtered and ranked.
    pub fn recommend_spec(&self, req: &RecommendSpecReq) -> CoreResult<Vec<SpecInfo>> {
        let index = self.spec_index();
        let lookup = ModelLookup(self.latency.model());
        tb_placement::recommend::recommend(&index, req, &lookup).map_err(|e| CoreError::invalid(e.to_string()))
    }

    /// `GET /recommendSpecOptions`.
    pub fn recommend_spec_options(&self) -> RecommendSpecRequestOptions {
        tb_placement::recommend::options(&self.spec_index())
    }

    /// RTT between two regions (`{provider}-{region}`), measured or estimated.
    pub fn region_rtt(&self, from: &str, to: &str) -> CoreResult<Rtt> {
        self.latency.model().rtt_ms(from, to).map_err(|e| CoreError::invalid(e.to_string()))
    }

    /// The recommendation index of the current catalog, built on first use after a change.
    fn spec_index(&self) -> Arc<SpecIndex> {
        self.catalog().spec_index()
    }

    /// Adds a measured matrix (CB-Tumblebug's `cloudlatencymap.csv` format); returns a summary.
    pub(crate) fn load_latency_csv(&self, text: &str) -> Result<String, String> {
        let summary = {
            let mut m = self.latency.matrix.write().unwrap_or_else(|p| p.into_inner());
            m.load_csv(text).map_err(|e| e.to_string())?
        };
        self.rebuild_latency_model();
        Ok(format!("{summary:?}"))
    }

    /// Rebuilds the latency model from the matrix and the catalog's region coordinates,
    /// refitting the distance model when the matrix has enough pairs.
    pub(crate) fn rebuild_latency_model(&self) {
        let snap = self.catalog();
        let coordinates: Coordinates = snap
            .catalog
            .regions()
            .iter()
            .map(|r| (tb_model::naming::connection_name(&r.provider, &r.id), (r.latitude, r.longitude)))
            .collect();
        let matrix = self.latency.matrix.read().unwrap_or_else(|p| p.into_inner()).clone();
        let distance = tb_placement::latency::fit_to_matrix(&matrix, &coordinates).unwrap_or(DistanceModel::REFERENCE);
        match LatencyModel::new(matrix, coordinates, distance) {
            Ok(model) => *self.latency.model.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(model),
            Err(e) => tracing::warn!(error = %e, "latency model not rebuilt"),
        }
    }
}
