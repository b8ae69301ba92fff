//! The built-in workloads, each a reimplementation of the sysbench test Milkyway runs, with
//! the same per-event algorithm, block sizes and defaults, callable without the HTTP layer.
//! All of them block: run them on blocking threads.

pub mod cpu;
pub mod events;
pub mod fileio;
pub mod memory;
pub mod oltp;
pub mod rand;

pub use events::{Limits, RunStats, Step};
