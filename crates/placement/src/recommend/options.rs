//! The `GET /recommendSpecOptions` document, generated from the tables the parser reads.

use tb_model::recommend::{
    FilterConditionExample, FilterMetricOption, FilterOptionsInfo, OperationExample, OperatorOption,
    ParameterKeyValExample, ParameterOptionDetail, ParameterOptionsInfo, PriorityConditionExample,
    PriorityMetricOption, PriorityOptionsInfo, RecommendSpecRequestOptions,
};

use super::index::SpecIndex;
use super::metrics::{FILTER_METRICS, Field, OPERATORS, PRIORITY_METRICS, ParameterDef, PriorityKind, operators_for};

/// Example `limit` values; `0` means "all".
const LIMIT_EXAMPLES: &[&str] = &["0", "5", "10", "50", "100"];

/// Describes every filter metric, operator, priority and parameter, with examples; the
/// selectable values of short string metrics (providers, regions, architectures...) are
/// those of `index`.
pub fn options(index: &SpecIndex) -> RecommendSpecRequestOptions {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let examples = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(operator, operand)| OperationExample { operator: (*operator).into(), operand: (*operand).into() })
            .collect::<Vec<_>>()
    };
    let filter = FilterOptionsInfo {
        available_metrics: FILTER_METRICS.iter().map(|m| m.name.to_owned()).collect(),
        available_values: FILTER_METRICS
            .iter()
            .filter(|m| matches!(m.field, Field::Text { enumerable: true, .. }))
            .map(|m| {
                let mut values = index.distinct_values(m.name).unwrap_or_default();
                values.retain(|v| !v.is_empty());
                (m.name.to_owned(), values)
            })
            .collect(),
        example_policies: FILTER_METRICS
            .iter()
            .map(|m| FilterConditionExample {
                metric: m.name.into(),
                description: m.description.into(),
                condition: examples(m.example),
            })
            .collect(),
        limit_examples: strings(LIMIT_EXAMPLES),
        metrics: FILTER_METRICS
            .iter()
            .map(|m| FilterMetricOption {
                metric: m.name.into(),
                kind: m.kind.as_str().into(),
                unit: m.unit.into(),
                description: m.description.into(),
                operators: operators_for(m.kind).map(|o| o.symbol.to_owned()).collect(),
                example: examples(m.example),
            })
            .collect(),
        operators: OPERATORS
            .iter()
            .map(|o| OperatorOption {
                operator: o.symbol.into(),
                description: o.description.into(),
                applies_to: o.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            })
            .collect(),
    };
    let parameters_of = |kind: PriorityKind| {
        PRIORITY_METRICS
            .iter()
            .filter(|m| m.kind == kind)
            .flat_map(|m| m.parameters.iter().map(|d| detail(d)))
            .collect::<Vec<_>>()
    };
    let priority = PriorityOptionsInfo {
        available_metrics: PRIORITY_METRICS.iter().map(|m| m.name.to_owned()).collect(),
        example_policies: PRIORITY_METRICS
            .iter()
            .map(|m| PriorityConditionExample {
                metric: m.name.into(),
                description: m.description.into(),
                weight: "1.0".into(),
                parameter: m
                    .example
                    .iter()
                    .map(|d| ParameterKeyValExample {
                        key: d.key.into(),
                        description: d.description.into(),
                        val: strings(d.example),
                    })
                    .collect(),
            })
            .collect(),
        parameter_options: ParameterOptionsInfo {
            location_parameters: parameters_of(PriorityKind::Location),
            latency_parameters: parameters_of(PriorityKind::Latency),
            random_parameters: parameters_of(PriorityKind::Random),
        },
        metrics: PRIORITY_METRICS
            .iter()
            .map(|m| PriorityMetricOption {
                metric: m.name.into(),
                description: m.description.into(),
                better: m.better.into(),
                parameters: m.parameters.iter().map(|d| d.key.to_owned()).collect(),
            })
            .collect(),
    };
    RecommendSpecRequestOptions { filter, priority, limit: strings(LIMIT_EXAMPLES) }
}

fn detail(d: &ParameterDef) -> ParameterOptionDetail {
    ParameterOptionDetail {
        key: d.key.into(),
        description: d.description.into(),
        format: d.format.into(),
        example: d.example.iter().map(|s| (*s).to_owned()).collect(),
    }
}
