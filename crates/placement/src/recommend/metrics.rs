//! The vocabulary of a recommendation request: filter metrics, operators, priority metrics
//! and their parameters. Parsing, the index and the `recommendSpecOptions` document all read
//! these tables, so what is documented is exactly what is accepted.

use tb_model::resource::SpecInfo;

/// How a filter metric compares values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A number compared with `>=`, `<=`, `==`, `>`, `<`.
    Number,
    /// Text equal (case-insensitively) to one of the listed values.
    Text,
    /// Text containing (case-insensitively) one of the comma-separated fragments.
    Substring,
}

impl MetricKind {
    /// The name used in the options document.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Number => "number",
            MetricKind::Text => "string",
            MetricKind::Substring => "substring",
        }
    }
}

/// Where a filter metric's value comes from.
#[derive(Clone, Copy)]
pub(crate) enum Field {
    /// `unknown_below_zero`: the data marks an unknown value with a negative number (`-1` in
    /// CB-Tumblebug's `cloudspec.csv`); such a spec satisfies no condition on the metric.
    Number { get: fn(&SpecInfo) -> f64, unknown_below_zero: bool },
    /// `enumerable`: few distinct values, listed in the options document.
    Text { get: fn(&SpecInfo) -> &str, enumerable: bool },
}

/// One filter metric.
pub(crate) struct FilterMetric {
    /// The spelling of the v0.11 `FilterSpecsByRangeRequest` field (matched case-insensitively).
    pub name: &'static str,
    pub kind: MetricKind,
    pub field: Field,
    pub unit: &'static str,
    pub description: &'static str,
    /// An example condition list, as (operator, operand).
    pub example: &'static [(&'static str, &'static str)],
}

const fn number(
    name: &'static str,
    get: fn(&SpecInfo) -> f64,
    unit: &'static str,
    description: &'static str,
    example: &'static [(&'static str, &'static str)],
) -> FilterMetric {
    FilterMetric {
        name,
        kind: MetricKind::Number,
        field: Field::Number { get, unknown_below_zero: false },
        unit,
        description,
        example,
    }
}

/// A number where negative means "unknown".
const fn number_or_unknown(
    name: &'static str,
    get: fn(&SpecInfo) -> f64,
    unit: &'static str,
    description: &'static str,
    example: &'static [(&'static str, &'static str)],
) -> FilterMetric {
    FilterMetric {
        name,
        kind: MetricKind::Number,
        field: Field::Number { get, unknown_below_zero: true },
        unit,
        description,
        example,
    }
}

const fn text(
    name: &'static str,
    kind: MetricKind,
    get: fn(&SpecInfo) -> &str,
    enumerable: bool,
    description: &'static str,
    example: &'static [(&'static str, &'static str)],
) -> FilterMetric {
    FilterMetric { name, kind, field: Field::Text { get, enumerable }, unit: "", description, example }
}

const SCORE_EXAMPLE: &[(&str, &str)] = &[(">=", "0.5")];

/// Every filter metric, in the order of the options document.
pub(crate) static FILTER_METRICS: &[FilterMetric] = &[
    number("vCPU", |s| f64::from(s.vcpu), "vCPUs", "Number of virtual CPUs.", &[(">=", "2"), ("<=", "8")]),
    number("memoryGiB", |s| s.memory_gib, "GiB", "Memory size.", &[(">=", "4"), ("<=", "32")]),
    number(
        "diskSizeGB",
        |s| s.disk_size_gb,
        "GB",
        "Size of the instance's own disk (0 when it has none).",
        &[(">=", "100")],
    ),
    number_or_unknown(
        "costPerHour",
        |s| s.cost_per_hour,
        "USD/hour",
        "On-demand price. Specs whose price is unknown (negative) satisfy no condition on it.",
        &[("<=", "0.5")],
    ),
    number(
        "acceleratorCount",
        |s| f64::from(s.accelerator_count),
        "accelerators",
        "Number of GPUs or other accelerators.",
        &[(">=", "1")],
    ),
    number("acceleratorMemoryGB", |s| s.accelerator_memory_gb, "GB", "Memory of each accelerator.", &[(">=", "16")]),
    number("netBwGbps", |s| f64::from(s.net_bw_gbps), "Gbps", "Network bandwidth.", &[(">=", "10")]),
    number(
        "maxTotalStorageTiB",
        |s| f64::from(s.max_total_storage_tib),
        "TiB",
        "Largest total attachable storage.",
        &[(">=", "1")],
    ),
    number_or_unknown(
        "evaluationScore01",
        |s| s.evaluation_score01,
        "",
        "Performance score from benchmarks or the asset file. Unknown (negative) scores \
         satisfy no condition on it.",
        &[(">=", "1000")],
    ),
    number_or_unknown(
        "evaluationScore02",
        |s| s.evaluation_score02,
        "",
        "Evaluation score 2 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore03",
        |s| s.evaluation_score03,
        "",
        "Evaluation score 3 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore04",
        |s| s.evaluation_score04,
        "",
        "Evaluation score 4 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore05",
        |s| s.evaluation_score05,
        "",
        "Evaluation score 5 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore06",
        |s| s.evaluation_score06,
        "",
        "Evaluation score 6 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore07",
        |s| s.evaluation_score07,
        "",
        "Evaluation score 7 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore08",
        |s| s.evaluation_score08,
        "",
        "Evaluation score 8 (free use). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore09",
        |s| s.evaluation_score09,
        "",
        "Evaluation score 9 as stored (a recommendation writes its normalised rank score \
         here). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    number_or_unknown(
        "evaluationScore10",
        |s| s.evaluation_score10,
        "",
        "Evaluation score 10 as stored (a recommendation writes the raw distance or latency \
         here). Negative means unknown.",
        SCORE_EXAMPLE,
    ),
    text(
        "providerName",
        MetricKind::Text,
        |s| &s.provider_name,
        true,
        "Cloud provider. A list (comma or space separated) matches any of its values.",
        &[("==", "aws,gcp,azure")],
    ),
    text(
        "regionName",
        MetricKind::Text,
        |s| &s.region_name,
        true,
        "Region id as the provider writes it.",
        &[("==", "ap-northeast-2 us-east-1")],
    ),
    text(
        "connectionName",
        MetricKind::Text,
        |s| &s.connection_name,
        true,
        "Connection (provider-region) the spec is offered through.",
        &[("==", "aws-ap-northeast-2")],
    ),
    text(
        "cspSpecName",
        MetricKind::Text,
        |s| &s.csp_spec_name,
        false,
        "The provider's instance type name.",
        &[("==", "t3.medium,e2-standard-2")],
    ),
    text("architecture", MetricKind::Text, |s| &s.architecture, true, "CPU architecture.", &[("==", "x86_64")]),
    text(
        "infraType",
        MetricKind::Text,
        |s| &s.infra_type,
        true,
        "What the spec can run: vm, k8s, ...",
        &[("==", "vm")],
    ),
    text(
        "osType",
        MetricKind::Text,
        |s| &s.os_type,
        true,
        "OS type the spec is limited to, when it is.",
        &[("==", "ubuntu22.04")],
    ),
    text(
        "acceleratorType",
        MetricKind::Text,
        |s| &s.accelerator_type,
        true,
        "Kind of accelerator: gpu, fpga, ... (empty when none).",
        &[("==", "gpu")],
    ),
    text(
        "acceleratorModel",
        MetricKind::Substring,
        |s| &s.accelerator_model,
        true,
        "Accelerator model; matches specs whose model contains one of the comma-separated \
         fragments.",
        &[("", "t4,a100")],
    ),
    text(
        "description",
        MetricKind::Substring,
        |s| &s.description,
        false,
        "Free text; matches specs whose description contains one of the comma-separated \
         fragments.",
        &[("", "graviton")],
    ),
    text(
        "evaluationStatus",
        MetricKind::Text,
        |s| &s.evaluation_status,
        true,
        "Evaluation status as stored.",
        &[("==", "done")],
    ),
    text(
        "id",
        MetricKind::Text,
        |s| &s.id,
        false,
        "Spec id, e.g. aws+ap-northeast-2+t3.medium.",
        &[("==", "aws+ap-northeast-2+t3.medium")],
    ),
    text("name", MetricKind::Text, |s| &s.name, false, "Spec name.", &[("==", "aws+ap-northeast-2+t3.medium")]),
];

/// What an operator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    AtLeast,
    AtMost,
    Equal,
    Above,
    Below,
}

/// One operator.
pub(crate) struct OperatorDef {
    pub symbol: &'static str,
    pub op: Op,
    pub kinds: &'static [MetricKind],
    pub description: &'static str,
}

const ALL_KINDS: &[MetricKind] = &[MetricKind::Number, MetricKind::Text, MetricKind::Substring];
const NUMBER_ONLY: &[MetricKind] = &[MetricKind::Number];

/// Every operator. The empty operator is CB-Tumblebug's spelling for string conditions.
pub(crate) static OPERATORS: &[OperatorDef] = &[
    OperatorDef { symbol: ">=", op: Op::AtLeast, kinds: NUMBER_ONLY, description: "value is at least the operand" },
    OperatorDef {
        symbol: "<=",
        op: Op::AtMost,
        kinds: NUMBER_ONLY,
        description: "value is at most the operand (0 is a bound like any other)",
    },
    OperatorDef {
        symbol: "==",
        op: Op::Equal,
        kinds: ALL_KINDS,
        description: "numbers: value equals the operand; strings: value matches one of the \
                      listed values",
    },
    OperatorDef { symbol: ">", op: Op::Above, kinds: NUMBER_ONLY, description: "value is greater than the operand" },
    OperatorDef { symbol: "<", op: Op::Below, kinds: NUMBER_ONLY, description: "value is less than the operand" },
    OperatorDef {
        symbol: "",
        op: Op::Equal,
        kinds: &[MetricKind::Text, MetricKind::Substring],
        description: "strings only: same as ==",
    },
];

/// The operators that apply to a metric kind.
pub(crate) fn operators_for(kind: MetricKind) -> impl Iterator<Item = &'static OperatorDef> {
    OPERATORS.iter().filter(move |o| o.kinds.contains(&kind))
}

/// What a priority orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PriorityKind {
    Cost,
    Performance,
    Location,
    Latency,
    Random,
}

/// One priority parameter.
pub(crate) struct ParameterDef {
    pub key: &'static str,
    pub description: &'static str,
    pub format: &'static str,
    pub example: &'static [&'static str],
}

pub(crate) const COORDINATE_CLOSE: ParameterDef = ParameterDef {
    key: "coordinateClose",
    description: "Rank by distance from one point (closest first).",
    format: "latitude/longitude",
    example: &["37.5665/126.9780"],
};
pub(crate) const COORDINATE_FAIR: ParameterDef = ParameterDef {
    key: "coordinateFair",
    description: "Rank by distance from the centroid of several points (on the sphere: \
                  the normalised mean of their unit vectors), so that no point is favoured.",
    format: "latitude/longitude (two or more)",
    example: &["37.5665/126.9780", "35.6762/139.6503", "1.3521/103.8198"],
};
pub(crate) const COORDINATE_WITHIN: ParameterDef = ParameterDef {
    key: "coordinateWithin",
    description: "Rank by the distance to the farthest of the points (closest first); \
                  with radiusKm, drop specs farther than that from any point.",
    format: "latitude/longitude (one or more)",
    example: &["37.5665/126.9780", "35.6762/139.6503"],
};
pub(crate) const RADIUS_KM: ParameterDef = ParameterDef {
    key: "radiusKm",
    description: "With coordinateWithin only: greatest distance in km from every point.",
    format: "a positive number of km",
    example: &["1500"],
};
pub(crate) const LATENCY_MINIMAL: ParameterDef = ParameterDef {
    key: "latencyMinimal",
    description: "Rank by the sum of round-trip times from the given regions to the spec's \
                  region (lowest first). An unknown pair counts as 999999 ms and is named in \
                  the spec's details (key latencyMissing).",
    format: "region ids {provider}-{region}",
    example: &["aws-ap-northeast-2", "gcp-asia-northeast3"],
};
pub(crate) const SEED: ParameterDef = ParameterDef {
    key: "seed",
    description: "Makes the random order repeatable: the same seed and catalog give the same \
                  order.",
    format: "an unsigned integer",
    example: &["42"],
};

/// One priority metric.
pub(crate) struct PriorityMetric {
    pub name: &'static str,
    pub kind: PriorityKind,
    pub description: &'static str,
    /// `lower` or `higher` values first; `none` for random.
    pub better: &'static str,
    pub parameters: &'static [&'static ParameterDef],
    /// The parameters of the example policy (key and the example values of its definition).
    pub example: &'static [&'static ParameterDef],
}

/// Every priority metric, in the order of the options document.
pub(crate) static PRIORITY_METRICS: &[PriorityMetric] = &[
    PriorityMetric {
        name: "cost",
        kind: PriorityKind::Cost,
        description: "Cheapest first (costPerHour); unknown prices (negative) last. The \
                      default when no priority is given.",
        better: "lower",
        parameters: &[],
        example: &[],
    },
    PriorityMetric {
        name: "performance",
        kind: PriorityKind::Performance,
        description: "Highest evaluationScore01 first; specs without a positive score last.",
        better: "higher",
        parameters: &[],
        example: &[],
    },
    PriorityMetric {
        name: "location",
        kind: PriorityKind::Location,
        description: "Nearest region first (great-circle distance, haversine, R = 6371 km); \
                      specs whose region has no coordinates last. Takes exactly one of \
                      coordinateClose, coordinateFair, coordinateWithin.",
        better: "lower",
        parameters: &[&COORDINATE_CLOSE, &COORDINATE_FAIR, &COORDINATE_WITHIN, &RADIUS_KM],
        example: &[&COORDINATE_CLOSE],
    },
    PriorityMetric {
        name: "latency",
        kind: PriorityKind::Latency,
        description: "Lowest total round-trip time from the given regions first.",
        better: "lower",
        parameters: &[&LATENCY_MINIMAL],
        example: &[&LATENCY_MINIMAL],
    },
    PriorityMetric {
        name: "random",
        kind: PriorityKind::Random,
        description: "A random order (spreads load); repeatable with seed.",
        better: "none",
        parameters: &[&SEED],
        example: &[&SEED],
    },
];

/// The filter metric named `name`, compared case-insensitively.
pub(crate) fn filter_metric(name: &str) -> Option<(usize, &'static FilterMetric)> {
    let name = name.trim();
    FILTER_METRICS.iter().enumerate().find(|(_, m)| m.name.eq_ignore_ascii_case(name))
}

/// The priority metric named `name`, compared case-insensitively.
pub(crate) fn priority_metric(name: &str) -> Option<&'static PriorityMetric> {
    let name = name.trim();
    PRIORITY_METRICS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// Names joined for error messages.
pub(crate) fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}
