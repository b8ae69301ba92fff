//! Filter policies: compiled against the index into one predicate per metric, then run by
//! scanning only the candidates of the most selective predicate.

use std::collections::BTreeMap;

use tb_model::recommend::FilterInfo;

use super::error::RecommendError;
use super::index::{Column, SpecIndex};
use super::metrics::{FILTER_METRICS, Field, MetricKind, Op, OperatorDef, filter_metric, names};

/// The compiled filter: all predicates must hold.
#[derive(Debug)]
pub(crate) struct FilterPlan {
    predicates: Vec<Predicate>,
}

#[derive(Debug)]
enum Predicate {
    /// A numeric metric within bounds.
    Range { metric: usize, low: Bound, high: Bound },
    /// A string metric whose (lower-cased) value is one of the codes (sorted, distinct).
    Codes { metric: usize, codes: Vec<u32> },
}

#[derive(Debug, Clone, Copy)]
struct Bound {
    value: f64,
    inclusive: bool,
}

impl Bound {
    const NONE_LOW: Bound = Bound { value: f64::NEG_INFINITY, inclusive: true };
    const NONE_HIGH: Bound = Bound { value: f64::INFINITY, inclusive: true };

    /// The tighter of two lower bounds.
    fn max_low(self, other: Bound) -> Bound {
        if other.value > self.value {
            other
        } else if other.value == self.value {
            Bound { value: self.value, inclusive: self.inclusive && other.inclusive }
        } else {
            self
        }
    }

    /// The tighter of two upper bounds.
    fn min_high(self, other: Bound) -> Bound {
        if other.value < self.value {
            other
        } else if other.value == self.value {
            Bound { value: self.value, inclusive: self.inclusive && other.inclusive }
        } else {
            self
        }
    }

    fn admits_above(self, v: f64) -> bool {
        if self.inclusive { v >= self.value } else { v > self.value }
    }

    fn admits_below(self, v: f64) -> bool {
        if self.inclusive { v <= self.value } else { v < self.value }
    }
}

/// What the conditions on one metric add up to while compiling.
enum Accumulated {
    Range(Bound, Bound),
    Codes(Vec<u32>),
}

/// Checks the filter policies and resolves string values to codes of the index.
pub(crate) fn compile(index: &SpecIndex, filter: &FilterInfo) -> Result<FilterPlan, RecommendError> {
    let mut by_metric: BTreeMap<usize, Accumulated> = BTreeMap::new();
    for (i, policy) in filter.policy.iter().enumerate() {
        let at = format!("filter.policy[{i}]");
        let Some((m, metric)) = filter_metric(&policy.metric) else {
            return Err(RecommendError::UnknownMetric {
                at,
                metric: policy.metric.clone(),
                allowed: names(FILTER_METRICS.iter().map(|m| m.name)),
            });
        };
        for (j, condition) in policy.condition.iter().enumerate() {
            let at = format!("{at}.condition[{j}]");
            let op = operator(&at, metric.name, metric.kind, &condition.operator)?;
            let operand = condition.operand.trim();
            if operand.is_empty() {
                return Err(RecommendError::EmptyOperand { at, metric: metric.name.into() });
            }
            let column = index.column(m);
            match (metric.field, column) {
                (Field::Number { .. }, _) => {
                    let value = number(&at, metric.name, operand)?;
                    let entry = by_metric.entry(m).or_insert(Accumulated::Range(Bound::NONE_LOW, Bound::NONE_HIGH));
                    if let Accumulated::Range(low, high) = entry {
                        narrow(low, high, op, value);
                    }
                }
                (Field::Text { .. }, Some(Column::Text(text))) => {
                    let codes = matching_codes(text, metric.kind, operand);
                    let entry = by_metric.entry(m).or_insert(Accumulated::Codes(codes.clone()));
                    if let Accumulated::Codes(held) = entry {
                        held.retain(|c| codes.binary_search(c).is_ok());
                    }
                }
                // An index always has a text column for a text metric; without one (an
                // empty default index) nothing can match.
                (Field::Text { .. }, _) => {
                    by_metric.insert(m, Accumulated::Codes(Vec::new()));
                }
            }
        }
    }
    let predicates = by_metric
        .into_iter()
        .map(|(metric, acc)| match acc {
            Accumulated::Range(mut low, high) => {
                if let Field::Number { unknown_below_zero: true, .. } = FILTER_METRICS[metric].field {
                    low = low.max_low(Bound { value: 0.0, inclusive: true });
                }
                Predicate::Range { metric, low, high }
            }
            Accumulated::Codes(codes) => Predicate::Codes { metric, codes },
        })
        .collect();
    Ok(FilterPlan { predicates })
}

fn operator(at: &str, metric: &str, kind: MetricKind, given: &str) -> Result<Op, RecommendError> {
    let given_trimmed = given.trim();
    super::metrics::OPERATORS
        .iter()
        .find(|o: &&OperatorDef| o.symbol == given_trimmed && o.kinds.contains(&kind))
        .map(|o| o.op)
        .ok_or_else(|| RecommendError::BadOperator {
            at: at.into(),
            metric: metric.into(),
            operator: given.into(),
            allowed: names(
                super::metrics::operators_for(kind).map(|o| if o.symbol.is_empty() { "\"\"" } else { o.symbol }),
            ),
        })
}

fn number(at: &str, metric: &str, operand: &str) -> Result<f64, RecommendError> {
    operand.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| RecommendError::NotANumber {
        at: at.into(),
        metric: metric.into(),
        operand: operand.into(),
    })
}

fn narrow(low: &mut Bound, high: &mut Bound, op: Op, value: f64) {
    let closed = Bound { value, inclusive: true };
    let open = Bound { value, inclusive: false };
    match op {
        Op::AtLeast => *low = low.max_low(closed),
        Op::Above => *low = low.max_low(open),
        Op::AtMost => *high = high.min_high(closed),
        Op::Below => *high = high.min_high(open),
        Op::Equal => {
            *low = low.max_low(closed);
            *high = high.min_high(closed);
        }
    }
}

/// The codes of the values an operand selects, sorted and distinct. Exact metrics take a
/// list separated by commas or spaces; substring metrics separate fragments by commas only,
/// since descriptions and models contain spaces (`NVIDIA T4`).
fn matching_codes(text: &super::index::TextColumn, kind: MetricKind, operand: &str) -> Vec<u32> {
    let operand = operand.to_lowercase();
    let mut codes: Vec<u32> = if kind == MetricKind::Substring {
        let fragments: Vec<&str> = operand.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
        text.dict
            .iter()
            .enumerate()
            .filter(|(_, value)| fragments.iter().any(|f| value.contains(f)))
            .filter_map(|(code, _)| u32::try_from(code).ok())
            .collect()
    } else {
        operand
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|v| !v.is_empty())
            .filter_map(|v| text.by_value.get(v).copied())
            .collect()
    };
    codes.sort_unstable();
    codes.dedup();
    codes
}

impl FilterPlan {
    /// Rows of the specs that pass every predicate, in no particular order.
    pub(crate) fn run(&self, index: &SpecIndex) -> Vec<u32> {
        let Some(driver) = self.most_selective(index) else {
            return (0..index.len()).filter_map(|r| u32::try_from(r).ok()).collect();
        };
        let checks: Vec<Check> = self
            .predicates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != driver.position)
            .filter_map(|(_, p)| Check::new(index, p))
            .collect();
        let keep = |row: &u32| checks.iter().all(|c| c.admits(*row));
        match driver.rows {
            DriverRows::Slice(rows) => rows.iter().copied().filter(keep).collect(),
            DriverRows::Postings(lists) => lists.iter().flat_map(|l| l.iter().copied()).filter(keep).collect(),
        }
    }

    /// The predicate with the fewest candidate rows, and those rows.
    fn most_selective<'a>(&self, index: &'a SpecIndex) -> Option<Driver<'a>> {
        let mut best: Option<Driver<'a>> = None;
        for (position, predicate) in self.predicates.iter().enumerate() {
            let (rows, count) = match (predicate, index.column(predicate_metric(predicate))) {
                (Predicate::Range { low, high, .. }, Some(Column::Number(col))) => {
                    let start = col.sorted_values.partition_point(|&v| !low.admits_above(v));
                    let end = col.sorted_values.partition_point(|&v| high.admits_below(v));
                    let rows = col.sorted_rows.get(start..end.max(start)).unwrap_or(&[]);
                    (DriverRows::Slice(rows), rows.len())
                }
                (Predicate::Codes { codes, .. }, Some(Column::Text(col))) => {
                    let lists: Vec<&'a [u32]> =
                        codes.iter().filter_map(|&c| col.postings.get(c as usize).map(Vec::as_slice)).collect();
                    let count = lists.iter().map(|l| l.len()).sum();
                    (DriverRows::Postings(lists), count)
                }
                _ => (DriverRows::Slice(&[]), 0),
            };
            if best.as_ref().is_none_or(|b| count < b.count) {
                best = Some(Driver { position, rows, count });
            }
        }
        best
    }
}

fn predicate_metric(p: &Predicate) -> usize {
    match p {
        Predicate::Range { metric, .. } | Predicate::Codes { metric, .. } => *metric,
    }
}

struct Driver<'a> {
    position: usize,
    rows: DriverRows<'a>,
    count: usize,
}

enum DriverRows<'a> {
    Slice(&'a [u32]),
    Postings(Vec<&'a [u32]>),
}

/// A predicate checked row by row against the columns.
enum Check<'a> {
    Range { values: &'a [f64], low: Bound, high: Bound },
    Codes { codes: &'a [u32], allowed: Vec<bool> },
}

impl<'a> Check<'a> {
    fn new(index: &'a SpecIndex, p: &Predicate) -> Option<Check<'a>> {
        match (p, index.column(predicate_metric(p))?) {
            (Predicate::Range { low, high, .. }, Column::Number(col)) => {
                Some(Check::Range { values: &col.values, low: *low, high: *high })
            }
            (Predicate::Codes { codes, .. }, Column::Text(col)) => {
                let mut allowed = vec![false; col.dict.len()];
                for &c in codes {
                    if let Some(slot) = allowed.get_mut(c as usize) {
                        *slot = true;
                    }
                }
                Some(Check::Codes { codes: &col.codes, allowed })
            }
            _ => None,
        }
    }

    fn admits(&self, row: u32) -> bool {
        let row = row as usize;
        match self {
            Check::Range { values, low, high } => {
                values.get(row).is_some_and(|&v| low.admits_above(v) && high.admits_below(v))
            }
            Check::Codes { codes, allowed } => {
                codes.get(row).and_then(|&c| allowed.get(c as usize)).copied().unwrap_or(false)
            }
        }
    }
}
