//! Group placement.
