//! The Tumblebug application layer.
