//! Why nothing fits, from the most specific reason to the most general: one subgroup alone,
//! two subgroups together, then the whole group.

use super::bitset;
use super::problem::{Constraints, Problem};
use super::search;
use super::{GroupError, GroupRequest, Objective};

/// A subgroup of several VMs whose every region is too slow inside itself.
pub(super) fn check_each(
    problem: &Problem<'_>,
    constraints: &Constraints,
    request: &GroupRequest,
) -> Result<(), GroupError> {
    let Some(bound) = request.max_rtt_ms else {
        return Ok(());
    };
    for (s, sub) in problem.subgroups.iter().enumerate() {
        if bitset::count(constraints.domain(s, problem.words)) > 0 {
            continue;
        }
        let fastest =
            bitset::ones(&sub.options).min_by(|&x, &y| problem.rtt(x, x).total_cmp(&problem.rtt(y, y)).then(x.cmp(&y)));
        if let Some(x) = fastest {
            return Err(GroupError::SameRegionTooSlow {
                subgroup: request.subgroups[s].name.clone(),
                vm_count: sub.vm_count,
                max_rtt_ms: bound,
                best: Box::new(problem.link(s, x, s, x)),
            });
        }
    }
    Ok(())
}

/// Two subgroups without a single pair of regions within the bound.
pub(super) fn check_pairs(
    problem: &Problem<'_>,
    constraints: &Constraints,
    request: &GroupRequest,
) -> Result<(), GroupError> {
    let Some(bound) = request.max_rtt_ms else {
        return Ok(());
    };
    let words = problem.words;
    let count = problem.subgroups.len();
    for a in 0..count {
        let first = constraints.domain(a, words);
        for b in a + 1..count {
            let second = constraints.domain(b, words);
            let compatible = bitset::ones(first).any(|x| bitset::intersects(constraints.compat(x, words), second));
            if compatible {
                continue;
            }
            let closest = bitset::ones(first).flat_map(|x| bitset::ones(second).map(move |y| (x, y))).min_by(
                |&(x1, y1), &(x2, y2)| {
                    let by_rtt = problem.rtt(x1, y1).total_cmp(&problem.rtt(x2, y2));
                    by_rtt.then((x1, y1).cmp(&(x2, y2)))
                },
            );
            if let Some((x, y)) = closest {
                return Err(GroupError::PairTooFar {
                    first: request.subgroups[a].name.clone(),
                    second: request.subgroups[b].name.clone(),
                    max_rtt_ms: bound,
                    closest: Box::new(problem.link(a, x, b, y)),
                });
            }
        }
    }
    Ok(())
}

/// The search proved the bound cannot be met: find the lowest worst RTT that can be met
/// instead, by the same exact search without a bound.
pub(super) fn closest_instead(problem: &Problem<'_>, request: &GroupRequest) -> GroupError {
    let bound = request.max_rtt_ms.unwrap_or(0.0);
    let relaxed = Constraints::new(problem, None);
    let outcome = search::solve(problem, &relaxed, Objective::WorstRtt);
    let closest = outcome.best.and_then(|solution| {
        let link = problem.worst_link(&solution.regions)?;
        Some((link, problem.choices(&solution.regions)))
    });
    match closest {
        Some((closest, placement)) => {
            GroupError::BoundTooTight { max_rtt_ms: bound, closest: Box::new(closest), placement }
        }
        // Every subgroup has an option and nothing else constrains the relaxed search, so it
        // always finds a placement; this only documents the impossible case.
        None => GroupError::Invalid { reason: "no placement exists even without the RTT bound".to_owned() },
    }
}
