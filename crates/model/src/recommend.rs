//! Wire types of spec recommendation: the request of `POST /recommendSpec` and the options
//! document of `GET /recommendSpecOptions`, in the JSON spelling of the CB-Tumblebug v0.11.23
//! OpenAPI document (`model.RecommendSpecReq`, `model.RecommendSpecRequestOptions`).
//!
//! `weight` and `limit` were strings up to v0.11 and numbers from v0.12; both spellings are
//! read here (also without the server's lenient decoder) and written back as strings, the
//! spelling of the v0.11.23 document. What the values mean is decided by `tb-placement`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// Request

/// Body of `POST /recommendSpec`: which specs qualify (`filter`), how they are ordered
/// (`priority`) and how many are returned (`limit`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RecommendSpecReq {
    pub filter: FilterInfo,
    pub priority: PriorityInfo,
    /// Most specs returned. Absent, `null`, `""`, a non-numeric string (v0.11 behaviour) or a
    /// value ≤ 0 mean "all". A number with a fraction is refused.
    #[serde(with = "limit", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "5")]
    pub limit: Option<i64>,
}

/// The filter policies; all of them must hold (AND).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FilterInfo {
    pub policy: Vec<FilterCondition>,
}

/// Conditions on one metric; all of them must hold (AND).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FilterCondition {
    /// e.g. `vCPU`, `memoryGiB`, `providerName` (case-insensitive).
    #[schema(example = "vCPU")]
    pub metric: String,
    pub condition: Vec<Operation>,
}

/// One comparison: `{"operator": ">=", "operand": "2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Operation {
    /// `>=`, `<=`, `==`, `>`, `<` for numbers; `==` or empty for strings.
    #[schema(example = ">=")]
    pub operator: String,
    /// A number for numeric metrics; one value or a comma/space separated list for strings.
    #[serde(deserialize_with = "string_or_number::deserialize")]
    #[schema(example = "2")]
    pub operand: String,
}

/// The priority policies, in order of importance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriorityInfo {
    pub policy: Vec<PriorityCondition>,
}

/// One priority: `cost`, `performance`, `location`, `latency` or `random`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriorityCondition {
    #[schema(example = "location")]
    pub metric: String,
    /// Relative weight. When any priority carries one, specs are ranked by the weighted sum
    /// of normalised metrics instead of priority by priority.
    #[serde(with = "weight", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "0.3")]
    pub weight: Option<f64>,
    pub parameter: Vec<ParameterKeyVal>,
}

/// A parameter of a priority: `{"key": "coordinateClose", "val": ["37.5665/126.9780"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ParameterKeyVal {
    #[schema(example = "coordinateClose")]
    pub key: String,
    #[schema(example = json!(["44.146838/-116.411403"]))]
    pub val: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Options document

/// Body of `GET /recommendSpecOptions`: every metric, operator and parameter the
/// recommendation accepts, with examples. Fields beyond the v0.11.23 document (`metrics`,
/// `operators`, `randomParameters`) describe each entry in full.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RecommendSpecRequestOptions {
    pub filter: FilterOptionsInfo,
    pub priority: PriorityOptionsInfo,
    /// Example `limit` values.
    pub limit: Vec<String>,
}

/// What can be filtered on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FilterOptionsInfo {
    /// Every filter metric name.
    pub available_metrics: Vec<String>,
    /// For string metrics with a short list of values (provider, region, architecture...):
    /// the values present in the catalog, lower-cased.
    pub available_values: BTreeMap<String, Vec<String>>,
    pub example_policies: Vec<FilterConditionExample>,
    pub limit_examples: Vec<String>,
    /// One entry per metric: its kind, unit, operators and an example.
    pub metrics: Vec<FilterMetricOption>,
    /// Every operator and what it does.
    pub operators: Vec<OperatorOption>,
}

/// An example filter policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FilterConditionExample {
    pub metric: String,
    pub description: String,
    pub condition: Vec<OperationExample>,
}

/// An example condition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OperationExample {
    pub operator: String,
    pub operand: String,
}

/// Description of one filter metric.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FilterMetricOption {
    pub metric: String,
    /// `number`, `string` (exact, case-insensitive, list = any of) or `substring`.
    pub kind: String,
    /// e.g. `GiB`, `USD/hour`; empty when unitless.
    pub unit: String,
    pub description: String,
    pub operators: Vec<String>,
    pub example: Vec<OperationExample>,
}

/// Description of one operator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OperatorOption {
    pub operator: String,
    pub description: String,
    /// Metric kinds the operator applies to.
    pub applies_to: Vec<String>,
}

/// What specs can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PriorityOptionsInfo {
    pub available_metrics: Vec<String>,
    pub example_policies: Vec<PriorityConditionExample>,
    pub parameter_options: ParameterOptionsInfo,
    /// One entry per priority metric: what it orders by and which way is better.
    pub metrics: Vec<PriorityMetricOption>,
}

/// An example priority policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriorityConditionExample {
    pub metric: String,
    pub description: String,
    pub weight: String,
    pub parameter: Vec<ParameterKeyValExample>,
}

/// An example priority parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ParameterKeyValExample {
    pub key: String,
    pub description: String,
    pub val: Vec<String>,
}

/// Parameters of the priorities that take some.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ParameterOptionsInfo {
    pub location_parameters: Vec<ParameterOptionDetail>,
    pub latency_parameters: Vec<ParameterOptionDetail>,
    pub random_parameters: Vec<ParameterOptionDetail>,
}

/// Description of one priority parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ParameterOptionDetail {
    pub key: String,
    pub description: String,
    pub format: String,
    pub example: Vec<String>,
}

/// Description of one priority metric.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PriorityMetricOption {
    pub metric: String,
    pub description: String,
    /// `lower` or `higher`: which values rank first (`none` for random).
    pub better: String,
    /// Keys of the parameters the metric takes.
    pub parameters: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Lenient scalars

/// Reads a string, or a number as its decimal text (Go clients send `"operand": 4` too).
mod string_or_number {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(TextVisitor)
    }

    struct TextVisitor;

    impl Visitor<'_> for TextVisitor {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a number")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_owned())
        }

        fn visit_string<E: de::Error>(self, s: String) -> Result<String, E> {
            Ok(s)
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
            Ok(n.to_string())
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<String, E> {
            Ok(f.to_string())
        }

        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
}

/// `weight`: a number or a numeric string; `null` and `""` mean "no weight".
mod weight {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(w) => s.serialize_str(&w.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(WeightVisitor)
    }

    struct WeightVisitor;

    impl<'de> Visitor<'de> for WeightVisitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a weight: a number or a numeric string")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n as f64))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n as f64))
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
            Ok(Some(f))
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            match s.parse::<f64>() {
                Ok(w) if w.is_finite() => Ok(Some(w)),
                _ => Err(E::custom(format!("weight: {s:?} is not a number"))),
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(WeightVisitor)
        }
    }
}

/// `limit`: a number or a string. v0.11 parsed the string with `strconv.Atoi` and treated a
/// failure as "no limit"; that is kept for strings, while a JSON number with a fraction is an
/// error (v0.12's integer field refuses it too).
mod limit {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_any(LimitVisitor)
    }

    struct LimitVisitor;

    impl<'de> Visitor<'de> for LimitVisitor {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a limit: an integer or a string")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(i64::try_from(n).unwrap_or(i64::MAX)))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n))
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
            if f.is_finite() && f.fract() == 0.0 {
                // Saturating: any limit beyond i64 means "all" anyway.
                Ok(Some(f as i64))
            } else {
                Err(E::custom(format!("limit: {f} is not an integer")))
            }
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(s.trim().parse::<i64>().ok())
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(LimitVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> RecommendSpecReq {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_the_documented_template() {
        let r = req(r#"{
            "filter": {"policy": [
                {"metric": "vCPU", "condition": [{"operator": ">=", "operand": "2"},
                                                 {"operator": "<=", "operand": 8}]},
                {"metric": "providerName", "condition": [{"operand": "aws,gcp"}]}]},
            "priority": {"policy": [{"metric": "location", "weight": "0.3",
                "parameter": [{"key": "coordinateClose", "val": ["44.146838/-116.411403"]}]}]},
            "limit": "5"}"#);
        assert_eq!(r.limit, Some(5));
        assert_eq!(r.filter.policy.len(), 2);
        assert_eq!(r.filter.policy[0].condition[1].operand, "8");
        assert_eq!(r.filter.policy[1].condition[0].operator, "");
        assert_eq!(r.priority.policy[0].weight, Some(0.3));
        assert_eq!(r.priority.policy[0].parameter[0].val, ["44.146838/-116.411403"]);
    }

    #[test]
    fn limit_and_weight_spellings() {
        for (json, limit) in [
            (r#"{"limit": 7}"#, Some(7)),
            (r#"{"limit": "7"}"#, Some(7)),
            (r#"{"limit": " 7 "}"#, Some(7)),
            (r#"{"limit": 7.0}"#, Some(7)),
            (r#"{"limit": "all"}"#, None),
            (r#"{"limit": ""}"#, None),
            (r#"{"limit": null}"#, None),
            (r#"{}"#, None),
            (r#"{"limit": -1}"#, Some(-1)),
        ] {
            assert_eq!(req(json).limit, limit, "{json}");
        }
        assert!(serde_json::from_str::<RecommendSpecReq>(r#"{"limit": 2.5}"#).is_err());

        let weight = |json: &str| serde_json::from_str::<PriorityCondition>(json).map(|p| p.weight);
        assert_eq!(weight(r#"{"weight": 0.5}"#).unwrap(), Some(0.5));
        assert_eq!(weight(r#"{"weight": "0.5"}"#).unwrap(), Some(0.5));
        assert_eq!(weight(r#"{"weight": 2}"#).unwrap(), Some(2.0));
        assert_eq!(weight(r#"{"weight": ""}"#).unwrap(), None);
        assert_eq!(weight(r#"{}"#).unwrap(), None);
        let err = weight(r#"{"weight": "heavy"}"#).unwrap_err().to_string();
        assert!(err.contains("weight: \"heavy\" is not a number"), "{err}");
    }

    #[test]
    fn writes_v0_11_strings() {
        let r = RecommendSpecReq {
            limit: Some(3),
            priority: PriorityInfo {
                policy: vec![PriorityCondition { metric: "cost".into(), weight: Some(0.25), parameter: vec![] }],
            },
            ..RecommendSpecReq::default()
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["limit"], "3");
        assert_eq!(json["priority"]["policy"][0]["weight"], "0.25");
        let back: RecommendSpecReq = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        let none = serde_json::to_value(RecommendSpecReq::default()).unwrap();
        assert!(none.get("limit").is_none());
    }
}
