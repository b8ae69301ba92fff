//! Native CSP VM states and their mapping to Tumblebug statuses (reference §3.2).
//!
//! AWS, GCP, Azure, Alibaba and Tencent follow the tables Tumblebug v0.12.9+ applies when it
//! queries those clouds directly: a word outside the table is `Undefined`. OpenStack follows
//! CB-Spider's OpenStack driver (anything unknown is `Failed`); NHN and KT (OpenStack-based)
//! follow CB-Spider's NHN/KT-VPC drivers. IBM (VPC) and NCP have no direct table upstream and
//! are mapped here in the same spirit. Providers without a table go through CB-Spider, whose
//! normalised words are accepted as they are (reference §3.2, first paragraph).
//!
//! Explicit failure states (Azure ProvisioningState `failed`, Tencent `LAUNCH_FAILED`,
//! OpenStack/NHN/KT `ERROR`, IBM `failed`) map to `Failed`. Words compare case-insensitively.

use crate::VmStatus;

/// AWS EC2 instance states.
pub mod aws {
    pub const PENDING: &str = "pending";
    pub const RUNNING: &str = "running";
    pub const STOPPING: &str = "stopping";
    pub const STOPPED: &str = "stopped";
    pub const SHUTTING_DOWN: &str = "shutting-down";
    pub const TERMINATED: &str = "terminated";
}

/// GCP Compute Engine instance statuses.
pub mod gcp {
    pub const PROVISIONING: &str = "PROVISIONING";
    pub const STAGING: &str = "STAGING";
    pub const RUNNING: &str = "RUNNING";
    pub const STOPPING: &str = "STOPPING";
    pub const SUSPENDING: &str = "SUSPENDING";
    pub const SUSPENDED: &str = "SUSPENDED";
    /// GCP's word for a stopped VM.
    pub const TERMINATED: &str = "TERMINATED";
    /// The VM hit an internal error or host failure and is being repaired.
    pub const REPAIRING: &str = "REPAIRING";
}

/// Azure VM states, written `{provisioningState}/{powerState}` in lower case
/// (e.g. `succeeded/running`), the two halves of an Azure instance view.
pub mod azure {
    pub const CREATING: &str = "creating/starting";
    pub const RUNNING: &str = "succeeded/running";
    pub const STOPPING: &str = "updating/stopping";
    pub const STOPPED: &str = "succeeded/stopped";
    pub const DEALLOCATING: &str = "updating/deallocating";
    pub const DEALLOCATED: &str = "succeeded/deallocated";
    /// Start, and also restart: the power state passes through `starting`.
    pub const STARTING: &str = "updating/starting";
    pub const DELETING: &str = "deleting/running";
    pub const DELETING_STOPPED: &str = "deleting/stopped";
    pub const FAILED: &str = "failed/running";

    /// Joins the two halves into the native word.
    pub fn word(provisioning_state: &str, power_state: &str) -> String {
        format!("{}/{}", provisioning_state.to_ascii_lowercase(), power_state.to_ascii_lowercase())
    }
}

/// Alibaba Cloud ECS instance statuses.
pub mod alibaba {
    pub const PENDING: &str = "Pending";
    pub const STARTING: &str = "Starting";
    pub const RUNNING: &str = "Running";
    pub const STOPPING: &str = "Stopping";
    pub const STOPPED: &str = "Stopped";
}

/// Tencent Cloud CVM instance states.
pub mod tencent {
    pub const PENDING: &str = "PENDING";
    pub const LAUNCH_FAILED: &str = "LAUNCH_FAILED";
    pub const RUNNING: &str = "RUNNING";
    pub const STOPPING: &str = "STOPPING";
    pub const STOPPED: &str = "STOPPED";
    pub const STARTING: &str = "STARTING";
    pub const REBOOTING: &str = "REBOOTING";
    pub const SHUTDOWN: &str = "SHUTDOWN";
    pub const TERMINATING: &str = "TERMINATING";
}

/// IBM Cloud VPC instance statuses.
pub mod ibm {
    pub const PENDING: &str = "pending";
    pub const STARTING: &str = "starting";
    pub const RUNNING: &str = "running";
    pub const STOPPING: &str = "stopping";
    pub const STOPPED: &str = "stopped";
    pub const RESTARTING: &str = "restarting";
    pub const DELETING: &str = "deleting";
    pub const FAILED: &str = "failed";
}

/// NCP (Naver Cloud) server instance statuses, as the console and API name them.
pub mod ncp {
    pub const INIT: &str = "init";
    pub const CREATING: &str = "creating";
    pub const BOOTING: &str = "booting";
    pub const SETTING_UP: &str = "setting up";
    pub const RUNNING: &str = "running";
    pub const REBOOTING: &str = "rebooting";
    pub const HARD_REBOOTING: &str = "hard rebooting";
    pub const SHUTTING_DOWN: &str = "shutting down";
    pub const STOPPED: &str = "stopped";
    pub const TERMINATING: &str = "terminating";
    pub const CHANGING_SPEC: &str = "changingSpec";
    pub const COPYING: &str = "copying";
    pub const REPAIRING: &str = "repairing";
}

/// OpenStack Nova server statuses; NHN and KT Cloud (VPC) are OpenStack-based and use them too.
pub mod openstack {
    pub const BUILD: &str = "BUILD";
    pub const ACTIVE: &str = "ACTIVE";
    pub const SHUTOFF: &str = "SHUTOFF";
    pub const PAUSED: &str = "PAUSED";
    pub const REBOOT: &str = "REBOOT";
    pub const HARD_REBOOT: &str = "HARD_REBOOT";
    pub const DELETED: &str = "DELETED";
    pub const ERROR: &str = "ERROR";
}

/// Providers with a table of their own; anything else goes through the CB-Spider words.
pub const PROVIDERS: [&str; 10] = ["aws", "gcp", "azure", "alibaba", "tencent", "ibm", "ncp", "openstack", "nhn", "kt"];

/// The Tumblebug status of a CSP's native VM state word.
pub fn native_to_status(provider: &str, native: &str) -> VmStatus {
    let word = native.trim().to_ascii_lowercase();
    let w = word.as_str();
    match provider.to_ascii_lowercase().as_str() {
        "aws" => aws_status(w),
        "gcp" => gcp_status(w),
        "azure" => azure_status(w),
        "alibaba" => alibaba_status(w),
        "tencent" => tencent_status(w),
        "ibm" => ibm_status(w),
        "ncp" => ncp_status(w),
        "openstack" => openstack_status(w),
        "nhn" | "kt" => nhn_status(w),
        _ => spider_status(w),
    }
}

fn aws_status(w: &str) -> VmStatus {
    match w {
        "pending" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "shutting-down" => VmStatus::Terminating,
        "terminated" => VmStatus::Terminated,
        "stopping" => VmStatus::Suspending,
        "stopped" => VmStatus::Suspended,
        _ => VmStatus::Undefined,
    }
}

fn gcp_status(w: &str) -> VmStatus {
    match w {
        "provisioning" | "staging" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "suspending" | "stopping" => VmStatus::Suspending,
        "suspended" | "terminated" => VmStatus::Suspended,
        _ => VmStatus::Undefined,
    }
}

fn azure_status(w: &str) -> VmStatus {
    let (provisioning, power) = w.split_once('/').unwrap_or(("", w));
    // Deletion is read from the provisioning state first, whatever the power state says.
    match provisioning {
        "deleting" => return VmStatus::Terminating,
        "failed" => return VmStatus::Failed,
        _ => {}
    }
    match power {
        "starting" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "stopping" | "deallocating" => VmStatus::Suspending,
        "stopped" | "deallocated" => VmStatus::Suspended,
        _ => VmStatus::Undefined,
    }
}

fn alibaba_status(w: &str) -> VmStatus {
    match w {
        "pending" | "starting" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "stopping" => VmStatus::Suspending,
        "stopped" => VmStatus::Suspended,
        _ => VmStatus::Undefined,
    }
}

fn tencent_status(w: &str) -> VmStatus {
    match w {
        "pending" | "starting" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "stopping" => VmStatus::Suspending,
        "stopped" => VmStatus::Suspended,
        "rebooting" => VmStatus::Rebooting,
        "shutdown" | "terminating" => VmStatus::Terminating,
        "launch_failed" => VmStatus::Failed,
        _ => VmStatus::Undefined,
    }
}

fn ibm_status(w: &str) -> VmStatus {
    match w {
        "pending" | "starting" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "stopping" => VmStatus::Suspending,
        "stopped" => VmStatus::Suspended,
        "restarting" => VmStatus::Rebooting,
        "deleting" => VmStatus::Terminating,
        "failed" => VmStatus::Failed,
        _ => VmStatus::Undefined,
    }
}

fn ncp_status(w: &str) -> VmStatus {
    match w {
        "init" | "creating" | "booting" | "setting up" => VmStatus::Creating,
        "running" => VmStatus::Running,
        "rebooting" | "hard rebooting" => VmStatus::Rebooting,
        "shutting down" => VmStatus::Suspending,
        "stopped" => VmStatus::Suspended,
        "terminating" => VmStatus::Terminating,
        _ => VmStatus::Undefined,
    }
}

fn openstack_status(w: &str) -> VmStatus {
    match w {
        "build" => VmStatus::Creating,
        "active" => VmStatus::Running,
        "shutoff" => VmStatus::Suspended,
        "reboot" => VmStatus::Rebooting,
        // CB-Spider's OpenStack driver treats `error` and every unlisted word as a failure.
        _ => VmStatus::Failed,
    }
}

fn nhn_status(w: &str) -> VmStatus {
    match w {
        "build" => VmStatus::Creating,
        "active" => VmStatus::Running,
        "shutoff" | "paused" => VmStatus::Suspended,
        "reboot" | "hard_reboot" => VmStatus::Rebooting,
        "error" => VmStatus::Failed,
        _ => VmStatus::Undefined,
    }
}

/// CB-Spider's normalised words: the eight lifecycle statuses pass, anything else (`NotExist`,
/// `Failed`, empty) is `Undefined`.
fn spider_status(w: &str) -> VmStatus {
    match VmStatus::parse(w) {
        s @ (VmStatus::Creating
        | VmStatus::Running
        | VmStatus::Suspending
        | VmStatus::Suspended
        | VmStatus::Resuming
        | VmStatus::Rebooting
        | VmStatus::Terminating
        | VmStatus::Terminated) => s,
        _ => VmStatus::Undefined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VmStatus::*;

    fn check(provider: &str, rows: &[(&str, VmStatus)]) {
        for (native, expected) in rows {
            assert_eq!(native_to_status(provider, native), *expected, "{provider} {native:?}");
        }
    }

    #[test]
    fn aws_table() {
        check(
            "aws",
            &[
                (aws::PENDING, Creating),
                (aws::RUNNING, Running),
                (aws::SHUTTING_DOWN, Terminating),
                (aws::TERMINATED, Terminated),
                (aws::STOPPING, Suspending),
                (aws::STOPPED, Suspended),
                ("RUNNING", Running),
                ("rebooting", Undefined),
                ("", Undefined),
            ],
        );
    }

    #[test]
    fn gcp_table() {
        check(
            "gcp",
            &[
                (gcp::PROVISIONING, Creating),
                (gcp::STAGING, Creating),
                (gcp::RUNNING, Running),
                (gcp::SUSPENDING, Suspending),
                (gcp::STOPPING, Suspending),
                (gcp::SUSPENDED, Suspended),
                (gcp::TERMINATED, Suspended),
                (gcp::REPAIRING, Undefined),
                ("running", Running),
                ("DELETED", Undefined),
            ],
        );
    }

    #[test]
    fn azure_table() {
        check(
            "azure",
            &[
                (azure::CREATING, Creating),
                (azure::RUNNING, Running),
                (azure::STOPPING, Suspending),
                (azure::STOPPED, Suspended),
                (azure::DEALLOCATING, Suspending),
                (azure::DEALLOCATED, Suspended),
                (azure::STARTING, Creating),
                (azure::DELETING, Terminating),
                (azure::DELETING_STOPPED, Terminating),
                (azure::FAILED, Failed),
                ("failed/stopped", Failed),
                ("Succeeded/Running", Running),
                ("creating/unknown", Undefined),
                ("running", Running),
                ("", Undefined),
            ],
        );
        assert_eq!(azure::word("Succeeded", "Running"), azure::RUNNING);
    }

    #[test]
    fn alibaba_table() {
        check(
            "alibaba",
            &[
                (alibaba::PENDING, Creating),
                (alibaba::STARTING, Creating),
                (alibaba::RUNNING, Running),
                (alibaba::STOPPING, Suspending),
                (alibaba::STOPPED, Suspended),
                ("Deleted", Undefined),
            ],
        );
    }

    #[test]
    fn tencent_table() {
        check(
            "tencent",
            &[
                (tencent::PENDING, Creating),
                (tencent::STARTING, Creating),
                (tencent::RUNNING, Running),
                (tencent::STOPPING, Suspending),
                (tencent::STOPPED, Suspended),
                (tencent::REBOOTING, Rebooting),
                (tencent::SHUTDOWN, Terminating),
                (tencent::TERMINATING, Terminating),
                (tencent::LAUNCH_FAILED, Failed),
                ("TERMINATED", Undefined),
            ],
        );
    }

    #[test]
    fn ibm_table() {
        check(
            "ibm",
            &[
                (ibm::PENDING, Creating),
                (ibm::STARTING, Creating),
                (ibm::RUNNING, Running),
                (ibm::STOPPING, Suspending),
                (ibm::STOPPED, Suspended),
                (ibm::RESTARTING, Rebooting),
                (ibm::DELETING, Terminating),
                (ibm::FAILED, Failed),
                ("resuming", Undefined),
            ],
        );
    }

    #[test]
    fn ncp_table() {
        check(
            "ncp",
            &[
                (ncp::INIT, Creating),
                (ncp::CREATING, Creating),
                (ncp::BOOTING, Creating),
                (ncp::SETTING_UP, Creating),
                (ncp::RUNNING, Running),
                (ncp::REBOOTING, Rebooting),
                (ncp::HARD_REBOOTING, Rebooting),
                (ncp::SHUTTING_DOWN, Suspending),
                (ncp::STOPPED, Suspended),
                (ncp::TERMINATING, Terminating),
                (ncp::CHANGING_SPEC, Undefined),
                (ncp::COPYING, Undefined),
                (ncp::REPAIRING, Undefined),
            ],
        );
    }

    #[test]
    fn openstack_table() {
        check(
            "openstack",
            &[
                (openstack::BUILD, Creating),
                (openstack::ACTIVE, Running),
                (openstack::SHUTOFF, Suspended),
                (openstack::REBOOT, Rebooting),
                (openstack::ERROR, Failed),
                (openstack::PAUSED, Failed),
                (openstack::DELETED, Failed),
                ("active", Running),
            ],
        );
    }

    #[test]
    fn nhn_and_kt_tables() {
        for provider in ["nhn", "kt"] {
            check(
                provider,
                &[
                    (openstack::BUILD, Creating),
                    (openstack::ACTIVE, Running),
                    (openstack::SHUTOFF, Suspended),
                    (openstack::PAUSED, Suspended),
                    (openstack::REBOOT, Rebooting),
                    (openstack::HARD_REBOOT, Rebooting),
                    (openstack::ERROR, Failed),
                    (openstack::DELETED, Undefined),
                    ("UNKNOWN", Undefined),
                ],
            );
        }
    }

    #[test]
    fn other_providers_take_spider_words() {
        check(
            "cloudit",
            &[
                ("Creating", Creating),
                ("Running", Running),
                ("Suspending", Suspending),
                ("Suspended", Suspended),
                ("Resuming", Resuming),
                ("Rebooting", Rebooting),
                ("Terminating", Terminating),
                ("Terminated", Terminated),
                ("NotExist", Undefined),
                ("Failed", Undefined),
                ("", Undefined),
            ],
        );
    }

    #[test]
    fn provider_name_is_case_insensitive() {
        assert_eq!(native_to_status("AWS", "running"), Running);
        assert_eq!(native_to_status("Azure", azure::DELETING), Terminating);
    }
}
