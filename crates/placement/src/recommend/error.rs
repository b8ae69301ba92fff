//! Why a recommendation request was refused. Every variant is the caller's mistake (the
//! server answers 400); `at` names the place in the request, e.g. `filter.policy[1]`.

/// A request that cannot be carried out as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecommendError {
    /// A filter or priority metric that does not exist.
    #[error("{at}: invalid metric: {metric} (expected one of: {allowed})")]
    UnknownMetric {
        /// Where in the request.
        at: String,
        /// The metric as given.
        metric: String,
        /// The accepted metric names, comma separated.
        allowed: String,
    },
    /// An operator that does not exist or does not apply to the metric's kind.
    #[error("{at}: operator {operator:?} does not apply to {metric} (use one of: {allowed})")]
    BadOperator {
        /// Where in the request.
        at: String,
        /// The metric the condition is on.
        metric: String,
        /// The operator as given.
        operator: String,
        /// The operators the metric accepts.
        allowed: String,
    },
    /// A numeric metric compared with something that is not a finite number.
    #[error("{at}: operand {operand:?} of {metric} is not a number")]
    NotANumber {
        /// Where in the request.
        at: String,
        /// The metric the condition is on.
        metric: String,
        /// The operand as given.
        operand: String,
    },
    /// A condition without any value to compare with.
    #[error("{at}: operand of {metric} is empty")]
    EmptyOperand {
        /// Where in the request.
        at: String,
        /// The metric the condition is on.
        metric: String,
    },
    /// A priority parameter that is unknown, missing, repeated or malformed.
    #[error("{at}: {message}")]
    BadParameter {
        /// Where in the request.
        at: String,
        /// What is wrong, with the expected form.
        message: String,
    },
    /// A priority weight that cannot be used.
    #[error("{at}: weight {weight} must be a finite number >= 0")]
    BadWeight {
        /// Where in the request.
        at: String,
        /// The weight as given.
        weight: f64,
    },
    /// Weighted ranking where every weight is zero: nothing would order the specs.
    #[error("priority.policy: the weights add up to 0; give at least one priority a positive weight")]
    ZeroWeights,
}
