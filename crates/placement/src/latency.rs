//! Latency model.
