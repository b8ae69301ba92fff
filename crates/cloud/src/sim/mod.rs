//! The simulated multi-cloud.
