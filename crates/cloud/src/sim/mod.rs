//! The simulated multi-cloud: a product feature, not a mock. It lets anyone run Tumblebug on a
//! laptop and lets tests and benchmarks reproduce what real clouds do.
//!
//! - Every catalog region is a connection `{provider}-{region}`; its zones, specs and images
//!   come from the catalog and requests are validated against them.
//! - VMs move through each CSP's native states with realistic durations (table below), scaled
//!   by a time factor and evaluated lazily from timestamps: an idle VM costs nothing.
//! - Random choices (ids, addresses, durations, fault draws) come from one seeded generator.
//! - Fault knobs ([`FaultConfig`]) inject capacity and quota errors, throttling, transient
//!   errors, slow creates, lost responses and VMs failing after boot.
//! - State can persist in a `tb_store::Store`, and the sim can run as its own process
//!   ([`router`], [`serve`]) reached by [`SimHttpDriver`].
//!
//! # CSP behaviour
//!
//! | CSP | create | suspend | resume | reboot | terminate | failure after boot |
//! |---|---|---|---|---|---|---|
//! | aws | pending → running | stopping → stopped | pending → running | stays running | shutting-down → terminated (listed ~1 h) → gone | shutting-down → terminated |
//! | gcp | PROVISIONING → STAGING → RUNNING | STOPPING → TERMINATED | PROVISIONING → STAGING → RUNNING | stays RUNNING | STOPPING → gone | REPAIRING |
//! | azure | creating/starting → succeeded/running | updating/stopping → succeeded/stopped | updating/starting → succeeded/running | updating/starting → succeeded/running | deleting/… → gone | failed/running |
//! | alibaba | Pending → Starting → Running | Stopping → Stopped | Starting → Running | Stopping → Starting → Running | Stopping → gone | Stopping → Stopped |
//! | tencent | PENDING → RUNNING | STOPPING → STOPPED | STARTING → RUNNING | REBOOTING → RUNNING | TERMINATING → gone | LAUNCH_FAILED |
//! | ibm | pending → starting → running | stopping → stopped | starting → running | restarting → running | deleting → gone | failed |
//! | ncp | init → creating → booting → setting up → running | shutting down → stopped | booting → running | rebooting → running | terminating → gone | shutting down → stopped |
//! | openstack, nhn, kt | BUILD → ACTIVE | ACTIVE → SHUTOFF | SHUTOFF → ACTIVE | REBOOT → ACTIVE | ACTIVE/SHUTOFF → gone | ERROR |
//! | other | Creating → Running | Suspending → Suspended | Resuming → Running | Rebooting → Running | Terminating → Terminated → gone | Failed |
//!
//! Suspend and reboot need a running VM, resume a stopped one; anything else is
//! `CloudError::InvalidRequest`. Terminate works from any state and is a no-op on a VM already
//! terminating or terminated. AWS and GCP give back the public IP on stop and assign a new one
//! on start. vNets and security groups cannot be deleted while a VM that is not yet terminated
//! uses them (`DependencyViolation`).

mod clock;
mod config;
mod driver;
mod engine;
mod net;
mod persist;
mod profile;
mod region;
mod remote;
mod resources;
mod track;
mod vms;

pub use clock::{ManualClock, SimClock};
pub use config::{
    CapacityFault, DurationOverrides, FailAfterBoot, FaultConfig, LostError, LostResponse, Scope, SimConfig,
    SlowCreate, Throttle, TransientErrors, VcpuQuota,
};
pub use driver::{SimAdmin, SimDriver};
pub use engine::{SimCloud, SimCloudBuilder, SimError};
pub use remote::{DEFAULT_TIMEOUT, SimHttpDriver, router, serve, serve_with_shutdown};
