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

    /// Adds measured RTTs (from the agents); they win over loaded values and estimates.
    pub(crate) fn apply_latencies<'a>(&self, rtts: impl Iterator<Item = (&'a str, &'a str, f64)>) {
        {
            let mut m = self.latency.matrix.write().unwrap_or_else(|p| p.into_inner());
            for (from, to, ms) in rtts {
                if let Err(error) = m.record(from, to, ms) {
                    tracing::warn!(from, to, ms, %error, "measured RTT not recorded");
                }
            }
        }
        self.rebuild_latency_model();
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

impl Tumblebug {
    /// The cheapest (or lowest-RTT) placement of a whole group of subgroups under an RTT bound
    /// and an optional distance limit: the exact optimum, returned with the `mciDynamic`
    /// request that creates it.
    pub fn place_mci(
        &self,
        req: &tb_model::placement::PlacementReq,
    ) -> CoreResult<tb_model::placement::PlacementResult> {
        use std::collections::HashMap;
        use tb_model::mci::{CreateSubGroupDynamicReq, MciDynamicReq};
        use tb_model::placement::{PlacementChoice, PlacementResult};
        use tb_model::recommend::{PriorityCondition, PriorityInfo, RecommendSpecReq};
        use tb_placement::group::{Candidate, GroupError, GroupRequest, Near, Objective, Subgroup};

        if req.sub_groups.is_empty() {
            return Err(CoreError::invalid("subGroups must name at least one subgroup"));
        }
        let objective = match req.objective.to_ascii_lowercase().as_str() {
            "" | "cost" => Objective::Cost,
            "worstrtt" | "latency" => Objective::WorstRtt,
            other => return Err(CoreError::invalid(format!("objective {other:?} must be cost or worstRtt"))),
        };
        let mut subgroups = Vec::new();
        for (i, sg) in req.sub_groups.iter().enumerate() {
            let name = if sg.name.is_empty() { format!("g{}", i + 1) } else { sg.name.clone() };
            let query = RecommendSpecReq {
                filter: sg.filter.clone(),
                priority: PriorityInfo {
                    policy: vec![PriorityCondition { metric: "cost".into(), ..PriorityCondition::default() }],
                },
                ..RecommendSpecReq::default()
            };
            let specs = self.recommend_spec(&query).map_err(|e| CoreError::invalid(format!("subGroup {name}: {e}")))?;
            // The cheapest qualifying spec of each region dominates the others there.
            let mut best: HashMap<String, Candidate> = HashMap::new();
            for s in specs.into_iter().filter(|s| s.cost_per_hour >= 0.0) {
                let slot = best.entry(s.connection_name.clone()).or_insert_with(|| Candidate {
                    region: s.connection_name.clone(),
                    spec_id: s.id.clone(),
                    cost_per_vm: s.cost_per_hour,
                });
                if s.cost_per_hour < slot.cost_per_vm {
                    slot.spec_id = s.id.clone();
                    slot.cost_per_vm = s.cost_per_hour;
                }
            }
            let mut candidates: Vec<Candidate> = best.into_values().collect();
            candidates.sort_by(|a, b| a.region.cmp(&b.region));
            if candidates.is_empty() {
                return Err(CoreError::Unsatisfiable(format!(
                    "subGroup {name}: no spec with a known price matches its filter"
                )));
            }
            subgroups.push(Subgroup { name, vm_count: sg.sub_group_size.unwrap_or(1).max(1), candidates });
        }
        let group = GroupRequest {
            subgroups,
            max_rtt_ms: req.max_rtt_ms,
            near: req.near.as_ref().map(|n| Near {
                latitude: n.latitude,
                longitude: n.longitude,
                max_distance_km: n.max_distance_km,
            }),
            objective,
        };
        let placement = tb_placement::group::place(&group, &self.latency.model()).map_err(|e| match e {
            GroupError::Invalid { .. } => CoreError::invalid(e.to_string()),
            other => CoreError::Unsatisfiable(other.to_string()),
        })?;
        let snap = self.catalog();
        let mut choices = Vec::new();
        for (c, sg) in placement.choices.iter().zip(&req.sub_groups) {
            let spec = snap.spec(&c.spec_id);
            let (provider, region) = spec.map(|s| (s.provider_name.clone(), s.region_name.clone())).unwrap_or_default();
            let wanted = if sg.os_type.is_empty() { "Ubuntu 22.04" } else { sg.os_type.as_str() }.to_lowercase();
            let gpu = spec.is_some_and(|s| s.accelerator_count > 0);
            let images = snap.catalog.images_in(&provider, &region);
            let image = images
                .iter()
                .filter(|i| i.os_type.to_lowercase().contains(&wanted))
                .find(|i| i.is_gpu_image == gpu)
                .or_else(|| images.iter().find(|i| i.os_type.to_lowercase().contains(&wanted)))
                .map(|i| crate::catalog_view::image_id(&i.provider, &i.region, &i.name))
                .ok_or_else(|| CoreError::Unsatisfiable(format!("no {wanted} image in {}", c.region)))?;
            choices.push(PlacementChoice {
                sub_group: c.subgroup.clone(),
                connection_name: c.region.clone(),
                spec_id: c.spec_id.clone(),
                image_id: image,
                cost_per_vm: c.cost_per_vm,
                vm_count: c.vm_count,
            });
        }
        let mci_dynamic_req = MciDynamicReq {
            sub_groups: choices
                .iter()
                .map(|c| CreateSubGroupDynamicReq {
                    name: c.sub_group.clone(),
                    sub_group_size: Some(c.vm_count),
                    spec_id: c.spec_id.clone(),
                    image_id: c.image_id.clone(),
                    ..CreateSubGroupDynamicReq::default()
                })
                .collect(),
            ..MciDynamicReq::default()
        };
        let worst = placement.worst_rtt.as_ref();
        Ok(PlacementResult {
            choices,
            total_cost: placement.total_cost,
            worst_rtt_ms: worst.and_then(|w| w.ms),
            worst_pair: worst
                .map(|w| format!("{} ({}) - {} ({})", w.from_subgroup, w.from_region, w.to_subgroup, w.to_region))
                .unwrap_or_default(),
            nodes: placement.nodes,
            mci_dynamic_req,
        })
    }
}
