//! Remote commands on the VMs of an MCI (reference §6): every target VM in parallel (bounded),
//! each command in order, stopping at the first failure, with the VM's key pair; host keys are
//! trusted on first use and kept in the VM's `sshHostKeyInfo`, and a changed key is refused.
//!
//! Where things are: [`access`] decides how a VM is reached (address, user, key, host key
//! check); [`command`] runs commands; [`files`] moves files.

mod access;
mod bastion;
mod command;
mod files;
mod history;
mod stream;

pub use history::CommandStatusFilter;
pub use stream::{CommandStreams, Subscription};

use std::time::Duration;

use tb_model::mci::VmInfo;

use crate::{CoreError, CoreResult, Tumblebug};

/// VMs reached at once by one request.
pub(crate) const FANOUT: usize = 64;
/// Upper bound of one file transfer.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);
/// Default and bounds of `timeoutMinutes` (reference: default 30, clamp 1..120).
const DEFAULT_TIMEOUT_MIN: u32 = 30;

/// Which VMs of the MCI a command targets.
#[derive(Debug, Clone, Default)]
pub struct CommandTarget {
    pub sub_group_id: Option<String>,
    pub vm_id: Option<String>,
    /// `key=value,key2=value2`: every pair must match the VM's label.
    pub label_selector: Option<String>,
}

impl CommandTarget {
    fn selects(&self, vm: &VmInfo) -> CoreResult<bool> {
        if self.sub_group_id.as_deref().is_some_and(|s| !s.is_empty() && s != vm.sub_group_id) {
            return Ok(false);
        }
        if self.vm_id.as_deref().is_some_and(|v| !v.is_empty() && v != vm.id) {
            return Ok(false);
        }
        if let Some(sel) = self.label_selector.as_deref().filter(|s| !s.is_empty()) {
            for pair in sel.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| CoreError::invalid(format!("labelSelector {pair:?} is not key=value")))?;
                if vm.label.get(k.trim()).map(String::as_str) != Some(v.trim()) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// Runs `work` for every VM at once, at most [`FANOUT`] at a time, and returns the results in
/// the order of `vms`; a VM whose task died (panicked) gets `died(vm)`.
pub(crate) async fn each_vm<T, F, Fut>(vms: &[VmInfo], work: F, died: impl Fn(&VmInfo) -> T) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(VmInfo) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(FANOUT));
    let mut set = tokio::task::JoinSet::new();
    for (i, vm) in vms.iter().enumerate() {
        let (job, slots) = (work(vm.clone()), slots.clone());
        set.spawn(async move {
            let _slot = slots.acquire_owned().await;
            (i, job.await)
        });
    }
    let mut out: Vec<Option<T>> = vms.iter().map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, value)) = joined {
            out[i] = Some(value);
        }
    }
    out.into_iter().zip(vms).map(|(value, vm)| value.unwrap_or_else(|| died(vm))).collect()
}

impl Tumblebug {
    /// The VMs of the MCI the target selects; none is an error (404).
    pub(crate) async fn target_vms(&self, ns: &str, mci: &str, target: &CommandTarget) -> CoreResult<Vec<VmInfo>> {
        Ok(self.mci_vms_and_targets(ns, mci, target).await?.1)
    }

    /// Every VM of the MCI, and the ones the target selects (none is an error, 404).
    pub(crate) async fn mci_vms_and_targets(
        &self,
        ns: &str,
        mci: &str,
        target: &CommandTarget,
    ) -> CoreResult<(Vec<VmInfo>, Vec<VmInfo>)> {
        self.mci_doc(ns, mci).await?;
        let all = self.vm_docs(ns, mci).await?;
        let mut selected = Vec::new();
        for vm in &all {
            if target.selects(vm)? {
                selected.push(vm.clone());
            }
        }
        if selected.is_empty() {
            return Err(CoreError::not_found(format!("no VM of MCI {mci} matches the target")));
        }
        Ok((all, selected))
    }

    /// The live events of command request `request_id` on this MCI (404 when this process
    /// holds no such stream: unknown, expired, or run by another server).
    pub fn subscribe_command_stream(&self, ns: &str, mci: &str, request_id: &str) -> CoreResult<Subscription> {
        self.streams.subscribe(ns, mci, request_id).ok_or_else(|| {
            CoreError::not_found(format!("no command stream {request_id} for MCI {mci} (unknown or expired)"))
        })
    }
}
