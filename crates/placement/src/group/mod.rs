//! The exact cheapest placement of a whole group of VMs under a bound on pairwise RTT.
//!
//! A request has subgroups (as in CB-Tumblebug, each placed wholly in one region with one
//! spec), each with candidate `(region, spec, cost per VM)` options the caller has already
//! filtered, a VM count, an optional bound `max_rtt_ms` that must hold between every two VMs
//! of the group, and an optional point to stay within `max_distance_km` of. [`place`] returns
//! the optimum, not an approximation, or an error that explains why nothing fits.
//!
//! # Semantics
//!
//! * RTT between two regions is the larger of the two directions' RTTs from the
//!   [`LatencyModel`] (measured where the matrix has it, else estimated from distance), so the
//!   bound holds whichever VM starts the round trip. A pair with neither a measurement nor
//!   coordinates has an unknown RTT, which no bound accepts.
//! * Two VMs in the same region (of one subgroup of two or more VMs, or of two subgroups placed
//!   in one region) are the region's same-region RTT apart: the measured diagonal cell, else
//!   the distance model's same-region constant (0.474 ms for the reference fit). It is small
//!   but not zero, and it is what such VMs actually see.
//! * Objectives ([`Objective`]): total cost `Σ count × cost per VM` (default), ties broken by
//!   the worst pairwise RTT; or the worst pairwise RTT, ties broken by cost. Remaining ties go
//!   to the lexicographically smallest `(region, spec id)` list in request order. Costs are
//!   compared in micro-units (10⁻⁶ per VM-hour), so ties are exact.
//! * Region ids are compared case-insensitively and reported in lower case. A region without
//!   coordinates is never "within" a distance of the point.
//!
//! # Algorithm
//!
//! Depth-first branch and bound with forward checking:
//! 1. Dominance: per subgroup and region only the cheapest option can be optimal (same RTTs,
//!    lower cost), so a subgroup's domain is a set of regions.
//! 2. Compatibility graph: regions `x, y` may host VMs of one group only if `rtt(x, y)` is
//!    within the bound (`x = y` uses the same-region RTT); kept as bitsets.
//! 3. At each node the unplaced subgroup with the fewest compatible regions is branched on,
//!    best region first; placing it intersects every other domain with the region's
//!    compatibility row. An empty domain cuts the branch.
//! 4. Lower bounds: placed cost + each unplaced subgroup's cheapest compatible region; for the
//!    RTT, the worst RTT so far and, per unplaced subgroup, its least-bad compatible region
//!    against the placed ones; for the id tie-break, each unplaced subgroup's smallest region.
//!    A node whose bound is not better than the incumbent is cut, which is exact because the
//!    keys are compared in the objective's total order.
//! 5. When the worst RTT is being minimised, every improvement of the incumbent removes the
//!    links above its worst RTT from the compatibility graph: no better placement uses them.
//!    The cost objective runs two such searches: the lowest cost first (cost ties cut at
//!    once), then the lowest worst RTT among placements of exactly that cost. A single
//!    lexicographic pass would explore every cost tie, and equal prices are common; on 20
//!    single-VM subgroups at one price it took 700,000 nodes, the two passes take 2,000.
//!
//! When the search proves there is no solution, the same search without the bound minimises
//! the worst RTT, and the error reports that closest achievable value and the pair causing it.
//!
//! Benchmark (`cargo bench -p tb-placement --bench group`, 10 VMs, 40 ms bound, realistic
//! prices): 0.26–0.45 ms over the 110 measured regions, 1.05–1.6 ms over all 201 known regions,
//! most of it building the region-pair RTT table.

mod bitset;
mod explain;
mod problem;
mod search;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::latency::{LatencyModel, RttSource};

/// One placement option of a subgroup: a spec in a region at a price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// Region id `{provider}-{region}`.
    pub region: String,
    /// Spec id, reported back with the choice.
    pub spec_id: String,
    /// Cost of one VM (e.g. USD per hour); finite and non-negative.
    pub cost_per_vm: f64,
}

/// VMs placed together in one region with one spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subgroup {
    /// Unique name within the request.
    pub name: String,
    /// Number of VMs, at least 1.
    pub vm_count: u32,
    /// The options to choose from.
    pub candidates: Vec<Candidate>,
}

/// Stay within `max_distance_km` (great circle) of a point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Near {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// Largest allowed distance from the point to a chosen region.
    pub max_distance_km: f64,
}

/// What "best" means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Objective {
    /// Lowest total cost, then lowest worst pairwise RTT.
    #[default]
    Cost,
    /// Lowest worst pairwise RTT, then lowest total cost.
    WorstRtt,
}

/// A group placement problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRequest {
    /// The subgroups, in the order choices are reported and ids tie-broken.
    pub subgroups: Vec<Subgroup>,
    /// Bound on the RTT between every two VMs of the group.
    #[serde(default)]
    pub max_rtt_ms: Option<f64>,
    /// Region restriction around a point.
    #[serde(default)]
    pub near: Option<Near>,
    /// What to minimise.
    #[serde(default)]
    pub objective: Objective,
}

/// The option chosen for one subgroup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    /// Subgroup name.
    pub subgroup: String,
    /// Region id (lower case).
    pub region: String,
    /// Spec id of the chosen candidate.
    pub spec_id: String,
    /// Cost of one VM.
    pub cost_per_vm: f64,
    /// Number of VMs.
    pub vm_count: u32,
}

/// The RTT between two VMs of a placement, and where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// RTT in ms; `None` when neither measured nor estimable.
    pub ms: Option<f64>,
    /// Measured or estimated, when known.
    pub source: Option<RttSource>,
    /// One end's subgroup.
    pub from_subgroup: String,
    /// One end's region.
    pub from_region: String,
    /// The other end's subgroup (the same one for two VMs of one subgroup).
    pub to_subgroup: String,
    /// The other end's region.
    pub to_region: String,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ends = if self.from_region == self.to_region && self.from_subgroup == self.to_subgroup {
            format!("inside {} ({})", self.from_region, self.from_subgroup)
        } else if self.from_region == self.to_region {
            format!("inside {} ({}, {})", self.from_region, self.from_subgroup, self.to_subgroup)
        } else {
            format!(
                "between {} ({}) and {} ({})",
                self.from_region, self.from_subgroup, self.to_region, self.to_subgroup
            )
        };
        match self.ms {
            Some(ms) => write!(f, "{ms:.1} ms {ends}"),
            None => write!(f, "an unknown RTT {ends}"),
        }
    }
}

/// The optimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// One choice per subgroup, in request order.
    pub choices: Vec<Choice>,
    /// `Σ vm_count × cost_per_vm`.
    pub total_cost: f64,
    /// The worst RTT between two VMs of the group; `None` for a single VM.
    pub worst_rtt: Option<Link>,
    /// Search nodes visited (for diagnostics and benchmarks).
    pub nodes: u64,
}

/// The nearest region to a point and its distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nearest {
    /// Region id.
    pub region: String,
    /// Great-circle distance in km.
    pub distance_km: f64,
}

/// Why no placement exists or the request was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GroupError {
    /// The request itself is malformed.
    #[error("invalid group placement request: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A subgroup came without any option.
    #[error("subgroup {subgroup} has no candidate")]
    NoCandidates {
        /// The subgroup.
        subgroup: String,
    },
    /// No option of a subgroup is close enough to the point.
    #[error(
        "subgroup {subgroup} has no candidate within {max_distance_km} km of ({latitude}, {longitude}); {}",
        describe_nearest(nearest)
    )]
    NothingNear {
        /// The subgroup.
        subgroup: String,
        /// The point's latitude.
        latitude: f64,
        /// The point's longitude.
        longitude: f64,
        /// The requested radius.
        max_distance_km: f64,
        /// Its closest candidate region with coordinates, if any.
        nearest: Option<Nearest>,
    },
    /// A subgroup of several VMs has no region whose own RTT is within the bound.
    #[error(
        "subgroup {subgroup} puts {vm_count} VMs in one region but no candidate region keeps them within {max_rtt_ms} ms of each other; the best is {best}"
    )]
    SameRegionTooSlow {
        /// The subgroup.
        subgroup: String,
        /// Its VM count.
        vm_count: u32,
        /// The bound.
        max_rtt_ms: f64,
        /// Its candidate region with the lowest same-region RTT.
        best: Box<Link>,
    },
    /// Two subgroups have no pair of options within the bound.
    #[error(
        "subgroups {first} and {second} have no pair of candidate regions within {max_rtt_ms} ms; the closest is {closest}"
    )]
    PairTooFar {
        /// One subgroup.
        first: String,
        /// The other.
        second: String,
        /// The bound.
        max_rtt_ms: f64,
        /// Their closest pair of candidate regions.
        closest: Box<Link>,
    },
    /// Every pair can be satisfied on its own, but not all at once.
    #[error("no region set where all subgroups fit within {max_rtt_ms} ms; the closest is {closest}")]
    BoundTooTight {
        /// The bound.
        max_rtt_ms: f64,
        /// The worst link of the placement with the lowest achievable worst RTT.
        closest: Box<Link>,
        /// That placement.
        placement: Vec<Choice>,
    },
}

fn describe_nearest(nearest: &Option<Nearest>) -> String {
    match nearest {
        Some(n) => format!("the nearest is {} at {:.0} km", n.region, n.distance_km),
        None => "none of its candidate regions has known coordinates".to_owned(),
    }
}

/// Finds the exact optimum of `request` with RTTs from `latency`.
pub fn place(request: &GroupRequest, latency: &LatencyModel) -> Result<Placement, GroupError> {
    let problem = problem::Problem::build(request, latency)?;
    let bounded = problem::Constraints::new(&problem, request.max_rtt_ms);
    explain::check_each(&problem, &bounded, request)?;
    explain::check_pairs(&problem, &bounded, request)?;
    let outcome = search::solve(&problem, &bounded, request.objective);
    match outcome.best {
        Some(solution) => Ok(problem.placement(&solution, outcome.nodes)),
        None => Err(explain::closest_instead(&problem, request)),
    }
}
