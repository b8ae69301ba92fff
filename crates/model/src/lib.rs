//! Domain types and pure rules of Tumblebug. No I/O lives here: everything is a value or a
//! function of values, so it can be tested with tables.

pub mod agent;
pub mod benchmark;
pub mod command;
pub mod lifecycle;
pub mod mci;
pub mod naming;
pub mod native;
pub mod placeholder;
pub mod placement;
pub mod recommend;
pub mod request;
pub mod resource;
pub mod status;

pub use naming::{NameError, check_name, provider_region_key, to_lower};
pub use status::{TargetAction, VmStatus};
