//! Depth-first branch and bound over subgroups with forward checking (see the module docs of
//! [`super`] for the argument that it is exact).
//!
//! The cost objective runs in two passes: the lowest cost first (ties cut at once), then the
//! lowest worst RTT among placements of exactly that cost. One lexicographic pass would have
//! to explore every cost tie to find the best RTT among them, and equal prices are common
//! (one list price across a provider's regions); the second pass instead tightens the
//! compatibility graph to its incumbent's worst RTT, like the RTT objective does.

use std::cmp::Ordering;

use super::Objective;
use super::bitset;
use super::problem::{Constraints, Problem};

/// A full assignment and its objective values.
#[derive(Debug, Clone)]
pub(super) struct Solution {
    /// Region index per subgroup, in request order.
    pub regions: Vec<usize>,
    /// Total cost in micro-units.
    pub cost: u128,
    /// Worst pairwise RTT (0 for a single VM, infinite if some RTT is unknown).
    pub worst: f64,
}

pub(super) struct Outcome {
    pub best: Option<Solution>,
    pub nodes: u64,
}

/// Finds the optimum under `constraints` for `objective`, or proves there is none.
pub(super) fn solve(problem: &Problem<'_>, constraints: &Constraints, objective: Objective) -> Outcome {
    match objective {
        Objective::WorstRtt => run(problem, constraints, Goal::WorstRtt { cost_cap: None }),
        Objective::Cost => {
            let cheapest = run(problem, constraints, Goal::Cost);
            let Some(first) = cheapest.best else {
                return cheapest;
            };
            let goal = Goal::WorstRtt { cost_cap: Some(first.cost) };
            let among_cheapest = run(problem, constraints, goal);
            Outcome {
                // The first pass's solution meets the cap, so the second always finds one.
                best: among_cheapest.best.or(Some(first)),
                nodes: cheapest.nodes + among_cheapest.nodes,
            }
        }
    }
}

/// What one pass minimises.
#[derive(Clone, Copy)]
enum Goal {
    /// Total cost alone: any placement of the lowest cost.
    Cost,
    /// Worst RTT, then cost, then region ids; only placements costing at most `cost_cap`.
    WorstRtt { cost_cap: Option<u128> },
}

const UNPLACED: usize = usize::MAX;

/// One branching value: a region for the subgroup being placed, its cost and the worst RTT it
/// adds.
#[derive(Clone, Copy)]
struct Value {
    cost: u128,
    rtt: f64,
    region: usize,
}

struct Search<'a> {
    problem: &'a Problem<'a>,
    goal: Goal,
    /// The constraints' compatibility rows; for the RTT goal tightened to the incumbent's
    /// worst RTT, since a better placement cannot have a worse link.
    compat: Vec<u64>,
    subgroups: usize,
    words: usize,
    /// Domains per depth: level `d` holds `subgroups × words` words, valid for unplaced
    /// subgroups at depth `d`.
    levels: Vec<u64>,
    assigned: Vec<usize>,
    placed: Vec<usize>,
    values: Vec<Vec<Value>>,
    best: Option<Solution>,
    nodes: u64,
}

fn run(problem: &Problem<'_>, constraints: &Constraints, goal: Goal) -> Outcome {
    let subgroups = problem.subgroups.len();
    let words = problem.words;
    let level = subgroups * words;
    let mut levels = vec![0; (subgroups + 1) * level];
    levels[..level].copy_from_slice(&constraints.domains);
    let mut search = Search {
        problem,
        goal,
        compat: constraints.compat.clone(),
        subgroups,
        words,
        levels,
        assigned: vec![UNPLACED; subgroups],
        placed: Vec::with_capacity(subgroups),
        values: vec![Vec::new(); subgroups],
        best: None,
        nodes: 0,
    };
    search.visit(0, 0, 0.0);
    Outcome { best: search.best, nodes: search.nodes }
}

impl Search<'_> {
    fn domain(&self, depth: usize, s: usize) -> &[u64] {
        let start = (depth * self.subgroups + s) * self.words;
        &self.levels[start..start + self.words]
    }

    /// The worst RTT that placing subgroup `s` in `x` adds to the placed ones.
    fn added_rtt(&self, s: usize, x: usize) -> f64 {
        let own = if self.problem.subgroups[s].vm_count >= 2 { self.problem.rtt(x, x) } else { 0.0 };
        self.placed.iter().map(|&c| self.problem.rtt(c, x)).fold(own, f64::max)
    }

    fn visit(&mut self, depth: usize, cost: u128, worst: f64) {
        self.nodes += 1;
        if depth == self.subgroups {
            self.offer(cost, worst);
            return;
        }

        // Cost bound, emptiness and the most constrained subgroup in one pass.
        let mut cost_bound = cost;
        let mut pick: Option<(usize, usize, u128)> = None;
        for s in (0..self.subgroups).filter(|&s| self.assigned[s] == UNPLACED) {
            let costs = &self.problem.subgroups[s].cost;
            let (mut size, mut cheapest) = (0, u128::MAX);
            for x in bitset::ones(self.domain(depth, s)) {
                size += 1;
                cheapest = cheapest.min(costs[x]);
            }
            if size == 0 {
                return;
            }
            cost_bound += cheapest;
            if pick.is_none_or(|(_, smallest, _)| size < smallest) {
                pick = Some((s, size, cheapest));
            }
        }
        let Some((s, _, cheapest)) = pick else {
            return;
        };
        if !self.may_improve(depth, cost_bound, worst) {
            return;
        }
        let others_bound = cost_bound - cost - cheapest;

        let mut values = std::mem::take(&mut self.values[depth]);
        values.clear();
        for x in bitset::ones(self.domain(depth, s)) {
            values.push(Value { cost: self.problem.subgroups[s].cost[x], rtt: self.added_rtt(s, x), region: x });
        }
        let goal = self.goal;
        values.sort_by(|a, b| order_values(goal, a, b));

        for value in &values {
            let next_cost = cost + value.cost;
            let next_worst = worst.max(value.rtt);
            match self.goal {
                Goal::Cost => {
                    // Sorted by cost: once one cannot beat the incumbent, none after can.
                    if self.best.as_ref().is_some_and(|best| next_cost + others_bound >= best.cost) {
                        break;
                    }
                }
                Goal::WorstRtt { cost_cap } => {
                    // Sorted by added RTT: once one is worse than the incumbent, all are.
                    if self.best.as_ref().is_some_and(|best| next_worst > best.worst) {
                        break;
                    }
                    if cost_cap.is_some_and(|cap| next_cost + others_bound > cap) {
                        continue;
                    }
                }
            }
            self.narrow(depth, s, value.region);
            self.assigned[s] = value.region;
            self.placed.push(value.region);
            self.visit(depth + 1, next_cost, next_worst);
            self.placed.pop();
            self.assigned[s] = UNPLACED;
        }
        self.values[depth] = values;
    }

    /// Level `depth + 1` = level `depth` with every unplaced domain (other than `s`) cut to
    /// the regions compatible with `x`.
    fn narrow(&mut self, depth: usize, s: usize, x: usize) {
        let level = self.subgroups * self.words;
        let (current, next) = self.levels.split_at_mut((depth + 1) * level);
        let current = &current[depth * level..];
        let compat = &self.compat[x * self.words..(x + 1) * self.words];
        for u in (0..self.subgroups).filter(|&u| u != s && self.assigned[u] == UNPLACED) {
            let range = u * self.words..(u + 1) * self.words;
            bitset::and_into(&mut next[range.clone()], &current[range], compat);
        }
    }

    /// Whether some completion of this node could beat the incumbent. Bounds are compared key
    /// by key in the goal's order; a later key is only computed when earlier ones tie.
    fn may_improve(&self, depth: usize, cost_bound: u128, worst: f64) -> bool {
        match self.goal {
            Goal::Cost => self.best.as_ref().is_none_or(|best| cost_bound < best.cost),
            Goal::WorstRtt { cost_cap } => {
                if cost_cap.is_some_and(|cap| cost_bound > cap) {
                    return false;
                }
                let Some(best) = &self.best else {
                    return true;
                };
                let keys = self.worst_bound(depth, worst).total_cmp(&best.worst).then(cost_bound.cmp(&best.cost));
                match keys {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal => self.ids_bound(depth).as_slice() < best.regions.as_slice(),
                }
            }
        }
    }

    /// No completion has a worst RTT below this: the worst so far, and for every unplaced
    /// subgroup the least it must add wherever it goes.
    fn worst_bound(&self, depth: usize, worst: f64) -> f64 {
        (0..self.subgroups)
            .filter(|&s| self.assigned[s] == UNPLACED)
            .map(|s| bitset::ones(self.domain(depth, s)).map(|x| self.added_rtt(s, x)).fold(f64::INFINITY, f64::min))
            .fold(worst, f64::max)
    }

    /// No completion's region list is smaller: placed regions, and for unplaced subgroups the
    /// smallest region left (every completion is at least this, position by position).
    fn ids_bound(&self, depth: usize) -> Vec<usize> {
        (0..self.subgroups)
            .map(|s| match self.assigned[s] {
                UNPLACED => bitset::first(self.domain(depth, s)).unwrap_or(usize::MAX),
                x => x,
            })
            .collect()
    }

    fn offer(&mut self, cost: u128, worst: f64) {
        let better = match (&self.best, self.goal) {
            (None, _) => true,
            (Some(best), Goal::Cost) => cost < best.cost,
            (Some(best), Goal::WorstRtt { .. }) => worst
                .total_cmp(&best.worst)
                .then(cost.cmp(&best.cost))
                .then_with(|| self.assigned.cmp(&best.regions))
                .is_lt(),
        };
        if !better {
            return;
        }
        let tightened = self.best.as_ref().is_none_or(|best| worst < best.worst);
        self.best = Some(Solution { regions: self.assigned.clone(), cost, worst });
        if tightened && matches!(self.goal, Goal::WorstRtt { .. }) {
            self.tighten(worst);
        }
    }

    /// Drops every compatibility above `worst` (links equal to it may still tie on worst RTT
    /// and win on cost or ids).
    fn tighten(&mut self, worst: f64) {
        let regions = self.problem.regions.len();
        for x in 0..regions {
            let row = &mut self.compat[x * self.words..(x + 1) * self.words];
            for y in 0..regions {
                if self.problem.rtt(x, y) > worst {
                    bitset::clear(row, y);
                }
            }
        }
    }
}

fn order_values(goal: Goal, a: &Value, b: &Value) -> Ordering {
    let keys = match goal {
        Goal::Cost => a.cost.cmp(&b.cost).then(a.rtt.total_cmp(&b.rtt)),
        Goal::WorstRtt { .. } => a.rtt.total_cmp(&b.rtt).then(a.cost.cmp(&b.cost)),
    };
    keys.then(a.region.cmp(&b.region))
}
