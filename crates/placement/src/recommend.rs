//! Spec recommendation.
