//! Key layout in the store (reference §9.2, MCI generation). Subnets live inside their vNet's
//! document rather than under child keys, so that a vNet and its subnets change in one
//! compare-and-swap.

use std::fmt;

/// Resource kinds with their path and key spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    VNet,
    SecurityGroup,
    SshKey,
    Image,
    Spec,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::VNet,
        ResourceKind::SecurityGroup,
        ResourceKind::SshKey,
        ResourceKind::Image,
        ResourceKind::Spec,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::VNet => "vNet",
            ResourceKind::SecurityGroup => "securityGroup",
            ResourceKind::SshKey => "sshKey",
            ResourceKind::Image => "image",
            ResourceKind::Spec => "spec",
        }
    }

    /// Accepts the path spelling case-insensitively (`vNet`, `vnet`).
    pub fn parse(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const NS_PREFIX: &str = "/ns/";

pub fn ns(ns_id: &str) -> String {
    format!("/ns/{ns_id}")
}

/// Every key that belongs to a namespace (not the namespace key itself).
pub fn ns_children(ns_id: &str) -> String {
    format!("/ns/{ns_id}/")
}

pub fn resource(ns_id: &str, kind: ResourceKind, id: &str) -> String {
    format!("/ns/{ns_id}/resources/{kind}/{id}")
}

pub fn resource_prefix(ns_id: &str, kind: ResourceKind) -> String {
    format!("/ns/{ns_id}/resources/{kind}/")
}

/// Raw files imported into the catalog, replayed on start.
pub const CATALOG_IMPORT_PREFIX: &str = "/catalog/import/";

/// Keeps keys that are direct children of `prefix` (no further `/`).
pub fn is_direct_child(prefix: &str, key: &str) -> bool {
    key.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

pub fn mci(ns_id: &str, mci_id: &str) -> String {
    format!("/ns/{ns_id}/mci/{mci_id}")
}

pub fn mci_prefix(ns_id: &str) -> String {
    format!("/ns/{ns_id}/mci/")
}

pub fn vm(ns_id: &str, mci_id: &str, vm_id: &str) -> String {
    format!("/ns/{ns_id}/mci/{mci_id}/vm/{vm_id}")
}

pub fn vm_prefix(ns_id: &str, mci_id: &str) -> String {
    format!("/ns/{ns_id}/mci/{mci_id}/vm/")
}

/// Command history lives outside `/ns/` so that scans of VM records never read it.
pub const COMMAND_HISTORY_PREFIX: &str = "/cmdhist/";

/// Every history record of one VM: `/cmdhist/{ns}/{mci}/{vm}/`.
pub fn command_history_prefix(ns_id: &str, mci_id: &str, vm_id: &str) -> String {
    format!("{COMMAND_HISTORY_PREFIX}{ns_id}/{mci_id}/{vm_id}/")
}

/// The last history index given out for a VM: `/cmdseq/{ns}/{mci}/{vm}`.
pub fn command_sequence(ns_id: &str, mci_id: &str, vm_id: &str) -> String {
    format!("/cmdseq/{ns_id}/{mci_id}/{vm_id}")
}

/// Markers of the records still queued or running (`/cmdactive/{ns}/{mci}/{vm}/{index}`), so
/// that restarts and handling counts never read whole histories.
pub const COMMAND_ACTIVE_PREFIX: &str = "/cmdactive/";

pub fn command_active_prefix(ns_id: &str, mci_id: &str, vm_id: &str) -> String {
    format!("{COMMAND_ACTIVE_PREFIX}{ns_id}/{mci_id}/{vm_id}/")
}

/// The active markers of every VM of an MCI.
pub fn mci_command_active_prefix(ns_id: &str, mci_id: &str) -> String {
    format!("{COMMAND_ACTIVE_PREFIX}{ns_id}/{mci_id}/")
}

/// The history indexes of every VM of an MCI.
pub fn mci_command_sequence_prefix(ns_id: &str, mci_id: &str) -> String {
    format!("/cmdseq/{ns_id}/{mci_id}/")
}

pub fn command_active(ns_id: &str, mci_id: &str, vm_id: &str, index: u64) -> String {
    format!("{}{index:010}", command_active_prefix(ns_id, mci_id, vm_id))
}

/// Every history record of an MCI's VMs.
pub fn mci_command_history_prefix(ns_id: &str, mci_id: &str) -> String {
    format!("{COMMAND_HISTORY_PREFIX}{ns_id}/{mci_id}/")
}

/// One record; the index is zero-padded so that key order is index order.
pub fn command_history(ns_id: &str, mci_id: &str, vm_id: &str, index: u64) -> String {
    format!("{}{index:010}", command_history_prefix(ns_id, mci_id, vm_id))
}

pub fn subgroup(ns_id: &str, mci_id: &str, sg_id: &str) -> String {
    format!("/ns/{ns_id}/mci/{mci_id}/subgroup/{sg_id}")
}

pub fn subgroup_prefix(ns_id: &str, mci_id: &str) -> String {
    format!("/ns/{ns_id}/mci/{mci_id}/subgroup/")
}

/// This installation's id: the prefix of every idempotency token it gives a cloud, so the
/// reconciler can tell its own VMs from anyone else's.
pub const INSTALLATION: &str = "/config/installation";
