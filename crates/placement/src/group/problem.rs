//! The request turned into dense tables: regions by index, RTTs by region pair, and per
//! subgroup the single option worth considering in each region.

use std::collections::{BTreeMap, HashSet};

use super::bitset;
use super::search::Solution;
use super::{Choice, GroupError, GroupRequest, Link, Nearest, Placement};
use crate::latency::{LatencyModel, RttSource, haversine_km};

/// Costs above this per VM are refused, so that `count × micro-units` stays exact.
const MAX_COST_PER_VM: f64 = 1e9;

/// Micro-units per cost unit: costs are compared as integers so ties are exact.
const MICRO: f64 = 1e6;

/// Marks a region where a subgroup has no option.
const NO_OPTION: usize = usize::MAX;

pub(super) struct Problem<'r> {
    request: &'r GroupRequest,
    /// Every region some subgroup may use, sorted, so index order is id order.
    pub regions: Vec<String>,
    /// `pair[x * R + y]`: RTT between VMs in `x` and `y` (both directions' maximum; the
    /// same-region RTT on the diagonal); infinite when unknown.
    pub pair: Vec<f64>,
    estimated: Vec<bool>,
    /// Words per region bitset.
    pub words: usize,
    pub subgroups: Vec<Sub>,
}

pub(super) struct Sub {
    pub vm_count: u32,
    /// Total cost (`vm_count ×` micro-units per VM) in each region with an option.
    pub cost: Vec<u128>,
    /// Index of the candidate used in each region, or [`NO_OPTION`].
    option: Vec<usize>,
    /// Regions with an option.
    pub options: Vec<u64>,
}

/// What a bound allows: which regions may share a group, and what each subgroup may use.
pub(super) struct Constraints {
    /// `compat[x * words ..]`: regions that may host VMs of a group that has VMs in `x`.
    pub compat: Vec<u64>,
    /// `domains[s * words ..]`: regions subgroup `s` may use.
    pub domains: Vec<u64>,
}

impl<'r> Problem<'r> {
    pub fn build(request: &'r GroupRequest, latency: &LatencyModel) -> Result<Self, GroupError> {
        validate(request)?;
        let mut kept: Vec<BTreeMap<String, usize>> = Vec::with_capacity(request.subgroups.len());
        for subgroup in &request.subgroups {
            kept.push(cheapest_per_region(request, subgroup, latency)?);
        }
        let regions: Vec<String> = kept
            .iter()
            .flat_map(|by_region| by_region.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let count = regions.len();
        let words = bitset::words_for(count);

        let handles: Vec<_> = regions.iter().map(|r| latency.handle(r)).collect();
        let mut pair = vec![f64::INFINITY; count * count];
        let mut estimated = vec![false; count * count];
        for x in 0..count {
            for y in x..count {
                if let Some(rtt) = latency.symmetric_rtt(&handles[x], &handles[y], x == y) {
                    for cell in [x * count + y, y * count + x] {
                        pair[cell] = rtt.ms;
                        estimated[cell] = rtt.source == RttSource::Estimated;
                    }
                }
            }
        }

        let subgroups = request
            .subgroups
            .iter()
            .zip(&kept)
            .map(|(subgroup, by_region)| {
                let mut sub = Sub {
                    vm_count: subgroup.vm_count,
                    cost: vec![0; count],
                    option: vec![NO_OPTION; count],
                    options: vec![0; words],
                };
                for (region, &candidate) in by_region {
                    // Every kept region is in `regions`, which was built from them.
                    let Ok(x) = regions.binary_search(region) else { continue };
                    let unit = micro_units(subgroup.candidates[candidate].cost_per_vm);
                    sub.cost[x] = u128::from(subgroup.vm_count) * u128::from(unit);
                    sub.option[x] = candidate;
                    bitset::set(&mut sub.options, x);
                }
                sub
            })
            .collect();
        Ok(Self { request, regions, pair, estimated, words, subgroups })
    }

    pub fn rtt(&self, x: usize, y: usize) -> f64 {
        self.pair[x * self.regions.len() + y]
    }

    /// The link between subgroups `a` in region `x` and `b` in region `y`.
    pub fn link(&self, a: usize, x: usize, b: usize, y: usize) -> Link {
        let cell = x * self.regions.len() + y;
        let known = self.pair[cell].is_finite();
        let source = if self.estimated[cell] { RttSource::Estimated } else { RttSource::Measured };
        Link {
            ms: known.then_some(self.pair[cell]),
            source: known.then_some(source),
            from_subgroup: self.request.subgroups[a].name.clone(),
            from_region: self.regions[x].clone(),
            to_subgroup: self.request.subgroups[b].name.clone(),
            to_region: self.regions[y].clone(),
        }
    }

    /// The worst link of a full assignment (region per subgroup); `None` for a single VM.
    pub fn worst_link(&self, regions: &[usize]) -> Option<Link> {
        let mut worst: Option<(f64, usize, usize)> = None;
        let mut consider = |rtt: f64, a: usize, b: usize| {
            if worst.is_none_or(|(w, _, _)| rtt > w) {
                worst = Some((rtt, a, b));
            }
        };
        for (a, &x) in regions.iter().enumerate() {
            if self.subgroups[a].vm_count >= 2 {
                consider(self.rtt(x, x), a, a);
            }
            for (b, &y) in regions.iter().enumerate().skip(a + 1) {
                consider(self.rtt(x, y), a, b);
            }
        }
        worst.map(|(_, a, b)| self.link(a, regions[a], b, regions[b]))
    }

    /// The choices of a full assignment, in request order.
    pub fn choices(&self, regions: &[usize]) -> Vec<Choice> {
        self.request
            .subgroups
            .iter()
            .zip(&self.subgroups)
            .zip(regions)
            .map(|((subgroup, sub), &x)| {
                let candidate = &subgroup.candidates[sub.option[x]];
                Choice {
                    subgroup: subgroup.name.clone(),
                    region: self.regions[x].clone(),
                    spec_id: candidate.spec_id.clone(),
                    cost_per_vm: candidate.cost_per_vm,
                    vm_count: subgroup.vm_count,
                }
            })
            .collect()
    }

    pub fn placement(&self, solution: &Solution, nodes: u64) -> Placement {
        let choices = self.choices(&solution.regions);
        let total_cost = choices.iter().map(|c| f64::from(c.vm_count) * c.cost_per_vm).sum();
        Placement { choices, total_cost, worst_rtt: self.worst_link(&solution.regions), nodes }
    }
}

impl Constraints {
    /// Applies `bound` (none: everything is compatible).
    pub fn new(problem: &Problem<'_>, bound: Option<f64>) -> Self {
        let count = problem.regions.len();
        let words = problem.words;
        let allowed = |rtt: f64| bound.is_none_or(|b| rtt <= b);
        let mut compat = vec![0; count * words];
        for x in 0..count {
            let row = &mut compat[x * words..(x + 1) * words];
            for y in 0..count {
                if allowed(problem.rtt(x, y)) {
                    bitset::set(row, y);
                }
            }
        }
        let mut domains = Vec::with_capacity(problem.subgroups.len() * words);
        for sub in &problem.subgroups {
            let mut domain = sub.options.clone();
            if sub.vm_count >= 2 {
                for x in bitset::ones(&sub.options) {
                    if !allowed(problem.rtt(x, x)) {
                        bitset::clear(&mut domain, x);
                    }
                }
            }
            domains.extend(domain);
        }
        Self { compat, domains }
    }

    pub fn compat(&self, x: usize, words: usize) -> &[u64] {
        &self.compat[x * words..(x + 1) * words]
    }

    pub fn domain(&self, s: usize, words: usize) -> &[u64] {
        &self.domains[s * words..(s + 1) * words]
    }
}

fn micro_units(cost: f64) -> u64 {
    // Validated finite, non-negative and at most MAX_COST_PER_VM, so this fits.
    (cost * MICRO).round() as u64
}

fn validate(request: &GroupRequest) -> Result<(), GroupError> {
    let invalid = |reason: String| Err(GroupError::Invalid { reason });
    if request.subgroups.is_empty() {
        return invalid("no subgroup".to_owned());
    }
    let mut names = HashSet::new();
    for subgroup in &request.subgroups {
        if subgroup.name.trim().is_empty() {
            return invalid("a subgroup has an empty name".to_owned());
        }
        if !names.insert(subgroup.name.as_str()) {
            return invalid(format!("subgroup {} appears twice", subgroup.name));
        }
        if subgroup.vm_count == 0 {
            return invalid(format!("subgroup {} has no VM", subgroup.name));
        }
        for candidate in &subgroup.candidates {
            let cost = candidate.cost_per_vm;
            if !(cost.is_finite() && (0.0..=MAX_COST_PER_VM).contains(&cost)) {
                return invalid(format!(
                    "candidate {} in {} of subgroup {} costs {cost}; expected 0 to {MAX_COST_PER_VM}",
                    candidate.spec_id, candidate.region, subgroup.name
                ));
            }
            if candidate.region.trim().is_empty() {
                return invalid(format!("candidate {} of subgroup {} has no region", candidate.spec_id, subgroup.name));
            }
        }
    }
    if let Some(bound) = request.max_rtt_ms
        && !(bound.is_finite() && bound >= 0.0)
    {
        return invalid(format!("maxRttMs {bound} is not a non-negative number"));
    }
    if let Some(near) = request.near {
        let point_ok = (-90.0..=90.0).contains(&near.latitude) && (-180.0..=180.0).contains(&near.longitude);
        let radius_ok = near.max_distance_km.is_finite() && near.max_distance_km >= 0.0;
        if !point_ok || !radius_ok {
            return invalid(format!(
                "near ({}, {}) within {} km is out of range",
                near.latitude, near.longitude, near.max_distance_km
            ));
        }
    }
    Ok(())
}

/// Per region (lower case) the candidate worth considering: the cheapest, then the smallest
/// spec id. Candidates outside the `near` radius are dropped first.
fn cheapest_per_region(
    request: &GroupRequest,
    subgroup: &super::Subgroup,
    latency: &LatencyModel,
) -> Result<BTreeMap<String, usize>, GroupError> {
    if subgroup.candidates.is_empty() {
        return Err(GroupError::NoCandidates { subgroup: subgroup.name.clone() });
    }
    let mut nearest: Option<Nearest> = None;
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    for (index, candidate) in subgroup.candidates.iter().enumerate() {
        let region = crate::latency::normalise(&candidate.region).into_owned();
        if let Some(near) = request.near {
            let Some(point) = latency.coordinates(&region) else {
                continue;
            };
            let distance_km = haversine_km((near.latitude, near.longitude), point);
            if nearest.as_ref().is_none_or(|n| distance_km < n.distance_km) {
                nearest = Some(Nearest { region: region.clone(), distance_km });
            }
            if distance_km > near.max_distance_km {
                continue;
            }
        }
        let better = |held: &usize| {
            let old = &subgroup.candidates[*held];
            let key = (micro_units(candidate.cost_per_vm), &candidate.spec_id);
            key < (micro_units(old.cost_per_vm), &old.spec_id)
        };
        match kept.get(&region) {
            Some(held) if !better(held) => {}
            _ => {
                kept.insert(region, index);
            }
        }
    }
    if kept.is_empty()
        && let Some(near) = request.near
    {
        return Err(GroupError::NothingNear {
            subgroup: subgroup.name.clone(),
            latitude: near.latitude,
            longitude: near.longitude,
            max_distance_km: near.max_distance_km,
            nearest,
        });
    }
    Ok(kept)
}
