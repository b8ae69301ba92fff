//! Creating the VMs of an MCI: every VM in parallel, bounded per connection, each create
//! carrying the VM's idempotency token; ambiguous failures are resolved by looking the VM up
//! by that token instead of creating again.

use std::time::Duration;

use tb_cloud::{CloudError, VmHandle, VmSpec};
use tb_model::mci::{VmCreationError, VmInfo};
use tb_model::{TargetAction, VmStatus};
use tokio::task::JoinSet;

use crate::{CoreError, CoreResult, Tumblebug, keys, repo};

/// Attempts of one create when the cloud answers with a retryable error.
const CREATE_ATTEMPTS: u32 = 4;

fn vm_spec(vm: &VmInfo) -> VmSpec {
    VmSpec {
        token: vm.csp_resource_name.clone(),
        spec_name: vm.csp_spec_name.clone(),
        image_name: vm.csp_image_name.clone(),
        zone: (!vm.region.zone.is_empty()).then(|| vm.region.zone.clone()),
        vnet_csp_id: vm.csp_vnet_id.clone(),
        subnet_csp_id: vm.csp_subnet_id.clone(),
        security_group_csp_ids: Vec::new(),
        key_pair_csp_id: vm.csp_ssh_key_id.clone(),
        vm_user: vm.vm_user_name.clone(),
        root_disk_type: (!vm.root_disk_type.is_empty() && vm.root_disk_type != "default")
            .then(|| vm.root_disk_type.clone()),
        root_disk_size_gb: (vm.root_disk_size > 0).then_some(vm.root_disk_size),
    }
}

/// Copies what the cloud reports into the VM record.
pub(crate) fn apply_handle(vm: &mut VmInfo, h: &VmHandle) {
    vm.csp_resource_id.clone_from(&h.csp_id);
    vm.public_ip.clone_from(&h.public_ip);
    vm.private_ip.clone_from(&h.private_ip);
    vm.ssh_port = h.ssh_port;
    if !h.login_user.is_empty() {
        vm.vm_user_name.clone_from(&h.login_user);
    }
    if !h.zone.is_empty() {
        vm.region.zone.clone_from(&h.zone);
    }
    if !h.root_disk_type.is_empty() {
        vm.root_disk_type.clone_from(&h.root_disk_type);
    }
    if h.root_disk_size_gb > 0 {
        vm.root_disk_size = h.root_disk_size_gb;
    }
    set_native_status(vm, &h.native_status);
}

/// The CSP's own state word is kept in `addtionalDetails` under `NativeStatus`.
pub(crate) fn set_native_status(vm: &mut VmInfo, native: &str) {
    match vm.addtional_details.iter_mut().find(|kv| kv.key == NATIVE_STATUS) {
        Some(kv) => native.clone_into(&mut kv.value),
        None => {
            vm.addtional_details.push(tb_model::resource::KeyValue { key: NATIVE_STATUS.into(), value: native.into() })
        }
    }
}

pub(crate) fn native_status(vm: &VmInfo) -> String {
    vm.addtional_details.iter().find(|kv| kv.key == NATIVE_STATUS).map(|kv| kv.value.clone()).unwrap_or_default()
}

const NATIVE_STATUS: &str = "NativeStatus";

impl Tumblebug {
    /// Provisions VMs concurrently; returns the creation errors (empty when all succeeded).
    /// Provisions VMs concurrently. Returns the errors of VMs that failed, and notes of
    /// capacity failovers (phase `failover`) that happened on the way.
    pub(crate) async fn provision_vms(
        &self,
        ns: &str,
        mci: &str,
        vm_ids: &[String],
    ) -> (Vec<VmCreationError>, Vec<VmCreationError>) {
        let failover = self.mci_doc(ns, mci).await.map(|m| m.value.capacity_failover).unwrap_or(false);
        let mut set = JoinSet::new();
        for id in vm_ids {
            let (tb, ns, mci, id) = (self.clone(), ns.to_string(), mci.to_string(), id.clone());
            set.spawn(async move {
                let mut notes = Vec::new();
                let result = tb.provision_vm_with(&ns, &mci, &id, false, failover, &mut notes).await;
                (id, result, notes)
            });
        }
        let mut errors = Vec::new();
        let mut moves = Vec::new();
        let entry = |vm: &str, error: String, phase: &str| VmCreationError {
            vm_name: vm.to_string(),
            error,
            phase: phase.into(),
            timestamp: Tumblebug::stamp(),
        };
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((id, result, notes)) => {
                    moves.extend(notes.into_iter().map(|n| entry(&id, n, "failover")));
                    if let Err(e) = result {
                        errors.push(entry(&id, e.to_string(), "vm_creation"));
                    }
                }
                Err(join) => errors.push(entry("", format!("provisioning task failed: {join}"), "vm_creation")),
            }
        }
        errors.sort_by(|a, b| a.vm_name.cmp(&b.vm_name));
        moves.sort_by(|a, b| a.vm_name.cmp(&b.vm_name));
        (errors, moves)
    }

    /// Creates one VM and waits until it runs. `resume` (after a restart) first looks for a VM
    /// the cloud may already have made with this token. On failure the record is marked Failed
    /// with the reason, and the error is returned.
    pub(crate) async fn provision_vm(&self, ns: &str, mci: &str, vm_id: &str, resume: bool) -> CoreResult<()> {
        let failover = self.mci_doc(ns, mci).await.map(|m| m.value.capacity_failover).unwrap_or(false);
        self.provision_vm_with(ns, mci, vm_id, resume, failover, &mut Vec::new()).await
    }

    /// [`Tumblebug::provision_vm`] with capacity failover when `failover`; each move is
    /// appended to `notes`.
    async fn provision_vm_with(
        &self,
        ns: &str,
        mci: &str,
        vm_id: &str,
        resume: bool,
        failover: bool,
        notes: &mut Vec<String>,
    ) -> CoreResult<()> {
        let mut resume = resume;
        let result = loop {
            if failover && !resume {
                // Skip a candidate known to be out of capacity without asking the cloud.
                let vm = match self.vm_doc(ns, mci, vm_id).await {
                    Ok(v) => v.value,
                    Err(e) => break Err(e),
                };
                if self.candidate_avoided(&vm) {
                    let shortage = CloudError::Capacity {
                        spec: vm.csp_spec_name.clone(),
                        region: vm.region.region.clone(),
                        zone: vm.region.zone.clone(),
                    };
                    match self.fail_over(ns, mci, vm_id, &shortage).await {
                        Ok(Some(note)) => {
                            notes.push(format!("skipped (recently out of capacity): {note}"));
                            continue;
                        }
                        Ok(None) => break Err(CoreError::Cloud(shortage)),
                        Err(e) => break Err(e),
                    }
                }
            }
            match self.create_in_cloud(ns, mci, vm_id, resume).await {
                Err(CoreError::Cloud(e)) if failover && e.is_capacity() => {
                    resume = false;
                    match self.fail_over(ns, mci, vm_id, &e).await {
                        Ok(Some(note)) => notes.push(note),
                        Ok(None) => break Err(CoreError::Cloud(e)),
                        Err(moved) => break Err(moved),
                    }
                }
                other => break other,
            }
        };
        let result = match result {
            Ok(()) => self.wait_until_settled(ns, mci, vm_id).await,
            Err(e) => Err(e),
        };
        if result.is_ok() {
            self.auto_register_bastion(ns, mci, vm_id).await;
        }
        if let Err(e) = &result {
            let msg = e.to_string();
            let key = keys::vm(ns, mci, vm_id);
            let _ = repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
                if v.vm_status() == VmStatus::Terminated {
                    return Ok(());
                }
                v.set_status(VmStatus::Failed);
                v.set_target(TargetAction::None, tb_model::lifecycle::STATUS_COMPLETE);
                v.system_message.clone_from(&msg);
                Ok(())
            })
            .await;
            tracing::warn!(ns, mci, vm = vm_id, error = %msg, "VM creation failed");
        }
        result
    }

    async fn create_in_cloud(&self, ns: &str, mci: &str, vm_id: &str, resume: bool) -> CoreResult<()> {
        let vm = self.vm_doc(ns, mci, vm_id).await?.value;
        let (conn, driver) = self.clouds.resolve(&vm.connection_name)?;
        let mut spec = vm_spec(&vm);
        for sg in &vm.security_group_ids {
            let key = keys::resource(ns, crate::keys::ResourceKind::SecurityGroup, sg);
            let doc = repo::get::<tb_model::resource::SecurityGroupInfo>(self.store.as_ref(), &key)
                .await?
                .ok_or_else(|| CoreError::invalid(format!("security group {sg} of VM {vm_id} no longer exists")))?;
            spec.security_group_csp_ids.push(doc.value.csp_resource_id);
        }
        let cfg = &self.engine().config;
        let mut handle: Option<VmHandle> = None;
        if resume {
            handle = driver.find_vm_by_token(&conn, &spec.token).await?;
        }
        let mut attempt = 0;
        while handle.is_none() {
            attempt += 1;
            let permit = self.engine().limiter.acquire(&conn.name).await;
            let res = tokio::time::timeout(cfg.create_timeout, driver.create_vm(&conn, spec.clone())).await;
            drop(permit);
            let err = match res {
                Ok(Ok(h)) => {
                    handle = Some(h);
                    break;
                }
                Ok(Err(e)) => e,
                Err(_) => CloudError::Timeout(cfg.create_timeout.as_secs()),
            };
            if !err.retryable() {
                return Err(err.into());
            }
            // The answer was lost or the cloud hiccuped: the VM may exist. Look before retrying.
            if let Ok(Some(h)) = driver.find_vm_by_token(&conn, &spec.token).await {
                tracing::info!(ns, mci, vm = vm_id, "create answer lost; VM found by its token");
                handle = Some(h);
                break;
            }
            if attempt >= CREATE_ATTEMPTS {
                return Err(err.into());
            }
            let backoff = Duration::from_millis(200 * (1 << attempt.min(5)) + u64::from(attempt) * 37);
            tracing::debug!(ns, mci, vm = vm_id, error = %err, ?backoff, "retrying create");
            tokio::time::sleep(backoff).await;
        }
        let Some(h) = handle else {
            return Err(CoreError::Corrupt { key: vm_id.into(), reason: "no handle after create".into() });
        };
        let key = keys::vm(ns, mci, vm_id);
        let saved = repo::modify(self.store.as_ref(), &key, "VM", |v: &mut VmInfo| {
            apply_handle(v, &h);
            v.created_time = Tumblebug::stamp();
            let fetched = h.status;
            let corrected = tb_model::lifecycle::correct_vm_status(fetched, v.vm_status(), v.target_action());
            v.set_status(corrected);
            if let Some(done) = tb_model::lifecycle::completion(corrected, &v.target_status) {
                done.apply_to(v);
            }
            Ok(())
        })
        .await;
        // The record was deleted or terminated while the create was in flight: the VM that
        // just came to life has no business running.
        let abandoned = match &saved {
            Ok(v) => v.target_action() == TargetAction::Terminate || v.vm_status() == VmStatus::Terminated,
            Err(CoreError::NotFound(_)) => true,
            Err(_) => false,
        };
        if abandoned {
            tracing::warn!(ns, mci, vm = vm_id, csp_id = %h.csp_id, "VM created after its record was terminated or deleted; terminating it");
            if let Err(e) = driver.terminate_vm(&conn, &h.csp_id).await {
                tracing::warn!(csp_id = %h.csp_id, error = %e, "could not terminate; the orphan sweep will");
            }
            return Err(CoreError::conflict(format!(
                "VM {vm_id} was terminated or deleted while it was being created"
            )));
        }
        saved?;
        self.engine().mark_read(&key);
        Ok(())
    }

    /// Polls a VM until its create intent is settled (Running, or a failure).
    async fn wait_until_settled(&self, ns: &str, mci: &str, vm_id: &str) -> CoreResult<()> {
        let cfg = &self.engine().config;
        let started = std::time::Instant::now();
        loop {
            let vm = self.refresh_vm(ns, mci, vm_id, true).await?;
            match vm.vm_status() {
                VmStatus::Running if vm.target_action() == TargetAction::None => return Ok(()),
                VmStatus::Failed | VmStatus::Terminated | VmStatus::Terminating => {
                    return Err(CoreError::Cloud(CloudError::InvalidRequest(format!(
                        "VM {vm_id} became {} while booting ({})",
                        vm.status, vm.system_message
                    ))));
                }
                _ => {}
            }
            if vm.target_action() != TargetAction::Create {
                // Someone else (a control action) took over the VM; creation is done.
                return Ok(());
            }
            if started.elapsed() > cfg.boot_timeout {
                return Err(CoreError::Cloud(CloudError::Timeout(cfg.boot_timeout.as_secs())));
            }
            tokio::time::sleep(cfg.poll_interval).await;
        }
    }
}
