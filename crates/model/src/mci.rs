//! Wire and stored objects of MCIs, subgroups and VMs (reference §1.5), in the JSON spelling
//! of the CB-Tumblebug v0.11.23 OpenAPI document, with v0.12 types where the reference says
//! v0.12 changed them: `subGroupSize`, `rootDiskSize`, `sshPort`, `masterSSHPort`,
//! `numVMsToAdd` and `timeoutMinutes` are integers on output. The server's lenient decoder
//! accepts both strings and numbers for them on input; two fields carry their own rules
//! because a plain integer would lose meaning (see [`CreateSubGroupReq::sub_group_size`] and
//! [`CreateSubGroupReq::root_disk_size`]).
//!
//! Every struct takes `#[serde(default)]`: requests because Go fills absent fields with zero
//! values, stored objects so that documents written before a field existed still load.
//! Statuses stay strings on the wire (the aggregated MCI status is decorated, e.g.
//! `Partial-Running:7 (R:7/10)`); helpers convert VM statuses to and from [`VmStatus`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::resource::{ConnConfig, ImageInfo, KeyValue, Location, RegionDetail, SpecInfo};
use crate::{TargetAction, VmStatus};

fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Remote command request (`MciCmdReq`); also the `postCommand` of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciCmdReq {
    /// SSH user; empty means the VM's own user name.
    pub user_name: String,
    pub command: Vec<String>,
    /// Minutes before the command is abandoned; 0 means the default (30).
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout_minutes: u32,
}

/// The bootstrap command of an MCI: the same shape as a remote command request.
pub type PostCommand = MciCmdReq;

/// Static create request (`POST /ns/{nsId}/mci`, also `/registerCspVm`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciReq {
    pub name: String,
    /// `yes` or `no` (default `no`).
    pub install_mon_agent: String,
    pub label: BTreeMap<String, String>,
    pub system_label: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub placement_algo: String,
    pub description: String,
    /// Up to v0.11.3 this array was called `vm`.
    #[serde(alias = "vm")]
    pub sub_groups: Vec<CreateSubGroupReq>,
    pub post_command: MciCmdReq,
    /// `continue` (default), `rollback` or `refine`.
    pub policy_on_partial_failure: String,
    /// Tumblebug extension: on a capacity or quota failure, create the VM on the next
    /// candidate (another zone, then an equal-or-larger spec, then the nearest region)
    /// instead of failing it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub capacity_failover: bool,
}

/// One subgroup of a static create request (`CreateSubGroupReq`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateSubGroupReq {
    pub name: String,
    /// The CSP's id of an existing VM; required by `registerCspVm`. ≤v0.8 spelling `idByCsp`.
    #[serde(alias = "idByCsp", skip_serializing_if = "String::is_empty")]
    pub csp_resource_id: String,
    /// Number of VMs. Absent, `""`, `null` or the number `0` (v0.12's zero value) mean one VM
    /// named `{name}-1`; the string `"0"` keeps the v0.11 meaning of a single VM named exactly
    /// like the subgroup, and is written back as `"0"` so that the meaning survives a round trip.
    #[serde(with = "sub_group_size", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>)]
    pub sub_group_size: Option<u32>,
    pub label: BTreeMap<String, String>,
    pub description: String,
    pub connection_name: String,
    pub spec_id: String,
    pub image_id: String,
    #[serde(rename = "vNetId")]
    pub vnet_id: String,
    pub subnet_id: String,
    pub security_group_ids: Vec<String>,
    pub ssh_key_id: String,
    /// ≤v0.8 spelling `vmUserAccount`.
    #[serde(alias = "vmUserAccount", skip_serializing_if = "String::is_empty")]
    pub vm_user_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_password: String,
    /// `default` or a CSP disk type (gp3, pd-ssd, cloud_essd, PremiumSSD, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_disk_type: String,
    /// GB; 0 means the CSP default. `"default"` and `""` are read as 0.
    #[serde(deserialize_with = "disk_size::deserialize", skip_serializing_if = "is_zero")]
    pub root_disk_size: u32,
    pub data_disk_ids: Vec<String>,
}

/// Dynamic create request (`POST /ns/{nsId}/mciDynamic`): only spec and image per subgroup,
/// the network resources are created on demand.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciDynamicReq {
    pub name: String,
    /// `continue` (default), `rollback` or `refine`.
    pub policy_on_partial_failure: String,
    /// Tumblebug extension: on a capacity or quota failure, create the VM on the next
    /// candidate (another zone, then an equal-or-larger spec, then the nearest region)
    /// instead of failing it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub capacity_failover: bool,
    /// `yes` or `no` (default `no`).
    pub install_mon_agent: String,
    /// Up to v0.11.3 this array was called `vm`.
    #[serde(alias = "vm")]
    pub sub_groups: Vec<CreateSubGroupDynamicReq>,
    pub post_command: MciCmdReq,
    pub system_label: String,
    pub description: String,
    pub label: BTreeMap<String, String>,
    /// v0.12: vNet template (system namespace) for the shared vNets created on demand.
    #[serde(rename = "vNetTemplateId", skip_serializing_if = "String::is_empty")]
    pub vnet_template_id: String,
    /// v0.12: security group template for the shared security groups created on demand.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sg_template_id: String,
    /// Tumblebug extension: a group placement request; when given (and `subGroups` is empty)
    /// the subgroups are the placement's optimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Box<crate::placement::PlacementReq>>,
}

/// One subgroup of a dynamic create request (`CreateSubGroupDynamicReq`); also the body of
/// `POST /mci/{id}/subGroupDynamic`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateSubGroupDynamicReq {
    /// Generated when empty.
    pub name: String,
    /// Same rules as [`CreateSubGroupReq::sub_group_size`].
    #[serde(with = "sub_group_size", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>)]
    pub sub_group_size: Option<u32>,
    pub label: BTreeMap<String, String>,
    pub description: String,
    /// Catalog spec id, e.g. `aws+ap-northeast-2+t3.nano`. ≤v0.11.5 spelling `commonSpec`.
    #[serde(alias = "commonSpec")]
    pub spec_id: String,
    /// CSP image name or catalog image id. ≤v0.11.5 spelling `commonImage`.
    #[serde(alias = "commonImage")]
    pub image_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_disk_type: String,
    /// GB; 0 means the CSP default. `"default"` and `""` are read as 0.
    #[serde(deserialize_with = "disk_size::deserialize", skip_serializing_if = "is_zero")]
    pub root_disk_size: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_password: String,
    /// Overrides the connection of the spec.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub connection_name: String,
    /// v0.12: availability zone to place the VMs in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub zone: String,
    #[serde(rename = "vNetTemplateId", skip_serializing_if = "String::is_empty")]
    pub vnet_template_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sg_template_id: String,
}

/// Scale-out request (`POST /mci/{id}/subgroup/{subgroupId}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ScaleOutSubGroupReq {
    #[serde(rename = "numVMsToAdd")]
    pub num_vms_to_add: u32,
}

/// Body of `POST /mciDynamicCheckRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciConnectionConfigCandidatesReq {
    #[serde(rename = "specId")]
    pub spec_ids: Vec<String>,
}

/// Answer of `POST /mciDynamicCheckRequest`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckMciDynamicReqInfo {
    pub req_check: Vec<CheckSubGroupDynamicReqInfo>,
}

/// The connection candidates of one spec.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckSubGroupDynamicReqInfo {
    pub connection_config_candidates: Vec<String>,
    pub spec: SpecInfo,
    pub image: Vec<ImageInfo>,
    pub region: RegionDetail,
    pub system_message: String,
}

// ---------------------------------------------------------------------------------------------
// Control actions

/// An action of `GET /control/mci/{id}?action=...`, parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ControlAction {
    Suspend,
    Resume,
    Reboot,
    Terminate,
    /// Delete the records of Failed/Undefined VMs.
    Refine,
    /// Release an MCI created with `option=hold`.
    Continue,
    /// Abandon (force-delete) an MCI created with `option=hold`.
    Withdraw,
}

/// An `action` query value that names no control action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'action' should be one of these: suspend, resume, reboot, terminate, refine, continue, withdraw")]
pub struct UnknownControlAction(pub String);

impl ControlAction {
    pub const ALL: [ControlAction; 7] = [
        ControlAction::Suspend,
        ControlAction::Resume,
        ControlAction::Reboot,
        ControlAction::Terminate,
        ControlAction::Refine,
        ControlAction::Continue,
        ControlAction::Withdraw,
    ];

    /// The query spelling (`suspend`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Suspend => "suspend",
            ControlAction::Resume => "resume",
            ControlAction::Reboot => "reboot",
            ControlAction::Terminate => "terminate",
            ControlAction::Refine => "refine",
            ControlAction::Continue => "continue",
            ControlAction::Withdraw => "withdraw",
        }
    }

    /// Case-insensitive parse of the `action` query value.
    pub fn parse(s: &str) -> Result<ControlAction, UnknownControlAction> {
        ControlAction::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownControlAction(s.to_string()))
    }

    /// The `targetAction` persisted while the action runs; `None` for the hold verbs, which
    /// leave the intent of the held creation untouched.
    pub fn target_action(self) -> Option<TargetAction> {
        match self {
            ControlAction::Suspend => Some(TargetAction::Suspend),
            ControlAction::Resume => Some(TargetAction::Resume),
            ControlAction::Reboot => Some(TargetAction::Reboot),
            ControlAction::Terminate => Some(TargetAction::Terminate),
            ControlAction::Refine => Some(TargetAction::Refine),
            ControlAction::Continue | ControlAction::Withdraw => None,
        }
    }

    /// The `{"message": ...}` of an MCI-level action (§2.5). `vm_count` is the number of VMs
    /// the MCI had: terminate and refine answer differently for an MCI without VMs.
    pub fn mci_result_message(self, vm_count: usize) -> &'static str {
        match self {
            ControlAction::Suspend => "Suspending the MCI",
            ControlAction::Resume => "Resuming the MCI",
            ControlAction::Reboot => "Rebooting the MCI",
            ControlAction::Terminate if vm_count == 0 => "No VM to terminate in the MCI",
            ControlAction::Terminate => "Terminated the MCI",
            ControlAction::Refine if vm_count == 0 => "No VM in the MCI",
            ControlAction::Refine => "Refined the MCI",
            ControlAction::Continue => "Continue the holding MCI",
            ControlAction::Withdraw => "Withdraw the holding MCI",
        }
    }

    /// The message of a single-VM action: `Working on {action}`.
    pub fn vm_result_message(self) -> String {
        format!("Working on {}", self.as_str())
    }
}

impl fmt::Display for ControlAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ControlAction {
    type Err = UnknownControlAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ControlAction::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Stored / returned objects

/// Number of VMs per status; `countTotal` is the `N` of the aggregated status string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusCountInfo {
    pub count_total: usize,
    pub count_creating: usize,
    pub count_running: usize,
    pub count_failed: usize,
    pub count_suspended: usize,
    pub count_rebooting: usize,
    pub count_terminated: usize,
    pub count_suspending: usize,
    pub count_resuming: usize,
    pub count_terminating: usize,
    /// v0.12.3+.
    pub count_registering: usize,
    pub count_undefined: usize,
}

impl StatusCountInfo {
    /// The number of VMs counted under one status.
    pub fn count(&self, status: VmStatus) -> usize {
        match status {
            VmStatus::Creating => self.count_creating,
            VmStatus::Running => self.count_running,
            VmStatus::Suspending => self.count_suspending,
            VmStatus::Suspended => self.count_suspended,
            VmStatus::Resuming => self.count_resuming,
            VmStatus::Rebooting => self.count_rebooting,
            VmStatus::Terminating => self.count_terminating,
            VmStatus::Terminated => self.count_terminated,
            VmStatus::Failed => self.count_failed,
            VmStatus::Registering => self.count_registering,
            VmStatus::Undefined => self.count_undefined,
        }
    }

    /// The counter of one status.
    pub fn count_mut(&mut self, status: VmStatus) -> &mut usize {
        match status {
            VmStatus::Creating => &mut self.count_creating,
            VmStatus::Running => &mut self.count_running,
            VmStatus::Suspending => &mut self.count_suspending,
            VmStatus::Suspended => &mut self.count_suspended,
            VmStatus::Resuming => &mut self.count_resuming,
            VmStatus::Rebooting => &mut self.count_rebooting,
            VmStatus::Terminating => &mut self.count_terminating,
            VmStatus::Terminated => &mut self.count_terminated,
            VmStatus::Failed => &mut self.count_failed,
            VmStatus::Registering => &mut self.count_registering,
            VmStatus::Undefined => &mut self.count_undefined,
        }
    }
}

/// Region of a VM as the CSP reports it (v0.12 lower-case keys; ≤v0.11 wrote `Region`/`Zone`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegionInfo {
    #[serde(alias = "Region")]
    pub region: String,
    #[serde(alias = "Zone", skip_serializing_if = "String::is_empty")]
    pub zone: String,
}

/// SSH host key remembered on first use (TOFU).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SshHostKeyInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub first_used_at: String,
}

/// v0.12 summary of the spec of a VM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecSummary {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_spec_name: String,
    #[serde(rename = "vCPU", skip_serializing_if = "is_zero")]
    pub vcpu: u32,
    #[serde(rename = "memoryGiB", skip_serializing_if = "is_zero")]
    pub memory_gib: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub accelerator_model: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub accelerator_count: u32,
    #[serde(rename = "acceleratorMemoryGB", skip_serializing_if = "is_zero")]
    pub accelerator_memory_gb: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub accelerator_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub cost_per_hour: f64,
}

/// v0.12 summary of the image of a VM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageSummary {
    /// `image` or `customImage`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_image_name: String,
    pub os_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os_architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os_distribution: String,
}

/// One remote command run on a VM, kept in the VM's history (defined with the rest of the
/// command history).
pub use crate::command::CommandStatusInfo;

/// A VM (`VmInfo`): stored under its MCI and returned inside [`MciInfo::vm`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VmInfo {
    pub resource_type: String,
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Name given to the CSP (the uid from v0.9.10).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_resource_name: String,
    /// The CSP's own id of the VM.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_resource_id: String,
    pub name: String,
    pub sub_group_id: String,
    pub location: Location,
    pub status: String,
    pub target_status: String,
    pub target_action: String,
    /// `installed`, `notInstalled` or `failed`.
    pub mon_agent_status: String,
    /// `notInstalled`, `installing`, `installed` or `failed`.
    pub network_agent_status: String,
    pub system_message: String,
    /// `2006-01-02 15:04:05` format.
    pub created_time: String,
    pub label: BTreeMap<String, String>,
    pub description: String,
    pub region: RegionInfo,
    #[serde(rename = "publicIP")]
    pub public_ip: String,
    pub ssh_port: u16,
    #[serde(rename = "publicDNS")]
    pub public_dns: String,
    #[serde(rename = "privateIP")]
    pub private_ip: String,
    #[serde(rename = "privateDNS")]
    pub private_dns: String,
    pub root_disk_type: String,
    /// GB.
    #[serde(deserialize_with = "disk_size::deserialize")]
    pub root_disk_size: u32,
    /// Device of the root disk (`/dev/sda1`); v0.12 spelling `RootDeviceName`.
    #[serde(alias = "RootDeviceName")]
    pub root_disk_name: String,
    pub connection_name: String,
    pub connection_config: ConnConfig,
    pub spec_id: String,
    pub csp_spec_name: String,
    /// v0.12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecSummary>,
    pub image_id: String,
    pub csp_image_name: String,
    /// v0.12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    #[serde(rename = "vNetId")]
    pub vnet_id: String,
    #[serde(rename = "cspVNetId")]
    pub csp_vnet_id: String,
    pub subnet_id: String,
    pub csp_subnet_id: String,
    pub network_interface: String,
    pub security_group_ids: Vec<String>,
    pub data_disk_ids: Vec<String>,
    pub ssh_key_id: String,
    pub csp_ssh_key_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_host_key_info: Option<SshHostKeyInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command_status: Vec<CommandStatusInfo>,
    /// Raw CSP details (sic: the upstream spelling).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addtional_details: Vec<KeyValue>,
}

impl VmInfo {
    /// The status as a [`VmStatus`]; unknown strings are `Undefined`.
    pub fn vm_status(&self) -> VmStatus {
        VmStatus::parse(&self.status)
    }

    pub fn set_status(&mut self, status: VmStatus) {
        self.status = status.as_str().to_string();
    }

    /// The pending action; empty or unknown strings are `None`.
    pub fn target_action(&self) -> TargetAction {
        TargetAction::parse(&self.target_action)
    }

    /// Records an intent (`targetAction`, `targetStatus`; `"None"` when complete).
    pub fn set_target(&mut self, action: TargetAction, target_status: &str) {
        self.target_action = action.as_str().to_string();
        self.target_status = target_status.to_string();
    }
}

/// A subgroup: a set of VMs made from one request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SubGroupInfo {
    pub resource_type: String,
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    pub name: String,
    pub vm_id: Vec<String>,
    pub sub_group_size: u32,
}

/// One failure recorded while creating an MCI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VmCreationError {
    pub vm_name: String,
    pub error: String,
    /// `object_creation` or `vm_creation`.
    pub phase: String,
    pub timestamp: String,
}

/// Failures of a creation (v0.12), kept on the MCI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciCreationErrors {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vm_object_creation_errors: Vec<VmCreationError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vm_creation_errors: Vec<VmCreationError>,
    pub total_vm_count: usize,
    pub successful_vm_count: usize,
    pub failed_vm_count: usize,
    /// `continue`, `rollback` or `refine`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_handling_strategy: String,
}

/// Result of a remote command on one VM. Go writes the maps with integer keys (the command
/// index) as JSON strings; so does serde.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SshCmdResult {
    pub mci_id: String,
    pub vm_id: String,
    pub vm_ip: String,
    pub command: BTreeMap<u32, String>,
    pub stdout: BTreeMap<u32, String>,
    pub stderr: BTreeMap<u32, String>,
    /// The error text, `null` when the command ran. (Go marshals its `error` as `{}`; a text
    /// tells the client more. Any JSON value is accepted on input.)
    #[serde(deserialize_with = "error_text::deserialize")]
    pub err: Option<String>,
}

/// Results of a remote command on an MCI: `{"results": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciSshCmdResult {
    pub results: Vec<SshCmdResult>,
}

/// An MCI (`MciInfo`): the stored object and the answer of `GET /mci/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciInfo {
    pub resource_type: String,
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    pub name: String,
    /// Aggregated status (§3.4), e.g. `Partial-Running:7 (R:7/10)`, or `Preparing`,
    /// `Prepared`, `Failed`, `Empty`.
    pub status: String,
    pub status_count: StatusCountInfo,
    pub target_status: String,
    pub target_action: String,
    /// `yes` or `no`.
    pub install_mon_agent: String,
    /// `yes` or `no`.
    pub configure_cloud_adaptive_network: String,
    pub label: BTreeMap<String, String>,
    pub system_label: String,
    /// A single string up to v0.8; an old document's string is read as a one-item list.
    #[serde(deserialize_with = "string_list::deserialize")]
    pub system_message: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub placement_algo: String,
    pub description: String,
    pub vm: Vec<VmInfo>,
    /// Ids of the VMs added by the request that returns this object.
    pub new_vm_list: Vec<String>,
    pub post_command: MciCmdReq,
    pub post_command_result: MciSshCmdResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_errors: Option<MciCreationErrors>,
    /// Tumblebug extension: whether capacity failover is allowed (see `MciReq`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub capacity_failover: bool,
}

impl MciInfo {
    /// The pending action; empty or unknown strings are `None`.
    pub fn target_action(&self) -> TargetAction {
        TargetAction::parse(&self.target_action)
    }

    /// Records an intent (`targetAction`, `targetStatus`; `"None"` when complete).
    pub fn set_target(&mut self, action: TargetAction, target_status: &str) {
        self.target_action = action.as_str().to_string();
        self.target_status = target_status.to_string();
    }
}

/// Live status of one VM (`VmStatusInfo`). Note `publicIp`/`privateIp`, unlike [`VmInfo`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VmStatusInfo {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_resource_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_resource_id: String,
    pub name: String,
    pub status: String,
    pub target_status: String,
    pub target_action: String,
    /// The CSP's answer before the intent-based correction (§3.3 step 7).
    pub native_status: String,
    pub mon_agent_status: String,
    pub system_message: String,
    pub created_time: String,
    pub public_ip: String,
    pub private_ip: String,
    pub ssh_port: u16,
    pub location: Location,
}

impl VmStatusInfo {
    /// The status part of a VM record; `nativeStatus` is left for the caller.
    pub fn from_vm(vm: &VmInfo) -> VmStatusInfo {
        VmStatusInfo {
            id: vm.id.clone(),
            uid: vm.uid.clone(),
            csp_resource_name: vm.csp_resource_name.clone(),
            csp_resource_id: vm.csp_resource_id.clone(),
            name: vm.name.clone(),
            status: vm.status.clone(),
            target_status: vm.target_status.clone(),
            target_action: vm.target_action.clone(),
            native_status: String::new(),
            mon_agent_status: vm.mon_agent_status.clone(),
            system_message: vm.system_message.clone(),
            created_time: vm.created_time.clone(),
            public_ip: vm.public_ip.clone(),
            private_ip: vm.private_ip.clone(),
            ssh_port: vm.ssh_port,
            location: vm.location.clone(),
        }
    }

    /// The status as a [`VmStatus`]; unknown strings are `Undefined`.
    pub fn vm_status(&self) -> VmStatus {
        VmStatus::parse(&self.status)
    }

    pub fn set_status(&mut self, status: VmStatus) {
        self.status = status.as_str().to_string();
    }
}

/// Live status of an MCI (`?option=status`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciStatusInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_count: StatusCountInfo,
    pub target_status: String,
    pub target_action: String,
    pub install_mon_agent: String,
    /// First VM, in key order, that is Running (§1.5.7); empty when none is.
    pub master_vm_id: String,
    pub master_ip: String,
    #[serde(rename = "masterSSHPort")]
    pub master_ssh_port: u16,
    pub label: BTreeMap<String, String>,
    pub system_label: String,
    pub vm: Vec<VmStatusInfo>,
}

impl MciStatusInfo {
    /// Fills `masterVmId`/`masterIp`/`masterSSHPort` from [`MciStatusInfo::vm`] with the
    /// rule of [`crate::lifecycle::master_vm`]; clears them when no VM is Running.
    pub fn set_master(&mut self) {
        let (id, ip, port) = match crate::lifecycle::master_vm(&self.vm) {
            Some(vm) => (vm.id.clone(), vm.public_ip.clone(), vm.ssh_port),
            None => (String::new(), String::new(), 0),
        };
        self.master_vm_id = id;
        self.master_ip = ip;
        self.master_ssh_port = port;
    }
}

/// `{"status": {...}}`: answer of `GET /mci/{id}?option=status`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciStatusResponse {
    pub status: MciStatusInfo,
}

/// `{"mci": [...]}`: MCI list (`GET /mci`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciInfoList {
    pub mci: Vec<MciInfo>,
}

/// `{"mci": [...]}`: MCI status list (`GET /mci?option=status`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciStatusList {
    pub mci: Vec<MciStatusInfo>,
}

/// `{"mcis": [...]}`: MCI list on the older `/mcis` paths.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct McisInfoList {
    pub mcis: Vec<MciInfo>,
}

/// `{"mcis": [...]}`: MCI status list on the older `/mcis` paths.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct McisStatusList {
    pub mcis: Vec<MciStatusInfo>,
}

/// Answer of `GET /mci/{id}/vm/{vmId}?option=idsInDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct IdNameInDetailInfo {
    pub id_in_tb: String,
    pub id_in_sp: String,
    pub id_in_csp: String,
    pub name_in_csp: String,
}

// ---------------------------------------------------------------------------------------------
// Access info (`?option=accessinfo`). The Go structs carry no JSON tags on most of their
// fields, so those keys are the capitalised Go field names (`MciId`, `SubGroupId`, ...); the
// OpenAPI document shows them camel-cased, which is not what the server sends. Both spellings
// and the older `Mcis...` ones are accepted on input.

/// Listener of a network load balancer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NlbListenerInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dns_name: String,
    pub ip: String,
    pub key_value_list: Vec<KeyValue>,
    /// 1-65535.
    pub port: String,
    /// TCP or UDP.
    pub protocol: String,
}

/// Access information of an MCI.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciAccessInfo {
    #[serde(rename = "MciId", alias = "mciId", alias = "McisId")]
    pub mci_id: String,
    /// Upstream types this field as an access info of its own.
    #[serde(rename = "mciNlbListener", alias = "McisNlbListener", skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub mci_nlb_listener: Option<Box<MciAccessInfo>>,
    #[serde(rename = "MciSubGroupAccessInfo", alias = "mciSubGroupAccessInfo", alias = "McisSubGroupAccessInfo")]
    pub mci_sub_group_access_info: Vec<MciSubGroupAccessInfo>,
}

/// Access information of one subgroup.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MciSubGroupAccessInfo {
    #[serde(rename = "SubGroupId", alias = "subGroupId")]
    pub sub_group_id: String,
    #[serde(rename = "nlbListener", skip_serializing_if = "Option::is_none")]
    pub nlb_listener: Option<NlbListenerInfo>,
    #[serde(rename = "BastionVmId", alias = "bastionVmId")]
    pub bastion_vm_id: String,
    #[serde(rename = "MciVmAccessInfo", alias = "mciVmAccessInfo", alias = "McisVmAccessInfo")]
    pub mci_vm_access_info: Vec<MciVmAccessInfo>,
}

/// Access information of one VM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciVmAccessInfo {
    pub vm_id: String,
    #[serde(rename = "publicIP")]
    pub public_ip: String,
    #[serde(rename = "privateIP")]
    pub private_ip: String,
    pub ssh_port: u16,
    /// Only with `accessInfoOption=showSshKey`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub private_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vm_user_password: String,
    pub connection_config: ConnConfig,
}

/// Ids of everything an MCI uses (`GET /mci/{id}/associatedResources`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MciAssociatedResourceList {
    pub connection_names: Vec<String>,
    pub provider_names: Vec<String>,
    pub sub_group_ids: Vec<String>,
    pub vm_ids: Vec<String>,
    pub csp_vm_names: Vec<String>,
    pub csp_vm_ids: Vec<String>,
    pub image_ids: Vec<String>,
    pub spec_ids: Vec<String>,
    #[serde(rename = "vNetIds")]
    pub vnet_ids: Vec<String>,
    #[serde(rename = "cspVNetIds")]
    pub csp_vnet_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub csp_subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub data_disk_ids: Vec<String>,
    pub ssh_key_ids: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Review of a dynamic request (`POST /ns/{nsId}/mciDynamicReview`)

/// Review of a whole dynamic create request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewMciDynamicReqInfo {
    /// `Ready`, `Warning` or `Error`.
    pub overall_status: String,
    pub overall_message: String,
    pub creation_viable: bool,
    /// e.g. `$0.50/hour`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub estimated_cost: String,
    pub mci_name: String,
    pub total_vm_count: usize,
    pub policy_on_partial_failure: String,
    pub policy_description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_recommendation: String,
    pub vm_reviews: Vec<ReviewSubGroupDynamicReqInfo>,
    pub resource_summary: ReviewResourceSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<String>,
}

/// Review of one subgroup of a dynamic create request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewSubGroupDynamicReqInfo {
    pub vm_name: String,
    pub sub_group_size: u32,
    /// `Ready`, `Warning` or `Error`.
    pub status: String,
    pub message: String,
    pub can_create: bool,
    pub spec_validation: ReviewResourceValidation,
    pub image_validation: ReviewResourceValidation,
    pub connection_name: String,
    pub provider_name: String,
    pub region_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub estimated_cost: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Whether a spec or an image of a reviewed request is usable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewResourceValidation {
    pub resource_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_name: String,
    pub is_available: bool,
    /// `Available`, `Unavailable` or `Unknown`.
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csp_resource_id: String,
}

/// What a reviewed request would use, summed up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewResourceSummary {
    pub total_providers: usize,
    pub total_regions: usize,
    pub unique_specs: Vec<String>,
    pub unique_images: Vec<String>,
    pub connection_names: Vec<String>,
    pub provider_names: Vec<String>,
    pub region_names: Vec<String>,
    pub available_specs: usize,
    pub unavailable_specs: usize,
    pub available_images: usize,
    pub unavailable_images: usize,
}

// ---------------------------------------------------------------------------------------------
// Field codecs whose rules a plain integer or list cannot express.

/// Non-negative integer from a JSON number or a numeric string (surrounding blanks allowed).
fn integer_of<E: serde::de::Error>(field: &str, text: &str) -> Result<u32, E> {
    text.trim().parse::<u32>().map_err(|_| E::custom(format!("{field}: expected a non-negative integer, got {text:?}")))
}

fn integer_of_u64<E: serde::de::Error>(field: &str, n: u64) -> Result<u32, E> {
    u32::try_from(n).map_err(|_| E::custom(format!("{field}: {n} is too large")))
}

fn integer_of_f64<E: serde::de::Error>(field: &str, f: f64) -> Result<u32, E> {
    if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
        // Exact: integral and within range.
        Ok(f as u32)
    } else {
        Err(E::custom(format!("{field}: expected a non-negative integer, got {f}")))
    }
}

mod sub_group_size {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    const FIELD: &str = "subGroupSize";

    pub fn serialize<S: Serializer>(value: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            None => s.serialize_none(),
            // The v0.11 string "0" means "one VM named like the subgroup"; a number 0 would
            // read back as v0.12's "not given".
            Some(0) => s.serialize_str("0"),
            Some(n) => s.serialize_u32(*n),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_any(SizeVisitor)
    }

    struct SizeVisitor;

    impl<'de> Visitor<'de> for SizeVisitor {
        type Value = Option<u32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer or a numeric string")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            match n {
                0 => Ok(None),
                n => super::integer_of_u64(FIELD, n).map(Some),
            }
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("{FIELD}: {n} is negative"))),
            }
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
            match super::integer_of_f64(FIELD, f)? {
                0 => Ok(None),
                n => Ok(Some(n)),
            }
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            if s.trim().is_empty() { Ok(None) } else { super::integer_of(FIELD, s).map(Some) }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
}

mod disk_size {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    const FIELD: &str = "rootDiskSize";

    /// Reads GB from a number or a string; `""` and `"default"` (the ≤v0.11 spellings of
    /// "CSP default") are 0.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(DiskSizeVisitor)
    }

    struct DiskSizeVisitor;

    impl<'de> Visitor<'de> for DiskSizeVisitor {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a size in GB, or \"default\"")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u32, E> {
            super::integer_of_u64(FIELD, n)
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u32, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("{FIELD}: {n} is negative"))),
            }
        }

        fn visit_f64<E: de::Error>(self, f: f64) -> Result<u32, E> {
            super::integer_of_f64(FIELD, f)
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<u32, E> {
            let s = s.trim();
            if s.is_empty() || s.eq_ignore_ascii_case("default") { Ok(0) } else { super::integer_of(FIELD, s) }
        }

        fn visit_unit<E: de::Error>(self) -> Result<u32, E> {
            Ok(0)
        }

        fn visit_none<E: de::Error>(self) -> Result<u32, E> {
            Ok(0)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
            d.deserialize_any(self)
        }
    }
}

mod string_list {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    /// A list of strings; a lone string (≤v0.8 documents) becomes a one-item list, an empty
    /// string or `null` an empty list.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Option::<OneOrMany>::deserialize(d)? {
            None => Vec::new(),
            Some(OneOrMany::One(s)) if s.is_empty() => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s],
            Some(OneOrMany::Many(v)) => v,
        })
    }
}

mod error_text {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// Any JSON value: a string is the text, `null` is no error, anything else (Go renders an
    /// error value as `{}`) is kept as its JSON text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use super::*;

    fn parse<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn to_json<T: Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap()
    }

    /// Writing then reading gives back the same value.
    #[track_caller]
    fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
        let back: T = parse(to_json(value));
        assert_eq!(&back, value);
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    // --- the v0.11.23 OpenAPI document ------------------------------------------------------

    fn document() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/tumblebug-assets/swagger-v0.11.23.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Fields whose type this crate takes from v0.12 (integers where v0.11 had strings).
    const V012_INTEGERS: [&str; 5] = ["subGroupSize", "rootDiskSize", "sshPort", "masterSSHPort", "numVMsToAdd"];

    /// The schema a property refers to (`$ref`, or the `allOf` wrapper of a described ref).
    fn referenced<'a>(doc: &'a Value, property: &Value) -> Option<&'a Value> {
        let reference = property["$ref"].as_str().or_else(|| property["allOf"][0]["$ref"].as_str())?;
        let name = reference.strip_prefix("#/components/schemas/")?;
        doc["components"]["schemas"].get(name)
    }

    /// A value for every property of a document schema: non-empty so that no field is skipped
    /// on output.
    fn sample_of(doc: &Value, schema: &Value) -> Value {
        let mut object = serde_json::Map::new();
        for (name, property) in schema["properties"].as_object().unwrap() {
            let property = match referenced(doc, property) {
                // A named string type (an enum of words) is a string on the wire.
                Some(target) if target["type"] == "string" => target,
                _ => property,
            };
            let value = match property["type"].as_str() {
                _ if V012_INTEGERS.contains(&name.as_str()) => json!(2),
                // An enum of words: one of them (a free text otherwise).
                Some("string") => property["enum"].get(0).cloned().unwrap_or(json!("x")),
                Some("integer") => json!(3),
                Some("number") => json!(1.5),
                Some("boolean") => json!(true),
                Some("array") if property["items"]["type"] == "string" => json!(["x"]),
                Some("array") => json!([{}]),
                Some("object") if property["additionalProperties"]["type"] == "string" => {
                    json!({"1": "x"})
                }
                _ => json!({}),
            };
            object.insert(name.clone(), value);
        }
        Value::Object(object)
    }

    /// Reads a sample of the document's schema into `T` and writes it back: every documented
    /// key must come out (under its name in `renamed` when the server really sends another
    /// spelling), and nothing else but the listed `extras`.
    #[track_caller]
    fn check_against_document<T: Serialize + DeserializeOwned>(
        doc: &Value,
        schema: &str,
        renamed: &[(&str, &str)],
        extras: &[&str],
    ) {
        let schema_value = &doc["components"]["schemas"][schema];
        assert!(schema_value.is_object(), "{schema} is not in the document");
        let sample = sample_of(doc, schema_value);
        let written = to_json(&parse::<T>(sample.clone()));
        let mut expected: Vec<&str> = keys(&sample)
            .into_iter()
            .map(|k| renamed.iter().find(|r| r.0 == k).map_or(k, |r| r.1))
            .chain(extras.iter().copied())
            .collect();
        expected.sort_unstable();
        assert_eq!(keys(&written), expected, "{schema}");
    }

    #[test]
    fn field_names_match_the_document() {
        let doc = document();
        check_against_document::<MciReq>(&doc, "model.MciReq", &[], &[]);
        check_against_document::<CreateSubGroupReq>(&doc, "model.CreateSubGroupReq", &[], &[]);
        check_against_document::<MciDynamicReq>(&doc, "model.MciDynamicReq", &[], &[]);
        check_against_document::<CreateSubGroupDynamicReq>(&doc, "model.CreateSubGroupDynamicReq", &[], &[]);
        check_against_document::<MciInfo>(&doc, "model.MciInfo", &[], &[]);
        check_against_document::<VmInfo>(&doc, "model.VmInfo", &[], &[]);
        check_against_document::<MciStatusInfo>(&doc, "model.MciStatusInfo", &[], &[]);
        check_against_document::<VmStatusInfo>(&doc, "model.VmStatusInfo", &[], &[]);
        check_against_document::<StatusCountInfo>(&doc, "model.StatusCountInfo", &[], &["countRegistering"]);
        check_against_document::<MciCreationErrors>(&doc, "model.MciCreationErrors", &[], &[]);
        check_against_document::<VmCreationError>(&doc, "model.VmCreationError", &[], &[]);
        check_against_document::<MciAccessInfo>(
            &doc,
            "model.MciAccessInfo",
            &[("mciId", "MciId"), ("mciSubGroupAccessInfo", "MciSubGroupAccessInfo")],
            &[],
        );
        check_against_document::<MciSubGroupAccessInfo>(
            &doc,
            "model.MciSubGroupAccessInfo",
            &[("subGroupId", "SubGroupId"), ("bastionVmId", "BastionVmId"), ("mciVmAccessInfo", "MciVmAccessInfo")],
            &[],
        );
        check_against_document::<MciVmAccessInfo>(&doc, "model.MciVmAccessInfo", &[], &[]);
        check_against_document::<ScaleOutSubGroupReq>(&doc, "model.ScaleOutSubGroupReq", &[], &[]);
        check_against_document::<MciAssociatedResourceList>(&doc, "model.MciAssociatedResourceList", &[], &[]);
        check_against_document::<ReviewMciDynamicReqInfo>(&doc, "model.ReviewMciDynamicReqInfo", &[], &[]);
        check_against_document::<ReviewSubGroupDynamicReqInfo>(&doc, "model.ReviewSubGroupDynamicReqInfo", &[], &[]);
        check_against_document::<ReviewResourceValidation>(&doc, "model.ReviewResourceValidation", &[], &[]);
        check_against_document::<ReviewResourceSummary>(&doc, "model.ReviewResourceSummary", &[], &[]);
        check_against_document::<MciCmdReq>(&doc, "model.MciCmdReq", &[], &[]);
        check_against_document::<MciSshCmdResult>(&doc, "model.MciSshCmdResult", &[], &[]);
        check_against_document::<SshCmdResult>(&doc, "model.SshCmdResult", &[], &[]);
        check_against_document::<CommandStatusInfo>(&doc, "model.CommandStatusInfo", &[], &[]);
        check_against_document::<RegionInfo>(&doc, "model.RegionInfo", &[], &[]);
        check_against_document::<NlbListenerInfo>(&doc, "model.NLBListenerInfo", &[], &[]);
        check_against_document::<MciInfoList>(&doc, "infra.RestGetAllMciResponse", &[], &[]);
        check_against_document::<MciStatusList>(&doc, "infra.RestGetAllMciStatusResponse", &[], &[]);
        check_against_document::<CheckMciDynamicReqInfo>(&doc, "model.CheckMciDynamicReqInfo", &[], &[]);
        check_against_document::<CheckSubGroupDynamicReqInfo>(&doc, "model.CheckSubGroupDynamicReqInfo", &[], &[]);
        check_against_document::<MciConnectionConfigCandidatesReq>(
            &doc,
            "model.MciConnectionConfigCandidatesReq",
            &[],
            &[],
        );
    }

    // --- requests ---------------------------------------------------------------------------

    #[test]
    fn mci_request_reads_the_documented_shape() {
        let req: MciReq = parse(json!({
            "name": "mci01",
            "installMonAgent": "no",
            "label": {"env": "test"},
            "systemLabel": "",
            "description": "Made in CB-TB",
            "policyOnPartialFailure": "refine",
            "postCommand": {"userName": "cb-user", "command": ["uname -a"], "timeoutMinutes": 5},
            "subGroups": [{
                "name": "g1",
                "subGroupSize": "3",
                "connectionName": "aws-ap-northeast-2",
                "specId": "aws+ap-northeast-2+t3.nano",
                "imageId": "ubuntu22.04",
                "vNetId": "vnet01",
                "subnetId": "subnet01",
                "securityGroupIds": ["sg01"],
                "sshKeyId": "key01",
                "vmUserName": "cb-user",
                "rootDiskType": "gp3",
                "rootDiskSize": "50",
                "dataDiskIds": ["disk01"],
                "cspResourceId": "i-014fa6ede6ada0b2c"
            }]
        }));
        assert_eq!(req.name, "mci01");
        assert_eq!(req.label.get("env").map(String::as_str), Some("test"));
        assert_eq!(req.policy_on_partial_failure, "refine");
        assert_eq!(
            req.post_command,
            MciCmdReq { user_name: "cb-user".into(), command: vec!["uname -a".into()], timeout_minutes: 5 }
        );
        let g = &req.sub_groups[0];
        assert_eq!(g.sub_group_size, Some(3));
        assert_eq!(g.vnet_id, "vnet01");
        assert_eq!(g.security_group_ids, ["sg01"]);
        assert_eq!(g.vm_user_name, "cb-user");
        assert_eq!(g.root_disk_size, 50);
        assert_eq!(g.csp_resource_id, "i-014fa6ede6ada0b2c");
        round_trips(&req);

        let out = to_json(&req);
        assert_eq!(out["subGroups"][0]["subGroupSize"], json!(3));
        assert_eq!(out["subGroups"][0]["rootDiskSize"], json!(50));
        assert_eq!(out["postCommand"]["timeoutMinutes"], json!(5));
        // omitempty fields of Go stay out when empty.
        let bare = to_json(&MciReq::default());
        assert_eq!(bare.get("placementAlgo"), None);
        assert_eq!(bare["postCommand"].get("timeoutMinutes"), None);
        assert_eq!(
            keys(&to_json(&CreateSubGroupReq::default())),
            [
                "connectionName",
                "dataDiskIds",
                "description",
                "imageId",
                "label",
                "name",
                "securityGroupIds",
                "specId",
                "sshKeyId",
                "subnetId",
                "vNetId"
            ]
        );
    }

    #[test]
    fn older_request_spellings_are_read() {
        let req: MciReq = parse(json!({
            "name": "m",
            "vm": [{"name": "g1", "idByCsp": "i-1", "vmUserAccount": "ubuntu"}]
        }));
        assert_eq!(req.sub_groups[0].csp_resource_id, "i-1");
        assert_eq!(req.sub_groups[0].vm_user_name, "ubuntu");
        let dynamic: MciDynamicReq = parse(json!({
            "name": "m",
            "vm": [{"commonSpec": "aws+ap-northeast-2+t2.small", "commonImage": "ubuntu18.04"}]
        }));
        assert_eq!(dynamic.sub_groups[0].spec_id, "aws+ap-northeast-2+t2.small");
        assert_eq!(dynamic.sub_groups[0].image_id, "ubuntu18.04");
    }

    #[test]
    fn sub_group_size_keeps_the_legacy_zero() {
        let cases = [
            (json!({}), None),
            (json!({"subGroupSize": null}), None),
            (json!({"subGroupSize": ""}), None),
            (json!({"subGroupSize": " "}), None),
            (json!({"subGroupSize": 0}), None),
            (json!({"subGroupSize": "0"}), Some(0)),
            (json!({"subGroupSize": "3"}), Some(3)),
            (json!({"subGroupSize": " 4 "}), Some(4)),
            (json!({"subGroupSize": 5}), Some(5)),
            (json!({"subGroupSize": 6.0}), Some(6)),
        ];
        for (input, expected) in cases {
            let g: CreateSubGroupReq = parse(input.clone());
            assert_eq!(g.sub_group_size, expected, "{input}");
            round_trips(&g);
            let d: CreateSubGroupDynamicReq = parse(input.clone());
            assert_eq!(d.sub_group_size, expected, "{input}");
            round_trips(&d);
        }
        let written = |size| {
            to_json(&CreateSubGroupReq { sub_group_size: size, ..Default::default() }).get("subGroupSize").cloned()
        };
        assert_eq!(written(None), None);
        assert_eq!(written(Some(0)), Some(json!("0")));
        assert_eq!(written(Some(2)), Some(json!(2)));
        for bad in [
            json!({"subGroupSize": "three"}),
            json!({"subGroupSize": -1}),
            json!({"subGroupSize": 1.5}),
            json!({"subGroupSize": 5_000_000_000u64}),
            json!({"subGroupSize": [1]}),
        ] {
            let err = serde_json::from_value::<CreateSubGroupReq>(bad.clone()).unwrap_err();
            assert!(err.to_string().contains("subGroupSize") || bad["subGroupSize"].is_array());
        }
    }

    #[test]
    fn root_disk_size_reads_default_as_zero() {
        for (input, expected) in [
            (json!("default"), 0),
            (json!("DEFAULT"), 0),
            (json!(""), 0),
            (json!(null), 0),
            (json!("100"), 100),
            (json!(30), 30),
        ] {
            let g: CreateSubGroupDynamicReq = parse(json!({"rootDiskSize": input}));
            assert_eq!(g.root_disk_size, expected, "{input}");
            let vm: VmInfo = parse(json!({"rootDiskSize": input}));
            assert_eq!(vm.root_disk_size, expected, "{input}");
        }
        let err = serde_json::from_value::<VmInfo>(json!({"rootDiskSize": "big"})).unwrap_err();
        assert!(err.to_string().contains("rootDiskSize"), "{err}");
    }

    #[test]
    fn scale_out_request() {
        let req: ScaleOutSubGroupReq = parse(json!({"numVMsToAdd": 2}));
        assert_eq!(req.num_vms_to_add, 2);
        assert_eq!(to_json(&req), json!({"numVMsToAdd": 2}));
    }

    // --- VMs --------------------------------------------------------------------------------

    fn vm_json() -> Value {
        serde_json::from_str(
            r#"{
            "resourceType": "vm",
            "id": "g1-1",
            "uid": "d0hfp0s0l6hj3kd3pdv0",
            "cspResourceName": "d0hfp0s0l6hj3kd3pdv0",
            "cspResourceId": "i-0a1b2c3d",
            "name": "g1-1",
            "subGroupId": "g1",
            "location": {"display": "Seoul", "latitude": 37.5, "longitude": 127.0},
            "status": "Running",
            "targetStatus": "None",
            "targetAction": "None",
            "monAgentStatus": "notInstalled",
            "networkAgentStatus": "notInstalled",
            "systemMessage": "Running==Running",
            "createdTime": "2025-01-02 03:04:05",
            "label": {"sys.id": "g1-1"},
            "description": "",
            "region": {"region": "ap-northeast-2", "zone": "ap-northeast-2a"},
            "publicIP": "3.34.1.2",
            "sshPort": 22,
            "publicDNS": "",
            "privateIP": "10.0.1.5",
            "privateDNS": "ip-10-0-1-5",
            "rootDiskType": "gp3",
            "rootDiskSize": 50,
            "rootDiskName": "/dev/sda1",
            "connectionName": "aws-ap-northeast-2",
            "connectionConfig": {"configName": "aws-ap-northeast-2", "providerName": "aws"},
            "specId": "aws+ap-northeast-2+t3.nano",
            "cspSpecName": "t3.nano",
            "spec": {"cspSpecName": "t3.nano", "vCPU": 2, "memoryGiB": 0.5},
            "imageId": "ubuntu22.04",
            "cspImageName": "ami-1",
            "image": {"osType": "ubuntu 22.04", "osArchitecture": "x86_64"},
            "vNetId": "vnet01",
            "cspVNetId": "vpc-1",
            "subnetId": "subnet01",
            "cspSubnetId": "subnet-1",
            "networkInterface": "eni-1",
            "securityGroupIds": ["sg01"],
            "dataDiskIds": [],
            "sshKeyId": "key01",
            "cspSshKeyId": "key-1",
            "vmUserName": "cb-user",
            "sshHostKeyInfo": {"hostKey": "AAAA", "keyType": "ssh-ed25519",
                               "fingerprint": "SHA256:abc", "firstUsedAt": "2025-01-02T03:04:05Z"},
            "commandStatus": [{"index": 1, "commandRequested": "ls", "commandExecuted": "ls",
                               "status": "Completed", "startedTime": "2025-01-02 03:04:06"}],
            "addtionalDetails": [{"key": "Architecture", "value": "x86_64"}]
        }"#,
        )
        .map(|mut vm: Value| {
            // Written in full, as every stored VM has it.
            vm["connectionConfig"] = to_json(&ConnConfig {
                config_name: "aws-ap-northeast-2".into(),
                provider_name: "aws".into(),
                ..Default::default()
            });
            vm
        })
        .unwrap()
    }

    #[test]
    fn vm_info_round_trips_with_exact_names() {
        let vm: VmInfo = parse(vm_json());
        assert_eq!(vm.public_ip, "3.34.1.2");
        assert_eq!(vm.private_ip, "10.0.1.5");
        assert_eq!(vm.ssh_port, 22);
        assert_eq!(vm.csp_resource_id, "i-0a1b2c3d");
        assert_eq!(vm.vnet_id, "vnet01");
        assert_eq!(vm.csp_vnet_id, "vpc-1");
        assert_eq!(vm.root_disk_name, "/dev/sda1");
        assert_eq!(vm.connection_config.provider_name, "aws");
        assert_eq!(vm.region, RegionInfo { region: "ap-northeast-2".into(), zone: "ap-northeast-2a".into() });
        assert_eq!(vm.location.latitude, 37.5);
        assert_eq!(vm.spec.as_ref().map(|s| s.vcpu), Some(2));
        assert_eq!(vm.ssh_host_key_info.as_ref().map(|k| k.fingerprint.as_str()), Some("SHA256:abc"));
        assert_eq!(vm.command_status[0].status, crate::command::CommandExecutionStatus::Completed);
        assert_eq!(vm.addtional_details[0].key, "Architecture");
        assert_eq!(vm.vm_status(), VmStatus::Running);
        assert_eq!(vm.target_action(), TargetAction::None);
        // Everything written is what was read (the input names every field it sets).
        assert_eq!(to_json(&vm), {
            let mut expected = vm_json();
            // Written as Go writes it: the summaries keep only non-empty keys.
            expected["image"] = json!({"osType": "ubuntu 22.04", "osArchitecture": "x86_64"});
            expected
        });
        round_trips(&vm);
    }

    #[test]
    fn vm_info_reads_older_documents() {
        let vm: VmInfo = parse(json!({
            "id": "g1-1",
            "region": {"Region": "us-east-1", "Zone": "us-east-1a"},
            "RootDeviceName": "/dev/xvda",
            "rootDiskSize": "default"
        }));
        assert_eq!(vm.region.region, "us-east-1");
        assert_eq!(vm.region.zone, "us-east-1a");
        assert_eq!(vm.root_disk_name, "/dev/xvda");
        assert_eq!(vm.root_disk_size, 0);
        // A zone-less region writes no zone (Go: omitempty).
        assert_eq!(to_json(&RegionInfo { region: "r".into(), zone: String::new() }), json!({"region": "r"}));
        let bare = to_json(&VmInfo::default());
        for absent in [
            "uid",
            "cspResourceName",
            "cspResourceId",
            "vmUserName",
            "vmUserPassword",
            "spec",
            "image",
            "sshHostKeyInfo",
            "commandStatus",
            "addtionalDetails",
        ] {
            assert_eq!(bare.get(absent), None, "{absent}");
        }
        assert_eq!(bare["publicIP"], json!(""));
        assert_eq!(bare["sshPort"], json!(0));
    }

    #[test]
    fn vm_status_helpers() {
        let mut vm = VmInfo::default();
        assert_eq!(vm.vm_status(), VmStatus::Undefined);
        vm.set_status(VmStatus::Suspending);
        assert_eq!(vm.status, "Suspending");
        vm.set_target(TargetAction::Suspend, "Suspended");
        assert_eq!((vm.target_action.as_str(), vm.target_status.as_str()), ("Suspend", "Suspended"));
        assert_eq!(vm.target_action(), TargetAction::Suspend);
        vm.target_action = "reboot".into();
        assert_eq!(vm.target_action(), TargetAction::Reboot);
        vm.target_action = String::new();
        assert_eq!(vm.target_action(), TargetAction::None);

        let full: VmInfo = parse(vm_json());
        let status = VmStatusInfo::from_vm(&full);
        assert_eq!(status.id, "g1-1");
        assert_eq!(status.public_ip, "3.34.1.2");
        assert_eq!(status.private_ip, "10.0.1.5");
        assert_eq!(status.ssh_port, 22);
        assert_eq!(status.status, "Running");
        assert_eq!(status.csp_resource_id, "i-0a1b2c3d");
        assert_eq!(status.location, full.location);
        assert_eq!(status.native_status, "");
        assert_eq!(status.vm_status(), VmStatus::Running);

        let mut mci = MciInfo::default();
        mci.set_target(TargetAction::Create, "Running");
        assert_eq!(mci.target_action(), TargetAction::Create);
        assert_eq!(mci.target_status, "Running");
    }

    // --- MCI objects ------------------------------------------------------------------------

    #[test]
    fn mci_status_round_trips_with_exact_names() {
        let input = json!({
            "id": "mci01",
            "name": "mci01",
            "status": "Partial-Running:1 (R:1/2)",
            "statusCount": {"countTotal": 2, "countCreating": 0, "countRunning": 1,
                            "countFailed": 1, "countSuspended": 0, "countRebooting": 0,
                            "countTerminated": 0, "countSuspending": 0, "countResuming": 0,
                            "countTerminating": 0, "countRegistering": 0, "countUndefined": 0},
            "targetStatus": "None",
            "targetAction": "None",
            "installMonAgent": "no",
            "masterVmId": "g1-1",
            "masterIp": "3.34.1.2",
            "masterSSHPort": 22,
            "label": {},
            "systemLabel": "",
            "vm": [{
                "id": "g1-1", "uid": "u1", "cspResourceName": "u1", "cspResourceId": "i-1",
                "name": "g1-1", "status": "Running", "targetStatus": "None",
                "targetAction": "None", "nativeStatus": "running", "monAgentStatus": "",
                "systemMessage": "", "createdTime": "2025-01-02 03:04:05",
                "publicIp": "3.34.1.2", "privateIp": "10.0.1.5", "sshPort": 22,
                "location": {"display": "Seoul", "latitude": 37.5, "longitude": 127.0}
            }]
        });
        let status: MciStatusInfo = parse(input.clone());
        assert_eq!(status.master_vm_id, "g1-1");
        assert_eq!(status.master_ssh_port, 22);
        assert_eq!(status.status_count.count_failed, 1);
        assert_eq!(status.vm[0].public_ip, "3.34.1.2");
        assert_eq!(status.vm[0].native_status, "running");
        assert_eq!(to_json(&status), input);

        let wrapped = to_json(&MciStatusResponse { status });
        assert_eq!(wrapped["status"]["masterIp"], json!("3.34.1.2"));
    }

    #[test]
    fn master_fields_follow_the_running_vms() {
        let vm = |id: &str, status: &str, ip: &str| VmStatusInfo {
            id: id.into(),
            status: status.into(),
            public_ip: ip.into(),
            ssh_port: 2222,
            ..Default::default()
        };
        let mut status = MciStatusInfo {
            vm: vec![vm("g1-2", "Running", "10.0.0.2"), vm("g1-1", "Failed", "10.0.0.1")],
            ..Default::default()
        };
        status.set_master();
        assert_eq!(
            (status.master_vm_id.as_str(), status.master_ip.as_str(), status.master_ssh_port),
            ("g1-2", "10.0.0.2", 2222)
        );
        status.vm[0].status = "Suspended".into();
        status.set_master();
        assert_eq!((status.master_vm_id.as_str(), status.master_ip.as_str(), status.master_ssh_port), ("", "", 0));
    }

    #[test]
    fn mci_info_round_trips() {
        let input = json!({
            "resourceType": "mci",
            "id": "mci01",
            "uid": "d0hfp0s0l6hj3kd3pdvg",
            "name": "mci01",
            "status": "Running:1 (R:1/1)",
            "statusCount": StatusCountInfo { count_total: 1, count_running: 1, ..Default::default() },
            "targetStatus": "None",
            "targetAction": "None",
            "installMonAgent": "no",
            "configureCloudAdaptiveNetwork": "no",
            "label": {"sys.manager": "cb-tumblebug"},
            "systemLabel": "",
            "systemMessage": ["VM g1-2 failed"],
            "placementAlgo": "random",
            "description": "",
            "vm": [vm_json()],
            "newVmList": ["g1-1"],
            "postCommand": {"userName": "", "command": []},
            "postCommandResult": {"results": [{
                "mciId": "mci01", "vmId": "g1-1", "vmIp": "3.34.1.2",
                "command": {"0": "uname"}, "stdout": {"0": "Linux"}, "stderr": {"0": ""},
                "err": null
            }]},
            "creationErrors": {
                "vmCreationErrors": [{"vmName": "g1-2", "error": "capacity",
                                      "phase": "vm_creation", "timestamp": "2025-01-02T03:04:05Z"}],
                "totalVmCount": 2, "successfulVmCount": 1, "failedVmCount": 1,
                "failureHandlingStrategy": "continue"
            }
        });
        let mci: MciInfo = parse(input.clone());
        assert_eq!(mci.status_count.count_running, 1);
        assert_eq!(mci.system_message, ["VM g1-2 failed"]);
        assert_eq!(mci.vm[0].public_ip, "3.34.1.2");
        assert_eq!(mci.post_command_result.results[0].stdout[&0], "Linux");
        let errors = mci.creation_errors.as_ref().unwrap();
        assert_eq!(errors.vm_creation_errors[0].phase, "vm_creation");
        assert_eq!(to_json(&mci), input);

        // Optional parts stay out when absent; the list envelopes name their arrays.
        let bare = to_json(&MciInfo::default());
        assert_eq!(bare.get("creationErrors"), None);
        assert_eq!(bare.get("uid"), None);
        assert_eq!(bare["systemMessage"], json!([]));
        assert_eq!(to_json(&MciInfoList { mci: vec![mci.clone()] })["mci"][0]["id"], json!("mci01"));
        assert_eq!(to_json(&McisInfoList { mcis: vec![mci] })["mcis"][0]["id"], json!("mci01"));
        assert_eq!(to_json(&MciStatusList::default()), json!({"mci": []}));
        assert_eq!(to_json(&McisStatusList::default()), json!({"mcis": []}));
    }

    #[test]
    fn mci_info_reads_older_documents() {
        for (message, expected) in [
            (json!("creation failed"), vec!["creation failed".to_string()]),
            (json!(""), vec![]),
            (json!(null), vec![]),
            (json!(["a", "b"]), vec!["a".to_string(), "b".to_string()]),
        ] {
            let mci: MciInfo = parse(json!({"id": "m", "systemMessage": message}));
            assert_eq!(mci.system_message, expected, "{message}");
        }
        // A document without most fields (written before they existed) still loads.
        let mci: MciInfo = parse(json!({"id": "m", "status": "Creating"}));
        assert_eq!((mci.id.as_str(), mci.status.as_str()), ("m", "Creating"));
        assert_eq!(mci.vm, []);
    }

    #[test]
    fn command_result_error_accepts_any_value() {
        for (err, expected) in [
            (json!(null), None),
            (json!("ssh: handshake failed"), Some("ssh: handshake failed")),
            (json!({}), Some("{}")),
        ] {
            let result: SshCmdResult = parse(json!({"vmId": "g1-1", "err": err}));
            assert_eq!(result.err.as_deref(), expected, "{err}");
        }
        let ok = SshCmdResult { command: BTreeMap::from([(0, "ls".into()), (1, "pwd".into())]), ..Default::default() };
        let out = to_json(&ok);
        assert_eq!(out["command"], json!({"0": "ls", "1": "pwd"}));
        assert_eq!(out["err"], json!(null));
        round_trips(&ok);
    }

    #[test]
    fn access_info_uses_the_go_field_names() {
        let info = MciAccessInfo {
            mci_id: "mci01".into(),
            mci_nlb_listener: None,
            mci_sub_group_access_info: vec![MciSubGroupAccessInfo {
                sub_group_id: "g1".into(),
                nlb_listener: None,
                bastion_vm_id: "g1-1".into(),
                mci_vm_access_info: vec![MciVmAccessInfo {
                    vm_id: "g1-1".into(),
                    public_ip: "3.34.1.2".into(),
                    private_ip: "10.0.1.5".into(),
                    ssh_port: 22,
                    private_key: String::new(),
                    vm_user_name: "cb-user".into(),
                    vm_user_password: String::new(),
                    connection_config: ConnConfig::default(),
                }],
            }],
        };
        let out = to_json(&info);
        assert_eq!(keys(&out), ["MciId", "MciSubGroupAccessInfo"]);
        let group = &out["MciSubGroupAccessInfo"][0];
        assert_eq!(keys(group), ["BastionVmId", "MciVmAccessInfo", "SubGroupId"]);
        assert_eq!(
            keys(&group["MciVmAccessInfo"][0]),
            ["connectionConfig", "privateIP", "publicIP", "sshPort", "vmId", "vmUserName"]
        );
        round_trips(&info);
        // The camel-cased spelling of the OpenAPI document and the MCIS-era keys are read too.
        let camel: MciAccessInfo = parse(json!({
            "mciId": "mci01",
            "mciSubGroupAccessInfo": [{"subGroupId": "g1", "bastionVmId": "g1-1",
                                       "mciVmAccessInfo": [{"vmId": "g1-1"}]}]
        }));
        assert_eq!(camel.mci_id, "mci01");
        assert_eq!(camel.mci_sub_group_access_info[0].mci_vm_access_info[0].vm_id, "g1-1");
        let mcis: MciAccessInfo = parse(json!({
            "McisId": "m", "McisSubGroupAccessInfo": [{"SubGroupId": "g", "McisVmAccessInfo": []}]
        }));
        assert_eq!(mcis.mci_id, "m");
        assert_eq!(mcis.mci_sub_group_access_info[0].sub_group_id, "g");
    }

    #[test]
    fn associated_resources_and_review_names() {
        let list = MciAssociatedResourceList {
            vnet_ids: vec!["vnet01".into()],
            csp_vnet_ids: vec!["vpc-1".into()],
            ssh_key_ids: vec!["key01".into()],
            ..Default::default()
        };
        let out = to_json(&list);
        assert_eq!(out["vNetIds"], json!(["vnet01"]));
        assert_eq!(out["cspVNetIds"], json!(["vpc-1"]));
        assert_eq!(out["sshKeyIds"], json!(["key01"]));
        round_trips(&list);

        let review: ReviewMciDynamicReqInfo = parse(json!({
            "overallStatus": "Warning",
            "creationViable": true,
            "mciName": "mci01",
            "totalVmCount": 3,
            "vmReviews": [{"vmName": "g1", "subGroupSize": 3, "canCreate": true,
                           "specValidation": {"resourceId": "aws+ap-northeast-2+t3.nano",
                                              "isAvailable": true, "status": "Available"}}],
            "resourceSummary": {"totalProviders": 1, "uniqueSpecs": ["aws+ap-northeast-2+t3.nano"]}
        }));
        assert_eq!(review.vm_reviews[0].sub_group_size, 3);
        assert!(review.vm_reviews[0].spec_validation.is_available);
        assert_eq!(review.resource_summary.total_providers, 1);
        let out = to_json(&review);
        assert_eq!(out.get("estimatedCost"), None);
        assert_eq!(out.get("recommendations"), None);
        assert_eq!(out["vmReviews"][0]["subGroupSize"], json!(3));
    }

    // --- control actions --------------------------------------------------------------------

    #[test]
    fn control_actions() {
        for (word, action) in [
            ("suspend", ControlAction::Suspend),
            ("Resume", ControlAction::Resume),
            ("REBOOT", ControlAction::Reboot),
            ("terminate", ControlAction::Terminate),
            ("refine", ControlAction::Refine),
            ("continue", ControlAction::Continue),
            ("Withdraw", ControlAction::Withdraw),
        ] {
            assert_eq!(ControlAction::parse(word), Ok(action), "{word}");
            assert_eq!(word.parse::<ControlAction>(), Ok(action));
            assert_eq!(to_json(&action), json!(action.as_str()));
            assert_eq!(action.to_string(), word.to_ascii_lowercase());
        }
        let err = ControlAction::parse("stop").unwrap_err();
        assert_eq!(err, UnknownControlAction("stop".into()));
        assert_eq!(
            err.to_string(),
            "'action' should be one of these: suspend, resume, reboot, terminate, refine, continue, withdraw"
        );
        assert!(ControlAction::parse("").is_err());
    }

    #[test]
    fn control_action_messages_and_intents() {
        use ControlAction as C;
        let cases = [
            (C::Suspend, 3, "Suspending the MCI", Some(TargetAction::Suspend)),
            (C::Resume, 3, "Resuming the MCI", Some(TargetAction::Resume)),
            (C::Reboot, 3, "Rebooting the MCI", Some(TargetAction::Reboot)),
            (C::Terminate, 3, "Terminated the MCI", Some(TargetAction::Terminate)),
            (C::Terminate, 0, "No VM to terminate in the MCI", Some(TargetAction::Terminate)),
            (C::Refine, 3, "Refined the MCI", Some(TargetAction::Refine)),
            (C::Refine, 0, "No VM in the MCI", Some(TargetAction::Refine)),
            (C::Continue, 3, "Continue the holding MCI", None),
            (C::Withdraw, 3, "Withdraw the holding MCI", None),
        ];
        for (action, vms, message, target) in cases {
            assert_eq!(action.mci_result_message(vms), message, "{action} {vms}");
            assert_eq!(action.target_action(), target, "{action}");
        }
        assert_eq!(C::Suspend.vm_result_message(), "Working on suspend");
    }

    // --- counters and schema ----------------------------------------------------------------

    #[test]
    fn status_counters_are_distinct() {
        for (i, &status) in VmStatus::ALL.iter().enumerate() {
            let mut count = StatusCountInfo::default();
            *count.count_mut(status) += i + 1;
            for &other in &VmStatus::ALL {
                let expected = if other == status { i + 1 } else { 0 };
                assert_eq!(count.count(other), expected, "{status} vs {other}");
            }
            assert_eq!(count.count_total, 0);
        }
    }

    #[test]
    fn openapi_schemas_are_generated() {
        let mut schemas = Vec::new();
        <MciInfo as utoipa::ToSchema>::schemas(&mut schemas);
        <MciAccessInfo as utoipa::ToSchema>::schemas(&mut schemas);
        <MciReq as utoipa::ToSchema>::schemas(&mut schemas);
        let names: Vec<&str> = schemas.iter().map(|(name, _)| name.as_str()).collect();
        for expected in ["VmInfo", "StatusCountInfo", "MciSubGroupAccessInfo", "CreateSubGroupReq"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let schema = serde_json::to_value(<VmInfo as utoipa::PartialSchema>::schema()).unwrap();
        assert!(schema["properties"]["publicIP"].is_object(), "{schema}");
        assert!(schema["properties"]["addtionalDetails"].is_object(), "{schema}");
    }
}
