//! Priority policies, checked and turned into ranking rules.

use std::hash::{BuildHasher, RandomState};

use tb_model::recommend::{ParameterKeyVal, PriorityInfo};

use super::error::RecommendError;
use super::geo::{Coordinate, centroid};
use super::metrics::{
    COORDINATE_CLOSE, COORDINATE_FAIR, COORDINATE_WITHIN, LATENCY_MINIMAL, PRIORITY_METRICS, ParameterDef,
    PriorityKind, PriorityMetric, RADIUS_KM, SEED, names, priority_metric,
};

/// One checked priority.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Priority {
    pub rule: Rule,
    /// `None` when the request gave no weight.
    pub weight: Option<f64>,
}

/// What a priority orders by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    Cost,
    Performance,
    /// Distance from one point (coordinateClose, or the centroid of coordinateFair).
    Near(Coordinate),
    /// Distance to the farthest of the points, optionally bounded (coordinateWithin).
    Within {
        points: Vec<Coordinate>,
        radius_km: Option<f64>,
    },
    /// Sum of round-trip times from these region ids.
    Latency(Vec<String>),
    Random(u64),
}

impl Rule {
    /// Whether the rule measures a place (its raw value goes to `evaluationScore10`).
    pub(crate) fn is_place(&self) -> bool {
        matches!(self, Rule::Near(_) | Rule::Within { .. } | Rule::Latency(_))
    }
}

/// Checks every priority policy; no policy means cost.
pub(crate) fn parse(priority: &PriorityInfo) -> Result<Vec<Priority>, RecommendError> {
    if priority.policy.is_empty() {
        return Ok(vec![Priority { rule: Rule::Cost, weight: None }]);
    }
    let priorities = priority
        .policy
        .iter()
        .enumerate()
        .map(|(i, policy)| {
            let at = format!("priority.policy[{i}]");
            let Some(metric) = priority_metric(&policy.metric) else {
                return Err(RecommendError::UnknownMetric {
                    at,
                    metric: policy.metric.clone(),
                    allowed: names(PRIORITY_METRICS.iter().map(|m| m.name)),
                });
            };
            if let Some(weight) = policy.weight
                && (!weight.is_finite() || weight < 0.0)
            {
                return Err(RecommendError::BadWeight { at, weight });
            }
            let params = Params::check(&at, metric, &policy.parameter)?;
            let rule = match metric.kind {
                PriorityKind::Cost => Rule::Cost,
                PriorityKind::Performance => Rule::Performance,
                PriorityKind::Location => location(&params)?,
                PriorityKind::Latency => latency(&params)?,
                PriorityKind::Random => random(&params)?,
            };
            Ok(Priority { rule, weight: policy.weight })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let weighted = priorities.iter().any(|p| p.weight.is_some());
    let total: f64 = priorities.iter().map(|p| p.weight.unwrap_or(1.0)).sum();
    if weighted && total <= 0.0 {
        return Err(RecommendError::ZeroWeights);
    }
    Ok(priorities)
}

/// The parameters of one policy, each key known to the metric and given once.
struct Params<'a> {
    at: String,
    given: Vec<(&'static ParameterDef, usize, &'a ParameterKeyVal)>,
}

impl<'a> Params<'a> {
    fn check(at: &str, metric: &PriorityMetric, given: &'a [ParameterKeyVal]) -> Result<Params<'a>, RecommendError> {
        let mut params = Params { at: at.to_owned(), given: Vec::new() };
        for (j, p) in given.iter().enumerate() {
            let key = p.key.trim();
            let Some(def) = metric.parameters.iter().find(|d| d.key.eq_ignore_ascii_case(key)) else {
                let message = if metric.parameters.is_empty() {
                    format!("priority {} takes no parameter (got {key:?})", metric.name)
                } else {
                    format!(
                        "unknown parameter {key:?} for priority {} (expected one of: {})",
                        metric.name,
                        names(metric.parameters.iter().map(|d| d.key))
                    )
                };
                return Err(params.error(j, message));
            };
            if params.get(def).is_some() {
                return Err(params.error(j, format!("parameter {} is given twice", def.key)));
            }
            params.given.push((def, j, p));
        }
        Ok(params)
    }

    fn get(&self, def: &ParameterDef) -> Option<(usize, &'a ParameterKeyVal)> {
        self.given.iter().find(|(d, _, _)| d.key == def.key).map(|&(_, j, p)| (j, p))
    }

    fn error(&self, j: usize, message: String) -> RecommendError {
        RecommendError::BadParameter { at: format!("{}.parameter[{j}]", self.at), message }
    }

    /// The values of a parameter, trimmed, empty ones dropped.
    fn values(p: &ParameterKeyVal) -> Vec<&str> {
        p.val.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect()
    }

    fn points(&self, j: usize, p: &ParameterKeyVal) -> Result<Vec<Coordinate>, RecommendError> {
        let values = Params::values(p);
        if values.is_empty() {
            return Err(self.error(j, format!("{} needs at least one point \"latitude/longitude\"", p.key.trim())));
        }
        values
            .iter()
            .map(|v| {
                Coordinate::parse(v).ok_or_else(|| {
                    self.error(
                        j,
                        format!(
                            "{}: {v:?} is not a point \"latitude/longitude\" (latitude -90..90, \
                             longitude -180..180), e.g. 37.5665/126.9780",
                            p.key.trim()
                        ),
                    )
                })
            })
            .collect()
    }
}

fn location(params: &Params<'_>) -> Result<Rule, RecommendError> {
    let modes = [&COORDINATE_CLOSE, &COORDINATE_FAIR, &COORDINATE_WITHIN];
    let chosen: Vec<_> = modes.iter().filter_map(|d| params.get(d).map(|g| (d.key, g))).collect();
    let keys = || names(modes.iter().map(|d| d.key));
    let (key, (j, p)) = match chosen.as_slice() {
        [one] => *one,
        [] => {
            return Err(RecommendError::BadParameter {
                at: params.at.clone(),
                message: format!("priority location needs one of: {}", keys()),
            });
        }
        [_, (_, (j, _)), ..] => {
            return Err(params.error(*j, format!("priority location takes only one of: {}", keys())));
        }
    };
    let radius = params.get(&RADIUS_KM);
    if key != COORDINATE_WITHIN.key
        && let Some((rj, _)) = radius
    {
        return Err(params.error(rj, format!("radiusKm applies to {} only", COORDINATE_WITHIN.key)));
    }
    let points = params.points(j, p)?;
    if key == COORDINATE_CLOSE.key {
        return match points.as_slice() {
            [point] => Ok(Rule::Near(*point)),
            _ => Err(params.error(j, format!("{key} takes one point; use {} for several", COORDINATE_FAIR.key))),
        };
    }
    if key == COORDINATE_FAIR.key {
        return centroid(&points)
            .map(Rule::Near)
            .ok_or_else(|| params.error(j, format!("the points of {key} cancel out: they have no centroid")));
    }
    let radius_km = match radius {
        None => None,
        Some((rj, r)) => match Params::values(r).as_slice() {
            [v] => match v.parse::<f64>() {
                Ok(km) if km.is_finite() && km > 0.0 => Some(km),
                _ => {
                    return Err(params.error(rj, format!("radiusKm: {v:?} is not a positive number of km")));
                }
            },
            _ => {
                return Err(params.error(rj, "radiusKm takes one number of km".into()));
            }
        },
    };
    Ok(Rule::Within { points, radius_km })
}

fn latency(params: &Params<'_>) -> Result<Rule, RecommendError> {
    let Some((j, p)) = params.get(&LATENCY_MINIMAL) else {
        return Err(RecommendError::BadParameter {
            at: params.at.clone(),
            message: format!("priority latency needs {} with region ids like aws-ap-northeast-2", LATENCY_MINIMAL.key),
        });
    };
    let regions: Vec<String> = p
        .val
        .iter()
        .flat_map(|v| v.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|v| !v.is_empty())
        .map(str::to_lowercase)
        .collect();
    if regions.is_empty() {
        return Err(params.error(j, format!("{} needs at least one region id", LATENCY_MINIMAL.key)));
    }
    Ok(Rule::Latency(regions))
}

fn random(params: &Params<'_>) -> Result<Rule, RecommendError> {
    let Some((j, p)) = params.get(&SEED) else {
        // Unseeded: a fresh order per request. RandomState is keyed from the OS at first use.
        return Ok(Rule::Random(RandomState::new().hash_one(0u8)));
    };
    match Params::values(p).as_slice() {
        [v] => v
            .parse::<u64>()
            .map(Rule::Random)
            .map_err(|_| params.error(j, format!("seed: {v:?} is not an unsigned integer"))),
        _ => Err(params.error(j, "seed takes one unsigned integer".into())),
    }
}
